package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
)

// Environment variables, the same names the conformance suite reads.
const (
	envURL            = "CLEARINGHOUSE_URL"
	envUsername       = "CLEARINGHOUSE_USERNAME"
	envAPIKey         = "CLEARINGHOUSE_API_KEY"
	envPrivateKeyFile = "CLEARINGHOUSE_PRIVATE_KEY_FILE"
	envCAFile         = "CLEARINGHOUSE_CA_FILE"
	envCredsFile      = "CLEARINGHOUSE_CREDS_FILE"
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
	fs.StringVar(&g.url, "url", g.url, "XML-RPC endpoint `URL` (env "+envURL+"; default "+clearinghouse.DefaultURL+")")
	fs.StringVar(&g.user, "user", g.user, "`username` (env "+envUsername+")")
	fs.StringVar(&g.apiKeyFile, "api-key-file", g.apiKeyFile, "read the API key from `file` (env "+envAPIKey+" holds the key itself)")
	fs.StringVar(&g.privateKeyFile, "private-key-file", g.privateKeyFile, "Seattle private key `file`, to fetch the API key when none is given (env "+envPrivateKeyFile+")")
	fs.StringVar(&g.caFile, "ca-file", g.caFile, "trust the PEM certificates in `file` as well as the system's (env "+envCAFile+")")
	fs.StringVar(&g.creds, "creds", g.creds, "read URL, CA file and accounts from a mock's -creds-out `file` (env "+envCredsFile+")")
	fs.StringVar(&g.account, "account", g.account, "use this `account` of the creds file: a username, or a number from 1 (default: the --user one, else the first)")
	fs.BoolVar(&g.insecure, "insecure", g.insecure, "do not verify the server's TLS certificate (tests only)")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "give up on each call after `duration`")
	fs.IntVar(&g.retries, "retries", g.retries, "retry read-only calls `n` times after a network failure")
	fs.BoolVar(&g.json, "json", g.json, "print JSON instead of a table")
	fs.BoolVar(&g.verbose, "verbose", g.verbose, "say on stderr where the URL and credentials came from")
	fs.BoolVar(&g.verbose, "v", g.verbose, "short for --verbose")
}

// credsFile is what `mockclearinghouse -creds-out` writes.
type (
	credsFile    = credsfile.File
	credsAccount = credsfile.Account
)

// settings is the resolved configuration, with where each part came from
// (for --verbose and for error hints; never the secrets themselves).
type settings struct {
	url, urlSrc       string
	username, userSrc string
	apiKey            string
	privateKey        string // the key itself (from a creds file)
	privateKeyFile    string
	keySrc            string // "" when there is no key
	caFile, caSrc     string
	insecure          bool
	timeout           time.Duration
	retries           int
	warnings          []string
}

