package mockserver

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// The behaviour report's part for node manager calls
// (docs/nodemanager-api.md §8.8): what an account's signed requests to
// the simulated node managers show. A request is the account's when it
// is signed with the key the clearinghouse set as the vessel's user for
// that account; others (a stranger's key, an unknown vessel) name no
// account and are only counted in NodeManagers.

// nmConduct is one account's record of node manager requests.
type nmConduct struct {
	refused int
	byCall  map[string]int
	reasons map[string]int
	after   int
	vessels []string // handles used after release, at most maxEvidence
}

// nmOf returns the account's record, creating it.
func (w *watch) nmOf(name string) *nmConduct {
	if w.nm == nil {
		w.nm = map[string]*nmConduct{}
	}
	c := w.nm[name]
	if c == nil {
		c = &nmConduct{byCall: map[string]int{}, reasons: map[string]int{}}
		w.nm[name] = c
	}
	return c
}

// requestVessel returns the vessel a signed request names: the second
// "|" field of what precedes its last newline.
func requestVessel(request string) string {
	if i := strings.LastIndexByte(request, '\n'); i >= 0 {
		request = request[:i]
	}
	parts := strings.SplitN(request, "|", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// nmRefusalReasons names the reasons of a refusal by the engine's checks.
func nmRefusalReasons(text string) []string {
	switch {
	case strings.HasPrefix(text, nmproto.TextBadSignaturePrefix):
		return []string{"bad_signature"}
	case strings.HasPrefix(text, nmproto.TextIllegalSequencePrefix):
		return []string{"illegal_sequence"}
	case text == nmproto.TextInsufficientPermissions:
		return []string{"insufficient_permissions"}
	case text == nmproto.TextInternalError:
		return []string{"internal_error"}
	case strings.HasPrefix(text, nmproto.TextSignatureProblemPrefix):
		var out []string
		for _, r := range []struct{ text, name string }{
			{nmproto.ReasonNotDestined, "destination"}, {nmproto.ReasonInvalidSequence, "sequence"},
			{nmproto.ReasonTimestampsOrder, "timestamp"}, {nmproto.ReasonTimestampsMatch, "timestamp"},
		} {
			if strings.Contains(text, r.text) && !slices.Contains(out, r.name) {
				out = append(out, r.name)
			}
		}
		return out
	}
	return nil
}

// nmObserve feeds the report with a signed request that node n decided
// (d) and answered (reply), with the lock held.
func (s *Server) nmObserve(st *state, n int32, request string, d nmproto.Decision, reply nmproto.Reply, now int64) {
	if !d.Call.Signed() {
		return
	}
	v, ok := st.nmFindVessel(n, requestVessel(request))
	if !ok {
		return
	}
	e := st.nm.vessels[v]
	if e == nil || e.holder == noOne || len(e.users) == 0 {
		return
	}
	_, t, ok := nmproto.SplitSigned(request)
	if !ok || !nmproto.SameKey(t.PublicKey, e.users[0]) {
		return
	}
	c := s.watch.nmOf(st.accounts[e.holder].name)
	switch {
	case !d.StoreMetadata:
		c.refused++
		c.byCall[d.Call.Name]++
		for _, r := range nmRefusalReasons(reply.Body) {
			c.reasons[r]++
		}
	case st.vessels[v].owner != e.holder:
		c.after++
		if h := st.handle(v); len(c.vessels) < maxEvidence && !slices.Contains(c.vessels, h) {
			c.vessels = append(c.vessels, h)
		}
	}
}

// nmNames returns the usernames with a node manager record.
func (w *watch) nmNames() []string { return slices.Collect(maps.Keys(w.nm)) }

// nmFindings returns the account's node manager findings.
func (w *watch) nmFindings(name string) []Finding {
	c := w.nm[name]
	if c == nil {
		return nil
	}
	var out []Finding
	if c.refused > 0 {
		reasons := slices.Sorted(maps.Keys(c.reasons))
		out = append(out, Finding{
			Kind: FindingNMRefused, Account: name,
			Message: fmt.Sprintf("had %s refused by node managers before they ran (%s)",
				plural(c.refused, "signed request"), strings.Join(reasons, ", ")),
			Evidence: Evidence{Count: c.refused, Methods: maps.Clone(c.byCall), Reasons: maps.Clone(c.reasons)},
		})
	}
	if c.after > 0 {
		f := Finding{
			Kind: FindingNMAfterRelease, Account: name,
			Message: fmt.Sprintf("made %s to node managers of vessels it had released or let expire (first: %s)",
				plural(c.after, "request"), shortHandle(c.vessels[0])),
			Evidence: Evidence{Count: c.after},
		}
		for _, h := range c.vessels {
			f.Evidence.Vessels = append(f.Evidence.Vessels, VesselEvidence{Handle: h})
		}
		out = append(out, f)
	}
	return out
}
