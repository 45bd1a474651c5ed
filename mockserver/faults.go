package mockserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Injected faults: a fault profile makes the XML-RPC endpoint lie the way
// networks and servers do, per method, reproducibly (see the package
// documentation for the format). This file holds the profile, its
// validation, its two text forms and the engine that decides, call by
// call, what to inject; inject.go applies the decision to the HTTP
// exchange.

// A FaultKind names one effect a fault profile can have on a call. The
// strings are stable: they appear in profiles, logs, the status page,
// GET /admin/state and GET /admin/faults.
type FaultKind string

// The kinds of injected fault. FaultLatency and FaultDrip are the effects
// of a rule's delay fields; the others are the values of FaultRule.Fault.
const (
	// FaultLatency delays the answer by FaultRule.Latency plus a uniform
	// random part of FaultRule.Jitter. The call is applied first.
	FaultLatency FaultKind = "latency"
	// FaultDrip writes the answer FaultRule.DripBytes at a time, pausing
	// FaultRule.DripPause after each piece.
	FaultDrip FaultKind = "drip"
	// FaultResetBefore resets the connection without applying the call:
	// nothing changes.
	FaultResetBefore FaultKind = "reset_before"
	// FaultResetAfter applies the call (durably, with a state file) and
	// then resets the connection instead of answering: the client cannot
	// tell whether anything changed.
	FaultResetAfter FaultKind = "reset_after"
	// FaultUnavailable answers HTTP 503 with a Retry-After header without
	// applying the call.
	FaultUnavailable FaultKind = "unavailable"
	// FaultServerError answers HTTP 500 without applying the call.
	FaultServerError FaultKind = "server_error"
	// FaultTruncate applies the call and sends the answer's headers, with
	// its full Content-Length, but only the first half of its body, then
	// closes the connection.
	FaultTruncate FaultKind = "truncate"
)

// faultKinds lists every kind in the order counts are shown.
var faultKinds = [...]FaultKind{
	FaultLatency, FaultDrip, FaultResetBefore, FaultResetAfter, FaultUnavailable, FaultServerError, FaultTruncate,
}

// Bounds of a fault profile. An injected delay never holds a call longer
// than maxFaultDelay in all: latency and drip pauses together. 30 seconds
// exceeds the timeouts clients usually set, and stays under the one-minute
// write timeout of cmd/mockclearinghouse, so that a delayed answer is
// still delivered whole.
const (
	maxFaultDelay  = 30 * time.Second
	maxRetryAfter  = time.Hour // the largest FaultRule.RetryAfter
	maxFaultRules  = 64        // rules in one profile
	maxFaultCount  = 1_000_000 // the largest Next or Skip
	defaultRetryIn = time.Second
)

// A FaultRule says which calls it affects and how. A call matches a rule
// when its method and username match; of the matching rules, the first
// that fires (see Probability, Next and Skip) is applied, and no other.
type FaultRule struct {
	// Method is one of the ten wire methods, or "*" (or "") for all
	// ten; or "nm:" and a node manager call ("nm:StartVessel"), or "nm:*"
	// for every node manager request (nodemanager-api.md §8.7).
	Method string
	// Username restricts the rule to calls naming this user (in the auth
	// struct, or get_encrypted_api_key's argument); "" for any.
	Username string

	// Fault is what happens to the call: FaultResetBefore,
	// FaultResetAfter, FaultUnavailable, FaultServerError, FaultTruncate,
	// or "" for none beyond the delays below.
	Fault FaultKind
	// Latency delays the answer, and Jitter adds a uniform random delay
	// in [0, Jitter). The call is applied before the wait.
	Latency, Jitter time.Duration
	// DripBytes and DripPause, given together, write the answer (or, for
	// FaultTruncate, the half that is sent) in pieces of DripBytes
	// bytes, pausing DripPause after each.
	DripBytes int
	DripPause time.Duration
	// RetryAfter is the Retry-After header of FaultUnavailable, rounded
	// up to whole seconds; 0 means one second.
	RetryAfter time.Duration

	// Probability is the chance that a matching call fires the rule,
	// drawn from the profile's seeded source; 0 means 1 (every call).
	// Next, if positive, fires the rule for exactly the next Next
	// matching calls and then never; it excludes Probability. Skip lets
	// that many matching calls pass before the rule may fire.
	Probability float64
	Next, Skip  int
}

