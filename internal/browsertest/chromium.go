//go:build unix

package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// Timeout bounds one run of Chromium.
const Timeout = 60 * time.Second

// The size of the window a screenshot is taken in, and so of the image.
const (
	ScreenshotWidth  = 1280
	ScreenshotHeight = 900
)

// EnvUpdateScreenshot is the environment variable that, set to 1, makes
// UpdateScreenshot replace the screenshots the documents show.
const EnvUpdateScreenshot = "UPDATE_SCREENSHOT"

// Chromium is a Chromium or Chrome binary, run headless.
type Chromium struct {
	path    string
	offline bool
}

// FindChromium returns the Chromium or Chrome on PATH, or else
// /usr/bin/chromium. Without one it skips t, or fails it under CI.
func FindChromium(t testing.TB) *Chromium {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return &Chromium{path: p}
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return &Chromium{path: "/usr/bin/chromium"}
	}
	testskip.Skipf(t, "no Chromium on PATH or at /usr/bin/chromium; install it to run this test (.ci/run installs it with apt-get install chromium)")
	return nil
}

// Offline returns the same browser with the network off: every request,
// to the loopback address too, goes to a proxy that is not there, so only
// file: URLs load. It is for a page that must need no network.
func (c *Chromium) Offline() *Chromium {
	return &Chromium{path: c.path, offline: true}
}

// Run runs the browser headless with a fresh profile and the given
// arguments, and returns what it printed on standard output. A failure,
// or no answer within Timeout, ends the test. The whole process group is
// killed when it is done.
func (c *Chromium) Run(t testing.TB, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--no-default-browser-check", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions",
		"--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(),
	}
	if c.offline {
		base = append(base, "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>")
	}
	cmd := exec.CommandContext(ctx, c.path, append(base, args...)...)
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
		t.Fatalf("chromium %s: no answer within %v\n%s", strings.Join(args, " "), Timeout, Tail(stderr.String()))
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, Tail(stderr.String()))
	}
	return stdout.Bytes()
}

// DOM loads url and returns the DOM the browser built from it.
func (c *Chromium) DOM(t testing.TB, url string) string {
	t.Helper()
	return string(c.Run(t, "--dump-dom", url))
}

// Screenshot loads url in a window of ScreenshotWidth by ScreenshotHeight
// and returns the screenshot, a PNG. It ends the test if there is none or
// it does not decode, and fails it if the image has another size or
// fewer than minColors colors (blank or nearly).
func (c *Chromium) Screenshot(t testing.TB, url string, minColors int) []byte {
	t.Helper()
	file := filepath.Join(t.TempDir(), "screenshot.png")
	c.Run(t, "--screenshot="+file, fmt.Sprintf("--window-size=%d,%d", ScreenshotWidth, ScreenshotHeight), url)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != ScreenshotWidth || b.Dy() != ScreenshotHeight {
		t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), ScreenshotWidth, ScreenshotHeight)
	}
	if n := colors(img, minColors); n < minColors {
		t.Errorf("screenshot has %d colors: blank or nearly", n)
	}
	return data
}

// UpdateScreenshot writes a screenshot to dst, the copy a document shows,
// when UPDATE_SCREENSHOT is 1; otherwise it does nothing.
func UpdateScreenshot(t testing.TB, data []byte, dst string) {
	t.Helper()
	if os.Getenv(EnvUpdateScreenshot) != "1" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", dst)
}
