package mockserver

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// TestConcurrentStress has many clients acquire, renew and release at
// once while the clock moves and an auditor checks every invariant under
// the lock. Afterwards no vessel is held twice, no account is over its
// credits and every vessel is accounted for. Run it with -race.
func TestConcurrentStress(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithPopulation(PopulationConfig{Nodes: 300, NATFraction: 0.15, Seed: 8}),
		WithCleanupDelay(time.Second), WithAcquireFailureRate(0.05))
	const clients = 24
	ops := 400
	if testing.Short() {
		ops = 50
	}
	users := make([]mockapi.Account, clients)
	for i := range users {
		users[i] = addUser(t, s, fmt.Sprintf("user%d", i), func(a *mockapi.AccountSpec) {
			a.UserPort = userPortMin + i%4 // several clients share each port
			a.FreeCredits = 5 + i%20
		})
	}
	var handles []string
	for _, v := range mustVessels(t, s, VesselFilter{}) {
		handles = append(handles, v.Handle)
	}

	var (
		wg       sync.WaitGroup
		stop     atomic.Bool
		acquired atomic.Int64
	)
	// The auditor.
	auditErr := make(chan error, 1)
	go func() {
		defer close(auditErr)
		for !stop.Load() {
			s.mu.Lock()
			err := s.st.check()
			s.mu.Unlock()
			if err != nil {
				auditErr <- err
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for i, u := range users {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for range ops {
				switch rng.IntN(10) {
				case 0, 1, 2:
					typ := []string{"wan", "lan", "nat", "random"}[rng.IntN(4)]
					res, err := s.Call(t.Context(), "acquire_resources", auth(u), rspec(typ, int64(1+rng.IntN(6))))
					if err == nil {
						acquired.Add(int64(len(res.([]any))))
					}
				case 3:
					pick := make([]any, 1+rng.IntN(4))
					for j := range pick {
						pick[j] = handles[rng.IntN(len(handles))]
					}
					s.Call(t.Context(), "acquire_specific_vessels", auth(u), pick)
				case 4, 5:
					res, err := s.Call(t.Context(), "get_resource_info", auth(u))
					if err != nil {
						t.Error(err)
						return
					}
					var mine []any
					for _, e := range res.([]any) {
						if rng.IntN(2) == 0 {
							mine = append(mine, e.(map[string]any)["handle"])
						}
					}
					if len(mine) > 0 {
						if _, err := s.Call(t.Context(), "release_resources", auth(u), mine); err != nil {
							t.Error(err)
							return
						}
					}
				case 6, 7:
					res, err := s.Call(t.Context(), "get_resource_info", auth(u))
					if err != nil {
						t.Error(err)
						return
					}
					var mine []any
					for _, e := range res.([]any) {
						mine = append(mine, e.(map[string]any)["handle"])
					}
					if len(mine) > 0 {
						// Never over the limit here: no donations change.
						if _, err := s.Call(t.Context(), "renew_resources", auth(u), mine); err != nil {
							t.Error(err)
							return
						}
					}
				case 8:
					s.Call(t.Context(), "get_account_info", auth(u))
				case 9:
					if i == 0 {
						s.Advance(time.Duration(rng.IntN(3600)) * time.Second)
					} else {
						s.Call(t.Context(), "get_encrypted_api_key", u.Username)
					}
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	if err := <-auditErr; err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, s)

	owner := map[string]string{}
	for _, u := range users {
		held, err := s.Holdings(u.Username)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := s.Account(u.Username)
		if len(held) > a.MaxVessels {
			t.Errorf("%s holds %d vessels with %d credits", u.Username, len(held), a.MaxVessels)
		}
		for _, v := range held {
			if prev, dup := owner[v.Handle]; dup {
				t.Errorf("%s held by %s and %s", shorten(v.Handle), prev, u.Username)
			}
			owner[v.Handle] = u.Username
		}
	}
	all := mustVessels(t, s, VesselFilter{})
	var owned, dirty, free int
	for _, v := range all {
		switch {
		case v.Owner != "":
			owned++
			if owner[v.Handle] != v.Owner {
				t.Errorf("vessel %s: owner %q, holdings say %q", shorten(v.Handle), v.Owner, owner[v.Handle])
			}
		case v.Dirty:
			dirty++
		default:
			free++
		}
	}
	if owned+dirty+free != 300*8 || owned != len(owner) {
		t.Errorf("vessels: %d owned + %d dirty + %d free of %d; %d in holdings", owned, dirty, free, 300*8, len(owner))
	}
	t.Logf("%d vessels acquired by acquire_resources; at the end %d owned, %d dirty", acquired.Load(), owned, dirty)
}
