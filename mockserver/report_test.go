package mockserver

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// reportFixture is a server with 20 nodes in distinct subnets and the
// accounts alice and bob, its clock frozen at t0.
func reportFixture(t *testing.T, opts ...Option) (*Server, mockapi.Account, mockapi.Account) {
	t.Helper()
	s := newTestServer(t, opts...)
	addNodes(t, s, "n", distinctSubnets(10, 20)...)
	return s, addUser(t, s, "alice"), addUser(t, s, "bob")
}

// report returns the server's report; an error ends the test.
func report(t *testing.T, s *Server) Report {
	t.Helper()
	r, err := s.Report()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// kinds lists a report's findings as "kind account", in order.
func kinds(r Report) []string {
	out := []string{}
	for _, f := range r.Findings {
		out = append(out, string(f.Kind)+" "+f.Account)
	}
	return out
}

// finding returns the report's finding of kind for account.
func finding(t *testing.T, r Report, kind FindingKind, account string) Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Kind == kind && f.Account == account {
			return f
		}
	}
	t.Fatalf("no %s finding for %q in %v", kind, account, kinds(r))
	return Finding{}
}

// noFinding fails the test for each finding of kind in the report.
func noFinding(t *testing.T, r Report, kind FindingKind) {
	t.Helper()
	for _, f := range r.Findings {
		if f.Kind == kind {
			t.Errorf("unexpected finding: %s", f.Message)
		}
	}
}

func wantKinds(t *testing.T, r Report, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if have := kinds(r); !slices.Equal(have, want) {
		t.Errorf("findings %q, want %q", have, want)
	}
}

func advance(t *testing.T, s *Server, d time.Duration) {
	t.Helper()
	must(t, s.Advance(d))
}

func TestReportLeak(t *testing.T) {
	t.Parallel()
	t.Run("careless", func(t *testing.T) {
		t.Parallel()
		s, alice, _ := reportFixture(t)
		handles := acquire(t, s, alice, "wan", 3)
		advance(t, s, time.Hour)
		mustCall(t, s, "renew_resources", auth(alice), anyList(handles[:1]))
		r := report(t, s)
		wantKinds(t, r, "leak alice")
		f := finding(t, r, FindingLeak, "alice")
		slices.Sort(handles)
		if f.Evidence.Count != 3 || len(f.Evidence.Vessels) != 3 {
			t.Fatalf("evidence %+v, want 3 vessels", f.Evidence)
		}
		for i, v := range f.Evidence.Vessels {
			if v.Handle != handles[i] {
				t.Errorf("vessel %d: %s, want %s (sorted by handle)", i, v.Handle, handles[i])
			}
			if !v.Acquired.Equal(t0) {
				t.Errorf("%s acquired %v, want %v (the acquisition, not the renewal)", v.Handle, v.Acquired, t0)
			}
		}
		if !strings.HasPrefix(f.Message, "holds 3 vessels never released") {
			t.Errorf("message %q", f.Message)
		}
	})
	t.Run("careful", func(t *testing.T) {
		t.Parallel()
		s, alice, _ := reportFixture(t)
		handles := acquire(t, s, alice, "wan", 3)
		mustCall(t, s, "release_resources", auth(alice), anyList(handles))
		wantKinds(t, report(t, s))
	})
}

// TestReportLeakExpiry checks the expiry the leak evidence shows for a
// renewed vessel and one that was not.
func TestReportLeakExpiry(t *testing.T) {
	t.Parallel()
	s, alice, _ := reportFixture(t)
	handles := acquire(t, s, alice, "wan", 2)
	advance(t, s, time.Hour)
	mustCall(t, s, "renew_resources", auth(alice), anyList(handles[:1]))
	want := map[string]time.Time{handles[0]: t0.Add(time.Hour + RenewLease), handles[1]: t0.Add(AcquireLease)}
	for _, v := range finding(t, report(t, s), FindingLeak, "alice").Evidence.Vessels {
		if !v.Expires.Equal(want[v.Handle]) {
			t.Errorf("%s expires %v, want %v", v.Handle, v.Expires, want[v.Handle])
		}
	}
}

