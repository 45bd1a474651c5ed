package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// TestCarelessClient is the behaviour report's end-to-end story: the
// command runs as a process with a fault profile, a frozen clock moved
// through /admin/clock, -report-out and -report-strict; a deliberately
// careless client does each thing the report looks for; SIGTERM stops
// the command, which must exit with status 3 and write a report holding
// exactly the six findings the client deserves, each with the evidence of
// what it did.
func TestCarelessClient(t *testing.T) {
	t.Parallel()
	reportPath := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, stderr, done, creds := startProcess(t, time.Minute, "-nodes", "40",
		"-admin", "-time-scale", "0", "-cleanup-delay", "0",
		"-faults-spec", "seed=1;acquire_resources:reset_after,next=1",
		"-report-out", reportPath, "-report-strict")
	cl := &careless{t: t, creds: creds, c: clientFor(t, creds, 0)}
	user := creds.Accounts[0].Username
	t0 := cl.clock()

	// 1. Acquire; the answer is lost (reset after apply); acquire again
	// at once, without looking: duplicate_acquire.
	if _, err := cl.c.AcquireWAN(ctx, 2); !errors.Is(err, clearinghouse.ErrCommunication) {
		t.Fatalf("the first acquisition: have %v, want ErrCommunication", err)
	}
	retried, err := cl.c.AcquireWAN(ctx, 2)
	if err != nil {
		t.Fatalf("the blind retry: %v", err)
	}
	first := cl.holdings(ctx)
	if len(first) != 4 {
		t.Fatalf("holding %d vessels after the retry, want 4", len(first))
	}
	unseen := slices.DeleteFunc(slices.Clone(first), func(h string) bool {
		return slices.Contains(clearinghouse.Handles(retried), clearinghouse.Handle(h))
	})

	// 2. Stay busy while the four leases run out at t0+4h, renewing
	// none: missed_renewal.
	cl.advance("3h30m")
	cl.holdings(ctx)
	cl.advance("50m")
	if len(cl.holdings(ctx)) != 0 {
		t.Fatal("the leases did not run out")
	}
	t1 := t0.Add(4*time.Hour + 20*time.Minute)

	// 3. Acquire one more, renew it in a tight loop (12 renewals, all at
	// t1) and never release it: renewal_storm, and leak.
	kept, err := cl.c.AcquireWAN(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for range 12 {
		if err := cl.c.RenewResources(ctx, clearinghouse.Handles(kept)); err != nil {
			t.Fatal(err)
		}
	}

	// 4. Send a wrong API key five times: auth_failures.
	bad, err := clearinghouse.New(user, clearinghouse.WithURL(creds.URL), clearinghouse.WithAPIKey("not-the-key"))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := bad.GetAccountInfo(ctx); !errors.Is(err, clearinghouse.ErrAuthentication) {
			t.Fatalf("a wrong key: have %v, want ErrAuthentication", err)
		}
	}

	// 5. Send malformed arguments, with a raw XML-RPC client:
	// malformed_arguments.
	raw, err := xmlrpc.NewClient(creds.URL)
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]any{"username": user, "api_key": creds.Accounts[0].APIKey}
	for _, call := range []struct {
		method string
		args   []any
		code   int
	}{
		{"acquire_resources", []any{auth, map[string]any{"rspec_type": "wan", "number_of_nodes": "two"}}, 102},
		{"renew_resources", []any{auth, "not a list"}, 102},
		{"get_resource_info", []any{auth, "an extra argument"}, 100},
	} {
		var f *xmlrpc.Fault
		if err := raw.Call(ctx, call.method, nil, call.args...); !errors.As(err, &f) || f.Code != call.code {
			t.Fatalf("%s%v: have %v, want fault %d", call.method, call.args[1:], err, call.code)
		}
	}

	// The report over HTTP while the command runs, then at shutdown.
	live := cl.report()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-done; exitCode(t, err) != exitFindings {
		t.Fatalf("the command ended with %v, want exit status %d; stderr:\n%s", err, exitFindings, stderr.String())
	}
	data, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("-report-out:\n%s", data)
	var r mockserver.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if !r.Taken.Equal(t1) || !live.Taken.Equal(t1) {
		t.Errorf("report taken at %v (live %v), want %v: the clock is frozen", r.Taken, live.Taken, t1)
	}
	liveKinds, fileKinds := kinds(live), kinds(r)
	want := []string{"leak", "missed_renewal", "renewal_storm", "duplicate_acquire", "auth_failures", "malformed_arguments"}
	if !slices.Equal(fileKinds, want) || !slices.Equal(liveKinds, want) {
		t.Fatalf("findings %v (live %v), want %v", fileKinds, liveKinds, want)
	}
	ev := func(i int) mockserver.Evidence {
		if r.Findings[i].Account != user {
			t.Errorf("%s is against %q, want %q", r.Findings[i].Kind, r.Findings[i].Account, user)
		}
		return r.Findings[i].Evidence
	}
	handles := func(vs []mockserver.VesselEvidence) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Handle)
		}
		slices.Sort(out)
		return out
	}

	// leak: the stormed vessel, acquired at t1, its lease 7 days from t1.
	if e := ev(0); e.Count != 1 || len(e.Vessels) != 1 || e.Vessels[0].Handle != string(kept[0].Handle) ||
		!e.Vessels[0].Acquired.Equal(t1) || !e.Vessels[0].Expires.Equal(t1.Add(7*24*time.Hour)) {
		t.Errorf("leak evidence %+v, want %s acquired at %v, expiring 7 days later", e, kept[0].Handle, t1)
	}
	// missed_renewal: the four vessels of t0, run out at t0+4h.
	e := ev(1)
	if e.Count != 4 || !slices.Equal(handles(e.Vessels), first) {
		t.Errorf("missed_renewal evidence %+v, want the 4 vessels %v", e, first)
	}
	for _, v := range e.Vessels {
		if !v.Acquired.Equal(t0) || !v.Expires.Equal(t0.Add(4*time.Hour)) {
			t.Errorf("missed_renewal of %s: acquired %v, expired %v; want %v and 4 hours later", v.Handle, v.Acquired, v.Expires, t0)
		}
	}
	// renewal_storm: the kept vessel, 12 renewals at t1.
	if e := ev(2); e.Count != 1 || len(e.Vessels) != 1 || e.Vessels[0].Handle != string(kept[0].Handle) ||
		e.Vessels[0].Renewals != 12 || !e.Vessels[0].First.Equal(t1) || !e.Vessels[0].Last.Equal(t1) {
		t.Errorf("renewal_storm evidence %+v, want 12 renewals of %s at %v", e, kept[0].Handle, t1)
	}
	// duplicate_acquire: 4 held against the 2 asked for; the lost
	// answer's 2 marked unseen, then the retry's 2.
	e = ev(3)
	var unseenHave, retriedHave []string
	for _, v := range e.Vessels {
		if v.Unseen {
			unseenHave = append(unseenHave, v.Handle)
		} else {
			retriedHave = append(retriedHave, v.Handle)
		}
	}
	retriedWant := make([]string, 0, len(retried))
	for _, v := range retried {
		retriedWant = append(retriedWant, string(v.Handle))
	}
	slices.Sort(retriedWant)
	if e.Count != 1 || e.Held != 4 || e.Target != 2 || !slices.Equal(unseenHave, unseen) ||
		!slices.Equal(retriedHave, retriedWant) || len(e.Times) != 1 || !e.Times[0].Equal(t0) {
		t.Errorf("duplicate_acquire evidence %+v, want held 4, target 2, unseen %v, retried %v at %v", e, unseen, retriedWant, t0)
	}
	// auth_failures: five faults 101, all get_account_info, at t1.
	if e := ev(4); e.Count != 5 || len(e.Times) != 5 || !e.Times[0].Equal(t1) ||
		len(e.Methods) != 1 || e.Methods["get_account_info"] != 5 {
		t.Errorf("auth_failures evidence %+v, want 5 get_account_info at %v", e, t1)
	}
	// malformed_arguments: one call per method, two faults 102, one 100.
	if e := ev(5); e.Count != 3 || fmt.Sprint(e.Methods) != "map[acquire_resources:1 get_resource_info:1 renew_resources:1]" ||
		fmt.Sprint(e.Codes) != "map[100:1 102:2]" {
		t.Errorf("malformed_arguments evidence %+v, want one call each of 3 methods, codes 102 twice and 100 once", e)
	}

	text := stderr.String()
	for _, want := range []string{
		"(mock clock): 6 findings\n",
		"  leak " + user + ": holds 1 vessel never released",
		"  missed_renewal " + user + ": let 4 leases run out while making calls within 1h0m0s before and after",
		"  renewal_storm " + user + ": renewed a vessel more than 10 times within 1h0m0s, 1 time",
		"  duplicate_acquire " + user + ": acquired 2 vessels at ",
		"  auth_failures " + user + ": failed to authenticate (fault 101) 5 times, 5 of them within 10m0s",
		"  malformed_arguments " + user + ": made 3 calls with malformed arguments (faults 100/102): acquire_resources 1, get_resource_info 1, renew_resources 1\n",
		"mockclearinghouse: -report-strict: the behaviour report has 6 findings\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("stderr lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, creds.Accounts[0].APIKey) || bytes.Contains(data, []byte(creds.Accounts[0].APIKey)) {
		t.Error("the report shows the API key")
	}
}

