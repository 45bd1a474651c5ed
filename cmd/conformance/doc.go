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
//	-creds FILE    the target is the mock of this creds file; the environment is not read
//	-html FILE     write the HTML report (one self-contained page) to FILE
//	-junit FILE    write the JUnit XML report to FILE
//	-run REGEXP    run only the checks REGEXP selects, as go test -run: Area or Area/Check
//	-v             print each check as it runs, and its messages, on stderr
//	-name LABEL    call the target LABEL in the summary and the reports
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
// On SIGINT or SIGTERM the run stops: the check running goes on to its end
// (cutting an acquisition short could leave a vessel held that the suite
// does not know of), no new check starts, and the suite releases every
// vessel it acquired before it writes the reports. A second signal ends
// the command at once.
//
// Exit status:
//
//	0  every check that ran passed (skipped and warned checks do not fail a run)
//	1  the suite ran and found failures: a check failed, or a cleanup did
//	2  the command line is wrong: an unknown flag, an argument, a -run
//	   pattern that does not compile
//	3  the suite could not run or did not finish: no target configured, a
//	   creds file or key it could not read, an API key it could not fetch,
//	   a signal; or a report could not be written
package main
