package conformance

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// adminMock is a mock with no population, 512-bit keys, its /admin/
// endpoint on and opts, served on 127.0.0.1 until the test ends.
func adminMock(t *testing.T, opts ...mockserver.Option) (*mockserver.Server, *httptest.Server) {
	t.Helper()
	m, err := mockserver.New(append([]mockserver.Option{mockserver.WithPopulation(mockserver.PopulationConfig{}),
		mockserver.WithKeyBits(512), mockserver.WithAdmin(true)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	hs := httptest.NewServer(m)
	t.Cleanup(hs.Close)
	return m, hs
}

// adminControls is adminMock with the HTTP controls of its /admin/
// endpoint.
func adminControls(t *testing.T, opts ...mockserver.Option) (*mockserver.Server, Controls) {
	t.Helper()
	m, hs := adminMock(t, opts...)
	c, err := NewHTTPControls(hs.URL+"/admin/", hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

// TestHTTPControlsAdminToken checks that both ways of finding a mock's
// admin controls carry its token: the creds file's admin_url with its
// admin_token, and CLEARINGHOUSE_ADMIN_TOKEN beside
// CLEARINGHOUSE_ADMIN_URL.
func TestHTTPControlsAdminToken(t *testing.T) {
	// Not parallel: it sets environment variables.
	const token = "conformance-admin-token"
	m, hs := adminMock(t, mockserver.WithAdminToken(token))
	a, err := m.AddAccount(mockapi.AccountSpec{Username: "demo1", Password: "password1", Affiliation: "Test"})
	if err != nil {
		t.Fatal(err)
	}
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
	m, c := adminControls(t)
	for _, tc := range []struct {
		name       string
		free, want int
	}{
		{"zero", 0, mockserver.DefaultFreeCredits},
		{"none", mockapi.NoFreeCredits, 0},
		{"three", 3, 3},
	} {
		a, err := c.AddAccount(context.Background(), mockapi.AccountSpec{Username: "credits_" + tc.name, Password: "password1",
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

// TestHTTPControlsTimesAndScale checks what the checks of exact instants
// read through the admin JSON: the lease and dirty times of a vessel, to
// the nanosecond, and the clock's scale, which they set to 0 and back.
func TestHTTPControlsTimesAndScale(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	m, c := adminControls(t, mockserver.WithClock(func() time.Time { return t0 }), mockserver.WithCleanupDelay(time.Hour))
	ts, ok := c.(TimeScaler)
	if !ok {
		t.Fatal("NewHTTPControls does not return a TimeScaler")
	}
	ctx := context.Background()
	if x, err := ts.TimeScale(ctx); err != nil || x != 1 {
		t.Fatalf("TimeScale: %v, %v; want 1", x, err)
	}
	if err := ts.SetTimeScale(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if x, err := ts.TimeScale(ctx); err != nil || x != 0 || m.TimeScale() != 0 {
		t.Fatalf("after SetTimeScale(0): TimeScale %v, %v, the mock's %v; want 0", x, err, m.TimeScale())
	}
	if err := ts.SetTimeScale(ctx, -1); err == nil {
		t.Errorf("SetTimeScale(-1) succeeded")
	}

	if err := c.AddNodes(ctx, []mockapi.NodeSpec{{ID: "n1", IP: "10.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	a, err := c.AddAccount(ctx, mockapi.AccountSpec{Username: "times", Password: "password1", Affiliation: "Test"})
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]any{"username": a.Username, "api_key": a.APIKey}
	if _, err := m.Call(ctx, "acquire_specific_vessels", auth, []any{"n1:v2"}); err != nil {
		t.Fatal(err)
	}
	held, err := c.Holdings(ctx, a.Username)
	if err != nil || len(held) != 1 {
		t.Fatalf("Holdings: %+v, %v", held, err)
	}
	if v := held[0]; !v.Acquired.Equal(t0) || !v.Expires.Equal(t0.Add(4*time.Hour)) || v.Dirty || !v.DirtySince.IsZero() {
		t.Errorf("a vessel acquired at %v: %+v", t0, v)
	}
	if err := c.Advance(ctx, time.Hour+time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(ctx, "release_resources", auth, []any{"n1:v2"}); err != nil {
		t.Fatal(err)
	}
	n, err := c.Node(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range n.Vessels {
		if v.Handle != "n1:v2" {
			continue
		}
		found = true
		if want := t0.Add(time.Hour + time.Nanosecond); !v.Dirty || !v.DirtySince.Equal(want) || !v.Acquired.IsZero() || !v.Expires.IsZero() {
			t.Errorf("a vessel released at %v: %+v", want, v)
		}
	}
	if !found {
		t.Errorf("node n1 has no vessel n1:v2 among %d: nothing was checked", len(n.Vessels))
	}
}
