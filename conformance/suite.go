package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/redact"
	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// A check is one leaf of the subtest tree.
type check struct {
	name string
	need needs
	run  func(t T, s *session)
}

// needs are what a check requires of the target; unmet needs skip it.
type needs struct {
	vessels    int  // vessels held at most at once (the budget it needs)
	controls   bool // the mock's Controls
	mock       bool // a mock decision or §14: only this project's mock must do it
	second     bool // a second account (from Target.Accounts or Controls)
	privateKey bool // the main account's private key
	password   bool // the main account's password
	changes    bool // changes an account for good (see Target.AllowAccountChanges)
	restart    bool // Target.Restart
	kill       bool // Target.Kill
	frozen     bool // Controls that are a TimeScaler: the clock can be frozen
	isolated   bool // calls isolate: consecutive such checks share one isolation
	// expectsFaults: vessels is what wrong successes of the check's
	// acquire calls, which must all fail, could hold at once.
	expectsFaults bool
}

// area is a top-level subtest with its checks, in order.
type area struct {
	name   string
	checks []check
}

// areas is the whole suite, in the order it runs. The names are stable:
// use them with go test -run.
func areas() []area {
	return []area{
		{"HTTP", httpChecks()},
		{"Dispatch", dispatchChecks()},
		{"Auth", authChecks()},
		{"AccountInfo", accountInfoChecks()},
		{"Keys", keyChecks()},
		{"Faults", faultChecks()},
		{"Acquire", acquireChecks()},
		{"Specific", specificChecks()},
		{"Release", releaseChecks()},
		{"Renew", renewChecks()},
		{"Credits", creditChecks()},
		{"Client", clientChecks()},
		{"Restart", restartChecks()},
		{"Selection", selectionChecks()},
		{"Expiry", expiryChecks()},
		{"AccountChanges", accountChangeChecks()},
		{"Sampling", samplingChecks()},
	}
}

// Run checks the target against the contract, as a tree of subtests
// Area/Check. It fails the test at once if the target has no URL or no
// account, and logs a summary when the test ends. With Target.ReportDir
// it also writes the report there (see Target.ReportDir).
func Run(t *testing.T, target Target) {
	t.Helper()
	sr := newSuiteRun(context.Background(), target, "")
	// Registered first, so it runs last: after the final cleanup, whose
	// failures the report lists too.
	t.Cleanup(func() {
		defer sr.end()
		rep := sr.finalReport()
		if sr.session() != nil {
			t.Log(rep.summary())
		}
		if target.ReportDir != "" {
			if err := rep.writeDir(target.ReportDir, t.Name()); err != nil {
				t.Error(err)
			}
		}
	})
	sr.run(&testingT{T: t, rec: sr.root})
}

// suiteRun is one run of the suite, by Run or by Check.
type suiteRun struct {
	target  Target
	filter  string // Check's -run pattern, for the report
	started time.Time
	root    *record // the run's own messages: setup, final cleanup

	// stop ends when the run must stop early: the context Check was
	// given ended, or the target stopped answering (halt). grace ends
	// stopGrace after stop: it bounds the cleanup of a stopped run.
	stop  context.Context
	halt  context.CancelCauseFunc
	grace context.Context

	mu      sync.Mutex
	s       *session
	running bool // the areas have started: setup succeeded
	cut     bool // Check's context ended the run early
}

func newSuiteRun(ctx context.Context, target Target, filter string) *suiteRun {
	sr := &suiteRun{target: target, filter: filter, started: time.Now(), root: newRecord("", "")}
	sr.stop, sr.halt = context.WithCancelCause(ctx)
	grace, endGrace := context.WithCancel(context.Background())
	context.AfterFunc(sr.stop, func() { time.AfterFunc(stopGrace, endGrace) })
	sr.grace = grace
	return sr
}

// end releases the run's contexts once its report is built.
func (sr *suiteRun) end() { sr.halt(errRunEnded) }

// errRunEnded ends the run's contexts when it is over.
var errRunEnded = errors.New("conformance: the run ended")

func (sr *suiteRun) session() *session {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return sr.s
}

