package clearinghouse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// DefaultURL is the historical public endpoint, used when no URL is given.
const DefaultURL = "https://seattleclearinghouse.poly.edu/xmlrpc/"

// DefaultUserAgent is sent unless WithUserAgent sets another.
const DefaultUserAgent = "clearinghouse-go/1"

// Client calls one clearinghouse as one user. It is safe for concurrent
// use by many goroutines. Creating it makes no network call: with a
// private key and no API key, the key is fetched by FetchAPIKey or by the
// first call that needs it, with that call's context.
type Client struct {
	username   string
	rpc        *xmlrpc.Client
	privateKey *seattlersa.PrivateKey
	timeout    time.Duration
	retries    int
	backoff    time.Duration

	mu        sync.RWMutex
	apiKey    string   // guarded by mu
	oldKeys   []string // guarded by mu: API keys used before, for redaction
	passwords []string // guarded by mu: passwords given to calls, for redaction
	// privSecrets are the private key's numbers, for redaction.
	privSecrets []string
	red         *redactor // guarded by mu: for the secrets above, made when first needed

	fetchMu sync.Mutex // one get_encrypted_api_key at a time
}

type config struct {
	apiKey      string
	privateKey  *seattlersa.PrivateKey
	url         string
	httpClient  *http.Client
	roots       *x509.CertPool
	insecure    bool
	timeout     time.Duration
	userAgent   string
	retries     int
	backoff     time.Duration
	tlsSettings bool // a CA or insecure option was given
}

// An Option configures a Client. Options check their arguments; New
// returns the first error. Make one with the With functions: the zero
// Option is an error.
type Option struct {
	apply func(*config) error
}

// WithAPIKey authenticates with the API key. An empty key is ignored (it
// does not clear a key given before), as the original client took the
// private-key path for "".
func WithAPIKey(key string) Option {
	return Option{func(c *config) error {
		if key != "" {
			c.apiKey = key
		}
		return nil
	}}
}

// WithPrivateKey supplies the user's Seattle private key ("<d> <p> <q>"),
// from which the API key is obtained through get_encrypted_api_key when no
// API key is given.
func WithPrivateKey(key string) Option {
	return Option{func(c *config) error {
		k, err := seattlersa.ParsePrivateKey(key)
		if err != nil {
			return invalidArgument("private key: " + trimRSA(err.Error()))
		}
		c.privateKey = k
		return nil
	}}
}

// WithPrivateKeyFile reads the private key from a file, which must be a
// regular file (not a directory, a named pipe or a device) of at most
// 64 KiB.
func WithPrivateKeyFile(path string) Option {
	return Option{func(c *config) error {
		data, err := safefile.ReadFile(path, safefile.MaxKey)
		if err != nil {
			return invalidArgument("private key file: " + err.Error())
		}
		k, err := seattlersa.ParsePrivateKey(string(data))
		if err != nil {
			return invalidArgument("private key file " + path + ": " + trimRSA(err.Error()))
		}
		c.privateKey = k
		return nil
	}}
}

