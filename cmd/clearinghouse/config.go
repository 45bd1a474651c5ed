package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/chconfig"
)

// globalOpts are the flags every subcommand accepts, before or after its
// name. An empty string means "not given", so that the environment and the
// creds file can fill in.
type globalOpts struct {
	url            string
	user           string
	apiKeyFile     string
	privateKeyFile string
	caFile         string
	creds          string
	account        string
	insecure       bool
	timeout        time.Duration
	retries        int
	json           bool
	verbose        bool
}

func defaultGlobalOpts() globalOpts {
	return globalOpts{timeout: time.Minute, retries: 2}
}

// globalFlagNames lists the flags register defines, so that a subcommand's
// help can leave them out.
var globalFlagNames = map[string]bool{
	"url": true, "user": true, "api-key-file": true, "private-key-file": true, "ca-file": true,
	"creds": true, "account": true, "insecure": true, "timeout": true, "retries": true,
	"json": true, "verbose": true, "v": true,
}

// register defines the global flags on fs, with the values already parsed
// as defaults, so that flags given before the subcommand survive parsing
// the flags given after it.
func (g *globalOpts) register(fs *flag.FlagSet) {
	fs.StringVar(&g.url, "url", g.url, "XML-RPC endpoint `URL` (env "+chconfig.EnvURL+"; default "+clearinghouse.DefaultURL+")")
	fs.StringVar(&g.user, "user", g.user, "`username` (env "+chconfig.EnvUsername+")")
	fs.StringVar(&g.apiKeyFile, "api-key-file", g.apiKeyFile, "read the API key from `file` (env "+chconfig.EnvAPIKey+" holds the key itself)")
	fs.StringVar(&g.privateKeyFile, "private-key-file", g.privateKeyFile, "Seattle private key `file`, to fetch the API key when none is given (env "+chconfig.EnvPrivateKeyFile+")")
	fs.StringVar(&g.caFile, "ca-file", g.caFile, "trust the PEM certificates in `file` as well as the system's (env "+chconfig.EnvCAFile+")")
	fs.StringVar(&g.creds, "creds", g.creds, "read URL, CA file and accounts from a mock's -creds-out `file` (env "+chconfig.EnvCredsFile+")")
	fs.StringVar(&g.account, "account", g.account, "use this `account` of the creds file: a username, or a number from 1 (default: the --user one, else the first)")
	fs.BoolVar(&g.insecure, "insecure", g.insecure, "do not verify the server's TLS certificate (tests only)")
	durationVar(fs, &g.timeout, "timeout", true, 0, "a positive duration, such as 30s, 2m or 1h30m", "give up on each call after `duration`")
	intVar(fs, &g.retries, "retries", 0, "retry read-only calls `n` times after a network failure")
	fs.BoolVar(&g.json, "json", g.json, "print JSON instead of a table")
	fs.BoolVar(&g.verbose, "verbose", g.verbose, "say on stderr where the URL and credentials came from")
	fs.BoolVar(&g.verbose, "v", g.verbose, "short for --verbose")
}

// configFlags are the flags package chconfig resolves.
func (g *globalOpts) configFlags() chconfig.Flags {
	return chconfig.Flags{
		URL: g.url, User: g.user, APIKeyFile: g.apiKeyFile, PrivateKeyFile: g.privateKeyFile,
		CAFile: g.caFile, CredsFile: g.creds, Account: g.account,
	}
}

// settings is the resolved configuration: where to connect and as whom
// (package chconfig's rule: flags, then the CLEARINGHOUSE_* variables,
// then the creds file; with where each part came from, for --verbose and
// error hints), and how.
type settings struct {
	chconfig.Config
	insecure bool
	timeout  time.Duration
	retries  int
}

// resolve applies chconfig's rule to the flags and the environment, and
// falls back to the public clearinghouse when nothing names a URL.
func resolve(g *globalOpts, getenv func(string) string) (*settings, error) {
	cfg, err := chconfig.Resolve(g.configFlags(), getenv)
	if err != nil {
		var ce *chconfig.Error
		if errors.As(err, &ce) {
			return nil, usageErr(ce.Hint, "%s", ce.Msg)
		}
		return nil, err
	}
	s := &settings{Config: *cfg, insecure: g.insecure, timeout: g.timeout, retries: g.retries}
	if s.URL == "" {
		s.URL, s.URLSource = clearinghouse.DefaultURL, "default"
	}
	return s, nil
}

