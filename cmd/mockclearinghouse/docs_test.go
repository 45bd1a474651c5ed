package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/doccheck"
)

// mockDoc is the mock's page.
const mockDoc = "docs/mock.md"

// helpFlags returns the flags mockclearinghouse -h lists.
func helpFlags(t *testing.T) []doccheck.Flag {
	t.Helper()
	var help strings.Builder
	if _, err := parseFlags([]string{"-h"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: have %v, want flag.ErrHelp", err)
	}
	flags := doccheck.HelpFlags(help.String())
	if len(flags) < 20 {
		t.Fatalf("read only %d flags from -h; the parse is broken:\n%s", len(flags), help.String())
	}
	return flags
}

// TestDocFlags keeps the flag table of docs/mock.md equal to what
// mockclearinghouse -h lists: every flag, with its argument's name and
// its default, in the same order.
func TestDocFlags(t *testing.T) {
	section, ok := doccheck.Section(doccheck.Read(t, mockDoc), "## Flags")
	if !ok {
		t.Fatalf("%s has no section \"## Flags\"", mockDoc)
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
		t.Errorf("%s's flag table (flag | default):\n%s\nmockclearinghouse -h lists:\n%s", mockDoc, strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
}

// TestDocCommandLines checks that every mockclearinghouse command line
// the documents show uses only flags the command has.
func TestDocCommandLines(t *testing.T) {
	flags := helpFlags(t)
	n := 0
	for _, doc := range doccheck.Documents(t) {
		for _, args := range doccheck.Invocations(doccheck.Read(t, doc), "mockclearinghouse") {
			n++
			if bad := doccheck.UnknownFlags(args, flags, false); len(bad) > 0 {
				t.Errorf("%s: mockclearinghouse %s: no such flag %q", doc, strings.Join(args, " "), bad)
			}
		}
	}
	if n < 5 {
		t.Errorf("found only %d mockclearinghouse command lines in the documents; the scan is broken", n)
	}
}

// TestReadmeBanner keeps the README's picture of what the mock prints on
// start equal to printBanner's output with the default flags; only the
// demo account's password and API key, new on each start, differ.
func TestReadmeBanner(t *testing.T) {
	const first = "Mock Seattle Clearinghouse listening at "
	var shown string
	for _, b := range doccheck.Blocks(doccheck.Read(t, "README.md")) {
		if strings.HasPrefix(b.Text, first) {
			shown = b.Text
		}
	}
	if shown == "" {
		t.Fatalf("README.md has no block beginning %q", first)
	}
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var have strings.Builder
	printBanner(&have, credsfile.File{
		URL:      "http://" + o.addr + "/xmlrpc/",
		Accounts: []credsfile.Account{{Username: "demo1", Password: "PASSWORD", APIKey: "APIKEY"}},
	}, o)
	secrets := regexp.MustCompile(`password \S+  api_key \S+`)
	if want := secrets.ReplaceAllString(shown, "password PASSWORD  api_key APIKEY"); have.String() != want {
		t.Errorf("the mock prints\n%s\nthe README shows\n%s", have.String(), shown)
	}
}