func TestReportMissedRenewal(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration
		who     string // "alice", "bob" or "renew" (alice renews)
	}
	tests := []struct {
		name   string
		steps  []step
		missed bool
	}{
		{"careless: polls but never renews", []step{{3*time.Hour + 30*time.Minute, "alice"}, {time.Hour, "alice"}}, true},
		{"careless: another account's call finds the lapse", []step{{3*time.Hour + 30*time.Minute, "alice"}, {40 * time.Minute, "bob"}, {10 * time.Minute, "alice"}}, true},
		{"careless: a call exactly at the end of the window", []step{{3 * time.Hour, "alice"}, {2 * time.Hour, "alice"}}, true},
		{"careful: renews in time", []step{{3*time.Hour + 30*time.Minute, "renew"}, {time.Hour, "alice"}}, false},
		{"idle before the end", []step{{2*time.Hour + 59*time.Minute, "alice"}, {2 * time.Hour, "alice"}}, false},
		{"idle after the end", []step{{3*time.Hour + 30*time.Minute, "alice"}, {time.Hour + 31*time.Minute, "alice"}}, false},
		{"no call after the end yet", []step{{3*time.Hour + 30*time.Minute, "alice"}, {40 * time.Minute, "bob"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, alice, bob := reportFixture(t)
			handles := acquire(t, s, alice, "wan", 1)
			for _, st := range tc.steps {
				advance(t, s, st.advance)
				switch st.who {
				case "alice":
					mustCall(t, s, "get_resource_info", auth(alice))
				case "bob":
					mustCall(t, s, "get_account_info", auth(bob))
				case "renew":
					mustCall(t, s, "renew_resources", auth(alice), anyList(handles))
				}
			}
			r := report(t, s)
			if !tc.missed {
				noFinding(t, r, FindingMissedRenewal)
				return
			}
			f := finding(t, r, FindingMissedRenewal, "alice")
			want := []VesselEvidence{{Handle: handles[0], Acquired: t0, Expires: t0.Add(AcquireLease)}}
			if f.Evidence.Count != 1 || !reflect.DeepEqual(f.Evidence.Vessels, want) {
				t.Errorf("evidence %+v, want %+v", f.Evidence, want)
			}
		})
	}
}

func TestReportRenewalStorm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		renewals int
		every    time.Duration
		storm    bool
	}{
		{"careless: 11 renewals in 50 minutes", 11, 5 * time.Minute, true},
		{"careless: 13 renewals at once", 13, 0, true},
		{"10 renewals at once is the threshold", 10, 0, false},
		{"careful: 11 renewals spanning an hour", 11, 6 * time.Minute, false},
		{"careful: hourly for two days", 48, time.Hour, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, alice, _ := reportFixture(t)
			handles := acquire(t, s, alice, "wan", 2)
			for i := range tc.renewals {
				if i > 0 {
					advance(t, s, tc.every)
				}
				mustCall(t, s, "renew_resources", auth(alice), anyList(handles))
			}
			r := report(t, s)
			if !tc.storm {
				wantKinds(t, r, "leak alice")
				return
			}
			f := finding(t, r, FindingRenewalStorm, "alice")
			if f.Evidence.Count != 2 || len(f.Evidence.Vessels) != 2 {
				t.Fatalf("evidence %+v, want both vessels", f.Evidence)
			}
			for _, v := range f.Evidence.Vessels {
				first, last := t0, t0.Add(time.Duration(tc.renewals-1)*tc.every)
				if v.Renewals != tc.renewals || !v.First.Equal(first) || !v.Last.Equal(last) {
					t.Errorf("%s: %d renewals from %v to %v, want %d from %v to %v",
						v.Handle, v.Renewals, v.First, v.Last, tc.renewals, first, last)
				}
			}
		})
	}
}

