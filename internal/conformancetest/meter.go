package conformancetest

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
)

// Meter is an http.Handler in front of a clearinghouse (Next) that
// measures, on the server's side, how many vessels one account held at
// the worst moment of a run: the calls that change an account's holdings
// (acquire_resources, acquire_specific_vessels, release_resources) run
// one at a time, and after each one that may acquire, Meter asks Held
// before any other such call can start. Since holdings only grow through
// those calls, the largest answer Held gave is the peak.
//
// Decide, when set, picks what happens to each XML-RPC call (see Action):
// a test can lose an answer after the call was applied, hold an answer
// back until the client gives up, or fail a call, on the calls it
// chooses. Rewrite, when set, changes each request body before Next sees
// it (a lenient server, say).
type Meter struct {
	Next http.Handler
	// Held returns how many vessels the measured account holds now.
	Held func() int
	// User and Key identify the measured account: a call whose body
	// carries both as strings is authenticated (Call.Authentic).
	User, Key string

	Decide  func(c Call) Action
	Rewrite func(method string, body []byte) []byte
	// Applied, when set, is told of each XML-RPC call Next has handled,
	// after Held was read for a call that may acquire, before any other
	// holdings-changing call starts and before an answer is lost or held
	// back: a test's signal that the call is in.
	Applied func(c Call)

	serial sync.Mutex // one holdings-changing call at a time, with its reading

	mu     sync.Mutex
	peak   int
	counts map[string]int // calls per method
	auth   map[string]int // authenticated calls per method
}

// A Call is what Meter.Decide learns of one XML-RPC call.
type Call struct {
	Method    string
	Authentic bool   // it carries the measured account's username and API key
	N         int    // its number among the calls of Method, from 1
	Body      []byte // the request as Next will see it
}

// An Action is what happens to one call.
type Action int

const (
	// Pass hands the call to Next as it is.
	Pass Action = iota
	// ResetAfter applies the call, then resets the connection instead of
	// answering: the client cannot tell whether it was applied.
	ResetAfter
	// HangAfter applies the call, then holds the answer back until the
	// client goes away: a slow server, seen from a client that timed out.
	HangAfter
	// HangBefore holds the call until the client goes away and never
	// applies it: a server that stopped answering.
	HangBefore
	// Fail500 answers HTTP 500 without applying the call.
	Fail500
)

// changesHoldings names the methods that can change an account's holdings.
var changesHoldings = map[string]bool{"acquire_resources": true, "acquire_specific_vessels": true, "release_resources": true}

// mayAcquire names the methods after which Meter reads the holdings.
var mayAcquire = map[string]bool{"acquire_resources": true, "acquire_specific_vessels": true}

// Peak is the largest number of vessels Held reported after a call that
// may acquire.
func (m *Meter) Peak() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peak
}

// Calls returns how many calls of method Meter saw, and how many of them
// were authenticated.
func (m *Meter) Calls(method string) (all, authentic int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[method], m.auth[method]
}

// ServeHTTP serves one request through Next, as Decide says.
func (m *Meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		m.Next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	method := methodName(body)
	if m.Rewrite != nil {
		body = m.Rewrite(method, body)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	c := Call{Method: method, Body: body, Authentic: m.Key != "" && bytes.Contains(body, []byte("<string>"+m.Key+"</string>")) &&
		bytes.Contains(body, []byte("<string>"+m.User+"</string>"))}
	m.mu.Lock()
	if m.counts == nil {
		m.counts, m.auth = map[string]int{}, map[string]int{}
	}
	m.counts[method]++
	c.N = m.counts[method]
	if c.Authentic {
		m.auth[method]++
	}
	m.mu.Unlock()
	act := Pass
	if m.Decide != nil && method != "" {
		act = m.Decide(c)
	}
	switch act {
	case HangBefore:
		<-r.Context().Done()
		return
	case Fail500:
		http.Error(w, "conformancetest: injected failure", http.StatusInternalServerError)
		return
	}
	if changesHoldings[method] {
		m.serial.Lock()
	}
	unlocked := false
	unlock := func() {
		if changesHoldings[method] && !unlocked {
			unlocked = true
			m.serial.Unlock()
		}
	}
	defer unlock() // also when Next aborts the handler to reset the connection
	if act == Pass {
		defer func() {
			if mayAcquire[method] {
				m.read()
			}
			if m.Applied != nil {
				m.Applied(c)
			}
		}()
		m.Next.ServeHTTP(w, r)
		return
	}
	m.Next.ServeHTTP(httptest.NewRecorder(), r) // applied; the answer is dropped
	if mayAcquire[method] {
		m.read()
	}
	if m.Applied != nil {
		m.Applied(c)
	}
	unlock()
	switch act {
	case ResetAfter:
		reset(w)
	case HangAfter:
		<-r.Context().Done()
	}
}

// read notes the holdings after a call that may acquire.
func (m *Meter) read() {
	n := m.Held()
	m.mu.Lock()
	m.peak = max(m.peak, n)
	m.mu.Unlock()
}

// reset ends the connection with a TCP RST.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// methodName is the methodName of an XML-RPC request, or "".
func methodName(body []byte) string {
	_, rest, ok := bytes.Cut(body, []byte("<methodName>"))
	name, _, ok2 := bytes.Cut(rest, []byte("</methodName>"))
	if !ok || !ok2 {
		return ""
	}
	return string(bytes.TrimSpace(name))
}
