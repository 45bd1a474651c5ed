// Package chconfig resolves which clearinghouse to talk to and with which
// credentials, from flags, the CLEARINGHOUSE_* environment variables and a
// creds file. The command (cmd/clearinghouse) and the conformance suite
// (TargetFromEnv, TargetFromCredsFile) both use it, so that the same
// variables and the same file mean the same thing to both.
//
// # The rule
//
// Each setting comes from the first of three levels that gives it:
//
//  1. flags (Flags: the command's --url, --user, --api-key-file,
//     --private-key-file, --ca-file and --account; the suite has none);
//  2. the environment: one CLEARINGHOUSE_* variable per setting;
//  3. a creds file, as mockclearinghouse -creds-out writes it, named by
//     Flags.CredsFile (--creds) or else CLEARINGHOUSE_CREDS_FILE.
//
// In detail:
//
//   - The creds file's account is the one Flags.Account names (a username,
//     or a number counting from 1), else the one named by the username
//     given at a higher level (none, if the file does not have it), else
//     the first. Flags.Account without a creds file is an error.
//   - The username: --user, or the account --account names; then
//     CLEARINGHOUSE_USERNAME; then the creds file's account.
//   - The API key and the private key are one setting, taken together from
//     the first level that has either: --api-key-file and
//     --private-key-file; CLEARINGHOUSE_API_KEY and
//     CLEARINGHOUSE_PRIVATE_KEY_FILE; the creds file's account, only when
//     it is the resolved user. So --private-key-file is never overridden
//     by an API key in the environment, and one user's key never goes
//     out under another user's name from the file.
//   - The password: CLEARINGHOUSE_PASSWORD, then the creds file's account
//     (the resolved user's only). There is no flag for it.
//   - The URL and the CA file: --url, CLEARINGHOUSE_URL, the file's url;
//     --ca-file, CLEARINGHOUSE_CA_FILE, the file's ca_file (relative to
//     the creds file when relative).
//   - The mock's admin controls: CLEARINGHOUSE_ADMIN_URL and
//     CLEARINGHOUSE_ADMIN_TOKEN, then the file's admin_url and
//     admin_token, each on its own.
//   - Further accounts (the suite's second account): CLEARINGHOUSE_USERNAME_2
//     with CLEARINGHOUSE_API_KEY_2, CLEARINGHOUSE_PRIVATE_KEY_FILE_2 and
//     CLEARINGHOUSE_PASSWORD_2; else the creds file's other accounts, in
//     its order.
//
// Resolve applies no default URL (the command falls back to the public
// clearinghouse, the suite refuses), does not insist on a key (the
// command's password-only commands need none), reads only local files
// and never uses the network. Its errors never quote a secret.
//
// The files it reads, the creds file and the API key file, must be
// regular files within their limits (internal/safefile: safefile.MaxCreds,
// safefile.MaxKey); the Error for one that is not unwraps to
// safefile.ErrNotRegular or safefile.ErrTooLarge, and names the flag or
// variable that gave the path. The private key file is only named here:
// its reader (clearinghouse.WithPrivateKeyFile, the suite) applies the
// same rule.
package chconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
)

// The environment variables Resolve reads. A further account uses the
// same names with SecondSuffix appended (CLEARINGHOUSE_USERNAME_2, ...).
const (
	EnvURL            = "CLEARINGHOUSE_URL"
	EnvUsername       = "CLEARINGHOUSE_USERNAME"
	EnvAPIKey         = "CLEARINGHOUSE_API_KEY"
	EnvPrivateKeyFile = "CLEARINGHOUSE_PRIVATE_KEY_FILE"
	EnvPassword       = "CLEARINGHOUSE_PASSWORD"
	EnvCAFile         = "CLEARINGHOUSE_CA_FILE"
	EnvCredsFile      = "CLEARINGHOUSE_CREDS_FILE"
	EnvAdminURL       = "CLEARINGHOUSE_ADMIN_URL"
	EnvAdminToken     = "CLEARINGHOUSE_ADMIN_TOKEN"

	SecondSuffix = "_2"
)

