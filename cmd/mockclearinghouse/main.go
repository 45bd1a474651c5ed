// Command mockclearinghouse runs a mock Seattle Clearinghouse on your own
// machine: the XML-RPC API at /xmlrpc/ with a simulated node population,
// demo accounts, credits and expiry.
//
//	go run ./cmd/mockclearinghouse                 # http://127.0.0.1:8421/xmlrpc/
//	go run ./cmd/mockclearinghouse -tls -creds-out creds.json -state mock.state
//
// It prints the endpoint and the demo accounts' credentials on start, and
// with -creds-out writes them as JSON for programs to read. It stops
// cleanly on SIGINT or SIGTERM, with the state file flushed; a signal during
// start-up (building a large population, creating demo accounts) stops it
// too.
//
// With -nodemanagers every reachable node answers the node manager
// protocol on loopback (docs/nodemanager-api.md §8), and the banner says
// where; -nodemanager-disk caps what their files and logs may hold.
//
// With -faults or -faults-spec it injects faults into XML-RPC calls, and
// with rules named nm:Call into node manager requests (see the mockserver
// package documentation for the profile format). On
// shutdown it prints the behaviour report — leaked vessels, missed
// renewals, renewal storms, duplicate acquisitions, repeated
// authentication failures, malformed arguments — to stderr, and with
// -report-out writes it as JSON.
//
// The files the flags name (-faults, -admin-token-file, -tls-cert,
// -tls-key) are read before start-up begins, each only if it is a
// regular file and within a limit for its kind (internal/safefile: a
// token 8 KiB, a key 64 KiB, a fault profile 1 MiB, certificates 4 MiB);
// -state, if it exists, must be a regular file (not a symbolic link).
//
// Exit status: 0 after a signal while serving, or -h; 2 for a usage error
// (an unknown flag, a value out of range, flags that do not go together, a
// bad fault profile, a file flag naming a file that cannot be read, is
// not a regular file or is over its limit, a -tls-cert/-tls-key pair that
// does not parse: the message names the flag); 3 at shutdown when -report-strict is given and the
// behaviour report has findings (so that a CI job fails on a leak); 1 for
// any other failure, including a signal during start-up, a state file
// that another mock holds (under any name: the message gives its process
// ID where the system tells), and a damaged state file (the message names
// the record and its byte offset; the file is left as it is).
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "mockclearinghouse:", err)
	os.Exit(exitStatus(err))
}

// exitStatus is the exit status for an error of run (see the package
// documentation).
func exitStatus(err error) int {
	switch {
	case isUsageError(err):
		return 2
	case isFindingsError(err):
		return exitFindings
	}
	return 1
}

// maxAccounts bounds -accounts. Each demo account gets a fresh 1024-bit
// RSA key pair, about 10 ms each (measured), so 1000 take about 10 s. The
// other flags' bounds are the mock server's (mockserver.MaxPopulation,
// MaxTimeScale, MaxCleanupDelay).
const maxAccounts = 1000

// usageError is an error in the command line: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

func isUsageError(err error) bool {
	var ue *usageError
	return errors.As(err, &ue)
}

type options struct {
	addr         string
	nodes        int
	natFraction  float64
	seed         int64
	accounts     int
	credsOut     string
	state        string
	cleanupDelay time.Duration
	timeScale    float64
	failureRate  float64
	tls          bool
	tlsCert      string
	tlsKey       string
	admin        bool
	logLevel     slog.Level

	// The simulated node managers.
	nodeManagers bool
	nmDiskMiB    int64

	// The admin API's guard (admin.go).
	adminToken     string
	adminTokenFile string
	adminHosts     string

	// Faults and the behaviour report (report.go).
	faultsFile   string
	faultsSpec   string
	reportOut    string
	reportStrict bool
	faults       mockserver.FaultProfile
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("mockclearinghouse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8421", "`address` to listen on (127.0.0.1:0 picks a free port)")
	fs.IntVar(&o.nodes, "nodes", mockserver.DefaultPopulation().Nodes, fmt.Sprintf("number of simulated nodes, 0 to %d", mockserver.MaxPopulation))
	fs.Float64Var(&o.natFraction, "nat-fraction", mockserver.DefaultPopulation().NATFraction, "share of nodes behind NAT, 0 to 1")
	fs.Int64Var(&o.seed, "seed", mockserver.DefaultPopulation().Seed, "seed of the population and the random source")
	fs.IntVar(&o.accounts, "accounts", 1, fmt.Sprintf("number of demo accounts to have, 0 to %d", maxAccounts))
	fs.StringVar(&o.credsOut, "creds-out", "", "write the URL, CA file and demo credentials as JSON to `file` once listening")
	fs.StringVar(&o.state, "state", "", "keep state in `file` across restarts (every change is durable before it is answered)")
	fs.DurationVar(&o.cleanupDelay, "cleanup-delay", 5*time.Second, fmt.Sprintf("how long released or expired vessels stay dirty, 0 (at once) to %v", mockserver.MaxCleanupDelay))
	fs.Float64Var(&o.timeScale, "time-scale", 1, fmt.Sprintf("run the mock clock this many times faster than real time, 0 (frozen) to %d", mockserver.MaxTimeScale))
	fs.Float64Var(&o.failureRate, "acquire-failure-rate", 0, "probability that acquiring a vessel on a node fails, 0 to 1")
	fs.BoolVar(&o.tls, "tls", false, "serve HTTPS with a freshly generated CA, written next to the creds file")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this certificate `file` (PEM) instead")
	fs.StringVar(&o.tlsKey, "tls-key", "", "private key `file` (PEM) for -tls-cert")
	fs.BoolVar(&o.admin, "admin", false, "enable the JSON controls under /admin/")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	fs.BoolVar(&o.nodeManagers, "nodemanagers", false, "put a node manager behind every reachable node, on loopback (node_ip moves into 127.0.0.0/8)")
	fs.Int64Var(&o.nmDiskMiB, "nodemanager-disk", mockserver.DefaultNodeManagerDisk>>20,
		fmt.Sprintf("`MiB` that the node managers' files and logs may hold together, 1 to %d", mockserver.MaxNodeManagerDisk>>20))
	adminFlags(fs, o)
	faultFlags(fs, o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{err} // the flag package has printed the usage
	}
	switch {
	case fs.NArg() > 0:
		return nil, usagef("unexpected arguments %q", fs.Args())
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return nil, usagef("-tls-cert and -tls-key go together")
	case o.tls && o.tlsCert != "":
		return nil, usagef("-tls generates a certificate; do not combine it with -tls-cert")
	}
	if err := o.checkRanges(); err != nil {
		return nil, err
	}
	var err error
	if o.faults, err = o.faultProfile(); err != nil {
		return nil, err
	}
	return o, nil
}

