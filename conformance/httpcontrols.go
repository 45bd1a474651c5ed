package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// NewHTTPControls returns Controls that drive a mock out of process
// through its JSON endpoint under /admin/ (mockclearinghouse -admin).
// adminURL is that endpoint, such as "https://127.0.0.1:8421/admin/"; hc
// (http.DefaultClient if nil) must trust the mock's certificate.
func NewHTTPControls(adminURL string, hc *http.Client, opts ...HTTPControlsOption) (Controls, error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("conformance: admin URL must be an absolute http or https URL")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &httpControls{base: u.String(), hc: hc}
	for _, opt := range opts {
		if opt.apply == nil {
			return nil, errors.New("conformance: zero HTTPControlsOption")
		}
		opt.apply(c)
	}
	return c, nil
}

// An HTTPControlsOption configures NewHTTPControls. A zero
// HTTPControlsOption makes NewHTTPControls return an error.
type HTTPControlsOption struct {
	apply func(*httpControls)
}

// WithAdminToken sends token as "Authorization: Bearer <token>", for a mock
// started with -admin-token or -admin-token-file. An empty token sends
// nothing.
func WithAdminToken(token string) HTTPControlsOption {
	return HTTPControlsOption{apply: func(c *httpControls) { c.token = token }}
}

var _ TimeScaler = (*httpControls)(nil)

// errNoScale is TimeScale's error for an admin endpoint whose clock has
// no scale: one that cannot freeze the clock.
var errNoScale = errors.New("conformance: admin GET clock: the reply has no scale")

type httpControls struct {
	base  string // ends in "/"
	hc    *http.Client
	token string // never in an error
}

// secrets are what the suite must never print: the admin token.
func (c *httpControls) secrets() []string { return []string{c.token} }

// do sends a JSON request to path (relative to the admin root) and
// decodes the JSON reply into out (if not nil).
func (c *httpControls) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("conformance: admin %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("conformance: admin %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = "HTTP " + resp.Status
		}
		return fmt.Errorf("conformance: admin %s %s: %s", method, path, e.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("conformance: admin %s %s: undecodable reply: %v", method, path, err)
	}
	return nil
}

func (c *httpControls) Now(ctx context.Context) (time.Time, error) {
	var out struct {
		Now time.Time `json:"now"`
	}
	err := c.do(ctx, http.MethodGet, "clock", nil, &out)
	return out.Now, err
}

func (c *httpControls) SetTime(ctx context.Context, t time.Time) error {
	return c.do(ctx, http.MethodPost, "clock", map[string]string{"set": t.UTC().Format(time.RFC3339Nano)}, nil)
}

func (c *httpControls) Advance(ctx context.Context, d time.Duration) error {
	return c.do(ctx, http.MethodPost, "clock", map[string]string{"advance": d.String()}, nil)
}

// TimeScale and SetTimeScale make httpControls a TimeScaler.
func (c *httpControls) TimeScale(ctx context.Context) (float64, error) {
	var out struct {
		Scale *float64 `json:"scale"`
	}
	if err := c.do(ctx, http.MethodGet, "clock", nil, &out); err != nil {
		return 0, err
	}
	if out.Scale == nil {
		return 0, errNoScale
	}
	return *out.Scale, nil
}

func (c *httpControls) SetTimeScale(ctx context.Context, x float64) error {
	return c.do(ctx, http.MethodPost, "clock", map[string]float64{"scale": x}, nil)
}

func (c *httpControls) CleanupDelay(ctx context.Context) (time.Duration, error) {
	var out struct {
		Delay string `json:"delay"`
	}
	if err := c.do(ctx, http.MethodGet, "cleanup-delay", nil, &out); err != nil {
		return 0, err
	}
	return time.ParseDuration(out.Delay)
}

func (c *httpControls) SetCleanupDelay(ctx context.Context, d time.Duration) error {
	return c.do(ctx, http.MethodPost, "cleanup-delay", map[string]string{"delay": d.String()}, nil)
}

func (c *httpControls) AddAccount(ctx context.Context, spec AccountSpec) (Account, error) {
	in := map[string]any{
		"username": spec.Username, "password": spec.Password, "affiliation": spec.Affiliation,
		"free_credits": spec.FreeCredits,
	}
	if spec.UserPort != 0 {
		in["user_port"] = spec.UserPort
	}
	if spec.PublicKey != "" {
		in["public_key"] = spec.PublicKey
	}
	if spec.PrivateKey != "" {
		in["private_key"] = spec.PrivateKey
	}
	var out struct {
		Credentials struct {
			Username   string `json:"username"`
			Password   string `json:"password"`
			APIKey     string `json:"api_key"`
			PrivateKey string `json:"private_key"`
		} `json:"credentials"`
	}
	if err := c.do(ctx, http.MethodPost, "accounts", in, &out); err != nil {
		return Account{}, err
	}
	cr := out.Credentials
	return Account{Username: cr.Username, APIKey: cr.APIKey, Password: cr.Password, PrivateKey: cr.PrivateKey}, nil
}

func (c *httpControls) SetFreeCredits(ctx context.Context, username string, n int) error {
	return c.do(ctx, http.MethodPost, "accounts/"+url.PathEscape(username)+"/credits", map[string]int{"free_credits": n}, nil)
}

