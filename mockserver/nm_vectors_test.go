package mockserver

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// The golden vectors of internal/nmproto/testdata (made by running the
// original node manager), replayed against the mock's node managers over
// TCP: for every verification scenario, step by step, the reply and the
// trailer the vessel stores; for every signing vector, the fresh node's
// verdict.

type nmVectorFile struct {
	Keys map[string]struct {
		Public string `json:"publickey_string"`
	} `json:"keys"`
	Signing struct {
		Vectors []struct {
			ID     string `json:"id"`
			Signed string `json:"signed_request"`
			Fresh  struct {
				Status     string `json:"status"`
				Dispatched []any  `json:"dispatched_to"`
			} `json:"node_result_fresh_state"`
		} `json:"vectors"`
		Timestamp struct {
			Float float64 `json:"float"`
		} `json:"timestamp"`
	} `json:"signing"`
	Setup struct {
		Identity string `json:"identity (signeddata_set_identity)"`
		Nodename string `json:"nodename"`
		Vessels  map[string]struct {
			Status    string   `json:"status"`
			Advertise bool     `json:"advertise"`
			OwnerKey  string   `json:"ownerkey"`
			OwnerInfo string   `json:"ownerinformation"`
			UserKeys  []string `json:"userkeys"`
		} `json:"vessels"`
	} `json:"node_setup_for_verification"`
	Verification []struct {
		ID    string  `json:"id"`
		Now   float64 `json:"node_time_now"`
		Steps []struct {
			Label string `json:"label"`
			Req   string `json:"request"`
			Node  struct {
				Reply      string            `json:"reply"`
				Dispatched []any             `json:"dispatched_to"`
				Stored     map[string]string `json:"oldmetadata_stored"`
			} `json:"node"`
		} `json:"steps"`
	} `json:"verification"`
}

var nmVectors = sync.OnceValues(func() (*nmVectorFile, error) {
	data, err := os.ReadFile("../internal/nmproto/testdata/vectors.json")
	if err != nil {
		return nil, err
	}
	var f nmVectorFile
	return &f, json.Unmarshal(data, &f)
})

func loadNMVectors(t *testing.T) *nmVectorFile {
	t.Helper()
	f, err := nmVectors()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Verification) != 35 || len(f.Signing.Vectors) != 48 {
		t.Fatalf("%d scenarios and %d signing vectors, want 35 and 48", len(f.Verification), len(f.Signing.Vectors))
	}
	return f
}

// vectorNode starts a server whose node is the vectors' (key B, vessels
// v1 and v2 set up as the original's were) at node time now, and returns
// the server and the node manager's address.
func vectorNode(t *testing.T, f *nmVectorFile, now float64) (*Server, string) {
	t.Helper()
	clock := &nmClock{}
	clock.set(ntpToTime(now))
	s := nmServer(t, withNMClock(clock))
	node, err := s.AddNode(mockapi.NodeSpec{ID: f.Setup.Identity, IP: f.Setup.Nodename, Vessels: []mockapi.VesselSpec{
		{Name: "v1", Ports: []int{63100}}, {Name: "v2", Ports: []int{63101}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.update(func(st *state, _ int64) error {
		for _, name := range []string{"v1", "v2"} {
			vs := f.Setup.Vessels[name]
			v, _ := st.nmFindVessel(0, name)
			e := st.nmEntry(v, true)
			e.owner, e.ownerInfo, e.noAdvertise, e.users = vs.OwnerKey, vs.OwnerInfo, !vs.Advertise, vs.UserKeys
			if vs.Status != statusFresh {
				e.status = vs.Status
			}
		}
		return nil
	}))
	return s, nmAddr(t, s, node.ID+":v1")
}

// mockAnswer is the mock's own answer to a request the engine accepted
// and dispatched, for the calls the vectors make, on the vectors' node.
func mockAnswer(t *testing.T, f *nmVectorFile, nodeIP, request string) string {
	t.Helper()
	call, _, _ := strings.Cut(request, "|")
	switch call {
	case nmproto.StartVesselEx: // v2 is Started
		return "Vessel has already been started\nError"
	case nmproto.ReadVesselLog, nmproto.ChangeOwnerInformation, nmproto.AddFileToVessel:
		return "\nSuccess"
	case nmproto.GetVesselResources: // the trailer is glued to the vessel's name
		return "No such vessel\nError"
	case nmproto.GetVessels:
		return ""
	}
	t.Fatalf("no answer known for %q", call)
	return ""
}

func TestNodeManagerVerificationVectors(t *testing.T) {
	t.Parallel()
	f := loadNMVectors(t)
	for _, sc := range f.Verification {
		t.Run(sc.ID, func(t *testing.T) {
			t.Parallel()
			s, addr := vectorNode(t, f, sc.Now)
			handle := f.Setup.Identity + ":v2"
			for _, step := range sc.Steps {
				have := nmSay(t, addr, step.Req)
				want := step.Node.Reply
				if len(step.Node.Dispatched) > 0 || step.Req == nmproto.GetVessels {
					want = mockAnswer(t, f, addr, step.Req)
				}
				if step.Req == nmproto.GetVessels {
					// The original's text but for the Nodename line: the
					// mock shows the node at its loopback address.
					ip, _, _ := strings.Cut(addr, ":")
					want = strings.Replace(step.Node.Reply, "Nodename: "+f.Setup.Nodename+"\n", "Nodename: "+ip+"\n", 1)
				}
				if have != want {
					t.Errorf("%s: have %q\nwant %q", step.Label, have, want)
				}
				if stored, ok := step.Node.Stored["v2"]; ok {
					if meta, _ := nmMeta(t, s, handle); meta != stored {
						t.Errorf("%s: stored %q\nwant %q", step.Label, meta, stored)
					}
				}
			}
			if sc.ID == "owner_call_by_owner" {
				v, err := s.VesselNodeManager(handle)
				must(t, err)
				reply := nmSay(t, addr, nmproto.GetVessels)
				if !strings.Contains(reply, "OwnerInfo: new info\n") {
					t.Errorf("after %s (%+v) GetVessels says %q", sc.ID, v, reply)
				}
			}
		})
	}
}

func TestNodeManagerSigningVectorsFreshNode(t *testing.T) {
	t.Parallel()
	f := loadNMVectors(t)
	for _, sv := range f.Signing.Vectors {
		t.Run(sv.ID, func(t *testing.T) {
			t.Parallel()
			_, addr := vectorNode(t, f, f.Signing.Timestamp.Float+1)
			have := nmSay(t, addr, sv.Signed)
			var want string
			if len(sv.Fresh.Dispatched) > 0 {
				want = mockAnswer(t, f, addr, sv.Signed)
			} else {
				want = "Unknown Call\nError" // a signed GetVessels
			}
			if have != want {
				t.Errorf("have %q\nwant %q (the original: %s)", have, want, sv.Fresh.Status)
			}
		})
	}
}