// finalReport is the run's report; one that stopped early says why.
func (sr *suiteRun) finalReport() *Report {
	rep := sr.report()
	s := sr.session()
	switch {
	case s == nil || !strings.HasPrefix(rep.problem, "interrupted") && rep.problem != "":
	case sr.interrupted():
		rep.problem = "interrupted (" + s.redact(context.Cause(sr.stop).Error()) + "): the check running was stopped, and no check after it ran"
	case s.haltErr() != nil:
		rep.problem = "stopped: " + s.redact(s.haltErr().Error()) + "; no check after it ran"
	}
	return rep
}

// run is the suite, whichever way it is run: t is the root.
func (sr *suiteRun) run(t T) {
	t.Helper()
	target := sr.target
	if target.URL == "" {
		t.Fatal("conformance: the target has no URL; the suite has no default endpoint")
	}
	if len(target.Accounts) == 0 || target.Accounts[0].Username == "" {
		t.Fatal("conformance: the target has no account")
	}
	s, err := newSession(target, sr.stop, sr.halt, sr.grace)
	sr.root.setRedact(s.redact)
	sr.mu.Lock()
	sr.s = s
	sr.mu.Unlock()
	if err != nil {
		t.Fatal(s.redact(err.Error()))
	}
	t.Cleanup(func() { s.finalCleanup(t) })
	// The first calls: if the target does not answer them, nothing else
	// is tried.
	if err := s.fetchMissingKeys(); err != nil {
		t.Fatal(s.redact(err.Error()))
	}
	if err := s.snapshot(); err != nil {
		t.Fatal(s.redact(err.Error()))
	}
	sr.mu.Lock()
	sr.running = true
	sr.mu.Unlock()
	for _, a := range areas() {
		if s.stopping() {
			break
		}
		t.Run(a.name, func(t T) {
			t.setRecord(s.newRecord(a.name, ""))
			t.Cleanup(func() { s.areaCleanup(t) })
			for _, c := range a.checks {
				if s.stopping() {
					break
				}
				t.Run(c.name, func(t T) { s.runCheck(t, a.name, c) })
			}
		})
	}
	if err := s.haltErr(); err != nil {
		t.Error(s.redact("conformance: " + err.Error()))
	}
}

// session is the state of one Run.
type session struct {
	runID   string
	budget  int
	relax   bool
	mock    bool
	slack   int64         // seconds of clock drift tolerated in expires_in_seconds
	timeout time.Duration // per call

	// The run's contexts (see suiteRun).
	stop  context.Context
	halt  context.CancelCauseFunc
	grace context.Context

	mu       sync.Mutex
	tg       Target       // the current target (Restart may change it)
	hc       *http.Client // hcBase, watched (answerWatch)
	hcBase   *http.Client
	rpc      *xmlrpc.Client
	accounts []*acct            // the target's accounts, then the ones the suite created
	ledger   map[*acct][]string // vessels the suite acquired and has not released
	secrets  []string           // random: API keys, private keys, tokens
	chosen   []string           // passwords
	red      *redact.Redactor   // for secrets and chosen, made when first needed
	seq      int
	subnets  int
	keyPair  [2]string // a key pair for created accounts, made once

	// The budget's bookkeeping (budget.go).
	pending   int                       // vessels claimed by calls in flight
	baseline  map[*acct]map[string]bool // what each account held before the run
	unsure    map[*acct]bool            // accounts that may hold vessels the suite has not seen
	unlisted  map[*acct]string          // accounts it could not list before the run: why
	noAcquire string                    // why the run acquires no more vessels, or ""

	// The target's answers (stop.go).
	answered bool           // it has answered at least once
	silent   int            // calls in a row with no answer
	halted   *noAnswerError // why it stopped the run, or nil

	isolated []string  // population nodes deactivated by isolate, to reactivate
	ownNodes []string  // nodes the suite added and has not deactivated yet
	spare    *acct     // a second account, once found or created
	records  []*record // of the areas and checks, in the order they started
}

// acct is an account as the suite uses it; the API key may change
// (regenerate_api_key), so it is read under the session lock.
type acct struct {
	name       string
	apiKey     string
	password   string
	privateKey string
	created    bool // made by the suite through Controls
}

