package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/internal/atomicfile"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
)

// Exit statuses (see the package documentation).
const (
	exitPassed = 0
	exitFailed = 1
	exitUsage  = 2
	exitNotRun = 3
)

const programName = "conformance"

// defaultDeadline is -timeout's default: a full run against the mock
// takes seconds, a read-only one against a deployment a few minutes.
const defaultDeadline = 30 * time.Minute

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the command at once
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	code := exitCode(err)
	var ue *usageError
	if code != exitPassed && !errors.Is(err, errFailed) && !(errors.As(err, &ue) && ue.shown) {
		// The package's errors already start with "conformance: ", and
		// show what a server sent escaped; escape anyway, as every
		// printer of server text does.
		msg := textclip.Escape(err.Error())
		if !strings.HasPrefix(msg, programName+": ") {
			msg = programName + ": " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(code)
}

// errFailed is the outcome of a run that found failures.
var errFailed = errors.New("the target failed the conformance suite")

// usageError is an error in the command line; shown when the flag
// package has printed it already.
type usageError struct {
	msg   string
	shown bool
}

func (e *usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitPassed
	case errors.Is(err, errFailed):
		return exitFailed
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, safefile.ErrNotRegular), errors.Is(err, safefile.ErrTooLarge):
		// A file named by -creds or a variable is not one to read.
		return exitUsage
	default:
		return exitNotRun
	}
}

// run is the command: it parses args, runs the suite and writes the
// reports. It returns nil when every check passed, errFailed when the
// suite found failures, a *usageError for a wrong command line, and any
// other error when the suite could not run or a report could not be
// written.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(programName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	creds := fs.String("creds", "", "the target is the mock of this creds `file` (mockclearinghouse -creds-out); the environment is not read")
	htmlOut := fs.String("html", "", "write the HTML report to `file`")
	junitOut := fs.String("junit", "", "write the JUnit XML report to `file`")
	pattern := fs.String("run", "", "run only the checks `regexp` selects, as go test -run: Area or Area/Check")
	verbose := fs.Bool("v", false, "print each check as it runs, and its messages, on stderr")
	name := fs.String("name", "", "call the target `label` in the summary and the reports (default: \"deployment\", or \"mock from FILE\")")
	callTimeout := fs.Duration("call-timeout", conformance.DefaultCallTimeout, "give up on a call that has no answer after `duration`")
	deadline := fs.Duration("timeout", defaultDeadline, "stop the run after `duration`, releasing what it holds (0: no deadline)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: conformance [flags]

Checks the clearinghouse that the CLEARINGHOUSE_* environment variables
name (CLEARINGHOUSE_URL, CLEARINGHOUSE_USERNAME, CLEARINGHOUSE_API_KEY, ...;
CLEARINGHOUSE_ALLOW_ACQUIRE=N to let it hold N vessels), or the mock of a
creds file, against the contract, and prints a summary.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), `
The run stops early, with exit status 3, when the target does not answer
its first call, or %d calls in a row, within -call-timeout; on -timeout;
and on SIGINT or SIGTERM. It then abandons the call in flight, releases
what it holds (within a few seconds) and writes the reports.

Exit status: 0 passed, 1 failures found, 2 usage error, 3 could not run
or did not finish (or a report could not be written).
`, conformance.NoAnswerLimit)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error(), shown: true}
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q: the command takes flags only (see -h)", fs.Arg(0))}
	}
	if *callTimeout <= 0 || *deadline < 0 {
		return &usageError{msg: "-call-timeout must be positive, and -timeout 0 or more"}
	}

	opts := []conformance.CheckOption{conformance.WithMatch(*pattern)}
	if *verbose {
		opts = append(opts, conformance.WithLog(stderr))
	}
	tg, err := target(*creds)
	if err != nil {
		return err
	}
	if *name != "" {
		tg.Name = *name
	}
	tg.CallTimeout = *callTimeout
	if *deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, *deadline, fmt.Errorf("the run's deadline (-timeout %v) passed", *deadline))
		defer cancel()
	}
	rep, err := conformance.Check(ctx, tg, opts...)
	if rep == nil {
		// Only an option can be wrong here: the -run pattern.
		return &usageError{msg: err.Error()}
	}
	runErr := err
	if err := rep.WriteSummary(stdout); err != nil {
		return err
	}
	for _, out := range []struct {
		path  string
		what  string
		write func(io.Writer) error
	}{{*htmlOut, "HTML report", rep.WriteHTML}, {*junitOut, "JUnit report", rep.WriteJUnit}} {
		if out.path == "" {
			continue
		}
		var buf bytes.Buffer
		if err := out.write(&buf); err != nil {
			return err
		}
		if err := atomicfile.Write(out.path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing the %s: %v", out.what, err)
		}
		fmt.Fprintf(stdout, "%s: %s\n", out.what, out.path)
	}
	switch {
	case runErr != nil:
		return runErr
	case rep.Failed():
		fmt.Fprintln(stdout, "FAIL")
		return errFailed
	}
	fmt.Fprintln(stdout, "PASS")
	return nil
}

// target reads the target from a creds file, or else the environment.
func target(creds string) (conformance.Target, error) {
	if creds != "" {
		return conformance.TargetFromCredsFile(creds)
	}
	tg, ok, err := conformance.TargetFromEnv()
	if err != nil {
		return conformance.Target{}, err
	}
	if !ok {
		return conformance.Target{}, fmt.Errorf("no target: set %s (with %s and %s or %s) or %s, or give -creds FILE",
			conformance.EnvURL, conformance.EnvUsername, conformance.EnvAPIKey, conformance.EnvPrivateKeyFile, conformance.EnvCredsFile)
	}
	return tg, nil
}
