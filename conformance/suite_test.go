package conformance

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/seattletestbed/clearinghouse-go/internal/leaktest"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

func TestRedactSecrets(t *testing.T) {
	t.Parallel()
	secrets := []string{"KEY123", "KEY123456", "11111111111111111111 22222222222222222222 33333333333333333333"}
	for _, tok := range strings.Fields(secrets[2]) {
		secrets = append(secrets, tok)
	}
	for _, c := range []struct{ in, want string }{
		{"key KEY123456 here", "key [REDACTED] here"},
		{"KEY123 and KEY123456", "[REDACTED] and [REDACTED]"},
		{"d only: 22222222222222222222", "d only: [REDACTED]"},
		{"nothing secret", "nothing secret"},
	} {
		if have := redactSecrets(c.in, append([]string(nil), secrets...)); have != c.want {
			t.Errorf("redactSecrets(%q) = %q, want %q", c.in, have, c.want)
		}
	}
}

func TestAddSecretsSplitsPrivateKeys(t *testing.T) {
	t.Parallel()
	s := &session{}
	s.addSecrets("123", "12345678901234567890 98765432109876543210 55555555555555555555")
	if have := s.redact("p = 98765432109876543210, short 123"); have != "p = [REDACTED], short 123" {
		t.Errorf("have %q", have)
	}
}

func TestFaultProblem(t *testing.T) {
	t.Parallel()
	f := func(code int, s string) error { return fmt.Errorf("wrapped: %w", &xmlrpc.Fault{Code: code, String: s}) }
	for _, c := range []struct {
		name       string
		err        error
		code       int
		want       string
		prefix     bool
		ok, strOnl bool
	}{
		{"match", f(101, "User auth failed."), 101, "User auth failed.", false, true, false},
		{"any string", f(101, "whatever"), 101, "", false, true, false},
		{"prefix", f(105, "Unable ... Details: x"), 105, "Unable ... Details: ", true, true, false},
		{"other string", f(101, "Authentication failed."), 101, "User auth failed.", false, false, true},
		{"other code", f(100, "User auth failed."), 101, "User auth failed.", false, false, false},
		{"success", nil, 101, "", false, false, false},
		{"transport", errors.New("connection refused"), 101, "", false, false, false},
	} {
		problem, stringOnly := faultProblem(c.err, c.code, c.want, c.prefix)
		if (problem == "") != c.ok || stringOnly != c.strOnl {
			t.Errorf("%s: problem %q stringOnly %v; want ok %v stringOnly %v", c.name, problem, stringOnly, c.ok, c.strOnl)
		}
	}
}

func goodInfodict() map[string]any {
	return map[string]any{
		"node_id": "65537 123", "node_ip": "10.0.0.1", "node_port": int64(1224), "vessel_id": "v2",
		"handle": "65537 123:v2", "is_active": true, "expires_in_seconds": int64(14400),
	}
}

func TestParseInfodicts(t *testing.T) {
	t.Parallel()
	vs, problems := parseInfodicts([]any{goodInfodict()})
	if len(problems) != 0 || len(vs) != 1 || vs[0].Handle != "65537 123:v2" || vs[0].Expires != 14400 || !vs[0].Active {
		t.Fatalf("a good infodict: %+v %v", vs, problems)
	}
	for name, mutate := range map[string]func(m map[string]any){
		"extra member":      func(m map[string]any) { m["extra"] = "x" },
		"missing is_active": func(m map[string]any) { delete(m, "is_active") },
		"string port":       func(m map[string]any) { m["node_port"] = "1224" },
		"int is_active":     func(m map[string]any) { m["is_active"] = int64(1) },
		"wrong handle":      func(m map[string]any) { m["handle"] = "65537 123:v3" },
		"bad vessel id":     func(m map[string]any) { m["vessel_id"], m["handle"] = "x2", "65537 123:x2" },
		"bad ip":            func(m map[string]any) { m["node_ip"] = "10.0.0.256" },
		"port 0":            func(m map[string]any) { m["node_port"] = int64(0) },
		"double expiry":     func(m map[string]any) { m["expires_in_seconds"] = 14400.0 },
	} {
		m := goodInfodict()
		mutate(m)
		if _, problems := parseInfodicts([]any{m}); len(problems) == 0 {
			t.Errorf("%s: no problem found", name)
		}
	}
	if _, problems := parseInfodicts(map[string]any{}); len(problems) == 0 {
		t.Error("a struct instead of an array: no problem found")
	}
	if _, problems := parseInfodicts([]any{}); len(problems) != 0 {
		t.Errorf("an empty array: %v", problems)
	}
	m := goodInfodict()
	m["node_ip"] = "NAT$abc"
	if _, problems := parseInfodicts([]any{m}); len(problems) != 0 {
		t.Errorf("a NAT address: %v", problems)
	}
}

