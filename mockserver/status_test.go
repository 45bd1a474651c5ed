package mockserver

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/browsertest"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// maxStatusPage bounds the size of the status page, whatever the
// population.
const maxStatusPage = 200 << 10

// serve runs one request through the server's HTTP handler, in process.
func serve(t testing.TB, s *Server, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// statusPageOf fetches the status page at target and checks the basics
// every answer must have.
func statusPageOf(t testing.TB, s *Server, target string) string {
	t.Helper()
	rec := serve(t, s, http.MethodGet, target, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200: %s", target, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("GET %s: content type %q", target, ct)
	}
	if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
		t.Fatalf("GET %s: Content-Length %s for %d bytes", target, cl, rec.Body.Len())
	}
	return rec.Body.String()
}

// rpcOverHTTP posts an XML-RPC call through the handler, as a client
// would, so that the status page records it.
func rpcOverHTTP(t testing.TB, s *Server, method string, params ...any) {
	t.Helper()
	rec := serve(t, s, http.MethodPost, "/xmlrpc/", callDoc(method, params...))
	if rec.Code != http.StatusOK {
		t.Fatalf("POST %s: status %d", method, rec.Code)
	}
}

// section returns the part of the page from the element with the given id
// to the next <h2>, or to the end.
func section(t testing.TB, page, id string) string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("page has no section %q", id)
	}
	rest := page[i:]
	if j := strings.Index(rest[1:], "<h2"); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

// tableRows returns the text of every cell of every body row in s.
func tableRows(s string) [][]string {
	var rows [][]string
	for _, tr := range strings.Split(s, "<tr")[1:] {
		tr, _, _ = strings.Cut(tr, "</tr>")
		if strings.Contains(tr, "<th") {
			continue
		}
		var cells []string
		for _, td := range strings.Split(tr, "<td")[1:] {
			td, _, _ = strings.Cut(td, "</td>")
			_, td, _ = strings.Cut(td, ">")
			cells = append(cells, visibleText(td))
		}
		rows = append(rows, cells)
	}
	return rows
}

// rowWith returns the cells of the first row whose first cell is key.
func rowWith(t testing.TB, rows [][]string, key string) []string {
	t.Helper()
	for _, r := range rows {
		if len(r) > 0 && r[0] == key {
			return r
		}
	}
	t.Fatalf("no row %q in %q", key, rows)
	return nil
}

// visibleText is the text of a piece of HTML as the page shows it: tags
// stripped, entities decoded, white space collapsed.
func visibleText(s string) string { return browsertest.Text(s) }

// wallT0 is the status page's wall clock in the fixture.
var wallT0 = time.Date(2026, 5, 6, 7, 8, 9, 999_999_999, time.UTC)

// fakeWall is a wall clock for the status page that moves only when told.
type fakeWall struct{ ns atomic.Int64 }

func newFakeWall(t time.Time) *fakeWall {
	w := &fakeWall{}
	w.ns.Store(t.UnixNano())
	return w
}

func (w *fakeWall) now() time.Time          { return time.Unix(0, w.ns.Load()).UTC() }
func (w *fakeWall) advance(d time.Duration) { w.ns.Add(int64(d)) }

// withWallClock replaces the status page's wall clock.
func withWallClock(now func() time.Time) Option {
	return option(func(c *config) error {
		c.wall = now
		return nil
	})
}

// statusFixture is a small server with two subnets, a NAT node, an offline
// node and an account holding two vessels a minute into their lease. Its
// status page reads the wall clock wallT0, which stays put, so that two
// renders of the same state are the same page.
func statusFixture(t testing.TB) (*Server, mockapi.Account, mockapi.Account) {
	t.Helper()
	s := newTestServer(t, WithTimeScale(0), withWallClock(newFakeWall(wallT0).now))
	addNodes(t, s, "lan", sameSubnet("10.1.2", 3)...)
	addNodes(t, s, "one", "10.9.9.1")
	addNodes(t, s, "nat", "NAT$0001")
	if _, err := s.AddNode(mockapi.NodeSpec{ID: "down", IP: "10.1.2.200", Inactive: true}); err != nil {
		t.Fatal(err)
	}
	alice := addUser(t, s, "alice", func(a *mockapi.AccountSpec) { a.Affiliation = "University of Washington" })
	bob := addUser(t, s, "bob")
	acquire(t, s, alice, "lan", 2)
	if err := s.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	return s, alice, bob
}

