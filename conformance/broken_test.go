package conformance_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/conformance/mockcontrols"
	"github.com/seattletestbed/clearinghouse-go/internal/conformancetest"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// The suite is tested by running it against mocks broken on purpose, in a
// child process (a failing Run cannot be contained in this one), and
// checking that it fails exactly where it should.

// leakKey is the API key of the broken target's account; the suite must
// never print it, even when the server echoes it back.
const leakKey = "LEAKCHECK0123456789ABCDEFGHIJKLM"

// A mutation breaks one behaviour of the mock.
type mutation struct {
	name     string
	areas    string   // -run pattern for the areas to run
	relax    bool     // run with RelaxStrings
	wantFail []string // leaves that must fail (Area/Check)
	wantPass []string // leaves that must pass (or be warned, with relax)
	wantOut  []string // text the output must contain
	rewrite  func(method string, req []byte, status int, body []byte) (int, []byte)
	// silentAfter, when not 0, makes the target stop answering after
	// that many calls; the run has a call timeout of 300 ms and fails.
	silentAfter int
}

var mutations = []mutation{
	{
		name:     "reworded-auth",
		areas:    "Auth",
		wantFail: []string{"Auth/WrongKey", "Auth/UnknownUser", "Auth/KeyExact", "Auth/PasswordAuth", "Auth/InactiveAccount"},
		wantPass: []string{"Auth/NotAStruct", "Auth/MissingMembers"},
		rewrite:  conformancetest.ReplaceInBody("User auth failed.", "Authentication failed."),
	},
	{
		name:     "reworded-auth-relaxed",
		areas:    "Auth",
		relax:    true,
		wantPass: []string{"Auth/WrongKey", "Auth/UnknownUser", "Auth/NotAStruct"},
		wantOut:  []string{"WARNING: ", "warned: fault strings differed"},
		rewrite:  conformancetest.ReplaceInBody("User auth failed.", "Authentication failed."),
	},
	{
		name:     "wrong-code-relaxed",
		areas:    "Faults",
		relax:    true,
		wantFail: []string{"Faults/RSpecValues"},
		wantPass: []string{"Faults/RSpecMissing"},
		rewrite: func(method string, req []byte, status int, body []byte) (int, []byte) {
			if bytes.Contains(body, []byte("rspec has invalid values.")) {
				body = bytes.Replace(body, []byte("<int>102</int>"), []byte("<int>100</int>"), 1)
			}
			return status, body
		},
	},
	{
		name:     "nil-instead-of-zero",
		areas:    "Release|Renew",
		wantFail: []string{"Release/Frees", "Renew/SevenDays"},
		rewrite: func(method string, req []byte, status int, body []byte) (int, []byte) {
			return status, bytes.ReplaceAll(body, []byte("<value><int>0</int></value>"), []byte("<value><nil/></value>"))
		},
	},
	{
		name:     "extra-infodict-member",
		areas:    "Acquire",
		wantFail: []string{"Acquire/Random", "Acquire/WAN"},
		rewrite: conformancetest.ReplaceInBody("<member><name>handle</name>",
			"<member><name>extra</name><value><string>x</string></value></member><member><name>handle</name>"),
	},
	{
		name:     "no-banner",
		areas:    "HTTP",
		wantFail: []string{"HTTP/BannerGET", "HTTP/HEAD"},
		wantPass: []string{"HTTP/BannerEmptyPOST", "HTTP/ContentLength"},
		rewrite: func(method string, req []byte, status int, body []byte) (int, []byte) {
			if method == http.MethodGet || method == http.MethodHead {
				return http.StatusNotFound, []byte("nope")
			}
			return status, body
		},
	},
	{
		name:     "renew-extends",
		areas:    "Renew",
		wantFail: []string{"Renew/SevenDays", "Renew/ResetNotExtended"},
		rewrite: func(method string, req []byte, status int, body []byte) (int, []byte) {
			re := regexp.MustCompile(`(<name>expires_in_seconds</name><value><int>)(\d+)`)
			return status, re.ReplaceAllFunc(body, func(m []byte) []byte {
				sub := re.FindSubmatch(m)
				n, _ := strconv.Atoi(string(sub[2]))
				if n > 4*3600 {
					n += 24 * 3600 // a renewal that adds a day to the lease
				}
				return append(sub[1], strconv.Itoa(n)...)
			})
		},
	},
	{
		name:     "expires-rounded-up",
		areas:    "Expiry",
		wantFail: []string{"Expiry/ExactLease", "Expiry/ExactRenewal"},
		wantPass: []string{"Expiry/ExactCleanup", "Expiry/CleanupWaitsForNode"},
		// A server that rounds up says 14400 and 604800 half a second
		// into a lease or a renewal, where the floor is 14399 and 604799.
		rewrite: func(method string, req []byte, status int, body []byte) (int, []byte) {
			body = bytes.ReplaceAll(body, []byte("<int>14399</int>"), []byte("<int>14400</int>"))
			return status, bytes.ReplaceAll(body, []byte("<int>604799</int>"), []byte("<int>604800</int>"))
		},
	},
	{
		name:     "never-port-63179",
		areas:    "Sampling",
		wantFail: []string{"Sampling/UserPorts"},
		rewrite:  conformancetest.ReplaceInBody("<name>user_port</name><value><int>63179</int>", "<name>user_port</name><value><int>63178</int>"),
	},
	{
		name:     "python-type-names",
		areas:    "Faults",
		wantFail: []string{"Faults/HandleElementTypes", "Faults/HandleNonASCII"},
		wantPass: []string{"Faults/HandleFormat"},
		rewrite:  conformancetest.ReplaceInBody("&lt;type '", "&lt;class '"),
	},
	{
		name:     "auth-before-arity",
		areas:    "Dispatch",
		wantFail: []string{"Dispatch/Arity"},
		wantPass: []string{"Dispatch/UnknownMethod"},
		rewrite: func(method string, req []byte, status int, body []byte) (int, []byte) {
			if bytes.Contains(body, []byte("Internal error while handling")) && bytes.Contains(req, []byte("wrong")) {
				body = bytes.Replace(body, []byte("<int>100</int>"), []byte("<int>101</int>"), 1)
			}
			return status, body
		},
	},
	{
		// Run, under go test, stops when the target stops answering: the
		// test fails with one message, and no check starts after it.
		name:        "stops-answering",
		areas:       "HTTP|Dispatch|Auth",
		silentAfter: 6,
		wantOut:     []string{"conformance: the target did not answer: http://127.0.0.1:", ": no answer within 300ms (3 calls in a row)"},
		rewrite:     func(method string, req []byte, status int, body []byte) (int, []byte) { return status, body },
	},
	{
		name:     "echoes-the-api-key",
		areas:    "AccountInfo",
		wantFail: []string{"AccountInfo/Shape"},
		wantOut:  []string{"[REDACTED]"},
		rewrite: func(method string, req []byte, status int, body []byte) (int, []byte) {
			if !bytes.Contains(req, []byte("get_account_info")) {
				return status, body
			}
			re := regexp.MustCompile(`(<name>user_name</name><value><string>)[^<]*`)
			return status, re.ReplaceAll(body, []byte("${1}leaked "+leakKey))
		},
	},
}