func TestParseAccountInfo(t *testing.T) {
	t.Parallel()
	good := map[string]any{"user_port": int64(63100), "user_name": "alice", "max_vessels": int64(10), "user_affiliation": "U"}
	if info, problems := parseAccountInfo(good); len(problems) != 0 || info.UserName != "alice" || info.MaxVessels != 10 {
		t.Errorf("good: %+v %v", info, problems)
	}
	for name, m := range map[string]map[string]any{
		"old docs' keys": {"user_port": int64(63100), "user_name": "alice", "max_vessel": int64(10), "user_affiliation": "U"},
		"extra key":      {"user_port": int64(63100), "user_name": "alice", "max_vessels": int64(10), "user_affiliation": "U", "urlinstaller": "x"},
		"string port":    {"user_port": "63100", "user_name": "alice", "max_vessels": int64(10), "user_affiliation": "U"},
	} {
		if _, problems := parseAccountInfo(m); len(problems) == 0 {
			t.Errorf("%s: no problem found", name)
		}
	}
}

func TestDecryptProblem(t *testing.T) {
	t.Parallel()
	pub, priv, err := seattlersa.GenerateKey(nil, 512)
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := seattlersa.GenerateKey(nil, 512)
	if err != nil {
		t.Fatal(err)
	}
	key := seattlersa.NewAPIKey(nil)
	ct, err := seattlersa.EncryptAPIKey(nil, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	if p := decryptProblem(priv, ct, key); p != "" {
		t.Errorf("the right key: %s", p)
	}
	for name, c := range map[string]struct {
		priv    *seattlersa.PrivateKey
		ct, key string
	}{
		"another API key":     {priv, ct, "OTHER"},
		"another private key": {other, ct, key},
		"leading space":       {priv, " " + ct, key},
		"two blocks":          {priv, ct + " " + ct, key},
		"not a number":        {priv, "12a", key},
	} {
		if p := decryptProblem(c.priv, c.ct, c.key); p == "" {
			t.Errorf("%s: no problem found", name)
		}
	}
}

func TestAPIKeyProblem(t *testing.T) {
	t.Parallel()
	if p := apiKeyProblem(seattlersa.NewAPIKey(nil)); p != "" {
		t.Error(p)
	}
	for _, k := range []string{"", "0123456789ABCDEFGHIJKLMNPQRSTUVW0", "0123456789ABCDEFGHIJKLMNPQRSTUVO", "0123456789ABCDEFGHIJKLMNPQRSTUV0", "0123456789abcdefghijklmnpqrstuvw"} {
		if apiKeyProblem(k) == "" {
			t.Errorf("%q: no problem found", k)
		}
	}
}

func TestWithPath(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ u, p, want string }{
		{"https://h:1/xmlrpc/", "/RPC2", "https://h:1/RPC2"},
		{"http://h", "/x", "http://h/x"},
		{"http://user@h/a/b?q", "/c", "http://user@h/c"},
	} {
		if have := withPath(c.u, c.p); have != c.want {
			t.Errorf("withPath(%q, %q) = %q, want %q", c.u, c.p, have, c.want)
		}
	}
}

func TestAccountHidesCredentials(t *testing.T) {
	t.Parallel()
	a := Account{Username: "alice", APIKey: "SECRETKEY", Password: "SECRETPW", PrivateKey: "1 2 3"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, a); strings.Contains(out, "SECRET") || !strings.Contains(out, "alice") {
			t.Errorf("%s: %s", verb, out)
		}
	}
	tg := Target{URL: "http://x/", Accounts: []Account{a}}
	if out := fmt.Sprintf("%+v", tg); strings.Contains(out, "SECRET") {
		t.Errorf("a Target printed with %%+v shows a secret: %s", out)
	}
}

