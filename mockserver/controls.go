package mockserver

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// VesselFilter selects vessels for Vessels.
type VesselFilter struct {
	Owner  string              // only vessels held by this account
	NodeID string              // only vessels of this node
	State  mockapi.VesselState // only vessels in this state; "" for all
	Offset int                 // skip this many matching vessels
	Limit  int                 // return at most this many; 0 means no limit
}

// vesselMatches is mockapi.VesselState.Has on the state's own records.
func (st *state) vesselMatches(v int32, state mockapi.VesselState) bool {
	ves := &st.vessels[v]
	switch state {
	case mockapi.StateOwned:
		return ves.owner != noOne
	case mockapi.StateDirty:
		return ves.owner == noOne && ves.dirty
	case mockapi.StateAvailable:
		return ves.pos >= 0
	case mockapi.StateFree:
		return ves.owner == noOne
	}
	return true
}

// Vessels returns copies of the vessels the filter selects and the number
// that match in all. Vessels held by an account come sorted by handle;
// otherwise they are in the order their nodes were added.
func (s *Server) Vessels(f VesselFilter) (vessels []mockapi.Vessel, total int, err error) {
	if !f.State.Valid() {
		return nil, 0, invalidf("vessel state %q: want owned, dirty, available, free or empty", f.State)
	}
	err = s.update(func(st *state, now int64) error {
		var match []int32
		switch {
		case f.Owner != "":
			a, err := st.lookupAccount(f.Owner)
			if err != nil {
				return err
			}
			for _, v := range st.heldSorted(a) {
				if (f.NodeID == "" || st.nodes[st.vessels[v].node].id == f.NodeID) && st.vesselMatches(v, f.State) {
					match = append(match, v)
				}
			}
		case f.NodeID != "":
			n, err := st.lookupNode(f.NodeID)
			if err != nil {
				return err
			}
			nd := &st.nodes[n]
			for v := nd.first; v < nd.first+nd.count; v++ {
				if st.vesselMatches(v, f.State) {
					match = append(match, v)
				}
			}
		case f.State == "":
			total = len(st.vessels)
			lo, hi := page(total, f.Offset, f.Limit)
			for v := lo; v < hi; v++ {
				vessels = append(vessels, st.exportVessel(int32(v)))
			}
			return nil
		default:
			for v := range st.vessels {
				if st.vesselMatches(int32(v), f.State) {
					match = append(match, int32(v))
				}
			}
		}
		total = len(match)
		lo, hi := page(total, f.Offset, f.Limit)
		for _, v := range match[lo:hi] {
			vessels = append(vessels, st.exportVessel(v))
		}
		return nil
	})
	return vessels, total, err
}

// Holdings returns copies of the vessels the account holds (acquired and
// not expired), sorted by handle: what get_resource_info would report.
func (s *Server) Holdings(username string) ([]mockapi.Vessel, error) {
	var out []mockapi.Vessel
	err := s.update(func(st *state, now int64) error {
		a, err := st.lookupAccount(username)
		if err != nil {
			return err
		}
		for _, v := range st.heldSorted(a) {
			out = append(out, st.exportVessel(v))
		}
		return nil
	})
	return out, err
}

// heldSorted returns the vessels account a holds, sorted by handle.
func (st *state) heldSorted(a int32) []int32 {
	held := st.accounts[a].held
	vs := make([]int32, 0, len(held))
	for v := range held {
		vs = append(vs, v)
	}
	slices.SortFunc(vs, func(x, y int32) int {
		return compareHandles(st, x, y)
	})
	return vs
}

// compareHandles orders vessels by their handle string without building it.
func compareHandles(st *state, x, y int32) int {
	vx, vy := &st.vessels[x], &st.vessels[y]
	if vx.node != vy.node {
		return compareIDs(st.nodes[vx.node].id, st.nodes[vy.node].id)
	}
	return strings.Compare(vx.name(), vy.name())
}

