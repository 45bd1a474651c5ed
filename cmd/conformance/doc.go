// Command conformance checks a Seattle Clearinghouse XML-RPC endpoint
// against the contract, with the checks of package conformance, and
// writes a report to hand on. It needs no checkout:
//
//	export CLEARINGHOUSE_URL=https://clearinghouse.example.org/xmlrpc/
//	export CLEARINGHOUSE_USERNAME=alice CLEARINGHOUSE_API_KEY=...
//	go run github.com/seattletestbed/clearinghouse-go/cmd/conformance@latest -html report.html -junit report.xml
//
//	# a mock started with mockclearinghouse -creds-out creds.json
//	go run github.com/seattletestbed/clearinghouse-go/cmd/conformance@latest -creds creds.json -html report.html
//
// The target comes from the CLEARINGHOUSE_* environment variables, read
// as conformance.TargetFromEnv reads them (the same variables as the
// clearinghouse command's; CLEARINGHOUSE_ALLOW_ACQUIRE=N lets the suite
// hold up to N vessels at once, 0 by default: read-only), or with -creds
// from a creds file alone (conformance.TargetFromCredsFile: a mock, which
// the suite may hold up to 100 vessels of).
//
// Flags:
//
//	-creds FILE       the target is the mock of this creds file; the environment is not read
//	-html FILE        write the HTML report (one self-contained page) to FILE
//	-junit FILE       write the JUnit XML report to FILE
//	-run REGEXP       run only the checks REGEXP selects, as go test -run: Area or Area/Check
//	-v                print each check as it runs, and its messages, on stderr
//	-name LABEL       call the target LABEL in the summary and the reports
//	-call-timeout D   give up on a call that has no answer after D (default 30s)
//	-timeout D        stop the run after D, releasing what it holds (default 30m; 0: none)
//
// It prints a summary on stdout: per area the checks passed, failed,
// skipped and warned, then the failed checks with their first message and
// the skipped ones with why. The reports are written whatever the checks
// find, and when the suite could not start (they then say why), but not
// when the command line or the target's settings are wrong. No secret (API
// key, password, private key, admin token) appears in them or in the
// output: whatever the server sends, they are replaced by [REDACTED], in
// any form (quoted, escaped, another case) and in pieces (a key cut by a
// message's clip, with a character missing). No control character, bidi
// control or invalid byte a server sends reaches the terminal or a report
// either: the summary, the -v log, the error printed and the reports show
// them escaped (\x1b, \r, \u202e, \xff).
//
// CLEARINGHOUSE_ALLOW_ACQUIRE=N is a promise about the account's credits:
// the suite never holds more than N vessels at once, on the server, even
// when answers are lost (it looks at the account's vessels after every
// acquisition whose answer did not arrive whole, and counts and releases
// what appeared), and it releases only what it acquired itself, never the
// vessels the account held before the run. A read-only run (N = 0) makes no
// acquire_resources call with the account's credentials. The limits of
// that promise (a server that hands out more than it is asked, an account
// someone else uses during the run) are in the package documentation of
// conformance.
//
// The run's time is bounded. Each call gets at most -call-timeout. When
// the target does not answer the first call (no connection, or nothing
// within -call-timeout), or 3 calls in a row later, the run stops with one
// line, "the target did not answer: URL: cause", and exit status 3. On
// -timeout, SIGINT or SIGTERM the run stops too: the call in flight is
// abandoned at once, no new check starts, and the suite looks at what an
// abandoned acquisition may have taken and releases every vessel it holds
// (within a few seconds in all) before it writes the reports. A second
// signal ends the command at once.
//
// Exit status:
//
//	0  every check that ran passed (skipped and warned checks do not fail a run)
//	1  the suite ran and found failures: a check failed, or a cleanup did
//	2  the command line is wrong: an unknown flag, an argument, a -run
//	   pattern that does not compile; or a file named by -creds or a
//	   CLEARINGHOUSE_* variable is not a regular file (a directory, a
//	   named pipe, a device such as /dev/zero) or is over its limit (a
//	   creds file 16 MiB, a key 64 KiB, CA certificates 4 MiB), refused
//	   before the suite starts
//	3  the suite could not run or did not finish: no target configured, a
//	   creds file or key it could not read (missing, say), an API key it
//	   could not fetch, a target that did not answer, -timeout, a signal;
//	   or a report could not be written
package main
