//go:build unix

package mockserver

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/browsertest"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// The browser test loads the status page in headless Chromium, as a person
// would, and saves a screenshot (internal/browsertest). It needs Chromium: without it the test is
// skipped, unless the environment variable CI is set (CI installs it).
// With UPDATE_SCREENSHOT=1 the screenshot also replaces
// docs/status-page.png, the one docs/mock.md shows.

// browserFixture is a mock with a little of everything: a population,
// accounts with vessels (one renewed), an affiliation that needs escaping
// and calls over HTTP, one of them a fault.
func browserFixture(t *testing.T) *Server {
	t.Helper()
	s := newTestServer(t,
		WithPopulation(PopulationConfig{Nodes: 2000, NATFraction: 0.1, Seed: 1}),
		WithTimeScale(60), // shown; the frozen test clock keeps readings fixed
	)
	alice := addUser(t, s, "alice", func(a *mockapi.AccountSpec) {
		a.Affiliation = "University of Washington"
		a.FreeCredits = 20
	})
	bob := addUser(t, s, "bob", func(a *mockapi.AccountSpec) { a.Affiliation = "Example Lab <R&D>"; a.UserPort = 63110 })
	carol := addUser(t, s, "carol", func(a *mockapi.AccountSpec) { a.Affiliation = "NYU Tandon"; a.UserPort = 63150 })
	kept := acquire(t, s, alice, "wan", 4)
	acquire(t, s, alice, "lan", 3)
	acquire(t, s, bob, "nat", 2)
	mustCall(t, s, "renew_resources", auth(alice), anyList(kept[:2]))
	if err := s.Advance(17*time.Minute + 30*time.Second); err != nil {
		t.Fatal(err)
	}
	rpcOverHTTP(t, s, "get_account_info", auth(alice))
	rpcOverHTTP(t, s, "get_resource_info", auth(alice))
	rpcOverHTTP(t, s, "acquire_resources", auth(carol), rspec("random", int64(3)))
	rpcOverHTTP(t, s, "acquire_resources", auth(bob), rspec("wan", int64(12)))
	rpcOverHTTP(t, s, "get_account_info", map[string]any{"username": "mallory", "api_key": "wrong"})
	p, err := ParseFaultSpec("seed=5;get_public_key:unavailable,next=1;get_account_info@carol:latency=1ms")
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.SetFaults(p))
	if rec := serve(t, s, "POST", "/xmlrpc/", callDoc("get_public_key", auth(alice))); rec.Code != 503 {
		t.Fatalf("injected unavailable: status %d", rec.Code)
	}
	return s
}

func TestStatusPageInBrowser(t *testing.T) {
	chromium := browsertest.FindChromium(t)
	t.Parallel()
	s := browserFixture(t)
	srv := httptest.NewServer(s) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	url := srv.URL + "/"

	t.Run("what a person sees", func(t *testing.T) {
		dom := chromium.DOM(t, url)
		if !strings.Contains(dom, "<table") {
			t.Fatalf("the browser did not render the page:\n%s", browsertest.Tail(dom))
		}
		// No element but the page's own: the affiliation stayed text.
		if strings.Contains(strings.ToLower(dom), "<script") || strings.Contains(dom, "<r&d>") {
			t.Errorf("the DOM holds an element the page did not write")
		}
		_, body, _ := strings.Cut(dom, "<body")
		text := visibleText(body)
		for _, want := range []string{
			"Mock clearinghouse",
			"Mock clock 2030-01-02 03:21:35.000 UTC time scale 60× real time",
			"alice University of Washington 63100 7 / 20",
			"6d23h42m", // renewed
			"3h42m",    // acquired
			"bob Example Lab <R&D> 63110 2 / 10",
			"carol NYU Tandon 63150 3 / 10",
			"Nodes 2000",
			"behind NAT 200",
			"acquire_resources bob fault 103 not enough credits",
			"get_account_info mallory fault 101 auth",
			"get_resource_info alice ok",
			"get_public_key alice not applied unavailable",
			"Injected faults 2 rules get_public_key:unavailable,next=1 fired 1 get_account_info@carol:latency=1ms fired 0 seed 5 unavailable 1",
			"Client behaviour 3 findings;",
			"leak alice holds 7 vessels never released",
			"leak carol holds 3 vessels never released",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("the page does not show %q", want)
			}
		}
		if t.Failed() {
			t.Logf("visible text:\n%s", text)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		data := chromium.Screenshot(t, url, 64)
		browsertest.UpdateScreenshot(t, data, filepath.Join("..", "docs", "status-page.png"))
	})
}
