package clearinghousetest_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/clearinghouse/clearinghousetest"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// TestNew checks what New gives: a mock answering on URL, the first
// account as the mock has it, and a client for it that works.
func TestNew(t *testing.T) {
	t.Parallel()
	srv := clearinghousetest.New(t, mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 10, Seed: 1}))
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") || !strings.HasSuffix(srv.URL, "/xmlrpc/") {
		t.Errorf("URL %q, want http://127.0.0.1:<port>/xmlrpc/", srv.URL)
	}
	if srv.Client.URL() != srv.URL {
		t.Errorf("the client calls %q, the server is at %q", srv.Client.URL(), srv.URL)
	}
	acct, err := srv.Mock.Account(srv.Account.Username)
	if err != nil || acct.APIKey != srv.Account.APIKey || srv.Account.Username != "alice" {
		t.Fatalf("Account %#v is not the mock's alice (%#v, %v)", srv.Account, acct, err)
	}
	ctx := context.Background()
	vs, err := srv.Client.AcquireWAN(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	held, err := srv.Mock.Holdings("alice")
	if err != nil || len(held) != 2 || len(vs) != 2 {
		t.Errorf("acquired %d, the mock says alice holds %d (%v), want 2", len(vs), len(held), err)
	}
}

// TestNewOptions checks that the mock options reach the mock, the 512-bit
// default included, and that ClientFor serves a second account with
// options of its own.
func TestNewOptions(t *testing.T) {
	t.Parallel()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := clearinghousetest.New(t, mockserver.WithClock(func() time.Time { return start }), mockserver.WithTimeScale(0))
	if now := srv.Mock.Now(); !now.Equal(start) {
		t.Errorf("the mock's clock: %v, want %v", now, start)
	}
	if n := len(strings.Fields(srv.Account.PublicKey)[1]); n < 150 || n > 160 {
		t.Errorf("the generated key's modulus has %d digits, want those of 512 bits (about 155)", n)
	}
	bob, err := srv.Mock.AddAccount(mockapi.AccountSpec{Username: "bob", Password: "secret2", Affiliation: "Test U",
		FreeCredits: mockapi.NoFreeCredits})
	if err != nil {
		t.Fatal(err)
	}
	c, err := srv.ClientFor(bob, clearinghouse.WithUserAgent("bob/1"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.GetAccountInfo(context.Background())
	if err != nil || info.Username != "bob" || info.MaxVessels != 0 {
		t.Errorf("bob's account info: %+v, %v", info, err)
	}
	if _, err := srv.ClientFor(bob, clearinghouse.WithTimeout(0)); !errors.Is(err, clearinghouse.ErrInvalidArgument) {
		t.Errorf("ClientFor with a bad option: %v, want ErrInvalidArgument", err)
	}
}

// TestStartFails checks that a bad option is an error from Start and fails
// the test through New.
func TestStartFails(t *testing.T) {
	t.Parallel()
	if srv, err := clearinghousetest.Start(mockserver.WithTimeScale(-1)); err == nil || srv != nil {
		t.Errorf("Start with a negative time scale: %v, %v; want an error", srv, err)
	}
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() { // FailNow ends the goroutine, as it would end a test
		defer close(done)
		clearinghousetest.New(rec, mockserver.WithTimeScale(-1))
	}()
	<-done
	if !rec.failed || !strings.Contains(rec.msg, "mockserver") {
		t.Errorf("New with a bad option: failed %t, message %q", rec.failed, rec.msg)
	}
}

// TestCloseStops checks that Close stops the server: the client's next
// call fails, the mock refuses its controls, and a second Close is fine.
func TestCloseStops(t *testing.T) {
	t.Parallel()
	srv, err := clearinghousetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client.GetAccountInfo(context.Background()); !errors.Is(err, clearinghouse.ErrCommunication) {
		t.Errorf("a call after Close: %v, want ErrCommunication", err)
	}
	if _, err := srv.Mock.Accounts(); !errors.Is(err, mockserver.ErrClosed) {
		t.Errorf("a control after Close: %v, want mockserver.ErrClosed", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// recorder is a testing.TB whose Fatal is recorded, not reported.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) {
	r.failed = true
	for _, a := range args {
		if err, ok := a.(error); ok {
			r.msg += err.Error()
		}
	}
	runtime.Goexit()
}
