package clearinghouse_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/clearinghouse/clearinghousetest"
)

// The original library's example flow: look at the account, acquire two
// WAN vessels, renew them, list what is held, release it all.
func Example() {
	srv, err := clearinghousetest.Start() // an in-process mock, with a client for its account
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	ctx := context.Background()
	client := srv.Client

	info, err := client.GetAccountInfo(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("user", info.Username, "may hold", info.MaxVessels, "vessels")

	vessels, err := client.AcquireWAN(ctx, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("acquired", len(vessels), "WAN vessels")

	if err := client.RenewResources(ctx, clearinghouse.Handles(vessels)); err != nil {
		log.Fatal(err)
	}

	held, err := client.GetResourceInfo(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range held {
		fmt.Println("holding a vessel that expires in", v.ExpiresIn.Round(time.Hour))
	}

	if err := client.ReleaseResources(ctx, clearinghouse.Handles(held)); err != nil {
		log.Fatal(err)
	}
	held, _ = client.GetResourceInfo(ctx)
	fmt.Println("holding", len(held), "vessels")
	// Output:
	// user alice may hold 10 vessels
	// acquired 2 WAN vessels
	// holding a vessel that expires in 168h0m0s
	// holding a vessel that expires in 168h0m0s
	// holding 0 vessels
}

// Without the API key, the client obtains it with the private key on its
// first call.
func ExampleWithPrivateKey() {
	srv, err := clearinghousetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	acct := srv.Account

	client, err := clearinghouse.New(acct.Username,
		clearinghouse.WithPrivateKey(acct.PrivateKey),
		clearinghouse.WithURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	key, err := client.GetPublicKey(context.Background())
	fmt.Println(key == acct.PublicKey, err)
	// Output: true <nil>
}

func ExampleClient_AcquireResources_notEnoughCredits() {
	srv, err := clearinghousetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	_, err = srv.Client.AcquireResources(context.Background(), clearinghouse.Random, 11)
	var ce *clearinghouse.Error
	if errors.As(err, &ce) && errors.Is(err, clearinghouse.ErrNotEnoughCredits) {
		fmt.Println(ce.Code, ce.Msg)
	}
	// Output: 103 You do not have enough vessel credits to acquire the number of vessels requested.
}