// TestSuiteDetectsBrokenTargets runs each mutation in a child process.
func TestSuiteDetectsBrokenTargets(t *testing.T) {
	t.Parallel()
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenTarget$/^("+m.areas+")$", "-test.v", "-test.count=1")
			reports := t.TempDir()
			cmd.Env = append(os.Environ(), "CONFORMANCE_BROKEN="+m.name, "CONFORMANCE_REPORT_DIR="+reports)
			out, err := cmd.CombinedOutput()
			text := string(out)
			failed := len(m.wantFail) > 0 || m.silentAfter > 0
			if (err != nil) != failed {
				t.Errorf("child exit error %v, want failure %v\n%s", err, failed, text)
			}
			for _, leaf := range m.wantFail {
				if !strings.Contains(text, "--- FAIL: TestBrokenTarget/"+leaf+" ") {
					t.Errorf("%s did not fail\n%s", leaf, text)
				}
			}
			for _, leaf := range m.wantPass {
				if !strings.Contains(text, "--- PASS: TestBrokenTarget/"+leaf+" ") {
					t.Errorf("%s did not pass\n%s", leaf, text)
				}
			}
			for _, want := range m.wantOut {
				if !strings.Contains(text, want) {
					t.Errorf("the output lacks %q\n%s", want, text)
				}
			}
			if strings.Contains(text, leakKey) {
				t.Errorf("the output contains the API key")
			}
			// The report Run wrote fails exactly the checks go test failed.
			html, junit, js := readReportDir(t, reports)
			var goTestFailed []string
			for _, m := range regexp.MustCompile(`--- FAIL: TestBrokenTarget/(\w+/\w+) `).FindAllStringSubmatch(text, -1) {
				goTestFailed = append(goTestFailed, m[1])
			}
			slices.Sort(goTestFailed)
			reportFailed := js.Failed()
			slices.Sort(reportFailed)
			if !slices.Equal(reportFailed, goTestFailed) {
				t.Errorf("the JUnit file fails %v; go test failed %v", reportFailed, goTestFailed)
			}
			if strings.Contains(html+junit, leakKey) {
				t.Errorf("the report contains the API key")
			}
		})
	}
}

// TestBrokenTarget is the child side: it runs the suite against the
// mutation CONFORMANCE_BROKEN names, and is skipped otherwise.
func TestBrokenTarget(t *testing.T) {
	name := os.Getenv("CONFORMANCE_BROKEN")
	if name == "" {
		testskip.ChildProcess.Skipf(t, "run by TestSuiteDetectsBrokenTargets")
	}
	var m *mutation
	for i := range mutations {
		if mutations[i].name == name {
			m = &mutations[i]
		}
	}
	if m == nil {
		t.Fatalf("no mutation %q", name)
	}
	mock, err := mockserver.New(
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 40, NATFraction: 0.1, Seed: 5}),
		mockserver.WithKeyBits(512),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer mock.Close()
	var h http.Handler = &conformancetest.Rewriter{Next: mock, Rewrite: m.rewrite}
	var timeout time.Duration
	if m.silentAfter > 0 {
		var mu sync.Mutex
		calls := 0
		h = &conformancetest.Meter{Next: h, Held: func() int { return 0 }, Decide: func(conformancetest.Call) conformancetest.Action {
			mu.Lock()
			defer mu.Unlock()
			if calls++; calls > m.silentAfter {
				return conformancetest.HangBefore
			}
			return conformancetest.Pass
		}}
		timeout = 300 * time.Millisecond
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	a, err := mock.AddAccount(mockapi.AccountSpec{Username: "carol", Password: "password-carol", Affiliation: "Broken U", APIKey: leakKey})
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, conformance.Target{
		Name:         "mock broken by " + name,
		URL:          srv.URL + "/xmlrpc/",
		Accounts:     []conformance.Account{{Username: a.Username, APIKey: a.APIKey, Password: a.Password, PrivateKey: a.PrivateKey}},
		AllowAcquire: 20,
		RelaxStrings: m.relax,
		Mock:         true,
		Controls:     mockcontrols.New(mock),
		ReportDir:    os.Getenv("CONFORMANCE_REPORT_DIR"),
		CallTimeout:  timeout,
	})
}
