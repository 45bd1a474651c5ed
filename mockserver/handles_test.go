package mockserver

import (
	"testing"
	"time"
)

// TestHandleTable checks every row of contract §5.11 for the three
// methods that take handle lists.
func TestHandleTable(t *testing.T) {
	t.Parallel()
	const (
		acq = "acquire_specific_vessels"
		rel = "release_resources"
		ren = "renew_resources"
	)
	type world struct {
		f               *fixture
		mine, theirs    string // held by alice, by bob
		free, expired   string // never taken; alice's, expired
		extra, noNode   string // the extra vessel; an unknown node
		aliceExpiryBase time.Time
	}
	setup := func(t *testing.T) *world {
		f := newFixture(t)
		w := &world{f: f}
		mustCall(t, f.s, "acquire_specific_vessels", auth(f.alice), []any{f.wan[3] + ":v2"})
		f.s.Advance(AcquireLease - time.Hour) // alice's first vessel expires an hour from now
		w.mine = f.wan[0] + ":v2"
		mustCall(t, f.s, "acquire_specific_vessels", auth(f.alice), []any{w.mine})
		w.theirs = f.wan[1] + ":v2"
		mustCall(t, f.s, "acquire_specific_vessels", auth(f.bob), []any{w.theirs})
		f.s.Advance(time.Hour) // wan3:v2 expires
		w.expired = f.wan[3] + ":v2"
		w.free = f.wan[2] + ":v2"
		w.extra = f.wan[0] + ":v1"
		w.noNode = "nosuchnode:v2"
		w.aliceExpiryBase = f.s.Now()
		return w
	}
	held := func(t *testing.T, w *world, user string) map[string]time.Time {
		t.Helper()
		vs, err := w.f.s.Holdings(user)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]time.Time{}
		for _, v := range vs {
			out[v.Handle] = v.Expires
		}
		return out
	}
	type cell func(t *testing.T, w *world)
	fault := func(method string, handles func(w *world) any, code int, text func(w *world) string) cell {
		return func(t *testing.T, w *world) {
			before := held(t, w, "alice")
			_, flt := call(t, w.f.s, method, auth(w.f.alice), handles(w))
			wantFault(t, flt, code, text(w))
			if after := held(t, w, "alice"); len(after) != len(before) {
				t.Fatalf("a failed call changed holdings: %d -> %d", len(before), len(after))
			}
			for h, e := range before {
				if !held(t, w, "alice")[h].Equal(e) {
					t.Fatalf("a failed call changed %s", h)
				}
			}
		}
	}
	static := func(s string) func(*world) string { return func(*world) string { return s } }
	list := func(pick func(w *world) []any) func(w *world) any { return func(w *world) any { return pick(w) } }
	intern := static("Internal error while handling the xmlrpc request.")

	rows := []struct {
		name  string
		cells map[string]cell
	}{
		{"not an array", map[string]cell{
			acq: fault(acq, func(*world) any { return "h" }, 102, static("Invalid data type for handle list.")),
			rel: fault(rel, func(*world) any { return int64(1) }, 102, static("Invalid data type for handle list.")),
			ren: fault(ren, func(*world) any { return map[string]any{} }, 102, static("Invalid data type for handle list.")),
		}},
		{"element not a string", map[string]cell{
			acq: fault(acq, list(func(w *world) []any { return []any{w.free, int64(3)} }), 100, intern),
			rel: fault(rel, list(func(w *world) []any { return []any{w.mine, int64(3)} }), 100, intern),
			ren: fault(ren, list(func(w *world) []any { return []any{w.mine, int64(3)} }), 102,
				static("Invalid data type for handle. Expected str, received <type 'int'>")),
		}},
		{"non-ASCII string element", map[string]cell{
			acq: fault(acq, list(func(w *world) []any { return []any{w.free, "n\u00f6:v2"} }), 102,
				static("There is no vessel with the node identifier: n\u00f6 and vessel name: v2")),
			rel: fault(rel, list(func(w *world) []any { return []any{w.mine, "\u00e9"} }), 102,
				static("Invalid vesselhandle: \u00e9")),
			ren: fault(ren, list(func(w *world) []any { return []any{w.mine, "n\u00f6:v2"} }), 102,
				static("Invalid data type for handle. Expected str, received <type 'unicode'>")),
		}},
		{"not exactly one colon", map[string]cell{
			acq: fault(acq, list(func(w *world) []any { return []any{w.free, "a:b:c"} }), 102, static("Invalid vesselhandle: a:b:c")),
			rel: fault(rel, list(func(w *world) []any { return []any{w.mine, "abc"} }), 102, static("Invalid vesselhandle: abc")),
			ren: fault(ren, list(func(w *world) []any { return []any{w.mine, "::"} }), 102, static("Invalid vesselhandle: ::")),
		}},
		{"unknown node or vessel", map[string]cell{
			acq: fault(acq, list(func(w *world) []any { return []any{w.free, w.extra} }), 102,
				func(w *world) string {
					return "There is no vessel with the node identifier: " + w.f.wan[0] + " and vessel name: v1"
				}),
			rel: fault(rel, list(func(w *world) []any { return []any{w.mine, w.noNode} }), 102,
				static("There is no vessel with the node identifier: nosuchnode and vessel name: v2")),
			ren: fault(ren, list(func(w *world) []any { return []any{w.mine, w.f.wan[0] + ":v10"} }), 102,
				func(w *world) string {
					return "There is no vessel with the node identifier: " + w.f.wan[0] + " and vessel name: v10"
				}),
		}},
		{"empty array", map[string]cell{
			acq: fault(acq, func(*world) any { return []any{} }, 102, static("The list of vessels cannot be empty.")),
			rel: fault(rel, func(*world) any { return []any{} }, 102, static("The list of vessels cannot be empty.")),
			ren: fault(ren, func(*world) any { return []any{} }, 102, static("The list of vessels cannot be empty.")),
		}},
		{"held by another user", map[string]cell{
			acq: func(t *testing.T, w *world) {
				if res := mustCall(t, w.f.s, acq, auth(w.f.alice), []any{w.theirs}); len(res.([]any)) != 0 {
					t.Fatal("returned a foreign vessel")
				}
			},
			rel: func(t *testing.T, w *world) {
				if res := mustCall(t, w.f.s, rel, auth(w.f.alice), []any{w.theirs}); res != 0 {
					t.Fatal("result not 0")
				}
				if _, ok := held(t, w, "bob")[w.theirs]; !ok {
					t.Fatal("released bob's vessel")
				}
			},
			ren: func(t *testing.T, w *world) {
				before := held(t, w, "bob")[w.theirs]
				if res := mustCall(t, w.f.s, ren, auth(w.f.alice), []any{w.theirs}); res != 0 {
					t.Fatal("result not 0")
				}
				if !held(t, w, "bob")[w.theirs].Equal(before) {
					t.Fatal("renewed bob's vessel")
				}
			},
		}},
		{"already held by caller", map[string]cell{
			acq: func(t *testing.T, w *world) {
				if res := mustCall(t, w.f.s, acq, auth(w.f.alice), []any{w.mine}); len(res.([]any)) != 0 {
					t.Fatal("returned a vessel already held")
				}
				// Counted for credits: 1 held + 10 listed > 10.
				hs := []any{w.mine}
				for _, h := range allHandles(w.f)[:20] {
					if len(hs) < 10 && h != w.mine {
						hs = append(hs, h)
					}
				}
				_, flt := call(t, w.f.s, acq, auth(w.f.alice), hs)
				wantFault(t, flt, 103, notEnoughCredits)
			},
			rel: func(t *testing.T, w *world) {
				mustCall(t, w.f.s, rel, auth(w.f.alice), []any{w.mine})
				if _, ok := held(t, w, "alice")[w.mine]; ok {
					t.Fatal("not released")
				}
			},
			ren: func(t *testing.T, w *world) {
				mustCall(t, w.f.s, ren, auth(w.f.alice), []any{w.mine})
				if e := held(t, w, "alice")[w.mine]; !e.Equal(w.aliceExpiryBase.Add(RenewLease)) {
					t.Fatalf("not renewed: %v", e)
				}
			},
		}},
		{"expired", map[string]cell{
			acq: func(t *testing.T, w *world) {
				res := mustCall(t, w.f.s, acq, auth(w.f.bob), []any{w.expired})
				if len(res.([]any)) != 1 {
					t.Fatal("an expired vessel is not free")
				}
			},
			rel: func(t *testing.T, w *world) {
				mustCall(t, w.f.s, rel, auth(w.f.alice), []any{w.expired})
				if v := vesselsOf(t, w.f.s, []string{w.expired})[0]; v.Owner != "" {
					t.Fatalf("owner %q", v.Owner)
				}
			},
			ren: func(t *testing.T, w *world) {
				mustCall(t, w.f.s, ren, auth(w.f.alice), []any{w.expired})
				if _, ok := held(t, w, "alice")[w.expired]; ok {
					t.Fatal("renew revived an expired vessel")
				}
			},
		}},
		{"duplicates", map[string]cell{
			acq: func(t *testing.T, w *world) {
				res := mustCall(t, w.f.s, acq, auth(w.f.alice), []any{w.free, w.free, w.free})
				if len(res.([]any)) != 1 {
					t.Fatalf("got %d", len(res.([]any)))
				}
			},
			rel: func(t *testing.T, w *world) {
				mustCall(t, w.f.s, rel, auth(w.f.alice), []any{w.mine, w.mine, w.free, w.mine})
				if len(held(t, w, "alice")) != 0 {
					t.Fatal("not released")
				}
			},
			ren: func(t *testing.T, w *world) {
				mustCall(t, w.f.s, ren, auth(w.f.alice), []any{w.mine, w.mine})
				if e := held(t, w, "alice")[w.mine]; !e.Equal(w.aliceExpiryBase.Add(RenewLease)) {
					t.Fatalf("not renewed: %v", e)
				}
			},
		}},
	}
	for _, row := range rows {
		for _, m := range []string{acq, rel, ren} {
			t.Run(row.name+"/"+m, func(t *testing.T) {
				t.Parallel()
				w := setup(t)
				row.cells[m](t, w)
				checkInvariants(t, w.f.s)
			})
		}
	}
}