// resolve merges flags, environment and creds file: flags win over the
// environment, which wins over the creds file. The API key and the private
// key are taken together from the first of those levels that has either,
// so an explicit --private-key-file is not overridden by a
// CLEARINGHOUSE_API_KEY in the environment.
func resolve(g *globalOpts, getenv func(string) string) (*settings, error) {
	s := &settings{insecure: g.insecure, timeout: g.timeout, retries: g.retries}
	if g.timeout <= 0 {
		return nil, usageErr("", "--timeout must be positive")
	}
	if g.retries < 0 {
		return nil, usageErr("", "--retries must not be negative")
	}

	// The creds file, if any, and the account in it.
	credsPath, _ := pick(g.creds, "--creds", getenv(envCredsFile), envCredsFile, "", "")
	var cf *credsFile
	var acct *credsAccount
	if credsPath != "" {
		var err error
		if cf, err = readCreds(credsPath); err != nil {
			return nil, err
		}
		wantUser := g.user
		if wantUser == "" && g.account == "" {
			wantUser = getenv(envUsername)
		}
		if acct, err = chooseAccount(cf, g.account, wantUser, credsPath); err != nil {
			return nil, err
		}
	}
	credsLabel := func(what string) string {
		if acct == nil {
			return "creds file " + credsPath
		}
		return what + " of account " + acct.Username + " in " + credsPath
	}

	// URL.
	credsURL := ""
	if cf != nil {
		credsURL = cf.URL
	}
	s.url, s.urlSrc = pick(g.url, "--url", getenv(envURL), envURL, credsURL, "creds file "+credsPath)
	if s.url == "" {
		s.url, s.urlSrc = clearinghouse.DefaultURL, "default"
	}

	// Username: --user, or the account --account names, or the
	// environment, or the creds file's first account.
	switch {
	case g.user != "":
		if g.account != "" && acct != nil && acct.Username != g.user {
			return nil, usageErr("drop one of them", "--user %s and --account %s name different users", g.user, g.account)
		}
		s.username, s.userSrc = g.user, "--user"
	case g.account != "" && acct != nil:
		s.username, s.userSrc = acct.Username, "--account in "+credsPath
	case getenv(envUsername) != "":
		s.username, s.userSrc = getenv(envUsername), envUsername
	case acct != nil:
		s.username, s.userSrc = acct.Username, credsLabel("username")
	}

	// Keys: the first level that gives any.
	switch {
	case g.apiKeyFile != "" || g.privateKeyFile != "":
		if g.apiKeyFile != "" {
			key, err := readSecretFile(g.apiKeyFile, "API key", &s.warnings)
			if err != nil {
				return nil, err
			}
			s.apiKey, s.keySrc = key, "--api-key-file "+g.apiKeyFile
		}
		if g.privateKeyFile != "" {
			checkPrivate(g.privateKeyFile, &s.warnings)
			s.privateKeyFile = g.privateKeyFile
			if s.keySrc == "" {
				s.keySrc = "--private-key-file " + g.privateKeyFile
			}
		}
	case getenv(envAPIKey) != "" || getenv(envPrivateKeyFile) != "":
		if k := strings.TrimSpace(getenv(envAPIKey)); k != "" {
			s.apiKey, s.keySrc = k, envAPIKey
		}
		if f := getenv(envPrivateKeyFile); f != "" {
			checkPrivate(f, &s.warnings)
			s.privateKeyFile = f
			if s.keySrc == "" {
				s.keySrc = envPrivateKeyFile + " (" + f + ")"
			}
		}
	case acct != nil && acct.Username == s.username:
		s.apiKey, s.privateKey = acct.APIKey, acct.PrivateKey
		switch {
		case s.apiKey != "":
			s.keySrc = credsLabel("api_key")
		case s.privateKey != "":
			s.keySrc = credsLabel("private_key")
		}
	}

	// CA file; a relative path in a creds file is relative to the file.
	credsCA := ""
	if cf != nil && cf.CAFile != "" {
		credsCA = cf.CAFile
		if !filepath.IsAbs(credsCA) {
			credsCA = filepath.Join(filepath.Dir(credsPath), credsCA)
		}
	}
	s.caFile, s.caSrc = pick(g.caFile, "--ca-file", getenv(envCAFile), envCAFile, credsCA, "creds file "+credsPath)
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

// pick returns the first non-empty value with its source label.
func pick(flagVal, flagSrc, envVal, envSrc, fileVal, fileSrc string) (string, string) {
	switch {
	case flagVal != "":
		return flagVal, flagSrc
	case envVal != "":
		return envVal, envSrc
	case fileVal != "":
		return fileVal, fileSrc
	}
	return "", ""
}

func readCreds(path string) (*credsFile, error) {
	cf, err := credsfile.Read(path)
	if err != nil {
		return nil, usageErr("start the mock with `go run ./cmd/mockclearinghouse -creds-out FILE`, then pass that FILE; it writes the JSON this reads", "reading the creds file: %v", err)
	}
	return cf, nil
}

// chooseAccount picks the creds file's account: the one --account names
// (a username, or a number counting from 1), else the one named by the
// username given elsewhere (none if it is not in the file), else the first.
func chooseAccount(cf *credsFile, sel, wantUser, path string) (*credsAccount, error) {
	if sel != "" {
		for i := range cf.Accounts {
			if cf.Accounts[i].Username == sel {
				return &cf.Accounts[i], nil
			}
		}
		if n, err := strconv.Atoi(sel); err == nil && n >= 1 && n <= len(cf.Accounts) {
			return &cf.Accounts[n-1], nil
		}
		names := make([]string, len(cf.Accounts))
		for i, a := range cf.Accounts {
			names[i] = a.Username
		}
		return nil, usageErr("the file has "+strconv.Itoa(len(names))+" account(s): "+strings.Join(names, ", "),
			"--account %s: no such account in %s", sel, path)
	}
	if wantUser != "" {
		for i := range cf.Accounts {
			if cf.Accounts[i].Username == wantUser {
				return &cf.Accounts[i], nil
			}
		}
		return nil, nil
	}
	if len(cf.Accounts) == 0 {
		return nil, nil
	}
	return &cf.Accounts[0], nil
}

// readSecretFile reads a one-line secret, warning when others can read it.
func readSecretFile(path, what string, warnings *[]string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", usageErr("", "reading the %s file: %v", what, err)
	}
	key := strings.TrimSpace(string(data))
	if key == "" || strings.ContainsAny(key, "\r\n") {
		return "", usageErr("the file should hold the key alone on one line", "%s file %s: no key, or more than one line", what, path)
	}
	checkPrivate(path, warnings)
	return key, nil
}