// TestReportDuplicateAcquire drives acquisitions over HTTP, where an
// injected reset_after loses the answer of an applied acquire.
func TestReportDuplicateAcquire(t *testing.T) {
	t.Parallel()
	const lose = "acquire_resources:reset_after,next=1"
	tests := []struct {
		name   string
		spec   string
		script []string // the calls after the first acquire, whose answer is lost
		dup    bool
	}{
		{"careless: retries at once", lose, []string{"acquire"}, true},
		{"careless: looks, but that answer is lost too", lose + ";get_resource_info:truncate,next=1", []string{"look", "acquire"}, true},
		{"careless: other calls do not count as looking", lose, []string{"account", "acquire"}, true},
		{"careful: looks before acquiring again", lose, []string{"look", "acquire"}, false},
		{"careful: looks and is content", lose, []string{"look"}, false},
		{"no fault: two acquisitions", "", []string{"acquire"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, url, u := faultFixture(t, tc.spec)
			c, err := xmlrpc.NewClient(url)
			if err != nil {
				t.Fatal(err)
			}
			var lost []any
			err = c.Call(t.Context(), "acquire_resources", &lost, auth(u), rspec("wan", int64(2)))
			if (err != nil) != (tc.spec != "") {
				t.Fatalf("the first acquire: %v", err)
			}
			for _, step := range tc.script {
				var m string
				var params []any
				switch step {
				case "acquire":
					m, params = "acquire_resources", []any{auth(u), rspec("wan", int64(2))}
				case "look":
					m, params = "get_resource_info", []any{auth(u)}
				case "account":
					m, params = "get_account_info", []any{auth(u)}
				}
				c.Call(t.Context(), m, nil, params...) // a lost answer is an error; the report sees it
			}
			r := report(t, s)
			if !tc.dup {
				noFinding(t, r, FindingDuplicateAcquire)
				return
			}
			f := finding(t, r, FindingDuplicateAcquire, "alice")
			if f.Evidence.Count != 1 || f.Evidence.Held != 4 || f.Evidence.Target != 2 {
				t.Errorf("evidence %+v, want 1 episode, held 4, target 2", f.Evidence)
			}
			unseen := 0
			for _, v := range f.Evidence.Vessels {
				if v.Unseen {
					unseen++
				}
			}
			if len(f.Evidence.Vessels) != 4 || unseen != 2 {
				t.Errorf("vessels %+v: want 2 unseen and 2 retried", f.Evidence.Vessels)
			}
			if !strings.Contains(f.Message, "held 4, its calls asked for 2") {
				t.Errorf("message %q", f.Message)
			}
		})
	}
}

func TestReportAuthFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		user     string
		failures int
		every    time.Duration
		finding  bool
	}{
		{"careless: five wrong keys in eight minutes", "alice", 5, 2 * time.Minute, true},
		{"careless: an unknown user, at once", "mallory", 7, 0, true},
		{"four wrong keys", "alice", 4, 0, false},
		{"five wrong keys in twelve minutes", "alice", 5, 3 * time.Minute, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, alice, _ := reportFixture(t)
			for i := range tc.failures {
				if i > 0 {
					advance(t, s, tc.every)
				}
				_, f := call(t, s, "get_account_info", map[string]any{"username": tc.user, "api_key": "wrong"})
				wantFault(t, f, codeAuthentication, authFailedText)
			}
			mustCall(t, s, "get_account_info", auth(alice)) // a success does not clear it
			r := report(t, s)
			if !tc.finding {
				wantKinds(t, r)
				return
			}
			wantKinds(t, r, "auth_failures "+tc.user)
			f := finding(t, r, FindingAuthFailures, tc.user)
			if f.Evidence.Count != tc.failures || len(f.Evidence.Times) != authFailureThreshold ||
				!reflect.DeepEqual(f.Evidence.Methods, map[string]int{"get_account_info": tc.failures}) {
				t.Errorf("evidence %+v", f.Evidence)
			}
			if strings.Contains(fmt.Sprint(r), "wrong") {
				t.Error("the report holds the API key sent")
			}
		})
	}
}

