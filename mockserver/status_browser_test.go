//go:build unix

package mockserver

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// The browser test loads the status page in headless Chromium, as a person
// would, and saves a screenshot. It needs Chromium: without it the test is
// skipped, unless the environment variable CI is set (CI installs it).
// With UPDATE_SCREENSHOT=1 the screenshot also replaces
// docs/status-page.png, the one the README shows.

const (
	browserTimeout   = 60 * time.Second
	screenshotWidth  = 1280
	screenshotHeight = 900
)

// findChromium returns the path of a Chromium or Chrome binary, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// runChromium runs headless Chromium with a fresh profile and the given
// arguments, and returns what it printed on standard output. The whole
// process group is killed when it is done or takes too long.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--no-default-browser-check", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions",
		"--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		// Chromium's helpers (zygote, crash handler) may outlive it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil {
		t.Fatalf("chromium %s: no answer within %v\n%s", strings.Join(args, " "), browserTimeout, tail(stderr.String()))
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.String()))
	}
	return stdout.Bytes()
}

// tail keeps the end of a long error output.
func tail(s string) string {
	const keep = 2000
	if len(s) > keep {
		return "..." + s[len(s)-keep:]
	}
	return s
}

// browserFixture is a mock with a little of everything: a population,
// accounts with vessels (one renewed), an affiliation that needs escaping
// and calls over HTTP, one of them a fault.
func browserFixture(t *testing.T) *Server {
	t.Helper()
	s := newTestServer(t,
		WithPopulation(PopulationConfig{Nodes: 2000, NATFraction: 0.1, Seed: 1}),
		WithTimeScale(60), // shown; the frozen test clock keeps readings fixed
	)
	alice := addUser(t, s, "alice", func(a *AccountSpec) {
		a.Affiliation = "University of Washington"
		a.FreeCredits = 20
	})
	bob := addUser(t, s, "bob", func(a *AccountSpec) { a.Affiliation = "Example Lab <R&D>"; a.UserPort = 63110 })
	carol := addUser(t, s, "carol", func(a *AccountSpec) { a.Affiliation = "NYU Tandon"; a.UserPort = 63150 })
	kept := acquire(t, s, alice, "wan", 4)
	acquire(t, s, alice, "lan", 3)
	acquire(t, s, bob, "nat", 2)
	mustCall(t, s, "renew_resources", auth(alice), anyList(kept[:2]))
	if err := s.Advance(17*time.Minute + 30*time.Second); err != nil {
		t.Fatal(err)
	}
	rpcOverHTTP(t, s, "get_account_info", auth(alice))
	rpcOverHTTP(t, s, "get_resource_info", auth(alice))
	rpcOverHTTP(t, s, "acquire_resources", auth(carol), rspec("random", int64(3)))
	rpcOverHTTP(t, s, "acquire_resources", auth(bob), rspec("wan", int64(12)))
	rpcOverHTTP(t, s, "get_account_info", map[string]any{"username": "mallory", "api_key": "wrong"})
	p, err := ParseFaultSpec("seed=5;get_public_key:unavailable,next=1;get_account_info@carol:latency=1ms")
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.SetFaults(p))
	if rec := serve(t, s, "POST", "/xmlrpc/", callDoc("get_public_key", auth(alice))); rec.Code != 503 {
		t.Fatalf("injected unavailable: status %d", rec.Code)
	}
	return s
}

func TestStatusPageInBrowser(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		testskip.Skipf(t, "no Chromium on PATH or at /usr/bin/chromium; install it to run this test (.ci/run installs it with apt-get install chromium)")
	}
	t.Parallel()
	s := browserFixture(t)
	srv := httptest.NewServer(s) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	url := srv.URL + "/"

	t.Run("what a person sees", func(t *testing.T) {
		dom := string(runChromium(t, bin, "--dump-dom", url))
		if !strings.Contains(dom, "<table") {
			t.Fatalf("the browser did not render the page:\n%s", tail(dom))
		}
		// No element but the page's own: the affiliation stayed text.
		if strings.Contains(strings.ToLower(dom), "<script") || strings.Contains(dom, "<r&d>") {
			t.Errorf("the DOM holds an element the page did not write")
		}
		_, body, _ := strings.Cut(dom, "<body")
		text := visibleText(body)
		for _, want := range []string{
			"Mock clearinghouse",
			"Mock clock 2030-01-02 03:21:35.000 UTC time scale 60× real time",
			"alice University of Washington 63100 7 / 20",
			"6d23h42m", // renewed
			"3h42m",    // acquired
			"bob Example Lab <R&D> 63110 2 / 10",
			"carol NYU Tandon 63150 3 / 10",
			"Nodes 2000",
			"behind NAT 200",
			"acquire_resources bob fault 103 not enough credits",
			"get_account_info mallory fault 101 auth",
			"get_resource_info alice ok",
			"get_public_key alice not applied unavailable",
			"Injected faults 2 rules get_public_key:unavailable,next=1 fired 1 get_account_info@carol:latency=1ms fired 0 seed 5 unavailable 1",
			"Client behaviour 3 findings;",
			"leak alice holds 7 vessels never released",
			"leak carol holds 3 vessels never released",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("the page does not show %q", want)
			}
		}
		if t.Failed() {
			t.Logf("visible text:\n%s", text)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "status-page.png")
		runChromium(t, bin, "--screenshot="+file, "--window-size=1280,900", url)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("no screenshot: %v", err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("the screenshot is not a PNG: %v", err)
		}
		if b := img.Bounds(); b.Dx() != screenshotWidth || b.Dy() != screenshotHeight {
			t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), screenshotWidth, screenshotHeight)
		}
		if n := colors(img, 64); n < 64 {
			t.Errorf("screenshot has %d colors: blank or nearly", n)
		}
		if os.Getenv("UPDATE_SCREENSHOT") == "1" {
			dst := filepath.Join("..", "docs", "status-page.png")
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", dst)
		}
	})
}

// colors counts the distinct colors of an image, stopping at limit.
func colors(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}
