package conformance

import (
	"fmt"
	"math"
	"time"
)

// Faults: malformed arguments of the vessel methods (contract §5.1-§5.4,
// the handle table of §5.11). None of these calls can acquire a vessel
// on a conforming server. A lenient server might turn any
// acquire_resources call into an acquisition, so the rspec checks need a
// vessel of budget (their calls are made one at a time, and whatever a
// wrong success gives is released at once); the handle lists name no
// vessel the server has, so the handle checks need none.
func faultChecks() []check {
	return []check{
		{"RSpecNotStruct", rspecNeeds, checkRSpecNotStruct},
		{"RSpecMissing", rspecNeeds, checkRSpecMissing},
		{"RSpecTypes", rspecNeeds, checkRSpecTypes},
		{"RSpecCountTypes", rspecNeeds, checkRSpecCountTypes},
		{"RSpecValues", rspecNeeds, checkRSpecValues},
		{"RSpecTypeNames", rspecNeeds, checkRSpecTypeNames},
		{"RSpecHugeCount", needs{controls: true, isolated: true, vessels: 1, expectsFaults: true}, checkRSpecHugeCount},
		{"HandleListNotArray", needs{}, checkHandleListNotArray},
		{"HandleElementTypes", needs{}, checkHandleElementTypes},
		{"HandleTypesBeforeFormat", needs{}, checkHandleTypesBeforeFormat},
		{"HandleNonASCII", needs{}, checkHandleNonASCII},
		{"HandleFormat", needs{}, checkHandleFormat},
		{"HandleEmptyList", needs{}, checkHandleEmptyList},
		{"HandleUnknownVessel", needs{}, checkHandleUnknownVessel},
	}
}

// rspecNeeds are the needs of a check of rspec faults.
var rspecNeeds = needs{vessels: 1, expectsFaults: true}

// rspecCase is an acquire_resources argument and its fault. mayTake is
// how many vessels a server that wrongly accepted it could hand out
// beyond what the rspec asks for (see rspecCount).
type rspecCase struct {
	what    string
	rspec   any
	want    string
	mayTake int
}

func (s *session) rspecFaults(t T, cases []rspecCase) {
	t.Helper()
	a := s.main()
	for _, c := range cases {
		err := s.acquireFault(t, a, c.rspec, c.mayTake)
		s.wantFault(t, c.what, err, 102, c.want)
	}
}

func rs(typ, count any) map[string]any {
	return map[string]any{"rspec_type": typ, "number_of_nodes": count}
}

func checkRSpecNotStruct(t T, s *session) {
	var cases []rspecCase
	for _, c := range append(pyValues, struct {
		name string
		v    any
		text string
	}{"str", "wan", ""}) {
		if c.name == "struct" {
			continue
		}
		cases = append(cases, rspecCase{c.name, c.v, msgRSpecType, 0})
	}
	s.rspecFaults(t, cases)
}

func checkRSpecMissing(t T, s *session) {
	s.rspecFaults(t, []rspecCase{
		{"empty", map[string]any{}, msgRSpecNoType, 0},
		// §13's example asks for 10; 1 keeps the request within any budget.
		{"only number_of_nodes", map[string]any{"number_of_nodes": int64(1)}, msgRSpecNoType, 0},
		{"bad keys", map[string]any{"bad": "keys"}, msgRSpecNoType, 0},
		{"keys in another case", map[string]any{"RSPEC_TYPE": "wan", "Number_Of_Nodes": int64(1)}, msgRSpecNoType, 0},
		{"only rspec_type", map[string]any{"rspec_type": "wan"}, msgRSpecNoCount, 0},
		{"missing count before bad type", map[string]any{"rspec_type": int64(5)}, msgRSpecNoCount, 0},
	})
}

// checkRSpecTypes: rspec_type must be a str and number_of_nodes an int
// (§5.1 step 4, §1.1), checked before the values.
func checkRSpecTypes(t T, s *session) {
	s.rspecFaults(t, []rspecCase{
		{"§13 {42, 'a string'}", rs(int64(42), "a string"), msgRSpecTypes, 0},
		{"int type", rs(int64(1), int64(1)), msgRSpecTypes, 0},
		{"non-ASCII type", rs("wän", int64(1)), msgRSpecTypes, 0},
		{"array type", rs([]any{"wan"}, int64(1)), msgRSpecTypes, 0},
		{"struct type", rs(map[string]any{"wan": "wan"}, int64(1)), msgRSpecTypes, 0},
		{"nil type", rs(nil, int64(1)), msgRSpecTypes, 0},
		{"nil count", rs("wan", nil), msgRSpecTypes, 0},
		{"array count", rs("wan", []any{int64(1)}), msgRSpecTypes, 0},
		{"dateTime count", rs("wan", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), msgRSpecTypes, 0},
		{"base64 count", rs("wan", []byte{1}), msgRSpecTypes, 0},
		{"types before values", rs("wtf", 1.5), msgRSpecTypes, 0},
		{"negative double", rs("wan", -2.0), msgRSpecTypes, 0},
	})
}

