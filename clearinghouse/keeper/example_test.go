package keeper_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/clearinghouse/clearinghousetest"
	"github.com/seattletestbed/clearinghouse-go/clearinghouse/keeper"
)

// Keep two vessels alive until the context ends. The 5-hour margin makes
// the keeper renew the freshly acquired vessels (4 hours left) at once;
// the default margin of 2 hours would renew them 2 hours from now.
func ExampleKeeper() {
	srv, err := clearinghousetest.Start() // an in-process mock, with a client for its account
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	client := srv.Client

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vessels, err := client.AcquireWAN(ctx, 2)
	if err != nil {
		log.Fatal(err)
	}

	k, err := keeper.New(client, clearinghouse.Handles(vessels),
		keeper.WithRenewMargin(5*time.Hour),
		keeper.WithReplacement(clearinghouse.WAN))
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()

	// Print the events up to the first renewal. Every wait has a
	// deadline, so that a keeper that never renews fails the example
	// instead of hanging it.
	timeout := time.After(time.Minute)
watch:
	for {
		select {
		case ev, open := <-k.Events():
			if !open { // Run returned
				break watch
			}
			if errors.Is(ev.Err, clearinghouse.ErrNotEnoughCredits) {
				fmt.Println("over the credit limit: release vessels elsewhere")
			} else {
				fmt.Println(ev)
			}
			if ev.Kind == keeper.EventRenewed {
				break watch
			}
		case <-timeout:
			fmt.Println("no renewal within a minute")
			break watch
		}
	}
	// ExpiresIn is the lease left by the clearinghouse's clock. (ExpiresAt
	// is by the keeper's clock, and conservative: this keeper has not yet
	// measured how fast the clearinghouse's clock runs, and until it has
	// it assumes as fast as the mock allows.)
	for _, v := range k.Snapshot().Vessels {
		fmt.Println("held:", v.Held, "lease left:", v.ExpiresIn.Round(time.Hour))
	}

	cancel() // Run returns nil; the vessels stay held until they expire
	select {
	case err := <-done:
		fmt.Println("Run returned", err)
	case <-time.After(time.Minute):
		fmt.Println("Run did not return")
	}

	// Before reporting them kept, look once more.
	if err := k.Verify(context.Background()); err != nil {
		log.Fatal(err)
	}
	held := 0
	for _, v := range k.Snapshot().Vessels {
		if v.Held {
			held++
		}
	}
	fmt.Println("still held:", held)
	// Output:
	// renewed 2 vessels
	// held: true lease left: 168h0m0s
	// held: true lease left: 168h0m0s
	// Run returned <nil>
	// still held: 2
}
