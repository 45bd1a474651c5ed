package mockserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// guardRequest is one request of the admin guard tests.
type guardRequest struct {
	name        string
	method      string
	path        string
	host        string // Host header; the server's own address if empty
	contentType string
	body        string
	header      map[string]string // more headers; "{origin}" and "{host}" stand for the server's own
	status      int
	creates     string // the account the request must create, if it succeeds
}

// do sends the request to srv and returns the status, the headers and the
// body of the answer.
func (gr guardRequest) do(t *testing.T, srv *httptest.Server) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if gr.body != "" {
		body = strings.NewReader(gr.body)
	}
	req, err := http.NewRequest(gr.method, srv.URL+gr.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if gr.host != "" {
		req.Host = gr.host
	}
	if gr.contentType != "" {
		req.Header.Set("Content-Type", gr.contentType)
	}
	for k, v := range gr.header {
		v = strings.ReplaceAll(v, "{origin}", srv.URL)
		req.Header.Set(k, strings.ReplaceAll(v, "{host}", srv.Listener.Addr().String()))
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(raw)
}

const guardAccount = `{"username":"mallory","password":"secret1","affiliation":"Evil Inc"}`

// TestAdminRefusesBrowserAttacks replays what a web page the developer
// visits can make the browser send to the admin API: a CSRF POST in a
// "simple" content type, a DNS-rebinding read of the credentials, other
// cross-origin requests and a CORS preflight. None may act or leak; a
// same-origin JSON request still works.
func TestAdminRefusesBrowserAttacks(t *testing.T) {
	t.Parallel()
	for _, tc := range []guardRequest{
		{name: "CSRF text/plain POST", method: "POST", path: "/admin/accounts", contentType: "text/plain", body: guardAccount,
			header: map[string]string{"Origin": "http://evil.example"}, status: 403},
		{name: "text/plain POST without Origin", method: "POST", path: "/admin/accounts", contentType: "text/plain", body: guardAccount, status: 415},
		{name: "form POST without Origin", method: "POST", path: "/admin/accounts", contentType: "application/x-www-form-urlencoded", body: guardAccount, status: 415},
		{name: "POST without a content type", method: "POST", path: "/admin/accounts", body: guardAccount, status: 415},
		{name: "empty form POST", method: "POST", path: "/admin/reset", contentType: "application/x-www-form-urlencoded", status: 415},
		{name: "JSON look-alike type", method: "POST", path: "/admin/accounts", contentType: "application/jsonp", body: guardAccount, status: 415},
		{name: "rebinding Host reads credentials", method: "GET", path: "/admin/accounts/alice/credentials", host: "evil.example:8421", status: 403},
		{name: "rebinding Host without port", method: "GET", path: "/admin/accounts/alice/credentials", host: "evil.example", status: 403},
		{name: "rebinding Host posts", method: "POST", path: "/admin/accounts", host: "evil.example:8421", contentType: "application/json", body: guardAccount, status: 403},
		{name: "localhost look-alike Host", method: "GET", path: "/admin/accounts/alice/credentials", host: "localhost.evil.example:8421", status: 403},
		{name: "cross-origin Origin", method: "GET", path: "/admin/accounts/alice/credentials",
			header: map[string]string{"Origin": "http://evil.example"}, status: 403},
		{name: "other port is another origin", method: "GET", path: "/admin/accounts/alice/credentials",
			header: map[string]string{"Origin": "http://127.0.0.1:1"}, status: 403},
		{name: "other scheme is another origin", method: "GET", path: "/admin/accounts/alice/credentials",
			header: map[string]string{"Origin": "https://{host}"}, status: 403},
		{name: "opaque Origin", method: "GET", path: "/admin/accounts/alice/credentials",
			header: map[string]string{"Origin": "null"}, status: 403},
		{name: "Sec-Fetch-Site cross-site", method: "GET", path: "/admin/accounts/alice/credentials",
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "Sec-Fetch-Site same-site", method: "GET", path: "/admin/accounts/alice/credentials",
			header: map[string]string{"Sec-Fetch-Site": "same-site"}, status: 403},
		{name: "cross-origin JSON POST", method: "POST", path: "/admin/accounts", contentType: "application/json", body: guardAccount,
			header: map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "CORS preflight", method: "OPTIONS", path: "/admin/accounts",
			header: map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, status: 403},
		{name: "same-origin preflight", method: "OPTIONS", path: "/admin/accounts",
			header: map[string]string{"Origin": "{origin}", "Access-Control-Request-Method": "POST"}, status: 405},

		{name: "same-origin JSON POST", method: "POST", path: "/admin/accounts", contentType: "application/json; charset=utf-8", body: guardAccount,
			header: map[string]string{"Origin": "{origin}", "Sec-Fetch-Site": "same-origin"}, status: 201, creates: "mallory"},
		{name: "script JSON POST", method: "POST", path: "/admin/accounts", contentType: "application/json", body: strings.Replace(guardAccount, "mallory", "mallory2", 1),
			status: 201, creates: "mallory2"},
		{name: "localhost Host", method: "GET", path: "/admin/accounts/alice/credentials", host: "localhost:8421", status: 200},
		{name: "localhost Host, any case, final dot", method: "GET", path: "/admin/accounts/alice/credentials", host: "LocalHost.:8421", status: 200},
		{name: "IPv6 literal Host", method: "GET", path: "/admin/accounts/alice/credentials", host: "[::1]:8421", status: 200},
		{name: "typed in the address bar", method: "GET", path: "/admin/accounts/alice/credentials",
			header: map[string]string{"Sec-Fetch-Site": "none"}, status: 200},
		{name: "bodiless POST", method: "POST", path: "/admin/reset", status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, WithKeyBits(512))
			alice := addUser(t, s, "alice")
			srv := httptest.NewServer(s.adminHandler())
			t.Cleanup(srv.Close)
			status, header, body := tc.do(t, srv)
			if status != tc.status {
				t.Errorf("status: have %d, want %d", status, tc.status)
			}
			for k := range header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("answer carries %s: %q", k, header.Get(k))
				}
			}
			if status >= 400 {
				if ct := header.Get("Content-Type"); ct != "application/json" || !strings.Contains(body, `"error"`) {
					t.Errorf("refusal: Content-Type %q, body %s; want a JSON error", ct, body)
				}
				if strings.Contains(body, alice.APIKey) || strings.Contains(body, alice.Password) {
					t.Errorf("refusal leaks a secret: %s", body)
				}
			}
			for _, name := range []string{"mallory", "mallory2"} {
				_, err := s.Account(name)
				if created := err == nil; created != (name == tc.creates) {
					t.Errorf("account %s exists: have %v, want %v", name, created, name == tc.creates)
				} else if !created && !errors.Is(err, ErrNotFound) {
					t.Errorf("account %s: %v", name, err)
				}
			}
		})
	}
}

