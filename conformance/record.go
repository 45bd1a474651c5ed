package conformance

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// A record is what the suite learns of one node of the tree while it
// runs: the run itself, an area, or a check. Both ways of running (Run's
// adapter over *testing.T and Check's runner) fill it through T, so both
// give the same report. Texts are redacted and escaped (session.redact)
// before they are clipped to size here, so that no part of a secret
// survives a cut; and again when the report is built, with every secret
// known by then.
type record struct {
	area, name string // both "" for the run, name "" for an area
	redact     func(string) string

	mu      sync.Mutex
	start   time.Time
	elapsed time.Duration
	status  status // set when the node ends
	msgs    []message
	faults  []faultSeen
	dropped int // faults not kept (past maxFaultsPerCheck)
}

// status is a check's outcome.
type status int

const (
	statusRunning status = iota
	statusPassed
	statusFailed
	statusSkipped
	statusWarned // passed, but a fault string differed (RelaxStrings)
)

func (st status) String() string {
	switch st {
	case statusPassed:
		return "pass"
	case statusFailed:
		return "fail"
	case statusSkipped:
		return "skip"
	case statusWarned:
		return "warn"
	}
	return "not finished"
}

// msgKind is what a message says.
type msgKind int

const (
	msgLog msgKind = iota
	msgWarning
	msgError
	msgSkip
)

func (k msgKind) String() string {
	return [...]string{msgLog: "log", msgWarning: "warning", msgError: "error", msgSkip: "skip"}[k]
}

type message struct {
	kind msgKind
	text string
}

// faultSeen is a fault the target answered a check's call with, and how
// often the same answer came to the same method.
type faultSeen struct {
	method string
	code   int
	text   string
	count  int
}

// Caps on what a record keeps, so that a hostile or broken server cannot
// make the report huge: a check makes at most some hundred calls.
const (
	maxFaultsPerCheck = 100  // distinct (method, code, string)
	maxMessageBytes   = 8192 // one message
	maxMessages       = 200  // per record
	maxFaultBytes     = 1024 // one fault string
	warningPrefix     = "WARNING: "
)

func newRecord(area, name string) *record {
	return &record{area: area, name: name, start: time.Now()}
}

// add records a log line; one starting with "WARNING: " (warnf) is a
// warning.
func (r *record) add(text string) {
	text = strings.TrimSuffix(text, "\n")
	if rest, ok := strings.CutPrefix(text, warningPrefix); ok {
		r.addMsg(msgWarning, rest)
		return
	}
	r.addMsg(msgLog, text)
}

func (r *record) addError(text string) { r.addMsg(msgError, strings.TrimSuffix(text, "\n")) }
func (r *record) addSkip(text string)  { r.addMsg(msgSkip, strings.TrimSuffix(text, "\n")) }

func (r *record) addMsg(kind msgKind, text string) {
	if r == nil {
		return
	}
	text = r.redactText(text)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) >= maxMessages {
		if len(r.msgs) == maxMessages {
			r.msgs = append(r.msgs, message{msgLog, "(more messages were not kept)"})
		}
		return
	}
	r.msgs = append(r.msgs, message{kind, clip(text, maxMessageBytes)})
}

// noteFault records err if it is a fault.
func (r *record) noteFault(method string, err error) {
	var f *xmlrpc.Fault
	if r == nil || !errors.As(err, &f) {
		return
	}
	text := clip(r.redactText(f.String), maxFaultBytes)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.faults {
		if fs := &r.faults[i]; fs.method == method && fs.code == f.Code && fs.text == text {
			fs.count++
			return
		}
	}
	if len(r.faults) >= maxFaultsPerCheck {
		r.dropped++
		return
	}
	r.faults = append(r.faults, faultSeen{method: method, code: f.Code, text: text, count: 1})
}

// finish sets the outcome and the time taken.
func (r *record) finish(st status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = st
	r.elapsed = time.Since(r.start)
}

// warnings counts the warning messages.
func (r *record) warnings() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m.kind == msgWarning {
			n++
		}
	}
	return n
}

// clip cuts text to at most n bytes (on a rune boundary), saying how much
// was cut.
func clip(text string, n int) string {
	if len(text) <= n {
		return text
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "… (" + strconv.Itoa(len(text)-cut) + " more bytes)"
}

// redactText applies the session's redaction, once there is a session;
// before, it escapes the text (there is no secret to know yet).
func (r *record) redactText(text string) string {
	r.mu.Lock()
	redact := r.redact
	r.mu.Unlock()
	if redact == nil {
		return textclip.EscapeLines(text)
	}
	return redact(text)
}

// setRedact sets the redaction, for the run's record, made before the
// session.
func (r *record) setRedact(redact func(string) string) {
	r.mu.Lock()
	r.redact = redact
	r.mu.Unlock()
}
