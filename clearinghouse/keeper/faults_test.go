package keeper

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// monthFaults is the fault profile of the keeper's month: on every
// method, 10 % of the calls are applied and their connection reset
// (reset_after), 5 % of the others get 503 with Retry-After, and 20 % of
// the rest a slow answer: up to 2.3 s late, then dripped 96 bytes per
// 200 ms (a get_resource_info answer of 6 vessels takes about 5 s more).
// Renewals are few (about one a week per group of vessels), so two rules
// make sure they meet the faults that matter: the 3rd to 5th
// renew_resources calls are reset before they are applied (three
// failures in a row: the lease is still running out), and one later call
// is applied and its answer lost.
const monthFaults = "seed=30;renew_resources:reset_before,skip=2,next=3;renew_resources:reset_after,skip=5,next=1;" +
	"*:reset_after,p=0.1;*:unavailable,retry_after=1s,p=0.05;*:latency=300ms,jitter=2s,drip=96/200ms,p=0.2"

// acquire acquires n vessels of type typ for alice in process (no fault)
// and returns their handles, sorted.
func (e *faultEnv) acquire(t *testing.T, typ string, n int) []clearinghouse.Handle {
	t.Helper()
	res := e.call(t, "acquire_resources", map[string]any{"rspec_type": typ, "number_of_nodes": n})
	list, _ := res.([]any)
	var hs []clearinghouse.Handle
	for _, item := range list {
		v, _ := item.(map[string]any)
		h, _ := v["handle"].(string)
		hs = append(hs, clearinghouse.Handle(h))
	}
	if len(hs) != n {
		t.Fatalf("acquired %v, want %d vessels", res, n)
	}
	slices.Sort(hs)
	return hs
}

// collectEvents gathers a keeper's events until Run returns.
type collectEvents struct {
	mu   sync.Mutex
	evs  []Event
	done chan struct{}
}

func collect(k *Keeper) *collectEvents {
	c := &collectEvents{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ev := range k.Events() {
			c.mu.Lock()
			c.evs = append(c.evs, ev)
			c.mu.Unlock()
		}
	}()
	return c
}

// counts returns the events gathered, per kind.
func (c *collectEvents) counts() map[EventKind]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[EventKind]int)
	for _, ev := range c.evs {
		out[ev.Kind]++
	}
	return out
}

// releaseCarefully releases everything alice holds through the faulty
// endpoint, the way a client must when an answer can be lost: it looks at
// the holdings, releases what is held, and after a failure looks again
// rather than assuming either outcome. (A release is harmless to repeat,
// but the same loop serves calls that are not.)
func (e *faultEnv) releaseCarefully(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for range 20 {
		vs, err := e.client.GetResourceInfo(ctx)
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		if len(vs) == 0 {
			return
		}
		if err := e.client.ReleaseResources(ctx, clearinghouse.Handles(vs)); err != nil {
			time.Sleep(time.Second)
		}
	}
	t.Fatalf("alice still holds %d vessels after 20 rounds of releasing", len(e.held(t)))
}

// underFaults runs body in a synctest bubble, with a faultEnv for the
// fault profile spec. Then it releases all alice holds through the
// faults, checks that the mock's behaviour report has no finding, and
// logs the figures body returned with the real time the test took.
func underFaults(t *testing.T, spec string, body func(t *testing.T, e *faultEnv) (figures string)) {
	t.Helper()
	realStart := time.Now()
	var figures string
	synctest.Test(t, func(t *testing.T) {
		e := newFaultEnv(t, spec)
		figures = body(t, e)
		e.releaseCarefully(t)
		e.wantNoFindings(t)
	})
	t.Logf("%s; real time %v", figures, time.Since(realStart).Round(time.Millisecond))
}