func TestReportMalformedArguments(t *testing.T) {
	t.Parallel()
	s, alice, bob := reportFixture(t)
	// Careless alice.
	call(t, s, "acquire_resources", auth(alice), rspec("everywhere", int64(1))) // 102
	call(t, s, "acquire_resources", auth(alice), "not an rspec")                // 102
	call(t, s, "release_resources", auth(alice), []any{int64(7)})               // 100, a handle that is no string
	call(t, s, "renew_resources", auth(alice))                                  // 100, wrong arity
	call(t, s, "get_account_info", map[string]any{"username": "alice", "api_key": int64(1)})
	// Careful bob: only faults that are not about arguments.
	mustCall(t, s, "get_account_info", auth(bob))
	call(t, s, "acquire_resources", auth(bob), rspec("wan", int64(11))) // 103
	call(t, s, "acquire_resources", auth(bob), rspec("lan", int64(5)))  // 105

	r := report(t, s)
	wantKinds(t, r, "malformed_arguments alice")
	f := finding(t, r, FindingMalformedArguments, "alice")
	wantMethods := map[string]int{"acquire_resources": 2, "release_resources": 1, "renew_resources": 1, "get_account_info": 1}
	if f.Evidence.Count != 5 || !maps.Equal(f.Evidence.Methods, wantMethods) ||
		!maps.Equal(f.Evidence.Codes, map[int]int{100: 3, 102: 2}) {
		t.Errorf("evidence %+v", f.Evidence)
	}
	if want := "made 5 calls with malformed arguments (faults 100/102): acquire_resources 2, get_account_info 1, release_resources 1, renew_resources 1"; f.Message != want {
		t.Errorf("message\nhave %q\nwant %q", f.Message, want)
	}
}

// TestReportCarefulClient runs a well-behaved client through a week: it
// acquires, renews once a day, looks at its holdings and releases at the
// end. The report must be empty.
func TestReportCarefulClient(t *testing.T) {
	t.Parallel()
	s, alice, _ := reportFixture(t)
	handles := acquire(t, s, alice, "wan", 5)
	for range 7 {
		advance(t, s, 3*time.Hour)
		mustCall(t, s, "renew_resources", auth(alice), anyList(handles))
		mustCall(t, s, "get_resource_info", auth(alice))
		advance(t, s, 21*time.Hour)
		mustCall(t, s, "get_account_info", auth(alice))
	}
	mustCall(t, s, "release_resources", auth(alice), anyList(handles))
	wantKinds(t, report(t, s))
}

func TestReportJSONTextAndReset(t *testing.T) {
	t.Parallel()
	s, alice, _ := reportFixture(t, WithAdmin(true))
	acquire(t, s, alice, "wan", 1)
	call(t, s, "acquire_resources", auth(alice), rspec("wan", int64(0)))

	var got struct {
		Taken    time.Time `json:"taken"`
		Findings []struct {
			Kind     string         `json:"kind"`
			Account  string         `json:"account"`
			Message  string         `json:"message"`
			Evidence map[string]any `json:"evidence"`
		} `json:"findings"`
		Untracked           int  `json:"untracked"`
		UnknownNamesDropped *int `json:"unknown_names_dropped"`
	}
	raw := newAdmin(t, s).do("GET", "/admin/report", "", 200, &got)
	if got.UnknownNamesDropped == nil || *got.UnknownNamesDropped != 0 {
		t.Errorf("unknown_names_dropped missing or not 0: %s", raw)
	}
	if !got.Taken.Equal(t0) || len(got.Findings) != 2 || got.Findings[0].Kind != "leak" || got.Findings[1].Kind != "malformed_arguments" {
		t.Fatalf("GET /admin/report: %s", raw)
	}
	leak := got.Findings[0].Evidence
	v := leak["vessels"].([]any)[0].(map[string]any)
	if leak["count"] != 1.0 || v["acquired"] != "2030-01-02T03:04:05Z" || v["expires"] != "2030-01-02T07:04:05Z" {
		t.Errorf("leak evidence %v", leak)
	}
	if _, ok := v["renewals"]; ok {
		t.Errorf("zero fields are not left out: %v", v)
	}
	if codes := got.Findings[1].Evidence["codes"]; !reflect.DeepEqual(codes, map[string]any{"102": 1.0}) {
		t.Errorf("codes %v", codes)
	}

	var text strings.Builder
	if err := report(t, s).WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Behaviour report at 2030-01-02T03:04:05Z (mock clock): 2 findings\n",
		"  leak alice: holds 1 vessel never released (the first runs out at 2030-01-02T07:04:05Z)\n",
		"  acquired 2030-01-02T03:04:05Z  expires 2030-01-02T07:04:05Z\n",
		"  malformed_arguments alice: made 1 call with malformed arguments (faults 100/102): acquire_resources 1\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text lacks %q:\n%s", want, text.String())
		}
	}

	must(t, s.Reset())
	wantKinds(t, report(t, s))
	var empty strings.Builder
	report(t, s).WriteText(&empty)
	if have := empty.String(); have != "Behaviour report at 2030-01-02T03:04:05Z (mock clock): 0 findings\n" {
		t.Errorf("empty report text %q", have)
	}
}

