package mockapi_test

import (
	"encoding/json"
	"fmt"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// A spec is both what a Go test gives mockserver's AddAccount and AddNodes
// and the body of the /admin/ endpoint that does the same.
func Example() {
	spec := mockapi.NodeSpec{ID: "node1", IP: "10.0.0.1",
		Vessels: []mockapi.VesselSpec{{Name: "v2", Ports: []int{63100, 63101}}}}
	body, err := json.Marshal(spec)
	if err != nil {
		panic(err)
	}
	fmt.Printf("POST /admin/nodes %s\n", body)
	// Output:
	// POST /admin/nodes {"id":"node1","ip":"10.0.0.1","vessels":[{"name":"v2","ports":[63100,63101]}]}
}
