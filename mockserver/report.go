package mockserver

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A FindingKind names one kind of client misbehaviour the report finds.
// The strings are stable.
type FindingKind string

// The kinds of finding, in the order a report lists them for an account.
// Times are the mock clock's.
const (
	// FindingLeak: the account holds vessels when the report is taken —
	// acquired and never released. Evidence: Count vessels held, and
	// Vessels with their handle, acquisition and expiry.
	FindingLeak FindingKind = "leak"
	// FindingMissedRenewal: a lease of the account ran out (it was
	// neither renewed nor released) while the account was otherwise
	// active: it made an authenticated call within an hour before the
	// lease ended and another within an hour after. Evidence: Count lapses, and Vessels with their handle,
	// acquisition (if seen) and expiry.
	FindingMissedRenewal FindingKind = "missed_renewal"
	// FindingRenewalStorm: the account renewed one vessel more than 10
	// times within an hour, where a renewal lasts RenewLease. Evidence: Count bursts, and Vessels with their handle,
	// the renewals in the burst and its first and last renewal.
	FindingRenewalStorm FindingKind = "renewal_storm"
	// FindingDuplicateAcquire: an acquisition by the account was applied
	// but its answer never delivered, lost to an injected reset_after or
	// truncate, or to the client itself, which closed the connection
	// (its timeout, say) during an injected latency or drip (so the
	// account never saw those vessels), and before it looked at its
	// holdings (get_resource_info answered in full) or gave those vessels
	// up, it acquired more in another call (one sent before the mock
	// learnt that the client had gone counts too). It then held more than its
	// calls asked for: Evidence.Held vessels against Evidence.Target, its
	// holding without the unseen ones. Vessels lists the unseen ones
	// (Unseen true) and those of the later acquisition; Count counts such
	// acquisitions.
	FindingDuplicateAcquire FindingKind = "duplicate_acquire"
	// FindingAuthFailures: 5 or more faults 101 for one username within
	// 10 minutes. The account is the username
	// the calls named, which may not exist. Evidence: Count faults 101 in
	// all, Times of the first such burst, Methods the faults per method.
	FindingAuthFailures FindingKind = "auth_failures"
	// FindingMalformedArguments: calls refused for their arguments:
	// fault 102, or fault 100 for a wrong number of parameters or a
	// credential or handle that is no string. Evidence: Count calls,
	// Methods per method, Codes per fault code.
	FindingMalformedArguments FindingKind = "malformed_arguments"
	// FindingNMRefused: node managers refused signed requests of the
	// account before running them: a bad or expired signature, a
	// timestamp not above the vessel's last, a wrong destination or
	// sequence, a key not allowed, a malformed request
	// (docs/nodemanager-api.md §8.8). Evidence: Count requests, Methods
	// per call, Reasons per reason (bad_signature, illegal_sequence,
	// timestamp, sequence, destination, insufficient_permissions,
	// internal_error).
	FindingNMRefused FindingKind = "nm_refused"
	// FindingNMAfterRelease: the account used a vessel's node manager
	// after it released the vessel or let its lease run out, before the
	// cleanup took its key away (the node accepted, as the original
	// would). Evidence: Count requests, Vessels with their handle.
	FindingNMAfterRelease FindingKind = "nm_after_release"
)

// A Report is what the mock saw clients do wrong, per account. It holds
// no secret.
type Report struct {
	Taken    time.Time `json:"taken"` // the mock clock when the report was taken
	Findings []Finding `json:"findings"`
	// Untracked counts events of tracked usernames that the report could
	// not keep because one of its bounds was reached (about a million
	// per-vessel records, 1 000 leases per account waiting to be judged
	// missed renewals): when it is not 0 the report may miss findings.
	Untracked int `json:"untracked"`
	// UnknownNamesDropped is about how many usernames that are no
	// account the report did not track at all, because it already kept
	// MaxUnknownNames of them: when it is not 0, auth_failures and
	// malformed_arguments findings for unknown names may be missing.
	// Accounts, those created later included, are always tracked. It is
	// an estimate made in fixed memory: within about 1% up to several
	// million names.
	UnknownNamesDropped int `json:"unknown_names_dropped"`
}

// MaxUnknownNames is how many usernames that are no account the behaviour
// report tracks; calls naming further unknown names are counted in
// Report.UnknownNamesDropped, not kept. Accounts are always tracked.
const MaxUnknownNames = 10_000

// A Finding is one kind of misbehaviour of one account.
type Finding struct {
	Kind     FindingKind `json:"kind"`
	Account  string      `json:"account"` // the username ("" for calls that named none)
	Message  string      `json:"message"` // one line for a person
	Evidence Evidence    `json:"evidence"`
}

// Evidence backs a finding; which fields are set depends on the kind (see
// the FindingKind constants). Lists hold at most 20 items; Count is the
// whole number.
type Evidence struct {
	Count   int              `json:"count"`
	Vessels []VesselEvidence `json:"vessels,omitempty"`
	Times   []time.Time      `json:"times,omitempty"`
	Methods map[string]int   `json:"methods,omitempty"`
	Codes   map[int]int      `json:"codes,omitempty"`
	Held    int              `json:"held,omitempty"`
	Target  int              `json:"target,omitempty"`
	// Reasons counts node manager refusals by reason (FindingNMRefused).
	Reasons map[string]int `json:"reasons,omitempty"`
}