// Flags are the values given as flags; "" means not given.
type Flags struct {
	URL            string // --url
	User           string // --user
	APIKeyFile     string // --api-key-file: a file holding the API key alone
	PrivateKeyFile string // --private-key-file
	CAFile         string // --ca-file
	CredsFile      string // --creds
	Account        string // --account: a username in the creds file, or a number from 1
}

// Config is the resolved configuration. Each XSource field says where the
// setting came from ("--url", "CLEARINGHOUSE_URL", "creds file PATH"),
// for messages; sources never hold secrets.
type Config struct {
	URL, URLSource   string // "" when no level gives a URL
	CAFile, CASource string
	Account          Account   // the main account; Username "" when none is given
	Others           []Account // further accounts (see the package doc)
	AdminURL         string
	AdminToken       string
	CredsFile        string   // the creds file's path, "" when none is named
	Warnings         []string // such as a key file others can read
}

// Account is one account's credentials. PrivateKey is the key itself (from
// a creds file); PrivateKeyFile names a file holding it (from a flag or the
// environment), which Resolve does not read.
type Account struct {
	Username, UserSource string
	APIKey               string
	PrivateKey           string
	PrivateKeyFile       string
	PrivateKeyFileSource string // the flag or variable that named PrivateKeyFile
	KeySource            string // "" when there is no key
	Password             string
}

// String hides the credentials, so that an Account printed by mistake
// leaks nothing.
func (a Account) String() string { return "account " + a.Username }

// GoString hides the credentials from %#v too.
func (a Account) GoString() string {
	return "chconfig.Account{Username: " + strconv.Quote(a.Username) + "}"
}

// Error is a configuration problem: what is wrong, and what to do. The
// command prints Msg with its own prefix and Hint on the next line; the
// suite wraps Msg in its own error (WithPrefix).
type Error struct {
	Msg  string
	Hint string
	Err  error // the error beneath, such as a file refused by internal/safefile; nil if none
}

func (e *Error) Error() string { return "chconfig: " + e.Msg }

// Unwrap returns the error beneath, so that errors.Is finds, say,
// safefile.ErrTooLarge.
func (e *Error) Unwrap() error { return e.Err }

// WithPrefix returns e with prefix in place of "chconfig: ". It unwraps
// to e.
func (e *Error) WithPrefix(prefix string) error { return &prefixedError{prefix, e} }

type prefixedError struct {
	prefix string
	e      *Error
}

func (p *prefixedError) Error() string { return p.prefix + p.e.Msg }
func (p *prefixedError) Unwrap() error { return p.e }