// checkRSpecCountTypes: a <double> or string count fails the type check
// (faithful quirk §5.1 step 4), even when it names a whole number.
func checkRSpecCountTypes(t T, s *session) {
	s.rspecFaults(t, []rspecCase{
		{"double count 1.0", rs("random", 1.0), msgRSpecTypes, 1},
		{"string count '1'", rs("random", "1"), msgRSpecTypes, 1},
	})
}

func checkRSpecValues(t T, s *session) {
	s.rspecFaults(t, []rspecCase{
		{"§13 {random, -10}", rs("random", int64(-10)), msgRSpecValues, 0},
		{"§13 {wtf, 1}", rs("wtf", int64(1)), msgRSpecValues, 0},
		{"§13 {'', 0}", rs("", int64(0)), msgRSpecValues, 0},
		{"lan 0", rs("lan", int64(0)), msgRSpecValues, 0},
		{"nat -1", rs("nat", int64(-1)), msgRSpecValues, 0},
		{"wan minimum int", rs("wan", int64(math.MinInt32)), msgRSpecValues, 0},
		{"boolean false count", rs("random", false), msgRSpecValues, 0},
	})
}

// checkRSpecTypeNames: only the exact four names pass; "rand", the
// internal name, is rejected on the wire (§5.1 step 5).
func checkRSpecTypeNames(t T, s *session) {
	s.rspecFaults(t, []rspecCase{
		{"rand", rs("rand", int64(1)), msgRSpecValues, 1},
		{"WAN", rs("WAN", int64(1)), msgRSpecValues, 1},
		{"Random", rs("Random", int64(1)), msgRSpecValues, 1},
		{"' lan'", rs(" lan", int64(1)), msgRSpecValues, 1},
		{"'nat '", rs("nat ", int64(1)), msgRSpecValues, 1},
	})
}

// checkRSpecHugeCount: there is no bound but credits, so huge counts end
// in 103 (§5.1). The suite never asks for more vessels than its budget
// allows, so these requests are made only where nothing can be handed
// out whatever the server does with the count: against a mock with
// Controls, with every node deactivated (isolate). Each call then claims
// a single vessel of budget, like any acquire_resources call.
func checkRSpecHugeCount(t T, s *session) {
	a := s.main()
	s.isolate(t)
	for what, n := range map[string]int64{"2^31-1": math.MaxInt32, "2^40 as <i8>": 1 << 40} {
		_, err := s.acquiring(t, "acquire_resources", []any{s.auth(a), rs("random", n)}, 1, true)
		s.wantFault(t, what, err, 103, msgNotEnough)
	}
}

// handleMethods are the three methods that take a handle list.
var handleMethods = []string{"acquire_specific_vessels", "release_resources", "renew_resources"}

// handleCall calls one of the handle methods for the main account. The
// lists here name no vessel that exists, so nothing can be acquired.
func (s *session) handleCall(t T, method string, list any) error {
	t.Helper()
	var err error
	if method == "acquire_specific_vessels" {
		err = s.specificFault(t, s.main(), list, 0)
	} else {
		_, err = s.call(t, method, s.auth(s.main()), list)
	}
	return err
}

func checkHandleListNotArray(t T, s *session) {
	for _, m := range handleMethods {
		for _, c := range append(pyValues, struct {
			name string
			v    any
			text string
		}{"str", "node:v2", ""}) {
			if c.name == "array" {
				continue
			}
			s.wantFault(t, m+" with "+c.name, s.handleCall(t, m, c.v), 102, msgBadList)
		}
	}
}

// checkHandleElementTypes: a handle that is not a string gives 100 for
// acquire_specific_vessels and release_resources, 102 naming its type for
// renew_resources (§5.11).
func checkHandleElementTypes(t T, s *session) {
	for _, c := range pyValues {
		if c.name == "unicode" {
			continue
		}
		list := []any{c.v}
		for _, m := range handleMethods[:2] {
			s.wantFault(t, m+" with a "+c.name+" handle", s.handleCall(t, m, list), 100, msgInternal)
		}
		s.wantFault(t, "renew_resources with a "+c.name+" handle", s.handleCall(t, "renew_resources", list), 102, msgBadHandleType+c.text)
	}
}

