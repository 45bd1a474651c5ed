package mockserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// AdminHandler returns the JSON test controls, rooted at /admin/ (mount it
// there without stripping the prefix). The Server's own HTTP handler serves
// it only when WithAdmin(true) was given; AdminHandler itself always works,
// for callers that mount it themselves. The endpoints:
//
//	GET    /admin/state                          counts, clock, settings
//	GET    /admin/accounts                       every account, without secrets
//	POST   /admin/accounts                       add one; the reply holds its credentials
//	                                             (free_credits absent or 0: the default, -1: none)
//	GET    /admin/accounts/{username}            one account and the vessels it holds
//	GET    /admin/accounts/{username}/credentials  password, API key and key pair
//	POST   /admin/accounts/{username}/credits    {"free_credits": 20} (exact: 0 is none)
//	POST   /admin/accounts/{username}/active     {"active": false}
//	GET    /admin/nodes?subnet=&nat=&offset=&limit=  nodes, paged (limit 100 by default)
//	POST   /admin/nodes                          a node spec or an array of them
//	GET    /admin/nodes/{id}                     one node (percent-encode the id)
//	POST   /admin/nodes/{id}/active              {"active": false}
//	POST   /admin/nodes/{id}/broken              {"broken": true}
//	POST   /admin/nodes/{id}/ip                  {"ip": "10.0.0.7"}
//	POST   /admin/donations                      {"node_id": "...", "username": "..."}
//	DELETE /admin/donations/{id}                 remove the node's donation
//	GET    /admin/vessels?owner=&node=&state=&offset=&limit=  vessels, paged
//	POST   /admin/failures                       {"node_id": "...", "always": true, "next": 3},
//	                                             {"rate": 0.2} or {"clear": true}
//	GET    /admin/clock                          {"now": RFC 3339, "scale": 1}
//	POST   /admin/clock                          {"set": "2030-01-01T00:00:00Z"}, {"advance": "4h"}
//	                                             or {"scale": 0} (0 freezes the clock)
//	GET    /admin/cleanup-delay                  {"delay": "5s"}
//	POST   /admin/cleanup-delay                  {"delay": "5s"}
//	POST   /admin/seed                           {"seed": 42}
//	POST   /admin/reset                          back to the generated population
//	GET    /admin/faults                         the fault profile in force, per-rule and per-kind counts
//	POST   /admin/faults                         put a profile in force: {"seed": 7, "rules": [...]}
//	                                             or {"spec": "seed=7;acquire_resources:reset_after,next=1"}
//	DELETE /admin/faults                         no profile: inject nothing
//	GET    /admin/report                         the behaviour report (see Report)
//	GET    /admin/nodemanagers                   the node managers: listeners, disk, calls
//	GET    /admin/vessels/{handle}/nodemanager   what a vessel's node manager holds
//	POST   /admin/vessels/{handle}/nodemanager/listen  make its node listen: {"address": "ip:port"}
//	POST   /admin/vessels/{handle}/nodemanager/log     {"text": "..."}: append to its log
//	POST   /admin/vessels/{handle}/nodemanager/end     its program ends: Started → Terminated
//	POST   /admin/vessels/{handle}/nodemanager/hang    {"wait": "2s"}: its next start hangs
//	                                             (absent: 10s, the original's wait)
//
// Secrets leave the server only in the reply to POST /admin/accounts and
// from the credentials endpoint. Errors are {"error": "..."} with status
// 400 (bad request or value), 404 (no such account, node or endpoint), 409
// (already exists) or 500.
//
// The API defends itself against web pages the developer visits and, with
// WithAdminToken, against other users of the machine. It refuses with 403
// a Host that is not an IP address, localhost or a name given with
// WithAdminHosts (DNS rebinding), and any cross-origin request (an Origin
// that is not the server's own, or Sec-Fetch-Site cross-site or
// same-site); OPTIONS gets 405, so no CORS preflight succeeds. With a
// token, requests without "Authorization: Bearer <token>" get 401.
// Requests other than GET and HEAD that have a body, or any content type,
// need Content-Type application/json (parameters allowed), else 415.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, fn func(r *http.Request) (int, any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			code, body, err := fn(r)
			if err != nil {
				code, body = errorStatus(err), adminError{Error: err.Error()}
			}
			writeJSON(w, code, body)
		})
	}
	h("GET /admin/state", s.adminState)
	h("GET /admin/accounts", s.adminListAccounts)
	h("POST /admin/accounts", s.adminAddAccount)
	h("GET /admin/accounts/{username}", s.adminGetAccount)
	h("GET /admin/accounts/{username}/credentials", s.adminCredentials)
	h("POST /admin/accounts/{username}/credits", s.adminSetCredits)
	h("POST /admin/accounts/{username}/active", s.adminSetAccountActive)
	h("GET /admin/nodes", s.adminListNodes)
	h("POST /admin/nodes", s.adminAddNodes)
	h("GET /admin/nodes/{id}", s.adminGetNode)
	h("POST /admin/nodes/{id}/active", s.adminSetNodeActive)
	h("POST /admin/nodes/{id}/broken", s.adminSetNodeBroken)
	h("POST /admin/nodes/{id}/ip", s.adminSetNodeIP)
	h("POST /admin/donations", s.adminAddDonation)
	h("DELETE /admin/donations/{id}", s.adminRemoveDonation)
	h("GET /admin/vessels", s.adminListVessels)
	h("POST /admin/failures", s.adminFailures)
	h("GET /admin/clock", s.adminGetClock)
	h("POST /admin/clock", s.adminSetClock)
	h("GET /admin/cleanup-delay", s.adminGetCleanupDelay)
	h("POST /admin/cleanup-delay", s.adminSetCleanupDelay)
	h("POST /admin/seed", s.adminSeed)
	h("POST /admin/reset", s.adminReset)
	h("GET /admin/faults", s.adminGetFaults)
	h("POST /admin/faults", s.adminSetFaults)
	h("DELETE /admin/faults", s.adminClearFaults)
	h("GET /admin/report", s.adminReport)
	s.nmAdminRoutes(h)
	h("/admin/", func(r *http.Request) (int, any, error) {
		return 0, nil, notFoundf("no admin endpoint %s %s", r.Method, r.URL.Path)
	})
	return newAdminGuard(mux, s.cfg.adminHosts, s.cfg.adminToken)
}

