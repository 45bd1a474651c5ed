package xmlrpc

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// Interop tests against a foreign peer: CPython 3's xmlrpc.server and
// xmlrpc.client, driven by the scripts in testdata/interop. python3 must
// be on PATH; without it the tests skip on a developer machine and fail
// under CI (internal/testskip).

// interopPython returns the path of python3.
func interopPython(t *testing.T) string {
	t.Helper()
	return testskip.LookPath(t, "python3", "the interop tests")
}

// interopFirstLine hands the first line written to it to a channel and
// discards the rest.
type interopFirstLine struct {
	mu   sync.Mutex
	buf  []byte
	done bool
	line chan string
}

func (w *interopFirstLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
		w.done = true
		w.line <- string(w.buf[:i])
	}
	return len(p), nil
}

// startPythonServer runs testdata/interop/pyserver.py and returns its
// URL. The process is killed when the test ends; it also exits by itself
// when its stdin closes, so it cannot outlive a test binary that dies.
func startPythonServer(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(interopPython(t), filepath.Join("testdata", "interop", "pyserver.py"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("pyserver.py: %v", err)
	}
	out := &interopFirstLine{line: make(chan string, 1)}
	stderr := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("pyserver.py: %v", err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		stdin.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("pyserver.py (pid %d) did not exit after kill", cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("pyserver.py stderr:\n%s", stderr)
		}
	})
	select {
	case line := <-out.line:
		port, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || port <= 0 || port > 65535 {
			t.Fatalf("pyserver.py: have first line %q, want a port number", line)
		}
		return "http://127.0.0.1:" + strconv.Itoa(port) + "/RPC2"
	case <-done:
		t.Fatalf("pyserver.py exited before printing its port: %v\nstderr:\n%s", waitErr, stderr)
	case <-time.After(15 * time.Second):
		t.Fatalf("pyserver.py printed no port within 15s\nstderr:\n%s", stderr)
	}
	return ""
}

// interopPost posts an XML-RPC body to url without this package's client
// and returns the response body exactly as sent (not decompressed) and
// its header, so tests can look at the peer's wire format.
func interopPost(t *testing.T, url string, body []byte, acceptGzip bool) ([]byte, http.Header) {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	if acceptGzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: have status %s, want 200", url, resp.Status)
	}
	return raw, resp.Header
}

// interopCallBody encodes a methodCall with the default options.
func interopCallBody(t *testing.T, method string, args ...any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := EncodeCall(&b, method, args...); err != nil {
		t.Fatalf("EncodeCall(%s): %v", method, err)
	}
	return b.Bytes()
}

// interopDecode decodes a methodResponse into the canonical form.
func interopDecode(t *testing.T, doc []byte) any {
	t.Helper()
	var v any
	if err := DecodeResponse(bytes.NewReader(doc), &v); err != nil {
		t.Fatalf("DecodeResponse(%q): %v", doc, err)
	}
	return v
}

// CPython's faults for exceptions raised while serving: code 1 and the
// exception's class and text.
const (
	cpythonOverflow = "<class 'OverflowError'>:int exceeds XML-RPC limits"
	cpythonNoState  = "<class 'ValueError'>:no state number 900"
	cpythonNoMethod = `<class 'Exception'>:method "no.such.method" is not supported`
)

