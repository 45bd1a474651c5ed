package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/redact"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		// After the first signal, the next one kills the process at once
		// (the command is winding up; a second Ctrl-C means "now").
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}
	return a.main(ctx, args)
}

// app is one invocation: its streams, its environment and its flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// statusEvery is how often keep redraws its status line on a
	// terminal (default one second).
	statusEvery time.Duration
	// ttyOverride, when set, says whether stdout is a terminal.
	ttyOverride *bool

	g   globalOpts
	o   cmdOpts
	cmd *command
	set *settings // resolved on first use

	passwords []string         // typed or piped, for redaction
	red       *redact.Redactor // for the secrets of set and passwords, made on first use
}

// cmdOpts are the flags of the subcommands; each registers the ones it
// takes.
type cmdOpts struct {
	wide          bool
	all           bool
	file          string
	passwordStdin bool
	margin        time.Duration
	replace       string
	checkEvery    time.Duration
}

// command is a subcommand.
type command struct {
	name    string
	args    string // the arguments in the usage line
	summary string // one line for the command list
	help    string // the description and examples of `COMMAND --help`
	flags   func(fs *flag.FlagSet, o *cmdOpts)
	// run is the command's method on *app, such as (*app).runList.
	run func(a *app, ctx context.Context, args []string) error
}

func (a *app) main(ctx context.Context, args []string) int {
	a.g = defaultGlobalOpts()
	top := flag.NewFlagSet("clearinghouse", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	a.g.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.topHelp(a.stdout)
			return exitOK
		}
		if e := flagValueError(top); e != nil {
			err = e
		}
		a.g.json = a.g.json || wantsJSON(args)
		return a.usageFail(withHint(err, "run `clearinghouse --help` for usage"))
	}
	rest := top.Args()
	if len(rest) == 0 {
		a.topHelp(a.stderr)
		if a.g.json {
			a.writeJSONError(usageErr("run `clearinghouse --help` for usage", "no command given"))
		}
		return exitUsage
	}
	name := rest[0]
	if name == "help" {
		return a.helpCommand(rest[1:])
	}
	cmd := lookup(name)
	if cmd == nil {
		return a.usageFail(usageErr("run `clearinghouse --help` for the list of commands", "unknown command %q", name))
	}
	a.cmd = cmd
	fs := flag.NewFlagSet("clearinghouse "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.g.register(fs)
	if cmd.flags != nil {
		cmd.flags(fs, &a.o)
	}
	pos, err := parseInterspersed(fs, rest[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.commandHelp(a.stdout, cmd)
			return exitOK
		}
		a.g.json = a.g.json || wantsJSON(rest[1:])
		return a.usageFail(withHint(err, "run `clearinghouse "+name+" --help` for usage"))
	}
	err = cmd.run(a, ctx, pos)
	if err == nil {
		return exitOK
	}
	e := classify(ctx, err, a.callInfo())
	if e.code == exitUsage && e.hint == "" {
		e.hint = "run `clearinghouse " + name + " --help` for usage"
	}
	return a.fail(e)
}

// fail reports e on stderr and, with --json, as a JSON error object on
// stdout; it returns e's exit code.
func (a *app) fail(e *cliError) int {
	report(a.stderr, e, a.clean)
	if a.g.json {
		a.writeJSONError(e)
	}
	return e.code
}

// wantsJSON reports whether args, which failed to parse, ask for --json
// before any "--": the flags after the bad one were never parsed, and a
// script that asked for JSON gets its error as JSON whatever it got
// wrong.
func wantsJSON(args []string) bool {
	json := false
	for _, arg := range args {
		if arg == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || name != "json" {
			continue
		}
		json = true
		if hasValue {
			json, _ = strconv.ParseBool(value)
		}
	}
	return json
}

// withHint makes err a usage error with the hint, unless it has one.
func withHint(err error, hint string) *cliError {
	var ce *cliError
	if !errors.As(err, &ce) {
		ce = usageErr("", "%v", err)
	}
	if ce.hint == "" {
		ce.hint = hint
	}
	return ce
}

func (a *app) usageFail(e *cliError) int {
	e.code = exitUsage
	return a.fail(e)
}

func (a *app) callInfo() callInfo {
	ci := callInfo{}
	if a.cmd != nil {
		ci.cmd = a.cmd.name
		ci.password = a.cmd.name == "regenerate-api-key" || a.cmd.name == "set-public-key"
	}
	if a.set != nil {
		ci.username, ci.url, ci.keySrc = a.set.Account.Username, redactURL(a.set.URL), a.set.Account.KeySource
		ci.urlSource, ci.creds = a.set.URLSource, a.set.CredsFile
		if a.set.CAFile != "" {
			ci.caSource = a.set.CASource
		}
	}
	return ci
}

// settings resolves the configuration once and prints what it warns about.
func (a *app) settings() (*settings, error) {
	if a.set != nil {
		return a.set, nil
	}
	s, err := resolve(&a.g, a.getenv)
	if err != nil {
		return nil, err
	}
	a.set, a.red = s, nil
	for _, w := range s.Warnings {
		fmt.Fprintln(a.stderr, "clearinghouse: warning: "+w)
	}
	if a.g.verbose {
		s.printSources(a.stderr)
	}
	return s, nil
}

