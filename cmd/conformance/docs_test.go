package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/internal/doccheck"
)

// conformanceDoc is the runner's page.
const conformanceDoc = "docs/conformance.md"

// helpFlags returns the flags conformance -h lists.
func helpFlags(t *testing.T) []doccheck.Flag {
	t.Helper()
	var help strings.Builder
	if err := run(t.Context(), []string{"-h"}, io.Discard, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: have %v, want flag.ErrHelp", err)
	}
	flags := doccheck.HelpFlags(help.String())
	if len(flags) < 5 {
		t.Fatalf("read only %d flags from -h; the parse is broken:\n%s", len(flags), help.String())
	}
	return flags
}

// TestDocFlags keeps the flag table of docs/conformance.md equal to what
// conformance -h lists: every flag, with its argument's name and its
// default, in the same order.
func TestDocFlags(t *testing.T) {
	section, ok := doccheck.Section(doccheck.Read(t, conformanceDoc), "## Flags")
	if !ok {
		t.Fatalf("%s has no section \"## Flags\"", conformanceDoc)
	}
	_, rows := doccheck.Table(section)
	var have, want []string
	for _, r := range rows {
		have = append(have, fmt.Sprintf("%s | %s", strings.Trim(r[0], "`"), strings.Trim(r[1], "`")))
	}
	for _, f := range helpFlags(t) {
		want = append(want, strings.TrimSpace("-"+f.Name+" "+f.Arg)+" | "+f.Default)
	}
	if strings.Join(have, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s's flag table (flag | default):\n%s\nconformance -h lists:\n%s", conformanceDoc, strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
}

// TestDocCommandLines checks that every conformance command line the
// documents show uses only flags the command has.
func TestDocCommandLines(t *testing.T) {
	flags := helpFlags(t)
	n := 0
	for _, doc := range doccheck.Documents(t) {
		for _, args := range doccheck.Invocations(doccheck.Read(t, doc), "conformance") {
			n++
			if bad := doccheck.UnknownFlags(args, flags, false); len(bad) > 0 {
				t.Errorf("%s: conformance %s: no such flag %q", doc, strings.Join(args, " "), bad)
			}
		}
	}
	if n < 3 {
		t.Errorf("found only %d conformance command lines in the documents; the scan is broken", n)
	}
}

// TestDocSettings keeps the settings table of docs/conformance.md equal to
// the variables package conformance reads, and every CLEARINGHOUSE_ name
// on the page one of them (or one of the second account's, suffixed _2).
func TestDocSettings(t *testing.T) {
	doc := doccheck.Read(t, conformanceDoc)
	section, ok := doccheck.Section(doc, "## Settings")
	if !ok {
		t.Fatalf("%s has no section \"## Settings\"", conformanceDoc)
	}
	_, rows := doccheck.Table(section)
	var have []string
	for _, r := range rows {
		have = append(have, strings.Trim(r[0], "`"))
	}
	want := []string{
		conformance.EnvURL, conformance.EnvCAFile, conformance.EnvUsername, conformance.EnvAPIKey,
		conformance.EnvPrivateKeyFile, conformance.EnvPassword, conformance.EnvCredsFile,
		conformance.EnvAllowAcquire, conformance.EnvAllowAccountChanges, conformance.EnvRelaxStrings,
		conformance.EnvAdminURL, conformance.EnvAdminToken, conformance.EnvMock, conformance.EnvReportDir,
	}
	if strings.Join(have, " ") != strings.Join(want, " ") {
		t.Errorf("%s's settings:\n%q\nthe variables conformance reads:\n%q", conformanceDoc, have, want)
	}
	for _, name := range regexp.MustCompile(`CLEARINGHOUSE_[A-Z_0-9]+`).FindAllString(doc, -1) {
		if !slices.Contains(want, strings.TrimSuffix(name, "_2")) {
			t.Errorf("%s names %s, which conformance does not read", conformanceDoc, name)
		}
	}
}
