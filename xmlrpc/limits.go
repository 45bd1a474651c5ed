package xmlrpc

import (
	"errors"
	"strconv"
)

// Limits bound the resources one document may use. A zero field means the
// default given in its comment; there is no way to switch a limit off. A
// negative field makes WithLimits fail. Exceeding a
// limit is reported as a *LimitError.
type Limits struct {
	MaxBodyBytes   int64 // request or response body, after gzip decoding; default 10 MiB
	MaxDepth       int   // nested array/struct levels, decoding and encoding; default 128
	MaxElements    int   // start tags in one document; default 1 000 000
	MaxTextBytes   int   // one string, member name or base64 text; default 4 MiB
	MaxMulticall   int   // entries in one system.multicall; default 1 000
	MaxMethodBytes int   // methodName; default 256
}

// LimitKind names one of the Limits, in a *LimitError.
type LimitKind int

// The limits, one per field of Limits.
const (
	LimitBodySize   LimitKind = iota + 1 // MaxBodyBytes
	LimitDepth                           // MaxDepth
	LimitElements                        // MaxElements
	LimitText                            // MaxTextBytes
	LimitMethodName                      // MaxMethodBytes
	LimitMulticall                       // MaxMulticall
)

var limitNames = [...]string{
	LimitBodySize:   "body size",
	LimitDepth:      "nesting depth",
	LimitElements:   "element count",
	LimitText:       "text length",
	LimitMethodName: "methodName length",
	LimitMulticall:  "multicall size",
}

// String returns the limit's name as error messages show it, such as
// "body size" or "nesting depth".
func (k LimitKind) String() string {
	if k > 0 && int(k) < len(limitNames) {
		return limitNames[k]
	}
	return "LimitKind(" + strconv.Itoa(int(k)) + ")"
}

// Default limits, used for every zero field of a Limits.
const (
	DefaultMaxBodyBytes   = 10 << 20
	DefaultMaxDepth       = 128
	DefaultMaxElements    = 1_000_000
	DefaultMaxTextBytes   = 4 << 20
	DefaultMaxMulticall   = 1000
	DefaultMaxMethodBytes = 256
)

// check returns an error naming option if a field of l is negative.
func (l Limits) check(option string) error {
	return checkNonNegative(option,
		namedValue{"MaxBodyBytes", l.MaxBodyBytes},
		namedValue{"MaxDepth", int64(l.MaxDepth)},
		namedValue{"MaxElements", int64(l.MaxElements)},
		namedValue{"MaxTextBytes", int64(l.MaxTextBytes)},
		namedValue{"MaxMulticall", int64(l.MaxMulticall)},
		namedValue{"MaxMethodBytes", int64(l.MaxMethodBytes)},
	)
}

// namedValue is a field of an option's struct, for checkNonNegative.
type namedValue struct {
	name string
	v    int64
}

// checkNonNegative returns an error naming option and the first negative
// field, if any.
func checkNonNegative(option string, fields ...namedValue) error {
	for _, f := range fields {
		if f.v < 0 {
			return errors.New("xmlrpc: " + option + ": negative " + f.name)
		}
	}
	return nil
}

// withDefaults returns l with every zero or negative field replaced by its
// default. The options refuse negative fields (check); Encoder.SetLimits
// and Decoder.SetLimits, which cannot fail, give them the default.
func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = DefaultMaxTextBytes
	}
	if l.MaxMulticall <= 0 {
		l.MaxMulticall = DefaultMaxMulticall
	}
	if l.MaxMethodBytes <= 0 {
		l.MaxMethodBytes = DefaultMaxMethodBytes
	}
	return l
}
