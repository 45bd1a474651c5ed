package mockserver_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/nodemanager"
)

// nmFixture is a mock with node managers and 30 nodes, served over HTTP,
// the project's clearinghouse client for its one account and a node
// manager client signing with the account's key.
type nmFixture struct {
	mock *mockserver.Server
	acct mockapi.Account
	ch   *clearinghouse.Client
	nm   *nodemanager.Client
}

func newNMFixture(t *testing.T, opts ...mockserver.Option) *nmFixture {
	t.Helper()
	mock, err := mockserver.New(append([]mockserver.Option{
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 30, Seed: 7}),
		mockserver.WithKeyBits(512), mockserver.WithNodeManagers(true),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	acct, err := mock.AddAccount(mockapi.AccountSpec{Username: "alice", Password: "secret1", Affiliation: "Test U"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	t.Cleanup(srv.Close)
	ch, err := clearinghouse.New("alice", clearinghouse.WithAPIKey(acct.APIKey), clearinghouse.WithURL(srv.URL+"/xmlrpc/"))
	if err != nil {
		t.Fatal(err)
	}
	nm, err := nodemanager.New(nodemanager.WithPrivateKey(acct.PrivateKey), nodemanager.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return &nmFixture{mock: mock, acct: acct, ch: ch, nm: nm}
}

// TestNodeManagerJourney is the whole journey with the project's clients:
// acquire, upload, start, read the log, stop, release, and after the
// cleanup delay the old key is refused and the vessel is Fresh again.
func TestNodeManagerJourney(t *testing.T) {
	t.Parallel()
	f := newNMFixture(t, mockserver.WithCleanupDelay(time.Hour))
	ctx := t.Context()
	vessels, err := f.ch.AcquireWAN(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, cv := range vessels {
		if !strings.HasPrefix(cv.NodeIP, "127.") {
			t.Fatalf("node_ip %s is not a loopback address", cv.NodeIP)
		}
		v, err := f.nm.Vessel(cv)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.AddFile(ctx, "hello.r2py", []byte("log('hello')\n")); err != nil {
			t.Fatal(err)
		}
		status, err := v.StartEx(ctx, "repyV2", "hello.r2py a b")
		if err != nil || status != "Started" {
			t.Fatalf("StartEx: %q, %v", status, err)
		}
		log, err := v.ReadLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Repeat("=", 40) + "\nRunning program: hello.r2py\nArguments: ['a', 'b']\n" + strings.Repeat("=", 40) + "\n"
		if !strings.HasPrefix(log, want) || !strings.Contains(log, "was not run") {
			t.Fatalf("log %q", log)
		}
		if status, err := v.Stop(ctx); err != nil || status != "Stopped" {
			t.Fatalf("Stop: %q, %v", status, err)
		}
	}
	// Keep the first vessel's node listening once nothing on it is held,
	// to hear it refuse the old key.
	if _, err := f.mock.NodeManagerAddr(string(vessels[0].Handle)); err != nil {
		t.Fatal(err)
	}
	if err := f.ch.ReleaseResources(ctx, clearinghouse.Handles(vessels)); err != nil {
		t.Fatal(err)
	}
	// Until the cleanup, the old key still works.
	v, err := f.nm.Vessel(vessels[0])
	if err != nil {
		t.Fatal(err)
	}
	if files, err := v.ListFiles(ctx); err != nil || len(files) != 1 {
		t.Fatalf("before the cleanup: %v, %v", files, err)
	}
	if err := f.mock.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := v.ListFiles(ctx); !errors.Is(err, nodemanager.ErrInsufficientPermissions) {
		t.Fatalf("after the cleanup: %v", err)
	}
	info, err := v.Info(ctx)
	if err != nil || info.Status != "Fresh" || len(info.UserKeys) != 0 {
		t.Fatalf("after the cleanup: %+v, %v", info, err)
	}
	for _, cv := range vessels {
		nmv, err := f.mock.VesselNodeManager(string(cv.Handle))
		if err != nil {
			t.Fatal(err)
		}
		if nmv.Status != "Fresh" || len(nmv.Files) != 0 || len(nmv.UserKeys) != 0 || nmv.Log != "" {
			t.Fatalf("after the cleanup: %+v", nmv)
		}
	}
	// The second vessel's node listens no more.
	v2, err := f.nm.Vessel(vessels[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.ListFiles(ctx); !errors.Is(err, nodemanager.ErrCommunication) {
		t.Fatalf("the second node after the cleanup: %v", err)
	}
}