// A FaultProfile is a list of rules and the seed of the random source
// behind their probabilities and jitter: the same sequence of calls meets
// the same faults. The zero FaultProfile injects nothing.
type FaultProfile struct {
	Seed  int64
	Rules []FaultRule
}

// WithFaults sets the fault profile the XML-RPC endpoint starts with
// (none by default); see Server.SetFaults.
func WithFaults(p FaultProfile) Option {
	return option(func(c *config) error {
		n, err := p.normalized()
		if err != nil {
			return err
		}
		c.faults = n
		return nil
	})
}

// terminal reports whether k is a value FaultRule.Fault may take.
func (k FaultKind) terminal() bool {
	switch k {
	case FaultResetBefore, FaultResetAfter, FaultUnavailable, FaultServerError, FaultTruncate:
		return true
	}
	return false
}

// beforeApply reports whether the call is never applied.
func (k FaultKind) beforeApply() bool {
	return k == FaultResetBefore || k == FaultUnavailable || k == FaultServerError
}

// losesAnswer reports whether the call is applied but its answer never
// reaches the client whole.
func (k FaultKind) losesAnswer() bool { return k == FaultResetAfter || k == FaultTruncate }

// normalized checks the profile and returns a copy in canonical form
// (Method "" becomes "*"), or an error matching ErrInvalid that names the
// rule.
func (p FaultProfile) normalized() (FaultProfile, error) {
	if len(p.Rules) > maxFaultRules {
		return FaultProfile{}, invalidf("fault profile: %d rules, at most %d", len(p.Rules), maxFaultRules)
	}
	out := FaultProfile{Seed: p.Seed}
	if len(p.Rules) > 0 {
		out.Rules = slices.Clone(p.Rules)
	}
	for i := range out.Rules {
		r := &out.Rules[i]
		if r.Method == "" {
			r.Method = "*"
		}
		if err := r.check(); err != nil {
			return FaultProfile{}, invalidf("fault profile: rule %d: %s", i+1, err)
		}
	}
	return out, nil
}

// check explains what is wrong with a rule, or returns nil.
func (r *FaultRule) check() error {
	switch {
	case r.Method != "*" && methods[r.Method].fn == nil && !nmFaultMethod(r.Method):
		return fmt.Errorf("method %q is not one of the ten, nor nm: and a node manager call, nor nm:*", clip(r.Method, 64))
	case isNMMethod(r.Method) && r.Username != "":
		return fmt.Errorf("node manager requests name no username: leave it out of %s rules", r.Method)
	case isNMMethod(r.Method) && (r.Fault == FaultUnavailable || r.Fault == FaultServerError):
		return fmt.Errorf("fault %s is HTTP's: node manager rules take reset_before, reset_after, truncate, latency, jitter and drip", r.Fault)
	case r.Username != "" && !printableName(r.Username):
		return fmt.Errorf("username must be 1 to 64 printable ASCII characters without spaces")
	case r.Fault != "" && !r.Fault.terminal():
		return fmt.Errorf("fault %q: want reset_before, reset_after, unavailable, server_error or truncate", clip(string(r.Fault), 64))
	case r.Latency < 0 || r.Jitter < 0 || r.DripPause < 0 || r.RetryAfter < 0:
		return fmt.Errorf("durations must not be negative")
	case r.Latency > maxFaultDelay || r.Jitter > maxFaultDelay-r.Latency:
		return fmt.Errorf("latency %v plus jitter %v: at most %v", r.Latency, r.Jitter, maxFaultDelay)
	case r.DripBytes < 0:
		return fmt.Errorf("drip bytes %d: must not be negative", r.DripBytes)
	case (r.DripBytes == 0) != (r.DripPause == 0):
		return fmt.Errorf("drip needs both a size in bytes and a pause")
	case r.DripPause > maxFaultDelay:
		return fmt.Errorf("drip pause %v: at most %v", r.DripPause, maxFaultDelay)
	case r.RetryAfter != 0 && r.Fault != FaultUnavailable:
		return fmt.Errorf("retry_after goes with the unavailable fault only")
	case r.RetryAfter > maxRetryAfter:
		return fmt.Errorf("retry_after %v: at most %v", r.RetryAfter, maxRetryAfter)
	case !(r.Probability >= 0 && r.Probability <= 1):
		return fmt.Errorf("probability %v: must be between 0 and 1", r.Probability)
	case r.Next < 0 || r.Next > maxFaultCount || r.Skip < 0 || r.Skip > maxFaultCount:
		return fmt.Errorf("next and skip must be between 0 and %d", maxFaultCount)
	case r.Next > 0 && r.Probability != 0:
		return fmt.Errorf("give next or probability, not both")
	case r.Fault == "" && r.Latency == 0 && r.Jitter == 0 && r.DripBytes == 0:
		return fmt.Errorf("the rule does nothing: give a fault, a latency, a jitter or a drip")
	}
	return nil
}

