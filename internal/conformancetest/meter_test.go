package conformancetest

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// TestMeter drives a mock through a Meter: the peak is what the account
// held at its worst, whatever reached the client, and each Action does
// what it says.
func TestMeter(t *testing.T) {
	t.Parallel()
	mock, err := mockserver.New(mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 20, Seed: 1}), mockserver.WithKeyBits(512))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	a, err := mock.AddAccount(mockapi.AccountSpec{Username: "meg", Password: "password-of-meg", Affiliation: "Meter U"})
	if err != nil {
		t.Fatal(err)
	}
	held := func() int {
		hs, err := mock.Holdings(a.Username)
		if err != nil {
			t.Error(err)
		}
		return len(hs)
	}
	var mu sync.Mutex
	actions := map[int]Action{} // by the number of the acquire_resources call
	act := func(n int, a Action) {
		mu.Lock()
		actions[n] = a
		mu.Unlock()
	}
	var applied []int // the acquire_resources calls Next handled
	m := &Meter{Next: mock, Held: held, User: a.Username, Key: a.APIKey,
		Applied: func(c Call) {
			mu.Lock()
			defer mu.Unlock()
			if c.Method == "acquire_resources" {
				applied = append(applied, c.N)
			}
		},
		Decide: func(c Call) Action {
			mu.Lock()
			defer mu.Unlock()
			if c.Method != "acquire_resources" {
				return Pass
			}
			return actions[c.N]
		},
		Rewrite: func(method string, body []byte) []byte {
			return bytes.ReplaceAll(body, []byte("<string>bogus</string>"), []byte("<string>random</string>"))
		},
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	c, err := xmlrpc.NewClient(srv.URL + "/xmlrpc/")
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]any{"username": a.Username, "api_key": a.APIKey}
	call := func(timeout time.Duration, method string, args ...any) (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var res any
		err := c.Call(ctx, method, &res, args...)
		return res, err
	}
	handles := func(res any) []any {
		var hs []any
		for _, v := range res.([]any) {
			hs = append(hs, v.(map[string]any)["handle"])
		}
		return hs
	}
	rspec := func(typ string, n int) map[string]any { return map[string]any{"rspec_type": typ, "number_of_nodes": n} }

	// 1: Pass, with the rewrite making a bogus type a random one.
	res, err := call(10*time.Second, "acquire_resources", auth, rspec("bogus", 2))
	if err != nil {
		t.Fatalf("a rewritten bogus acquisition: %v", err)
	}
	first := handles(res)
	if _, err := call(10*time.Second, "release_resources", auth, first); err != nil {
		t.Fatal(err)
	}
	// 2: ResetAfter: applied, and the client gets no answer.
	act(2, ResetAfter)
	var te *xmlrpc.TransportError
	if _, err := call(10*time.Second, "acquire_resources", auth, rspec("random", 3)); !errors.As(err, &te) {
		t.Errorf("ResetAfter: %v, want a transport error", err)
	}
	if n := held(); n != 3 {
		t.Errorf("after ResetAfter the account holds %d vessels, want the 3 acquired", n)
	}
	// 3: HangBefore: never applied.
	act(3, HangBefore)
	if _, err := call(200*time.Millisecond, "acquire_resources", auth, rspec("random", 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("HangBefore: %v, want the client's deadline", err)
	}
	// 4: Fail500: never applied.
	act(4, Fail500)
	var he *xmlrpc.HTTPError
	if _, err := call(10*time.Second, "acquire_resources", auth, rspec("random", 1)); !errors.As(err, &he) || he.StatusCode != 500 {
		t.Errorf("Fail500: %v, want HTTP 500", err)
	}
	// 5: HangAfter: applied, the answer held back until the client goes.
	act(5, HangAfter)
	if _, err := call(200*time.Millisecond, "acquire_resources", auth, rspec("random", 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("HangAfter: %v, want the client's deadline", err)
	}
	if n := held(); n != 4 {
		t.Errorf("after HangBefore, Fail500 and HangAfter the account holds %d vessels, want 4", n)
	}
	if p := m.Peak(); p != 4 {
		t.Errorf("Peak %d, want 4", p)
	}
	if all, authentic := m.Calls("acquire_resources"); all != 5 || authentic != 5 {
		t.Errorf("Calls: %d acquire_resources calls, %d authenticated; want 5 and 5", all, authentic)
	}
	if _, err := call(10*time.Second, "acquire_resources", map[string]any{"username": a.Username, "api_key": "wrong"}, rspec("random", 1)); err == nil {
		t.Errorf("a wrong key acquired")
	}
	if all, authentic := m.Calls("acquire_resources"); all != 6 || authentic != 5 {
		t.Errorf("Calls after a wrong key: %d, %d authenticated; want 6 and 5", all, authentic)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(applied, []int{1, 2, 5, 6}) {
		t.Errorf("Applied was told of the acquire_resources calls %v, want 1, 2, 5 and 6 (not the ones held or failed before)", applied)
	}
}
