package clearinghouse_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// startMock runs an in-process mock clearinghouse with one account and
// returns its XML-RPC URL, the account and a function to stop it.
func startMock() (string, mockapi.Account, func()) {
	mock, err := mockserver.New(mockserver.WithKeyBits(512))
	if err != nil {
		log.Fatal(err)
	}
	acct, err := mock.AddAccount(mockapi.AccountSpec{
		Username: "alice", Password: "correct horse", Affiliation: "Example University",
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	return srv.URL + "/xmlrpc/", acct, srv.Close
}

// The original library's example flow: look at the account, acquire two
// WAN vessels, renew them, list what is held, release it all.
func Example() {
	url, acct, stop := startMock()
	defer stop()

	ctx := context.Background()
	client, err := clearinghouse.New(acct.Username,
		clearinghouse.WithAPIKey(acct.APIKey),
		clearinghouse.WithURL(url))
	if err != nil {
		log.Fatal(err)
	}

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
	url, acct, stop := startMock()
	defer stop()

	client, err := clearinghouse.New(acct.Username,
		clearinghouse.WithPrivateKey(acct.PrivateKey),
		clearinghouse.WithURL(url))
	if err != nil {
		log.Fatal(err)
	}
	key, err := client.GetPublicKey(context.Background())
	fmt.Println(key == acct.PublicKey, err)
	// Output: true <nil>
}

func ExampleClient_AcquireResources_notEnoughCredits() {
	url, acct, stop := startMock()
	defer stop()

	client, _ := clearinghouse.New(acct.Username, clearinghouse.WithAPIKey(acct.APIKey), clearinghouse.WithURL(url))
	_, err := client.AcquireResources(context.Background(), clearinghouse.Random, 11)
	var ce *clearinghouse.Error
	if errors.As(err, &ce) && errors.Is(err, clearinghouse.ErrNotEnoughCredits) {
		fmt.Println(ce.Code, ce.Msg)
	}
	// Output: 103 You do not have enough vessel credits to acquire the number of vessels requested.
}