// TestStatusPageWallClock checks that the page shows the time of rendering
// and the age of each call by its wall clock, and nothing by time.Now.
func TestStatusPageWallClock(t *testing.T) {
	t.Parallel()
	wall := newFakeWall(wallT0)
	s := newTestServer(t, withWallClock(wall.now))
	alice := addUser(t, s, "alice")
	rpcOverHTTP(t, s, "get_account_info", auth(alice))
	wall.advance(90 * time.Second)
	page := visibleText(statusPageOf(t, s, "/"))
	for _, want := range []string{"status at 2026-05-06 07:09:39 UTC", "07:08:09.999 1m30s ago get_account_info alice"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
}

func TestStatusPageContent(t *testing.T) {
	t.Parallel()
	s, alice, bob := statusFixture(t)
	rpcOverHTTP(t, s, "get_account_info", auth(alice))
	rpcOverHTTP(t, s, "acquire_resources", auth(bob), rspec("wan", int64(11))) // more than bob's 10 credits
	page := statusPageOf(t, s, "/")

	t.Run("accounts", func(t *testing.T) {
		rows := tableRows(section(t, page, "accounts"))
		a := rowWith(t, rows, "alice")
		want := []string{"alice", "University of Washington", "63100", "2 / 10", "0"}
		for i, w := range want {
			if a[i] != w {
				t.Errorf("alice cell %d: have %q, want %q", i, a[i], w)
			}
		}
		if strings.Count(a[5], "3h59m") != 2 || !strings.Contains(a[5], "lan0:v2") && !strings.Contains(a[5], "lan1:v2") && !strings.Contains(a[5], "lan2:v2") {
			t.Errorf("alice's vessels: have %q, want two lan vessels expiring in 3h59m", a[5])
		}
		if b := rowWith(t, rows, "bob"); b[3] != "0 / 10" || b[5] != "none" {
			t.Errorf("bob: have %q, want 0 / 10 and no vessels", b)
		}
	})
	t.Run("subnets", func(t *testing.T) {
		rows := tableRows(section(t, page, "subnets"))
		tests := []struct {
			name string
			want []string // nodes, live, vessels, held, free, available
		}{
			{"10.1.2.0/24", []string{"4", "3", "32", "2", "30", "22"}},
			{"10.9.9.0/24", []string{"1", "1", "8", "0", "8", "8"}},
			{"behind NAT", []string{"1", "1", "8", "0", "8", "8"}},
		}
		for _, tt := range tests {
			have := rowWith(t, rows, tt.name)[1:]
			if strings.Join(have, " ") != strings.Join(tt.want, " ") {
				t.Errorf("%s: have %q, want %q", tt.name, have, tt.want)
			}
		}
	})
	t.Run("clock", func(t *testing.T) {
		clock := visibleText(section(t, page, "clock"))
		for _, w := range []string{"2030-01-02 03:05:05.000 UTC", "time scale 0 (frozen"} {
			if !strings.Contains(clock, w) {
				t.Errorf("clock %q lacks %q", clock, w)
			}
		}
	})
	t.Run("calls", func(t *testing.T) {
		rows := tableRows(section(t, page, "calls"))
		if len(rows) != 2 {
			t.Fatalf("have %d calls, want 2: %q", len(rows), rows)
		}
		// Newest first.
		if r := rows[0]; r[1] != "acquire_resources" || r[2] != "bob" || r[3] != "fault 103 not enough credits" {
			t.Errorf("newest call: have %q", r)
		}
		if r := rows[1]; r[1] != "get_account_info" || r[2] != "alice" || r[3] != "ok" {
			t.Errorf("oldest call: have %q", r)
		}
		if !strings.Contains(visibleText(section(t, page, "calls")), "2 calls over HTTP since start, 1 of them faults") {
			t.Errorf("call counts missing")
		}
	})
	t.Run("refresh", func(t *testing.T) {
		if !strings.Contains(page, `<meta http-equiv="refresh" content="5">`) {
			t.Errorf("page does not refresh itself")
		}
	})
}

func TestStatusPageEscapes(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	const (
		affiliation = `<script>alert(1)</script>`
		nodeID      = `n<&"'>1`
		nodeIP      = `NAT$<b>&"x'`
		method      = `<i>bad&"'`
		username    = `<u>&x"`
	)
	if _, err := s.AddNode(mockapi.NodeSpec{ID: nodeID, IP: nodeIP}); err != nil {
		t.Fatal(err)
	}
	a := addUser(t, s, "mallory", func(spec *mockapi.AccountSpec) { spec.Affiliation = affiliation })
	acquire(t, s, a, "nat", 1)
	// The encoder refuses such a name; a hostile client sends it anyway.
	raw := `<?xml version="1.0"?><methodCall><methodName>` + template.HTMLEscapeString(method) + `</methodName><params></params></methodCall>`
	if rec := serve(t, s, http.MethodPost, "/xmlrpc/", raw); rec.Code != http.StatusOK {
		t.Fatalf("POST %s: status %d", method, rec.Code)
	}
	rpcOverHTTP(t, s, "get_account_info", map[string]any{"username": username, "api_key": "x"})
	page := statusPageOf(t, s, "/")
	if strings.Contains(page, "<script") {
		t.Errorf("page contains a script element")
	}
	for _, raw := range []string{affiliation, nodeID, nodeIP, method, username} {
		if strings.Contains(page, raw) {
			t.Errorf("page contains %q unescaped", raw)
		}
		if esc := template.HTMLEscapeString(raw); !strings.Contains(page, esc) {
			t.Errorf("page lacks %q escaped as %q", raw, esc)
		}
	}
	if csp := serve(t, s, http.MethodGet, "/", "").Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q does not forbid scripts", csp)
	}
}

