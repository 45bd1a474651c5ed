package clearinghouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/leaktest"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// Secrets of the hostile-server tests. The password has a space and a
// non-ASCII letter, so that escaped forms of it are exercised too.
const (
	leakKey1    = "FIRSTKEY0123456789ABCDEFGHIJKLMN" // given to New
	leakKey2    = "REGENKEY0123456789ABCDEFGHIJKLMN" // from RegenerateAPIKey
	leakKey3    = "FETCHKEY0123456789ABCDEFGHIJKLMN" // through the private key
	leakPass    = "correct horse \u00dfattery"
	leakPubKeyS = "set_public_key argument, not a secret"
)

// hostileKeys is the key pair of the hostile tests' account.
var hostileKeys = sync.OnceValues(func() (*seattlersa.PublicKey, *seattlersa.PrivateKey) {
	pub, priv, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{'h'}), 512)
	if err != nil {
		panic(err)
	}
	return pub, priv
})

// hostile is an XML-RPC server that puts every secret it knows (the
// account's keys and password, the private key, and whatever credentials
// it receives) into its failures, in the way its mode says.
type hostile struct {
	srv     *httptest.Server
	mode    atomic.Value // string
	mu      sync.Mutex
	secrets []string
	last    string // the last credential received
	hits    atomic.Int64
}

func newHostile(t *testing.T) *hostile {
	t.Helper()
	_, priv := hostileKeys()
	h := &hostile{secrets: []string{leakKey1, leakKey2, leakKey3, leakPass, priv.D.String(), priv.P.String(), priv.Q.String()}}
	h.mode.Store("ok")
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hostile) learn(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range []string{"api_key", "password"} {
			if s, ok := v[k].(string); ok && s != "" {
				h.mu.Lock()
				if !slices.Contains(h.secrets, s) {
					h.secrets = append(h.secrets, s)
				}
				h.last = s
				h.mu.Unlock()
			}
		}
	case []any:
		for _, x := range v {
			h.learn(x)
		}
	}
}

func (h *hostile) echo() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return "you sent: " + strings.Join(h.secrets, " | ")
}

func (h *hostile) serve(w http.ResponseWriter, r *http.Request) {
	h.hits.Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	method, params, err := xmlrpc.DecodeCall(bytes.NewReader(body))
	if err != nil {
		http.Error(w, "bad call", 400)
		return
	}
	for _, p := range params {
		h.learn(p)
	}
	echo := h.echo()
	fault := func(code int, s string) { xmlrpc.EncodeFault(w, &xmlrpc.Fault{Code: code, String: s}) }
	switch h.mode.Load().(string) {
	case "ok":
		pub, _ := hostileKeys()
		switch method {
		case "regenerate_api_key":
			xmlrpc.EncodeResponse(w, leakKey2)
		case "get_encrypted_api_key":
			ct, err := seattlersa.EncryptAPIKey(nil, pub, leakKey3)
			if err != nil {
				panic(err)
			}
			xmlrpc.EncodeResponse(w, ct)
		default:
			fault(100, "not in ok mode")
		}
	case "fault 102":
		fault(102, echo)
	case "fault 101":
		fault(101, echo)
	case "fault 100":
		fault(100, echo)
	case "4 MiB fault":
		fault(105, echo+strings.Repeat("x", 4<<20-8<<10)+echo) // just within the client's text limit
	case "malformed fault":
		io.WriteString(w, `<?xml version="1.0"?><methodResponse><fault><value><struct>`+
			`<member><name>faultCode</name><value><string>`+xmlText(echo)+`</string></value></member>`+
			`<member><name>faultString</name><value><string>`+xmlText(echo)+`</string></value></member>`+
			`</struct></value></fault></methodResponse>`)
	case "bad value":
		// The last credential as an <int>: the decoder quotes 40 bytes.
		h.mu.Lock()
		s := h.last
		h.mu.Unlock()
		io.WriteString(w, `<?xml version="1.0"?><methodResponse><params><param><value><int>`+xmlText(s)+`</int></value></param></params></methodResponse>`)
	case "HTTP 500":
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 500 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", echo, len(echo), echo)
		rw.Flush()
	case "redirect":
		w.Header().Set("Location", "http://127.0.0.1:1/steal?k="+url.QueryEscape(echo)+"#"+url.PathEscape(echo))
		w.WriteHeader(http.StatusTemporaryRedirect)
	case "bad status":
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 %s OK\r\nContent-Length: 0\r\n\r\n", strings.ReplaceAll(echo, " ", "_"))
		rw.Flush()
	default:
		panic("unknown mode")
	}
}