func trimRSA(s string) string {
	const p = "seattlersa: "
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// WithURL sets the XML-RPC endpoint (default DefaultURL). http and https
// are both supported.
func WithURL(url string) Option {
	return Option{func(c *config) error {
		if url == "" {
			return invalidArgument("empty URL")
		}
		c.url = url
		return nil
	}}
}

// WithCAFile trusts the PEM certificates in path in addition to the
// system roots (the original client's ca_certs_file). A file with no
// certificate is an error, and so is one that is not a regular file or
// holds more than 4 MiB.
func WithCAFile(path string) Option {
	return Option{func(c *config) error {
		data, err := safefile.ReadFile(path, safefile.MaxCerts)
		if err != nil {
			return invalidArgument("CA file: " + err.Error())
		}
		if c.roots == nil {
			c.roots = systemRoots()
		}
		if !c.roots.AppendCertsFromPEM(data) {
			return invalidArgument("no CA certificates found in file: " + path)
		}
		c.tlsSettings = true
		return nil
	}}
}

// WithCertPool verifies the server against the roots in pool instead of
// the system roots (start from x509.SystemCertPool to keep them). A later
// WithCAFile adds to a copy of pool.
func WithCertPool(pool *x509.CertPool) Option {
	return Option{func(c *config) error {
		if pool == nil {
			return invalidArgument("nil certificate pool")
		}
		c.roots = pool.Clone()
		c.tlsSettings = true
		return nil
	}}
}

// systemRoots returns a copy of the system roots, or an empty pool where
// the system has none.
func systemRoots() *x509.CertPool {
	if pool, err := x509.SystemCertPool(); err == nil {
		return pool
	}
	return x509.NewCertPool()
}

// WithInsecureSkipVerify turns off verification of the server's
// certificate chain and host name (the original allow_ssl_insecure). Only
// for tests against a server whose certificate you cannot check.
func WithInsecureSkipVerify() Option {
	return Option{func(c *config) error {
		c.insecure = true
		c.tlsSettings = true
		return nil
	}}
}

// WithHTTPClient sends requests through hc. It cannot be combined with the
// TLS options, which configure the client's own transport.
func WithHTTPClient(hc *http.Client) Option {
	return Option{func(c *config) error {
		if hc == nil {
			return invalidArgument("nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}}
}

// WithTimeout bounds every call (each attempt, when retrying) by d, on
// top of the caller's context.
func WithTimeout(d time.Duration) Option {
	return Option{func(c *config) error {
		if d <= 0 {
			return invalidArgument("timeout must be positive")
		}
		c.timeout = d
		return nil
	}}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return Option{func(c *config) error {
		if ua == "" {
			return invalidArgument("empty User-Agent")
		}
		c.userAgent = ua
		return nil
	}}
}

// WithRetries retries read-only calls (GetResourceInfo, GetAccountInfo,
// GetPublicKey, GetEncryptedAPIKey) up to n more times after a transport
// failure, waiting backoff, then twice that, and so on. Calls that change
// state, acquisitions above all, are never retried: a lost response could
// mean the vessels were acquired. Off by default.
func WithRetries(n int, backoff time.Duration) Option {
	return Option{func(c *config) error {
		if n < 0 || backoff < 0 {
			return invalidArgument("retries and backoff must not be negative")
		}
		c.retries, c.backoff = n, backoff
		return nil
	}}
}

// New returns a client for username. It needs WithAPIKey or a private key
// (WithPrivateKey, WithPrivateKeyFile); it makes no network call.
func New(username string, opts ...Option) (*Client, error) {
	if username == "" {
		return nil, invalidArgument("empty username")
	}
	cfg := config{url: DefaultURL, userAgent: DefaultUserAgent}
	for _, opt := range opts {
		if opt.apply == nil {
			return nil, invalidArgument("zero Option")
		}
		if err := opt.apply(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.apiKey == "" && cfg.privateKey == nil {
		return nil, invalidArgument("a private key must be provided if the API key is not")
	}
	hc := cfg.httpClient
	switch {
	case hc != nil && cfg.tlsSettings:
		return nil, invalidArgument("WithHTTPClient cannot be combined with the CA or insecure options; configure the TLS of the *http.Client instead")
	case hc == nil:
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: cfg.roots, InsecureSkipVerify: cfg.insecure, MinVersion: tls.VersionTLS12}
		hc = &http.Client{Transport: tr}
	}
	rpc, err := xmlrpc.NewClient(cfg.url, xmlrpc.WithHTTPClient(hc), xmlrpc.WithUserAgent(cfg.userAgent))
	if err != nil {
		return nil, invalidArgument(trimPrefix(err.Error()))
	}
	c := &Client{
		username:   username,
		rpc:        rpc,
		privateKey: cfg.privateKey,
		timeout:    cfg.timeout,
		retries:    cfg.retries,
		backoff:    cfg.backoff,
		apiKey:     cfg.apiKey,
	}
	if k := cfg.privateKey; k != nil {
		c.privSecrets = []string{k.D.String(), k.P.String(), k.Q.String()}
	}
	return c, nil
}

// Username returns the user the client acts for.
func (c *Client) Username() string { return c.username }

// URL returns the endpoint, without any user information.
func (c *Client) URL() string { return c.rpc.URL() }

func (c *Client) currentAPIKey() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.apiKey
}

// setAPIKey makes k the key in use; the one it replaces stays a secret
// to redact from errors.
func (c *Client) setAPIKey(k string) {
	c.mu.Lock()
	if c.apiKey != k {
		c.oldKeys = remember(c.oldKeys, c.apiKey)
		c.red = nil
	}
	c.apiKey = k
	c.mu.Unlock()
}

// rememberPassword records a password given to a call, so that errors
// from then on never show it.
func (c *Client) rememberPassword(pw string) {
	c.mu.Lock()
	if !slices.Contains(c.passwords, pw) {
		c.passwords = remember(c.passwords, pw)
		c.red = nil
	}
	c.mu.Unlock()
}

// redactor returns a redactor for every secret the client knows now.
func (c *Client) redactor() redactor {
	c.mu.RLock()
	r := c.red
	c.mu.RUnlock()
	if r != nil {
		return *r
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.red != nil {
		return *c.red
	}
	keys := make([]string, 0, 1+len(c.oldKeys)+len(c.privSecrets))
	keys = append(keys, c.apiKey)
	keys = append(keys, c.oldKeys...)
	keys = append(keys, c.privSecrets...)
	nr := newRedactor(keys, c.passwords)
	c.red = &nr
	return nr
}

// auth returns the auth struct for a call, fetching the API key first when
// the client only has a private key.
func (c *Client) auth(ctx context.Context) (map[string]any, error) {
	key := c.currentAPIKey()
	if key == "" {
		if err := c.FetchAPIKey(ctx); err != nil {
			return nil, err
		}
		key = c.currentAPIKey()
	}
	return map[string]any{"username": c.username, "api_key": key}, nil
}

// call makes one wire call, with the per-call timeout and, for read-only
// calls, the retry policy.
func (c *Client) call(ctx context.Context, method string, readOnly bool, result any, args ...any) error {
	attempts := 1
	if readOnly {
		attempts += c.retries
	}
	wait := c.backoff
	var err error
	var te *xmlrpc.TransportError // err's, when a retry follows
	for i := 0; i < attempts; i++ {
		if i > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				// Report both the failure that led to the wait and
				// the reason the wait ended, so that errors.Is finds
				// context.Canceled or DeadlineExceeded as it would
				// for a call cancelled in flight.
				t.Stop()
				return c.wrap(method, &xmlrpc.TransportError{Err: fmt.Errorf("%w; then, waiting to retry: %w", te.Err, ctx.Err())})
			case <-t.C:
			}
			wait *= 2
		}
		err = c.once(ctx, method, result, args)
		if err == nil || !errors.As(err, &te) || ctx.Err() != nil {
			break // only transport errors are retried
		}
	}
	return c.wrap(method, err)
}

func (c *Client) once(ctx context.Context, method string, result any, args []any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	return c.rpc.Call(ctx, method, result, args...)
}