func (c *httpControls) SetAccountActive(ctx context.Context, username string, active bool) error {
	return c.do(ctx, http.MethodPost, "accounts/"+url.PathEscape(username)+"/active", map[string]bool{"active": active}, nil)
}

type jsonNodeSpec struct {
	ID       string           `json:"id"`
	IP       string           `json:"ip"`
	Inactive bool             `json:"inactive,omitempty"`
	Broken   bool             `json:"broken,omitempty"`
	Vessels  []jsonVesselSpec `json:"vessels,omitempty"`
}

type jsonVesselSpec struct {
	Name  string `json:"name"`
	Ports []int  `json:"ports"`
}

func (c *httpControls) AddNodes(ctx context.Context, nodes []NodeSpec) error {
	in := make([]jsonNodeSpec, len(nodes))
	for i, n := range nodes {
		in[i] = jsonNodeSpec{ID: n.ID, IP: n.IP, Inactive: n.Inactive, Broken: n.Broken}
		for _, v := range n.Vessels {
			in[i].Vessels = append(in[i].Vessels, jsonVesselSpec(v))
		}
	}
	return c.do(ctx, http.MethodPost, "nodes", in, nil)
}

type jsonNode struct {
	ID      string       `json:"id"`
	IP      string       `json:"ip"`
	Active  bool         `json:"active"`
	Broken  bool         `json:"broken"`
	Vessels []jsonVessel `json:"vessels"`
}

type jsonVessel struct {
	Handle     string     `json:"handle"`
	Ports      []int      `json:"ports"`
	Owner      string     `json:"owner"`
	Acquired   *time.Time `json:"acquired"`
	Expires    *time.Time `json:"expires"`
	Dirty      bool       `json:"dirty"`
	DirtySince *time.Time `json:"dirty_since"`
	Available  bool       `json:"available"`
}

func (v jsonVessel) state() VesselState {
	out := VesselState{Handle: v.Handle, Ports: v.Ports, Owner: v.Owner, Dirty: v.Dirty, Available: v.Available}
	for _, f := range []struct {
		from *time.Time
		to   *time.Time
	}{{v.Acquired, &out.Acquired}, {v.Expires, &out.Expires}, {v.DirtySince, &out.DirtySince}} {
		if f.from != nil {
			*f.to = f.from.UTC()
		}
	}
	return out
}

func (c *httpControls) Nodes(ctx context.Context) ([]NodeState, error) {
	const page = 1000
	var out []NodeState
	for offset := 0; ; offset += page {
		var resp struct {
			Total int        `json:"total"`
			Nodes []jsonNode `json:"nodes"`
		}
		q := "nodes?limit=" + strconv.Itoa(page) + "&offset=" + strconv.Itoa(offset)
		if err := c.do(ctx, http.MethodGet, q, nil, &resp); err != nil {
			return nil, err
		}
		for _, n := range resp.Nodes {
			out = append(out, NodeState{ID: n.ID, IP: n.IP, Active: n.Active, Broken: n.Broken})
		}
		if len(resp.Nodes) == 0 || offset+len(resp.Nodes) >= resp.Total {
			return out, nil
		}
	}
}

func (c *httpControls) Node(ctx context.Context, id string) (NodeState, error) {
	var n jsonNode
	if err := c.do(ctx, http.MethodGet, "nodes/"+url.PathEscape(id), nil, &n); err != nil {
		return NodeState{}, err
	}
	out := NodeState{ID: n.ID, IP: n.IP, Active: n.Active, Broken: n.Broken}
	for _, v := range n.Vessels {
		out.Vessels = append(out.Vessels, v.state())
	}
	return out, nil
}

func (c *httpControls) SetNodeActive(ctx context.Context, id string, active bool) error {
	return c.do(ctx, http.MethodPost, "nodes/"+url.PathEscape(id)+"/active", map[string]bool{"active": active}, nil)
}

func (c *httpControls) SetNodeBroken(ctx context.Context, id string, broken bool) error {
	return c.do(ctx, http.MethodPost, "nodes/"+url.PathEscape(id)+"/broken", map[string]bool{"broken": broken}, nil)
}

func (c *httpControls) SetNodeIP(ctx context.Context, id, ip string) error {
	return c.do(ctx, http.MethodPost, "nodes/"+url.PathEscape(id)+"/ip", map[string]string{"ip": ip}, nil)
}

func (c *httpControls) AddDonation(ctx context.Context, nodeID, username string) error {
	return c.do(ctx, http.MethodPost, "donations", map[string]string{"node_id": nodeID, "username": username}, nil)
}

func (c *httpControls) InjectFailure(ctx context.Context, nodeID string, f Failure) error {
	return c.do(ctx, http.MethodPost, "failures", map[string]any{"node_id": nodeID, "always": f.Always, "next": f.Next}, nil)
}

func (c *httpControls) Holdings(ctx context.Context, username string) ([]VesselState, error) {
	var out struct {
		Holdings []jsonVessel `json:"holdings"`
	}
	if err := c.do(ctx, http.MethodGet, "accounts/"+url.PathEscape(username), nil, &out); err != nil {
		return nil, err
	}
	vs := make([]VesselState, len(out.Holdings))
	for i, v := range out.Holdings {
		vs[i] = v.state()
	}
	return vs, nil
}