// compareIDs compares a+":" with b+":" (node ids never contain ':').
func compareIDs(a, b string) int {
	n := min(len(a), len(b))
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	switch {
	case len(a) < len(b):
		return cmp.Compare(':', b[n])
	case len(a) > len(b):
		return cmp.Compare(a[n], ':')
	}
	return 0
}

// Now returns the mock clock's current time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return toTime(s.clock.now())
}

// SetTime sets the mock clock to t; it keeps running at its scale from
// there. Leases that t puts in the past expire at once.
func (s *Server) SetTime(t time.Time) error {
	return s.update(func(st *state, now int64) error {
		s.clock.set(t.UnixNano())
		st.advance(s.clock.now())
		if st.changes != nil {
			st.changes.full = true
		}
		return nil
	})
}

// Advance moves the mock clock by d.
func (s *Server) Advance(d time.Duration) error {
	return s.update(func(st *state, now int64) error {
		s.clock.advance(d)
		st.advance(s.clock.now())
		if st.changes != nil {
			st.changes.full = true
		}
		return nil
	})
}

// TimeScale returns how many times as fast as its source the mock clock
// runs (see WithTimeScale and SetTimeScale); 0 means frozen.
func (s *Server) TimeScale() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock.scale
}

// SetTimeScale makes the mock clock run x times as fast as its source from
// its current reading on, x from 0 (frozen: only SetTime and Advance move
// it) to MaxTimeScale. Like the cleanup delay it is a setting, not state:
// the state file does not keep it, and a server opened again runs at the
// scale it was given (WithTimeScale). With a state file the change is
// still written, as SetTime's is, so that the clock a failed write rolls
// back to includes it; if that write fails, SetTimeScale changes nothing.
func (s *Server) SetTimeScale(x float64) error {
	if !(x >= 0 && x <= MaxTimeScale) {
		return invalidf("time scale %v: must be between 0 and %d", x, MaxTimeScale)
	}
	return s.update(func(st *state, now int64) error {
		s.clock.rescale(x)
		if st.changes != nil {
			st.changes.full = true
		}
		return nil
	})
}

// SetCleanupDelay sets how long released and expired vessels stay dirty,
// from 0 to MaxCleanupDelay. It is a setting, not state: it is not saved
// in the state file.
func (s *Server) SetCleanupDelay(d time.Duration) error {
	if d < 0 || d > MaxCleanupDelay {
		return invalidf("cleanup delay %v: must be between 0 and %v", d, MaxCleanupDelay)
	}
	return s.update(func(st *state, now int64) error {
		st.cleanupDelay = int64(d)
		st.advance(now)
		return nil
	})
}

// CleanupDelay returns the current cleanup delay.
func (s *Server) CleanupDelay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.st.cleanupDelay)
}

// Seed re-seeds the random source behind selection order, user port
// assignment and the failure rate. Like every control it fails with
// ErrClosed after Close.
func (s *Server) Seed(seed int64) error {
	return s.update(func(st *state, now int64) error {
		st.rng = newRand(seed)
		st.seed = seed
		return nil
	})
}

// Reset discards every account, donation, vessel holding, node change and
// injected failure, and what the behaviour report has seen, and
// regenerates the population the state started from (with a state file:
// the one stored in it). The clock, the cleanup delay, the failure rate,
// the seed and the fault profile are kept; the random source restarts
// from the seed.
func (s *Server) Reset() error {
	return s.update(func(st *state, now int64) error {
		fresh := newState(st.seed)
		fresh.cleanupDelay = st.cleanupDelay
		fresh.failRate = st.failRate
		// A population that was generated once can be again; nothing
		// can cancel this.
		_ = fresh.generatePopulation(context.Background(), st.population)
		if st.changes != nil {
			fresh.changes = newChanges()
			fresh.changes.full = true
		}
		s.st = fresh
		s.watch = newWatch()
		return nil
	})
}
