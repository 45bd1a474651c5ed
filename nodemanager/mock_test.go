package nodemanager_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/nodemanager"
)

// The client against the mock's node managers: vessels leased from the
// clearinghouse, used through their nodes.

type mockFixture struct {
	mock *mockserver.Server
	acct mockapi.Account
	ch   *clearinghouse.Client
	nm   *nodemanager.Client
}

func newMock(t *testing.T, opts ...mockserver.Option) *mockFixture {
	t.Helper()
	mock, err := mockserver.New(append([]mockserver.Option{
		mockserver.WithNodeManagers(true), mockserver.WithKeyBits(512),
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 40, NATFraction: 0.2, Seed: 9}),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	acct, err := mock.AddAccount(mockapi.AccountSpec{Username: "carol", Password: "secret1", Affiliation: "Test U", FreeCredits: 20})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	t.Cleanup(srv.Close)
	ch, err := clearinghouse.New(acct.Username, clearinghouse.WithAPIKey(acct.APIKey), clearinghouse.WithURL(srv.URL+"/xmlrpc/"))
	if err != nil {
		t.Fatal(err)
	}
	nm, err := nodemanager.New(nodemanager.WithPrivateKey(acct.PrivateKey), nodemanager.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return &mockFixture{mock: mock, acct: acct, ch: ch, nm: nm}
}

func (f *mockFixture) acquire(t *testing.T, n int) []clearinghouse.Vessel {
	t.Helper()
	vs, err := f.ch.AcquireWAN(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func (f *mockFixture) vessel(t *testing.T, cv clearinghouse.Vessel) *nodemanager.Vessel {
	t.Helper()
	v, err := f.nm.Vessel(cv)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMockConcurrentVessels works on five vessels at once, several calls
// in flight per vessel, under the race detector: each vessel ends with
// exactly its own files and log.
func TestMockConcurrentVessels(t *testing.T) {
	t.Parallel()
	f := newMock(t)
	ctx := t.Context()
	vessels := f.acquire(t, 5)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i, cv := range vessels {
		v := f.vessel(t, cv)
		for j := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("f%d.r2py", j)
				if err := v.AddFile(ctx, name, []byte(fmt.Sprintf("vessel %d file %d", i, j))); err != nil {
					errs <- err
					return
				}
				data, err := v.RetrieveFile(ctx, name)
				if err != nil || string(data) != fmt.Sprintf("vessel %d file %d", i, j) {
					errs <- fmt.Errorf("vessel %d: retrieve %s: %q, %v", i, name, data, err)
				}
				if _, err := v.Info(ctx); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, cv := range vessels {
		v := f.vessel(t, cv)
		files, err := v.ListFiles(ctx)
		if err != nil || !slices.Equal(files, []string{"f0.r2py", "f1.r2py", "f2.r2py", "f3.r2py"}) {
			t.Errorf("%s: files %v, %v", cv.Handle, files, err)
		}
		if status, err := v.StartEx(ctx, "repyV2", "f0.r2py"); err != nil || status != "Started" {
			t.Errorf("%s: start %q, %v", cv.Handle, status, err)
		}
	}
}

// TestMockInfoAndResources: GetVessels shows the vessel with the client's
// key as its user; its resources offer the account's port.
func TestMockInfoAndResources(t *testing.T) {
	t.Parallel()
	f := newMock(t)
	ctx := t.Context()
	cv := f.acquire(t, 1)[0]
	v := f.vessel(t, cv)
	info, err := v.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != "Fresh" || len(info.UserKeys) != 1 || info.UserKeys[0] != f.nm.PublicKey() {
		t.Errorf("info %+v", info)
	}
	res, err := v.Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := f.ch.GetAccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Ports(), acct.UserPort) {
		t.Errorf("ports %v lack the user port %d", res.Ports(), acct.UserPort)
	}
	node, err := f.nm.OpenNode(ctx, fmt.Sprintf("%s:%d", cv.NodeIP, cv.NodePort))
	if err != nil {
		t.Fatal(err)
	}
	if node.Key() != cv.NodeID {
		t.Errorf("the node's key is not its node_id")
	}
	ni, err := node.GetVessels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	usable := ni.UsableBy(f.nm.PublicKey())
	if len(usable) != 1 || usable[0].Name != cv.VesselID {
		t.Errorf("usable by the client: %+v", usable)
	}
	offcut, err := node.GetOffcutResources(ctx)
	if err != nil || !strings.Contains(offcut, "resource cpu .002") {
		t.Errorf("offcut %q, %v", offcut, err)
	}
}

// TestMockRefusals: the mock's refusals reach the client as the
// original's did.
func TestMockRefusals(t *testing.T) {
	t.Parallel()
	f := newMock(t, mockserver.WithCleanupDelay(time.Hour))
	ctx := t.Context()
	cv := f.acquire(t, 1)[0]
	v := f.vessel(t, cv)
	for _, tc := range []struct {
		what string
		err  error
		want []error
	}{
		{"retrieve missing", func() error { _, err := v.RetrieveFile(ctx, "x"); return err }(), []error{nodemanager.ErrFileNotFound}},
		{"delete missing", v.DeleteFile(ctx, "x"), []error{nodemanager.ErrFileNotFound}},
		{"stop Fresh", func() error { _, err := v.Stop(ctx); return err }(), []error{nodemanager.ErrRefused}},
		{"bad platform", func() error { _, err := v.StartEx(ctx, "python", "a"); return err }(), []error{nodemanager.ErrRefused}},
		{"owner call", v.ChangeAdvertise(ctx, false), []error{nodemanager.ErrInsufficientPermissions}},
		{"ChangeUsers", v.ChangeUsers(ctx, nil), []error{nodemanager.ErrInsufficientPermissions}},
	} {
		for _, w := range tc.want {
			if !errors.Is(tc.err, w) {
				t.Errorf("%s: have %v, want %v", tc.what, tc.err, w)
			}
		}
	}
	// A sequence must start at 0 after the clearinghouse's own request.
	seq, err := v.WithSequence("s", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seq.ListFiles(ctx); !errors.Is(err, nodemanager.ErrSequence) {
		t.Errorf("sequence s:1 first: %v", err)
	}
	seq0, _ := v.WithSequence("t", 0)
	for range 3 {
		if _, err := seq0.ListFiles(ctx); err != nil {
			t.Errorf("sequence t:0, t:1, t:2: %v", err)
		}
	}

	// Released, the vessel still answers until the cleanup; then its
	// node refuses the key.
	if _, err := f.mock.NodeManagerAddr(string(cv.Handle)); err != nil {
		t.Fatal(err) // keep the node listening after the cleanup
	}
	if err := f.ch.ReleaseResources(ctx, []clearinghouse.Handle{cv.Handle}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.ListFiles(ctx); err != nil {
		t.Errorf("before the cleanup: %v", err)
	}
	if err := f.mock.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := v.ListFiles(ctx); !errors.Is(err, nodemanager.ErrInsufficientPermissions) {
		t.Errorf("after the cleanup: %v", err)
	}
}

// TestMockNAT: a vessel behind NAT is unreachable, without a dial.
func TestMockNAT(t *testing.T) {
	t.Parallel()
	f := newMock(t)
	vs, err := f.ch.AcquireNAT(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.nm.Vessel(vs[0]); !errors.Is(err, nodemanager.ErrUnreachable) {
		t.Errorf("a NAT vessel: %v", err)
	}
}

// TestMockUnreachableNode: a node taken offline refuses the connection.
func TestMockUnreachableNode(t *testing.T) {
	t.Parallel()
	f := newMock(t)
	cv := f.acquire(t, 1)[0]
	v := f.vessel(t, cv)
	if err := f.mock.SetNodeActive(cv.NodeID, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := v.ListFiles(ctx); !errors.Is(err, nodemanager.ErrCommunication) {
		t.Errorf("an offline node: %v", err)
	}
}
