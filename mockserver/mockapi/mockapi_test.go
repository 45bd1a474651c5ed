package mockapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// TestLeaf checks that the package imports only the standard library, so
// that importing it (as the conformance suite does) links nothing of the
// mock.
func TestLeaf(t *testing.T) {
	t.Parallel()
	goTool := testskip.GoCommand(t, "the dependency check")
	const self = "github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", self).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	if have := strings.Fields(string(out)); !reflect.DeepEqual(have, []string{self}) {
		t.Errorf("mockapi depends on %q outside the standard library", have)
	}
}

// TestJSON fixes the JSON form of each type, both ways: what the mock
// writes and the suite reads, so a renamed field or tag shows up here.
func TestJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	scale, credits, active := 0.5, 3, false
	for _, tc := range []struct {
		name string
		v    any
		json string
	}{
		{"AccountSpec", AccountSpec{Username: "alice", Password: "secret1", Affiliation: "U", APIKey: "K",
			PublicKey: "3 55", PrivateKey: "27 5 11", UserPort: 63100, FreeCredits: NoFreeCredits, Inactive: true},
			`{"username":"alice","password":"secret1","affiliation":"U","api_key":"K","public_key":"3 55",` +
				`"private_key":"27 5 11","user_port":63100,"free_credits":-1,"inactive":true}`},
		{"AccountSpec with defaults", AccountSpec{Username: "bob", Password: "secret2", Affiliation: "U"},
			`{"username":"bob","password":"secret2","affiliation":"U"}`},
		{"NodeSpec with the template", NodeSpec{IP: "10.0.0.1"}, `{"ip":"10.0.0.1"}`},
		{"NodeSpec without vessels", NodeSpec{ID: "n", IP: "NAT$n", Port: 2000, Inactive: true, Broken: true, Vessels: []VesselSpec{}},
			`{"id":"n","ip":"NAT$n","port":2000,"inactive":true,"broken":true,"vessels":[]}`},
		{"NodeSpec with vessels", NodeSpec{IP: "10.0.0.1", Vessels: []VesselSpec{{Name: "v2", Ports: []int{63100}}}},
			`{"ip":"10.0.0.1","vessels":[{"name":"v2","ports":[63100]}]}`},
		{"Account", Account{Username: "alice", Password: "secret1", APIKey: "K", PublicKey: "3 55", PrivateKey: "27 5 11",
			Affiliation: "U", UserPort: 63100, FreeCredits: 10, MaxVessels: 20, Donations: []string{"n"}, Vessels: 1, Active: true},
			`{"username":"alice","public_key":"3 55","affiliation":"U","user_port":63100,"free_credits":10,` +
				`"max_vessels":20,"donations":["n"],"vessels":1,"active":true}`},
		{"Credentials", Credentials{Username: "alice", Password: "secret1", APIKey: "K", PublicKey: "3 55", PrivateKey: "27 5 11"},
			`{"username":"alice","password":"secret1","api_key":"K","public_key":"3 55","private_key":"27 5 11"}`},
		{"free Vessel", Vessel{Handle: "n:v2", NodeID: "n", Name: "v2", NodeIP: "10.0.0.1", NodePort: 1224, NodeActive: true,
			Ports: []int{63100}, Dirty: true, DirtySince: at},
			`{"handle":"n:v2","node_id":"n","name":"v2","node_ip":"10.0.0.1","node_port":1224,"node_active":true,` +
				`"node_broken":false,"ports":[63100],"dirty":true,"dirty_since":"2030-01-02T03:04:05.000000006Z","available":false}`},
		{"owned Vessel", Vessel{Handle: "n:v2", Owner: "alice", Acquired: at, Expires: at.Add(time.Hour), Ports: []int{}},
			`{"handle":"n:v2","node_id":"","name":"","node_ip":"","node_port":0,"node_active":false,"node_broken":false,` +
				`"ports":[],"owner":"alice","acquired":"2030-01-02T03:04:05.000000006Z","expires":"2030-01-02T04:04:05.000000006Z",` +
				`"dirty":false,"available":false}`},
		{"Node", Node{ID: "n", IP: "10.0.0.1", Port: 1224, Active: true, Donor: "alice", Failure: Failure{Next: 2}, Vessels: []Vessel{}},
			`{"id":"n","ip":"10.0.0.1","port":1224,"active":true,"broken":false,"donor":"alice",` +
				`"failure":{"always":false,"next":2},"vessels":[]}`},
		{"AccountHoldings", AccountHoldings{Account: Account{Username: "bob", Donations: []string{}}, Holdings: []Vessel{}},
			`{"username":"bob","public_key":"","affiliation":"","user_port":0,"free_credits":0,"max_vessels":0,` +
				`"donations":[],"vessels":0,"active":false,"holdings":[]}`},
		{"FailureChange for a node", FailureChange{NodeID: "n", Always: true}, `{"node_id":"n","always":true}`},
		{"FailureChange for a rate", FailureChange{Rate: &scale}, `{"rate":0.5}`},
		{"ClockChange", ClockChange{Scale: &scale}, `{"scale":0.5}`},
		{"CreditsChange", CreditsChange{FreeCredits: &credits}, `{"free_credits":3}`},
		{"ActiveChange", ActiveChange{Active: &active}, `{"active":false}`},
		{"State", State{Now: at, CleanupDelay: "5s", Vessels: VesselCounts{Total: 4, Owned: 1, Dirty: 1, Available: 2},
			FaultsInjected: map[string]uint64{"latency": 1}},
			`{"now":"2030-01-02T03:04:05.000000006Z","cleanup_delay":"5s","failure_rate":0,"seed":0,"accounts":0,"nodes":0,` +
				`"live_subnets":0,"vessels":{"total":4,"owned":1,"dirty":1,"available":2},"persistent":false,"faults_injected":{"latency":1}}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(b) != tc.json {
			t.Errorf("%s: JSON\nhave %s\nwant %s", tc.name, b, tc.json)
		}
		back := reflect.New(reflect.TypeOf(tc.v))
		if err := json.Unmarshal([]byte(tc.json), back.Interface()); err != nil {
			t.Errorf("%s: decoding %s: %v", tc.name, tc.json, err)
			continue
		}
		want := tc.v
		if a, ok := want.(Account); ok { // the credentials stay out of the JSON
			a.Password, a.APIKey, a.PrivateKey = "", "", ""
			want = a
		}
		if have := back.Elem().Interface(); !reflect.DeepEqual(have, want) {
			t.Errorf("%s: decoded\nhave %#v\nwant %#v", tc.name, have, want)
		}
	}
}

// TestNodeSpecVessels checks that JSON keeps NodeSpec's distinction
// between no vessel list (the template) and an empty one.
func TestNodeSpecVessels(t *testing.T) {
	t.Parallel()
	for body, wantNil := range map[string]bool{`{"ip":"10.0.0.1"}`: true, `{"ip":"10.0.0.1","vessels":null}`: true, `{"ip":"10.0.0.1","vessels":[]}`: false} {
		var n NodeSpec
		if err := json.Unmarshal([]byte(body), &n); err != nil {
			t.Fatal(err)
		}
		if (n.Vessels == nil) != wantNil {
			t.Errorf("%s: Vessels %#v, want nil %t", body, n.Vessels, wantNil)
		}
	}
}

// TestSecretsHidden prints and logs an Account and Credentials every way
// fmt and slog can: only the username shows.
func TestSecretsHidden(t *testing.T) {
	t.Parallel()
	a := Account{Username: "alice", Password: "pw-SECRET", APIKey: "KEY-SECRET", PublicKey: "3 55-SECRET",
		PrivateKey: "27 5 11-SECRET", Affiliation: "U"}
	var logged syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logged, nil))
	logger.Info("x", "account", a, "credentials", a.Credentials())
	logger.Info("x", "accounts", []Account{a}, "holdings", AccountHoldings{Account: a})
	outputs := []string{logged.String()}
	for _, v := range []any{a, a.Credentials(), &a, []Account{a}, AccountHoldings{Account: a}, AccountCreated{Account: a, Credentials: a.Credentials()}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			outputs = append(outputs, fmt.Sprintf(verb, v))
		}
	}
	for _, out := range outputs {
		if strings.Contains(out, "SECRET") {
			t.Errorf("a secret shows: %s", out)
		}
		if !strings.Contains(out, "alice") {
			t.Errorf("the username does not show: %s", out)
		}
	}
}

// TestVesselState checks Valid and Has, state by state.
func TestVesselState(t *testing.T) {
	t.Parallel()
	owned := Vessel{Owner: "alice"}
	dirty := Vessel{Dirty: true}
	available := Vessel{Available: true}
	unusable := Vessel{} // free, clean, on a node that is off
	for _, tc := range []struct {
		state VesselState
		valid bool
		has   []Vessel
		not   []Vessel
	}{
		{"", true, []Vessel{owned, dirty, available, unusable}, nil},
		{StateOwned, true, []Vessel{owned}, []Vessel{dirty, available, unusable}},
		{StateDirty, true, []Vessel{dirty}, []Vessel{owned, available, unusable}},
		{StateAvailable, true, []Vessel{available}, []Vessel{owned, dirty, unusable}},
		{StateFree, true, []Vessel{dirty, available, unusable}, []Vessel{owned}},
		{"Owned", false, nil, nil},
	} {
		if tc.state.Valid() != tc.valid {
			t.Errorf("%q.Valid(): have %t", tc.state, !tc.valid)
		}
		for _, v := range tc.has {
			if !tc.state.Has(v) {
				t.Errorf("%q.Has(%+v) is false", tc.state, v)
			}
		}
		for _, v := range tc.not {
			if tc.state.Has(v) {
				t.Errorf("%q.Has(%+v) is true", tc.state, v)
			}
		}
	}
}
