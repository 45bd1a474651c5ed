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

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// adminHandler returns the JSON test controls, rooted at /admin/, guarded
// as the package documentation says (The /admin/ controls).
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, fn func(r *http.Request) (int, any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			code, body, err := fn(r)
			if err != nil {
				code, body = errorStatus(err), mockapi.ErrorReply{Error: err.Error()}
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

// adminAccount is an account as the endpoints show it: without
// credentials, and with a list of donations even when empty.
func adminAccount(a mockapi.Account) mockapi.Account {
	if a.Donations == nil {
		a.Donations = []string{}
	}
	return a
}

// Handlers.

func (s *Server) adminState(r *http.Request) (int, any, error) {
	ov, err := s.overview(nil)
	if err != nil {
		return 0, nil, err
	}
	c := ov.stats
	injected := map[string]uint64{}
	for k, n := range s.Faults().Injected {
		injected[string(k)] = n
	}
	return http.StatusOK, mockapi.State{
		Now: toTime(ov.now), CleanupDelay: time.Duration(ov.cleanupDelay).String(),
		FailureRate: ov.failureRate, Seed: ov.seed,
		Accounts: c.accounts, Nodes: c.nodes, LiveSubnets: c.liveSubnets,
		Vessels: mockapi.VesselCounts{Total: c.vessels.total, Owned: c.vessels.held, Dirty: c.vessels.dirty,
			Available: c.vessels.available},
		Persistent: ov.persistent, FaultsInjected: injected,
	}, nil
}

func (s *Server) adminListAccounts(r *http.Request) (int, any, error) {
	accts, err := s.Accounts()
	if err != nil {
		return 0, nil, err
	}
	out := mockapi.AccountList{Accounts: make([]mockapi.Account, len(accts))}
	for i, a := range accts {
		out.Accounts[i] = adminAccount(a)
	}
	return http.StatusOK, out, nil
}

func (s *Server) adminAddAccount(r *http.Request) (int, any, error) {
	var spec mockapi.AccountSpec
	if err := decodeBody(r, &spec); err != nil {
		return 0, nil, err
	}
	a, err := s.AddAccount(spec)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, mockapi.AccountCreated{Account: adminAccount(a), Credentials: a.Credentials()}, nil
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
	if held == nil {
		held = []mockapi.Vessel{}
	}
	return http.StatusOK, mockapi.AccountHoldings{Account: adminAccount(a), Holdings: held}, nil
}

func (s *Server) adminCredentials(r *http.Request) (int, any, error) {
	a, err := s.Account(r.PathValue("username"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.Credentials(), nil
}

func (s *Server) adminSetCredits(r *http.Request) (int, any, error) {
	var in mockapi.CreditsChange
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
	active, err := decodeActive(r)
	if err != nil {
		return 0, nil, err
	}
	if err := s.SetAccountActive(r.PathValue("username"), active); err != nil {
		return 0, nil, err
	}
	return s.adminAccountReply(r.PathValue("username"))
}

// decodeActive reads a body {"active": true|false}.
func decodeActive(r *http.Request) (bool, error) {
	var in mockapi.ActiveChange
	if err := decodeBody(r, &in); err != nil {
		return false, err
	}
	if in.Active == nil {
		return false, badRequestf(`want {"active": true|false}`)
	}
	return *in.Active, nil
}

func (s *Server) adminAccountReply(name string) (int, any, error) {
	a, err := s.Account(name)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, adminAccount(a), nil
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
	return http.StatusOK, mockapi.NodeList{Total: total, Offset: offset, Nodes: adminNodes(nodes)}, nil
}

// adminNodes makes every list in the nodes a JSON array, empty or not.
func adminNodes(nodes []mockapi.Node) []mockapi.Node {
	if nodes == nil {
		return []mockapi.Node{}
	}
	for i := range nodes {
		nodes[i] = adminNode(nodes[i])
	}
	return nodes
}

func adminNode(n mockapi.Node) mockapi.Node {
	n.Vessels = adminVessels(n.Vessels)
	return n
}

func adminVessels(vs []mockapi.Vessel) []mockapi.Vessel {
	if vs == nil {
		return []mockapi.Vessel{}
	}
	return vs
}

func (s *Server) adminAddNodes(r *http.Request) (int, any, error) {
	var raw json.RawMessage
	if err := decodeBody(r, &raw); err != nil {
		return 0, nil, err
	}
	var specs []mockapi.NodeSpec
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := strictUnmarshal(raw, &specs); err != nil {
			return 0, nil, err
		}
	} else {
		var one mockapi.NodeSpec
		if err := strictUnmarshal(raw, &one); err != nil {
			return 0, nil, err
		}
		specs = []mockapi.NodeSpec{one}
	}
	nodes, err := s.AddNodes(specs)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, mockapi.NodesAdded{Nodes: adminNodes(nodes)}, nil
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
	return s.adminNodeReply(r.PathValue("id"))
}

func (s *Server) adminNodeReply(id string) (int, any, error) {
	n, err := s.Node(id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, adminNode(n), nil
}

func (s *Server) adminSetNodeActive(r *http.Request) (int, any, error) {
	active, err := decodeActive(r)
	if err != nil {
		return 0, nil, err
	}
	if err := s.SetNodeActive(r.PathValue("id"), active); err != nil {
		return 0, nil, err
	}
	return s.adminNodeReply(r.PathValue("id"))
}

func (s *Server) adminSetNodeBroken(r *http.Request) (int, any, error) {
	var in mockapi.BrokenChange
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Broken == nil {
		return 0, nil, badRequestf(`want {"broken": true|false}`)
	}
	if err := s.SetNodeBroken(r.PathValue("id"), *in.Broken); err != nil {
		return 0, nil, err
	}
	return s.adminNodeReply(r.PathValue("id"))
}

func (s *Server) adminSetNodeIP(r *http.Request) (int, any, error) {
	var in mockapi.IPChange
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if err := s.SetNodeIP(r.PathValue("id"), in.IP); err != nil {
		return 0, nil, err
	}
	return s.adminNodeReply(r.PathValue("id"))
}

func (s *Server) adminAddDonation(r *http.Request) (int, any, error) {
	var in mockapi.Donation
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if err := s.AddDonation(in.NodeID, in.Username); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, in, nil
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
		Owner: q.Get("owner"), NodeID: q.Get("node"), State: mockapi.VesselState(q.Get("state")),
		Offset: offset, Limit: limit,
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, mockapi.VesselList{Total: total, Offset: offset, Vessels: adminVessels(vs)}, nil
}

func (s *Server) adminFailures(r *http.Request) (int, any, error) {
	var in mockapi.FailureChange
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
		if err := s.InjectFailure(in.NodeID, mockapi.Failure{Always: in.Always, Next: in.Next}); err != nil {
			return 0, nil, err
		}
		return s.adminNodeReply(in.NodeID)
	default:
		return 0, nil, badRequestf(`want {"node_id", "always", "next"}, {"rate"} or {"clear": true}`)
	}
	return http.StatusOK, mockapi.OKReply{OK: true}, nil
}

func (s *Server) adminGetClock(r *http.Request) (int, any, error) {
	return http.StatusOK, mockapi.Clock{Now: s.Now(), Scale: s.TimeScale()}, nil
}

func (s *Server) adminSetClock(r *http.Request) (int, any, error) {
	var in mockapi.ClockChange
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
	return http.StatusOK, mockapi.CleanupDelay{Delay: s.CleanupDelay().String()}, nil
}

func (s *Server) adminSetCleanupDelay(r *http.Request) (int, any, error) {
	var in mockapi.CleanupDelay
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
	var in mockapi.Seed
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Seed == nil {
		return 0, nil, badRequestf(`want {"seed": n}`)
	}
	if err := s.Seed(*in.Seed); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, in, nil
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