// TestAdminToken checks that with WithAdminToken every admin request needs
// the token as a bearer credential, and that the token never shows.
func TestAdminToken(t *testing.T) {
	t.Parallel()
	const token = "s3cret-Admin-Token_42"
	s := newTestServer(t, WithKeyBits(512), WithAdminToken(token))
	addUser(t, s, "alice")
	srv := httptest.NewServer(s.adminHandler())
	t.Cleanup(srv.Close)
	bearer := func(v string) map[string]string { return map[string]string{"Authorization": v} }
	for _, tc := range []guardRequest{
		{name: "no token", method: "GET", path: "/admin/accounts/alice/credentials", status: 401},
		{name: "wrong token", method: "GET", path: "/admin/accounts/alice/credentials", header: bearer("Bearer wrong"), status: 401},
		{name: "token prefix", method: "GET", path: "/admin/accounts/alice/credentials", header: bearer("Bearer " + token[:10]), status: 401},
		{name: "token and more", method: "GET", path: "/admin/accounts/alice/credentials", header: bearer("Bearer " + token + "x"), status: 401},
		{name: "other scheme", method: "GET", path: "/admin/accounts/alice/credentials", header: bearer("Basic " + token), status: 401},
		{name: "bare token", method: "GET", path: "/admin/accounts/alice/credentials", header: bearer(token), status: 401},
		{name: "POST without token", method: "POST", path: "/admin/accounts", contentType: "application/json", body: guardAccount, status: 401},
		{name: "cross-origin with token", method: "GET", path: "/admin/accounts/alice/credentials",
			header: map[string]string{"Authorization": "Bearer " + token, "Origin": "http://evil.example"}, status: 403},
		{name: "rebinding with token", method: "GET", path: "/admin/accounts/alice/credentials", host: "evil.example:8421", header: bearer("Bearer " + token), status: 403},
		{name: "token", method: "GET", path: "/admin/accounts/alice/credentials", header: bearer("Bearer " + token), status: 200},
		{name: "scheme in any case", method: "GET", path: "/admin/state", header: bearer("bearer " + token), status: 200},
		{name: "POST with token", method: "POST", path: "/admin/accounts", contentType: "application/json", body: guardAccount,
			header: bearer("Bearer " + token), status: 201, creates: "mallory"},
	} {
		status, header, body := tc.do(t, srv)
		if status != tc.status {
			t.Errorf("%s: status: have %d, want %d", tc.name, status, tc.status)
		}
		if status == 401 && !strings.HasPrefix(header.Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("%s: WWW-Authenticate %q, want a Bearer challenge", tc.name, header.Get("WWW-Authenticate"))
		}
		if strings.Contains(body, token[:10]) || strings.Contains(fmt.Sprint(header), token[:10]) {
			t.Errorf("%s: the answer shows the token", tc.name)
		}
	}
	if _, err := s.Account("mallory"); err != nil {
		t.Errorf("the authorized POST created nothing: %v", err)
	}
}

