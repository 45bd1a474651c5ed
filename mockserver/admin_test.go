package mockserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

type adminClient struct {
	t   *testing.T
	srv *httptest.Server
}

func newAdmin(t *testing.T, s *Server) *adminClient {
	t.Helper()
	srv := httptest.NewServer(s.adminHandler())
	t.Cleanup(srv.Close)
	return &adminClient{t, srv}
}

// do sends a request and decodes the JSON reply into out (if not nil).
func (c *adminClient) do(method, path, body string, wantCode int, out any) string {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantCode {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, wantCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		c.t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	if wantCode >= 400 {
		var e mockapi.ErrorReply
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			c.t.Fatalf("%s %s: error body %s is not {\"error\": ...}", method, path, raw)
		}
	}
	return string(raw)
}

func TestAdminAccounts(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithKeyBits(512))
	c := newAdmin(t, s)
	var created mockapi.AccountCreated
	c.do("POST", "/admin/accounts", `{"username":"alice","password":"secret1","affiliation":"UWash",
		"user_port":63150,"free_credits":-1}`, 201, &created)
	if created.Credentials.APIKey == "" || created.Credentials.PrivateKey == "" || created.Credentials.Password != "secret1" {
		t.Fatalf("credentials %+v", created.Credentials)
	}
	if created.Account.UserPort != 63150 || created.Account.FreeCredits != 0 || !created.Account.Active {
		t.Fatalf("account %+v", created.Account)
	}
	keys := testKeys()
	body, _ := json.Marshal(map[string]any{"username": "bob", "password": "secret2", "affiliation": "UWash",
		"public_key": keys[0], "private_key": keys[1], "api_key": "BOBKEY", "inactive": true})
	c.do("POST", "/admin/accounts", string(body), 201, nil)

	list := c.do("GET", "/admin/accounts", "", 200, nil)
	for _, secret := range []string{"secret1", "secret2", created.Credentials.APIKey, "BOBKEY",
		strings.Fields(created.Credentials.PrivateKey)[0], strings.Fields(keys[1])[0]} {
		if strings.Contains(list, secret) {
			t.Fatalf("account list leaks a secret: %s", list)
		}
	}
	var one mockapi.AccountHoldings
	single := c.do("GET", "/admin/accounts/bob", "", 200, &one)
	if one.Active || one.Holdings == nil || strings.Contains(single, "BOBKEY") {
		t.Fatalf("GET one: %s", single)
	}
	var creds mockapi.Credentials
	c.do("GET", "/admin/accounts/bob/credentials", "", 200, &creds)
	if creds.APIKey != "BOBKEY" || creds.PrivateKey != keys[1] {
		t.Fatalf("credentials %+v", creds)
	}
	c.do("POST", "/admin/accounts/alice/credits", `{"free_credits": 25}`, 200, &one)
	if one.FreeCredits != 25 || one.MaxVessels != 25 {
		t.Fatalf("after credits: %+v", one)
	}
	c.do("POST", "/admin/accounts/bob/active", `{"active": true}`, 200, &one)
	if !one.Active {
		t.Fatal("not activated")
	}
	// Errors.
	c.do("POST", "/admin/accounts", `{"username":"alice","password":"secret1","affiliation":"UWash"}`, 409, nil)
	c.do("POST", "/admin/accounts", `{"username":"x","password":"secret1","affiliation":"UWash"}`, 400, nil)
	c.do("POST", "/admin/accounts", `{"username":"carol","pasword":"typo"}`, 400, nil)
	c.do("POST", "/admin/accounts", `{not json`, 400, nil)
	c.do("POST", "/admin/accounts", `{"username":"c1"} {"username":"c2"}`, 400, nil)
	c.do("GET", "/admin/accounts/nobody", "", 404, nil)
	c.do("GET", "/admin/accounts/nobody/credentials", "", 404, nil)
	c.do("POST", "/admin/accounts/alice/credits", `{}`, 400, nil)
	c.do("POST", "/admin/accounts/alice/credits", `{"free_credits": -1}`, 400, nil)
	c.do("GET", "/admin/nothing", "", 404, nil)
	c.do("DELETE", "/admin/accounts", "", 404, nil)
}