func TestStatusPageShowsNoSecrets(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithKeyBits(512), WithAdmin(true), WithFaults(FaultProfile{Rules: []FaultRule{{Latency: time.Millisecond}}}))
	addNodes(t, s, "n", distinctSubnets(20, 30)...)
	var accounts []mockapi.Account
	for i := range 3 {
		// Generated credentials for one account, given ones for the others.
		spec := mockapi.AccountSpec{Username: fmt.Sprintf("user%d", i), Password: fmt.Sprintf("hunter%d-secret", i), Affiliation: "Secret Lab"}
		if i > 0 {
			keys := testKeys()
			spec.PublicKey, spec.PrivateKey, spec.APIKey = keys[0], keys[1], fmt.Sprintf("APIKEY%dXYZXYZXYZ", i)
		}
		a, err := s.AddAccount(spec)
		if err != nil {
			t.Fatal(err)
		}
		acquire(t, s, a, "wan", 3)
		// Calls that carry every credential in their parameters.
		rpcOverHTTP(t, s, "get_account_info", auth(a))
		rpcOverHTTP(t, s, "regenerate_api_key", pwauth(a))
		rpcOverHTTP(t, s, "get_encrypted_api_key", a.Username)
		// Calls the behaviour report records: the old API key, five
		// times, and secrets where a handle should be.
		for range 5 {
			rpcOverHTTP(t, s, "get_account_info", auth(a))
		}
		cur, err := s.Account(a.Username)
		if err != nil {
			t.Fatal(err)
		}
		rpcOverHTTP(t, s, "release_resources", auth(cur), []any{cur.Password, cur.APIKey})
		accounts = append(accounts, a)
	}
	page := statusPageOf(t, s, "/")
	report := newAdmin(t, s).do("GET", "/admin/report", "", 200, nil)
	for _, f := range []string{"auth_failures user0", "malformed_arguments user0", "latency"} {
		if !strings.Contains(visibleText(page), f) {
			t.Errorf("the fixture lacks %q on the page", f)
		}
	}
	for _, a := range listAccounts(t, s) {
		for _, secret := range []string{a.APIKey, a.Password, a.PrivateKey} {
			if strings.Contains(page, secret) {
				t.Errorf("page shows a secret of %s", a.Username)
			}
			if strings.Contains(report, secret) {
				t.Errorf("the report shows a secret of %s", a.Username)
			}
		}
	}
	for _, a := range accounts { // the API keys before regeneration
		if strings.Contains(page, a.APIKey) || strings.Contains(report, a.APIKey) {
			t.Errorf("page or report shows an old API key of %s", a.Username)
		}
	}
}

