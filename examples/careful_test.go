package examples_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/clearinghouse/clearinghousetest"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// acquireCarefully acquires n vessels once, whatever happens to the
// answer. A call that fails without a fault from the clearinghouse (a
// reset, a timeout, an HTTP error, an answer cut short) may have been
// applied: look at the holdings before trying again.
func acquireCarefully(ctx context.Context, c *clearinghouse.Client, typ clearinghouse.ResourceType, n int) ([]clearinghouse.Vessel, error) {
	before, err := c.GetResourceInfo(ctx)
	if err != nil {
		return nil, err
	}
	vessels, err := c.AcquireResources(ctx, typ, n)
	if !errors.Is(err, clearinghouse.ErrCommunication) {
		return vessels, err // acquired, or the clearinghouse said no
	}
	after, lookErr := c.GetResourceInfo(ctx)
	if lookErr != nil {
		return nil, errors.Join(err, lookErr)
	}
	held := clearinghouse.Handles(before)
	fresh := slices.DeleteFunc(after, func(v clearinghouse.Vessel) bool { return slices.Contains(held, v.Handle) })
	switch len(fresh) {
	case n:
		return fresh, nil // applied; only the answer was lost
	case 0:
		return c.AcquireResources(ctx, typ, n)
	}
	return nil, fmt.Errorf("%d new vessels, %d asked for: %w", len(fresh), n, err)
}

func TestAcquireSurvivesAReset(t *testing.T) {
	for _, faults := range []string{
		"acquire_resources:reset_after,next=1",  // applied, then the answer is lost
		"acquire_resources:reset_before,next=1", // lost before it is applied
		"acquire_resources:truncate,next=1",     // applied, the answer cut short
		"acquire_resources:unavailable,next=1",  // 503: not applied
	} {
		t.Run(faults, func(t *testing.T) {
			profile, err := mockserver.ParseFaultSpec(faults)
			if err != nil {
				t.Fatal(err)
			}
			srv := clearinghousetest.New(t, mockserver.WithFaults(profile)) // a mock, its account and a client
			client := srv.Client

			vessels, err := acquireCarefully(t.Context(), client, clearinghouse.WAN, 2)
			if err != nil || len(vessels) != 2 {
				t.Fatalf("acquired %d vessels (%v), want 2", len(vessels), err)
			}
			if err := client.ReleaseResources(t.Context(), clearinghouse.Handles(vessels)); err != nil {
				t.Fatal(err)
			}
			report, err := srv.Mock.Report() // no leak, no duplicate acquisition, ...
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range report.Findings {
				t.Errorf("%s: %s", f.Kind, f.Message)
			}
		})
	}
}