// TestReportBounded checks that the report keeps at most MaxUnknownNames
// unknown usernames, still finds what those it keeps do, and says how many
// it dropped.
func TestReportBounded(t *testing.T) {
	t.Parallel()
	s, _, _ := reportFixture(t)
	for i := range MaxUnknownNames + 10 {
		call(t, s, "get_account_info", map[string]any{"username": fmt.Sprintf("u%d", i), "api_key": "x"})
	}
	// A kept name and a dropped one fail again, enough for a finding.
	for _, name := range []string{"u0", "later"} {
		for range authFailureThreshold {
			call(t, s, "get_account_info", map[string]any{"username": name, "api_key": "x"})
		}
	}
	r := report(t, s)
	wantKinds(t, r, "auth_failures u0")
	if r.UnknownNamesDropped != 11 || r.Untracked != 0 || len(s.watch.accounts) != MaxUnknownNames {
		t.Errorf("%d unknown names dropped, %d events untracked, %d names kept; want 11, 0 and %d",
			r.UnknownNamesDropped, r.Untracked, len(s.watch.accounts), MaxUnknownNames)
	}
	var text strings.Builder
	r.WriteText(&text)
	if want := "  (about 11 usernames that are no account were not tracked, beyond the 10000 the report keeps: " +
		"findings for unknown usernames may be missing; accounts are always tracked)\n"; !strings.Contains(text.String(), want) {
		t.Errorf("the text does not say names were dropped:\n%s", text.String())
	}
}

// TestReportUntrackedText checks the line for events dropped by the other
// bounds, singular and plural.
func TestReportUntrackedText(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{1: "  (1 event was not tracked: ", 3: "  (3 events were not tracked: "} {
		var text strings.Builder
		if err := (Report{Findings: []Finding{}, Untracked: n}).WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text.String(), want) || strings.Contains(text.String(), "usernames") {
			t.Errorf("untracked %d: text %q, want a line beginning %q", n, text.String(), want)
		}
	}
}

// TestReportUnknownNameBecomesAccount checks that a name kept as unknown
// stops counting against MaxUnknownNames once an account has it.
func TestReportUnknownNameBecomesAccount(t *testing.T) {
	t.Parallel()
	s, _, _ := reportFixture(t)
	call(t, s, "get_account_info", map[string]any{"username": "carol", "api_key": "x"})
	if s.watch.unknown != 1 {
		t.Fatalf("unknown names kept: have %d, want 1", s.watch.unknown)
	}
	carol := addUser(t, s, "carol")
	call(t, s, "get_account_info", map[string]any{"username": "carol", "api_key": "x"})
	mustCall(t, s, "get_account_info", auth(carol))
	if s.watch.unknown != 0 || s.watch.accounts["carol"].unknown {
		t.Errorf("unknown names kept: have %d, want 0 (carol is an account now)", s.watch.unknown)
	}
}

