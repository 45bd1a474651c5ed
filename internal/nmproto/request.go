package nmproto

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// Requests (docs/nodemanager-api.md §3): the call name and its arguments
// joined by "|"; signed calls add a trailer.

// ErrInvalidRequest is matched by the errors of EncodeRequest and Sign for
// input the node would read differently from what the caller meant.
var ErrInvalidRequest = errors.New("nmproto: invalid request")

// EncodeRequest joins the call name and its arguments with "|". The node
// splits a request into at most as many arguments as the call declares,
// so only the last argument may contain "|"; the call must be in the
// table and get exactly its number of arguments.
func EncodeRequest(name string, args ...string) (string, error) {
	c, ok := LookupCall(name)
	if !ok {
		return "", fmt.Errorf("%w: unknown call %q", ErrInvalidRequest, name)
	}
	if len(args) != c.Args {
		return "", fmt.Errorf("%w: %s takes %d arguments, not %d", ErrInvalidRequest, name, c.Args, len(args))
	}
	for i, a := range args {
		if i < len(args)-1 && strings.IndexByte(a, '|') >= 0 {
			return "", fmt.Errorf("%w: %s argument %d contains \"|\"", ErrInvalidRequest, name, i+1)
		}
	}
	if c.Signed() && args[0] == "" {
		return "", fmt.Errorf("%w: %s needs a vessel name", ErrInvalidRequest, name)
	}
	return strings.Join(append([]string{name}, args...), "|"), nil
}

// Trailer is the signed-data trailer of a request, each field as text:
// "\n!" PublicKey "!" Timestamp "!" Expiration "!" Sequence "!"
// Destination "!" Signature. Timestamp, Expiration, Sequence and
// Destination may be None.
type Trailer struct {
	PublicKey   string // the signer's key, "e n"
	Timestamp   string // seconds since 1900, as FormatFloat writes them
	Expiration  string // likewise; the node requires a number here
	Sequence    string // None or "tag:number"
	Destination string // the node's key, keys joined by ":", or None
	Signature   string // " s1 s2 …", set by Sign
}

// SignedText returns the bytes the signature covers: the request and the
// trailer up to the destination.
func (t *Trailer) SignedText(request string) string {
	return request + "\n!" + t.PublicKey + "!" + t.Timestamp + "!" + t.Expiration + "!" + t.Sequence + "!" + t.Destination
}

// String returns the trailer as the node stores it after accepting a
// request ("!pub!ts!exp!seq!dest!sig", without the "\n").
func (t *Trailer) String() string {
	return "!" + t.PublicKey + "!" + t.Timestamp + "!" + t.Expiration + "!" + t.Sequence + "!" + t.Destination + "!" + t.Signature
}

// Sign checks the trailer's fields, signs request and t with priv and
// returns the signed request; t.Signature is set. A field may not contain
// "!" or "\n"; Sequence must be None or "tag:n" (tag without ":", n an
// integer); the others must be what the node can read. Sign does not
// check that priv belongs to t.PublicKey.
func Sign(request string, t *Trailer, priv *seattlersa.PrivateKey) (string, error) {
	if err := t.check(); err != nil {
		return "", err
	}
	text := t.SignedText(request)
	sig, err := seattlersa.Sign(priv, []byte(text))
	if err != nil {
		return "", err
	}
	t.Signature = sig
	return text + "!" + sig, nil
}

func (t *Trailer) check() error {
	for _, f := range []struct{ name, v string }{
		{"public key", t.PublicKey}, {"timestamp", t.Timestamp}, {"expiration", t.Expiration},
		{"sequence", t.Sequence}, {"destination", t.Destination},
	} {
		if strings.ContainsAny(f.v, "!\n") {
			return fmt.Errorf("%w: the %s contains \"!\" or a newline", ErrInvalidRequest, f.name)
		}
	}
	if _, err := parseKey(t.PublicKey); err != nil {
		return fmt.Errorf("%w: the public key is not two decimal integers", ErrInvalidRequest)
	}
	if t.Timestamp != None {
		if _, err := ParseFloat(t.Timestamp); err != nil {
			return fmt.Errorf("%w: the timestamp is not a number", ErrInvalidRequest)
		}
	}
	if f, err := ParseFloat(t.Expiration); err != nil || math.IsNaN(f) {
		return fmt.Errorf("%w: the expiration is not a number", ErrInvalidRequest)
	}
	if t.Sequence != None {
		_, n, ok := strings.Cut(t.Sequence, ":")
		if _, err := parsePyInt(n); !ok || strings.Contains(n, ":") || err != nil {
			return fmt.Errorf("%w: the sequence is not None or tag:number", ErrInvalidRequest)
		}
	}
	if t.Destination == "" {
		return fmt.Errorf("%w: empty destination (None means any node)", ErrInvalidRequest)
	}
	return nil
}

// SplitSigned splits a signed request the way the node does
// (Python's rsplit("!", 6)): the request before the trailer (without its
// "\n", or whatever single byte stands there) and the six fields. ok is
// false when there are fewer than six "!".
func SplitSigned(signed string) (request string, t Trailer, ok bool) {
	p := rsplit(signed, '!', 6)
	if len(p) != 7 {
		return "", Trailer{}, false
	}
	data := p[0]
	if data != "" {
		data = data[:len(data)-1]
	}
	return data, Trailer{p[1], p[2], p[3], p[4], p[5], p[6]}, true
}

// NTPEpochOffset is the number of seconds from 1900-01-01 (the NTP epoch,
// which Seattle's clocks count from) to 1970-01-01.
const NTPEpochOffset = 2208988800

// NTPTime returns t in seconds since 1900, the unit of trailer timestamps
// and of the node's clock.
func NTPTime(t time.Time) float64 {
	return float64(t.Unix()+NTPEpochOffset) + float64(t.Nanosecond())/1e9
}