// VesselEvidence is one vessel in a finding's evidence.
type VesselEvidence struct {
	Handle string `json:"handle"`
	// Acquired is when the account acquired the vessel, as far as this
	// process saw; for a vessel acquired before a restart from a state
	// file, the start of its current lease.
	Acquired time.Time `json:"acquired,omitzero"`
	Expires  time.Time `json:"expires,omitzero"` // when the lease runs out, or ran out
	Renewals int       `json:"renewals,omitempty"`
	First    time.Time `json:"first,omitzero"` // a renewal storm's first renewal
	Last     time.Time `json:"last,omitzero"`  // and its last
	Unseen   bool      `json:"unseen,omitempty"`
}

// Report returns the behaviour report: for every account (and every
// username that failed to authenticate), what it did wrong, from what the
// mock has seen since it started or was Reset. Calls over HTTP and through
// Call count alike. Time passes first, as for every call, so leases that
// have run out are seen as such. After Close it fails with ErrClosed.
func (s *Server) Report() (Report, error) {
	var out Report
	err := s.update(func(st *state, now int64) error {
		out = s.watch.report(st, now)
		return nil
	})
	return out, err
}

// report builds the findings at now from the watch and, for leaks, the
// state.
func (w *watch) report(st *state, now int64) Report {
	out := Report{Taken: toTime(now), Findings: []Finding{}, Untracked: w.untracked, UnknownNamesDropped: w.dropped.estimate()}
	names := slices.Collect(maps.Keys(w.accounts))
	for _, a := range st.accounts {
		if _, ok := w.accounts[a.name]; !ok && len(a.held) > 0 {
			names = append(names, a.name)
		}
	}
	names = append(names, w.nmNames()...)
	slices.Sort(names)
	names = slices.Compact(names)
	for _, name := range names {
		c := w.accounts[name]
		if i, ok := st.byName[name]; ok && len(st.accounts[i].held) > 0 {
			out.Findings = append(out.Findings, leakFinding(st, i, c))
		}
		if c != nil {
			out.Findings = append(out.Findings, c.findings(name)...)
		}
		out.Findings = append(out.Findings, w.nmFindings(name)...)
	}
	return out
}

func leakFinding(st *state, a int32, c *conduct) Finding {
	acct := st.accounts[a]
	held := st.heldSorted(a)
	f := Finding{Kind: FindingLeak, Account: acct.name, Evidence: Evidence{Count: len(held)}}
	for _, v := range held[:min(len(held), maxEvidence)] {
		ves := &st.vessels[v]
		acquired, _ := ves.leaseStart()
		if c != nil {
			if at, ok := c.acquired[v]; ok {
				acquired = at
			}
		}
		f.Evidence.Vessels = append(f.Evidence.Vessels, VesselEvidence{
			Handle: st.handle(v), Acquired: toTime(acquired), Expires: toTime(ves.expires),
		})
	}
	f.Message = fmt.Sprintf("holds %s never released (the first runs out at %s)",
		plural(len(held), "vessel"), stamp(st.vessels[st.soonestHeld(acct, 1)[0]].expires))
	return f
}

