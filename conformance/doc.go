// Package conformance is a test suite that checks a Seattle Clearinghouse
// XML-RPC endpoint against the contract (clearinghouse-api.md): this
// project's mock in process, the mockclearinghouse command as a separate
// process, or a real deployment. It is a library run by go test, like
// testing/fstest.TestFS:
//
//	func TestDeployment(t *testing.T) {
//		tg, ok, err := conformance.TargetFromEnv()
//		if err != nil {
//			t.Fatal(err)
//		}
//		if !ok {
//			t.Skip("set CLEARINGHOUSE_URL or CLEARINGHOUSE_CREDS_FILE")
//		}
//		conformance.Run(t, tg)
//	}
//
// Run builds a stable tree of subtests, Area/Check, so that go test -run
// selects parts of it (-run 'TestDeployment/Auth/' or '.../Acquire/WAN'):
// HTTP, Dispatch, Auth, AccountInfo, Keys, Faults, Acquire, Specific,
// Release, Renew, Credits, Client, Restart, Selection, Expiry,
// AccountChanges and Sampling. At the end it logs a summary: passed, failed, skipped and
// warned checks per area, the failed checks, and why each skipped check was
// skipped.
//
// # Reports, and runs without go test
//
// A run can also leave a report to hand on (Report): one self-contained
// HTML page (the target, every check with its result and why, the fault
// codes and strings the target answered each check with, the totals) and
// a JUnit XML file for CI systems. Under go test, set Target.ReportDir
// (CLEARINGHOUSE_REPORT_DIR for TargetFromEnv) and Run writes both there.
//
// Check runs the same checks without go test and returns the Report; the
// command cmd/conformance is built on it:
//
//	go run github.com/seattletestbed/clearinghouse-go/cmd/conformance@latest -html report.html -junit report.xml
//
// The checks are written against T, the part of *testing.T they use: Run
// hands them the test's *testing.T through an adapter, Check its own
// runner, which gives FailNow, SkipNow, Cleanup, Context and subtests the
// meaning package testing gives them.
//
// # What runs where
//
// Read-only checks (authentication, the handle faults, result shapes) run
// against every target. Checks that acquire vessels run only when
// Target.AllowAcquire is at least the number of vessels they hold at
// once; a read-only target (0) skips them. So do the checks of
// acquire_resources faults (a malformed rspec, a count of 0, an unknown
// type): a lenient server could turn any such call into an acquisition,
// so each claims a vessel of budget too (see Live safety). Checks
// that need to set the clock, build a node population, create accounts
// with chosen credits or inject failures need Target.Controls, which only
// a mock has (NewHTTPControls, or package conformance/mockcontrols in
// process). Checks of the contract's mock decisions and of §14 run only
// when Target.Mock is set. Checks that change an account for good
// (regenerate_api_key, set_public_key) run on accounts the suite creates
// when there are Controls, and otherwise only with
// Target.AllowAccountChanges.
//
// With Controls that can freeze the clock (TimeScaler) the Expiry/Exact...
// checks stop it and check leases, expires_in_seconds and the cleanup
// delay to the second, at their boundaries. With Target.Restart and
// Target.Kill the Restart area restarts the target gracefully and kills
// it (SIGKILL for a process) after each kind of change, checking that
// every change survived. Properties that one sample cannot show (the
// range of user ports, the alphabets of API keys and of the encrypted
// key's padding) are checked over enough samples that a conforming
// server fails with a probability each check states, at most 5.1e-7.
//
// # Live safety
//
// The suite has no default endpoint: a Target without a URL fails at once.
// It never prints an API key, password, private key or admin token: every
// message is redacted before it is logged, and every text of a Report,
// whatever the server sent, before it is written. Redaction finds a secret
// in any form the suite's outputs give it (Go-quoted, JSON, HTML, XML,
// URL-escaped, any ASCII case), whole or cut where a message was cut;
// keys, tokens and private keys also in pieces (8 bytes, or 16 digits of a
// private key's numbers), so that the values the suite derives from a key
// (a character cut, the case swapped) go too. Every text it prints,
// whoever wrote it, shows control characters (but tab and line feed),
// bidirectional controls and bytes that are not UTF-8 escaped (\x1b, \r,
// \u202e, \xff): a server cannot drive a terminal, or rewrite a line of
// the summary, through what it sends.
//
// Target.AllowAcquire is a promise to the operator about their credits:
// the suite never holds more vessels than it allows, at any instant, on
// the server, whatever the server or the network does:
//
//   - Every call that may give vessels claims budget before it is made:
//     what it asks for, and at least one vessel for any acquire_resources
//     call with the account's own credentials, whatever its rspec. A
//     read-only run makes no such call at all. Calls that cannot acquire
//     are still made: those whose credentials fail, and
//     acquire_specific_vessels calls naming no vessel the server has.
//   - Every vessel an answer carries is recorded as it arrives, and
//     released again when its check ends (even when the check fails) or at
//     the end of the run. A call that must fail but succeeds fails its
//     check ("acquired 1 vessel where a fault was required; released it"),
//     and what it gave is released at once.
//   - When the outcome of such a call is unknown (the connection was
//     reset, the answer was cut short or came too late, the run stopped
//     mid-call), the suite looks (get_resource_info) before it goes on,
//     adopts every vessel that appeared, counts it against the budget and
//     releases it; the run's log says so for every answer lost. When it
//     cannot look, it acquires nothing more in the run, and looks again at
//     cleanup.
//   - The vessels each account held before the run are listed at the
//     start and never counted, adopted or released: the suite releases
//     only what it acquired itself. A later listing that leaves one out
//     does not change that (listings may drop entries), and at cleanup
//     the suite also releases its own vessels that the last listing left
//     out. If it cannot list an account at the start, it acquires nothing
//     for that account.
//
// The bound is on what the suite asks for. A server that hands out more
// than it was asked (five vessels for a request of one), or acts on a call
// whose credentials are wrong, can exceed it until that call's answer
// arrives: the suite then releases those vessels at once and fails the
// check.
// An account that someone else uses during the run is out of scope: what
// they acquire after a lost answer looks like the suite's and is released,
// and what they release is no longer counted.
//
// # Bounded time
//
// Every call is bounded by Target.CallTimeout (DefaultCallTimeout, 30 s).
// When the target does not answer its first call (no connection, or
// nothing within the call timeout), the run does not start; when it stops
// answering later, NoAnswerLimit calls in a row, the run stops, and the
// error says "the target did not answer" with its URL and the cause. When
// the run stops so, or Check's context ends, the calls in flight are
// abandoned at once and no other check starts; the cleanups then look at
// what an abandoned acquisition may have taken and release what the suite
// holds, within the call timeout per call and 5 s in all.
//
// # Fault strings
//
// Fault codes are always checked exactly. Fault strings are checked
// exactly wherever the contract fixes them; with Target.RelaxStrings a
// string that differs is reported as a warning (a log line starting with
// "WARNING") and the check counts as warned in the summary, not passed.
package conformance
