// Package nodemanager is a client for Seattle node managers, the
// per-machine services that run the vessels a user leases from the
// clearinghouse: it uploads files, starts and stops programs, reads their
// logs and, for a vessel's owner, changes who may use it. The protocol
// and this client's decisions are described in docs/nodemanager-api.md.
//
// A Client acts for one user, who signs requests with the key pair
// registered with the clearinghouse. A vessel the clearinghouse leased
// becomes a handle in one call, without a network call:
//
//	nm, err := nodemanager.New(nodemanager.WithPrivateKey(privateKey))
//	if err != nil {
//		return err
//	}
//	vessels, err := ch.AcquireWAN(ctx, 1) // a *clearinghouse.Client
//	if err != nil {
//		return err
//	}
//	v, err := nm.Vessel(vessels[0])
//	if errors.Is(err, nodemanager.ErrUnreachable) {
//		// a node behind NAT: reachable only through Seattle's relays
//	}
//	err = v.AddFile(ctx, "hello.r2py", program)
//	status, err := v.StartEx(ctx, "repyV2", "hello.r2py")
//	log, err := v.ReadLog(ctx)
//
// Client.Node and Client.OpenNode give handles to a node manager by
// address, for its public calls (GetVessels, GetVesselResources,
// GetOffcutResources) and for Node.Call, which makes any call of the
// protocol.
//
// # Signing and timestamps
//
// Signed requests are made exactly as the original clients made them
// (the SHA-1 digest of the request and its trailer, signed in Seattle's
// raw RSA form of package seattlersa), with a timestamp in seconds since
// 1900 and an expiration an hour later. A node refuses a timestamp that
// is not above the last one its vessel accepted, from anyone: the client
// makes its timestamps rise strictly, even for calls in the same
// microsecond, and sends one signed request at a time per vessel, so
// that they arrive in order. A user whose clock is behind the clock of
// whoever used the vessel last (the clearinghouse sets the vessel's users
// with its own timestamp) is refused with ErrTimestamp until the clock
// passes that time.
//
// # Errors
//
// Every failure after local validation is an *Error that matches
// ErrNodeManager and either ErrCommunication (no proper reply) or
// ErrRefused (the node said Error or Warning), with a finer sentinel
// where the node's text names one: ErrInsufficientPermissions,
// ErrBadSignature, ErrUnknownVessel, ErrUnknownCall, ErrSignatureProblem
// with ErrTimestamp, ErrSequence or ErrDestination, ErrInternal,
// ErrFileNotFound, ErrWarning. The error holds the node's text in full;
// Error shows at most 512 bytes of it, quoted. The client's private key
// never appears in an error. A call cut short by its context matches
// context.DeadlineExceeded or context.Canceled too.
//
// Public calls may be retried (WithRetries) when no reply had begun;
// signed calls never are, as each consumes a timestamp and may have
// changed the vessel.
package nodemanager
