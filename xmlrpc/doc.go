// Package xmlrpc implements XML-RPC: a codec, a client and a server, with
// the standard library only.
//
// It follows one rule in both directions: decode leniently, encode
// strictly. The decoder accepts the XML-RPC spec's forms plus the
// variants common peers emit (untyped strings, <i8> and <ex:i8>, <nil/>
// and <ex:nil/>, hyphenated and zoned dateTime text, base64 without
// padding or split over lines, a fault without its <value> wrapper, a
// string faultCode); anything else is an error, never a silent default.
// The encoder emits only the spec's form, and refuses values it cannot
// represent exactly (NaN, integers beyond the enabled range, text XML
// cannot carry) before writing anything.
//
// # Types
//
// Decoding into an any (and the parameters DecodeCall returns) gives
// these canonical Go types:
//
//	<int> <i4> <i8> ...    int64
//	<boolean>              bool
//	<string>, untyped      string (exactly as written, never trimmed)
//	<double>               float64
//	<dateTime.iso8601>     time.Time (in UTC, or the decoder's location when the text has no zone)
//	<base64>               []byte
//	<nil/>                 nil
//	<array>                []any
//	<struct>               map[string]any (a repeated member name: the last one wins)
//
// Decoding into a typed value converts with range checks: any integer or
// float kind (named types too), bool, string kinds, time.Time, DateTime
// (which also reports whether the text had a zone), []byte, slices,
// arrays, maps with string-kind keys, structs and pointers (allocated as
// needed). A value that does not fit gives a *TypeError naming where it
// was. Struct fields map to members by the tag `xmlrpc:"name"`, or by the
// field name; `xmlrpc:"-"` skips a field and `,omitempty` leaves out a
// zero value when encoding. Fields of exported embedded structs are
// promoted as Go promotes them; unexported embedded structs are ignored.
//
// Encoding accepts the same types plus every integer and float kind,
// pointers and interfaces. Integers outside 32 bits need the i8 extension
// (Encoder.SetI8, WithI8) and nil needs the nil extension
// (SetAllowNil and friends); both are off by default, as in most peers.
// Map members are written in key order, struct fields in declaration
// order; times in UTC unless configured otherwise.
//
// # Safety
//
// The decoder never processes a DTD: any <!DOCTYPE is an error, so there
// is no entity expansion and nothing is fetched. Only the five predefined
// entities and character references are understood. Input is bounded by
// Limits (body size, nesting depth, element count, text length, method
// name length, multicall size), each with a safe default; exceeding one
// gives a *LimitError. Declared ISO-8859-1, windows-1252 and US-ASCII
// documents are transcoded; everything else must be UTF-8.
//
// Limits bound one request; WithBodyBudget bounds them all together: the
// server then holds at most a given number of request body bytes at once
// and answers the excess with 503 Service Unavailable and Retry-After
// (before reading any of a body whose length is declared, part way
// through one whose length is not), while small calls pass without
// waiting; charged calls are decoded a few at a time, leaving a processor
// to the small ones.
//
// # Errors
//
// A fault response comes back as a *Fault, reachable with errors.As
// through any wrapping. Everything else has its own type: *DecodeError for
// a malformed document, *TypeError for a value that does not fit its
// target, *LimitError, *HTTPError for a status other than 200 and
// *TransportError for the network (including a body cut short).
//
// # Client and server
//
// A Client is safe for concurrent use; every call takes a context. It
// follows no HTTP redirect unless WithSameOriginRedirects allows 307 and
// 308 within the endpoint's origin, so a call (and any credentials in it)
// never goes to another host; a redirect not followed is an *HTTPError
// with its Location:
//
//	c, err := xmlrpc.NewClient("https://example.org/RPC2")
//	var sum int
//	err = c.Call(ctx, "math.add", &sum, 2, 3)
//
// A Server is an http.Handler with registered handlers. Like NewClient,
// NewServer fails on a bad option:
//
//	s, err := xmlrpc.NewServer()
//	err = s.Register("math.add", func(ctx context.Context, params []any) (any, error) {
//		var a, b int
//		if err := xmlrpc.UnmarshalParams(params, &a, &b); err != nil {
//			return nil, err // answered with fault -32602
//		}
//		return a + b, nil
//	})
//	http.Handle("/RPC2", s)
//
// system.multicall and the introspection methods are available with
// WithMulticall and WithIntrospection.
package xmlrpc