// matches reports whether a call of method by username is the rule's.
func (r *FaultRule) matches(method, username string) bool {
	nm := isNMMethod(method)
	return (r.Method == method || r.Method == "*" && !nm || r.Method == "nm:*" && nm) &&
		(r.Username == "" || r.Username == username)
}

// The compact form, for a command line:
//
//	seed=7;acquire_resources:reset_after,next=1;*:latency=100ms,jitter=50ms,p=0.5
//
// Items are separated by ';'. "seed=N" sets the seed; every other item is
// a rule: a method (or '*'), optionally "@username", then ':' and
// comma-separated fields: a fault kind, latency=D, jitter=D,
// drip=BYTES/D, retry_after=D, p=F, next=N, skip=N (D a Go duration).

// ParseFaultSpec parses the compact form of a fault profile (see the
// package documentation), such as
// "seed=7;acquire_resources:reset_after,next=1;*:latency=100ms,p=0.5". An
// empty spec is the empty profile. Errors match ErrInvalid.
func ParseFaultSpec(spec string) (FaultProfile, error) {
	var p FaultProfile
	seedSeen := false
	for item := range strings.SplitSeq(spec, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if v, ok := strings.CutPrefix(item, "seed="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || seedSeen {
				return FaultProfile{}, invalidf("fault spec: %q: want one seed=N with N an integer", clip(item, 64))
			}
			p.Seed, seedSeen = n, true
			continue
		}
		r, err := parseRuleSpec(item)
		if err != nil {
			return FaultProfile{}, invalidf("fault spec: rule %d (%q): %s", len(p.Rules)+1, clip(item, 64), err)
		}
		p.Rules = append(p.Rules, r)
	}
	return p.normalized()
}

func parseRuleSpec(item string) (FaultRule, error) {
	var r FaultRule
	target, fields, ok := strings.Cut(item, ":")
	if ok && strings.TrimSpace(target) == "nm" { // nm:Call:fields
		var call string
		call, fields, ok = strings.Cut(fields, ":")
		target = "nm:" + strings.TrimSpace(call)
	}
	if !ok {
		return r, fmt.Errorf("want method:fields")
	}
	r.Method, r.Username, _ = strings.Cut(strings.TrimSpace(target), "@")
	if r.Method == "" {
		return r, fmt.Errorf("no method (use * for all)")
	}
	for f := range strings.SplitSeq(fields, ",") {
		f = strings.TrimSpace(f)
		key, val, hasVal := strings.Cut(f, "=")
		if !hasVal {
			if k := FaultKind(key); k.terminal() && r.Fault == "" {
				r.Fault = k
				continue
			}
			return r, fmt.Errorf("field %q: want a fault kind (given once) or key=value", clip(f, 64))
		}
		var err error
		switch key {
		case "latency":
			r.Latency, err = time.ParseDuration(val)
		case "jitter":
			r.Jitter, err = time.ParseDuration(val)
		case "retry_after":
			r.RetryAfter, err = time.ParseDuration(val)
		case "drip":
			size, pause, ok := strings.Cut(val, "/")
			if !ok {
				return r, fmt.Errorf("drip=%s: want BYTES/DURATION", clip(val, 64))
			}
			if r.DripBytes, err = strconv.Atoi(size); err == nil {
				r.DripPause, err = time.ParseDuration(pause)
			}
		case "p":
			r.Probability, err = strconv.ParseFloat(val, 64)
			if err == nil && r.Probability == 0 {
				return r, fmt.Errorf("p=0 never fires; leave the rule out")
			}
		case "next":
			r.Next, err = strconv.Atoi(val)
		case "skip":
			r.Skip, err = strconv.Atoi(val)
		default:
			return r, fmt.Errorf("unknown field %q", clip(key, 64))
		}
		if err != nil {
			return r, fmt.Errorf("%s=%s: not a valid value", key, clip(val, 64))
		}
	}
	return r, nil
}