// client returns a client for the resolved configuration; needKey is
// false for the commands that authenticate with a password only.
func (a *app) client(needKey bool) (*clearinghouse.Client, error) {
	s, err := a.settings()
	if err != nil {
		return nil, err
	}
	return s.newClient(needKey)
}

// note prints a human-readable remark to stderr, made fit to print by
// clean: the arguments may hold what a server sent.
func (a *app) note(format string, args ...any) {
	fmt.Fprintln(a.stderr, a.clean(fmt.Sprintf(format, args...)))
}

func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (a *app) helpCommand(args []string) int {
	switch len(args) {
	case 0:
		a.topHelp(a.stdout)
		return exitOK
	case 1:
		if c := lookup(args[0]); c != nil {
			a.commandHelp(a.stdout, c)
			return exitOK
		}
		return a.usageFail(usageErr("run `clearinghouse --help` for the list of commands", "unknown command %q", args[0]))
	}
	return a.usageFail(usageErr("", "usage: clearinghouse help [COMMAND]"))
}

// printFlags lists the flags of fs that keep accepts, in --name form.
func printFlags(w io.Writer, fs *flag.FlagSet, keep func(name string) bool, extra ...[2]string) {
	var lines [][2]string
	fs.VisitAll(func(f *flag.Flag) {
		if !keep(f.Name) || f.Name == "v" {
			return
		}
		arg, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if f.Name == "verbose" {
			left = "-v, --verbose"
		}
		if arg != "" {
			left += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			usage += " (default " + f.DefValue + ")"
		}
		lines = append(lines, [2]string{left, usage})
	})
	lines = append(lines, extra...)
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
}

func (a *app) topHelp(w io.Writer) {
	fmt.Fprint(w, `clearinghouse leases and manages vessels on a Seattle Clearinghouse.

Usage:
  clearinghouse [flags] COMMAND [flags] [arguments]

Commands:
`)
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name+" "+c.args))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, "help [COMMAND]", "show the help of a command")
	fmt.Fprint(w, "\nFlags (accepted before or after the command):\n")
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	g := defaultGlobalOpts()
	g.register(fs)
	printFlags(w, fs, func(string) bool { return true }, [2]string{"-h, --help", "show this help (COMMAND --help: that command's)"})
	fmt.Fprint(w, `
Credentials and endpoint, highest precedence first:
  1. flags       --url, --user, --api-key-file, --private-key-file, --ca-file
  2. environment CLEARINGHOUSE_URL, CLEARINGHOUSE_USERNAME, CLEARINGHOUSE_API_KEY,
                 CLEARINGHOUSE_PRIVATE_KEY_FILE, CLEARINGHOUSE_CA_FILE
  3. creds file  a mock's -creds-out file: --creds FILE or CLEARINGHOUSE_CREDS_FILE;
                 --account picks the account (default: the one named by --user or
                 CLEARINGHOUSE_USERNAME, else the first)
  The API key and the private key are taken together from the first level that
  has either. Without an API key the private key fetches it from the
  clearinghouse. There is no --api-key flag on purpose: a flag's value is
  visible to every user of the machine in the process list; put the key in
  CLEARINGHOUSE_API_KEY or in a file for --api-key-file (mode 600).
  Passwords (regenerate-api-key, set-public-key) are read from the terminal
  without echo, or from stdin with --password-stdin, never from a flag.
  Without any URL, the public clearinghouse is used:
  `+clearinghouse.DefaultURL+`

Exit codes:
`+exitCodeTable+`
  With --json, a failing command also prints {"error", "kind", "exit",
  "hint"} on one line of stdout; kind is the word beside the exit code.

Examples:
  mockclearinghouse -tls -creds-out /tmp/creds.json &   # go install ./cmd/... builds it
  export CLEARINGHOUSE_CREDS_FILE=/tmp/creds.json
  clearinghouse account
  clearinghouse acquire wan 3
  clearinghouse list
  clearinghouse keep                 # renew everything until Ctrl-C
  clearinghouse release --all
  CLEARINGHOUSE_URL=https://ch.example.org/xmlrpc/ CLEARINGHOUSE_USERNAME=alice \
    CLEARINGHOUSE_API_KEY=$(cat ~/.clearinghouse-key) clearinghouse list --json
`)
}

func (a *app) commandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: clearinghouse %s [flags]", c.name)
	if c.args != "" {
		fmt.Fprintf(w, " %s", c.args)
	}
	fmt.Fprintf(w, "\n\n%s", c.help)
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	var o cmdOpts
	if c.flags != nil {
		c.flags(fs, &o)
	}
	own := false
	fs.VisitAll(func(*flag.Flag) { own = true })
	if own {
		fmt.Fprint(w, "\nFlags:\n")
		printFlags(w, fs, func(name string) bool { return !globalFlagNames[name] }, [2]string{"-h, --help", "show this help"})
	}
	fmt.Fprint(w, "\nThe global flags (--url, --user, --creds, --account, --api-key-file,\n"+
		"--private-key-file, --ca-file, --insecure, --timeout, --json, -v) work here\n"+
		"too; see `clearinghouse --help` for them, the environment variables and\n"+
		"the exit codes.\n")
}

// commands lists the subcommands in the order --help shows them.
func commands() []*command {
	return slices.Clone(commandList[:])
}

var commandList = [...]*command{
	accountCmd, listCmd, acquireCmd, acquireSpecificCmd, renewCmd, releaseCmd, keepCmd,
	publicKeyCmd, regenerateCmd, setPublicKeyCmd,
}
