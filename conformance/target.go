package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/chconfig"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
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
	// any one moment, over all accounts, on the server; 0 makes the run
	// read-only: no acquire_resources call with an account's credentials
	// is made at all. A check that would need more is skipped. Every call
	// that may acquire claims what it asks for first (at least one vessel
	// for any acquire_resources call, whatever its rspec); after a call
	// whose answer was lost the suite looks (get_resource_info) and counts
	// whatever appeared. Every vessel the suite acquires is released again
	// in cleanup, and nothing else is: not the vessels the accounts held
	// before the run. See the package documentation for the limits.
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
	// new instance. Two checks of the Restart area call it mid-run:
	// StateSurvives, which then checks that accounts and holdings
	// survived, and TimersSurvive, which checks that leases still end and
	// dirty vessels are still cleaned on time. t is the check's (a T
	// under Run).
	Restart func(t T, tg *Target) error

	// ReportDir, when set, makes Run write its report into this
	// directory (made if need be) when the test ends: the HTML page and
	// the JUnit XML file of Report.WriteHTML and Report.WriteJUnit, named
	// after the test, such as TestDeployment.html and
	// TestDeployment.junit.xml. TargetFromEnv sets it from
	// CLEARINGHOUSE_REPORT_DIR. Check ignores it: it returns the Report.
	ReportDir string

	// Kill, when set, ends the target abruptly, as a crash or a power cut
	// would, and starts it again on the same state, updating *tg like
	// Restart. For a process that is SIGKILL: no shutdown code runs, so
	// only what the target made durable before answering survives. The
	// checks Restart/Kill... make one kind of change each (an
	// acquisition, a renewal, a new API key, a donation, ...), call Kill,
	// and check that the change survived (contract §11: every change is
	// on disk before it is answered). They are skipped without it; a
	// deployment has neither Kill nor Restart.
	Kill func(t T, tg *Target) error

	// CallTimeout bounds every call the suite makes (default
	// DefaultCallTimeout, 30 s). A call that gets no answer within it
	// counts as unanswered: NoAnswerLimit of them in a row (one, before
	// the target has ever answered) stop the run.
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

// The environment variables TargetFromEnv reads. The ones naming the
// endpoint and the credentials are the command's too (cmd/clearinghouse),
// read by the same rule (see TargetFromEnv).
const (
	EnvURL                 = chconfig.EnvURL            // CLEARINGHOUSE_URL
	EnvUsername            = chconfig.EnvUsername       // CLEARINGHOUSE_USERNAME
	EnvAPIKey              = chconfig.EnvAPIKey         // CLEARINGHOUSE_API_KEY
	EnvPrivateKeyFile      = chconfig.EnvPrivateKeyFile // CLEARINGHOUSE_PRIVATE_KEY_FILE
	EnvPassword            = chconfig.EnvPassword       // CLEARINGHOUSE_PASSWORD
	EnvCAFile              = chconfig.EnvCAFile         // CLEARINGHOUSE_CA_FILE
	EnvAllowAcquire        = "CLEARINGHOUSE_ALLOW_ACQUIRE"
	EnvAllowAccountChanges = "CLEARINGHOUSE_ALLOW_ACCOUNT_CHANGES"
	EnvAdminURL            = chconfig.EnvAdminURL   // CLEARINGHOUSE_ADMIN_URL
	EnvAdminToken          = chconfig.EnvAdminToken // CLEARINGHOUSE_ADMIN_TOKEN
	EnvCredsFile           = chconfig.EnvCredsFile  // CLEARINGHOUSE_CREDS_FILE
	EnvRelaxStrings        = "CLEARINGHOUSE_RELAX_STRINGS"
	EnvMock                = "CLEARINGHOUSE_MOCK"
	EnvReportDir           = "CLEARINGHOUSE_REPORT_DIR"
)

// credsFileAllowAcquire is the default vessel budget for a target read
// from a -creds-out file, which only the mock writes.
const credsFileAllowAcquire = 100

// TargetFromEnv builds a Target from the environment. ok is false when
// neither CLEARINGHOUSE_URL nor CLEARINGHOUSE_CREDS_FILE is set.
//
// Each setting comes from its CLEARINGHOUSE_* variable, else from the
// creds file CLEARINGHOUSE_CREDS_FILE names (a file written by
// mockclearinghouse -creds-out): the command clearinghouse follows the
// same rule, below its flags. The variables are CLEARINGHOUSE_URL,
// CLEARINGHOUSE_CA_FILE, CLEARINGHOUSE_USERNAME (which also picks the
// creds file's account; default its first), CLEARINGHOUSE_API_KEY or
// CLEARINGHOUSE_PRIVATE_KEY_FILE (one of them is required; the two are
// taken together, from the environment or from the file's account),
// CLEARINGHOUSE_PASSWORD, and CLEARINGHOUSE_ADMIN_URL (a mock's /admin/
// endpoint; implies CLEARINGHOUSE_MOCK) with CLEARINGHOUSE_ADMIN_TOKEN (its
// admin token, if it needs one). A second account is given with the same
// names suffixed _2 (CLEARINGHOUSE_USERNAME_2, ...); without them, the
// creds file's other accounts follow the main one.
//
// A creds file makes the target count as the mock, with AllowAcquire 100
// and the /admin/ controls its admin_url names, if any. Suite settings,
// which have no creds-file counterpart: CLEARINGHOUSE_ALLOW_ACQUIRE
// (default 0, read-only, without a creds file),
// CLEARINGHOUSE_ALLOW_ACCOUNT_CHANGES=1, CLEARINGHOUSE_MOCK=1,
// CLEARINGHOUSE_RELAX_STRINGS=1 and CLEARINGHOUSE_REPORT_DIR (see
// Target.ReportDir).
//
// TargetFromEnv reads files but makes no network call; a wrong admin URL
// or token shows up as failing checks when the suite runs. Each file it
// reads (the creds file, private key files, the CA file) must be a regular
// file, not a directory, a named pipe or a device, within its limit (a
// creds file 16 MiB, a key 64 KiB, CA certificates 4 MiB); the error for
// one that is not names the variable and the path.
func TargetFromEnv() (tg Target, ok bool, err error) {
	if os.Getenv(EnvURL) == "" && os.Getenv(EnvCredsFile) == "" {
		return Target{}, false, nil
	}
	tg, err = targetFrom(chconfig.Flags{}, os.Getenv)
	if err != nil {
		return Target{}, true, err
	}
	if err := suiteSettingsFromEnv(&tg); err != nil {
		return Target{}, true, err
	}
	return tg, true, nil
}