// TestNameSketch checks the estimate of distinct dropped names: exact when
// few, within 1% for a million, repeats not counted.
func TestNameSketch(t *testing.T) {
	t.Parallel()
	var k nameSketch
	if n := k.estimate(); n != 0 {
		t.Errorf("empty: have %d, want 0", n)
	}
	for range 3 {
		for i := range 500 {
			k.add(fmt.Sprintf("name%d", i))
		}
	}
	if n := k.estimate(); n != 500 {
		t.Errorf("500 names thrice: have %d, want 500", n)
	}
	for i := 500; i < 1_000_000; i++ {
		k.add(fmt.Sprintf("name%d", i))
	}
	if n := k.estimate(); n < 990_000 || n > 1_010_000 {
		t.Errorf("a million names: have %d, want within 1%%", n)
	}
	var one nameSketch
	one.add("x")
	one.add("x")
	if n := one.estimate(); n != 1 {
		t.Errorf("one name twice: have %d, want 1", n)
	}
}

// TestReportAfterClose checks the error.
func TestReportAfterClose(t *testing.T) {
	t.Parallel()
	s, _, _ := reportFixture(t)
	s.Close()
	if _, err := s.Report(); err != ErrClosed {
		t.Errorf("have %v, want ErrClosed", err)
	}
}

// TestReportOnStatusPage checks the page's section.
func TestReportOnStatusPage(t *testing.T) {
	t.Parallel()
	s, alice, _ := reportFixture(t)
	if sec := visibleText(section(t, statusPageOf(t, s, "/"), "report")); !strings.Contains(sec, "No findings") {
		t.Errorf("empty report section: %s", sec)
	}
	acquire(t, s, alice, "wan", 2)
	for range 5 {
		call(t, s, "get_account_info", map[string]any{"username": "<mallory>", "api_key": "x"})
	}
	sec := section(t, statusPageOf(t, s, "/"), "report")
	rows := tableRows(sec)
	if len(rows) != 2 || rows[0][0] != "auth_failures" || rows[0][1] != "<mallory>" || rows[1][0] != "leak" || rows[1][1] != "alice" {
		t.Errorf("rows %q", rows)
	}
	if !strings.Contains(sec, "&lt;mallory&gt;") {
		t.Error("the username is not escaped")
	}
	if !strings.Contains(visibleText(sec), "2 findings;") {
		t.Errorf("the section does not count: %s", visibleText(sec))
	}
}

// TestReportGapsOnStatusPage checks that the page says when unknown
// usernames were dropped, with and without findings.
func TestReportGapsOnStatusPage(t *testing.T) {
	t.Parallel()
	s, _, _ := reportFixture(t)
	if sec := section(t, statusPageOf(t, s, "/"), "report"); strings.Contains(sec, "Incomplete") {
		t.Errorf("a complete report says it is incomplete: %s", visibleText(sec))
	}
	for i := range MaxUnknownNames + 2 {
		call(t, s, "get_account_info", map[string]any{"username": fmt.Sprintf("u%d", i), "api_key": "x"})
	}
	sec := visibleText(section(t, statusPageOf(t, s, "/"), "report"))
	for _, want := range []string{"No findings", "Incomplete: about 2 usernames that are no account were not tracked"} {
		if !strings.Contains(sec, want) {
			t.Errorf("the section lacks %q: %s", want, sec)
		}
	}
}

func TestShortHandle(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("7", 300)
	for _, tc := range []struct{ in, want string }{
		{"n1:v2", "n1:v2"},
		{long + ":v10", "777777777777777777…777777777:v10"},
		{"no colon", "no colon"},
	} {
		if have := shortHandle(tc.in); have != tc.want {
			t.Errorf("shortHandle(%.40q) = %q, want %q", tc.in, have, tc.want)
		}
	}
}