// between is the usage error for flag -name's value v outside [lo, hi], or
// nil.
func between[T int | float64](name string, v, lo, hi T) error {
	if !(v >= lo && v <= hi) { // false for NaN too
		return usagef("-%s %v: must be between %v and %v", name, v, lo, hi)
	}
	return nil
}

// checkRanges checks every numeric flag, and the form of -addr, against
// the bounds the mock server enforces too.
func (o *options) checkRanges() error {
	for _, err := range []error{
		between("nodes", o.nodes, 0, mockserver.MaxPopulation),
		between("accounts", o.accounts, 0, maxAccounts),
		between("nat-fraction", o.natFraction, 0, 1),
		between("time-scale", o.timeScale, 0, mockserver.MaxTimeScale),
		between("acquire-failure-rate", o.failureRate, 0, 1),
	} {
		if err != nil {
			return err
		}
	}
	if o.nmDiskMiB < 1 || o.nmDiskMiB > mockserver.MaxNodeManagerDisk>>20 {
		return usagef("-nodemanager-disk %d: must be between 1 and %d", o.nmDiskMiB, mockserver.MaxNodeManagerDisk>>20)
	}
	if o.cleanupDelay < 0 || o.cleanupDelay > mockserver.MaxCleanupDelay {
		return usagef("-cleanup-delay %v: must be between 0s and %v", o.cleanupDelay, mockserver.MaxCleanupDelay)
	}
	_, port, err := net.SplitHostPort(o.addr)
	if err != nil {
		return usagef("-addr %s: must be host:port (%v)", o.addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return usagef("-addr %s: port must be a number between 0 and 65535", o.addr)
	}
	return nil
}

// run is the whole command, for tests: it serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	adminToken, adminHosts, err := o.adminSettings()
	if err != nil {
		return err
	}
	// Every file a flag names is looked at before anything slow starts
	// (a large population, many demo accounts), so that a wrong one is a
	// usage error at once.
	var certTLS *tls.Config
	if o.tlsCert != "" {
		if certTLS, err = fileTLS(o.tlsCert, o.tlsKey); err != nil {
			return err
		}
	}
	if err := checkStatePath(o.state); err != nil {
		return err
	}

	// ctx is the signals': a SIGINT or SIGTERM while the population is
	// built, the state file replayed or the accounts created stops it.
	// (Tests wait for these debug lines before they signal.)
	logger.Debug("starting up", "nodes", o.nodes, "state", o.state)
	mock, err := mockserver.Open(ctx, o.state,
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: o.nodes, NATFraction: o.natFraction, Seed: o.seed}),
		mockserver.WithSeed(o.seed),
		mockserver.WithCleanupDelay(o.cleanupDelay),
		mockserver.WithTimeScale(o.timeScale),
		mockserver.WithAcquireFailureRate(o.failureRate),
		mockserver.WithAdmin(o.admin),
		mockserver.WithLogger(logger),
		mockserver.WithAdminToken(adminToken),
		mockserver.WithAdminHosts(adminHosts...),
		mockserver.WithFaults(o.faults),
		mockserver.WithNodeManagers(o.nodeManagers),
		mockserver.WithNodeManagerDisk(o.nmDiskMiB<<20),
	)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted while starting: %w", ctx.Err())
		}
		return err
	}
	defer mock.Close()
	logger.Debug("creating demo accounts", "accounts", o.accounts)
	if err := ensureDemoAccounts(ctx, mock, o.accounts); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mock,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	scheme, caFile := "http", ""
	switch {
	case o.tls:
		dir := filepath.Dir(o.credsOut)
		if o.credsOut == "" {
			if dir, err = os.MkdirTemp("", "mockclearinghouse-"); err != nil {
				ln.Close()
				return err
			}
		}
		// The creds file names the CA file by an absolute path: readers
		// resolve a relative one against the creds file's directory, not
		// against this working directory.
		if dir, err = filepath.Abs(dir); err != nil {
			ln.Close()
			return err
		}
		caFile = filepath.Join(dir, "mockclearinghouse-ca.pem")
		cfg, err := selfSignedTLS(caFile)
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = cfg
		ln, scheme = tls.NewListener(ln, cfg), "https"
	case certTLS != nil:
		srv.TLSConfig = certTLS
		ln, scheme = tls.NewListener(ln, certTLS), "https"
	}
	url := scheme + "://" + hostPort(ln.Addr()) + "/xmlrpc/"

	creds := credsfile.File{URL: url, CAFile: caFile, AdminToken: adminToken, Accounts: demoCredentials(mock)}
	if o.admin {
		creds.AdminURL = strings.TrimSuffix(url, "xmlrpc/") + "admin/"
	}
	if o.credsOut != "" {
		if err := credsfile.Write(o.credsOut, &creds); err != nil {
			ln.Close()
			return err
		}
	}
	printBanner(stdout, creds, o)
	if nm, err := mock.NodeManagers(); err == nil && nm.Note != "" {
		fmt.Fprintf(stdout, "Node managers: %s\n", nm.Note)
	}
	if o.admin {
		warnAdminExposure(stdout, logger, ln.Addr(), adminToken != "")
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	// End injected delays, which Shutdown would otherwise wait for.
	_ = mock.SetFaults(mockserver.FaultProfile{}) // fails only after Close
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	rerr := finishReport(mock, o, stderr)
	if err := mock.Close(); err != nil {
		return err
	}
	return rerr
}

