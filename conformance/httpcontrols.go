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

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
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
		var e mockapi.ErrorReply
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
	var out mockapi.Clock
	err := c.do(ctx, http.MethodGet, "clock", nil, &out)
	return out.Now, err
}

func (c *httpControls) SetTime(ctx context.Context, t time.Time) error {
	return c.do(ctx, http.MethodPost, "clock", mockapi.ClockChange{Set: t.UTC().Format(time.RFC3339Nano)}, nil)
}

func (c *httpControls) Advance(ctx context.Context, d time.Duration) error {
	return c.do(ctx, http.MethodPost, "clock", mockapi.ClockChange{Advance: d.String()}, nil)
}

// TimeScale and SetTimeScale make httpControls a TimeScaler.
func (c *httpControls) TimeScale(ctx context.Context) (float64, error) {
	// Scale is read on its own: mockapi.Clock cannot tell a reply without
	// it from a frozen clock.
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
	return c.do(ctx, http.MethodPost, "clock", mockapi.ClockChange{Scale: &x}, nil)
}

func (c *httpControls) CleanupDelay(ctx context.Context) (time.Duration, error) {
	var out mockapi.CleanupDelay
	if err := c.do(ctx, http.MethodGet, "cleanup-delay", nil, &out); err != nil {
		return 0, err
	}
	return time.ParseDuration(out.Delay)
}

func (c *httpControls) SetCleanupDelay(ctx context.Context, d time.Duration) error {
	return c.do(ctx, http.MethodPost, "cleanup-delay", mockapi.CleanupDelay{Delay: d.String()}, nil)
}

func (c *httpControls) AddAccount(ctx context.Context, spec mockapi.AccountSpec) (Account, error) {
	var out mockapi.AccountCreated
	if err := c.do(ctx, http.MethodPost, "accounts", spec, &out); err != nil {
		return Account{}, err
	}
	cr := out.Credentials
	return Account{Username: cr.Username, APIKey: cr.APIKey, Password: cr.Password, PrivateKey: cr.PrivateKey}, nil
}

func (c *httpControls) SetFreeCredits(ctx context.Context, username string, n int) error {
	return c.do(ctx, http.MethodPost, "accounts/"+url.PathEscape(username)+"/credits", mockapi.CreditsChange{FreeCredits: &n}, nil)
}

func (c *httpControls) SetAccountActive(ctx context.Context, username string, active bool) error {
	return c.do(ctx, http.MethodPost, "accounts/"+url.PathEscape(username)+"/active", mockapi.ActiveChange{Active: &active}, nil)
}

func (c *httpControls) AddNodes(ctx context.Context, nodes []mockapi.NodeSpec) error {
	return c.do(ctx, http.MethodPost, "nodes", nodes, nil)
}

func (c *httpControls) Nodes(ctx context.Context) ([]mockapi.Node, error) {
	const page = 1000
	var out []mockapi.Node
	for offset := 0; ; offset += page {
		var resp mockapi.NodeList
		q := "nodes?limit=" + strconv.Itoa(page) + "&offset=" + strconv.Itoa(offset)
		if err := c.do(ctx, http.MethodGet, q, nil, &resp); err != nil {
			return nil, err
		}
		for _, n := range resp.Nodes {
			n.Vessels = nil
			out = append(out, n)
		}
		if len(resp.Nodes) == 0 || offset+len(resp.Nodes) >= resp.Total {
			return out, nil
		}
	}
}

func (c *httpControls) Node(ctx context.Context, id string) (mockapi.Node, error) {
	var n mockapi.Node
	if err := c.do(ctx, http.MethodGet, "nodes/"+url.PathEscape(id), nil, &n); err != nil {
		return mockapi.Node{}, err
	}
	return n, nil
}

func (c *httpControls) SetNodeActive(ctx context.Context, id string, active bool) error {
	return c.do(ctx, http.MethodPost, "nodes/"+url.PathEscape(id)+"/active", mockapi.ActiveChange{Active: &active}, nil)
}

func (c *httpControls) SetNodeBroken(ctx context.Context, id string, broken bool) error {
	return c.do(ctx, http.MethodPost, "nodes/"+url.PathEscape(id)+"/broken", mockapi.BrokenChange{Broken: &broken}, nil)
}

func (c *httpControls) SetNodeIP(ctx context.Context, id, ip string) error {
	return c.do(ctx, http.MethodPost, "nodes/"+url.PathEscape(id)+"/ip", mockapi.IPChange{IP: ip}, nil)
}

func (c *httpControls) AddDonation(ctx context.Context, nodeID, username string) error {
	return c.do(ctx, http.MethodPost, "donations", mockapi.Donation{NodeID: nodeID, Username: username}, nil)
}

func (c *httpControls) InjectFailure(ctx context.Context, nodeID string, f mockapi.Failure) error {
	return c.do(ctx, http.MethodPost, "failures", mockapi.FailureChange{NodeID: nodeID, Always: f.Always, Next: f.Next}, nil)
}

func (c *httpControls) Holdings(ctx context.Context, username string) ([]mockapi.Vessel, error) {
	var out mockapi.AccountHoldings
	if err := c.do(ctx, http.MethodGet, "accounts/"+url.PathEscape(username), nil, &out); err != nil {
		return nil, err
	}
	return out.Holdings, nil
}
