package nodemanager

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// Defaults (docs/nodemanager-api.md §7.4).
const (
	// DefaultTimeout bounds each call, connection to reply: the node may
	// take 10 s to start or stop a vessel.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxReplySize is the longest reply read: 32 MiB, more than the
	// disk quota of a vessel, so every file a vessel can hold (and its
	// 16 KiB log) fits.
	DefaultMaxReplySize = 32 << 20
	// DefaultExpiration is how long after its timestamp a signed request
	// expires, as in the original client.
	DefaultExpiration = time.Hour
)

// A Dialer opens connections; *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Client talks to node managers as one user. It is safe for concurrent
// use. Creating it makes no network call.
type Client struct {
	priv       *seattlersa.PrivateKey // nil: public calls only
	pub        string                 // canonical "e n" of priv
	secrets    []string               // priv's numbers, for redaction
	dialer     Dialer
	timeout    time.Duration
	maxReply   int64
	maxListed  int // the most file names ListFiles keeps; maxListedFiles but in tests
	expiration time.Duration
	retries    int
	backoff    time.Duration

	// Seams for tests: the clock (seconds since 1900) and the timestamp
	// form.
	clock func() float64
	form  nmproto.FloatForm

	mu      sync.Mutex
	lastTS  float64                  // guarded by mu: the last timestamp signed, as a node reads it
	vessels map[string]chan struct{} // guarded by mu: one slot per (address, vessel)
}

type config struct {
	priv       *seattlersa.PrivateKey
	pub        string
	dialer     Dialer
	timeout    time.Duration
	maxReply   int64
	maxListed  int // the most file names ListFiles keeps; maxListedFiles but in tests
	expiration time.Duration
	retries    int
	backoff    time.Duration
}

// An Option configures a Client. Options check their arguments; New
// returns the first error. The zero Option is an error.
type Option struct {
	apply func(*config) error
}

// WithPrivateKey sets the user's Seattle private key ("<d> <p> <q>"), the
// one registered with the clearinghouse, for signed calls. Without one a
// client makes only the public calls.
func WithPrivateKey(key string) Option {
	return Option{func(c *config) error {
		k, err := seattlersa.ParsePrivateKey(key)
		if err != nil {
			return invalidArgument("private key: " + strings.TrimPrefix(err.Error(), "seattlersa: "))
		}
		c.priv = k
		return nil
	}}
}

// WithPrivateKeyFile reads the private key from a file.
func WithPrivateKeyFile(path string) Option {
	return Option{func(c *config) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return invalidArgument("private key file: " + err.Error())
		}
		k, err := seattlersa.ParsePrivateKey(string(data))
		if err != nil {
			return invalidArgument("private key file " + path + ": " + strings.TrimPrefix(err.Error(), "seattlersa: "))
		}
		c.priv = k
		return nil
	}}
}

// WithPublicKey sets the public key ("<e> <n>") that goes with the
// private key. It is needed only for a key whose public exponent is not
// 65537 (every key Seattle's tools made has 65537, and the client derives
// the public key then); New checks that the two belong together.
func WithPublicKey(key string) Option {
	return Option{func(c *config) error {
		k, err := seattlersa.ParsePublicKey(key)
		if err != nil {
			return invalidArgument("public key: " + strings.TrimPrefix(err.Error(), "seattlersa: "))
		}
		c.pub = k.String()
		return nil
	}}
}

// WithDialer opens connections with d instead of a net.Dialer.
func WithDialer(d Dialer) Option {
	return Option{func(c *config) error {
		if d == nil {
			return invalidArgument("nil Dialer")
		}
		c.dialer = d
		return nil
	}}
}

// WithTimeout bounds every call (each attempt, when retrying), from
// dialling to the end of the reply, by d (default DefaultTimeout), on top
// of the caller's context.
func WithTimeout(d time.Duration) Option {
	return Option{func(c *config) error {
		if d <= 0 {
			return invalidArgument("timeout must be positive")
		}
		c.timeout = d
		return nil
	}}
}

// WithMaxReplySize sets the longest reply the client reads (default
// DefaultMaxReplySize); a longer one fails with ErrReplyTooLarge before
// its body is read.
func WithMaxReplySize(n int64) Option {
	return Option{func(c *config) error {
		if n < 1 {
			return invalidArgument("reply size limit must be positive")
		}
		c.maxReply = n
		return nil
	}}
}

