package nodemanager_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"strconv"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/nmtest"
	"github.com/seattletestbed/clearinghouse-go/nodemanager"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// keyPair makes a reproducible test key (real keys come from the
// clearinghouse and have 1024 bits).
func keyPair(seed byte) (pub, priv string) {
	p, k, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{seed}), 512)
	if err != nil {
		log.Fatal(err)
	}
	return p.String(), k.String()
}

// A vessel leased from the clearinghouse, used through its node manager.
// The node here is a small test node on 127.0.0.1 whose vessel v1 the
// user may use.
func Example() {
	nodeKey, _ := keyPair(1)
	ownerKey, _ := keyPair(2)
	userKey, userPrivateKey := keyPair(3)
	node, err := nmtest.Start(nodeKey)
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()
	node.AddVessel("v1", ownerKey, userKey)
	host, port, _ := net.SplitHostPort(node.Addr())
	p, _ := strconv.Atoi(port)
	// What the clearinghouse reports for the vessel (get_resource_info).
	leased := clearinghouse.Vessel{NodeID: nodeKey, NodeIP: host, NodePort: p, VesselID: "v1"}

	nm, err := nodemanager.New(nodemanager.WithPrivateKey(userPrivateKey))
	if err != nil {
		log.Fatal(err)
	}
	v, err := nm.Vessel(leased)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := v.AddFile(ctx, "hello.r2py", []byte("log('hello')\n")); err != nil {
		log.Fatal(err)
	}
	status, err := v.StartEx(ctx, "repyV2", "hello.r2py")
	if err != nil {
		log.Fatal(err)
	}
	files, err := v.ListFiles(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(status, files)

	_, err = v.RetrieveFile(ctx, "missing.txt")
	fmt.Println(errors.Is(err, nodemanager.ErrFileNotFound))
	err = v.ChangeOwnerInformation(ctx, "mine now") // the owner's call
	var e *nodemanager.Error
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, nodemanager.ErrInsufficientPermissions), e.Call, e.Status, e.Text)
	}
	// Output:
	// Started [hello.r2py]
	// true
	// true ChangeOwnerInformation Error Insufficient Permissions
}
