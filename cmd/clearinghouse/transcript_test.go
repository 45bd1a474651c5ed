package main

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/doccheck"
	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// The CLI page's session (docs/cli.md), which this file runs.
const (
	cliDoc            = "docs/cli.md"
	transcriptSection = "## A session against the mock"
)

// step is one command of a transcript and the output it shows.
type step struct {
	line    int      // in the document
	command string   // as written, after "$ "
	words   []string // the command's words, comment removed
	output  string   // stdout then stderr, as shown
}

// parseTranscript reads a console block: lines beginning with "$ " are
// commands (a trailing "# comment" is not part of them), the lines up to
// the next command are their output.
func parseTranscript(t *testing.T, b doccheck.Block) []step {
	t.Helper()
	var steps []step
	for i, line := range strings.SplitAfter(b.Text, "\n") {
		if line == "" {
			continue
		}
		if cmd, ok := strings.CutPrefix(line, "$ "); ok {
			cmds := doccheck.Shell(doccheck.Block{Lang: "sh", Text: cmd})
			if len(cmds) != 1 {
				t.Fatalf("%s:%d: %q is not one simple command (no pipes, no lists)", cliDoc, b.Line+1+i, cmd)
			}
			steps = append(steps, step{line: b.Line + 1 + i, command: strings.TrimSuffix(cmd, "\n"), words: cmds[0]})
			continue
		}
		if len(steps) == 0 {
			t.Fatalf("%s:%d: output before the first command", cliDoc, b.Line+1+i)
		}
		steps[len(steps)-1].output += line
	}
	return steps
}

// session is the world a transcript runs in: an in-process mock made as
// `mockclearinghouse -tls -creds-out /tmp/creds.json` makes it (the
// default population, seed and cleanup delay, one demo account), behind
// HTTPS, with its creds file and CA certificate in a directory that
// stands for /tmp.
//
// The mock's clock moves one second before each command, as if someone
// typed them, and one millisecond each time the mock reads it, as the
// wall clock moves while a call is answered: a lease granted at one
// reading shows 3h59m59s left at the next, as it does against the real
// mock, and the output does not depend on how fast this machine is.
// While keep runs, which measures the clock's rate against the wall
// clock, the mock's clock follows the wall clock.
type session struct {
	mock *mockserver.Server
	dir  string
	host string // the server's host:port
	env  map[string]string
	code int // the last command's exit code

	mu       sync.Mutex
	elapsed  time.Duration // the mock clock's reading, from its start
	realFrom time.Time     // while keep runs: when it started
}

// sessionStart is the mock clock's reading when the session begins.
var sessionStart = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

// clock is the mock's time source.
func (s *session) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.realFrom.IsZero() {
		return sessionStart.Add(s.elapsed + time.Since(s.realFrom))
	}
	s.elapsed += time.Millisecond
	return sessionStart.Add(s.elapsed)
}

// pause moves the clock by d, then makes it follow the wall clock (real)
// or tick with its readings.
func (s *session) pause(d time.Duration, real bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.realFrom.IsZero() {
		s.elapsed += time.Since(s.realFrom)
		s.realFrom = time.Time{}
	}
	s.elapsed += d
	if real {
		s.realFrom = time.Now()
	}
}

func newSession(t *testing.T) *session {
	t.Helper()
	s := &session{dir: t.TempDir(), env: map[string]string{}}
	pop := mockserver.DefaultPopulation()
	mock, err := mockserver.Open(t.Context(), "",
		mockserver.WithPopulation(pop),
		mockserver.WithSeed(pop.Seed),
		mockserver.WithCleanupDelay(5*time.Second),
		mockserver.WithClock(s.clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	s.mock = mock
	// As cmd/mockclearinghouse's ensureDemoAccounts makes demo1.
	acct, err := mock.AddAccount(mockapi.AccountSpec{
		Username: "demo1", Password: "demo-password", Affiliation: "Mock Clearinghouse demo account",
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(mock)
	t.Cleanup(srv.Close)
	s.host = strings.TrimPrefix(srv.URL, "https://")
	ca := filepath.Join(s.dir, "mockclearinghouse-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cf := credsfile.File{URL: srv.URL + "/xmlrpc/", CAFile: ca, Accounts: []credsfile.Account{{
		Username: acct.Username, Password: acct.Password, APIKey: acct.APIKey, PublicKey: acct.PublicKey, PrivateKey: acct.PrivateKey,
	}}}
	if err := credsfile.Write(filepath.Join(s.dir, "creds.json"), &cf); err != nil {
		t.Fatal(err)
	}
	return s
}

// in turns a document's path under /tmp into the session's.
func (s *session) in(w string) string { return strings.ReplaceAll(w, "/tmp/", s.dir+"/") }

// out turns the session's paths and address back into the document's.
func (s *session) out(text string) string {
	text = strings.ReplaceAll(text, s.dir+"/", "/tmp/")
	return strings.ReplaceAll(text, s.host, "127.0.0.1:8421")
}

// run runs one step and returns what it printed, as the document would
// show it.
func (s *session) run(t *testing.T, st step) string {
	t.Helper()
	words := st.words
	if words[0] == "export" {
		for _, a := range words[1:] {
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				t.Fatalf("%s:%d: export %q: want NAME=value", cliDoc, st.line, a)
			}
			s.env[k] = s.in(v)
		}
		return ""
	}
	if len(words) == 2 && words[0] == "echo" && words[1] == "$?" {
		return strconv.Itoa(s.code) + "\n"
	}
	env := map[string]string{}
	for k, v := range s.env {
		env[k] = v
	}
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		k, v, _ := strings.Cut(words[0], "=")
		env[k] = s.in(v)
		words = words[1:]
	}
	if len(words) == 0 || words[0] != "clearinghouse" {
		t.Fatalf("%s:%d: %q: a transcript runs clearinghouse, export, and echo $? only", cliDoc, st.line, st.command)
	}
	args := make([]string, len(words)-1)
	for i, w := range words[1:] {
		args[i] = s.in(w)
	}
	keep := slices.Contains(args, "keep")
	s.pause(time.Second, keep)
	defer s.pause(0, false)
	// One buffer for both streams keeps their lines in the order a
	// terminal shows them; keep draws its status line for a terminal.
	var out syncbuf.Buffer
	tty := true
	inv := invocation{env: env, stdout: &out, stderr: &out, tty: &tty}
	if keep {
		s.code = s.keep(t, st, inv, &out, args)
	} else {
		s.code = exec(t, inv, args...).code
	}
	return s.out(screen(out.String()))
}