// TestReportUnknownNamesCannotBlind fills the report's table of unknown
// usernames with junk (issue 15, item 7), then has an account that
// exists, and one created after the flood, misbehave: their findings must
// appear, as the table's bound applies to unknown names only.
func TestReportUnknownNamesCannotBlind(t *testing.T) {
	t.Parallel()
	s, alice, _ := reportFixture(t)
	const junk = MaxUnknownNames + 10
	for i := range junk {
		call(t, s, "get_account_info", map[string]any{"username": fmt.Sprintf("junk%d", i), "api_key": "x"})
	}
	handles := acquire(t, s, alice, "wan", 1)
	for range stormRenewals + 1 {
		mustCall(t, s, "renew_resources", auth(alice), anyList(handles))
	}
	carol := addUser(t, s, "carol")
	for _, who := range []mockapi.Account{alice, carol} {
		for range authFailureThreshold + 1 {
			call(t, s, "get_account_info", map[string]any{"username": who.Username, "api_key": "wrong"})
		}
	}
	r := report(t, s)
	for _, want := range []struct {
		kind    FindingKind
		account string
	}{{FindingRenewalStorm, "alice"}, {FindingAuthFailures, "alice"}, {FindingAuthFailures, "carol"}} {
		f := finding(t, r, want.kind, want.account)
		if want.kind == FindingAuthFailures && f.Evidence.Count != authFailureThreshold+1 {
			t.Errorf("%s %s: count %d, want %d", want.kind, want.account, f.Evidence.Count, authFailureThreshold+1)
		}
	}
	if r.Untracked != 0 || r.UnknownNamesDropped != 10 {
		t.Errorf("untracked %d, unknown names dropped %d; want 0 and 10", r.Untracked, r.UnknownNamesDropped)
	}
}

// TestWatchFlights checks the settling of acquisitions whose answer was
// delayed on purpose (watch.delivered), in each order the wire allows:
// the account's next acquisition may come before the mock learns that
// the client gave up, or after.
func TestWatchFlights(t *testing.T) {
	t.Parallel()
	handle := func(v int32) string { return "node:v" + strconv.Itoa(int(v)) }
	for _, tc := range []struct {
		name  string
		steps string // a: the delayed acquire; A: another acquire; l: a look; d/x: the answer delivered / not
		dups  int
	}{
		{"gives up, then acquires again", "axA", 1},
		{"acquires again before the mock knows it gave up", "aAx", 1},
		{"acquires again twice before", "aAAx", 1},
		{"answer delivered after a concurrent acquire", "aAd", 0},
		{"answer delivered, then acquires again", "adA", 0},
		{"looks before acquiring again", "alAx", 0},
		{"gives up, looks, acquires again", "axlA", 0},
		{"gives up, then looks too late", "aAlx", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWatch()
			f := &flight{}
			next, held := int32(1), 0
			for i, step := range tc.steps {
				now := int64(i)
				switch step {
				case 'a', 'A':
					var fl *flight
					if step == 'a' {
						fl = f
					}
					held += 2
					w.acquired("alice", []int32{next, next + 1}, handle, held, now, false, fl)
					next += 2
				case 'l':
					w.looked("alice")
				case 'd', 'x':
					w.delivered(f, step == 'd')
				}
			}
			c := w.accounts["alice"]
			if c.nDups != tc.dups || len(c.flights) != 0 {
				t.Fatalf("%d duplicates, %d flights left; want %d and 0", c.nDups, len(c.flights), tc.dups)
			}
			if tc.dups == 1 {
				d := c.dups[0]
				if !slices.Equal(d.unseen, []string{"node:v1", "node:v2"}) || !slices.Equal(d.retried, []string{"node:v3", "node:v4"}) || d.held != 4 {
					t.Errorf("evidence %+v, want v1 and v2 unseen, v3 and v4 retried, 4 held", d)
				}
			}
		})
	}
	// A flight settled after a reset of the watch, or for a call that
	// acquired nothing, changes nothing.
	w := newWatch()
	f := &flight{}
	w.acquired("alice", []int32{1}, handle, 1, 0, false, f)
	w = newWatch()
	w.delivered(f, false)
	w.delivered(&flight{}, false)
	if len(w.accounts) != 0 {
		t.Errorf("settling a stale flight made records: %v", w.accounts)
	}
}