// careless is the careless client's view of the command: its own client
// and the admin controls.
type careless struct {
	t     *testing.T
	creds credsfile.File
	c     *clearinghouse.Client
}

// admin sends an admin request and decodes the JSON reply into out.
func (cl *careless) admin(method, path, body string, out any) {
	cl.t.Helper()
	req, err := http.NewRequest(method, cl.creds.AdminURL+path, strings.NewReader(body))
	if err != nil {
		cl.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cl.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		cl.t.Fatalf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		cl.t.Fatalf("%s %s: %v", method, path, err)
	}
}

// clock returns the mock clock.
func (cl *careless) clock() time.Time {
	cl.t.Helper()
	var c struct{ Now time.Time }
	cl.admin("GET", "clock", "", &c)
	return c.Now
}

// advance moves the mock clock by d (a Go duration).
func (cl *careless) advance(d string) {
	cl.t.Helper()
	var c struct{ Now time.Time }
	cl.admin("POST", "clock", `{"advance": "`+d+`"}`, &c)
}

// report returns the behaviour report from GET /admin/report.
func (cl *careless) report() mockserver.Report {
	cl.t.Helper()
	var r mockserver.Report
	cl.admin("GET", "report", "", &r)
	return r
}

// holdings returns the handles the account holds, sorted.
func (cl *careless) holdings(ctx context.Context) []string {
	cl.t.Helper()
	vs, err := cl.c.GetResourceInfo(ctx)
	if err != nil {
		cl.t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, string(v.Handle))
	}
	slices.Sort(out)
	return out
}

func kinds(r mockserver.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, string(f.Kind))
	}
	return out
}