// String returns the profile in the compact form ParseFaultSpec reads
// back; the empty profile gives "".
func (p FaultProfile) String() string {
	if p.Seed == 0 && len(p.Rules) == 0 {
		return ""
	}
	items := []string{"seed=" + strconv.FormatInt(p.Seed, 10)}
	for _, r := range p.Rules {
		items = append(items, r.String())
	}
	return strings.Join(items, ";")
}

// String returns the rule in the compact form of ParseFaultSpec.
func (r FaultRule) String() string {
	target := r.Method
	if target == "" {
		target = "*"
	}
	if r.Username != "" {
		target += "@" + r.Username
	}
	var f []string
	if r.Fault != "" {
		f = append(f, string(r.Fault))
	}
	dur := func(k string, d time.Duration) {
		if d != 0 {
			f = append(f, k+"="+d.String())
		}
	}
	dur("latency", r.Latency)
	dur("jitter", r.Jitter)
	if r.DripBytes != 0 || r.DripPause != 0 {
		f = append(f, "drip="+strconv.Itoa(r.DripBytes)+"/"+r.DripPause.String())
	}
	dur("retry_after", r.RetryAfter)
	if r.Probability != 0 {
		f = append(f, "p="+strconv.FormatFloat(r.Probability, 'g', -1, 64))
	}
	if r.Skip != 0 {
		f = append(f, "skip="+strconv.Itoa(r.Skip))
	}
	if r.Next != 0 {
		f = append(f, "next="+strconv.Itoa(r.Next))
	}
	return target + ":" + strings.Join(f, ",")
}

// jsonFaultRule is a rule's JSON form: durations as Go duration strings,
// zero fields left out.
type jsonFaultRule struct {
	Method      string   `json:"method"`
	Username    string   `json:"username,omitempty"`
	Fault       string   `json:"fault,omitempty"`
	Latency     string   `json:"latency,omitempty"`
	Jitter      string   `json:"jitter,omitempty"`
	DripBytes   int      `json:"drip_bytes,omitempty"`
	DripPause   string   `json:"drip_pause,omitempty"`
	RetryAfter  string   `json:"retry_after,omitempty"`
	Probability *float64 `json:"probability,omitempty"`
	Next        int      `json:"next,omitempty"`
	Skip        int      `json:"skip,omitempty"`
}

type jsonFaultProfile struct {
	Seed  int64           `json:"seed"`
	Rules []jsonFaultRule `json:"rules"`
}

