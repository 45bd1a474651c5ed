// Command quickstart is the README's example: as the user that
// CLEARINGHOUSE_USERNAME and CLEARINGHOUSE_API_KEY name, on the
// clearinghouse at CLEARINGHOUSE_URL, it looks at the account, acquires
// two WAN vessels, renews them, lists them and releases them.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	client, err := clearinghouse.New(os.Getenv("CLEARINGHOUSE_USERNAME"),
		clearinghouse.WithAPIKey(os.Getenv("CLEARINGHOUSE_API_KEY")),
		clearinghouse.WithURL(os.Getenv("CLEARINGHOUSE_URL")))
	if err != nil {
		log.Fatal(err) // an empty username or URL, say
	}

	info, err := client.GetAccountInfo(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("user", info.Username, "may hold", info.MaxVessels, "vessels")

	vessels, err := client.AcquireWAN(ctx, 2)
	if err != nil {
		log.Fatal(err) // errors.Is(err, clearinghouse.ErrNotEnoughCredits), ...
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
		fmt.Println(v.NodeIP, "expires in", v.ExpiresIn.Round(time.Hour))
	}

	if err := client.ReleaseResources(ctx, clearinghouse.Handles(held)); err != nil {
		log.Fatal(err)
	}
	fmt.Println("released", len(held), "vessels")
}