type adminError struct {
	Error string `json:"error"`
}

// errBadRequest marks malformed admin requests (bad JSON, bad query).
var errBadRequest = errors.New("bad request")

func badRequestf(format string, args ...any) error {
	return &controlError{errBadRequest, fmt.Sprintf(format, args...)}
}

func errorStatus(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrExists):
		return http.StatusConflict
	case errors.Is(err, ErrInvalid), errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"error":"mockserver: encoding the reply failed"}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// decodeBody reads a JSON request body into v, rejecting unknown fields.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return badRequestf("reading the request: %v", err)
	}
	if len(body) > 1<<20 {
		return badRequestf("request body over 1 MiB")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequestf("bad JSON: %v", err)
	}
	if dec.More() {
		return badRequestf("bad JSON: more than one value")
	}
	return nil
}

// decodeFlag decodes a body that is exactly {"<field>": true|false}.
func decodeFlag(r *http.Request, field string) (bool, error) {
	var in map[string]*bool
	if err := decodeBody(r, &in); err != nil {
		return false, err
	}
	v, ok := in[field]
	if !ok || v == nil || len(in) != 1 {
		return false, badRequestf(`want {%q: true|false}`, field)
	}
	return *v, nil
}

// JSON shapes.

type jsonAccount struct {
	Username    string        `json:"username"`
	Affiliation string        `json:"affiliation"`
	UserPort    int           `json:"user_port"`
	FreeCredits int           `json:"free_credits"`
	MaxVessels  int           `json:"max_vessels"`
	Vessels     int           `json:"vessels"`
	Active      bool          `json:"active"`
	Donations   []string      `json:"donations"`
	PublicKey   string        `json:"public_key"`
	Holdings    *[]jsonVessel `json:"holdings,omitempty"`
}

// jsonCredentials has the shape of an account entry in the command's
// -creds-out file.
type jsonCredentials struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	APIKey     string `json:"api_key"`
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
}

type jsonNode struct {
	ID      string       `json:"id"`
	IP      string       `json:"ip"`
	Port    int          `json:"port"`
	Active  bool         `json:"active"`
	Broken  bool         `json:"broken"`
	Donor   string       `json:"donor,omitempty"`
	Failure jsonFailure  `json:"failure"`
	Vessels []jsonVessel `json:"vessels"`
}