// MarshalJSON writes the profile as the package documentation shows:
// {"seed": 7, "rules": [{"method": "acquire_resources", "fault":
// "reset_after", "next": 1}]}, durations as Go duration strings.
func (p FaultProfile) MarshalJSON() ([]byte, error) {
	out := jsonFaultProfile{Seed: p.Seed, Rules: []jsonFaultRule{}}
	for _, r := range p.Rules {
		jr := jsonFaultRule{
			Method: r.Method, Username: r.Username, Fault: string(r.Fault), DripBytes: r.DripBytes,
			Next: r.Next, Skip: r.Skip,
		}
		if jr.Method == "" {
			jr.Method = "*"
		}
		str := func(d time.Duration) string {
			if d == 0 {
				return ""
			}
			return d.String()
		}
		jr.Latency, jr.Jitter, jr.DripPause, jr.RetryAfter = str(r.Latency), str(r.Jitter), str(r.DripPause), str(r.RetryAfter)
		if r.Probability != 0 {
			jr.Probability = &r.Probability
		}
		out.Rules = append(out.Rules, jr)
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads the form MarshalJSON writes and checks the profile
// as SetFaults does. Unknown fields, a duration that is not a Go duration
// string and a probability of 0 (which would never fire) are errors too;
// all match ErrInvalid.
func (p *FaultProfile) UnmarshalJSON(data []byte) error {
	var in jsonFaultProfile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return invalidf("fault profile: %v", err)
	}
	out := FaultProfile{Seed: in.Seed}
	for i, jr := range in.Rules {
		r := FaultRule{
			Method: jr.Method, Username: jr.Username, Fault: FaultKind(jr.Fault), DripBytes: jr.DripBytes,
			Next: jr.Next, Skip: jr.Skip,
		}
		for _, d := range []struct {
			name string
			text string
			dst  *time.Duration
		}{
			{"latency", jr.Latency, &r.Latency}, {"jitter", jr.Jitter, &r.Jitter},
			{"drip_pause", jr.DripPause, &r.DripPause}, {"retry_after", jr.RetryAfter, &r.RetryAfter},
		} {
			if d.text == "" {
				continue
			}
			v, err := time.ParseDuration(d.text)
			if err != nil {
				return invalidf("fault profile: rule %d: %s %q: want a Go duration such as 250ms", i+1, d.name, clip(d.text, 64))
			}
			*d.dst = v
		}
		if jr.Probability != nil {
			if *jr.Probability == 0 {
				return invalidf("fault profile: rule %d: probability 0 never fires; leave the rule out", i+1)
			}
			r.Probability = *jr.Probability
		}
		out.Rules = append(out.Rules, r)
	}
	n, err := out.normalized()
	if err != nil {
		return err
	}
	*p = n
	return nil
}

// FaultStatus is what Server.Faults reports.
type FaultStatus struct {
	// Profile is the profile in force, in canonical form (zero: none).
	Profile FaultProfile
	// Fired counts, per rule of Profile, the calls the rule affected
	// since the profile was set.
	Fired []uint64
	// Injected counts, per kind, the effects injected since the server
	// started (a rule with a latency and a fault counts once for each).
	Injected map[FaultKind]uint64
}

// faultEngine holds the profile in force and decides, call by call, what
// to inject. It has its own mutex: it is the wire layer's, not the
// model's.
type faultEngine struct {
	on atomic.Bool // a profile with rules is in force: the fast path checks it

	mu       sync.Mutex
	profile  FaultProfile
	rules    []ruleState
	rng      *rand.Rand
	stop     chan struct{} // closed when the profile is replaced, or on Close
	injected [len(faultKinds)]uint64
	closed   bool
}

// ruleState is what a rule has used up since its profile was set.
type ruleState struct {
	skip, next int
	fired      uint64
}

// faultDecision is what the engine decided for one call.
type faultDecision struct {
	rule       int // index into the profile's rules
	kind       FaultKind
	delay      time.Duration // latency plus the jitter drawn
	dripBytes  int
	dripPause  time.Duration
	retryAfter time.Duration
	stop       <-chan struct{} // cuts the delays short
}

// kinds lists the decision's effects: latency, drip, then the fault.
func (d *faultDecision) kinds() []FaultKind {
	var out []FaultKind
	if d.delay > 0 {
		out = append(out, FaultLatency)
	}
	if d.dripBytes > 0 && !d.kind.beforeApply() && d.kind != FaultResetAfter {
		out = append(out, FaultDrip)
	}
	if d.kind != "" {
		out = append(out, d.kind)
	}
	return out
}

// label is the kinds joined with '+', as logs and the status page show them.
func (d *faultDecision) label() string {
	var b strings.Builder
	for i, k := range d.kinds() {
		if i > 0 {
			b.WriteByte('+')
		}
		b.WriteString(string(k))
	}
	return b.String()
}

func newFaultEngine(p FaultProfile) *faultEngine {
	e := &faultEngine{}
	e.set(p)
	return e
}

// set puts a checked, normalized profile in force: counters and the
// random source start afresh, and delays under the old profile end now.
func (e *faultEngine) set(p FaultProfile) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if e.stop != nil {
		close(e.stop)
	}
	e.stop = make(chan struct{})
	e.profile = p
	e.rules = make([]ruleState, len(p.Rules))
	for i, r := range p.Rules {
		e.rules[i] = ruleState{skip: r.Skip, next: r.Next}
	}
	e.rng = rand.New(rand.NewPCG(uint64(p.Seed), 0x6661756c7473)) // "faults"
	e.on.Store(len(p.Rules) > 0)
	return nil
}