func newSession(tg Target, stop context.Context, halt context.CancelCauseFunc, grace context.Context) (*session, error) {
	s := &session{
		tg:       tg,
		budget:   tg.AllowAcquire,
		relax:    tg.RelaxStrings,
		mock:     tg.Mock || tg.Controls != nil,
		stop:     stop,
		halt:     halt,
		grace:    grace,
		ledger:   map[*acct][]string{},
		baseline: map[*acct]map[string]bool{},
		unsure:   map[*acct]bool{},
		unlisted: map[*acct]string{},
	}
	s.slack = 60
	if s.mock {
		s.slack = 5
	}
	var b [4]byte
	rand.Read(b[:])
	s.runID = hex.EncodeToString(b[:])
	for _, a := range tg.Accounts {
		s.accounts = append(s.accounts, &acct{name: a.Username, apiKey: a.APIKey, password: a.Password, privateKey: a.PrivateKey})
	}
	s.addTargetSecrets(tg)
	s.timeout = tg.CallTimeout
	if s.timeout <= 0 {
		s.timeout = DefaultCallTimeout
	}
	if err := s.connect(); err != nil {
		return s, err
	}
	return s, nil
}

// connect (re)builds the HTTP and XML-RPC clients from s.tg. Every
// exchange goes through answerWatch, which stops the run when the target
// stops answering.
func (s *session) connect() error {
	hc := s.tg.HTTPClient
	if hc == nil {
		var err error
		if hc, err = httpClientFor(s.tg.CAFile); err != nil {
			return err
		}
	}
	base := hc
	hc = s.watched(base)
	rpc, err := xmlrpc.NewClient(s.tg.URL, xmlrpc.WithHTTPClient(hc), xmlrpc.WithAllowNil(), xmlrpc.WithI8(),
		xmlrpc.WithUserAgent("clearinghouse-go-conformance/1"))
	if err != nil {
		return err
	}
	if s.hc != nil && s.hcBase != base {
		s.hc.CloseIdleConnections()
	}
	s.hcBase, s.hc, s.rpc = base, hc, rpc
	return nil
}

// fetchMissingKeys gets the API key of every account given only with a
// private key, through get_encrypted_api_key.
func (s *session) fetchMissingKeys() error {
	for _, a := range s.accounts {
		if a.apiKey != "" {
			continue
		}
		if a.privateKey == "" {
			return fmt.Errorf("conformance: account %s has neither an API key nor a private key", a.name)
		}
		priv, err := seattlersa.ParsePrivateKey(a.privateKey)
		if err != nil {
			return fmt.Errorf("conformance: the private key of %s does not parse", a.name)
		}
		ctx, cancel := s.callCtx()
		var ct string
		err = s.client().Call(ctx, "get_encrypted_api_key", &ct, a.name)
		cancel()
		if h := s.haltErr(); h != nil {
			return fmt.Errorf("conformance: fetching the API key of %s: %v", a.name, h)
		}
		if err != nil {
			return fmt.Errorf("conformance: fetching the API key of %s: %v", a.name, err)
		}
		key, err := seattlersa.DecryptAPIKey(priv, ct)
		if err != nil {
			return fmt.Errorf("conformance: decrypting the API key of %s: %v", a.name, err)
		}
		s.mu.Lock()
		a.apiKey = key
		s.mu.Unlock()
		s.addSecrets(key)
	}
	return nil
}

func (s *session) client() *xmlrpc.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rpc
}

func (s *session) httpClient() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hc
}

func (s *session) url() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tg.URL
}

func (s *session) controls() Controls {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tg.Controls
}

// main returns the target's first account.
func (s *session) main() *acct { return s.accounts[0] }

func (s *session) key(a *acct) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return a.apiKey
}

func (s *session) setKey(a *acct, key string) {
	s.addSecrets(key)
	s.mu.Lock()
	a.apiKey = key
	s.mu.Unlock()
}

// auth is the auth struct of a.
func (s *session) auth(a *acct) map[string]any {
	return map[string]any{"username": a.name, "api_key": s.key(a)}
}

// badAuth is an auth struct for a's username with a wrong key.
func (s *session) badAuth(a *acct) map[string]any {
	return map[string]any{"username": a.name, "api_key": "conformance-wrong-key-" + s.runID}
}

// nobody is a username that no account has.
func (s *session) nobody() string { return "conformance_nobody_" + s.runID }