// screen returns what a terminal shows after printing s: a carriage
// return moves back to the start of the line, and what follows overwrites
// it (keep's status line); trailing blanks are dropped.
func screen(s string) string {
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		var row []rune
		col := 0
		for _, r := range line {
			if r == '\r' {
				col = 0
				continue
			}
			if col < len(row) {
				row[col] = r
			} else {
				row = append(row, r)
			}
			col++
		}
		b.WriteString(strings.TrimRight(string(row), " "))
	}
	return b.String()
}

// keep runs keep, which renews until it is interrupted: it interrupts it
// once it has printed the lines the document shows before its summary
// (the last line), as Ctrl-C would, and returns its exit code.
func (s *session) keep(t *testing.T, st step, inv invocation, out *syncbuf.Buffer, args []string) int {
	t.Helper()
	before := strings.Count(st.output, "\n") - 1
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	inv.ctx = ctx
	done := make(chan int, 1)
	go func() { done <- exec(t, inv, args...).code }()
	wait, stop := context.WithTimeout(t.Context(), 30*time.Second)
	defer stop()
	if err := out.WaitFor(wait, func(out string) bool { return strings.Count(out, "\n") >= before }); err != nil {
		t.Fatalf("%s:%d: keep did not print %d lines: %v\n%s", cliDoc, st.line, before, err, out.String())
	}
	cancel()
	return <-done
}

// volatile are the parts of the output that change from run to run: the
// wall-clock time keep prints on each event and how long it ran.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^[0-9]{2}:[0-9]{2}:[0-9]{2} `), "HH:MM:SS "},
	{regexp.MustCompile(`stopped after [0-9.]+(ms|s|µs)`), "stopped after D"},
	{regexp.MustCompile(`\(at least [^()]* times as fast\)`), "(at least D of real time: ...)"},
}

func normalise(s string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

// TestDocTranscript runs the session of docs/cli.md against an in-process
// mock and compares what each command prints with what the page shows,
// the wall-clock times aside. With -update it rewrites the outputs in the
// page instead.
func TestDocTranscript(t *testing.T) {
	t.Parallel()
	doc := doccheck.Read(t, cliDoc)
	section, ok := doccheck.Section(doc, transcriptSection)
	if !ok {
		t.Fatalf("%s has no section %q", cliDoc, transcriptSection)
	}
	var block *doccheck.Block
	for _, b := range doccheck.Blocks(section) {
		if b.Lang == "console" {
			block = &b
			break
		}
	}
	if block == nil {
		t.Fatalf("%s: section %q has no console block", cliDoc, transcriptSection)
	}
	block.Line += strings.Count(doc[:strings.Index(doc, section)], "\n")
	steps := parseTranscript(t, *block)
	if len(steps) < 10 {
		t.Fatalf("%s: only %d commands in the session; the parse is broken", cliDoc, len(steps))
	}
	s := newSession(t)
	var rewritten strings.Builder
	for _, st := range steps {
		have := s.run(t, st)
		fmt.Fprintf(&rewritten, "$ %s\n%s", st.command, have)
		if !*update && normalise(have) != normalise(st.output) {
			t.Errorf("%s:%d: $ %s\nprints\n%s\nthe page shows\n%s", cliDoc, st.line, st.command, have, st.output)
		}
	}
	if *update {
		path := filepath.Join(doccheck.Root(t), cliDoc)
		i := strings.Index(doc, section) + strings.Index(section, block.Text)
		updated := doc[:i] + rewritten.String() + doc[i+len(block.Text):]
		if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