// TargetFromCredsFile reads a file written by mockclearinghouse
// -creds-out, and nothing else (no environment variable): URL, CA file,
// accounts, and the /admin/ controls if the file names them (admin_url,
// written when the mock was started with -admin, with admin_token). The
// target counts as the mock and may hold up to 100 vessels. It makes no
// network call.
func TargetFromCredsFile(path string) (Target, error) {
	return targetFrom(chconfig.Flags{CredsFile: path}, func(string) string { return "" })
}

// targetFrom resolves the endpoint and the accounts (package chconfig's
// rule) into a Target.
func targetFrom(f chconfig.Flags, getenv func(string) string) (Target, error) {
	cfg, err := chconfig.Resolve(f, getenv)
	if err != nil {
		var ce *chconfig.Error
		if errors.As(err, &ce) {
			return Target{}, ce.WithPrefix("conformance: ")
		}
		return Target{}, err
	}
	tg := Target{Name: "deployment", URL: cfg.URL, CAFile: cfg.CAFile}
	if cfg.CredsFile != "" {
		tg.Name, tg.Mock, tg.AllowAcquire = "mock from "+cfg.CredsFile, true, credsFileAllowAcquire
	}
	switch {
	case tg.URL == "" && cfg.CredsFile != "":
		return Target{}, fmt.Errorf("conformance: creds file %s has no url", cfg.CredsFile)
	case tg.URL == "":
		return Target{}, fmt.Errorf("conformance: no URL: set %s", EnvURL)
	case cfg.Account.Username == "" && cfg.CredsFile != "":
		return Target{}, fmt.Errorf("conformance: creds file %s has no accounts", cfg.CredsFile)
	case cfg.Account.Username == "":
		return Target{}, fmt.Errorf("conformance: %s is set but %s is not", EnvURL, EnvUsername)
	}
	for _, ca := range append([]chconfig.Account{cfg.Account}, cfg.Others...) {
		a, err := accountFrom(ca)
		if err != nil {
			return Target{}, err
		}
		tg.Accounts = append(tg.Accounts, a)
	}
	if tg.CAFile != "" {
		// Read now, so that a CA file that cannot be used stops the run
		// before it starts.
		if _, err := httpClientFor(tg.CAFile); err != nil {
			return Target{}, fmt.Errorf("%w (named by %s)", err, cfg.CASource)
		}
	}
	if cfg.AdminURL != "" {
		hc, err := httpClientFor(tg.CAFile)
		if err != nil {
			return Target{}, err
		}
		if tg.Controls, err = NewHTTPControls(cfg.AdminURL, hc, WithAdminToken(cfg.AdminToken)); err != nil {
			return Target{}, err
		}
		tg.Mock = true
	}
	return tg, nil
}

// accountFrom reads the private key file, if any, and checks that the
// account has a key.
func accountFrom(ca chconfig.Account) (Account, error) {
	a := Account{Username: ca.Username, APIKey: ca.APIKey, Password: ca.Password, PrivateKey: ca.PrivateKey}
	if ca.PrivateKeyFile != "" {
		data, err := safefile.ReadFile(ca.PrivateKeyFile, safefile.MaxKey)
		if err != nil {
			// The path is not secret; the file's contents never appear.
			return Account{}, fmt.Errorf("conformance: the private key of %s (%s): %w", ca.Username, ca.PrivateKeyFileSource, err)
		}
		a.PrivateKey = strings.TrimSpace(string(data))
	}
	if a.APIKey == "" && a.PrivateKey == "" {
		return Account{}, fmt.Errorf("conformance: no API key or private key for %s: set %s or %s (suffixed _2 for a second account), or use a creds file that has them",
			ca.Username, EnvAPIKey, EnvPrivateKeyFile)
	}
	return a, nil
}

// suiteSettingsFromEnv applies the settings that only the suite has.
func suiteSettingsFromEnv(tg *Target) error {
	if v := os.Getenv(EnvAllowAcquire); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("conformance: %s=%q: want a number of vessels, 0 or more", EnvAllowAcquire, v)
		}
		tg.AllowAcquire = n
	}
	var err error
	if tg.AllowAccountChanges, err = envBool(EnvAllowAccountChanges); err != nil {
		return err
	}
	if tg.RelaxStrings, err = envBool(EnvRelaxStrings); err != nil {
		return err
	}
	mock, err := envBool(EnvMock)
	if err != nil {
		return err
	}
	tg.Mock = tg.Mock || mock
	tg.ReportDir = os.Getenv(EnvReportDir)
	return nil
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