// TestAdminFreeCreditsRule checks that POST /admin/accounts reads
// free_credits by the rule of AccountSpec.FreeCredits: absent or 0 is
// DefaultFreeCredits, NoFreeCredits (-1) is none, anything else is exact.
func TestAdminFreeCreditsRule(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithKeyBits(512))
	c := newAdmin(t, s)
	for i, tc := range []struct {
		field string // the free_credits member, or "" for none
		code  int
		want  int
	}{
		{"", 201, DefaultFreeCredits},
		{`, "free_credits": 0`, 201, DefaultFreeCredits},
		{`, "free_credits": -1`, 201, 0},
		{`, "free_credits": 25`, 201, 25},
		{`, "free_credits": -2`, 400, 0},
		{`, "free_credits": 1073741825`, 400, 0},
	} {
		body := fmt.Sprintf(`{"username": "user%d", "password": "secret1", "affiliation": "UWash"%s}`, i, tc.field)
		var created mockapi.AccountCreated
		var out any
		if tc.code == 201 {
			out = &created
		}
		c.do("POST", "/admin/accounts", body, tc.code, out)
		if tc.code == 201 && (created.Account.FreeCredits != tc.want || created.Account.MaxVessels != tc.want) {
			t.Errorf("free_credits member %q: have free %d, max %d; want %d", tc.field,
				created.Account.FreeCredits, created.Account.MaxVessels, tc.want)
		}
	}
}

func TestAdminNodesAndVessels(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithPopulation(PopulationConfig{Nodes: 50, NATFraction: 0.2, Seed: 3}))
	c := newAdmin(t, s)
	var page mockapi.NodeList
	c.do("GET", "/admin/nodes?offset=45&limit=10", "", 200, &page)
	if page.Total != 50 || len(page.Nodes) != 5 || page.Offset != 45 {
		t.Fatalf("page: %d %d %d", page.Total, len(page.Nodes), page.Offset)
	}
	c.do("GET", "/admin/nodes?nat=true", "", 200, &page)
	if page.Total != 10 {
		t.Fatalf("nat: %d", page.Total)
	}
	c.do("GET", "/admin/nodes?limit=0", "", 400, nil)
	c.do("GET", "/admin/nodes?offset=-1", "", 400, nil)
	c.do("GET", "/admin/nodes?nat=maybe", "", 400, nil)

	var added mockapi.NodesAdded
	c.do("POST", "/admin/nodes", `{"id":"n1","ip":"10.20.30.1"}`, 201, &added)
	if len(added.Nodes) != 1 || len(added.Nodes[0].Vessels) != 8 || added.Nodes[0].Port != 1224 {
		t.Fatalf("added %+v", added)
	}
	c.do("POST", "/admin/nodes", `[{"id":"n2","ip":"10.20.30.2","port":2888},
		{"id":"n3","ip":"NAT$ab","vessels":[{"name":"v4","ports":[63100,63101]}]}]`, 201, &added)
	if len(added.Nodes) != 2 || added.Nodes[1].Vessels[0].Name != "v4" {
		t.Fatalf("added %+v", added)
	}
	c.do("POST", "/admin/nodes", `{"id":"n1","ip":"10.20.30.1"}`, 409, nil)
	c.do("POST", "/admin/nodes", `{"id":"n9","ip":"300.1.1.1"}`, 400, nil)
	c.do("GET", "/admin/nodes?subnet=10.20.30", "", 200, &page)
	if page.Total != 2 || page.Nodes[0].ID != "n1" {
		t.Fatalf("subnet: %+v", page)
	}

	var n mockapi.Node
	c.do("POST", "/admin/nodes/n1/active", `{"active": false}`, 200, &n)
	if n.Active {
		t.Fatal("still active")
	}
	c.do("POST", "/admin/nodes/n1/broken", `{"broken": true}`, 200, &n)
	c.do("POST", "/admin/nodes/n1/ip", `{"ip": "10.20.31.1"}`, 200, &n)
	if !n.Broken || n.IP != "10.20.31.1" {
		t.Fatalf("node %+v", n)
	}
	c.do("POST", "/admin/nodes/n1/ip", `{"ip": "nope"}`, 400, nil)
	c.do("POST", "/admin/nodes/zz/active", `{"active": true}`, 404, nil)
	c.do("POST", "/admin/nodes/n1/active", `{}`, 400, nil)

	// A generated node id has a space: percent-encode it.
	c.do("GET", "/admin/nodes?limit=1", "", 200, &page)
	gen := page.Nodes[0].ID
	c.do("GET", "/admin/nodes/"+url.PathEscape(gen), "", 200, &n)
	if n.ID != gen {
		t.Fatalf("got node %s", shorten(n.ID))
	}

	acc := addUser(t, s, "alice")
	c.do("POST", "/admin/donations", `{"node_id":"n2","username":"alice"}`, 201, nil)
	c.do("POST", "/admin/donations", `{"node_id":"n2","username":"alice"}`, 409, nil)
	c.do("POST", "/admin/donations", `{"node_id":"n2","username":"nobody"}`, 404, nil)
	if a, _ := s.Account("alice"); a.MaxVessels != 20 {
		t.Fatalf("after donation: %d", a.MaxVessels)
	}
	c.do("DELETE", "/admin/donations/n2", "", 200, &n)
	if n.Donor != "" {
		t.Fatal("donation not removed")
	}

	acquire(t, s, acc, "wan", 3)
	var vs mockapi.VesselList
	c.do("GET", "/admin/vessels?owner=alice", "", 200, &vs)
	if vs.Total != 3 || vs.Vessels[0].Owner != "alice" || vs.Vessels[0].Expires.IsZero() ||
		!vs.Vessels[0].Expires.Equal(t0.Add(AcquireLease)) {
		t.Fatalf("vessels %+v", vs)
	}
	c.do("GET", "/admin/vessels?state=owned&limit=2", "", 200, &vs)
	if vs.Total != 3 || len(vs.Vessels) != 2 {
		t.Fatalf("owned page %+v", vs)
	}
	c.do("GET", "/admin/vessels?node=n3", "", 200, &vs)
	if vs.Total != 1 {
		t.Fatalf("node filter: %d", vs.Total)
	}
	c.do("GET", "/admin/vessels?state=weird", "", 400, nil)
	c.do("GET", "/admin/vessels?owner=nobody", "", 404, nil)

	var st mockapi.State
	c.do("GET", "/admin/state", "", 200, &st)
	if st.Nodes != 53 || st.Vessels.Owned != 3 {
		t.Fatalf("state %+v", st)
	}
}

