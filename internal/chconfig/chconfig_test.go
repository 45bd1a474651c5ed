package chconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// files writes the fixtures of the tests into a fresh directory.
type files struct {
	t   *testing.T
	dir string
}

func (f files) write(name, content string, mode os.FileMode) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		f.t.Fatal(err)
	}
	return p
}

// resolved is the part of a Config a case checks.
type resolved struct {
	url, urlSrc, ca  string
	user, userSrc    string
	apiKey, privKey  string
	privFile, keySrc string
	password         string
	adminURL         string
	adminToken       string
	others           string // "name:key:password,..."
}

func summarize(c *Config) resolved {
	var others []string
	for _, o := range c.Others {
		others = append(others, o.Username+":"+o.APIKey+o.PrivateKey+o.PrivateKeyFile+":"+o.Password)
	}
	a := c.Account
	return resolved{
		url: c.URL, urlSrc: c.URLSource, ca: c.CAFile,
		user: a.Username, userSrc: a.UserSource, apiKey: a.APIKey, privKey: a.PrivateKey, privFile: a.PrivateKeyFile,
		keySrc: a.KeySource, password: a.Password, adminURL: c.AdminURL, adminToken: c.AdminToken,
		others: strings.Join(others, ","),
	}
}

// resolve returns what Resolve makes of flags with env as the environment,
// failing t on an error.
func resolve(t *testing.T, flags Flags, env map[string]string) *Config {
	t.Helper()
	c, err := Resolve(flags, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestResolve is the rule as a table: for each setting, flags beat the
// CLEARINGHOUSE_* variables, which beat the creds file.
func TestResolve(t *testing.T) {
	t.Parallel()
	fs := files{t, t.TempDir()}
	creds := fs.write("creds.json", `{"url": "http://creds.example/xmlrpc/", "ca_file": "ca.pem",
		"admin_url": "http://creds.example/admin/", "admin_token": "FILETOKEN", "accounts": [
		{"username": "first", "password": "pw-first", "api_key": "KEYFIRST", "private_key": "1 2 3"},
		{"username": "second", "password": "pw-second", "api_key": "KEYSECOND"},
		{"username": "third", "private_key": "4 5 6"}]}`, 0o600)
	flagKey := fs.write("flag.key", "KEYFLAG\n", 0o600)
	credsCA := filepath.Join(fs.dir, "ca.pem")
	credsSrc := "creds file " + creds
	all := "second:KEYSECOND:pw-second,third:4 5 6:"
	// first is what the creds file alone gives: its first account.
	first := resolved{url: "http://creds.example/xmlrpc/", urlSrc: credsSrc, ca: credsCA,
		user: "first", userSrc: "username of account first in " + creds, apiKey: "KEYFIRST", privKey: "1 2 3",
		keySrc: "api_key of account first in " + creds, password: "pw-first",
		adminURL: "http://creds.example/admin/", adminToken: "FILETOKEN", others: all}
	// second is the creds file's account second, picked by --account.
	second := resolved{url: "http://creds.example/xmlrpc/", urlSrc: credsSrc, ca: credsCA,
		user: "second", userSrc: "--account in " + creds, apiKey: "KEYSECOND",
		keySrc: "api_key of account second in " + creds, password: "pw-second",
		adminURL: "http://creds.example/admin/", adminToken: "FILETOKEN", others: "first:KEYFIRST1 2 3:pw-first,third:4 5 6:"}
	with := func(r resolved, change func(*resolved)) resolved {
		change(&r)
		return r
	}

	for _, tc := range []struct {
		name  string
		flags Flags
		env   map[string]string
		want  resolved
	}{
		{
			name: "nothing at all: no URL, no user",
			want: resolved{},
		},
		{
			name:  "creds file alone: its first account",
			flags: Flags{CredsFile: creds},
			want:  first,
		},
		{
			name: "creds file named by the environment",
			env:  map[string]string{EnvCredsFile: creds},
			want: first,
		},
		{
			name:  "--creds beats CLEARINGHOUSE_CREDS_FILE",
			flags: Flags{CredsFile: creds},
			env:   map[string]string{EnvCredsFile: "/nonexistent/creds.json"},
			want:  first,
		},
		{
			name:  "--account by name",
			flags: Flags{CredsFile: creds, Account: "second"},
			want:  second,
		},
		{
			name:  "--account by number, private key only",
			flags: Flags{CredsFile: creds, Account: "3"},
			want: resolved{url: "http://creds.example/xmlrpc/", urlSrc: credsSrc, ca: credsCA,
				user: "third", userSrc: "--account in " + creds, privKey: "4 5 6",
				keySrc:   "private_key of account third in " + creds,
				adminURL: "http://creds.example/admin/", adminToken: "FILETOKEN", others: "first:KEYFIRST1 2 3:pw-first,second:KEYSECOND:pw-second"},
		},
		{
			name:  "--account (a flag) beats CLEARINGHOUSE_USERNAME",
			flags: Flags{CredsFile: creds, Account: "second"},
			env:   map[string]string{EnvUsername: "first"},
			want:  second,
		},
		{
			name: "CLEARINGHOUSE_USERNAME picks the creds file's account",
			env:  map[string]string{EnvCredsFile: creds, EnvUsername: "second"},
			want: with(second, func(r *resolved) { r.userSrc = EnvUsername }),
		},
		{
			name:  "a user the creds file lacks gets no keys or password from it",
			flags: Flags{CredsFile: creds, User: "stranger"},
			want: resolved{url: "http://creds.example/xmlrpc/", urlSrc: credsSrc, ca: credsCA,
				user: "stranger", userSrc: "--user",
				adminURL: "http://creds.example/admin/", adminToken: "FILETOKEN", others: "first:KEYFIRST1 2 3:pw-first," + all},
		},
		{
			name: "each CLEARINGHOUSE_* variable beats the creds file",
			env: map[string]string{EnvCredsFile: creds, EnvURL: "https://env.example/xmlrpc/", EnvUsername: "envuser",
				EnvAPIKey: " KEYENV\n", EnvPassword: "pw-env", EnvCAFile: "/env/ca.pem",
				EnvAdminURL: "https://env.example/admin/", EnvAdminToken: "ENVTOKEN"},
			want: resolved{url: "https://env.example/xmlrpc/", urlSrc: EnvURL, ca: "/env/ca.pem",
				user: "envuser", userSrc: EnvUsername, apiKey: "KEYENV", keySrc: EnvAPIKey, password: "pw-env",
				adminURL: "https://env.example/admin/", adminToken: "ENVTOKEN", others: "first:KEYFIRST1 2 3:pw-first," + all},
		},
		{
			name: "the environment's keys go with the file's user",
			env:  map[string]string{EnvCredsFile: creds, EnvUsername: "first", EnvPrivateKeyFile: "/keys/first.privatekey"},
			want: resolved{url: "http://creds.example/xmlrpc/", urlSrc: credsSrc, ca: credsCA,
				user: "first", userSrc: EnvUsername, privFile: "/keys/first.privatekey",
				keySrc: EnvPrivateKeyFile + " (/keys/first.privatekey)", password: "pw-first",
				adminURL: "http://creds.example/admin/", adminToken: "FILETOKEN", others: all},
		},
		{
			name:  "flags beat the environment and the creds file",
			flags: Flags{CredsFile: creds, URL: "https://flag.example/xmlrpc/", User: "flaguser", APIKeyFile: flagKey, CAFile: "/flag/ca.pem"},
			env:   map[string]string{EnvURL: "https://env.example/xmlrpc/", EnvUsername: "envuser", EnvAPIKey: "KEYENV", EnvCAFile: "/env/ca.pem"},
			want: resolved{url: "https://flag.example/xmlrpc/", urlSrc: "--url", ca: "/flag/ca.pem",
				user: "flaguser", userSrc: "--user", apiKey: "KEYFLAG", keySrc: "--api-key-file " + flagKey,
				adminURL: "http://creds.example/admin/", adminToken: "FILETOKEN", others: "first:KEYFIRST1 2 3:pw-first," + all},
		},
		{
			name:  "the keys travel together: --private-key-file is not overridden by CLEARINGHOUSE_API_KEY",
			flags: Flags{User: "alice", PrivateKeyFile: "/keys/alice.privatekey"},
			env:   map[string]string{EnvAPIKey: "KEYENV"},
			want: resolved{user: "alice", userSrc: "--user", privFile: "/keys/alice.privatekey",
				keySrc: "--private-key-file /keys/alice.privatekey"},
		},
		{
			name: "a deployment from the environment, with a second account",
			env: map[string]string{EnvURL: "https://ch.example/xmlrpc/", EnvUsername: "alice", EnvAPIKey: "KEYA",
				EnvUsername + SecondSuffix: "bob", EnvPrivateKeyFile + SecondSuffix: "/keys/bob", EnvPassword + SecondSuffix: "pw-bob"},
			want: resolved{url: "https://ch.example/xmlrpc/", urlSrc: EnvURL, user: "alice", userSrc: EnvUsername,
				apiKey: "KEYA", keySrc: EnvAPIKey, others: "bob:/keys/bob:pw-bob"},
		},
		{
			name: "the environment's second account beats the creds file's others",
			env:  map[string]string{EnvCredsFile: creds, EnvUsername + SecondSuffix: "bob", EnvAPIKey + SecondSuffix: "KEYB"},
			want: with(first, func(r *resolved) { r.others = "bob:KEYB:" }),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if have := summarize(resolve(t, tc.flags, tc.env)); have != tc.want {
				t.Errorf("\nhave %+v\nwant %+v", have, tc.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	fs := files{t, t.TempDir()}
	creds := fs.write("creds.json", `{"url": "http://creds.example/xmlrpc/", "accounts": [
		{"username": "alice", "api_key": "SECRETALICE"}, {"username": "bob", "api_key": "SECRETBOB"}]}`, 0o600)
	broken := fs.write("broken.json", `{"url": "x", "accounts": [{"api_key": "SECRETBROKEN"`, 0o600)
	empty := fs.write("empty.key", "\n", 0o600)
	twoLines := fs.write("two.key", "SECRETONE\nSECRETTWO\n", 0o600)
	for _, tc := range []struct {
		name      string
		flags     Flags
		env       map[string]string
		msg, hint string
	}{
		{"missing creds file", Flags{CredsFile: "/nonexistent/creds.json"}, nil, "reading the creds file", "-creds-out FILE"},
		{"broken creds file", Flags{}, map[string]string{EnvCredsFile: broken}, "is not valid JSON", "-creds-out FILE"},
		{"no such account", Flags{CredsFile: creds, Account: "carol"}, nil, "--account carol: no such account in " + creds, "2 account(s): alice, bob"},
		{"account number out of range", Flags{CredsFile: creds, Account: "3"}, nil, "no such account", "alice, bob"},
		{"account without a creds file", Flags{Account: "alice"}, nil, "--account alice needs a creds file", "--creds"},
		{"user and account differ", Flags{CredsFile: creds, Account: "bob", User: "alice"}, nil, "--user alice and --account bob name different users", "drop one"},
		{"missing key file", Flags{User: "alice", APIKeyFile: "/nonexistent"}, nil, "reading the API key file", ""},
		{"empty key file", Flags{User: "alice", APIKeyFile: empty}, nil, "no key, or more than one line", "alone on one line"},
		{"two-line key file", Flags{User: "alice", APIKeyFile: twoLines}, nil, "no key, or more than one line", "alone on one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve(tc.flags, func(k string) string { return tc.env[k] })
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("have %v, want a *chconfig.Error", err)
			}
			if !strings.Contains(ce.Msg, tc.msg) || !strings.Contains(ce.Hint, tc.hint) {
				t.Errorf("have %q (hint %q), want %q (hint %q)", ce.Msg, ce.Hint, tc.msg, tc.hint)
			}
			if !strings.HasPrefix(err.Error(), "chconfig: ") {
				t.Errorf("have %q, want the package prefix", err)
			}
			if strings.Contains(fmt.Sprint(err, ce.Hint), "SECRET") {
				t.Errorf("the error shows a secret: %v (%s)", err, ce.Hint)
			}
		})
	}
}

// TestResolveWarnings: a secret file others can read is resolved, with a
// warning that names the file, never its contents.
func TestResolveWarnings(t *testing.T) {
	t.Parallel()
	if !unixPerms {
		testskip.Platform.Skipf(t, "no Unix file modes")
	}
	fs := files{t, t.TempDir()}
	open := fs.write("open.key", "SECRETKEY\n", 0o644)
	closed := fs.write("closed.key", "SECRETKEY\n", 0o600)
	openPriv := fs.write("open.privatekey", "1 2 3\n", 0o640)
	openDir := filepath.Join(fs.dir, "keys")
	if err := os.Mkdir(openDir, 0o755); err != nil || os.Chmod(openDir, 0o755) != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		flags Flags
		env   map[string]string
		want  []string
	}{
		{"open API key file", Flags{User: "a", APIKeyFile: open}, nil, []string{open + " can be read by other users (mode 0644); consider `chmod 600 " + open + "`"}},
		{"closed API key file", Flags{User: "a", APIKeyFile: closed}, nil, nil},
		{"open private key file flag", Flags{User: "a", PrivateKeyFile: openPriv}, nil, []string{openPriv + " can be read by other users (mode 0640); consider `chmod 600 " + openPriv + "`"}},
		{"open private key file in the environment", Flags{}, map[string]string{EnvUsername: "a", EnvPrivateKeyFile: openPriv}, []string{openPriv + " can be read by other users (mode 0640); consider `chmod 600 " + openPriv + "`"}},
		{"missing private key file: no warning here", Flags{User: "a", PrivateKeyFile: "/nonexistent"}, nil, nil},
		{"a directory as the private key file: no warning here", Flags{User: "a", PrivateKeyFile: openDir}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := resolve(t, tc.flags, tc.env)
			if !reflect.DeepEqual(c.Warnings, tc.want) {
				t.Errorf("have warnings %q, want %q", c.Warnings, tc.want)
			}
		})
	}
}

// TestAccountHidesSecrets: an Account printed by mistake shows no secret.
func TestAccountHidesSecrets(t *testing.T) {
	t.Parallel()
	a := Account{Username: "alice", APIKey: "SECRETKEY", PrivateKey: "SECRET 1 2", Password: "SECRETPW"}
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		if s := fmt.Sprintf(format, a); strings.Contains(s, "SECRET") || !strings.Contains(s, "alice") {
			t.Errorf("%s: have %q, want the username and no secret", format, s)
		}
	}
}

// TestResolveRefusedFiles gives the creds file and the API key file paths
// that internal/safefile refuses: the *Error names the flag or variable
// and the path, and unwraps to the refusal, also under WithPrefix.
func TestResolveRefusedFiles(t *testing.T) {
	t.Parallel()
	fs := files{t, t.TempDir()}
	bigKey := fs.write("big.key", strings.Repeat("K", safefile.MaxKey+1), 0o600)
	for _, tc := range []struct {
		name  string
		flags Flags
		env   map[string]string
		want  string
		is    error
	}{
		{"creds file flag", Flags{CredsFile: fs.dir}, nil, "reading the creds file (--creds): read " + fs.dir + ": not a regular file (a directory)", safefile.ErrNotRegular},
		{"creds file variable", Flags{}, map[string]string{EnvCredsFile: fs.dir}, "reading the creds file (" + EnvCredsFile + "): read " + fs.dir + ": not a regular file", safefile.ErrNotRegular},
		{"API key file", Flags{User: "a", APIKeyFile: bigKey}, nil, "reading the API key file (--api-key-file): read " + bigKey + ": file too large (the limit is 64 KiB)", safefile.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve(tc.flags, func(k string) string { return tc.env[k] })
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, tc.is) || !strings.HasPrefix(ce.Msg, tc.want) {
				t.Fatalf("have %v, want a *chconfig.Error that matches %v, saying %q", err, tc.is, tc.want)
			}
			if strings.Contains(err.Error(), "KKKK") {
				t.Errorf("the error quotes the file: %.200s", err)
			}
			p := ce.WithPrefix("suite: ")
			if p.Error() != "suite: "+ce.Msg || !errors.Is(p, tc.is) || !errors.As(p, new(*Error)) {
				t.Errorf("WithPrefix: have %q, want %q matching %v and *Error", p, "suite: "+ce.Msg, tc.is)
			}
		})
	}
}

// TestResolvePrivateKeyFileSource: an account says which flag or variable
// named its private key file, for the message of the file's reader.
func TestResolvePrivateKeyFileSource(t *testing.T) {
	t.Parallel()
	c := resolve(t, Flags{User: "a", PrivateKeyFile: "/keys/a"}, nil)
	if c.Account.PrivateKeyFileSource != "--private-key-file" {
		t.Errorf("flag: have %q", c.Account.PrivateKeyFileSource)
	}
	c = resolve(t, Flags{}, map[string]string{EnvURL: "http://x/", EnvUsername: "a", EnvPrivateKeyFile: "/keys/a",
		EnvUsername + SecondSuffix: "b", EnvPrivateKeyFile + SecondSuffix: "/keys/b"})
	if c.Account.PrivateKeyFileSource != EnvPrivateKeyFile || len(c.Others) != 1 || c.Others[0].PrivateKeyFileSource != EnvPrivateKeyFile+SecondSuffix {
		t.Errorf("variables: have %q and %+v", c.Account.PrivateKeyFileSource, c.Others)
	}
}
