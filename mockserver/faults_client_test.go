package mockserver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/clearinghouse/clearinghousetest"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// clientFixture is a mock with 20 nodes and the fault profile spec,
// served on 127.0.0.1, and the project's client for its one account.
func clientFixture(t *testing.T, spec string, opts ...clearinghouse.Option) (*mockserver.Server, *clearinghouse.Client) {
	t.Helper()
	p, err := mockserver.ParseFaultSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	srv := clearinghousetest.New(t, mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 20, Seed: 3}), mockserver.WithFaults(p))
	c, err := srv.ClientFor(srv.Account, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv.Mock, c
}

func holding(t *testing.T, mock *mockserver.Server) int {
	t.Helper()
	vs, err := mock.Holdings("alice")
	if err != nil {
		t.Fatal(err)
	}
	return len(vs)
}

// TestClientSeesInjectedFaults drives the project's client into each
// fault and checks what it reports and what the call did to the state.
func TestClientSeesInjectedFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		applied bool
		status  int // the HTTP status the client reports, 0 for none
	}{
		{"acquire_resources:reset_before", false, 0},
		{"acquire_resources:reset_after", true, 0},
		{"acquire_resources:unavailable,retry_after=4s", false, 503},
		{"acquire_resources:server_error", false, 500},
		{"acquire_resources:truncate", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			mock, c := clientFixture(t, tc.spec)
			_, err := c.AcquireWAN(t.Context(), 3)
			if !errors.Is(err, clearinghouse.ErrCommunication) {
				t.Fatalf("have %v, want ErrCommunication", err)
			}
			var he *xmlrpc.HTTPError
			switch {
			case tc.status != 0 && (!errors.As(err, &he) || he.StatusCode != tc.status):
				t.Errorf("have %v, want HTTP status %d", err, tc.status)
			case tc.status == 0 && errors.As(err, &he):
				t.Errorf("have HTTP status %d, want a transport failure", he.StatusCode)
			}
			want := 0
			if tc.applied {
				want = 3
			}
			if n := holding(t, mock); n != want {
				t.Errorf("holding %d vessels, want %d", n, want)
			}
			// The fault does not stick: the next call works.
			if _, err := c.GetAccountInfo(t.Context()); err != nil {
				t.Errorf("the next call: %v", err)
			}
		})
	}
}

// TestClientTimeoutUnderLatency checks that a latency beyond the client's
// timeout is an ErrCommunication while the call is applied: the other
// ambiguous case.
func TestClientTimeoutUnderLatency(t *testing.T) {
	t.Parallel()
	mock, c := clientFixture(t, "acquire_resources:latency=2s", clearinghouse.WithTimeout(200*time.Millisecond))
	start := time.Now()
	_, err := c.AcquireWAN(t.Context(), 2)
	if !errors.Is(err, clearinghouse.ErrCommunication) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("have %v, want ErrCommunication and a deadline", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the client waited %v", d)
	}
	if n := holding(t, mock); n != 2 {
		t.Errorf("holding %d vessels, want 2: the call was applied", n)
	}
}

// TestClientRetriesOnlyReads checks that the client's retry policy, which
// retries read-only calls after a transport failure, gets through two
// resets of get_resource_info and never repeats an acquire.
func TestClientRetriesOnlyReads(t *testing.T) {
	t.Parallel()
	mock, c := clientFixture(t, "get_resource_info:reset_before,next=2;acquire_resources:reset_after,next=1",
		clearinghouse.WithRetries(3, time.Millisecond))
	if _, err := c.AcquireWAN(t.Context(), 2); !errors.Is(err, clearinghouse.ErrCommunication) {
		t.Fatalf("acquire: have %v, want ErrCommunication", err)
	}
	vs, err := c.GetResourceInfo(t.Context())
	if err != nil || len(vs) != 2 {
		t.Fatalf("get_resource_info after two resets: %d vessels, %v", len(vs), err)
	}
	if fs := mock.Faults(); fs.Fired[0] != 2 || fs.Fired[1] != 1 {
		t.Errorf("fired %v, want 2 and 1", fs.Fired)
	}
	r, err := mock.Report()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		if f.Kind == mockserver.FindingDuplicateAcquire {
			t.Errorf("a client that looked was reported: %s", f.Message)
		}
	}
}

// TestReportDuplicateAfterClientTimeout: an acquire whose answer the
// client gave up on (injected latency 3 s, client timeout 1 s) was
// applied, and its answer never delivered; acquiring again without a look
// is a duplicate acquisition, as after a reset. A client that looks first,
// or whose answer arrives, is not reported.
func TestReportDuplicateAfterClientTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		look    bool
		dup     bool
	}{
		{"gives up, acquires again", time.Second, false, true},
		{"gives up, looks, acquires again", time.Second, true, false},
		{"waits for the answer, acquires again", time.Minute, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mock, c := clientFixture(t, "acquire_resources:latency=3s,next=1", clearinghouse.WithTimeout(tc.timeout))
			_, err := c.AcquireWAN(t.Context(), 2)
			if gaveUp := tc.timeout < 3*time.Second; gaveUp != errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the first acquire: %v", err)
			}
			if tc.look {
				if vs, err := c.GetResourceInfo(t.Context()); err != nil || len(vs) != 2 {
					t.Fatalf("the look: %d vessels, %v; want the 2 the lost answer acquired", len(vs), err)
				}
			}
			if _, err := c.AcquireWAN(t.Context(), 2); err != nil {
				t.Fatal(err)
			}
			r, err := mock.Report()
			if err != nil {
				t.Fatal(err)
			}
			var dups []mockserver.Finding
			for _, f := range r.Findings {
				if f.Kind == mockserver.FindingDuplicateAcquire {
					dups = append(dups, f)
				}
			}
			switch {
			case !tc.dup && len(dups) > 0:
				t.Errorf("reported: %s", dups[0].Message)
			case tc.dup && len(dups) != 1:
				t.Errorf("%d duplicate_acquire findings, want 1 (findings: %+v)", len(dups), r.Findings)
			case tc.dup && (dups[0].Evidence.Held != 4 || dups[0].Evidence.Target != 2):
				t.Errorf("evidence %+v, want held 4, target 2", dups[0].Evidence)
			}
		})
	}
}