// checkHandleTypesBeforeFormat: the whole list is type-checked before any
// handle is looked at, and in renew the first offender names the type.
func checkHandleTypesBeforeFormat(t T, s *session) {
	bad := []any{"nocolon", int64(5)}
	for _, m := range handleMethods[:2] {
		s.wantFault(t, m, s.handleCall(t, m, bad), 100, msgInternal)
	}
	s.wantFault(t, "renew_resources", s.handleCall(t, "renew_resources", bad), 102, msgBadHandleType+"<type 'int'>")
	s.wantFault(t, "renew_resources, first offender a double", s.handleCall(t, "renew_resources", []any{"a:v2", 2.5, int64(7)}), 102, msgBadHandleType+"<type 'float'>")
	s.wantFault(t, "renew_resources, first offender unicode", s.handleCall(t, "renew_resources", []any{"ñ:v2", int64(7)}), 102, msgBadHandleType+"<type 'unicode'>")
}

// checkHandleNonASCII: a non-ASCII handle is a handle for acquire and
// release, a wrong type for renew (§5.11).
func checkHandleNonASCII(t T, s *session) {
	h := "nödé-" + s.runID + ":v2"
	for _, m := range handleMethods[:2] {
		s.wantFault(t, m, s.handleCall(t, m, []any{h}), 102, noVesselMsg(h))
		s.wantFault(t, m+" without a colon", s.handleCall(t, m, []any{"ñ"}), 102, msgBadHandle+"ñ")
	}
	s.wantFault(t, "renew_resources", s.handleCall(t, "renew_resources", []any{h}), 102, msgBadHandleType+"<type 'unicode'>")
}

func checkHandleFormat(t T, s *session) {
	unknown := "conformance-no-such-node-" + s.runID + ":v2"
	cases := []struct {
		what string
		list []any
		want string
	}{
		{"no colon", []any{"nocolon"}, msgBadHandle + "nocolon"},
		{"two colons", []any{"a:b:c"}, msgBadHandle + "a:b:c"},
		{"empty string", []any{""}, msgBadHandle},
		{"only colons", []any{"::"}, msgBadHandle + "::"},
		{"only a colon", []any{":"}, noVesselMsg(":")},
		{"unknown node", []any{unknown}, noVesselMsg(unknown)},
		{"first bad handle decides (unknown)", []any{unknown, "nocolon"}, noVesselMsg(unknown)},
		{"first bad handle decides (format)", []any{"nocolon", unknown}, msgBadHandle + "nocolon"},
		{"duplicates", []any{"nocolon", "nocolon"}, msgBadHandle + "nocolon"},
	}
	for _, m := range handleMethods {
		for _, c := range cases {
			s.wantFault(t, fmt.Sprintf("%s %s", m, c.what), s.handleCall(t, m, c.list), 102, c.want)
		}
	}
}

func checkHandleEmptyList(t T, s *session) {
	for _, m := range handleMethods {
		s.wantFault(t, m, s.handleCall(t, m, []any{}), 102, msgEmptyList)
	}
}

// checkHandleUnknownVessel: a known node with a vessel name it lacks,
// including the extra vessel v1, is an unknown handle (§4, §5.11).
func checkHandleUnknownVessel(t T, s *session) {
	node := s.someNodeID(t)
	for _, m := range handleMethods {
		for _, v := range []string{"v1", "v0", "v99999", ""} {
			h := node + ":" + v
			s.wantFault(t, m+" "+v, s.handleCall(t, m, []any{h}), 102, noVesselMsg(h))
		}
	}
}

// someNodeID returns the id of a node that exists: from Controls, from a
// vessel the main account holds, or from a vessel acquired for the
// purpose (when the budget allows).
func (s *session) someNodeID(t T) string {
	t.Helper()
	if c := s.controls(); c != nil {
		nodes, err := c.Nodes(s.ctx(t))
		s.must(t, "Nodes", err)
		if len(nodes) > 0 {
			return nodes[0].ID
		}
	}
	if held := s.holding(t, s.main()); len(held) > 0 {
		return held[0].NodeID
	}
	if s.budget-s.heldCount() < 1 {
		s.skipf(t, "needs a known node id: Controls, a held vessel, or a budget of 1 vessel (%s)", EnvAllowAcquire)
	}
	return s.acquireN(t, s.main(), "random", 1)[0].NodeID
}
