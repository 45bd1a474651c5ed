package nmproto

import (
	"errors"
	"fmt"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
)

// Status is the last line of a reply (docs/nodemanager-api.md §5).
type Status string

// The three statuses. Clients treat Warning (a slow start or stop) as a
// failure, as the original client did.
const (
	Success Status = "Success"
	Error   Status = "Error"
	Warning Status = "Warning"
)

// Reply is a node manager's answer: the body, "\n", the status.
type Reply struct {
	Body   string
	Status Status
}

// String returns the reply as it goes on the wire (before framing).
func (r Reply) String() string { return r.Body + "\n" + string(r.Status) }

// Failure returns the reply for a refused request: text, status Error.
func Failure(text string) Reply { return Reply{Body: text, Status: Error} }

// Succeeded returns a successful reply with the given body.
func Succeeded(body string) Reply { return Reply{Body: body, Status: Success} }

// ErrMalformedReply is matched by the errors of ParseReply.
var ErrMalformedReply = errors.New("nmproto: malformed reply")

// ParseReply splits a reply at its last "\n", as the original client
// did: what follows must be Success, Error or Warning, and the body
// (which may hold any bytes, "\n" included) is what precedes it.
func ParseReply(s string) (Reply, error) {
	i := strings.LastIndexByte(s, '\n')
	if i < 0 {
		return Reply{}, fmt.Errorf("%w: no status line", ErrMalformedReply)
	}
	st := Status(s[i+1:])
	switch st {
	case Success, Error, Warning:
		return Reply{Body: s[:i], Status: st}, nil
	}
	return Reply{}, fmt.Errorf("%w: unknown status %q", ErrMalformedReply, textclip.Clip(string(st), 40))
}