func errorf(hint, format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// wrapf is errorf for a problem that err, the error beneath, caused.
func wrapf(err error, hint, format string, args ...any) *Error {
	e := errorf(hint, format, args...)
	e.Err = err
	return e
}

// Resolve applies the package's rule to flags, the environment (getenv,
// usually os.Getenv) and the creds file they name.
func Resolve(f Flags, getenv func(string) string) (*Config, error) {
	r := &resolver{f: f, getenv: getenv}
	if err := r.readCreds(); err != nil {
		return nil, err
	}
	c := &Config{CredsFile: r.credsPath}
	c.URL, c.URLSource = r.url()
	c.CAFile, c.CASource = r.caFile()
	var err error
	if c.Account, err = r.mainAccount(); err != nil {
		return nil, err
	}
	c.Others = r.others(c.Account.Username)
	c.AdminURL = first(getenv(EnvAdminURL), r.file.AdminURL)
	c.AdminToken = first(getenv(EnvAdminToken), r.file.AdminToken)
	c.Warnings = r.warnings
	return c, nil
}

// resolver holds what the levels give while Resolve works through them.
type resolver struct {
	f         Flags
	getenv    func(string) string
	credsPath string
	file      credsfile.File     // empty without a creds file
	acct      *credsfile.Account // the creds file's account, if any
	warnings  []string
}

// level is one level's value of a setting, and its source.
type level struct{ value, source string }

// pick returns the first level that has a value.
func pick(levels ...level) (string, string) {
	for _, l := range levels {
		if l.value != "" {
			return l.value, l.source
		}
	}
	return "", ""
}

// first returns the first value that is not "".
func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// readCreds reads the creds file, if one is named, and picks its account.
func (r *resolver) readCreds() error {
	var source string
	r.credsPath, source = pick(level{r.f.CredsFile, "--creds"}, level{r.getenv(EnvCredsFile), EnvCredsFile})
	if r.credsPath == "" {
		if r.f.Account != "" {
			return errorf("name the creds file with --creds or "+EnvCredsFile, "--account %s needs a creds file", r.f.Account)
		}
		return nil
	}
	cf, err := credsfile.Read(r.credsPath)
	if err != nil {
		return wrapf(err, "start the mock with `go run ./cmd/mockclearinghouse -creds-out FILE`, then pass that FILE; it writes the JSON this reads",
			"reading the creds file (%s): %v", source, err)
	}
	r.file = *cf
	wantUser := r.f.User
	if wantUser == "" && r.f.Account == "" {
		wantUser = r.getenv(EnvUsername)
	}
	r.acct, err = r.chooseAccount(wantUser)
	return err
}

// chooseAccount picks the creds file's account: the one Flags.Account
// names, else the one named wantUser (none if it is not in the file),
// else the first.
func (r *resolver) chooseAccount(wantUser string) (*credsfile.Account, error) {
	accts := r.file.Accounts
	if sel := r.f.Account; sel != "" {
		for i := range accts {
			if accts[i].Username == sel {
				return &accts[i], nil
			}
		}
		if n, err := strconv.Atoi(sel); err == nil && n >= 1 && n <= len(accts) {
			return &accts[n-1], nil
		}
		names := make([]string, len(accts))
		for i, a := range accts {
			names[i] = a.Username
		}
		return nil, errorf("the file has "+strconv.Itoa(len(names))+" account(s): "+strings.Join(names, ", "),
			"--account %s: no such account in %s", sel, r.credsPath)
	}
	if wantUser != "" {
		for i := range accts {
			if accts[i].Username == wantUser {
				return &accts[i], nil
			}
		}
		return nil, nil
	}
	if len(accts) == 0 {
		return nil, nil
	}
	return &accts[0], nil
}

// credsLabel names a part of the creds file's account, for a source.
func (r *resolver) credsLabel(what string) string {
	if r.acct == nil {
		return "creds file " + r.credsPath
	}
	return what + " of account " + r.acct.Username + " in " + r.credsPath
}

func (r *resolver) url() (string, string) {
	return pick(level{r.f.URL, "--url"}, level{r.getenv(EnvURL), EnvURL}, level{r.file.URL, "creds file " + r.credsPath})
}

// caFile resolves the CA file; a relative path in a creds file is
// relative to the file.
func (r *resolver) caFile() (string, string) {
	credsCA := r.file.CAFile
	if credsCA != "" && !filepath.IsAbs(credsCA) {
		credsCA = filepath.Join(filepath.Dir(r.credsPath), credsCA)
	}
	return pick(level{r.f.CAFile, "--ca-file"}, level{r.getenv(EnvCAFile), EnvCAFile}, level{credsCA, "creds file " + r.credsPath})
}

// mainAccount resolves the username, then the keys and the password that
// go with it.
func (r *resolver) mainAccount() (Account, error) {
	var a Account
	var err error
	if a.Username, a.UserSource, err = r.username(); err != nil {
		return Account{}, err
	}
	if err := r.keys(&a); err != nil {
		return Account{}, err
	}
	a.Password = r.getenv(EnvPassword)
	if a.Password == "" && r.fileAccountIs(a.Username) {
		a.Password = r.acct.Password
	}
	return a, nil
}

// fileAccountIs reports whether the creds file's account is user's.
func (r *resolver) fileAccountIs(user string) bool {
	return r.acct != nil && user != "" && r.acct.Username == user
}

func (r *resolver) username() (string, string, error) {
	f := r.f
	switch {
	case f.User != "":
		if f.Account != "" && r.acct != nil && r.acct.Username != f.User {
			return "", "", errorf("drop one of them", "--user %s and --account %s name different users", f.User, f.Account)
		}
		return f.User, "--user", nil
	case f.Account != "" && r.acct != nil:
		return r.acct.Username, "--account in " + r.credsPath, nil
	case r.getenv(EnvUsername) != "":
		return r.getenv(EnvUsername), EnvUsername, nil
	case r.acct != nil:
		return r.acct.Username, r.credsLabel("username"), nil
	}
	return "", "", nil
}

// keys takes the API key and the private key from the first level that
// has either.
func (r *resolver) keys(a *Account) error {
	f := r.f
	switch {
	case f.APIKeyFile != "" || f.PrivateKeyFile != "":
		if f.APIKeyFile != "" {
			key, err := r.readKeyFile(f.APIKeyFile)
			if err != nil {
				return err
			}
			a.APIKey, a.KeySource = key, "--api-key-file "+f.APIKeyFile
		}
		if f.PrivateKeyFile != "" {
			r.checkPrivate(f.PrivateKeyFile)
			a.PrivateKeyFile, a.PrivateKeyFileSource = f.PrivateKeyFile, "--private-key-file"
			if a.KeySource == "" {
				a.KeySource = "--private-key-file " + f.PrivateKeyFile
			}
		}
	case r.getenv(EnvAPIKey) != "" || r.getenv(EnvPrivateKeyFile) != "":
		r.envKeys(a, "")
	case r.fileAccountIs(a.Username):
		a.APIKey, a.PrivateKey = r.acct.APIKey, r.acct.PrivateKey
		switch {
		case a.APIKey != "":
			a.KeySource = r.credsLabel("api_key")
		case a.PrivateKey != "":
			a.KeySource = r.credsLabel("private_key")
		}
	}
	return nil
}

// envKeys takes the keys from CLEARINGHOUSE_API_KEY<suffix> and
// CLEARINGHOUSE_PRIVATE_KEY_FILE<suffix>.
func (r *resolver) envKeys(a *Account, suffix string) {
	if k := strings.TrimSpace(r.getenv(EnvAPIKey + suffix)); k != "" {
		a.APIKey, a.KeySource = k, EnvAPIKey+suffix
	}
	if p := r.getenv(EnvPrivateKeyFile + suffix); p != "" {
		r.checkPrivate(p)
		a.PrivateKeyFile, a.PrivateKeyFileSource = p, EnvPrivateKeyFile+suffix
		if a.KeySource == "" {
			a.KeySource = EnvPrivateKeyFile + suffix + " (" + p + ")"
		}
	}
}

// others resolves the further accounts: the environment's second one, or
// else the creds file's accounts other than main's.
func (r *resolver) others(main string) []Account {
	if u := r.getenv(EnvUsername + SecondSuffix); u != "" {
		a := Account{Username: u, UserSource: EnvUsername + SecondSuffix, Password: r.getenv(EnvPassword + SecondSuffix)}
		r.envKeys(&a, SecondSuffix)
		return []Account{a}
	}
	var out []Account
	for _, fa := range r.file.Accounts {
		if fa.Username == main {
			continue
		}
		a := Account{Username: fa.Username, UserSource: "creds file " + r.credsPath, APIKey: fa.APIKey, PrivateKey: fa.PrivateKey, Password: fa.Password}
		if a.APIKey != "" || a.PrivateKey != "" {
			a.KeySource = "creds file " + r.credsPath
		}
		out = append(out, a)
	}
	return out
}

// readKeyFile reads the one-line API key of --api-key-file, warning when
// others can read it.
func (r *resolver) readKeyFile(path string) (string, error) {
	data, err := safefile.ReadFile(path, safefile.MaxKey)
	if err != nil {
		return "", wrapf(err, "", "reading the API key file (--api-key-file): %v", err)
	}
	key := strings.TrimSpace(string(data))
	if key == "" || strings.ContainsAny(key, "\r\n") {
		return "", errorf("the file should hold the key alone on one line", "API key file %s: no key, or more than one line", path)
	}
	r.checkPrivate(path)
	return key, nil
}

// unixPerms reports whether file modes say who may read a file.
var unixPerms = runtime.GOOS != "windows" && runtime.GOOS != "plan9" && runtime.GOOS != "js" && runtime.GOOS != "wasip1"

// checkPrivate warns about a secret file that others may read (a file
// that cannot be read, or is not a regular file, is left to its reader to
// report).
func (r *resolver) checkPrivate(path string) {
	fi, err := os.Stat(path)
	if err != nil || !unixPerms || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	r.warnings = append(r.warnings, fmt.Sprintf("%s can be read by other users (mode %04o); consider `chmod 600 %s`", path, fi.Mode().Perm(), path))
}