// addSecrets registers strings that must never be printed, whole or in
// pieces: API keys, private keys, tokens, and every value the suite
// derives from one (a key with a character cut, its case swapped).
func (s *session) addSecrets(vals ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vals {
		if len(v) < minSecretLen || contains(s.secrets, v) {
			continue // too short to redact without mangling everything
		}
		s.secrets = append(s.secrets, v)
		for _, tok := range strings.Fields(v) {
			if len(tok) >= 16 && tok != v && !contains(s.secrets, tok) {
				s.secrets = append(s.secrets, tok) // the parts of a private key
			}
		}
		s.red = nil
	}
}

// addPasswords registers passwords, which must never be printed: they are
// found whole (see internal/redact: a password holds words).
func (s *session) addPasswords(vals ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vals {
		if len(v) >= minSecretLen && !contains(s.chosen, v) {
			s.chosen = append(s.chosen, v)
			s.red = nil
		}
	}
}

// minSecretLen is the length below which a secret is not redacted.
const minSecretLen = 4

// addTargetSecrets registers the secrets tg holds: its accounts' keys and
// passwords, and its Controls' admin token.
func (s *session) addTargetSecrets(tg Target) {
	for _, a := range tg.Accounts {
		s.addSecrets(a.APIKey, a.PrivateKey)
		s.addPasswords(a.Password)
	}
	s.addSecrets(controlSecrets(tg.Controls)...)
}

// redact makes text fit to print: every registered secret, in any form
// (internal/redact), replaced by [REDACTED], then every control character,
// bidirectional control and byte that is not UTF-8 but tab and line feed
// escaped (textclip.EscapeLines), whoever wrote the text.
func (s *session) redact(text string) string {
	if s == nil {
		return textclip.EscapeLines(text)
	}
	s.mu.Lock()
	if s.red == nil {
		s.red = redact.New(redactedText, minSecretLen, s.secrets, s.chosen)
	}
	r := s.red
	s.mu.Unlock()
	return textclip.EscapeLines(r.Redact(text))
}

// redactedText replaces a secret.
const redactedText = "[REDACTED]"

// redactSecrets replaces the secrets (random ones: keys) in text.
func redactSecrets(text string, secrets []string) string {
	return redact.New(redactedText, minSecretLen, secrets, nil).Redact(text)
}

// Reporting. Checks never call t.Error/t.Fatal/t.Log directly: these
// wrappers redact credentials first.

func (s *session) errorf(t T, format string, args ...any) {
	t.Helper()
	t.Error(s.redact(fmt.Sprintf(format, args...)))
}

// fatalf ends the check, failed; once the run is stopping, skipped: the
// failure is most likely the stop's (a call abandoned), not the target's.
func (s *session) fatalf(t T, format string, args ...any) {
	t.Helper()
	if s.stopping() {
		s.skipf(t, "not finished: %s (then: %s)", s.stopReason(), fmt.Sprintf(format, args...))
	}
	t.Fatal(s.redact(fmt.Sprintf(format, args...)))
}

func (s *session) logf(t T, format string, args ...any) {
	t.Helper()
	t.Log(s.redact(fmt.Sprintf(format, args...)))
}

// warnf reports a tolerated difference (RelaxStrings): a WARNING line,
// which the check's record counts as a warning.
func (s *session) warnf(t T, format string, args ...any) {
	t.Helper()
	t.Log(warningPrefix + s.redact(fmt.Sprintf(format, args...)))
}

// skipf skips the check; the record keeps why, for the summary.
func (s *session) skipf(t T, format string, args ...any) {
	t.Helper()
	t.Skip(s.redact(fmt.Sprintf(format, args...)))
}

// runCheck runs one leaf: it skips when a need is unmet, and makes sure
// that whatever the check acquired is released when it ends.
func (s *session) runCheck(t T, areaName string, c check) {
	rec := s.newRecord(areaName, c.name)
	t.setRecord(rec)
	t.Cleanup(func() { s.finishCheck(t, rec) }) // registered first, so it runs last
	if why := s.unmet(c.need); why != "" {
		s.skipf(t, "%s", why)
	}
	if !c.need.isolated {
		s.unisolate(t) // give the population back before a check that uses it
	}
	t.Cleanup(func() { s.releaseAll(t) })
	t.Cleanup(func() { s.retireOwnNodes(t) })
	c.run(t, s)
}