func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var hostileModes = []string{"fault 102", "fault 101", "fault 100", "4 MiB fault", "malformed fault", "bad value", "HTTP 500", "redirect", "bad status"}

// clientCall is one method of the client, called for its error.
type clientCall struct {
	name string
	call func(ctx context.Context, c *Client) error
}

var everyMethod = []clientCall{
	{"AcquireLAN", func(ctx context.Context, c *Client) error { _, err := c.AcquireLAN(ctx, 1); return err }},
	{"AcquireWAN", func(ctx context.Context, c *Client) error { _, err := c.AcquireWAN(ctx, 1); return err }},
	{"AcquireNAT", func(ctx context.Context, c *Client) error { _, err := c.AcquireNAT(ctx, 1); return err }},
	{"AcquireRandom", func(ctx context.Context, c *Client) error { _, err := c.AcquireRandom(ctx, 1); return err }},
	{"AcquireResources", func(ctx context.Context, c *Client) error { _, err := c.AcquireResources(ctx, "bogus", 1); return err }},
	{"AcquireSpecificVessels", func(ctx context.Context, c *Client) error {
		_, err := c.AcquireSpecificVessels(ctx, []Handle{"n:v2"})
		return err
	}},
	{"ReleaseResources", func(ctx context.Context, c *Client) error { return c.ReleaseResources(ctx, []Handle{"n:v2"}) }},
	{"RenewResources", func(ctx context.Context, c *Client) error { return c.RenewResources(ctx, []Handle{"n:v2"}) }},
	{"GetResourceInfo", func(ctx context.Context, c *Client) error { _, err := c.GetResourceInfo(ctx); return err }},
	{"GetAccountInfo", func(ctx context.Context, c *Client) error { _, err := c.GetAccountInfo(ctx); return err }},
	{"GetPublicKey", func(ctx context.Context, c *Client) error { _, err := c.GetPublicKey(ctx); return err }},
	{"GetEncryptedAPIKey", func(ctx context.Context, c *Client) error { _, err := c.GetEncryptedAPIKey(ctx, "alice"); return err }},
	{"SetPublicKey", func(ctx context.Context, c *Client) error { return c.SetPublicKey(ctx, leakPass, leakPubKeyS) }},
	{"RegenerateAPIKey", func(ctx context.Context, c *Client) error { _, err := c.RegenerateAPIKey(ctx, leakPass); return err }},
}

// secretForms are the forms in which a secret must not appear: as is, and
// as this code's own formatting would render it (URL-escaped, Go-quoted).
func secretForms(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		q := strconv.QuoteToASCII(s)
		out = append(out, s, url.QueryEscape(s), url.PathEscape(s), q[1:len(q)-1])
	}
	return out
}

// errorTexts returns every text err and the causes inside it show.
func errorTexts(err error) map[string]string {
	texts := map[string]string{
		"Error()": err.Error(),
		"%v":      fmt.Sprintf("%v", err),
		"%+v":     fmt.Sprintf("%+v", err),
	}
	var ce *Error
	if errors.As(err, &ce) {
		texts["Error.Msg"] = ce.Msg
	}
	var f *xmlrpc.Fault
	if errors.As(err, &f) {
		texts["Fault.Error()"], texts["Fault.String"] = f.Error(), f.String
	}
	var he *xmlrpc.HTTPError
	if errors.As(err, &he) {
		texts["HTTPError.Error()"], texts["HTTPError.Status"] = he.Error(), he.Status
		texts["HTTPError.Body"], texts["HTTPError.Location"] = string(he.Body), he.Location
	}
	var de *xmlrpc.DecodeError
	if errors.As(err, &de) {
		texts["DecodeError.Error()"], texts["DecodeError.Msg"] = de.Error(), de.Msg
	}
	var te *xmlrpc.TransportError
	if errors.As(err, &te) {
		texts["TransportError.Error()"] = te.Error()
	}
	var ty *xmlrpc.TypeError
	if errors.As(err, &ty) {
		texts["TypeError.Error()"] = ty.Error()
	}
	return texts
}

