package xmlrpc

import (
	"context"
	"strconv"
)

// MulticallEntry is one call in a system.multicall batch, for
// Client.Multicall.
type MulticallEntry struct {
	Method string
	Params []any // nil is sent as no parameters
}

// MulticallResult is the outcome of one call in a batch, as
// Client.Multicall returns it: the result in the canonical decoded form,
// or the call's error (a *Fault, or a *DecodeError when the server's entry
// has the wrong shape).
type MulticallResult struct {
	Value any
	Err   error

	maxDepth int // the depth limit of the client that decoded Value; 0: DefaultMaxDepth
}

// Decode stores the result in the value target points to, as Unmarshal
// does, or returns the call's error. It walks as many nested arrays and
// structs as the client that made the call accepts (see WithLimits);
// DefaultMaxDepth for a MulticallResult that did not come from a Client.
func (r MulticallResult) Decode(target any) error {
	if r.Err != nil {
		return r.Err
	}
	maxDepth := r.maxDepth
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	return unmarshalTop(r.Value, target, maxDepth)
}

// Multicall sends calls as one system.multicall request and returns one
// result per call, in order. One call's fault does not affect the others.
// The error is non-nil only when the batch as a whole failed.
func (c *Client) Multicall(ctx context.Context, calls ...MulticallEntry) ([]MulticallResult, error) {
	entries := make([]any, len(calls))
	for i, call := range calls {
		if err := checkMethodName(call.Method, c.encOpts.maxMethodBytes); err != nil {
			return nil, err
		}
		params := call.Params
		if params == nil {
			params = []any{}
		}
		entries[i] = map[string]any{"methodName": call.Method, "params": params}
	}
	var raw []any
	if err := c.Call(ctx, "system.multicall", &raw, entries); err != nil {
		return nil, err
	}
	if len(raw) != len(calls) {
		return nil, &DecodeError{Msg: "system.multicall returned " + strconv.Itoa(len(raw)) + " results for " + strconv.Itoa(len(calls)) + " calls"}
	}
	out := make([]MulticallResult, len(raw))
	for i, entry := range raw {
		out[i] = multicallResult(entry)
		out[i].maxDepth = c.limits.MaxDepth
	}
	return out, nil
}

func multicallResult(entry any) MulticallResult {
	switch e := entry.(type) {
	case []any:
		if len(e) == 1 {
			return MulticallResult{Value: e[0]}
		}
	case map[string]any:
		if _, ok := e["faultCode"]; ok {
			f, msg := faultFromStruct(e)
			if msg != "" {
				return MulticallResult{Err: &DecodeError{Msg: msg}}
			}
			return MulticallResult{Err: f}
		}
	}
	return MulticallResult{Err: &DecodeError{Msg: "system.multicall entry is neither a one-element array nor a fault"}}
}
