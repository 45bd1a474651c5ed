package xmlrpc

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// Client calls methods on one XML-RPC endpoint. It is safe for concurrent
// use: calls run in parallel, each on its own HTTP request.
type Client struct {
	url        string // without userinfo
	httpClient *http.Client
	header     http.Header
	user, pass string
	hasAuth    bool
	limits     Limits
	encOpts    encodeOptions
	loc        *time.Location
	gzipReq    bool
	redirects  int // same-origin 307/308 redirects to follow; 0: none
}

// DefaultUserAgent is sent unless WithUserAgent sets another.
const DefaultUserAgent = "clearinghouse-go-xmlrpc/1"

// NewClient returns a client for the endpoint at rawURL, which must be an
// absolute http or https URL. User information in the URL
// (https://user:pass@host/) becomes HTTP basic authentication and is
// removed from the URL the client reports in errors. It returns the error
// of the first option that failed; a server option or a zero Option is an
// error too.
func NewClient(rawURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("xmlrpc: invalid endpoint URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("xmlrpc: endpoint URL must be absolute http or https, have " + quoteASCII(u.Redacted()))
	}
	c := &Client{
		httpClient: http.DefaultClient,
		header:     http.Header{"User-Agent": {DefaultUserAgent}},
		limits:     Limits{}.withDefaults(),
		encOpts:    defaultEncodeOptions(),
		loc:        time.UTC,
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
		c.hasAuth = true
		u.User = nil
	}
	c.url = u.String()
	for _, opt := range opts {
		if err := opt.applyClient(c); err != nil {
			return nil, err
		}
	}
	// A shallow copy with the client's own redirect policy: the caller's
	// *http.Client may be shared and keeps its own CheckRedirect.
	hc := *c.httpClient
	hc.CheckRedirect = c.checkRedirect
	c.httpClient = &hc
	return c, nil
}

// URL returns the endpoint, without any user information.
func (c *Client) URL() string { return c.url }

// WithHTTPClient makes the client send its requests through hc: the knob
// for TLS settings, proxies, timeouts and test transports. hc is not
// changed; the client uses a copy whose CheckRedirect is its own (see
// WithSameOriginRedirects), so hc's redirect policy does not apply.
func WithHTTPClient(hc *http.Client) Option {
	return clientOption("WithHTTPClient", func(c *Client) error {
		if hc == nil {
			return errors.New("xmlrpc: WithHTTPClient: nil *http.Client")
		}
		c.httpClient = hc
		return nil
	})
}

// WithHeader adds a header to every request. Host, Content-Type,
// Content-Length, Content-Encoding, Transfer-Encoding and Accept-Encoding
// are the client's own and cannot be set.
func WithHeader(key, value string) Option {
	return clientOption("WithHeader", func(c *Client) error {
		k := textproto.CanonicalMIMEHeaderKey(key)
		switch k {
		case "Content-Type", "Content-Length", "Content-Encoding", "Accept-Encoding", "Host", "Transfer-Encoding":
			return errors.New("xmlrpc: WithHeader: " + k + " is set by the client")
		}
		if !validHeaderName(k) || strings.ContainsAny(value, "\r\n\x00") {
			return errors.New("xmlrpc: WithHeader: invalid header " + quoteASCII(key))
		}
		if k == "User-Agent" {
			c.header.Set(k, value)
		} else {
			c.header.Add(k, value)
		}
		return nil
	})
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// WithUserAgent sets the User-Agent header, which must not be empty.
func WithUserAgent(ua string) Option {
	return clientOption("WithUserAgent", func(c *Client) error {
		if ua == "" {
			return errors.New("xmlrpc: WithUserAgent: empty User-Agent")
		}
		return WithHeader("User-Agent", ua).client(c)
	})
}

// WithBasicAuth sends HTTP basic authentication with every request,
// replacing any taken from the URL.
func WithBasicAuth(user, password string) Option {
	return clientOption("WithBasicAuth", func(c *Client) error {
		c.user, c.pass, c.hasAuth = user, password, true
		return nil
	})
}

// WithSameOriginRedirects lets the client follow up to max redirects
// that keep the call as it is: status 307 or 308 (which repeat the POST
// with its body) to the same origin (scheme, host and port) as the
// request that got them. By default the client follows no redirect.
//
// Even with this option, a redirect to another origin, including http to
// https on the same host, or one that would turn the POST into a GET (301,
// 302, 303) is not followed: the call and any credentials in it never go
// anywhere but the configured origin. A redirect not followed is returned
// as an *HTTPError with its Location. max must be at least 1.
func WithSameOriginRedirects(max int) Option {
	return clientOption("WithSameOriginRedirects", func(c *Client) error {
		if max < 1 {
			return errors.New("xmlrpc: WithSameOriginRedirects: max must be at least 1")
		}
		c.redirects = max
		return nil
	})
}

// checkRedirect is the CheckRedirect of the client's *http.Client. It
// stops at a redirect the policy refuses; the 3xx response then becomes
// an *HTTPError in roundTrip.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.redirects || redirectRefusal(req.Response.StatusCode, via[len(via)-1].URL, req.URL) != "" {
		return http.ErrUseLastResponse
	}
	return nil
}

