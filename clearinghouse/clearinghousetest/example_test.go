package clearinghousetest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse/clearinghousetest"
)

// Outside a test, Start and Close take the place of New.
func ExampleStart() {
	srv, err := clearinghousetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	info, err := srv.Client.GetAccountInfo(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Username, "may hold", info.MaxVessels, "vessels")
	// Output:
	// alice may hold 10 vessels
}
