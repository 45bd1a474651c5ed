package conformance_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/internal/conformancetest"
	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// The budget (Target.AllowAcquire) is a promise to an operator about
// their credits: it must hold at every instant, on the server, whatever
// the server or the network does. These tests run the suite against the
// mock behind a conformancetest.Meter, which reads the account's holdings
// on the server after every call that may acquire.

// budgetRig is a mock with one account, no Controls (as a deployment, or
// a mock from a creds file without -admin), behind a Meter.
type budgetRig struct {
	mock  *mockserver.Server
	meter *conformancetest.Meter
	tg    conformance.Target
	user  string
	pre   []string // handles the account held before the run
}

// newBudgetRig starts the mock with the fault profile spec (compact form,
// "" for none), gives its account pre vessels before the run, and
// targets it with the budget.
func newBudgetRig(t *testing.T, spec string, budget, pre int) *budgetRig {
	t.Helper()
	prof, err := mockserver.ParseFaultSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	mock, err := mockserver.New(
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 40, NATFraction: 0.1, Seed: 5}),
		mockserver.WithKeyBits(512),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	a, err := mock.AddAccount(mockapi.AccountSpec{Username: "erin", Password: "password-of-erin-0123", Affiliation: "Budget U"})
	if err != nil {
		t.Fatal(err)
	}
	r := &budgetRig{mock: mock, user: a.Username}
	if pre > 0 {
		auth := map[string]any{"username": a.Username, "api_key": a.APIKey}
		if _, err := mock.Call(context.Background(), "acquire_resources", auth, map[string]any{"rspec_type": "random", "number_of_nodes": int64(pre)}); err != nil {
			t.Fatal(err)
		}
		r.pre = r.holdings(t)
	}
	// The profile goes on after the vessels held before the run were taken.
	if err := mock.SetFaults(prof); err != nil {
		t.Fatal(err)
	}
	r.meter = &conformancetest.Meter{Next: mock, User: a.Username, Key: a.APIKey, Held: func() int {
		hs, err := mock.Holdings(a.Username)
		if err != nil {
			return 1 << 20 // an account that cannot be read is over any budget
		}
		n := 0
		for _, v := range hs {
			if !slices.Contains(r.pre, v.Handle) {
				n++
			}
		}
		return n
	}}
	srv := httptest.NewServer(r.meter) // 127.0.0.1
	t.Cleanup(srv.Close)
	r.tg = conformance.Target{
		Name:         "mock behind a meter",
		URL:          srv.URL + "/xmlrpc/",
		Accounts:     []conformance.Account{{Username: a.Username, APIKey: a.APIKey, Password: a.Password, PrivateKey: a.PrivateKey}},
		AllowAcquire: budget,
		Mock:         true,
		CallTimeout:  20 * time.Second,
	}
	return r
}

// holdings lists the handles the account holds now.
func (r *budgetRig) holdings(t *testing.T) []string {
	t.Helper()
	hs, err := r.mock.Holdings(r.user)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range hs {
		out = append(out, v.Handle)
	}
	return out
}

// run runs the suite and returns its -v log, bounded in time.
func (r *budgetRig) run(t *testing.T) (*conformance.Report, string) {
	t.Helper()
	var log syncbuf.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := conformance.Check(ctx, r.tg, conformance.WithLog(&log))
	if ctx.Err() != nil {
		t.Fatalf("the run took more than 4 minutes:\n%s", log.String())
	}
	if err != nil {
		t.Fatalf("Check: %v\n%s", err, log.String())
	}
	return rep, log.String()
}

// verify checks what a run must leave however the target behaved: the
// budget held on the server at every instant, the account holds exactly
// what it held before the run, and the mock's behaviour report names the
// suite neither for a leak nor for a duplicate acquisition.
func (r *budgetRig) verify(t *testing.T, budget int, log string) {
	t.Helper()
	if peak := r.meter.Peak(); peak > budget {
		t.Errorf("the account held %d vessels of the suite's at once, over the budget of %d", peak, budget)
	}
	if have := r.holdings(t); !slices.Equal(have, r.pre) {
		t.Errorf("after the run the account holds %v, want %v (what it held before)", have, r.pre)
	}
	rep, err := r.mock.Report()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Account != r.user {
			continue
		}
		switch {
		case f.Kind == mockserver.FindingDuplicateAcquire:
			t.Errorf("the mock's behaviour report: %s %s", f.Kind, f.Message)
		case f.Kind == mockserver.FindingLeak && f.Evidence.Count != len(r.pre):
			t.Errorf("the mock's behaviour report: %s %s", f.Kind, f.Message)
		}
	}
	if t.Failed() {
		t.Logf("the run's log:\n%s", log)
	}
}

// lostLines counts the lines in which the run says an answer was lost.
func lostLines(log string) int { return strings.Count(log, ": the answer was lost (") }

