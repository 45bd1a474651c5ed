package conformance_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/internal/leaktest"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// Keys with every character the contract allows that an output escapes
// (seattlersa.ValidAPIKey: printable ASCII but space and '!'), one of
// them as long as the contract allows (100 characters).
func hostileKeys() (long, short string) {
	long = `L0NG"KEY\with<angle>&amp;'quote'%2F+plus/` + rand.Text() + rand.Text() + rand.Text()
	short = `K"3\Y<&>` + rand.Text()
	return long[:100], short[:32]
}

// hostileTarget is the in-process mock behind leaktest.Echo, which sends
// back every string it is sent and the main account's private key (as the
// historical clearinghouse could) in fault strings and reason phrases. It
// returns the target, every secret the target holds and the echo.
func hostileTarget(t *testing.T) (conformance.Target, []string, *leaktest.Echo) {
	t.Helper()
	token := rand.Text()
	longKey, shortKey := hostileKeys()
	mock, err := mockserver.New(
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 40, NATFraction: 0.1, Seed: 11}),
		mockserver.WithKeyBits(1024), // d has 308 digits, as in the issue
		mockserver.WithAdmin(true),
		mockserver.WithAdminToken(token),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	secrets := []string{token}
	var accounts []conformance.Account
	for _, spec := range []mockapi.AccountSpec{
		{Username: "mallory", Password: `pw"\<&>` + rand.Text(), APIKey: longKey, Affiliation: "Echo U"},
		{Username: "trent", Password: rand.Text(), APIKey: shortKey, Affiliation: "Echo U"},
	} {
		a, err := mock.AddAccount(spec)
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, conformance.Account{Username: a.Username, APIKey: a.APIKey, Password: a.Password, PrivateKey: a.PrivateKey})
		secrets = append(secrets, a.APIKey, a.Password, a.PrivateKey)
		secrets = append(secrets, strings.Fields(a.PrivateKey)...)
	}
	// Few answers replaced, so that the suite goes far and makes many calls.
	echo := &leaktest.Echo{Next: mock, Known: []string{accounts[0].PrivateKey}, Every: 40}
	srv := httptest.NewServer(echo)
	t.Cleanup(srv.Close)
	c, err := conformance.NewHTTPControls(srv.URL+"/admin/", nil, conformance.WithAdminToken(token))
	if err != nil {
		t.Fatal(err)
	}
	return conformance.Target{
		Name:         "echoing mock",
		URL:          srv.URL + "/xmlrpc/",
		Accounts:     accounts,
		AllowAcquire: 100,
		Mock:         true,
		Controls:     c,
	}, secrets, echo
}

// TestHostileServerLeaksNothing runs the whole suite against a server that
// echoes every secret it gets or knows, cut at every clip boundary, with
// terminal escapes, and looks for any form of any secret, or any piece of
// one, and any control character in every output: the -v log, the
// summary, the HTML and the JUnit report.
func TestHostileServerLeaksNothing(t *testing.T) {
	t.Parallel()
	tg, secrets, echo := hostileTarget(t)
	var log bytes.Buffer
	rep, err := conformance.Check(context.Background(), tg, conformance.WithLog(&log))
	if err != nil {
		t.Fatal(err)
	}
	r := render(t, rep)
	if !rep.Failed() {
		t.Fatal("the echoing target passed")
	}
	t.Logf("%d calls echoed", echo.Calls())
	find := leaktest.NewFinder(secrets)
	for _, out := range []struct{ name, text string }{
		{"-v log", log.String()}, {"summary", r.summary}, {"HTML", r.html}, {"JUnit", r.junit},
	} {
		if leaks := find.Leaks(out.text); len(leaks) > 0 {
			t.Errorf("the %s shows secrets in %d places: %v", out.name, leaktest.Total(leaks), leaks)
		}
		if cc := leaktest.ControlChars(out.text); len(cc) > 0 {
			t.Errorf("the %s has %d control characters: %v", out.name, leaktest.Sum(cc), cc)
		}
	}
	// The echo is shown, escaped: the report hides nothing else.
	for _, want := range []string{`bad\rAll good`, `\u009b2J\u202eevil`} {
		if !strings.Contains(r.html, want) {
			t.Errorf("the HTML report does not show %q", want)
		}
	}
}
