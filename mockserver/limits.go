package mockserver

import "github.com/seattletestbed/clearinghouse-go/xmlrpc"

// Limits of the mock's XML-RPC endpoint. The historical service had none
// (contract §1); the mock sizes its own for the largest real call with a
// wide margin, far below the xmlrpc package's general-purpose defaults,
// so that a hostile or broken client cannot make it hold much memory.
//
// The largest real call is a handle list for release_resources,
// renew_resources or acquire_specific_vessels. A handle is a node_id of up
// to about 2 048 characters (contract §4) plus ":vN"; with its
// <value><string> tags it takes about 2 100 bytes. A user holds at most
// max_vessels vessels: 10 free credits plus 10 per donated node (§6).
const (
	// MaxRequestBytes bounds a request body, after gzip decoding. 4 MiB
	// holds about 2 000 handles of the longest kind, about what a user
	// with 200 donated nodes may hold, or over 10 000 handles of the
	// 1024-bit node ids the mock generates. A body declared larger is
	// answered 413 before any of it is read.
	MaxRequestBytes = 4 << 20

	// MaxRequestElements bounds the start tags of a request. A handle
	// takes two, so 100 000 allow 50 000 handles. It also bounds the
	// decoded parameters: a 4 MiB body of empty <value/>s would otherwise
	// decode into half a million values, several times the body's size.
	MaxRequestElements = 100_000

	// MaxRequestText bounds one string, member name or base64 text:
	// 16 KiB is eight times the longest real string, a handle, or the
	// public key of set_public_key for a key of up to 16 384 bits.
	MaxRequestText = 16 << 10

	// MaxRequestDepth bounds the nesting of arrays and structs. Real
	// calls nest one level (a handle list, an auth or rspec struct);
	// 16 leaves malformed calls room to get their faithful faults
	// (contract §5.11) rather than a parse error.
	MaxRequestDepth = 16

	// RequestBudgetBytes bounds the request body bytes that calls in
	// progress hold at once (xmlrpc.WithBodyBudget): eight calls of the
	// maximum size, 32 MiB. A call that cannot get its share within
	// xmlrpc.DefaultBudgetWait (1 s) is answered 503 with Retry-After
	// before its body is read. Calls of up to xmlrpc.DefaultBudgetSmall
	// (8 KiB), which is every call but long handle lists, are never
	// charged and never wait. A charged body must arrive within
	// xmlrpc.DefaultBudgetReadTimeout (30 s), and charged bodies are
	// decoded one less at a time than the processors Go uses (at least
	// one), so that small calls always find a processor.
	RequestBudgetBytes = 8 * MaxRequestBytes
)

// wireLimits are the xmlrpc.Limits of the constants above; the others
// keep the package's defaults (system.multicall is not served, and method
// names are checked against the ten the mock has).
func wireLimits() xmlrpc.Limits {
	return xmlrpc.Limits{
		MaxBodyBytes: MaxRequestBytes,
		MaxElements:  MaxRequestElements,
		MaxTextBytes: MaxRequestText,
		MaxDepth:     MaxRequestDepth,
	}
}

// wireBudget is the mock's xmlrpc.BodyBudget.
func wireBudget() xmlrpc.BodyBudget {
	return xmlrpc.BodyBudget{Bytes: RequestBudgetBytes}
}
