package mockserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// adminGuard stands in front of the admin API. The API changes state and
// hands out credentials, and it listens on the developer's own machine,
// where any web page the developer visits can make the browser send it
// requests. The guard refuses, in this order:
//
//   - a Host that is neither an IP literal, nor localhost, nor a name given
//     with WithAdminHosts (403). DNS rebinding, which lets a page read
//     answers from a local port, works by pointing the attacker's own name
//     at 127.0.0.1, so the browser necessarily sends that name as the Host.
//     A URL with an IP literal involves no DNS and cannot be rebound, and
//     localhost is resolved by the browser itself, not by DNS.
//   - a request a browser marks as coming from another site: an Origin
//     other than the server's own (scheme, host and port), or
//     Sec-Fetch-Site cross-site or same-site (403). Browsers send Origin
//     on every cross-origin request but simple GETs, and Sec-Fetch-Site on
//     every request; tools such as curl send neither.
//   - OPTIONS, so that no CORS preflight is ever allowed (405; and 403
//     before that when cross-origin).
//   - without the token of WithAdminToken, when one is set: a request
//     without "Authorization: Bearer <token>" (401). This is what protects
//     the API from other users of a shared machine or network, which the
//     checks above cannot tell apart from the developer.
//   - a request that changes state (any method but GET and HEAD) and
//     carries a body without Content-Type application/json, or any other
//     content type even without a body (415). A page can send text/plain,
//     a form or no type at all without a preflight, but not JSON.
type adminGuard struct {
	next     http.Handler
	hosts    map[string]bool // from WithAdminHosts, lower case
	hasToken bool
	tokenSum [sha256.Size]byte // of the token; compared in constant time
}

func newAdminGuard(next http.Handler, hosts []string, token string) *adminGuard {
	g := &adminGuard{next: next, hosts: map[string]bool{}}
	for _, h := range hosts {
		g.hosts[normalHost(h)] = true
	}
	if token != "" {
		g.hasToken, g.tokenSum = true, sha256.Sum256([]byte(token))
	}
	return g
}

func (g *adminGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	refuse := func(code int, msg string) {
		writeJSON(w, code, mockapi.ErrorReply{Error: "mockserver: " + msg})
	}
	switch {
	case !g.hostAllowed(r.Host):
		refuse(http.StatusForbidden, "the admin API answers only requests addressed to an IP address, localhost"+
			" or a configured admin host (mockclearinghouse -admin-host), as a defence against DNS rebinding")
	case crossSite(r):
		refuse(http.StatusForbidden, "the admin API refuses cross-origin requests")
	case r.Method == http.MethodOptions:
		w.Header().Set("Allow", "GET, POST, DELETE")
		refuse(http.StatusMethodNotAllowed, "the admin API does not answer OPTIONS (no CORS)")
	case g.hasToken && !g.authorized(r):
		w.Header().Set("WWW-Authenticate", `Bearer realm="mockclearinghouse admin"`)
		refuse(http.StatusUnauthorized, "the admin API needs the header Authorization: Bearer <admin token>")
	case !jsonBody(r):
		refuse(http.StatusUnsupportedMediaType, "admin requests with a body must have Content-Type application/json")
	default:
		g.next.ServeHTTP(w, r)
	}
}

// normalHost returns the host of a Host header or name without port,
// brackets, final dot or capitals.
func normalHost(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	} else {
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func (g *adminGuard) hostAllowed(hostport string) bool {
	h := normalHost(hostport)
	if h == "" {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return h == "localhost" || g.hosts[h]
}

// crossSite reports whether a browser marked r as sent from another site.
func crossSite(r *http.Request) bool {
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Sec-Fetch-Site"))) {
	case "cross-site", "same-site":
		return true
	}
	for _, o := range r.Header.Values("Origin") {
		if !sameOrigin(o, r) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether origin, an Origin header, is the origin r
// was sent to. The opaque origin "null" is never the same.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(strings.TrimSpace(origin))
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(withPort(u.Host, scheme), withPort(r.Host, scheme))
}

// withPort adds the scheme's default port to a host that has none.
func withPort(hostport, scheme string) string {
	if _, _, err := net.SplitHostPort(hostport); err == nil {
		return hostport
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), port)
}

// authorized reports whether r carries the admin token.
func (g *adminGuard) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	// Hashing first makes the comparison constant-time in the length too.
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], g.tokenSum[:]) == 1
}

// jsonBody reports whether r is a GET or HEAD, or its content type is JSON,
// or it has neither a body nor a content type.
func jsonBody(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength == 0 {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// checkAdminToken checks a token for WithAdminToken: visible ASCII, as it
// travels in a header. The token itself never appears in the error.
func checkAdminToken(token string) error {
	if token == "" {
		return errors.New("mockserver: empty admin token")
	}
	if len(token) > 4096 {
		return errors.New("mockserver: admin token longer than 4096 bytes")
	}
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] > '~' {
			return errors.New("mockserver: the admin token may hold only visible ASCII characters, no spaces")
		}
	}
	return nil
}