// unmet returns why the target cannot run a check with these needs, or "".
func (s *session) unmet(n needs) string {
	s.mu.Lock()
	tg := s.tg
	s.mu.Unlock()
	switch {
	case n.controls && tg.Controls == nil:
		return "needs the mock's controls (clock, population or accounts), which the target does not offer: start mockclearinghouse -admin -creds-out FILE and run conformance -creds FILE, or set " +
			EnvAdminURL + " (Target.Controls in Go)"
	case n.mock && !s.mock:
		return "checks a mock decision or a §14 difference, which only this project's mock must follow: run conformance -creds FILE with the mock's -creds-out file, or set " +
			EnvMock + "=1 (Target.Mock in Go)"
	case n.restart && tg.Restart == nil:
		return "needs a Restart hook to restart the target mid-run (Target.Restart), which only a Go test can give; the conformance command cannot restart its target"
	case n.kill && tg.Kill == nil:
		return "needs a Kill hook to restart the target uncleanly (Target.Kill), which only a Go test can give; the conformance command cannot kill its target"
	case n.frozen && !isTimeScaler(tg.Controls):
		return "needs Controls that can freeze the clock (conformance.TimeScaler) to check exact instants"
	case n.changes && tg.Controls == nil && !tg.AllowAccountChanges:
		return "changes an account for good; runs only against a mock with controls (mockclearinghouse -admin), or with " +
			EnvAllowAccountChanges + "=1 (Target.AllowAccountChanges in Go)"
	case n.changes && tg.Controls == nil && s.main().password == "":
		return "needs the main account's password (" + EnvPassword + ")"
	case n.password && s.main().password == "":
		return "needs the main account's password (" + EnvPassword + ")"
	case n.privateKey && s.main().privateKey == "":
		return "needs the main account's private key (" + EnvPrivateKeyFile + ")"
	case n.second && tg.Controls == nil && len(s.accounts) < 2:
		return "needs a second account (" + EnvUsername + "_2 and " + EnvAPIKey + "_2) or the mock's controls (mockclearinghouse -admin)"
	case n.vessels > s.budget:
		what := "holds up to " + vessels(n.vessels) + " at once"
		if n.expectsFaults {
			what = "makes acquire calls that must fail, which a lenient server could turn into acquisitions of up to " + vessels(n.vessels) + " at once"
		}
		over := "the run is read-only"
		if s.budget > 0 {
			over = fmt.Sprintf("the budget is %d", s.budget)
		}
		return fmt.Sprintf("%s, and %s: set %s=%d or more to run it", what, over, EnvAllowAcquire, n.vessels)
	case n.vessels > 0:
		s.mu.Lock()
		why := s.noAcquire
		s.mu.Unlock()
		if why != "" {
			return "not run: " + why
		}
	}
	return ""
}

// newRecord starts the record of an area or a check.
func (s *session) newRecord(area, name string) *record {
	r := newRecord(area, name)
	r.redact = s.redact
	s.mu.Lock()
	s.records = append(s.records, r)
	s.mu.Unlock()
	return r
}

// finishCheck sets a finished check's outcome.
func (s *session) finishCheck(t T, r *record) {
	switch {
	case t.Failed():
		r.finish(statusFailed)
	case t.Skipped():
		r.finish(statusSkipped)
	case r.warnings() > 0:
		r.finish(statusWarned)
	default:
		r.finish(statusPassed)
	}
}

// finalCleanup runs when the whole Run ends: release anything left, and
// undo population changes.
func (s *session) finalCleanup(t T) {
	s.releaseAll(t)
	s.retireOwnNodes(t)
	s.unisolate(t)
}

// areaCleanup retires any node an area's checks left active.
func (s *session) areaCleanup(t T) {
	s.retireOwnNodes(t)
}

// ctx returns a context for one call made by a check: bounded by the
// call timeout, and abandoned when the check ends or the run stops.
func (s *session) ctx(t T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), s.timeout)
	stop := context.AfterFunc(s.stop, cancel)
	t.Cleanup(func() {
		stop()
		cancel()
	})
	return ctx
}

// nextName returns a fresh, run-unique name with the prefix.
func (s *session) nextName(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return prefix + s.runID + "_" + strconv.Itoa(s.seq)
}

// vessels is "1 vessel" or "n vessels".
func vessels(n int) string {
	if n == 1 {
		return "1 vessel"
	}
	return strconv.Itoa(n) + " vessels"
}