func TestInteropGoClientPythonServer(t *testing.T) {
	t.Parallel()
	url := startPythonServer(t)
	c := validatorClient(t, url)
	ctx := t.Context()

	t.Run("vectors", func(t *testing.T) { checkValidatorVectors(t, c) })

	t.Run("V8c", func(t *testing.T) {
		// CPython computes 2147484000 and then cannot marshal it: its
		// Marshaller raises OverflowError for any int outside 32 bits,
		// which the server turns into fault 1.
		err := c.Call(ctx, "validator1.simpleStructReturnTest", nil, 2147484)
		validatorWantFault(t, "simpleStructReturnTest(2147484)", err, 1, cpythonOverflow)
	})

	t.Run("betty", func(t *testing.T) {
		validatorCheckBetty(t, c)
		validatorWantFault(t, "examples.getStateName(900)", c.Call(ctx, "examples.getStateName", nil, 900), 1, cpythonNoState)
		validatorWantFault(t, "no.such.method", c.Call(ctx, "no.such.method", nil), 1, cpythonNoMethod)
	})

	t.Run("CR", func(t *testing.T) {
		// pyserver.py sends getStateNames with CR as &#13;, which must
		// come through as CR.
		raw, _ := interopPost(t, url, interopCallBody(t, "examples.getStateNames", 12, 22, 32, 42), false)
		if !bytes.Contains(raw, []byte("Idaho&#13;Michigan&#13;New York&#13;Tennessee")) {
			t.Errorf("getStateNames wire: have %q, want CR written as &#13;", raw)
		}
		if have, want := interopDecode(t, raw), "Idaho\rMichigan\rNew York\rTennessee"; have != want {
			t.Errorf("getStateNames decoded: have %q, want %q", have, want)
		}
		// Stock CPython writes CR raw; XML line-end normalisation makes it
		// LF at the receiver, as spec §1 requires.
		raw, _ = interopPost(t, url, interopCallBody(t, "interop.stateNamesRawCR", 12, 22), false)
		if !bytes.Contains(raw, []byte("Idaho\rMichigan")) {
			t.Errorf("stateNamesRawCR wire: have %q, want a raw CR", raw)
		}
		var have string
		if err := c.Call(ctx, "interop.stateNamesRawCR", &have, 12, 22); err != nil || have != "Idaho\nMichigan" {
			t.Errorf("stateNamesRawCR: have %q, %v, want %q", have, err, "Idaho\nMichigan")
		}
		// Our &#13; reaches CPython as CR (it echoes it raw), and so
		// comes back as LF.
		raw, _ = interopPost(t, url, interopCallBody(t, "interop.echo", "a\rb"), false)
		if !bytes.Contains(raw, []byte("<string>a\rb</string>")) {
			t.Errorf("echo(a CR b) wire: have %q, want CPython to echo a raw CR", raw)
		}
		if err := c.Call(ctx, "interop.echo", &have, "a\rb"); err != nil || have != "a\nb" {
			t.Errorf("echo(a CR b): have %q, %v, want %q", have, err, "a\nb")
		}
	})

	t.Run("multicall", func(t *testing.T) {
		res, err := c.Multicall(ctx,
			MulticallEntry{"examples.getStateName", []any{41}},
			MulticallEntry{"no.such.method", nil},
			MulticallEntry{"examples.getStateName", []any{900}},
			MulticallEntry{"validator1.easyStructTest", []any{validatorStoogeStruct(12, 34, 56)}},
		)
		if err != nil {
			t.Fatalf("Multicall: %v", err)
		}
		if len(res) != 4 {
			t.Fatalf("Multicall: have %d results, want 4", len(res))
		}
		if res[0].Err != nil || res[0].Value != "South Dakota" {
			t.Errorf("[0]: have %#v, %v, want South Dakota", res[0].Value, res[0].Err)
		}
		validatorWantFault(t, "[1]", res[1].Err, 1, cpythonNoMethod)
		validatorWantFault(t, "[2]", res[2].Err, 1, cpythonNoState)
		if res[3].Err != nil || !validatorSame(res[3].Value, int64(102)) {
			t.Errorf("[3]: have %#v, %v, want 102", res[3].Value, res[3].Err)
		}

		res, err = c.Multicall(ctx)
		if err != nil || len(res) != 0 {
			t.Errorf("empty Multicall: have %d results, %v, want none", len(res), err)
		}

		// CPython marshals the whole batch at once, so one result beyond
		// 32 bits turns the batch into a single fault (our server faults
		// only that entry).
		_, err = c.Multicall(ctx,
			MulticallEntry{"examples.getStateName", []any{41}},
			MulticallEntry{"validator1.simpleStructReturnTest", []any{2147484}},
		)
		validatorWantFault(t, "Multicall with V8c", err, 1, cpythonOverflow)
	})

	t.Run("introspection", func(t *testing.T) {
		var names []string
		if err := c.Call(ctx, "system.listMethods", &names); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"examples.getStateName", "examples.getStateNames", "interop.echo", "interop.stateNamesRawCR",
			"system.listMethods", "system.methodHelp", "system.methodSignature", "system.multicall",
			"validator1.arrayOfStructsTest", "validator1.countTheEntities", "validator1.easyStructTest",
			"validator1.echoStructTest", "validator1.manyTypesTest", "validator1.moderateSizeArrayCheck",
			"validator1.nestedStructTest", "validator1.simpleStructReturnTest",
		}
		if strings.Join(names, ",") != strings.Join(want, ",") {
			t.Errorf("system.listMethods:\nhave %q\nwant %q", names, want)
		}
		var help string
		if err := c.Call(ctx, "system.methodHelp", &help, "validator1.easyStructTest"); err != nil || help != "Returns moe + larry + curly." {
			t.Errorf("methodHelp(easyStructTest): have %q, %v", help, err)
		}
		// CPython answers a string for every method ("unknown" in §7's
		// terms) and "" as help for an unknown method.
		var sig any
		if err := c.Call(ctx, "system.methodSignature", &sig, "validator1.easyStructTest"); err != nil || sig != "signatures not supported" {
			t.Errorf("methodSignature: have %#v, %v, want \"signatures not supported\"", sig, err)
		}
		if err := c.Call(ctx, "system.methodHelp", &help, "no.such.method"); err != nil || help != "" {
			t.Errorf("methodHelp(no.such.method): have %q, %v, want \"\"", help, err)
		}
	})

	t.Run("formats", func(t *testing.T) {
		// CPython's layout: single-quoted declaration, a newline after
		// most tags, base64 on lines of its own.
		args := []any{-42, true, "x<y&z", -12.214, validatorV5Time, []byte("you can't read this!")}
		raw, _ := interopPost(t, url, interopCallBody(t, "validator1.manyTypesTest", args...), false)
		for _, want := range []string{
			"<?xml version='1.0'?>\n<methodResponse>\n<params>\n",
			"<value><int>-42</int></value>\n",
			"<value><boolean>1</boolean></value>\n",
			"<value><string>x&lt;y&amp;z</string></value>\n",
			"<value><double>-12.214</double></value>\n",
			"<value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value>\n",
			"<value><base64>\neW91IGNhbid0IHJlYWQgdGhpcyE=\n</base64></value>\n",
		} {
			if !bytes.Contains(raw, []byte(want)) {
				t.Errorf("manyTypesTest wire: have %q, want it to contain %q", raw, want)
			}
		}
		var ours bytes.Buffer
		if err := EncodeResponse(&ours, args); err != nil {
			t.Fatal(err)
		}
		theirs, mine := interopDecode(t, raw), interopDecode(t, ours.Bytes())
		if !validatorSame(theirs, mine) {
			t.Errorf("CPython's and our form decode differently:\nhave %#v\nwant %#v", theirs, mine)
		}
		want := []any{int64(-42), true, "x<y&z", -12.214, validatorV5Time, []byte("you can't read this!")}
		if !validatorSame(theirs, want) {
			t.Errorf("manyTypesTest decoded: have %#v, want %#v", theirs, want)
		}

		// Base64 longer than 76 characters is wrapped over several lines.
		data := bytes.Repeat([]byte("0123456789"), 20)
		raw, _ = interopPost(t, url, interopCallBody(t, "interop.echo", data), false)
		if bytes.Count(raw, []byte("\n")) < 5 {
			t.Errorf("echo(200 bytes) wire: have %q, want base64 wrapped over lines", raw)
		}
		if have := interopDecode(t, raw); !validatorSame(have, data) {
			t.Errorf("echo(200 bytes): have %#v, want %q", have, data)
		}

		// CPython writes doubles with repr, exponents included, and
		// non-ASCII text as UTF-8.
		for _, v := range []any{1e-07, 1e16, -2.5e-300, "café ☃ 𝄞", ""} {
			raw, _ := interopPost(t, url, interopCallBody(t, "interop.echo", v), false)
			have := interopDecode(t, raw)
			want := v
			if !validatorSame(have, want) {
				t.Errorf("echo(%#v): have %#v from %q", v, have, raw)
			}
		}

		// CPython gzips responses over 1400 bytes for clients that accept
		// it; our client does and decompresses.
		big := map[string]any{}
		for i := range 200 {
			big["k"+strconv.Itoa(i)] = "value " + strconv.Itoa(i)
		}
		raw, h := interopPost(t, url, interopCallBody(t, "validator1.echoStructTest", big), true)
		if h.Get("Content-Encoding") != "gzip" {
			t.Errorf("echoStructTest(200 members): have Content-Encoding %q, want gzip", h.Get("Content-Encoding"))
		} else if zr, err := gzip.NewReader(bytes.NewReader(raw)); err != nil {
			t.Errorf("gzip response: %v", err)
		} else if _, err := io.ReadAll(zr); err != nil {
			t.Errorf("gzip response: %v", err)
		}
		// CPython's server also reads gzip requests.
		cz := validatorClient(t, url, WithGzip())
		var sum int
		if err := cz.Call(ctx, "validator1.arrayOfStructsTest", &sum, []any{validatorStoogeStruct(1, 2, 3)}); err != nil || sum != 3 {
			t.Errorf("gzip request: have %d, %v, want 3", sum, err)
		}
		// Only /, /RPC2 and /pydoc.css are served; other paths get 404.
		c404 := validatorClient(t, strings.TrimSuffix(url, "/RPC2")+"/nope")
		var he *HTTPError
		if err := c404.Call(ctx, "examples.getStateName", nil, 41); !errors.As(err, &he) || he.StatusCode != http.StatusNotFound {
			t.Errorf("POST /nope: have %v, want an *HTTPError with status 404", err)
		}
		var have map[string]string
		if err := c.Call(ctx, "validator1.echoStructTest", &have, big); err != nil || len(have) != 200 || have["k199"] != "value 199" {
			t.Errorf("echoStructTest(200 members) through gzip: have %d members, %v", len(have), err)
		}
	})

	t.Run("nil and i8", func(t *testing.T) {
		// pyserver.py runs with allow_none, so <nil/> goes both ways.
		cn := validatorClient(t, url, WithAllowNil())
		var have any = "not nil"
		if err := cn.Call(ctx, "interop.echo", &have, nil); err != nil || have != nil {
			t.Errorf("echo(nil): have %#v, %v, want nil", have, err)
		}
		m := map[string]any{"n": nil, "s": "x"}
		if err := cn.Call(ctx, "interop.echo", &have, m); err != nil || !validatorSame(have, map[string]any{"n": nil, "s": "x"}) {
			t.Errorf("echo({n: nil}): have %#v, %v", have, err)
		}
		// CPython reads <i8> of any size but never writes one: a value
		// beyond 32 bits comes back as an OverflowError fault, and a small
		// one as <int>.
		ci8 := validatorClient(t, url, WithI8())
		validatorWantFault(t, "echo(1<<40)", ci8.Call(ctx, "interop.echo", nil, int64(1)<<40), 1, cpythonOverflow)
		body := []byte(`<?xml version="1.0"?><methodCall><methodName>interop.echo</methodName>` +
			`<params><param><value><i8>5</i8></value></param></params></methodCall>`)
		raw, _ := interopPost(t, url, body, false)
		if !bytes.Contains(raw, []byte("<value><int>5</int></value>")) {
			t.Errorf("echo(<i8>5</i8>) wire: have %q, want <int>5</int>", raw)
		}
	})

	t.Run("random", func(t *testing.T) {
		start := time.Now()
		n := runValidatorRandom(t, c, validatorRandomRounds, 100)
		t.Logf("%d random calls in %v", n, time.Since(start).Round(time.Millisecond))
	})
}