// TestAdminHosts checks that WithAdminHosts adds names the API answers to.
func TestAdminHosts(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithAdminHosts("Mock.Internal", "other.test."))
	srv := httptest.NewServer(s.adminHandler())
	t.Cleanup(srv.Close)
	for _, tc := range []guardRequest{
		{name: "named host", host: "mock.internal:8421", status: 200},
		{name: "named host, final dot", host: "other.test", status: 200},
		{name: "named host with Origin", host: "mock.internal:8421", header: map[string]string{"Origin": "http://mock.internal:8421"}, status: 200},
		{name: "unnamed host", host: "evil.internal:8421", status: 403},
		{name: "subdomain of a named host", host: "x.mock.internal:8421", status: 403},
	} {
		tc.method, tc.path = "GET", "/admin/state"
		if status, _, _ := tc.do(t, srv); status != tc.status {
			t.Errorf("%s: status: have %d, want %d", tc.name, status, tc.status)
		}
	}
}

func TestAdminOptionErrors(t *testing.T) {
	t.Parallel()
	const secret = "two words"
	for _, tc := range []struct {
		name string
		opt  Option
	}{
		{"token with a space", WithAdminToken(secret)},
		{"token with a control character", WithAdminToken("tok\nen")},
		{"token too long", WithAdminToken(strings.Repeat("t", 4097))},
		{"host with a path", WithAdminHosts("mock/x")},
		{"empty host", WithAdminHosts("")},
	} {
		_, err := Open(t.Context(), "", WithPopulation(PopulationConfig{}), tc.opt)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "mockserver: ") || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "tok\n") {
			t.Errorf("%s: error %q: want a mockserver error without the token", tc.name, err)
		}
	}
	if _, err := Open(t.Context(), "", WithPopulation(PopulationConfig{}), WithAdminToken("")); err != nil {
		t.Errorf("empty token (none): %v", err)
	}
}