// TestStatusPageCountsMatchControls checks every subnet row, the NAT row
// and the summary against what the Go controls report.
func TestStatusPageCountsMatchControls(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithPopulation(PopulationConfig{Nodes: 300, NATFraction: 0.2, Seed: 7}), WithCleanupDelay(time.Hour))
	a := addUser(t, s, "alice", func(spec *mockapi.AccountSpec) { spec.FreeCredits = 100 })
	handles := acquire(t, s, a, "random", 40)
	mustCall(t, s, "release_resources", auth(a), anyList(handles[:10])) // dirty for an hour
	nodes, _ := listNodes(t, s, NodeFilter{Limit: 20})
	for i, n := range nodes {
		var err error
		if i%2 == 0 {
			err = s.SetNodeActive(n.ID, false)
		} else {
			err = s.SetNodeBroken(n.ID, true)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	counts := func(nodes []mockapi.Node) []string {
		var live, vessels, held, avail int
		for _, n := range nodes {
			if n.Active && !n.Broken {
				live++
			}
			for _, v := range n.Vessels {
				vessels++
				if v.Owner != "" {
					held++
				}
				if v.Available {
					avail++
				}
			}
		}
		return strings.Fields(fmt.Sprint(len(nodes), live, vessels, held, vessels-held, avail))
	}
	all, _ := listNodes(t, s, NodeFilter{})
	natNodes, _ := listNodes(t, s, NodeFilter{NAT: true})
	covered := len(natNodes)
	prev := uint64(0)
	for page := 1; ; page++ {
		body := statusPageOf(t, s, "/?page="+strconv.Itoa(page))
		rows := tableRows(section(t, body, "subnets"))
		if have, want := rowWith(t, rows, "behind NAT")[1:], counts(natNodes); strings.Join(have, " ") != strings.Join(want, " ") {
			t.Errorf("NAT: have %q, want %q", have, want)
		}
		for _, r := range rows {
			if r[0] == "behind NAT" {
				continue
			}
			name := strings.TrimSuffix(r[0], ".0/24")
			if key := subnetKey(name); key <= prev {
				t.Errorf("subnet %s out of address order", name)
			} else {
				prev = key
			}
			sub, _ := listNodes(t, s, NodeFilter{Subnet: name})
			if want := counts(sub); strings.Join(r[1:], " ") != strings.Join(want, " ") {
				t.Errorf("%s: have %q, want %q", name, r[1:], want)
			}
			covered += len(sub)
		}
		if !strings.Contains(body, "next →") {
			if page < 2 {
				t.Errorf("300 nodes fit on %d page, want several", page)
			}
			break
		}
	}
	if covered != len(all) {
		t.Errorf("the rows cover %d nodes, want all %d", covered, len(all))
	}

	_, availTotal, _ := s.Vessels(VesselFilter{State: mockapi.StateAvailable})
	summary := visibleText(statusPageOf(t, s, "/"))
	for _, w := range []string{
		"Vessels 2400 held 30 (1.25%) free 2370 available " + strconv.Itoa(availTotal),
		"Nodes 300 live 280 offline 10 broken 10 behind NAT 60",
	} {
		if !strings.Contains(summary, w) {
			t.Errorf("summary lacks %q", w)
		}
	}
}

// TestStatusPageLargePopulation checks that the page stays small and is
// paged with 100 000 nodes, even when every account has the longest
// affiliation, all of it characters that escaping lengthens.
func TestStatusPageLargePopulation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithPopulation(PopulationConfig{Nodes: 100_000, NATFraction: 0.1, Seed: 1}))
	worst := strings.Repeat(`<&"'>`, 40)
	for i := range 30 {
		a := addUser(t, s, fmt.Sprintf("user%02d", i), func(spec *mockapi.AccountSpec) { spec.Affiliation = worst })
		acquire(t, s, a, "random", 10)
		rpcOverHTTP(t, s, "get_resource_info", auth(a))
		rpcOverHTTP(t, s, strings.Repeat("m", 200)) // an unknown, long method name
	}
	pages := map[string]string{}
	for _, target := range []string{"/", "/?page=2", "/?page=999999", "/?apage=2", "/?page=x&apage=-3"} {
		body := statusPageOf(t, s, target)
		if len(body) > maxStatusPage {
			t.Errorf("GET %s: %d bytes, want at most %d", target, len(body), maxStatusPage)
		}
		pages[target] = body
	}
	sub1, sub2 := section(t, pages["/"], "subnets"), section(t, pages["/?page=2"], "subnets")
	if sub1 == sub2 {
		t.Errorf("subnet page 2 is the same as page 1")
	}
	if n := len(tableRows(sub2)); n != statusSubnetsPerPage+1 {
		t.Errorf("subnet page 2 has %d rows, want %d and the NAT row", n, statusSubnetsPerPage)
	}
	if !strings.Contains(sub2, "page 2 of ") || !strings.Contains(sub2, "← previous") || !strings.Contains(sub2, "next →") {
		t.Errorf("subnet page 2 lacks its pager")
	}
	if last := section(t, pages["/?page=999999"], "subnets"); strings.Contains(last, "next →") || !strings.Contains(last, "← previous") {
		t.Errorf("a page past the end does not show the last page")
	}
	if pages["/?page=x&apage=-3"] == "" || section(t, pages["/?page=x&apage=-3"], "subnets") != sub1 {
		t.Errorf("invalid page numbers do not show page 1")
	}
	acc1, acc2 := tableRows(section(t, pages["/"], "accounts")), tableRows(section(t, pages["/?apage=2"], "accounts"))
	if len(acc1) != statusAccountsPerPage || len(acc2) != 30-statusAccountsPerPage || acc2[0][0] != "user25" {
		t.Errorf("account pages hold %d and %d rows, page 2 starting with %q", len(acc1), len(acc2), acc2[0][0])
	}
	if !strings.Contains(pages["/"], "and 2 more") {
		t.Errorf("an account's vessels beyond the first %d are not summarized", statusVesselsPerAccount)
	}
	if n := len(tableRows(section(t, pages["/"], "calls"))); n != recentCallsKept {
		t.Errorf("%d calls listed, want the last %d", n, recentCallsKept)
	}
	summary := visibleText(pages["/"])
	if !strings.Contains(summary, "Nodes 100000 live 100000") || !strings.Contains(summary, "held 300") {
		t.Errorf("summary does not count the whole population")
	}
}