// checkPrivate warns about a secret file that others may read (a
// readability problem is left to the reader to report).
func checkPrivate(path string, warnings *[]string) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 || !unixPerms {
		return
	}
	*warnings = append(*warnings, fmt.Sprintf("%s can be read by other users (mode %04o); consider `chmod 600 %s`", path, fi.Mode().Perm(), path))
}

// printSources says where each part of the configuration came from.
func (s *settings) printSources(w io.Writer) {
	fmt.Fprintf(w, "clearinghouse: URL %s (from %s)\n", redactURL(s.url), s.urlSrc)
	if s.username != "" {
		fmt.Fprintf(w, "clearinghouse: user %s (from %s)\n", s.username, s.userSrc)
	}
	switch {
	case s.apiKey != "":
		fmt.Fprintf(w, "clearinghouse: API key from %s\n", s.keySrc)
	case s.keySrc != "":
		fmt.Fprintf(w, "clearinghouse: no API key; fetching it with the private key from %s\n", s.keySrc)
	}
	if s.caFile != "" {
		fmt.Fprintf(w, "clearinghouse: CA file %s (from %s)\n", s.caFile, s.caSrc)
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
	if s.username == "" {
		return nil, usageErr("pass --user, set "+envUsername+", or use --creds with a mock's creds file", "no username")
	}
	opts := []clearinghouse.Option{
		clearinghouse.WithURL(s.url),
		clearinghouse.WithTimeout(s.timeout),
		clearinghouse.WithRetries(s.retries, 250*time.Millisecond),
		clearinghouse.WithUserAgent("clearinghouse-cli/1 " + clearinghouse.DefaultUserAgent),
	}
	switch {
	case s.apiKey != "":
		opts = append(opts, clearinghouse.WithAPIKey(s.apiKey))
	case s.privateKey != "":
		opts = append(opts, clearinghouse.WithPrivateKey(s.privateKey))
	case s.privateKeyFile != "":
		opts = append(opts, clearinghouse.WithPrivateKeyFile(s.privateKeyFile))
	case needKey:
		return nil, usageErr("set "+envAPIKey+", pass --api-key-file or --private-key-file (or set "+envPrivateKeyFile+"), or use --creds",
			"no API key or private key for user %s", s.username)
	default:
		opts = append(opts, clearinghouse.WithAPIKey(placeholderKey))
	}
	if s.caFile != "" {
		opts = append(opts, clearinghouse.WithCAFile(s.caFile))
	}
	if s.insecure {
		opts = append(opts, clearinghouse.WithInsecureSkipVerify())
	}
	c, err := clearinghouse.New(s.username, opts...)
	if err != nil {
		return nil, usageErr("", "%s", err)
	}
	return c, nil
}