// TestLostAcquireAnswers runs the suite against a mock that loses a share
// of the answers to acquire calls after applying them (reset, truncated
// body) or answers too late for the client: the suite looks after each,
// adopts what appeared, never holds more than its budget and releases
// everything, and says so for every answer lost.
func TestLostAcquireAnswers(t *testing.T) {
	t.Parallel()
	const lossy = "seed=5;acquire_resources:reset_after,p=0.3"
	for _, c := range []struct {
		name   string
		spec   string
		budget int
		pre    int
	}{
		{"reset budget 2", lossy, 2, 0},
		{"reset budget 1", lossy, 1, 0},
		{"reset budget 0", lossy, 0, 0},
		{"truncate budget 2", "seed=5;acquire_resources:truncate,p=0.3", 2, 0},
		{"specific too", lossy + ";acquire_specific_vessels:reset_after,p=0.5", 2, 0},
		{"vessels held before the run", lossy, 2, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newBudgetRig(t, c.spec, c.budget, c.pre)
			_, log := r.run(t)
			r.verify(t, c.budget, log)
			var lost uint64
			for _, n := range r.mock.Faults().Fired {
				lost += n
			}
			if lost == 0 {
				t.Fatalf("the profile %q lost no answer: the test tests nothing", c.spec)
			}
			if got := lostLines(log); uint64(got) != lost {
				t.Errorf("the mock lost %d answers to acquire calls; the run says so %d times", lost, got)
			}
			if _, authentic := r.meter.Calls("acquire_resources"); c.budget == 0 && authentic > 0 {
				t.Errorf("a read-only run made %d acquire_resources calls with the account's credentials", authentic)
			}
		})
	}
}

// TestAcquireAnswerTooLate: the suite's call times out while the server
// applies it (a slow deployment): the outcome is unknown, and the suite
// looks before it goes on, as after a reset.
func TestAcquireAnswerTooLate(t *testing.T) {
	t.Parallel()
	r := newBudgetRig(t, "", 2, 0)
	r.tg.CallTimeout = 1500 * time.Millisecond
	var mu sync.Mutex
	hung, valid := 0, 0
	r.meter.Decide = func(c conformancetest.Call) conformancetest.Action {
		mu.Lock()
		defer mu.Unlock()
		if c.Method != "acquire_resources" || !c.Authentic || hung >= 4 {
			return conformancetest.Pass
		}
		// Three calls that acquire, and one that must fail.
		ok := bytes.Contains(c.Body, []byte("<name>rspec_type</name><value><string>random</string>")) &&
			(bytes.Contains(c.Body, []byte("<value><int>1</int>")) || bytes.Contains(c.Body, []byte("<value><int>2</int>")))
		if ok && valid < 3 || !ok && hung == 3 {
			if ok {
				valid++
			}
			hung++
			return conformancetest.HangAfter
		}
		return conformancetest.Pass
	}
	_, log := r.run(t)
	r.verify(t, 2, log)
	mu.Lock()
	defer mu.Unlock()
	if valid < 3 {
		t.Fatalf("%d calls that acquire were held back, want 3: the test tests less than it should", valid)
	}
	if got := lostLines(log); got < hung {
		t.Errorf("%d answers came too late for the suite; the run says an answer was lost %d times", hung, got)
	}
	if !strings.Contains(log, "adopted, counted against the budget") {
		t.Errorf("the run adopted none of the vessels whose answers came too late")
	}
}

// TestLookFailsStopsAcquiring: when the look after a lost answer fails
// too, the suite acquires nothing more in the run, and looks again at
// cleanup, when it releases what appeared.
func TestLookFailsStopsAcquiring(t *testing.T) {
	t.Parallel()
	r := newBudgetRig(t, "", 2, 0)
	var mu sync.Mutex
	var lost, looked bool
	after := 0 // authenticated acquire_resources calls after the lost one
	r.meter.Decide = func(c conformancetest.Call) conformancetest.Action {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case c.Method == "acquire_resources" && c.Authentic && lost:
			after++
		case c.Method == "acquire_resources" && c.Authentic && bytes.Contains(c.Body, []byte("<string>random</string>")) &&
			bytes.Contains(c.Body, []byte("<int>1</int>")):
			lost = true
			return conformancetest.ResetAfter
		case c.Method == "get_resource_info" && lost && !looked:
			looked = true
			return conformancetest.Fail500
		}
		return conformancetest.Pass
	}
	rep, log := r.run(t)
	r.verify(t, 2, log)
	mu.Lock()
	defer mu.Unlock()
	if !lost || !looked {
		t.Fatalf("no answer was lost (%v) or no look failed (%v): the test tests nothing", lost, looked)
	}
	if after > 0 {
		t.Errorf("the suite made %d acquire_resources calls after it could not see what a lost one did", after)
	}
	var sum bytes.Buffer
	rep.WriteSummary(&sum)
	if !strings.Contains(log, "no more vessels are acquired in this run") || !strings.Contains(sum.String(), "acquires no more") {
		t.Errorf("the run does not say it stopped acquiring:\n%s", sum.String())
	}
}