func TestStatusPageMethods(t *testing.T) {
	t.Parallel()
	s, _, _ := statusFixture(t)
	get := serve(t, s, http.MethodGet, "/", "")
	head := serve(t, s, http.MethodHead, "/", "")
	if head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Fatalf("HEAD: status %d with %d body bytes", head.Code, head.Body.Len())
	}
	if hl, gl := head.Header().Get("Content-Length"), strconv.Itoa(get.Body.Len()); hl != gl {
		t.Errorf("HEAD Content-Length %s, GET sends %s bytes", hl, gl)
	}
	if st := statusPageOf(t, s, "/status"); st != get.Body.String() {
		t.Errorf("/status differs from /")
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		rec := serve(t, s, m, "/", "x")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: status %d, Allow %q; want 405 and GET, HEAD", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

// TestStatusPageKeepsOtherRoutes checks that the page takes only / and
// /status: the XML-RPC endpoint still answers, and other paths are 404.
func TestStatusPageKeepsOtherRoutes(t *testing.T) {
	t.Parallel()
	s, alice, _ := statusFixture(t)
	statusPageOf(t, s, "/")
	for _, path := range []string{"/other", "/status/", "/status/x", "/index.html", "//", "/admin/nodes"} {
		if rec := serve(t, s, http.MethodGet, path, ""); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, rec.Code)
		}
	}
	rec := serve(t, s, http.MethodPost, "/xmlrpc/", callDoc("get_account_info", auth(alice)))
	var info map[string]any
	if err := xmlrpc.DecodeResponse(rec.Body, &info); err != nil || info["user_name"] != "alice" {
		t.Fatalf("XML-RPC after the status page: %v, %v", err, info)
	}
	if rec := serve(t, s, http.MethodGet, "/xmlrpc/", ""); rec.Body.String() != banner {
		t.Errorf("GET /xmlrpc/ no longer gives the banner")
	}
}