// close ends every delay in progress and turns injection off for good.
func (e *faultEngine) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	close(e.stop)
	e.on.Store(false)
}

// decide returns what to inject into a call of method by username, or
// nil. Rules are tried in order; a rule whose Skip is not used up counts
// the call down and lets it pass to the next rule; the first rule that
// fires decides. Random draws happen only for rules reached, so the same
// sequence of calls draws the same numbers.
func (e *faultEngine) decide(method, username string) *faultDecision {
	if !e.on.Load() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.profile.Rules {
		r, st := &e.profile.Rules[i], &e.rules[i]
		if !r.matches(method, username) {
			continue
		}
		if st.skip > 0 {
			st.skip--
			continue
		}
		switch {
		case r.Next > 0:
			if st.next == 0 {
				continue
			}
			st.next--
		case r.Probability > 0 && r.Probability < 1:
			if e.rng.Float64() >= r.Probability {
				continue
			}
		}
		st.fired++
		d := &faultDecision{
			rule: i, kind: r.Fault, delay: r.Latency,
			dripBytes: r.DripBytes, dripPause: r.DripPause, retryAfter: r.RetryAfter, stop: e.stop,
		}
		if r.Jitter > 0 {
			d.delay += time.Duration(e.rng.Int64N(int64(r.Jitter)))
		}
		if d.kind == FaultUnavailable && d.retryAfter == 0 {
			d.retryAfter = defaultRetryIn
		}
		for _, k := range d.kinds() {
			e.injected[slices.Index(faultKinds[:], k)]++
		}
		return d
	}
	return nil
}

// status returns a copy of the profile, the rules' counts and the counts
// per kind since the server started, every kind present.
func (e *faultEngine) status() FaultStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := FaultStatus{Profile: e.profile, Injected: make(map[FaultKind]uint64, len(faultKinds))}
	out.Profile.Rules = slices.Clone(e.profile.Rules)
	out.Fired = make([]uint64, len(e.rules))
	for i, st := range e.rules {
		out.Fired[i] = st.fired
	}
	for i, k := range faultKinds {
		out.Injected[k] = e.injected[i]
	}
	return out
}

// SetFaults puts a fault profile in force on the XML-RPC endpoint, in
// place of the one before: rule counters (Next, Skip) and the random
// source start afresh from the profile, and delays injected under the old
// profile end at once. The zero FaultProfile turns injection off. An
// invalid profile is an error matching ErrInvalid and changes nothing.
//
// Faults apply only to calls over HTTP, never to Server.Call, which has no
// connection to reset; they never change what a call does to the state,
// only whether it is applied and how (or whether) its answer arrives.
func (s *Server) SetFaults(p FaultProfile) error {
	n, err := p.normalized()
	if err != nil {
		return err
	}
	return s.faults.set(n)
}

// Faults returns the fault profile in force and what it has injected.
func (s *Server) Faults() FaultStatus { return s.faults.status() }
