package mockserver

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// docProfileJSON is the example of the package documentation (doc.go).
const docProfileJSON = `{
  "seed": 7,
  "rules": [
    {"method": "acquire_resources", "fault": "reset_after", "next": 1},
    {"method": "renew_resources", "fault": "unavailable", "retry_after": "5s", "probability": 0.1},
    {"method": "get_resource_info", "fault": "truncate", "skip": 3, "next": 1},
    {"method": "*", "username": "alice", "latency": "200ms", "jitter": "300ms", "probability": 0.5},
    {"method": "get_resource_info", "drip_bytes": 64, "drip_pause": "50ms"}
  ]
}`

// docProfileSpec is the same profile in the compact form.
const docProfileSpec = "seed=7;acquire_resources:reset_after,next=1;renew_resources:unavailable,retry_after=5s,p=0.1;" +
	"get_resource_info:truncate,skip=3,next=1;*@alice:latency=200ms,jitter=300ms,p=0.5;get_resource_info:drip=64/50ms"

var docProfile = FaultProfile{Seed: 7, Rules: []FaultRule{
	{Method: "acquire_resources", Fault: FaultResetAfter, Next: 1},
	{Method: "renew_resources", Fault: FaultUnavailable, RetryAfter: 5 * time.Second, Probability: 0.1},
	{Method: "get_resource_info", Fault: FaultTruncate, Skip: 3, Next: 1},
	{Method: "*", Username: "alice", Latency: 200 * time.Millisecond, Jitter: 300 * time.Millisecond, Probability: 0.5},
	{Method: "get_resource_info", DripBytes: 64, DripPause: 50 * time.Millisecond},
}}

// TestFaultProfileForms checks that the JSON and the compact form of the
// documented example give the same profile, and that each form writes
// back what it reads.
func TestFaultProfileForms(t *testing.T) {
	t.Parallel()
	var fromJSON FaultProfile
	if err := json.Unmarshal([]byte(docProfileJSON), &fromJSON); err != nil {
		t.Fatal(err)
	}
	fromSpec, err := ParseFaultSpec(docProfileSpec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, docProfile) {
		t.Errorf("from JSON:\nhave %+v\nwant %+v", fromJSON, docProfile)
	}
	if !reflect.DeepEqual(fromSpec, docProfile) {
		t.Errorf("from the spec:\nhave %+v\nwant %+v", fromSpec, docProfile)
	}
	if have := docProfile.String(); have != docProfileSpec {
		t.Errorf("String:\nhave %s\nwant %s", have, docProfileSpec)
	}
	data, err := json.Marshal(docProfile)
	if err != nil {
		t.Fatal(err)
	}
	var again FaultProfile
	if err := json.Unmarshal(data, &again); err != nil || !reflect.DeepEqual(again, docProfile) {
		t.Errorf("JSON round trip: %v\nhave %+v\nfrom %s", err, again, data)
	}
	if _, err := New(WithPopulation(PopulationConfig{}), WithFaults(fromJSON)); err != nil {
		t.Errorf("New with the documented profile: %v", err)
	}
}

func TestParseFaultSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec string
		want FaultProfile
		err  string // part of the error; "" for none
	}{
		{spec: "", want: FaultProfile{}},
		{spec: " ; ", want: FaultProfile{}},
		{spec: "seed=-3", want: FaultProfile{Seed: -3}},
		{spec: "*:reset_before", want: FaultProfile{Rules: []FaultRule{{Method: "*", Fault: FaultResetBefore}}}},
		{spec: " release_resources : reset_after , next=2 ", want: FaultProfile{Rules: []FaultRule{{Method: "release_resources", Fault: FaultResetAfter, Next: 2}}}},
		{spec: "get_account_info:server_error,p=1", want: FaultProfile{Rules: []FaultRule{{Method: "get_account_info", Fault: FaultServerError, Probability: 1}}}},
		{spec: "seed=1;seed=2", err: "want one seed=N"},
		{spec: "seed=x", err: "want one seed=N"},
		{spec: "reset_after", err: "want method:fields"},
		{spec: ":reset_after", err: "no method"},
		{spec: "*:", err: "want a fault kind"},
		{spec: "*:reset_after,truncate", err: "want a fault kind (given once)"},
		{spec: "*:latency", err: "want a fault kind"},
		{spec: "*:latency=fast", err: "latency=fast: not a valid value"},
		{spec: "*:drip=64", err: "want BYTES/DURATION"},
		{spec: "*:drip=x/1s", err: "not a valid value"},
		{spec: "*:reset_after,p=0", err: "p=0 never fires"},
		{spec: "*:reset_after,colour=red", err: `unknown field "colour"`},
		{spec: "no_such_method:reset_after", err: "is not one of the ten"},
		{spec: "*:latency=31s", err: "at most 30s"},
		{spec: "*:latency=20s,jitter=11s", err: "at most 30s"},
		{spec: "*:reset_after,p=0.5,next=1", err: "not both"},
		{spec: "*:reset_after,retry_after=1s", err: "unavailable fault only"},
		{spec: "*:unavailable,retry_after=2h", err: "at most 1h0m0s"},
		{spec: "*:reset_after,p=1.5", err: "between 0 and 1"},
		{spec: "*:reset_after,next=-1", err: "between 0 and"},
		{spec: "*:skip=2", err: "does nothing"},
		{spec: "*@bad name:reset_after", err: "username must be"},
		{spec: "*:drip=0/1s", err: "drip needs both"},
		{spec: "*:latency=-1s", err: "not be negative"},
		{spec: strings.Repeat("*:reset_after;", maxFaultRules+1), err: "at most 64"},
	}
	for _, tc := range tests {
		p, err := ParseFaultSpec(tc.spec)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseFaultSpec(%q): %v", tc.spec, err)
		case tc.err == "" && !reflect.DeepEqual(p, tc.want):
			t.Errorf("ParseFaultSpec(%q):\nhave %+v\nwant %+v", tc.spec, p, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalid)):
			t.Errorf("ParseFaultSpec(%q): have error %v, want one matching ErrInvalid containing %q", tc.spec, err, tc.err)
		case tc.err != "" && !strings.HasPrefix(err.Error(), "mockserver: "):
			t.Errorf("ParseFaultSpec(%q): error %q lacks the package name", tc.spec, err)
		}
		if tc.err == "" {
			if again, err := ParseFaultSpec(p.String()); err != nil || !reflect.DeepEqual(again, p) {
				t.Errorf("ParseFaultSpec(%q).String() = %q reads back as %+v, %v", tc.spec, p.String(), again, err)
			}
		}
	}
}

func TestFaultProfileJSONErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ json, err string }{
		{`{"seed": 1, "rulez": []}`, "unknown field"},
		{`{"rules": [{"method": "*", "fault": "reset_after", "when": "now"}]}`, "unknown field"},
		{`{"rules": [{"method": "*", "latency": 100}]}`, "cannot unmarshal"},
		{`{"rules": [{"method": "*", "latency": "100"}]}`, "latency \"100\": want a Go duration"},
		{`{"rules": [{"method": "*", "fault": "reset_after", "probability": 0}]}`, "probability 0 never fires"},
		{`[]`, "cannot unmarshal"},
		{`{"rules": [{"method": "*", "fault": "explode"}]}`, `rule 1: fault "explode"`},
		{`{"rules": [{"method": "*"}]}`, "does nothing"},
	} {
		var p FaultProfile
		err := json.Unmarshal([]byte(tc.json), &p)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: have %v, want an error containing %q", tc.json, err, tc.err)
		}
	}
	// A profile made in Go is checked when it is used.
	p := FaultProfile{Rules: []FaultRule{{Fault: "explode"}}}
	if _, err := New(WithFaults(p)); err == nil || !strings.Contains(err.Error(), `fault "explode"`) {
		t.Errorf("New(WithFaults(bad)): have %v", err)
	}
	s := newTestServer(t)
	if err := s.SetFaults(p); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetFaults(bad): have %v, want ErrInvalid", err)
	}
}

