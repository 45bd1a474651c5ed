// Package clearinghouse is a client for the Seattle Clearinghouse XML-RPC
// API, the service through which researchers lease vessels (sandboxed
// slices of volunteers' machines) on the Seattle testbed. It offers
// everything the original Python client library (seattleclearinghouse_xmlrpc)
// did, with a context on every call, typed results and errors, and verified
// TLS by default.
//
// A Client acts for one user, authenticated by API key or, without one, by
// the user's Seattle private key (the API key is then fetched and decrypted
// on first use, or by FetchAPIKey):
//
//	client, err := clearinghouse.New("alice", clearinghouse.WithAPIKey(apiKey))
//	if err != nil {
//		return err
//	}
//	vessels, err := client.AcquireWAN(ctx, 2)
//	if errors.Is(err, clearinghouse.ErrNotEnoughCredits) {
//		// release something first
//	}
//	defer client.ReleaseResources(ctx, clearinghouse.Handles(vessels))
//
// Vessels expire 4 hours after acquisition; RenewResources resets the
// expiry of held vessels to 7 days from now. Package keeper
// (clearinghouse/keeper) does that on time for as long as an experiment
// runs: it renews a set of vessels before they expire, retries transient
// failures without letting a lease run out, reports vessels that are gone
// and can acquire replacements. Seattle's RSA key scheme (the private key
// WithPrivateKey takes, the encrypted API key) is package seattlersa.
//
// # Errors
//
// Every failure after local validation is a *Error that matches
// ErrClearinghouse and one of ErrCommunication, ErrInternal,
// ErrAuthentication, ErrInvalidRequest, ErrNotEnoughCredits and
// ErrUnableToAcquire (the original exception hierarchy) with errors.Is. The
// cause stays reachable with errors.As: an *xmlrpc.Fault with the server's
// code and string, or the transport, TLS, HTTP or decoding error. Bad input
// caught before any request (an empty handle list, a count beyond 32 bits,
// a malformed key) matches ErrInvalidArgument instead. Error text never
// contains the API key, the password or the private key, even when the
// server sends them back: every text that came from the server is
// redacted in full, in the cause too (the *xmlrpc.Fault found with
// errors.As is a redacted copy), before any message cuts it. Redaction
// finds a secret quoted, escaped or in another case, and a key in pieces
// too (8 bytes or more; 16 digits of a private key's numbers). Error()
// shows at most 512 bytes of the text, with control characters,
// bidirectional controls and bytes that are not UTF-8 escaped (\r,
// \x1b, \u202e, \xff), so that a server cannot drive a terminal through
// a message; the fields keep the text as sent (redacted). The client
// follows no HTTP redirect, so a call never leaves the configured server.
//
// # Differences from the Python client
//
// The constructor makes no network call; timeouts and cancellation come
// from the context (and WithTimeout); HTTP, TLS and decoding failures are
// ErrCommunication rather than escaping the hierarchy; the private-key path
// maps its failures like every other call; read-only calls can be retried
// (WithRetries), acquisitions never are; RegenerateAPIKey updates the
// client's own key safely while other calls run.
package clearinghouse
