//go:build unix

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/browsertest"
)

// The browser checks load a report in headless Chromium, as the person it
// is handed to would, the way the mock's status page is checked
// (mockserver/status_browser_test.go), both with internal/browsertest.
// They need Chromium: without it they are skipped, unless the environment
// variable CI is set (CI installs it). With UPDATE_SCREENSHOT=1 the
// screenshot of the passing run also replaces docs/conformance-report.png,
// the one the README shows.

// checkInBrowser runs the browser check of a report as the subtest
// "browser" of t, so that without Chromium only that subtest is skipped
// and the work before it (a whole suite run, say) still counts as passed.
// The subtest saves the report as a file, loads it in Chromium with the
// network off (the report must need none), and checks that the DOM the
// browser built holds only the report's own elements and that its visible
// text has each of wants; then it takes a screenshot, which replaces
// docs/<shot> with UPDATE_SCREENSHOT=1 (when shot is not "").
func checkInBrowser(t *testing.T, report string, shot string, wants []string) {
	t.Helper()
	t.Run("browser", func(t *testing.T) { browserCheck(t, report, shot, wants) })
}

func browserCheck(t *testing.T, report string, shot string, wants []string) {
	t.Helper()
	chromium := browsertest.FindChromium(t).Offline()
	page := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(page, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	dom := chromium.DOM(t, url)
	if !strings.Contains(dom, `<table class="grid summary">`) {
		t.Fatalf("the browser did not render the report:\n%s", browsertest.Tail(dom))
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
		t.Logf("visible text:\n%s", browsertest.Tail(text))
	}

	data := chromium.Screenshot(t, url, 32)
	if shot != "" {
		browsertest.UpdateScreenshot(t, data, filepath.Join("..", "..", "docs", shot))
	}
}

// closedDetails matches a <details> element the page does not open: its
// content is hidden but for its summary.
var closedDetails = regexp.MustCompile(`(?s)<details>\s*<summary>(.*?)</summary>.*?</details>`)

// visibleText is the text a person sees in an HTML body: the content of
// closed <details> elements removed, then the text of what is left
// (browsertest.Text).
func visibleText(s string) string {
	return browsertest.Text(closedDetails.ReplaceAllString(s, " $1 "))
}