// TestFaultEngineOrder checks that the first rule that fires decides, that
// a rule that does not fire (or is skipping) lets the call on to the next,
// and that usernames restrict rules.
func TestFaultEngineOrder(t *testing.T) {
	t.Parallel()
	p, err := ParseFaultSpec("acquire_resources@bob:reset_before;acquire_resources:reset_after,next=1;acquire_resources:truncate,skip=1,next=1;*:latency=1ms")
	if err != nil {
		t.Fatal(err)
	}
	e := newFaultEngine(p)
	var have []string
	for _, c := range []struct{ method, user string }{
		{"acquire_resources", "bob"},
		{"acquire_resources", "alice"}, // rule 2 fires; rule 3's skip untouched
		{"acquire_resources", "alice"}, // rule 2 spent; rule 3 skips this one; rule 4
		{"acquire_resources", "alice"}, // rule 3
		{"acquire_resources", "alice"}, // rule 4
		{"get_account_info", "alice"},  // rule 4
	} {
		d := e.decide(c.method, c.user)
		if d == nil {
			have = append(have, "none")
			continue
		}
		have = append(have, d.label())
	}
	want := []string{"reset_before", "reset_after", "latency", "truncate", "latency", "latency"}
	if strings.Join(have, " ") != strings.Join(want, " ") {
		t.Errorf("have %v\nwant %v", have, want)
	}
	st := e.status()
	if want := []uint64{1, 1, 1, 3}; !reflect.DeepEqual(st.Fired, want) {
		t.Errorf("fired %v, want %v", st.Fired, want)
	}
	if st.Injected[FaultLatency] != 3 || st.Injected[FaultTruncate] != 1 {
		t.Errorf("injected %v", st.Injected)
	}
	// Setting the profile again starts its counters afresh, but not the
	// counts since the start.
	e.set(p)
	if d := e.decide("acquire_resources", "alice"); d == nil || d.kind != FaultResetAfter {
		t.Errorf("after set: have %v, want reset_after again", d)
	}
	if st := e.status(); st.Injected[FaultLatency] != 3 || st.Fired[1] != 1 {
		t.Errorf("after set: %+v", st)
	}
}

// TestFaultEngineJitterSeeded checks that jitter stays in [0, Jitter) and
// repeats with the seed.
func TestFaultEngineJitterSeeded(t *testing.T) {
	t.Parallel()
	p, _ := ParseFaultSpec("seed=3;*:latency=10ms,jitter=5ms")
	delays := func() []time.Duration {
		e := newFaultEngine(p)
		var out []time.Duration
		for range 100 {
			d := e.decide("get_account_info", "")
			if d.delay < 10*time.Millisecond || d.delay >= 15*time.Millisecond {
				t.Fatalf("delay %v outside [10ms, 15ms)", d.delay)
			}
			out = append(out, d.delay)
		}
		return out
	}
	a, b := delays(), delays()
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different jitter")
	}
}

func TestSetFaultsAfterClose(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.Close()
	if err := s.SetFaults(FaultProfile{}); !errors.Is(err, ErrClosed) {
		t.Errorf("have %v, want ErrClosed", err)
	}
}

// TestFaultProfileDocExample checks that the examples of the package
// documentation are the profile the tests above use.
func TestFaultProfileDocExample(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	// The indented comment blocks after "In JSON:" and after "writes (one
	// line; items separated by ';'):".
	block := func(after string) string {
		t.Helper()
		_, rest, ok := strings.Cut(string(src), after+"\n//\n")
		if !ok {
			t.Fatalf("doc.go has no %q", after)
		}
		var lines []string
		for line := range strings.Lines(rest) {
			text, ok := strings.CutPrefix(line, "//\t")
			if !ok {
				break
			}
			lines = append(lines, strings.TrimRight(text, "\n"))
		}
		return strings.Join(lines, "\n")
	}
	var p FaultProfile
	if err := json.Unmarshal([]byte(block("In JSON:")), &p); err != nil || !reflect.DeepEqual(p, docProfile) {
		t.Errorf("the JSON example: %v\nhave %+v\nwant %+v", err, p, docProfile)
	}
	if have := strings.ReplaceAll(block("writes (one line; items separated by ';'):"), "\n", ""); have != docProfileSpec {
		t.Errorf("the compact example\nhave %s\nwant %s", have, docProfileSpec)
	}
}