type jsonFailure struct {
	Always bool `json:"always"`
	Next   int  `json:"next"`
}

type jsonVessel struct {
	Handle     string     `json:"handle"`
	NodeID     string     `json:"node_id"`
	Name       string     `json:"name"`
	NodeIP     string     `json:"node_ip"`
	NodePort   int        `json:"node_port"`
	Ports      []int      `json:"ports"`
	Owner      string     `json:"owner,omitempty"`
	Acquired   *time.Time `json:"acquired,omitempty"`
	Expires    *time.Time `json:"expires,omitempty"`
	Dirty      bool       `json:"dirty"`
	DirtySince *time.Time `json:"dirty_since,omitempty"`
	Available  bool       `json:"available"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toJSONAccount(a Account) jsonAccount {
	d := a.Donations
	if d == nil {
		d = []string{}
	}
	return jsonAccount{
		Username: a.Username, Affiliation: a.Affiliation, UserPort: a.UserPort,
		FreeCredits: a.FreeCredits, MaxVessels: a.MaxVessels, Vessels: a.Vessels,
		Active: a.Active, Donations: d, PublicKey: a.PublicKey,
	}
}

func toJSONCredentials(a Account) jsonCredentials {
	return jsonCredentials{
		Username: a.Username, Password: a.Password, APIKey: a.APIKey,
		PublicKey: a.PublicKey, PrivateKey: a.PrivateKey,
	}
}

func toJSONVessel(v Vessel) jsonVessel {
	return jsonVessel{
		Handle: v.Handle, NodeID: v.NodeID, Name: v.Name, NodeIP: v.NodeIP, NodePort: v.NodePort,
		Ports: v.Ports, Owner: v.Owner, Acquired: timePtr(v.Acquired), Expires: timePtr(v.Expires),
		Dirty: v.Dirty, DirtySince: timePtr(v.DirtySince), Available: v.Available,
	}
}

func toJSONVessels(vs []Vessel) []jsonVessel {
	out := make([]jsonVessel, len(vs))
	for i, v := range vs {
		out[i] = toJSONVessel(v)
	}
	return out
}

func toJSONNode(n Node) jsonNode {
	return jsonNode{
		ID: n.ID, IP: n.IP, Port: n.Port, Active: n.Active, Broken: n.Broken, Donor: n.Donor,
		Failure: jsonFailure(n.Failure), Vessels: toJSONVessels(n.Vessels),
	}
}

// Handlers.

func (s *Server) adminState(r *http.Request) (int, any, error) {
	ov, err := s.overview(nil)
	if err != nil {
		return 0, nil, err
	}
	type counts struct {
		Total     int `json:"total"`
		Owned     int `json:"owned"`
		Dirty     int `json:"dirty"`
		Available int `json:"available"`
	}
	c := ov.stats
	return http.StatusOK, struct {
		Now          time.Time `json:"now"`
		CleanupDelay string    `json:"cleanup_delay"`
		FailureRate  float64   `json:"failure_rate"`
		Seed         int64     `json:"seed"`
		Accounts     int       `json:"accounts"`
		Nodes        int       `json:"nodes"`
		Subnets      int       `json:"live_subnets"`
		Vessels      counts    `json:"vessels"`
		Persistent   bool      `json:"persistent"`
		// Injected faults per kind since the server started.
		FaultsInjected map[FaultKind]uint64 `json:"faults_injected"`
	}{
		Now: toTime(ov.now), CleanupDelay: time.Duration(ov.cleanupDelay).String(),
		FailureRate: ov.failureRate, Seed: ov.seed,
		Accounts: c.accounts, Nodes: c.nodes, Subnets: c.liveSubnets,
		Vessels:    counts{Total: c.vessels.total, Owned: c.vessels.held, Dirty: c.vessels.dirty, Available: c.vessels.available},
		Persistent: ov.persistent, FaultsInjected: s.Faults().Injected,
	}, nil
}

func (s *Server) adminListAccounts(r *http.Request) (int, any, error) {
	accts, err := s.Accounts()
	if err != nil {
		return 0, nil, err
	}
	out := make([]jsonAccount, len(accts))
	for i, a := range accts {
		out[i] = toJSONAccount(a)
	}
	return http.StatusOK, map[string]any{"accounts": out}, nil
}

func (s *Server) adminAddAccount(r *http.Request) (int, any, error) {
	var in struct {
		Username    string `json:"username"`
		Password    string `json:"password"`
		Affiliation string `json:"affiliation"`
		APIKey      string `json:"api_key"`
		PublicKey   string `json:"public_key"`
		PrivateKey  string `json:"private_key"`
		UserPort    int    `json:"user_port"`
		FreeCredits int    `json:"free_credits"` // as AccountSpec.FreeCredits
		Active      *bool  `json:"active"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	spec := AccountSpec{
		Username: in.Username, Password: in.Password, Affiliation: in.Affiliation,
		APIKey: in.APIKey, PublicKey: in.PublicKey, PrivateKey: in.PrivateKey,
		UserPort: in.UserPort, FreeCredits: in.FreeCredits, Inactive: in.Active != nil && !*in.Active,
	}
	a, err := s.AddAccount(spec)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{
		"account":     toJSONAccount(a),
		"credentials": toJSONCredentials(a),
	}, nil
}

