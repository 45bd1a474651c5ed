package conformance

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestTargetFromEnvPrecedence checks the one rule the CLI follows too:
// each CLEARINGHOUSE_* variable beats the same setting in the creds file.
func TestTargetFromEnvPrecedence(t *testing.T) {
	// Not parallel: it sets environment variables.
	for _, name := range []string{EnvURL, EnvUsername, EnvAPIKey, EnvPrivateKeyFile, EnvPassword, EnvCAFile,
		EnvAllowAcquire, EnvAllowAccountChanges, EnvAdminURL, EnvAdminToken, EnvCredsFile, EnvRelaxStrings, EnvMock,
		EnvUsername + "_2", EnvAPIKey + "_2", EnvPrivateKeyFile + "_2", EnvPassword + "_2"} {
		t.Setenv(name, "")
	}
	creds := filepath.Join(t.TempDir(), "creds.json")
	data := `{"url": "http://127.0.0.1:1/xmlrpc/", "ca_file": "", "accounts": [
		{"username": "demo1", "password": "pw1", "api_key": "K1"},
		{"username": "demo2", "password": "pw2", "api_key": "K2"}]}`
	if err := os.WriteFile(creds, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvCredsFile, creds)
	t.Setenv(EnvURL, "http://127.0.0.1:2/xmlrpc/")
	t.Setenv(EnvUsername, "demo2")
	tg, ok, err := TargetFromEnv()
	if !ok || err != nil {
		t.Fatalf("ok %v err %v", ok, err)
	}
	if tg.URL != "http://127.0.0.1:2/xmlrpc/" {
		t.Errorf("URL: have %q, want %q (CLEARINGHOUSE_URL beats the creds file)", tg.URL, "http://127.0.0.1:2/xmlrpc/")
	}
	if len(tg.Accounts) != 2 || tg.Accounts[0].Username != "demo2" || tg.Accounts[0].APIKey != "K2" || tg.Accounts[1].Username != "demo1" {
		t.Errorf("accounts: have %v, want demo2 (named by CLEARINGHOUSE_USERNAME, with its key) first, then demo1", tg.Accounts)
	}
}

// TestTargetFromCredsFileNoNetwork: building a target reads the creds
// file and nothing else; it makes no call to the server it names. The
// admin controls come from the file's admin_url, and only reach the
// server when the suite uses them.
func TestTargetFromCredsFileNoNetwork(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		admin    string
		controls bool
	}{
		{"without admin_url", "", false},
		{"with admin_url", `"admin_url": "` + srv.URL + `/admin/", `, true},
	} {
		creds := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
		data := `{"url": "` + srv.URL + `/xmlrpc/", ` + tc.admin + `"accounts": [{"username": "demo1", "api_key": "K1"}]}`
		if err := os.WriteFile(creds, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		tg, err := TargetFromCredsFile(creds)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := calls.Load(); n != 0 {
			t.Errorf("%s: TargetFromCredsFile made %d HTTP requests, want 0", tc.name, n)
		}
		if (tg.Controls != nil) != tc.controls || !tg.Mock {
			t.Errorf("%s: have controls %v, mock %v; want controls %v, mock true", tc.name, tg.Controls != nil, tg.Mock, tc.controls)
		}
		if tg.Controls != nil {
			// The first use reaches the server, and its failure is an error.
			if _, err := tg.Controls.Now(t.Context()); err == nil || calls.Load() != 1 {
				t.Errorf("%s: Now: %v after %d requests, want an error after 1", tc.name, err, calls.Load())
			}
		}
	}
}