// WithExpiration sets how long after its timestamp a signed request stays
// valid (default DefaultExpiration). A node refuses an expired request
// with "Bad Signature on '…'".
func WithExpiration(d time.Duration) Option {
	return Option{func(c *config) error {
		if d <= 0 || d > 100*365*24*time.Hour {
			return invalidArgument("expiration must be positive and at most a century")
		}
		c.expiration = d
		return nil
	}}
}

// WithRetries retries the public calls (GetVessels, GetVesselResources,
// GetOffcutResources) up to n more times when an attempt fails before any
// byte of a reply arrived, waiting backoff, then twice that, and so on.
// Signed calls are never retried: each consumes a timestamp and may
// change the vessel. Off by default.
func WithRetries(n int, backoff time.Duration) Option {
	return Option{func(c *config) error {
		if n < 0 || backoff < 0 {
			return invalidArgument("retries and backoff must not be negative")
		}
		c.retries, c.backoff = n, backoff
		return nil
	}}
}

// New returns a client. It makes no network call.
func New(opts ...Option) (*Client, error) {
	cfg := config{
		dialer:     &net.Dialer{},
		timeout:    DefaultTimeout,
		maxReply:   DefaultMaxReplySize,
		expiration: DefaultExpiration,
	}
	for _, opt := range opts {
		if opt.apply == nil {
			return nil, invalidArgument("zero Option")
		}
		if err := opt.apply(&cfg); err != nil {
			return nil, err
		}
	}
	c := &Client{
		priv: cfg.priv, dialer: cfg.dialer, timeout: cfg.timeout, maxReply: cfg.maxReply,
		maxListed: maxListedFiles, expiration: cfg.expiration, retries: cfg.retries, backoff: cfg.backoff,
		clock: func() float64 { return nmproto.NTPTime(time.Now()) }, form: nmproto.FullForm,
		vessels: map[string]chan struct{}{},
	}
	switch {
	case cfg.priv == nil && cfg.pub != "":
		return nil, invalidArgument("a public key without a private key")
	case cfg.priv != nil && cfg.pub == "":
		pub, err := cfg.priv.PublicKey()
		if err != nil {
			return nil, invalidArgument("the private key's public exponent is not 65537: give its public key with WithPublicKey")
		}
		c.pub = pub.String()
	case cfg.priv != nil:
		pub, _ := seattlersa.ParsePublicKey(cfg.pub)
		if !cfg.priv.MatchesPublicKey(pub) {
			return nil, invalidArgument("the public key does not belong to the private key")
		}
		c.pub = cfg.pub
	}
	if k := cfg.priv; k != nil {
		c.secrets = []string{k.D.String(), k.P.String(), k.Q.String()}
	}
	return c, nil
}

// PublicKey returns the key the client signs as ("<e> <n>"), or "" for a
// client without a private key.
func (c *Client) PublicKey() string { return c.pub }