// redactURL drops any user information (a password, perhaps) from a URL
// before it is shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// printSources says where each part of the configuration came from.
func (s *settings) printSources(w io.Writer) {
	fmt.Fprintf(w, "clearinghouse: URL %s (from %s)\n", redactURL(s.URL), s.URLSource)
	a := s.Account
	if a.Username != "" {
		fmt.Fprintf(w, "clearinghouse: user %s (from %s)\n", a.Username, a.UserSource)
	}
	switch {
	case a.APIKey != "":
		fmt.Fprintf(w, "clearinghouse: API key from %s\n", a.KeySource)
	case a.KeySource != "":
		fmt.Fprintf(w, "clearinghouse: no API key; fetching it with the private key from %s\n", a.KeySource)
	}
	if s.CAFile != "" {
		fmt.Fprintf(w, "clearinghouse: CA file %s (from %s)\n", s.CAFile, s.CASource)
	}
	if s.insecure {
		fmt.Fprintln(w, "clearinghouse: TLS certificate verification is OFF (--insecure)")
	}
}

// placeholderKey lets the password-only commands build a Client when no
// API key or private key is configured (New insists on one). Those calls
// authenticate with the password and never send it.
const placeholderKey = "unused-password-auth-only"

// newClient builds the client. needKey is false for the commands that
// authenticate with a password only.
func (s *settings) newClient(needKey bool) (*clearinghouse.Client, error) {
	a := s.Account
	if a.Username == "" {
		return nil, usageErr("pass --user, set "+chconfig.EnvUsername+", or use --creds with a mock's creds file", "no username")
	}
	opts := []clearinghouse.Option{
		clearinghouse.WithURL(s.URL),
		clearinghouse.WithTimeout(s.timeout),
		clearinghouse.WithRetries(s.retries, 250*time.Millisecond),
		clearinghouse.WithUserAgent("clearinghouse-cli/1 " + clearinghouse.DefaultUserAgent),
	}
	switch {
	case a.APIKey != "":
		opts = append(opts, clearinghouse.WithAPIKey(a.APIKey))
	case a.PrivateKey != "":
		opts = append(opts, clearinghouse.WithPrivateKey(a.PrivateKey))
	case a.PrivateKeyFile != "":
		opts = append(opts, clearinghouse.WithPrivateKeyFile(a.PrivateKeyFile))
	case needKey:
		return nil, usageErr("set "+chconfig.EnvAPIKey+", pass --api-key-file or --private-key-file (or set "+chconfig.EnvPrivateKeyFile+"), or use --creds",
			"no API key or private key for user %s", a.Username)
	default:
		opts = append(opts, clearinghouse.WithAPIKey(placeholderKey))
	}
	if s.CAFile != "" {
		opts = append(opts, clearinghouse.WithCAFile(s.CAFile))
	}
	if s.insecure {
		opts = append(opts, clearinghouse.WithInsecureSkipVerify())
	}
	c, err := clearinghouse.New(a.Username, opts...)
	if err != nil {
		return nil, s.fileError(err)
	}
	return c, nil
}

// fileError makes New's error about a file it read (the CA file or the
// private key file) a usage error that names the flag, variable or creds
// file that gave the path, and says what to do about it.
func (s *settings) fileError(err error) *cliError {
	msg := err.Error()
	var source, what string
	switch {
	case strings.Contains(msg, "CA file") || strings.Contains(msg, "CA certificates"):
		source, what = s.CASource, "the CA file"
	case strings.Contains(msg, "private key file"):
		source, what = s.Account.PrivateKeyFileSource, "the private key file"
	}
	switch {
	case source == "":
		return usageErr("", "%s", msg)
	case strings.HasPrefix(source, "creds file "):
		return usageErr("a mock started with -tls writes its CA next to the creds file; if the files were moved, start the mock again, or pass --ca-file",
			"%s (%s named by the ca_file of %s)", msg, what, source)
	case strings.HasPrefix(source, "--"):
		return usageErr("check the path given to "+source, "%s (%s named by %s)", msg, what, source)
	}
	return usageErr("fix or unset "+source, "%s (%s named by %s)", msg, what, source)
}
