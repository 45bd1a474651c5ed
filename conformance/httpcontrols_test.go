package conformance

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// TestHTTPControlsAdminToken checks that both ways of finding a mock's
// admin controls carry its token: the creds file's admin_url with its
// admin_token, and CLEARINGHOUSE_ADMIN_TOKEN beside
// CLEARINGHOUSE_ADMIN_URL.
func TestHTTPControlsAdminToken(t *testing.T) {
	// Not parallel: it sets environment variables.
	const token = "conformance-admin-token"
	m, err := mockserver.New(mockserver.WithPopulation(mockserver.PopulationConfig{}), mockserver.WithKeyBits(512),
		mockserver.WithAdmin(true), mockserver.WithAdminToken(token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	a, err := m.AddAccount(mockserver.AccountSpec{Username: "demo1", Password: "password1", Affiliation: "Test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(m)
	t.Cleanup(hs.Close)
	ctx := context.Background()

	writeCreds := func(token string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "creds.json")
		f := credsfile.File{URL: hs.URL + "/xmlrpc/", AdminURL: hs.URL + "/admin/", AdminToken: token,
			Accounts: []credsfile.Account{{Username: a.Username, Password: a.Password, APIKey: a.APIKey}}}
		if err := credsfile.Write(path, &f); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tg, err := TargetFromCredsFile(writeCreds(token))
	if err != nil || tg.Controls == nil {
		t.Fatalf("creds file with the token: controls %v, error %v", tg.Controls, err)
	}
	if err := tg.Controls.Advance(ctx, 0); err != nil {
		t.Errorf("creds file with the token: a POST control: %v", err)
	}
	tg, err = TargetFromCredsFile(writeCreds(""))
	if err != nil || tg.Controls == nil {
		t.Fatalf("creds file without the token: controls %v, error %v", tg.Controls, err)
	}
	if _, err := tg.Controls.Now(ctx); err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("creds file without the token: Now: %v, want the mock's refusal (without the token)", err)
	}

	t.Setenv(EnvCredsFile, "")
	t.Setenv(EnvURL, hs.URL+"/xmlrpc/")
	t.Setenv(EnvUsername, a.Username)
	t.Setenv(EnvAPIKey, a.APIKey)
	t.Setenv(EnvAdminURL, hs.URL+"/admin/")
	for _, tc := range []struct {
		name, token string
		ok          bool
	}{
		{"with CLEARINGHOUSE_ADMIN_TOKEN", token, true},
		{"without CLEARINGHOUSE_ADMIN_TOKEN", "", false},
		{"with a wrong CLEARINGHOUSE_ADMIN_TOKEN", "wrong", false},
	} {
		t.Setenv(EnvAdminToken, tc.token)
		tg, _, err := TargetFromEnv()
		if err != nil || tg.Controls == nil {
			t.Fatalf("%s: controls %v, error %v", tc.name, tg.Controls, err)
		}
		_, err = tg.Controls.Now(ctx)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Now: %v, want success %v", tc.name, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("%s: the error shows the token: %v", tc.name, err)
		}
	}
}

// TestHTTPControlsFreeCredits checks that AccountSpec.FreeCredits follows
// mockserver's rule through the admin JSON: 0 is the mock's default,
// NoFreeCredits none, anything else exact.
func TestHTTPControlsFreeCredits(t *testing.T) {
	t.Parallel()
	m, err := mockserver.New(mockserver.WithPopulation(mockserver.PopulationConfig{}), mockserver.WithKeyBits(512),
		mockserver.WithAdmin(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	hs := httptest.NewServer(m)
	t.Cleanup(hs.Close)
	c, err := NewHTTPControls(hs.URL+"/admin/", hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		free, want int
	}{
		{"zero", 0, mockserver.DefaultFreeCredits},
		{"none", NoFreeCredits, 0},
		{"three", 3, 3},
	} {
		a, err := c.AddAccount(context.Background(), AccountSpec{Username: "credits_" + tc.name, Password: "password1",
			Affiliation: "Test", FreeCredits: tc.free})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		acct, err := m.Account(a.Username)
		if err != nil || acct.FreeCredits != tc.want {
			t.Errorf("FreeCredits %d: the account has %d free credits (error %v), want %d", tc.free, acct.FreeCredits, err, tc.want)
		}
	}
}

// TestNewHTTPControlsErrors checks the arguments NewHTTPControls refuses:
// an admin URL that is not an absolute http(s) URL, and a zero option
// (which must be an error, not a panic).
func TestNewHTTPControlsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		url  string
		opts []HTTPControlsOption
		want string
	}{
		{"relative URL", "/admin/", nil, "conformance: admin URL must be an absolute http or https URL"},
		{"other scheme", "ftp://127.0.0.1/admin/", nil, "conformance: admin URL must be an absolute http or https URL"},
		{"zero option", "http://127.0.0.1/admin/", []HTTPControlsOption{WithAdminToken("t"), {}}, "conformance: zero HTTPControlsOption"},
	} {
		c, err := NewHTTPControls(tc.url, nil, tc.opts...)
		if err == nil || err.Error() != tc.want || c != nil {
			t.Errorf("%s: have %v, %v; want nil and %q", tc.name, c, err, tc.want)
		}
	}
}