// keep runs a keeper of hs through the faulty endpoint, replacing lost
// vessels with random ones. It returns the keeper and a function that
// stops it (an error from Run ends the test) and returns the events it
// sent, per kind.
func (e *faultEnv) keep(t *testing.T, hs []clearinghouse.Handle) (*Keeper, func() map[EventKind]int) {
	t.Helper()
	k := mustNew(t, e.client, hs, WithReplacement(clearinghouse.Random))
	events := collect(k)
	r := startKeeper(t, k)
	return k, func() map[EventKind]int {
		t.Helper()
		if err := r.stop(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
		<-events.done
		return events.counts()
	}
}

// wantNoFindings fails the test if the mock's behaviour report has a
// finding, or lost track of events.
func (e *faultEnv) wantNoFindings(t *testing.T) {
	t.Helper()
	r, err := e.mock.Report()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		t.Errorf("finding %s against %s: %s", f.Kind, f.Account, f.Message)
	}
	if r.Untracked != 0 {
		t.Errorf("the report lost track of %d events", r.Untracked)
	}
}

// faultFigures describes what the mock injected and what the client
// sent, for the test log.
func (e *faultEnv) faultFigures() string {
	var b strings.Builder
	calls := e.callCounts()
	total := 0
	for _, n := range calls {
		total += n
	}
	fmt.Fprintf(&b, "%d calls sent:", total)
	for _, m := range slices.Sorted(maps.Keys(calls)) {
		fmt.Fprintf(&b, " %s %d", m, calls[m])
	}
	b.WriteString("; faults injected:")
	inj := e.mock.Faults().Injected
	for _, k := range slices.Sorted(maps.Keys(inj)) {
		if inj[k] > 0 {
			fmt.Fprintf(&b, " %s %d", k, inj[k])
		}
	}
	return b.String()
}

// TestKeeperMonthUnderFaults keeps six vessels for 30 simulated days
// through monthFaults, over real HTTP connections (pipes; see
// pipenet_test.go). Every 10 simulated minutes the mock must hold exactly
// the six with at least an hour of lease left: no vessel expires, none is
// lost, none is acquired. At the end the test releases them and the
// mock's behaviour report must have no finding: no missed renewal, no
// renewal storm from retries, no leak.
func TestKeeperMonthUnderFaults(t *testing.T) {
	t.Parallel()
	underFaults(t, monthFaults, func(t *testing.T, e *faultEnv) string {
		// Three groups, acquired apart so that they fall due apart.
		a := e.acquire(t, "wan", 3)
		time.Sleep(70 * time.Minute)
		b := e.acquire(t, "lan", 2)
		time.Sleep(80 * time.Minute)
		c := e.acquire(t, "random", 1)
		all := sortedHandles(a, b, c)

		k, stop := e.keep(t, all)
		start := time.Now()
		end := start.Add(30 * 24 * time.Hour)
		checks, minLeft := 0, 7*24*time.Hour
		for time.Now().Before(end) {
			time.Sleep(10 * time.Minute)
			synctest.Wait()
			checks++
			held, now := e.held(t), time.Now()
			if have := slices.Sorted(maps.Keys(held)); !slices.Equal(have, all) {
				t.Fatalf("after %v alice holds %v, want %v", now.Sub(start), have, all)
			}
			for h, v := range held {
				left := v.Expires.Sub(now)
				minLeft = min(minLeft, left)
				if left < time.Hour {
					t.Fatalf("after %v %s has %v of its lease left, want at least 1h", now.Sub(start), h, left)
				}
			}
		}
		evs := stop()

		snap := k.Snapshot()
		if snap.Lost != 0 || snap.Replaced != 0 || len(snap.Vessels) != len(all) {
			t.Fatalf("snapshot: %d vessels, %d lost, %d replaced; want %d, none lost or replaced",
				len(snap.Vessels), snap.Lost, snap.Replaced, len(all))
		}
		for _, v := range snap.Vessels {
			if v.Renewals < 4 {
				t.Errorf("%s renewed %d times by the keeper, want at least 4 in 30 days", v.Handle, v.Renewals)
			}
		}
		st := e.mock.Faults()
		if st.Fired[0] != 3 || st.Fired[1] != 1 {
			t.Errorf("the renewal rules fired %d and %d times, want 3 and 1", st.Fired[0], st.Fired[1])
		}
		inj := st.Injected
		for kind, least := range map[mockserver.FaultKind]uint64{
			mockserver.FaultResetAfter: 100, mockserver.FaultUnavailable: 50, mockserver.FaultDrip: 200,
		} {
			if inj[kind] < least {
				t.Errorf("%s injected %d times, want at least %d for the month to prove anything", kind, inj[kind], least)
			}
		}
		if n := e.callCounts()["acquire_resources"]; n != 0 {
			t.Errorf("the keeper acquired %d times, want never: nothing was lost", n)
		}
		return fmt.Sprintf("%v simulated, %d checks, least lease left %v; %s; keeper: %d renewals, %d error events, %d dropped",
			time.Since(start).Round(time.Hour), checks, minLeft.Round(time.Second), e.faultFigures(), snap.Renewals, evs[EventError], snap.DroppedEvents)
	})
}

