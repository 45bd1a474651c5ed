package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// adminGet sends GET url with the bearer token (none if empty) and returns
// the status.
func adminGet(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRunAdminToken(t *testing.T) {
	t.Parallel()
	const token = "cmd-Admin-Token_0123456789"
	file := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds, out, _ := startRun(t, "-nodes", "10", "-admin", "-admin-token-file", file, "-admin-host", "mock.internal")
	if creds.AdminToken != token {
		t.Errorf("creds file admin_token: have %q, want the token from the file", creds.AdminToken)
	}
	admin := strings.TrimSuffix(creds.URL, "xmlrpc/") + "admin/state"
	if have := adminGet(t, admin, ""); have != http.StatusUnauthorized {
		t.Errorf("without the token: have HTTP %d, want 401", have)
	}
	if have := adminGet(t, admin, "wrong"); have != http.StatusUnauthorized {
		t.Errorf("with a wrong token: have HTTP %d, want 401", have)
	}
	if have := adminGet(t, admin, token); have != http.StatusOK {
		t.Errorf("with the token: have HTTP %d, want 200", have)
	}
	if strings.Contains(out.String(), token) {
		t.Errorf("the banner shows the admin token:\n%s", out)
	}
	if !strings.Contains(out.String(), "Authorization: Bearer") || strings.Contains(out.String(), "WARNING") {
		t.Errorf("banner: want a note on the token and no warning on loopback:\n%s", out)
	}
}

func TestRunAdminFlagErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	spaced := filepath.Join(dir, "spaced")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	os.WriteFile(spaced, []byte("secret with spaces\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"token without -admin", []string{"-admin-token", "secret-token"}},
		{"token file without -admin", []string{"-admin-token-file", spaced}},
		{"host without -admin", []string{"-admin-host", "mock.internal"}},
		{"token and token file", []string{"-admin", "-admin-token", "secret-token", "-admin-token-file", spaced}},
		{"missing token file", []string{"-admin", "-admin-token-file", filepath.Join(dir, "none")}},
		{"empty token file", []string{"-admin", "-admin-token-file", empty}},
		{"token with spaces", []string{"-admin", "-admin-token-file", spaced}},
		{"bad host", []string{"-admin", "-admin-host", "a/b"}},
	} {
		err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0", "-nodes", "0"}, tc.args...), io.Discard, io.Discard)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		t.Logf("%s: %v", tc.name, err)
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the token: %v", tc.name, err)
		}
	}
	wantHelp(t, "-admin-token", "-admin-token-file", "-admin-host")
}

func TestWarnAdminExposure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		ip    net.IP
		token bool
		warn  string // in the banner and the log; empty for no warning
	}{
		{"IPv4 loopback", net.IPv4(127, 0, 0, 1), false, ""},
		{"other IPv4 loopback", net.IPv4(127, 1, 2, 3), false, ""},
		{"IPv6 loopback", net.IPv6loopback, false, ""},
		{"all IPv4 interfaces", net.IPv4zero, false, "-admin-token-file"},
		{"all IPv6 interfaces", net.IPv6unspecified, false, "-admin-token-file"},
		{"a LAN address", net.IPv4(192, 168, 1, 5), false, "-admin-token-file"},
		{"a LAN address, with a token", net.IPv4(192, 168, 1, 5), true, "has the admin token"},
	} {
		var banner, log bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&log, nil))
		warnAdminExposure(&banner, logger, &net.TCPAddr{IP: tc.ip, Port: 8421}, tc.token)
		if tc.warn == "" {
			if banner.Len()+log.Len() > 0 {
				t.Errorf("%s: have a warning, want none:\n%s%s", tc.name, &banner, &log)
			}
			continue
		}
		if !strings.HasPrefix(banner.String(), "WARNING: ") || !strings.Contains(banner.String(), tc.warn) {
			t.Errorf("%s: banner %q, want a WARNING mentioning %q", tc.name, &banner, tc.warn)
		}
		if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), tc.warn) {
			t.Errorf("%s: log %q, want a WARN line mentioning %q", tc.name, &log, tc.warn)
		}
	}
}
