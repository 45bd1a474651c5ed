package clearinghousetest

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// Server is a mock clearinghouse serving XML-RPC on 127.0.0.1, with one
// account and a client for it.
type Server struct {
	// Mock is the mock itself, for its controls (AddAccount, Advance,
	// SetFaults, Holdings, ...).
	Mock *mockserver.Server
	// URL is the XML-RPC endpoint, such as "http://127.0.0.1:40321/xmlrpc/".
	URL string
	// Account is the first account, credentials included: "alice", with
	// the mock's defaults (10 free credits).
	Account mockapi.Account
	// Client is a clearinghouse client for Account, with the API key.
	Client *clearinghouse.Client

	http *httptest.Server
}

// firstAccount is the spec of Server.Account.
var firstAccount = mockapi.AccountSpec{Username: "alice", Password: "correct horse", Affiliation: "Example University"}

// New starts a Server for the test: the mock with opts (after a default
// of 512-bit generated keys, which are quick to make; give
// mockserver.WithKeyBits to change it), its account and its client. The
// test's cleanup closes it; a failure to start fails the test at once.
func New(t testing.TB, opts ...mockserver.Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// Start starts a Server as New does, for use outside a test (an example,
// a program); the caller stops it with Close.
func Start(opts ...mockserver.Option) (*Server, error) {
	mock, err := mockserver.New(append([]mockserver.Option{mockserver.WithKeyBits(512)}, opts...)...)
	if err != nil {
		return nil, err
	}
	s := &Server{Mock: mock}
	if s.Account, err = mock.AddAccount(firstAccount); err != nil {
		mock.Close()
		return nil, err
	}
	s.http = httptest.NewServer(mock)
	s.URL = s.http.URL + "/xmlrpc/"
	if s.Client, err = s.ClientFor(s.Account); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ClientFor returns a client of the server for acct (an account of
// s.Mock), authenticated with its API key, with opts after the URL and
// the key.
func (s *Server) ClientFor(acct mockapi.Account, opts ...clearinghouse.Option) (*clearinghouse.Client, error) {
	return clearinghouse.New(acct.Username,
		append([]clearinghouse.Option{clearinghouse.WithURL(s.URL), clearinghouse.WithAPIKey(acct.APIKey)}, opts...)...)
}

// Close stops the HTTP server, waiting for the requests in progress, then
// closes the mock. It returns the mock's error, if any, and is safe to
// call more than once.
func (s *Server) Close() error {
	if s.http != nil {
		s.http.Close()
	}
	if err := s.Mock.Close(); err != nil {
		return fmt.Errorf("clearinghousetest: closing the mock: %w", err)
	}
	return nil
}
