//go:build unix

package main

import (
	"bytes"
	"context"
	"html"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// The browser checks load a report in headless Chromium, as the person it
// is handed to would, the way the mock's status page is checked
// (mockserver/status_browser_test.go). They need Chromium: without it they
// are skipped, unless the environment variable CI is set (CI installs
// it). With UPDATE_SCREENSHOT=1 the screenshot of the passing run also
// replaces docs/conformance-report.png, the one the README shows.

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
// process group is killed when it is done or takes too long. The flags are
// those of the status page's test, with the network off: the report must
// need none.
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
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", // nothing can be fetched
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

// checkInBrowser saves the report as a file, loads it in Chromium, and
// checks that the DOM the browser built holds only the report's own
// elements and that its visible text has each of wants; then it takes a
// screenshot, which replaces docs/<shot> with UPDATE_SCREENSHOT=1 (when
// shot is not "").
func checkInBrowser(t *testing.T, report string, shot string, wants []string) {
	t.Helper()
	bin := findChromium()
	if bin == "" {
		testskip.Skipf(t, "no Chromium on PATH or at /usr/bin/chromium; install it to run this test (.ci/run installs it with apt-get install chromium)")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	dom := string(runChromium(t, bin, "--dump-dom", url))
	if !strings.Contains(dom, `<table class="grid summary">`) {
		t.Fatalf("the browser did not render the report:\n%s", tail(dom))
	}
	low := strings.ToLower(dom)
	for _, el := range []string{"<script", "<img", "<iframe", "<object", "<link", "<form"} {
		if strings.Contains(low, el) {
			t.Errorf("the DOM holds a %s> element the report did not write", el)
		}
	}
	_, body, _ := strings.Cut(dom, "<body")
	text := visibleText(body)
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("the report does not show %q", want)
		}
	}
	if t.Failed() {
		t.Logf("visible text:\n%s", tail(text))
	}

	file := filepath.Join(dir, "shot.png")
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
	if n := colors(img, 32); n < 32 {
		t.Errorf("screenshot has %d colors: blank or nearly", n)
	}
	if shot != "" && os.Getenv("UPDATE_SCREENSHOT") == "1" {
		dst := filepath.Join("..", "..", "docs", shot)
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", dst)
	}
}

// closedDetails matches a <details> element the page does not open: its
// content is hidden but for its summary.
var closedDetails = regexp.MustCompile(`(?s)<details>\s*<summary>(.*?)</summary>.*?</details>`)

// visibleText is the text a person sees in an HTML body: tags and the
// content of closed <details> elements removed, entities decoded, spaces
// collapsed.
func visibleText(s string) string {
	s = closedDetails.ReplaceAllString(s, " $1 ")
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		b.WriteByte(' ')
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		s = s[i+j+1:]
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
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