// checkNoSecrets fails if any text of err holds a secret, and checks the
// message's size.
func checkNoSecrets(t *testing.T, err error, secrets []string) {
	t.Helper()
	if err == nil {
		t.Fatal("have no error, want one")
	}
	forms := secretForms(secrets)
	for where, text := range errorTexts(err) {
		for _, s := range forms {
			if strings.Contains(text, s) {
				i := strings.Index(text, s)
				t.Errorf("%s holds a secret: ...%q...", where, text[max(0, i-20):min(len(text), i+len(s)+20)])
				break
			}
		}
	}
	if n := len(err.Error()); n > 1024 {
		t.Errorf("Error() has %d bytes, want at most 1024", n)
	}
	if !errors.Is(err, ErrClearinghouse) {
		t.Errorf("%v does not match ErrClearinghouse", err)
	}
}

// TestErrorsNeverHoldSecrets: whatever a server sends back — the
// credentials it received, the account's other keys, the private key —
// no error text of any method shows the client's secrets: the API key
// given to New, one from RegenerateAPIKey, one fetched with the private
// key, the password given to SetPublicKey or RegenerateAPIKey, or the
// private key's numbers.
func TestErrorsNeverHoldSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHostile(t)
	_, priv := hostileKeys()
	privSecrets := []string{priv.D.String(), priv.P.String(), priv.Q.String()}

	// A client with an API key, which then regenerates it.
	withKey, err := New("alice", WithURL(h.srv.URL), WithAPIKey(leakKey1))
	if err != nil {
		t.Fatal(err)
	}
	h.mode.Store("ok")
	if key, err := withKey.RegenerateAPIKey(ctx, leakPass); err != nil || key != leakKey2 {
		t.Fatalf("RegenerateAPIKey: %q, %v", key, err)
	}
	// A client with only the private key, which fetches the API key.
	fetched, err := New("alice", WithURL(h.srv.URL), WithPrivateKey(priv.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := fetched.FetchAPIKey(ctx); err != nil {
		t.Fatalf("FetchAPIKey: %v", err)
	}
	// And one whose every call fetches the key first, and fails there.
	fetching, err := New("alice", WithURL(h.srv.URL), WithPrivateKey(priv.String()))
	if err != nil {
		t.Fatal(err)
	}

	clients := []struct {
		name    string
		c       *Client
		secrets []string // those this client knows
	}{
		{"API key, regenerated", withKey, []string{leakKey1, leakKey2, leakPass}},
		{"fetched with the private key", fetched, append([]string{leakKey3, leakPass}, privSecrets...)},
		{"fetching with the private key", fetching, append([]string{leakPass}, privSecrets...)},
	}
	for _, mode := range hostileModes {
		h.mode.Store(mode)
		for _, cl := range clients {
			// The password reaches the client in the first call that takes it.
			cl.c.SetPublicKey(ctx, leakPass, leakPubKeyS)
			calls := everyMethod
			if cl.c == fetching {
				calls = append(calls[:len(calls):len(calls)], clientCall{"FetchAPIKey", func(ctx context.Context, c *Client) error { return c.FetchAPIKey(ctx) }})
			}
			for _, m := range calls {
				t.Run(mode+"/"+cl.name+"/"+m.name, func(t *testing.T) {
					checkNoSecrets(t, m.call(ctx, cl.c), cl.secrets)
				})
			}
		}
	}
	if h.hits.Load() == 0 {
		t.Fatal("the hostile server was never called")
	}
}

// TestHugeFaultThroughClient: a 4 MiB fault string gives a short error
// message, while the fault reachable with errors.As keeps the whole string
// (redacted in full when it holds a secret).
func TestHugeFaultThroughClient(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("z", 4<<20-4<<10) // just within the client's text limit
	var withSecret atomic.Bool
	endpoint := misbehaving(t, func(w http.ResponseWriter, r *http.Request) {
		s := huge
		if withSecret.Load() {
			s = leakKey1 + huge + leakKey1
		}
		xmlrpc.EncodeFault(w, &xmlrpc.Fault{Code: 102, String: s})
	})
	c, err := New("alice", WithURL(endpoint), WithAPIKey(leakKey1))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []bool{false, true} {
		withSecret.Store(secret)
		_, err := c.GetAccountInfo(context.Background())
		wantKind(t, err, ErrInvalidRequest, 102)
		if n := len(err.Error()); n > 1024 {
			t.Errorf("Error() has %d bytes, want at most 1024", n)
		}
		var f *xmlrpc.Fault
		if !errors.As(err, &f) {
			t.Fatalf("no *xmlrpc.Fault in %v", err)
		}
		switch {
		case !secret && f.String != huge:
			t.Errorf("Fault.String has %d bytes, want all %d", len(f.String), len(huge))
		case secret && (strings.Contains(f.String, leakKey1) || !strings.Contains(f.String, huge)):
			t.Errorf("Fault.String (%d bytes) holds the API key or lost the rest of the text", len(f.String))
		}
	}
}

// TestEchoedSecretsAtEveryCut: a server (leaktest.Echo) that answers
// every call with a fault carrying every string the client sent and the
// private key, padded so that each lands across the 512 bytes an error
// message shows, with a carriage return, U+009B and U+202E after them.
// Keys hold the characters quoting escapes. No text of any error holds
// any form of any secret, nor a piece of one (leaktest.Leaks), and no
// message a control character.
func TestEchoedSecretsAtEveryCut(t *testing.T) {
	t.Parallel()
	_, priv := hostileKeys()
	key, pw := `K"3\Y<&>`+strings.Repeat("Q7", 12), `pw"\<&>`+"batterystaple"
	e := &leaktest.Echo{Known: []string{priv.String()}, Clips: []int{512}}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	c, err := New("alice", WithURL(srv.URL), WithAPIKey(key), WithPrivateKey(priv.String()))
	if err != nil {
		t.Fatal(err)
	}
	c.rememberPassword(pw)
	secrets := []string{key, pw, priv.D.String(), priv.P.String(), priv.Q.String()}
	ctx := context.Background()
	find := leaktest.NewFinder(secrets)
	leaks, controls := 0, 0
	for e.Calls() < 4000 {
		for _, m := range everyMethod {
			err := m.call(ctx, c)
			if err == nil {
				t.Fatalf("%s: no error from a server that only faults", m.name)
			}
			for where, text := range errorTexts(err) {
				l := find.Leaks(text)
				if len(l) > 0 && leaks < 5 {
					t.Errorf("%s: %s holds %v", m.name, where, l)
				}
				leaks += leaktest.Total(l)
				if strings.Contains(where, "Error()") || strings.HasPrefix(where, "%") {
					controls += leaktest.Sum(leaktest.ControlChars(text))
				}
			}
		}
	}
	if leaks > 0 || controls > 0 {
		t.Errorf("over %d calls: %d places that show a secret, %d control characters in messages", e.Calls(), leaks, controls)
	}
	// A secret where a number should be: the decoder quotes the first 40
	// bytes of the value, a piece of a long secret.
	for i, s := range secrets {
		endpoint := misbehaving(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `<?xml version="1.0"?><methodResponse><params><param><value><int>`+xmlText(s)+`</int></value></param></params></methodResponse>`)
		})
		c, err := New("alice", WithURL(endpoint), WithAPIKey(key), WithPrivateKey(priv.String()))
		if err != nil {
			t.Fatal(err)
		}
		c.rememberPassword(pw)
		_, err = c.GetAccountInfo(ctx)
		if err == nil {
			t.Fatalf("secret %d as an int: no error", i)
		}
		for where, text := range errorTexts(err) {
			if l := find.Leaks(text); len(l) > 0 {
				t.Errorf("secret %d as an int: %s holds %v", i, where, l)
			}
		}
	}
}
