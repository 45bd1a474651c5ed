// Package clearinghousetest runs a mock clearinghouse in process for a
// test, with a client ready for its first account, as net/http/httptest
// does for HTTP servers.
//
// New starts a mock (package mockserver) on a loopback HTTP server, adds
// the account "alice" and builds a clearinghouse.Client for it; the test's
// cleanup stops it all:
//
//	func TestAcquire(t *testing.T) {
//		srv := clearinghousetest.New(t)
//		vessels, err := srv.Client.AcquireWAN(t.Context(), 2)
//		...
//		held, err := srv.Mock.Holdings(srv.Account.Username) // the mock's side
//	}
//
// Options of package mockserver shape the mock (a fault profile, a frozen
// clock, a population); ClientFor makes further clients, for other
// accounts or with other options. Start does the same as New outside a
// test, for examples and programs: Close stops what it started.
package clearinghousetest
