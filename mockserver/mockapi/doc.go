// Package mockapi holds the types that describe the mock clearinghouse's
// state and its test controls: what a test asks the mock to create
// (AccountSpec, NodeSpec, VesselSpec, Failure), what the mock reports
// (Account, Credentials, Node, Vessel), the vessel states a query selects
// (VesselState), and the JSON bodies of its /admin/ endpoints, with their
// tags in this one place.
//
// Package mockserver takes and returns these types in its Go API and
// serves them as JSON under /admin/; package conformance uses them in its
// Controls and sends them to a mock in another process. It imports only
// the standard library, so the conformance suite uses the mock's types
// without linking the mock.
//
//	mock, err := mockserver.New()
//	...
//	acct, err := mock.AddAccount(mockapi.AccountSpec{
//		Username: "alice", Password: "secret1", Affiliation: "Test U",
//	})
//
// Over HTTP the same spec is the body of POST /admin/accounts, and the
// reply is an AccountCreated.
package mockapi