// TestStatusPageConcurrent renders the page while calls change the state
// and new subnets appear (run with -race), then after a Reset.
func TestStatusPageConcurrent(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithPopulation(PopulationConfig{Nodes: 500, NATFraction: 0.1, Seed: 3}))
	a := addUser(t, s, "alice")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				statusPageOf(t, s, "/?page="+strconv.Itoa(1+(g+i)%4))
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			h := acquire(t, s, a, "random", 5)
			rpcOverHTTP(t, s, "release_resources", auth(a), anyList(h))
			if _, err := s.AddNode(mockapi.NodeSpec{IP: fmt.Sprintf("10.77.%d.1", i)}); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	checkInvariants(t, s)
	if body := statusPageOf(t, s, "/"); !strings.Contains(visibleText(body), "Nodes 520") {
		t.Errorf("the page does not count the 20 added nodes")
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	body := visibleText(statusPageOf(t, s, "/"))
	if !strings.Contains(body, "Accounts 0") || !strings.Contains(body, "Nodes 500") || !strings.Contains(body, "No accounts yet.") {
		t.Errorf("the page after Reset does not show the fresh state")
	}
}

func TestStatusPageAfterClose(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.Close()
	if rec := serve(t, s, http.MethodGet, "/", ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d after Close, want 503", rec.Code)
	}
}

func TestRecentCallsRing(t *testing.T) {
	t.Parallel()
	rc := newRecentCalls(5, time.Now)
	for i := range 12 {
		info := xmlrpc.CallInfo{Method: "m" + strconv.Itoa(i), Params: []any{map[string]any{"username": "u", "api_key": "SECRET"}}}
		if i%3 == 0 {
			info.Fault = &xmlrpc.Fault{Code: codeAuthentication}
		}
		var d *faultDecision
		if i%4 == 0 {
			d = &faultDecision{kind: FaultResetAfter}
		}
		rc.record(info, d)
	}
	calls, total, faults, injected := rc.snapshot()
	if total != 12 || faults != 4 || injected != 3 {
		t.Errorf("have %d calls, %d faults and %d injected, want 12, 4 and 3", total, faults, injected)
	}
	var methods []string
	for _, c := range calls {
		methods = append(methods, c.method)
		if c.username != "u" {
			t.Errorf("call %s: username %q", c.method, c.username)
		}
	}
	if have, want := strings.Join(methods, " "), "m11 m10 m9 m8 m7"; have != want {
		t.Errorf("have %s, want the newest five first: %s", have, want)
	}
	if fmt.Sprintf("%+v", calls) != strings.ReplaceAll(fmt.Sprintf("%+v", calls), "SECRET", "") {
		t.Errorf("a call record holds a parameter")
	}
}