// TestLenientServer: a server that wrongly accepts acquire_resources
// with an unknown type or a count of 0 must not make the suite exceed
// its budget; a read-only run makes no acquire_resources call with the
// account's credentials at all.
func TestLenientServer(t *testing.T) {
	t.Parallel()
	lenient := func(method string, body []byte) []byte {
		if method != "acquire_resources" {
			return body
		}
		body = bytes.ReplaceAll(body, []byte("<string>bogus</string>"), []byte("<string>random</string>"))
		return bytes.ReplaceAll(body, []byte("<name>number_of_nodes</name><value><int>0</int>"), []byte("<name>number_of_nodes</name><value><int>1</int>"))
	}
	for _, budget := range []int{0, 1, 2} {
		t.Run("budget "+string(rune('0'+budget)), func(t *testing.T) {
			t.Parallel()
			r := newBudgetRig(t, "", budget, 0)
			r.meter.Rewrite = lenient
			rep, log := r.run(t)
			r.verify(t, budget, log)
			_, authentic := r.meter.Calls("acquire_resources")
			if budget == 0 {
				if authentic > 0 {
					t.Errorf("a read-only run made %d acquire_resources calls with the account's credentials", authentic)
				}
				return
			}
			if !strings.Contains(log, "acquired 1 vessel where a fault was required; released it") {
				t.Errorf("the run does not report the vessels a wrong success gave")
			}
			if !rep.Failed() {
				t.Errorf("the run passed against a server that acquires on a bogus rspec")
			}
		})
	}
}

// TestUnlistedAccountAcquiresNothing: when the suite cannot list what an
// account holds before the run, it cannot tell the account's vessels
// from its own, so it acquires none for it, and says why.
func TestUnlistedAccountAcquiresNothing(t *testing.T) {
	t.Parallel()
	r := newBudgetRig(t, "", 2, 1)
	var mu sync.Mutex
	failed := false
	r.meter.Decide = func(c conformancetest.Call) conformancetest.Action {
		mu.Lock()
		defer mu.Unlock()
		if c.Method == "get_resource_info" && !failed {
			failed = true
			return conformancetest.Fail500
		}
		return conformancetest.Pass
	}
	rep, log := r.run(t)
	r.verify(t, 2, log)
	if _, authentic := r.meter.Calls("acquire_resources"); authentic > 0 {
		t.Errorf("the suite made %d acquire_resources calls for an account it could not list", authentic)
	}
	var sum bytes.Buffer
	rep.WriteSummary(&sum)
	if !strings.Contains(sum.String(), "Acquire/Random: not run: listing the vessels erin held before the run failed") {
		t.Errorf("the summary does not say why the acquiring checks did not run:\n%s", sum.String())
	}
}

// TestGreedyServer: a server that hands out 5 vessels for a request of 1
// exceeds the budget for as long as that answer takes; the suite then
// gives them back at once, fails the check, and never adds to them.
func TestGreedyServer(t *testing.T) {
	t.Parallel()
	r := newBudgetRig(t, "", 2, 0)
	r.meter.Rewrite = func(method string, body []byte) []byte {
		if method != "acquire_resources" {
			return body
		}
		return bytes.ReplaceAll(body, []byte("<name>number_of_nodes</name><value><int>1</int>"), []byte("<name>number_of_nodes</name><value><int>5</int>"))
	}
	rep, log := r.run(t)
	if peak := r.meter.Peak(); peak > 5 {
		t.Errorf("the account held %d vessels at once: the suite added to the 5 a greedy answer gave", peak)
	}
	if have := r.holdings(t); len(have) != 0 {
		t.Errorf("after the run the account holds %d vessels", len(have))
	}
	if !strings.Contains(log, "the target handed out 5 vessels, more than the suite asked for") || !rep.Failed() {
		t.Errorf("the run does not fail the greedy acquisitions")
	}
}

// flappingListing is an http.Handler in front of next that leaves one
// vessel out of every second get_resource_info answer, a different one
// each time, as a proxy or a flaky front end might.
type flappingListing struct {
	next http.Handler
	mu   sync.Mutex
	n    int
}

func (f *flappingListing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !bytes.Contains(body, []byte("<methodName>get_resource_info</methodName>")) {
		f.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	var list []any
	if err := xmlrpc.DecodeResponse(bytes.NewReader(rec.Body.Bytes()), &list); err != nil || len(list) == 0 {
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	f.mu.Lock()
	n := f.n
	f.n++
	f.mu.Unlock()
	if n%2 == 1 {
		drop := (n / 2) % len(list)
		list = slices.Delete(list, drop, drop+1)
	}
	w.Header().Set("Content-Type", "text/xml")
	xmlrpc.EncodeResponse(w, list)
}

// TestFlappingListing: a listing that leaves out a different vessel from
// every second answer must neither make the suite release a vessel the
// account held before the run (one missing entry does not make it the
// suite's when it is listed again) nor make it forget one of its own at
// cleanup.
func TestFlappingListing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		spec   string
		budget int
	}{
		{"lossy", "seed=5;acquire_resources:reset_after,p=0.3", 2},
		{"lossless", "", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newBudgetRig(t, c.spec, c.budget, 2)
			r.meter.Next = &flappingListing{next: r.mock}
			_, log := r.run(t)
			r.verify(t, c.budget, log)
		})
	}
}