// replaceFaults is monthFaults with half of the acquisitions applied and
// their answers lost, so that replacement meets the ambiguous failure
// often.
const replaceFaults = "seed=31;acquire_resources:reset_after,p=0.5;*:reset_after,p=0.1;" +
	"*:unavailable,retry_after=1s,p=0.05;*:latency=300ms,jitter=2s,drip=96/200ms,p=0.2"

// TestKeeperReplacementUnderFaults: for 12 simulated days another
// program of alice's releases one of the keeper's four vessels every
// day, and the keeper replaces it through replaceFaults. When an
// acquisition's answer is lost the keeper must look before acquiring
// again and take the vessels it got: alice never holds more than four
// (checked every 10 simulated minutes), the keeper ends with four that
// the mock holds, and the behaviour report finds no duplicate
// acquisition, no missed renewal (a vessel nobody renews running out)
// and, once the test releases them, no leak.
func TestKeeperReplacementUnderFaults(t *testing.T) {
	t.Parallel()
	underFaults(t, replaceFaults, func(t *testing.T, e *faultEnv) string {
		const target = 4
		k, stop := e.keep(t, e.acquire(t, "random", target))
		start := time.Now()
		taken := 0
		for day := range 12 {
			// Another program releases a vessel the keeper holds (in
			// process: no fault).
			if vs := k.Snapshot().Vessels; len(vs) > 0 {
				e.call(t, "release_resources", []any{string(vs[day%len(vs)].Handle)})
				taken++
			}
			for range 24 * 6 {
				time.Sleep(10 * time.Minute)
				synctest.Wait()
				if n := len(e.held(t)); n > target {
					t.Fatalf("after %v alice holds %d vessels, want at most %d", time.Since(start), n, target)
				}
			}
		}
		evs := stop()

		snap := k.Snapshot()
		kept := clearinghouse.Handles(vesselsOf(snap.Vessels))
		if have := slices.Sorted(maps.Keys(e.held(t))); !slices.Equal(have, kept) || len(kept) != target {
			t.Fatalf("the keeper keeps %v, alice holds %v; want the same %d", kept, have, target)
		}
		if snap.Lost != taken || snap.Replaced != taken {
			t.Errorf("snapshot: %d lost, %d replaced; want %d of each", snap.Lost, snap.Replaced, taken)
		}
		if lost := e.mock.Faults().Fired[0]; lost < 3 {
			t.Errorf("%d acquisitions lost their answer, want at least 3 for the test to prove anything", lost)
		}
		return fmt.Sprintf("%v simulated, %d vessels taken away, %d acquisitions' answers lost; %s; keeper: %d replaced, %d error events",
			time.Since(start).Round(time.Hour), taken, e.mock.Faults().Fired[0], e.faultFigures(), snap.Replaced, evs[EventError])
	})
}