func TestFormatLeft(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{AcquireLease, "4h0m"},
		{AcquireLease - time.Minute, "3h59m"},
		{AcquireLease - time.Nanosecond, "3h59m"},
		{RenewLease, "7d0h0m"},
		{RenewLease - time.Second, "6d23h59m"},
		{12*time.Minute + 30*time.Second, "12m30s"},
		{45 * time.Second, "45s"},
		{time.Millisecond, "0s"},
		{0, "expired"},
		{-time.Hour, "expired"},
	}
	for _, tt := range tests {
		if have := formatLeft(tt.d); have != tt.want {
			t.Errorf("formatLeft(%v): have %q, want %q", tt.d, have, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijklmnopqrstuvwxyz", 10, "abcdef…xyz"},
		{"ααααββββγγγγ", 7, "αααα…γγ"},
		{"bad\xffutf8", 20, "bad\uFFFDutf8"},
		{"abc", 1, "…"},
	}
	for _, tt := range tests {
		if have := clip(tt.s, tt.max); have != tt.want {
			t.Errorf("clip(%q, %d): have %q, want %q", tt.s, tt.max, have, tt.want)
		}
	}
}

func TestSubnetKeyOrder(t *testing.T) {
	t.Parallel()
	ordered := []string{"1.2.3", "1.2.10", "1.10.0", "9.0.0", "10.0.0", "223.255.255", "bogus", "1.2.3.4"}
	for i := 1; i < 6; i++ {
		if subnetKey(ordered[i-1]) >= subnetKey(ordered[i]) {
			t.Errorf("%s does not sort before %s", ordered[i-1], ordered[i])
		}
	}
	for _, bad := range ordered[6:] {
		if subnetKey(bad) <= subnetKey("223.255.255") {
			t.Errorf("%s does not sort last", bad)
		}
	}
}

// BenchmarkStatusPage renders the page for populations of 1 000 and
// 100 000 nodes, with 30 accounts holding 10 vessels each and a full ring
// of recent calls; compare the two: the page must not grow with the
// population.
func BenchmarkStatusPage(b *testing.B) {
	for _, n := range benchSizes {
		b.Run("nodes="+strconv.Itoa(n), func(b *testing.B) {
			s, _ := benchServer(b, n)
			for i := range 30 {
				a := addUser(b, s, fmt.Sprintf("user%02d", i))
				acquire(b, s, a, "random", 10)
				rpcOverHTTP(b, s, "get_account_info", auth(a))
				rpcOverHTTP(b, s, "get_resource_info", auth(a))
			}
			req := httptest.NewRequest(http.MethodGet, "/?page=3", nil)
			s.ServeHTTP(httptest.NewRecorder(), req) // builds the subnet order
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "page-bytes")
		})
	}
}

// BenchmarkStatusPageLocked measures how long a render holds the state
// lock: the copy of what the page shows, without the formatting.
func BenchmarkStatusPageLocked(b *testing.B) {
	for _, n := range benchSizes {
		b.Run("nodes="+strconv.Itoa(n), func(b *testing.B) {
			s, _ := benchServer(b, n)
			for i := range 30 {
				acquire(b, s, addUser(b, s, fmt.Sprintf("user%02d", i)), "random", 10)
			}
			read := func(st *state, c stats) {
				st.subnetRows(2*statusSubnetsPerPage, statusSubnetsPerPage)
				st.accountRows(0, statusAccountsPerPage, statusVesselsPerAccount)
			}
			s.overview(read) // builds the subnet order
			b.ReportAllocs()
			for b.Loop() {
				s.overview(read)
			}
		})
	}
}