// redact replaces the private key's numbers in s.
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets {
		if len(secret) >= 6 && strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// stamp returns the timestamp and expiration texts of the next signed
// request. Timestamps rise strictly over everything the client signs, as
// a node reads them, however close together the calls come: a node
// refuses a timestamp equal to the vessel's last (§7.2).
func (c *Client) stamp() (ts, exp string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.clock()
	if t <= c.lastTS {
		t = math.Nextafter(c.lastTS, math.Inf(1))
	}
	for step := 0.005; ; step *= 2 {
		ts = nmproto.FormatFloat(t, c.form)
		if v, err := nmproto.ParseFloat(ts); err == nil && v > c.lastTS {
			c.lastTS = v
			break
		}
		t = c.lastTS + step // the short form rounds to 10 ms
	}
	return ts, nmproto.FormatFloat(t+c.expiration.Seconds(), c.form)
}

// lockVessel waits for the vessel's turn: the client sends one signed
// request at a time per vessel, so they reach the node in the order of
// their timestamps. The slots are kept for the client's lifetime, one per
// vessel it has signed for.
func (c *Client) lockVessel(ctx context.Context, addr, vessel string) (unlock func(), err error) {
	key := addr + "\x00" + vessel
	c.mu.Lock()
	slot, ok := c.vessels[key]
	if !ok {
		slot = make(chan struct{}, 1)
		c.vessels[key] = slot
	}
	c.mu.Unlock()
	select {
	case slot <- struct{}{}:
		return func() { <-slot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// exchange sends payload to addr on a fresh connection and reads the
// reply (§2.1). received reports whether any byte of a reply arrived.
func (c *Client) exchange(ctx context.Context, addr, payload string) (reply nmproto.Reply, received bool, kind error, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// A failure because the time ran out, or the caller gave up, says so.
	defer func() {
		if ctxErr := ctx.Err(); err != nil && ctxErr != nil && !errors.Is(err, ctxErr) {
			err = &ctxCause{ctx: ctxErr, err: err}
		}
	}()
	conn, err := c.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nmproto.Reply{}, false, ErrCommunication, err
	}
	defer conn.Close()
	// The connection is closed when the context ends, which ends any
	// read or write in progress.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := nmproto.WriteMessage(conn, payload); err != nil {
		return nmproto.Reply{}, false, ErrCommunication, fmt.Errorf("sending the request: %w", err)
	}
	cr := &countingReader{r: conn}
	msg, err := nmproto.ReadMessage(bufio.NewReaderSize(cr, 4096), c.maxReply)
	switch {
	case errors.Is(err, nmproto.ErrTooLarge):
		return nmproto.Reply{}, true, ErrReplyTooLarge, err
	case err == io.EOF:
		return nmproto.Reply{}, false, ErrCommunication, errors.New("the node closed the connection without a reply")
	case err != nil:
		return nmproto.Reply{}, cr.n > 0, ErrCommunication, fmt.Errorf("reading the reply: %w", err)
	}
	reply, err = nmproto.ParseReply(msg)
	if err != nil {
		return nmproto.Reply{}, true, ErrCommunication, err
	}
	return reply, true, nil, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	return n, err
}

// call makes one call to the node at addr (§7.1): request is the encoded
// request, signed first when the call needs it.
func (c *Client) call(ctx context.Context, n *Node, call nmproto.Call, request, vessel string, seq *sequence) (string, error) {
	if !call.Signed() {
		return c.callPublic(ctx, n, call, request, vessel)
	}
	if c.priv == nil {
		return "", invalidArgument(call.Name + " is signed: the client needs a private key (WithPrivateKey)")
	}
	unlock, err := c.lockVessel(ctx, n.addr, vessel)
	if err != nil {
		return "", failure(ctx, call.Name, n.addr, vessel, ErrCommunication, err, c.redact)
	}
	defer unlock()
	ts, exp := c.stamp()
	tr := nmproto.Trailer{PublicKey: c.pub, Timestamp: ts, Expiration: exp, Sequence: nmproto.None, Destination: n.key}
	if seq != nil {
		tr.Sequence = seq.next()
	}
	signed, err := nmproto.Sign(request, &tr, c.priv)
	if err != nil {
		return "", invalidArgument(call.Name + ": " + trimPrefix(err.Error()))
	}
	reply, _, kind, err := c.exchange(ctx, n.addr, signed)
	if err != nil {
		return "", failure(ctx, call.Name, n.addr, vessel, kind, err, c.redact)
	}
	return c.result(call.Name, n.addr, vessel, reply)
}

func (c *Client) callPublic(ctx context.Context, n *Node, call nmproto.Call, request, vessel string) (string, error) {
	wait := c.backoff
	for attempt := 0; ; attempt++ {
		reply, received, kind, err := c.exchange(ctx, n.addr, request)
		if err == nil {
			return c.result(call.Name, n.addr, vessel, reply)
		}
		if received || attempt >= c.retries || ctx.Err() != nil {
			return "", failure(ctx, call.Name, n.addr, vessel, kind, err, c.redact)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", failure(ctx, call.Name, n.addr, vessel, kind, err, c.redact)
		case <-t.C:
		}
		wait *= 2
	}
}

func (c *Client) result(call, addr, vessel string, r nmproto.Reply) (string, error) {
	if r.Status != nmproto.Success {
		return "", refusal(call, addr, vessel, r, c.redact)
	}
	return r.Body, nil
}