func TestUnmet(t *testing.T) {
	t.Parallel()
	s := &session{
		tg:       Target{URL: "http://x/"},
		budget:   3,
		accounts: []*acct{{name: "alice", apiKey: "k"}},
	}
	for _, c := range []struct {
		n    needs
		want string // a word of the reason, "" for none
	}{
		{needs{}, ""},
		{needs{vessels: 3}, ""},
		{needs{vessels: 4}, "the budget is 3: set CLEARINGHOUSE_ALLOW_ACQUIRE=4 or more"},
		{needs{vessels: 4, expectsFaults: true}, "a lenient server could turn into acquisitions of up to 4 vessels"},
		{needs{controls: true}, "Controls"},
		{needs{mock: true}, "mock"},
		{needs{restart: true}, "Restart"},
		{needs{changes: true}, "AllowAccountChanges"},
		{needs{password: true}, "password"},
		{needs{privateKey: true}, "private key"},
		{needs{second: true}, "second account"},
	} {
		have := s.unmet(c.n)
		if (have == "") != (c.want == "") || !strings.Contains(have, c.want) {
			t.Errorf("unmet(%+v) = %q, want one mentioning %q", c.n, have, c.want)
		}
	}
	// Each reason that asks for a setting says how to give it from the
	// command line (the conformance command's flags and the environment it
	// reads), not only by its Go name, or says that only Go can.
	for _, c := range []struct {
		n    needs
		want []string
	}{
		{needs{mock: true}, []string{"-creds FILE", EnvMock + "=1", "Target.Mock"}},
		{needs{controls: true}, []string{"mockclearinghouse -admin", "-creds FILE", EnvAdminURL, "Target.Controls"}},
		{needs{changes: true}, []string{"-admin", EnvAllowAccountChanges + "=1", "Target.AllowAccountChanges"}},
		{needs{restart: true}, []string{"Target.Restart", "the conformance command cannot"}},
		{needs{kill: true}, []string{"Target.Kill", "the conformance command cannot"}},
	} {
		have := s.unmet(c.n)
		for _, w := range c.want {
			if !strings.Contains(have, w) {
				t.Errorf("unmet(%+v) = %q, want it to mention %q", c.n, have, w)
			}
		}
	}
	s.budget = 0
	if have := s.unmet(needs{vessels: 1}); !strings.Contains(have, "read-only: set CLEARINGHOUSE_ALLOW_ACQUIRE=1 or more") {
		t.Errorf("with no budget: %q", have)
	}
	s.budget, s.noAcquire = 3, "the look failed"
	if have := s.unmet(needs{vessels: 1}); have != "not run: the look failed" {
		t.Errorf("once acquisitions stopped: %q", have)
	}
	if have := s.unmet(needs{}); have != "" {
		t.Errorf("once acquisitions stopped, a read-only check: %q", have)
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	sr := summaryFixture()
	out := sr.report().summary()
	for _, want := range []string{
		"conformance summary (demo)",
		"  Auth                  3      1       0      1        2",
		"  total                 3      1       1      1        2",
		"Expiry/LeaseRunsOut: needs Controls",
		"warned: fault strings differed",
		"failed:\n    Auth/WrongKey: have fault 100, want 101",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
}

// summaryFixture is a finished run with a check of each outcome.
func summaryFixture() *suiteRun {
	s := &session{tg: Target{Name: "demo"}}
	sr := newSuiteRun(context.Background(), s.tg, "")
	sr.s, sr.running = s, true
	check := func(area, name string, st status, msgs ...message) {
		r := s.newRecord(area, name)
		for _, m := range msgs {
			r.addMsg(m.kind, m.text)
		}
		r.finish(st)
	}
	s.newRecord("Auth", "")
	for _, name := range []string{"NotAStruct", "MissingMembers", "UnknownUser"} {
		check("Auth", name, statusPassed)
	}
	check("Auth", "KeyExact", statusWarned, message{msgWarning, "a"}, message{msgWarning, "b"})
	check("Auth", "WrongKey", statusFailed, message{msgError, "have fault 100, want 101\nmore"})
	s.newRecord("Expiry", "")
	check("Expiry", "LeaseRunsOut", statusSkipped, message{msgSkip, "needs Controls"})
	return sr
}

func TestTargetFromEnv(t *testing.T) {
	// Not parallel: it sets environment variables.
	for _, name := range []string{EnvURL, EnvUsername, EnvAPIKey, EnvPrivateKeyFile, EnvPassword, EnvCAFile,
		EnvAllowAcquire, EnvAllowAccountChanges, EnvAdminURL, EnvCredsFile, EnvRelaxStrings, EnvMock, EnvReportDir,
		EnvUsername + "_2", EnvAPIKey + "_2", EnvPrivateKeyFile + "_2", EnvPassword + "_2"} {
		t.Setenv(name, "")
	}
	if _, ok, err := TargetFromEnv(); ok || err != nil {
		t.Fatalf("nothing set: ok %v err %v", ok, err)
	}

	t.Setenv(EnvURL, "https://example.invalid/xmlrpc/")
	if _, ok, err := TargetFromEnv(); !ok || err == nil {
		t.Fatalf("a URL without a username: ok %v err %v", ok, err)
	}
	t.Setenv(EnvUsername, "alice")
	if _, _, err := TargetFromEnv(); err == nil {
		t.Fatal("a username without a key: no error")
	}
	t.Setenv(EnvAPIKey, "KEY")
	t.Setenv(EnvAllowAcquire, "7")
	t.Setenv(EnvRelaxStrings, "1")
	t.Setenv(EnvReportDir, "reports")
	tg, ok, err := TargetFromEnv()
	if !ok || err != nil {
		t.Fatalf("ok %v err %v", ok, err)
	}
	if tg.URL != "https://example.invalid/xmlrpc/" || len(tg.Accounts) != 1 || tg.Accounts[0].APIKey != "KEY" ||
		tg.AllowAcquire != 7 || !tg.RelaxStrings || tg.Mock || tg.Controls != nil || tg.ReportDir != "reports" {
		t.Fatalf("target %+v", tg)
	}
	t.Setenv(EnvAllowAcquire, "-1")
	if _, _, err := TargetFromEnv(); err == nil {
		t.Fatal("a negative budget: no error")
	}
	t.Setenv(EnvAllowAcquire, "")
	keyFile := filepath.Join(t.TempDir(), "bob.privatekey")
	if err := os.WriteFile(keyFile, []byte("1 2 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvUsername+"_2", "bob")
	t.Setenv(EnvPrivateKeyFile+"_2", keyFile)
	t.Setenv(EnvAdminURL, "http://127.0.0.1:1/admin/")
	tg, _, err = TargetFromEnv()
	if err != nil || len(tg.Accounts) != 2 || tg.Accounts[1].PrivateKey != "1 2 3" || tg.Controls == nil || !tg.Mock {
		t.Fatalf("second account and admin: %+v %v", tg, err)
	}
	if tg.AllowAcquire != 0 {
		t.Errorf("the default budget of a deployment is %d, want 0", tg.AllowAcquire)
	}

	creds := filepath.Join(t.TempDir(), "creds.json")
	data := `{"url": "http://127.0.0.1:1/xmlrpc/", "ca_file": "", "accounts": [{"username": "demo1", "password": "pw", "api_key": "K", "public_key": "3 55", "private_key": "1 5 11"}]}`
	if err := os.WriteFile(creds, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	// The creds file alone: each variable still set would beat the file's
	// setting (TestTargetFromEnvPrecedence).
	for _, name := range []string{EnvURL, EnvAdminURL, EnvUsername, EnvAPIKey, EnvUsername + "_2", EnvPrivateKeyFile + "_2"} {
		t.Setenv(name, "")
	}
	t.Setenv(EnvCredsFile, creds)
	tg, ok, err = TargetFromEnv()
	if !ok || err != nil || tg.URL != "http://127.0.0.1:1/xmlrpc/" || !tg.Mock || tg.AllowAcquire != 100 ||
		len(tg.Accounts) != 1 || tg.Accounts[0].Password != "pw" || tg.Controls != nil {
		t.Fatalf("creds file: %+v ok %v err %v", tg, ok, err)
	}
	if err := os.WriteFile(creds, []byte(`{"url": "x", "accounts": [{"api_key": "SECRET`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := TargetFromEnv(); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("a broken creds file: %v", err)
	}
}

// TestReportWellFormed: texts no XML-RPC response can carry (control
// characters, invalid UTF-8, markup) still give a well-formed JUnit file
// and an HTML page that shows them as text.
func TestReportWellFormed(t *testing.T) {
	t.Parallel()
	sr := summaryFixture()
	r := sr.s.newRecord("Auth", "Odd")
	r.addError("nul \x00 esc \x1b[31m bad \xff\xfe <b>bold</b> ]]> end")
	r.noteFault("get_account_info", &xmlrpc.Fault{Code: 101, String: "\x07<i>"})
	r.finish(statusFailed)
	rep := sr.report()
	var j, h strings.Builder
	if err := rep.WriteJUnit(&j); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(j.String()))
	dec.Strict = true
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the JUnit file is not well-formed: %v\n%s", err, j.String())
		}
	}
	if err := rep.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h.String(), "<b>") || strings.Contains(h.String(), "<i>") || !strings.Contains(h.String(), "&lt;b&gt;bold&lt;/b&gt;") {
		t.Errorf("the HTML page does not show the markup as text")
	}
	if !utf8.ValidString(h.String()) || !utf8.ValidString(j.String()) {
		t.Errorf("invalid UTF-8 in the report")
	}
	// Control characters and bytes that are not UTF-8 are shown escaped.
	for name, text := range map[string]string{"HTML": h.String(), "JUnit": j.String()} {
		if cc := leaktest.ControlChars(text); len(cc) > 0 {
			t.Errorf("the %s report has control characters %v", name, cc)
		}
		if !strings.Contains(text, `nul \x00 esc \x1b[31m bad \xff\xfe`) {
			t.Errorf("the %s report does not show the escaped text", name)
		}
	}
}