// checkStatePath refuses, as a usage error, a -state path that exists
// and is not a regular file. The mock server refuses such a path too, but
// only after it has created its lock file beside it (in /dev, for
// -state /dev/zero).
func checkStatePath(path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return usagef("-state: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return usagef("-state %s: a symbolic link; give the path of the state file itself", path)
	case !fi.Mode().IsRegular():
		return usagef("-state %s: %w (%s)", path, safefile.ErrNotRegular, safefile.Kind(fi.Mode()))
	}
	return nil
}

// demoPrefix names the demo accounts: demo1, demo2, ...
const demoPrefix = "demo"

// ensureDemoAccounts adds demo accounts until there are n of them. A state
// file may already hold some; their credentials are kept. It stops when
// ctx is done.
func ensureDemoAccounts(ctx context.Context, mock *mockserver.Server, n int) error {
	for i := 1; i <= n; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted while creating demo accounts: %w", err)
		}
		name := demoPrefix + strconv.Itoa(i)
		if _, err := mock.Account(name); err == nil {
			continue
		}
		if _, err := mock.AddAccount(mockapi.AccountSpec{
			Username:    name,
			Password:    randomPassword(),
			Affiliation: "Mock Clearinghouse demo account",
		}); err != nil {
			return fmt.Errorf("adding demo account %s: %w", name, err)
		}
	}
	return nil
}

func demoCredentials(mock *mockserver.Server) []credsfile.Account {
	var out []credsfile.Account
	for i := 1; ; i++ {
		a, err := mock.Account(demoPrefix + strconv.Itoa(i))
		if err != nil {
			return out
		}
		out = append(out, credsfile.Account{Username: a.Username, Password: a.Password, APIKey: a.APIKey, PublicKey: a.PublicKey, PrivateKey: a.PrivateKey})
	}
}

func randomPassword() string {
	b := make([]byte, 12)
	rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func hostPort(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return net.JoinHostPort(ta.IP.String(), strconv.Itoa(ta.Port))
	}
	return a.String()
}

func printBanner(w io.Writer, c credsfile.File, o *options) {
	fmt.Fprintf(w, "Mock Seattle Clearinghouse listening at %s\n", c.URL)
	fmt.Fprintf(w, "Status page: %s\n", strings.TrimSuffix(c.URL, "xmlrpc/"))
	if c.CAFile != "" {
		fmt.Fprintf(w, "CA certificate: %s\n", c.CAFile)
	}
	if o.admin {
		fmt.Fprintf(w, "Admin controls: %s%s\n", c.AdminURL, adminTokenNote(c.AdminToken, o.credsOut != ""))
	}
	if o.credsOut != "" {
		fmt.Fprintf(w, "Credentials written to %s\n", o.credsOut)
	}
	if p := o.faults.String(); p != "" {
		fmt.Fprintf(w, "Injecting faults: %s\n", p)
	}
	fmt.Fprintln(w, "Demo accounts (this is a mock; these are not real credentials):")
	for _, a := range c.Accounts {
		fmt.Fprintf(w, "  username %s  password %s  api_key %s\n", a.Username, a.Password, a.APIKey)
	}
}