// redirectRefusal says why a redirect with status from one URL to another
// must not be followed even by a client that follows same-origin
// redirects, or returns "" if it may be.
func redirectRefusal(status int, from, to *url.URL) string {
	if status != http.StatusTemporaryRedirect && status != http.StatusPermanentRedirect {
		return "it would turn the POST into a GET"
	}
	if !sameOrigin(from, to) {
		return "it leads to another origin"
	}
	return ""
}

// sameOrigin reports whether a and b have the same scheme, host and port
// (an absent port being the scheme's default).
func sameOrigin(a, b *url.URL) bool {
	if !strings.EqualFold(a.Scheme, b.Scheme) || !strings.EqualFold(a.Hostname(), b.Hostname()) {
		return false
	}
	return portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// Call invokes method with args and stores the result in the value result
// points to (result may be nil to discard it). The error is a *Fault for a
// fault response; a *TransportError, *HTTPError, *DecodeError, *TypeError
// or *LimitError otherwise; or an encoding error for args, before anything
// is sent.
func (c *Client) Call(ctx context.Context, method string, result any, args ...any) error {
	s := newEncodeState(c.encOpts)
	err := s.call(method, args)
	body := append([]byte(nil), s.buf...)
	s.release()
	if err != nil {
		return err
	}
	return c.roundTrip(ctx, body, func(d *Decoder) error { return d.DecodeResponse(result) })
}

// roundTrip posts body and decodes the response with decode.
func (c *Client) roundTrip(ctx context.Context, body []byte, decode func(*Decoder) error) error {
	if c.gzipReq {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(body) // writes to a bytes.Buffer cannot fail
		zw.Close()
		body = zb.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return &TransportError{Err: err}
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Accept-Encoding", "gzip")
	if c.gzipReq {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if c.hasAuth {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return &TransportError{Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
		he := &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Body: snippet}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			if loc, err := resp.Location(); err == nil {
				he.Location = loc.Redacted()
				he.refusal = c.redirectNotFollowed(resp, loc)
			}
		}
		return he
	}
	if resp.ContentLength > c.limits.MaxBodyBytes {
		return &LimitError{Limit: LimitBodySize, Max: c.limits.MaxBodyBytes}
	}
	var r io.Reader = resp.Body
	sizeHint := resp.ContentLength // -1 when unknown
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return &TransportError{Err: errors.New("gzip response: " + err.Error())}
		}
		defer zr.Close()
		r, sizeHint = zr, -1
	}
	// The decoder parses the body as it arrives, into a buffer sized from
	// Content-Length (never past the body limit, checked above).
	d := NewDecoder(&transportReader{r: r})
	d.limits, d.loc, d.sizeHint = c.limits, c.loc, sizeHint
	err = decode(d)
	var te *transportFailure
	if errors.As(err, &te) {
		return &TransportError{Err: te.err}
	}
	return err
}

// redirectNotFollowed says why the redirect in resp, to loc, was not
// followed.
func (c *Client) redirectNotFollowed(resp *http.Response, loc *url.URL) string {
	if c.redirects == 0 {
		return "redirects are not followed"
	}
	if why := redirectRefusal(resp.StatusCode, resp.Request.URL, loc); why != "" {
		return why
	}
	return "too many redirects"
}

// transportReader marks read errors, so that a body cut short is reported
// as a transport failure and not as a malformed document.
type transportReader struct{ r io.Reader }

type transportFailure struct{ err error }

func (e *transportFailure) Error() string { return e.err.Error() }

func (t *transportReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = &transportFailure{err: err}
	}
	return n, err
}
