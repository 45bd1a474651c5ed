package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
)

// Target describes the clearinghouse endpoint a Run checks.
type Target struct {
	// Name labels the target in the summary, such as "in-process mock".
	Name string

	// URL is the XML-RPC endpoint, such as "https://host/xmlrpc/". It is
	// required: the suite has no default and never falls back to a
	// public host.
	URL string

	// Accounts are existing accounts to check with; at least one. The
	// first is the main account. A second one, when given, lets the
	// handle checks use a foreign vessel on a target without Controls.
	Accounts []Account

	// CAFile names a PEM file of CA certificates to trust in addition to
	// the system roots. HTTPClient, when set, is used as is instead.
	CAFile     string
	HTTPClient *http.Client

	// AllowAcquire is the largest number of vessels the suite may hold at
	// any one moment, over all accounts; 0 makes the run read-only. A
	// check that would need more is skipped. Every vessel the suite
	// acquires is released again in cleanup, and nothing else is.
	AllowAcquire int

	// AllowAccountChanges lets the checks that change an account for
	// good run against Accounts[0] (which then needs its Password):
	// regenerate_api_key replaces its API key, and set_public_key
	// rewrites its public key (to the same key, restored afterwards;
	// the server forgets any private key it stored). Against a target
	// with Controls these checks run anyway, on accounts the suite
	// creates, and this field is not needed.
	AllowAccountChanges bool

	// RelaxStrings tolerates reworded fault strings: a fault with the
	// right code but another string is reported as a warning (a t.Log
	// line starting with "WARNING") and counted as such in the summary,
	// not as a pass. Fault codes are always checked.
	RelaxStrings bool

	// Mock says the target is this project's mock clearinghouse: the
	// checks of the contract's mock decisions and of §14 (where the mock
	// must differ from the historical server) run too. Controls != nil
	// implies it.
	Mock bool

	// Controls gives the suite the mock's test controls (clock,
	// population, accounts, failure injection). Checks that need them are
	// skipped when it is nil.
	Controls Controls

	// Restart, when set, stops the target and starts it again on the same
	// state, updating *tg (URL, CAFile, HTTPClient, Controls) to reach the
	// new instance. The Restart area calls it once, mid-run, and then
	// checks that accounts and holdings survived.
	Restart func(t *testing.T, tg *Target) error

	// CallTimeout bounds every call the suite makes (default 60 s).
	CallTimeout time.Duration
}

// Account is an account the suite uses. APIKey may be empty if
// PrivateKey is given: the suite then fetches the key through
// get_encrypted_api_key. Password enables the password checks.
type Account struct {
	Username   string
	APIKey     string
	Password   string
	PrivateKey string // "<d> <p> <q>"
}

// String hides the credentials, so that an Account printed by mistake
// leaks nothing.
func (a Account) String() string { return "account " + a.Username }

// GoString hides the credentials from %#v too.
func (a Account) GoString() string {
	return "conformance.Account{Username: " + strconv.Quote(a.Username) + "}"
}

// The environment variables TargetFromEnv reads.
const (
	EnvURL                 = "CLEARINGHOUSE_URL"
	EnvUsername            = "CLEARINGHOUSE_USERNAME"
	EnvAPIKey              = "CLEARINGHOUSE_API_KEY"
	EnvPrivateKeyFile      = "CLEARINGHOUSE_PRIVATE_KEY_FILE"
	EnvPassword            = "CLEARINGHOUSE_PASSWORD"
	EnvCAFile              = "CLEARINGHOUSE_CA_FILE"
	EnvAllowAcquire        = "CLEARINGHOUSE_ALLOW_ACQUIRE"
	EnvAllowAccountChanges = "CLEARINGHOUSE_ALLOW_ACCOUNT_CHANGES"
	EnvAdminURL            = "CLEARINGHOUSE_ADMIN_URL"
	EnvAdminToken          = "CLEARINGHOUSE_ADMIN_TOKEN"
	EnvCredsFile           = "CLEARINGHOUSE_CREDS_FILE"
	EnvRelaxStrings        = "CLEARINGHOUSE_RELAX_STRINGS"
	EnvMock                = "CLEARINGHOUSE_MOCK"
)

// credsFileAllowAcquire is the default vessel budget for a target read
// from a -creds-out file, which only the mock writes.
const credsFileAllowAcquire = 100