func TestAdminControls(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ids := addNodes(t, s, "w", distinctSubnets(110, 4)...)
	acc := addUser(t, s, "alice")
	c := newAdmin(t, s)

	var clock struct {
		Now time.Time `json:"now"`
	}
	c.do("GET", "/admin/clock", "", 200, &clock)
	if !clock.Now.Equal(t0) {
		t.Fatalf("clock %v", clock.Now)
	}
	c.do("POST", "/admin/clock", `{"advance":"90m"}`, 200, &clock)
	if !clock.Now.Equal(t0.Add(90 * time.Minute)) {
		t.Fatalf("after advance: %v", clock.Now)
	}
	c.do("POST", "/admin/clock", `{"set":"2031-05-06T07:08:09Z"}`, 200, &clock)
	if !clock.Now.Equal(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Fatalf("after set: %v", clock.Now)
	}
	c.do("POST", "/admin/clock", `{"set":"yesterday"}`, 400, nil)
	c.do("POST", "/admin/clock", `{"advance":"1 hour"}`, 400, nil)
	c.do("POST", "/admin/clock", `{}`, 400, nil)
	c.do("POST", "/admin/clock", `{"set":"2031-05-06T07:08:09Z","advance":"1h"}`, 400, nil)
	var scaled struct {
		Now   time.Time `json:"now"`
		Scale float64   `json:"scale"`
	}
	c.do("POST", "/admin/clock", `{"scale":2.5}`, 200, &scaled)
	if scaled.Scale != 2.5 || s.TimeScale() != 2.5 {
		t.Fatalf("after scale 2.5: the reply says %v, TimeScale %v", scaled.Scale, s.TimeScale())
	}
	c.do("POST", "/admin/clock", `{"scale":0}`, 200, &scaled)
	if scaled.Scale != 0 || !scaled.Now.Equal(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Fatalf("after scale 0: %+v", scaled)
	}
	c.do("POST", "/admin/clock", `{"scale":-1}`, 400, nil)
	c.do("POST", "/admin/clock", `{"scale":1001}`, 400, nil)
	c.do("POST", "/admin/clock", `{"scale":"fast"}`, 400, nil)
	c.do("POST", "/admin/clock", `{"scale":0,"advance":"1h"}`, 400, nil)

	var delay struct {
		Delay string `json:"delay"`
	}
	c.do("POST", "/admin/cleanup-delay", `{"delay":"5s"}`, 200, &delay)
	if delay.Delay != "5s" || s.CleanupDelay() != 5*time.Second {
		t.Fatalf("delay %v", delay)
	}
	c.do("POST", "/admin/cleanup-delay", `{"delay":"-5s"}`, 400, nil)
	c.do("GET", "/admin/cleanup-delay", "", 200, &delay)

	c.do("POST", "/admin/failures", `{"node_id":"`+ids[0]+`","always":true}`, 200, nil)
	c.do("POST", "/admin/failures", `{"node_id":"`+ids[1]+`","next":2}`, 200, nil)
	if n, _ := s.Node(ids[1]); n.Failure.Next != 2 {
		t.Fatalf("failure %+v", n.Failure)
	}
	_, flt := call(t, s, "acquire_resources", auth(acc), rspec("wan", int64(4)))
	if flt == nil {
		t.Fatal("failures not injected")
	}
	c.do("POST", "/admin/failures", `{"rate":1.5}`, 400, nil)
	c.do("POST", "/admin/failures", `{"rate":0.25}`, 200, nil)
	c.do("POST", "/admin/failures", `{"node_id":"zz","always":true}`, 404, nil)
	c.do("POST", "/admin/failures", `{}`, 400, nil)
	c.do("POST", "/admin/failures", `{"clear":true}`, 200, nil)
	s.Advance(time.Minute) // past the cleanup delay of the rolled-back vessels
	acquire(t, s, acc, "wan", 4)

	c.do("POST", "/admin/seed", `{"seed": 5}`, 200, nil)
	c.do("POST", "/admin/seed", `{}`, 400, nil)
	var st struct {
		Accounts int   `json:"accounts"`
		Nodes    int   `json:"nodes"`
		Seed     int64 `json:"seed"`
	}
	c.do("POST", "/admin/reset", "", 200, &st)
	if st.Accounts != 0 || st.Nodes != 0 || st.Seed != 5 {
		t.Fatalf("after reset: %+v", st)
	}
	// A body larger than 1 MiB is refused.
	big := bytes.Repeat([]byte(" "), 1<<20+10)
	c.do("POST", "/admin/seed", string(big)+`{"seed":1}`, 400, nil)
}

func TestAdminFaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	c := newAdmin(t, s)
	type status struct {
		Profile  json.RawMessage   `json:"profile"`
		Fired    []uint64          `json:"fired"`
		Injected map[string]uint64 `json:"injected"`
	}
	var st status
	c.do("GET", "/admin/faults", "", 200, &st)
	if string(st.Profile) != `{"seed":0,"rules":[]}` || len(st.Fired) != 0 || len(st.Injected) != 7 {
		t.Errorf("no profile: %s %v %v", st.Profile, st.Fired, st.Injected)
	}

	c.do("POST", "/admin/faults", docProfileJSON, 200, &st)
	if fs := s.Faults(); !reflect.DeepEqual(fs.Profile, docProfile) {
		t.Errorf("after POST of the JSON form: %+v", fs.Profile)
	}
	var p FaultProfile
	if err := json.Unmarshal(st.Profile, &p); err != nil || !reflect.DeepEqual(p, docProfile) || len(st.Fired) != 5 {
		t.Errorf("the reply's profile %s (%v), fired %v", st.Profile, err, st.Fired)
	}

	c.do("POST", "/admin/faults", `{"spec": "seed=3;release_resources:truncate,next=2"}`, 200, &st)
	if fs := s.Faults(); fs.Profile.String() != "seed=3;release_resources:truncate,next=2" {
		t.Errorf("after POST of the compact form: %s", fs.Profile)
	}

	for _, bad := range []string{
		`{"spec": "*:explode"}`,
		`{"rules": [{"method": "*", "fault": "explode"}]}`,
		`{"rules": [{"method": "*", "latency": "1h"}]}`,
		`{"spec": "*:reset_after", "rules": []}`,
		`{"rulez": []}`,
		`[1]`,
	} {
		c.do("POST", "/admin/faults", bad, 400, nil)
	}
	if fs := s.Faults(); fs.Profile.String() != "seed=3;release_resources:truncate,next=2" {
		t.Errorf("a refused POST changed the profile: %s", fs.Profile)
	}

	c.do("DELETE", "/admin/faults", "", 200, &st)
	if string(st.Profile) != `{"seed":0,"rules":[]}` || s.faults.on.Load() {
		t.Errorf("after DELETE: %s", st.Profile)
	}
}

// TestAdminFaultsGuarded checks that the admin guard covers the new
// endpoints: a token is required, and a cross-site request is refused.
func TestAdminFaultsGuarded(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithAdmin(true), WithAdminToken("tok-123"))
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	for _, gr := range []guardRequest{
		{name: "no token", method: "POST", path: "/admin/faults", contentType: "application/json", body: `{"spec": "*:reset_before"}`, status: 401},
		{name: "no token, report", method: "GET", path: "/admin/report", status: 401},
		{name: "cross-site", method: "DELETE", path: "/admin/faults", header: map[string]string{"Authorization": "Bearer tok-123", "Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "not JSON", method: "POST", path: "/admin/faults", contentType: "text/plain", body: `{"spec": "*:reset_before"}`, header: map[string]string{"Authorization": "Bearer tok-123"}, status: 415},
		{name: "with token", method: "GET", path: "/admin/report", header: map[string]string{"Authorization": "Bearer tok-123"}, status: 200},
	} {
		if code, _, body := gr.do(t, srv); code != gr.status {
			t.Errorf("%s: status %d, want %d: %s", gr.name, code, gr.status, body)
		}
	}
	if s.faults.on.Load() {
		t.Error("a refused request set a profile")
	}
}