// interopMinPythonChecks is the least number of checks pyclient.py must
// report: the randomised mode alone makes 8000.
const interopMinPythonChecks = validatorRandomRounds*8 + 50

// interopSummary is the JSON line pyclient.py prints.
type interopSummary struct {
	Checks       int               `json:"checks"`
	Failures     []string          `json:"failures"`
	Observations map[string]string `json:"observations"`
}

func TestInteropPythonClientGoServer(t *testing.T) {
	t.Parallel()
	py := interopPython(t)
	url := startValidatorServer(t)
	extURL := startValidatorServer(t, WithI8(), WithAllowNil(), WithGzip())

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join("testdata", "interop", "pyclient.py"), url, extURL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("pyclient.py ran in %v", time.Since(start).Round(time.Millisecond))
	if runErr != nil {
		t.Errorf("pyclient.py: have %v, want exit status 0\nstderr:\n%s", runErr, stderr.String())
	}

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var sum interopSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("pyclient.py summary: %v\nstdout:\n%s", err, stdout.String())
	}
	for _, f := range sum.Failures {
		t.Errorf("pyclient.py: %s", f)
	}
	if sum.Checks < interopMinPythonChecks {
		t.Errorf("pyclient.py: have %d checks, want at least %d", sum.Checks, interopMinPythonChecks)
	}
	if runErr == nil && len(sum.Failures) > 0 {
		t.Errorf("pyclient.py: exit status 0 with %d failures", len(sum.Failures))
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) && len(sum.Failures) == 0 {
		t.Errorf("pyclient.py: %v without a reported failure", runErr)
	}
	t.Logf("pyclient.py: %d checks", sum.Checks)
	for k, v := range sum.Observations {
		t.Logf("CPython: %s: %s", k, v)
	}
}