// TargetFromEnv builds a Target from the environment. ok is false when
// neither CLEARINGHOUSE_URL nor CLEARINGHOUSE_CREDS_FILE is set.
//
// With CLEARINGHOUSE_CREDS_FILE (a file written by mockclearinghouse
// -creds-out) the URL, CA file and accounts come from that file, the
// target counts as the mock, AllowAcquire defaults to 100, and the
// /admin/ controls are used if the mock serves them (-admin), with the
// admin token the file holds, if any.
//
// With CLEARINGHOUSE_URL, CLEARINGHOUSE_USERNAME and either
// CLEARINGHOUSE_API_KEY or CLEARINGHOUSE_PRIVATE_KEY_FILE are required. A
// second account may be given with the same names suffixed _2
// (CLEARINGHOUSE_USERNAME_2, ...). Optional: CLEARINGHOUSE_PASSWORD,
// CLEARINGHOUSE_CA_FILE, CLEARINGHOUSE_ALLOW_ACQUIRE (default 0:
// read-only), CLEARINGHOUSE_ALLOW_ACCOUNT_CHANGES=1,
// CLEARINGHOUSE_ADMIN_URL (a mock's /admin/ endpoint; implies
// CLEARINGHOUSE_MOCK) with CLEARINGHOUSE_ADMIN_TOKEN (its admin token, if
// it needs one), CLEARINGHOUSE_MOCK=1 and CLEARINGHOUSE_RELAX_STRINGS=1,
// which apply to both forms.
func TargetFromEnv() (tg Target, ok bool, err error) {
	credsFile := os.Getenv(EnvCredsFile)
	rawURL := os.Getenv(EnvURL)
	switch {
	case credsFile != "":
		tg, err = TargetFromCredsFile(credsFile)
		if err != nil {
			return Target{}, true, err
		}
	case rawURL != "":
		tg.Name = "deployment"
		tg.URL = rawURL
		tg.CAFile = os.Getenv(EnvCAFile)
		for _, suffix := range []string{"", "_2"} {
			a, present, err := accountFromEnv(suffix)
			if err != nil {
				return Target{}, true, err
			}
			if present {
				tg.Accounts = append(tg.Accounts, a)
			} else if suffix == "" {
				return Target{}, true, fmt.Errorf("conformance: %s is set but %s is not", EnvURL, EnvUsername)
			}
		}
	default:
		return Target{}, false, nil
	}
	if v := os.Getenv(EnvAllowAcquire); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Target{}, true, fmt.Errorf("conformance: %s=%q: want a number of vessels, 0 or more", EnvAllowAcquire, v)
		}
		tg.AllowAcquire = n
	}
	if tg.AllowAccountChanges, err = envBool(EnvAllowAccountChanges); err != nil {
		return Target{}, true, err
	}
	if tg.RelaxStrings, err = envBool(EnvRelaxStrings); err != nil {
		return Target{}, true, err
	}
	mock, err := envBool(EnvMock)
	if err != nil {
		return Target{}, true, err
	}
	tg.Mock = tg.Mock || mock
	if adminURL := os.Getenv(EnvAdminURL); adminURL != "" {
		hc, err := httpClientFor(tg.CAFile)
		if err != nil {
			return Target{}, true, err
		}
		c, err := NewHTTPControls(adminURL, hc, WithAdminToken(os.Getenv(EnvAdminToken)))
		if err != nil {
			return Target{}, true, err
		}
		tg.Controls = c
		tg.Mock = true
	}
	return tg, true, nil
}

func envBool(name string) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("conformance: %s=%q: want 1 or 0", name, v)
	}
	return b, nil
}

// accountFromEnv reads CLEARINGHOUSE_USERNAME<suffix> and its companions.
func accountFromEnv(suffix string) (Account, bool, error) {
	a := Account{
		Username: os.Getenv(EnvUsername + suffix),
		APIKey:   os.Getenv(EnvAPIKey + suffix),
		Password: os.Getenv(EnvPassword + suffix),
	}
	if a.Username == "" {
		return Account{}, false, nil
	}
	if path := os.Getenv(EnvPrivateKeyFile + suffix); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			// The path is not secret; the file's contents never appear.
			return Account{}, true, fmt.Errorf("conformance: %s: %v", EnvPrivateKeyFile+suffix, err)
		}
		a.PrivateKey = strings.TrimSpace(string(data))
	}
	if a.APIKey == "" && a.PrivateKey == "" {
		return Account{}, true, fmt.Errorf("conformance: %s is set but neither %s nor %s is",
			EnvUsername+suffix, EnvAPIKey+suffix, EnvPrivateKeyFile+suffix)
	}
	return a, true, nil
}

// TargetFromCredsFile reads a file written by mockclearinghouse
// -creds-out: URL, CA file, accounts and admin token. The target counts
// as the mock, may hold up to 100 vessels, and gets HTTP Controls if the
// mock serves /admin/ (it was started with -admin).
func TargetFromCredsFile(path string) (Target, error) {
	c, err := credsfile.Read(path)
	if err != nil {
		return Target{}, fmt.Errorf("conformance: %v", err)
	}
	if c.URL == "" || len(c.Accounts) == 0 {
		return Target{}, fmt.Errorf("conformance: creds file %s has no url or no accounts", path)
	}
	tg := Target{Name: "mock from " + path, URL: c.URL, CAFile: c.CAFile, Mock: true, AllowAcquire: credsFileAllowAcquire}
	for _, a := range c.Accounts {
		tg.Accounts = append(tg.Accounts, Account{Username: a.Username, APIKey: a.APIKey, Password: a.Password, PrivateKey: a.PrivateKey})
	}
	hc, err := httpClientFor(tg.CAFile)
	if err != nil {
		return Target{}, err
	}
	token := WithAdminToken(c.AdminToken)
	if admin := probeAdmin(hc, tg.URL, token); admin != "" {
		if tg.Controls, err = NewHTTPControls(admin, hc, token); err != nil {
			return Target{}, err
		}
	}
	return tg, nil
}

// adminURLFor returns the /admin/ URL on the host of an XML-RPC URL.
func adminURLFor(rpcURL string) (string, error) {
	u, err := url.Parse(rpcURL)
	if err != nil || u.Host == "" {
		return "", errors.New("conformance: cannot derive the admin URL from the XML-RPC URL")
	}
	u.Path, u.RawQuery, u.Fragment, u.User = "/admin/", "", "", nil
	return u.String(), nil
}

// probeAdmin returns the mock's admin URL if it answers, else "".
func probeAdmin(hc *http.Client, rpcURL string, opts ...HTTPControlsOption) string {
	admin, err := adminURLFor(rpcURL)
	if err != nil {
		return ""
	}
	c, err := NewHTTPControls(admin, hc, opts...)
	if err != nil {
		return ""
	}
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	if _, err := c.Now(ctx); err != nil {
		return ""
	}
	return admin
}