func (s *Server) adminGetAccount(r *http.Request) (int, any, error) {
	name := r.PathValue("username")
	a, err := s.Account(name)
	if err != nil {
		return 0, nil, err
	}
	held, err := s.Holdings(name)
	if err != nil {
		return 0, nil, err
	}
	out := toJSONAccount(a)
	hv := toJSONVessels(held)
	out.Holdings = &hv
	return http.StatusOK, out, nil
}

func (s *Server) adminCredentials(r *http.Request) (int, any, error) {
	a, err := s.Account(r.PathValue("username"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toJSONCredentials(a), nil
}

func (s *Server) adminSetCredits(r *http.Request) (int, any, error) {
	var in struct {
		FreeCredits *int `json:"free_credits"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if in.FreeCredits == nil {
		return 0, nil, badRequestf(`want {"free_credits": n}`)
	}
	if err := s.SetFreeCredits(r.PathValue("username"), *in.FreeCredits); err != nil {
		return 0, nil, err
	}
	return s.adminAccountReply(r.PathValue("username"))
}

func (s *Server) adminSetAccountActive(r *http.Request) (int, any, error) {
	active, err := decodeFlag(r, "active")
	if err != nil {
		return 0, nil, err
	}
	if err := s.SetAccountActive(r.PathValue("username"), active); err != nil {
		return 0, nil, err
	}
	return s.adminAccountReply(r.PathValue("username"))
}

func (s *Server) adminAccountReply(name string) (int, any, error) {
	a, err := s.Account(name)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toJSONAccount(a), nil
}

// paging reads offset and limit; limit defaults to 100 and is at most
// 10 000.
func paging(r *http.Request) (offset, limit int, err error) {
	q := r.URL.Query()
	limit = 100
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, badRequestf("offset %q: want a number at least 0", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 10000 {
			return 0, 0, badRequestf("limit %q: want a number from 1 to 10000", v)
		}
	}
	return offset, limit, nil
}

func (s *Server) adminListNodes(r *http.Request) (int, any, error) {
	offset, limit, err := paging(r)
	if err != nil {
		return 0, nil, err
	}
	f := NodeFilter{Subnet: r.URL.Query().Get("subnet"), Offset: offset, Limit: limit}
	if v := r.URL.Query().Get("nat"); v != "" {
		if f.NAT, err = strconv.ParseBool(v); err != nil {
			return 0, nil, badRequestf("nat %q: want true or false", v)
		}
	}
	nodes, total, err := s.Nodes(f)
	if err != nil {
		return 0, nil, err
	}
	out := make([]jsonNode, len(nodes))
	for i, n := range nodes {
		out[i] = toJSONNode(n)
	}
	return http.StatusOK, map[string]any{"total": total, "offset": offset, "nodes": out}, nil
}

type jsonNodeSpec struct {
	ID       string `json:"id"`
	IP       string `json:"ip"`
	Port     int    `json:"port"`
	Inactive bool   `json:"inactive"`
	Broken   bool   `json:"broken"`
	Vessels  []struct {
		Name  string `json:"name"`
		Ports []int  `json:"ports"`
	} `json:"vessels"`
}

func (s *Server) adminAddNodes(r *http.Request) (int, any, error) {
	var raw json.RawMessage
	if err := decodeBody(r, &raw); err != nil {
		return 0, nil, err
	}
	var in []jsonNodeSpec
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := strictUnmarshal(raw, &in); err != nil {
			return 0, nil, err
		}
	} else {
		var one jsonNodeSpec
		if err := strictUnmarshal(raw, &one); err != nil {
			return 0, nil, err
		}
		in = []jsonNodeSpec{one}
	}
	specs := make([]NodeSpec, len(in))
	for i, n := range in {
		specs[i] = NodeSpec{ID: n.ID, IP: n.IP, Port: n.Port, Inactive: n.Inactive, Broken: n.Broken}
		if n.Vessels != nil {
			specs[i].Vessels = []VesselSpec{}
			for _, v := range n.Vessels {
				specs[i].Vessels = append(specs[i].Vessels, VesselSpec{Name: v.Name, Ports: v.Ports})
			}
		}
	}
	nodes, err := s.AddNodes(specs)
	if err != nil {
		return 0, nil, err
	}
	out := make([]jsonNode, len(nodes))
	for i, n := range nodes {
		out[i] = toJSONNode(n)
	}
	return http.StatusCreated, map[string]any{"nodes": out}, nil
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequestf("bad JSON: %v", err)
	}
	return nil
}

func (s *Server) adminGetNode(r *http.Request) (int, any, error) {
	n, err := s.Node(r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toJSONNode(n), nil
}

func (s *Server) adminNodeReply(id string) (int, any, error) {
	n, err := s.Node(id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toJSONNode(n), nil
}

func (s *Server) adminSetNodeActive(r *http.Request) (int, any, error) {
	return s.adminSetNodeFlag(r, "active", s.SetNodeActive)
}

func (s *Server) adminSetNodeBroken(r *http.Request) (int, any, error) {
	return s.adminSetNodeFlag(r, "broken", s.SetNodeBroken)
}

// adminSetNodeFlag sets one boolean of the node named in the path from a
// body {"<field>": true|false} and answers with the node.
func (s *Server) adminSetNodeFlag(r *http.Request, field string, set func(id string, on bool) error) (int, any, error) {
	on, err := decodeFlag(r, field)
	if err != nil {
		return 0, nil, err
	}
	if err := set(r.PathValue("id"), on); err != nil {
		return 0, nil, err
	}
	return s.adminNodeReply(r.PathValue("id"))
}

func (s *Server) adminSetNodeIP(r *http.Request) (int, any, error) {
	var in struct {
		IP string `json:"ip"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if err := s.SetNodeIP(r.PathValue("id"), in.IP); err != nil {
		return 0, nil, err
	}
	return s.adminNodeReply(r.PathValue("id"))
}

func (s *Server) adminAddDonation(r *http.Request) (int, any, error) {
	var in struct {
		NodeID   string `json:"node_id"`
		Username string `json:"username"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if err := s.AddDonation(in.NodeID, in.Username); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"node_id": in.NodeID, "username": in.Username}, nil
}

func (s *Server) adminRemoveDonation(r *http.Request) (int, any, error) {
	if err := s.RemoveDonation(r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return s.adminNodeReply(r.PathValue("id"))
}

func (s *Server) adminListVessels(r *http.Request) (int, any, error) {
	offset, limit, err := paging(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	vs, total, err := s.Vessels(VesselFilter{
		Owner: q.Get("owner"), NodeID: q.Get("node"), State: q.Get("state"),
		Offset: offset, Limit: limit,
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"total": total, "offset": offset, "vessels": toJSONVessels(vs)}, nil
}

func (s *Server) adminFailures(r *http.Request) (int, any, error) {
	var in struct {
		NodeID string   `json:"node_id"`
		Always bool     `json:"always"`
		Next   int      `json:"next"`
		Rate   *float64 `json:"rate"`
		Clear  bool     `json:"clear"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case in.Clear:
		if err := s.ClearFailures(); err != nil {
			return 0, nil, err
		}
	case in.Rate != nil:
		if err := s.SetAcquireFailureRate(*in.Rate); err != nil {
			return 0, nil, err
		}
	case in.NodeID != "":
		if err := s.InjectFailure(in.NodeID, Failure{Always: in.Always, Next: in.Next}); err != nil {
			return 0, nil, err
		}
		return s.adminNodeReply(in.NodeID)
	default:
		return 0, nil, badRequestf(`want {"node_id", "always", "next"}, {"rate"} or {"clear": true}`)
	}
	return http.StatusOK, map[string]any{"ok": true}, nil
}

func (s *Server) adminGetClock(r *http.Request) (int, any, error) {
	return http.StatusOK, map[string]any{"now": s.Now(), "scale": s.TimeScale()}, nil
}

func (s *Server) adminSetClock(r *http.Request) (int, any, error) {
	var in struct {
		Set     string   `json:"set"`
		Advance string   `json:"advance"`
		Scale   *float64 `json:"scale"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case btoi(in.Set != "")+btoi(in.Advance != "")+btoi(in.Scale != nil) > 1:
		return 0, nil, badRequestf(`give one of "set", "advance" and "scale"`)
	case in.Scale != nil:
		if err := s.SetTimeScale(*in.Scale); err != nil {
			return 0, nil, err
		}
	case in.Set != "":
		t, err := time.Parse(time.RFC3339Nano, in.Set)
		if err != nil {
			return 0, nil, badRequestf("set %q: want an RFC 3339 time", in.Set)
		}
		if err := s.SetTime(t); err != nil {
			return 0, nil, err
		}
	case in.Advance != "":
		d, err := time.ParseDuration(in.Advance)
		if err != nil {
			return 0, nil, badRequestf("advance %q: want a Go duration such as 90m", in.Advance)
		}
		if err := s.Advance(d); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, badRequestf(`want {"set": time}, {"advance": duration} or {"scale": number}`)
	}
	return s.adminGetClock(r)
}

func (s *Server) adminGetCleanupDelay(r *http.Request) (int, any, error) {
	return http.StatusOK, map[string]any{"delay": s.CleanupDelay().String()}, nil
}

func (s *Server) adminSetCleanupDelay(r *http.Request) (int, any, error) {
	var in struct {
		Delay string `json:"delay"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	d, err := time.ParseDuration(in.Delay)
	if err != nil {
		return 0, nil, badRequestf("delay %q: want a Go duration such as 5s", in.Delay)
	}
	if err := s.SetCleanupDelay(d); err != nil {
		return 0, nil, err
	}
	return s.adminGetCleanupDelay(r)
}

func (s *Server) adminSeed(r *http.Request) (int, any, error) {
	var in struct {
		Seed *int64 `json:"seed"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Seed == nil {
		return 0, nil, badRequestf(`want {"seed": n}`)
	}
	if err := s.Seed(*in.Seed); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"seed": *in.Seed}, nil
}

func (s *Server) adminReset(r *http.Request) (int, any, error) {
	if err := s.Reset(); err != nil {
		return 0, nil, err
	}
	return s.adminState(r)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonFaultStatus is the reply of the /admin/faults endpoints.
type jsonFaultStatus struct {
	Profile  FaultProfile         `json:"profile"`
	Fired    []uint64             `json:"fired"`
	Injected map[FaultKind]uint64 `json:"injected"`
}

func (s *Server) adminGetFaults(r *http.Request) (int, any, error) {
	fs := s.Faults()
	return http.StatusOK, jsonFaultStatus{Profile: fs.Profile, Fired: fs.Fired, Injected: fs.Injected}, nil
}

// adminSetFaults takes a profile in its JSON form, or in the compact form
// as {"spec": "..."}.
func (s *Server) adminSetFaults(r *http.Request) (int, any, error) {
	var raw json.RawMessage
	if err := decodeBody(r, &raw); err != nil {
		return 0, nil, err
	}
	var spec struct {
		Spec *string `json:"spec"`
	}
	var p FaultProfile
	if strictUnmarshal(raw, &spec) == nil && spec.Spec != nil {
		var err error
		if p, err = ParseFaultSpec(*spec.Spec); err != nil {
			return 0, nil, err
		}
	} else if err := strictUnmarshal(raw, &p); err != nil {
		return 0, nil, err
	}
	if err := s.SetFaults(p); err != nil {
		return 0, nil, err
	}
	return s.adminGetFaults(r)
}

func (s *Server) adminClearFaults(r *http.Request) (int, any, error) {
	if err := s.SetFaults(FaultProfile{}); err != nil {
		return 0, nil, err
	}
	return s.adminGetFaults(r)
}

func (s *Server) adminReport(r *http.Request) (int, any, error) {
	rep, err := s.Report()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rep, nil
}