// findings returns the account's findings other than leaks.
func (c *conduct) findings(name string) []Finding {
	var out []Finding
	if c.nMissed > 0 {
		f := Finding{Kind: FindingMissedRenewal, Account: name, Evidence: Evidence{Count: c.nMissed}}
		for _, l := range c.missed {
			f.Evidence.Vessels = append(f.Evidence.Vessels, VesselEvidence{
				Handle: l.handle, Acquired: toTime(l.acquired), Expires: toTime(l.expired),
			})
		}
		f.Message = fmt.Sprintf("let %s run out while making calls within %v before and after (first: %s at %s)",
			plural(c.nMissed, "lease"), missedRenewalWindow, shortHandle(c.missed[0].handle), stamp(c.missed[0].expired))
		out = append(out, f)
	}
	if c.nStorms > 0 {
		f := Finding{Kind: FindingRenewalStorm, Account: name, Evidence: Evidence{Count: c.nStorms}}
		for _, s := range c.storms {
			f.Evidence.Vessels = append(f.Evidence.Vessels, VesselEvidence{
				Handle: s.handle, Renewals: s.renewals, First: toTime(s.first), Last: toTime(s.last),
			})
		}
		s := c.storms[0]
		f.Message = fmt.Sprintf("renewed a vessel more than %d times within %v, %s (first: %s, %d renewals from %s to %s)",
			stormRenewals, stormWindow, plural(c.nStorms, "time"), shortHandle(s.handle), s.renewals, stamp(s.first), stamp(s.last))
		out = append(out, f)
	}
	if c.nDups > 0 {
		d := c.dups[0]
		f := Finding{Kind: FindingDuplicateAcquire, Account: name, Evidence: Evidence{
			Count: c.nDups, Held: d.held, Target: d.held - len(d.unseen),
		}}
		for _, h := range d.unseen {
			f.Evidence.Vessels = append(f.Evidence.Vessels, VesselEvidence{Handle: h, Unseen: true})
		}
		for _, h := range d.retried {
			f.Evidence.Vessels = append(f.Evidence.Vessels, VesselEvidence{Handle: h})
		}
		f.Evidence.Vessels = f.Evidence.Vessels[:min(len(f.Evidence.Vessels), maxEvidence)]
		f.Evidence.Times = []time.Time{toTime(d.at)}
		f.Message = fmt.Sprintf("acquired %s at %s while still holding %s from an acquire whose answer was lost: held %d, its calls asked for %d",
			plural(len(d.retried), "vessel"), stamp(d.at), plural(len(d.unseen), "vessel"), f.Evidence.Held, f.Evidence.Target)
		if c.nDups > 1 {
			f.Message += fmt.Sprintf(" (%d such acquisitions)", c.nDups)
		}
		out = append(out, f)
	}
	if c.burst != nil {
		f := Finding{Kind: FindingAuthFailures, Account: name, Evidence: Evidence{
			Count: c.nAuth, Methods: maps.Clone(c.authBy),
		}}
		for _, t := range c.burst {
			f.Evidence.Times = append(f.Evidence.Times, toTime(t))
		}
		f.Message = fmt.Sprintf("failed to authenticate (fault 101) %s, %d of them within %v from %s",
			plural(c.nAuth, "time"), authFailureThreshold, authFailureWindow, stamp(c.burst[0]))
		out = append(out, f)
	}
	if c.nBadArgs > 0 {
		f := Finding{Kind: FindingMalformedArguments, Account: name, Evidence: Evidence{
			Count: c.nBadArgs, Methods: maps.Clone(c.badArgs), Codes: maps.Clone(c.badCodes),
		}}
		var per []string
		for _, m := range slices.Sorted(maps.Keys(c.badArgs)) {
			per = append(per, m+" "+strconv.Itoa(c.badArgs[m]))
		}
		f.Message = fmt.Sprintf("made %s with malformed arguments (faults 100/102): %s",
			plural(c.nBadArgs, "call"), strings.Join(per, ", "))
		out = append(out, f)
	}
	return out
}

// WriteText writes the report for a person: a line per finding, then its
// evidence, with node ids shortened as on the status page (the JSON form
// has them whole).
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Behaviour report at %s (mock clock): %s\n", r.Taken.Format(time.RFC3339), plural(len(r.Findings), "finding"))
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  %s %s: %s\n", f.Kind, f.accountLabel(), f.Message)
		for _, v := range f.Evidence.Vessels {
			b.WriteString("      " + shortHandle(v.Handle))
			for _, part := range []struct {
				name string
				t    time.Time
			}{{"acquired", v.Acquired}, {"expires", v.Expires}, {"first", v.First}, {"last", v.Last}} {
				if !part.t.IsZero() {
					b.WriteString("  " + part.name + " " + part.t.Format(time.RFC3339))
				}
			}
			if v.Renewals > 0 {
				b.WriteString("  renewals " + strconv.Itoa(v.Renewals))
			}
			if v.Unseen {
				b.WriteString("  (answer lost)")
			}
			b.WriteByte('\n')
		}
		if n := f.Evidence.Count - len(f.Evidence.Vessels); f.Kind == FindingLeak && n > 0 {
			fmt.Fprintf(&b, "      and %d more\n", n)
		}
	}
	for _, g := range r.gaps() {
		b.WriteString("  (" + g + ")\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// gaps says, a sentence each, what the report could not track and so may
// miss: the text form and the status page show them.
func (r Report) gaps() []string {
	var out []string
	if r.UnknownNamesDropped > 0 {
		out = append(out, fmt.Sprintf("about %s that are no account were not tracked, beyond the %d the report keeps: "+
			"findings for unknown usernames may be missing; accounts are always tracked",
			plural(r.UnknownNamesDropped, "username"), MaxUnknownNames))
	}
	if r.Untracked > 0 {
		were := "events were"
		if r.Untracked == 1 {
			were = "event was"
		}
		out = append(out, fmt.Sprintf("%d %s not tracked: a bound was reached, so findings may be missing", r.Untracked, were))
	}
	return out
}

// accountLabel is the finding's account as a person reads it: calls that
// named no username (or none the log could show) are "(no username)".
func (f Finding) accountLabel() string {
	if f.Account == "" {
		return "(no username)"
	}
	return f.Account
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func stamp(ns int64) string { return toTime(ns).Format(time.RFC3339) }

// shortHandle shortens the node id of a handle for a person to read, as
// the status page does.
func shortHandle(h string) string {
	i := strings.LastIndexByte(h, ':')
	if i < 0 {
		return clip(h, clipNodeID)
	}
	return clip(h[:i], clipNodeID) + h[i:]
}
