package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
	"time"
)

// TestParseInterspersed: flags anywhere among the arguments, a negative
// number taken as an argument, and a flag's value never taken as one.
func TestParseInterspersed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		pos     []string
		retries int
		timeout time.Duration
		json    bool
		err     string
	}{
		{name: "no arguments", retries: 2, timeout: time.Minute},
		{name: "a flag between arguments", args: []string{"a", "--json", "b"}, pos: []string{"a", "b"}, retries: 2, timeout: time.Minute, json: true},
		{name: "a flag first", args: []string{"--json", "a"}, pos: []string{"a"}, retries: 2, timeout: time.Minute, json: true},
		{name: "-- ends the flags", args: []string{"a", "--", "--json", "-"}, pos: []string{"a", "--json", "-"}, retries: 2, timeout: time.Minute},
		{name: "- is an argument", args: []string{"-", "x"}, pos: []string{"-", "x"}, retries: 2, timeout: time.Minute},
		{name: "flags after the arguments", args: []string{"wan", "3", "--json"}, pos: []string{"wan", "3"}, retries: 2, timeout: time.Minute, json: true},
		{name: "a flag with a value between", args: []string{"wan", "--retries", "5", "3"}, pos: []string{"wan", "3"}, retries: 5, timeout: time.Minute},
		{name: "a negative number is an argument", args: []string{"wan", "-1"}, pos: []string{"wan", "-1"}, retries: 2, timeout: time.Minute},
		{name: "after a boolean flag too", args: []string{"--json", "wan", "-2.5"}, pos: []string{"wan", "-2.5"}, retries: 2, timeout: time.Minute, json: true},
		{name: "a flag's value is not an argument", args: []string{"--timeout", "5s", "wan", "3"}, pos: []string{"wan", "3"}, retries: 2, timeout: 5 * time.Second},
		{name: "stdin", args: []string{"-", "--json"}, pos: []string{"-"}, retries: 2, timeout: time.Minute, json: true},
		{name: "everything after --", args: []string{"--json", "--", "--retries", "-x"}, pos: []string{"--retries", "-x"}, retries: 2, timeout: time.Minute, json: true},
		{name: "a bad value", args: []string{"wan", "--retries", "-1"}, err: `--retries must be a whole number, 0 or more (got "-1")`},
		{name: "a bad value with =", args: []string{"--timeout=0s"}, err: `--timeout must be a positive duration, such as 30s, 2m or 1h30m (got "0s")`},
		{name: "an unknown flag", args: []string{"wan", "--bogus"}, err: "flag provided but not defined: -bogus"},
		{name: "a missing value", args: []string{"wan", "--retries"}, err: "flag needs an argument: -retries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := defaultGlobalOpts()
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			g.register(fs)
			pos, err := parseInterspersed(fs, tc.args)
			if wantErr(t, err, tc.err) {
				return
			}
			if !slices.Equal(pos, tc.pos) || g.retries != tc.retries || g.timeout != tc.timeout || g.json != tc.json {
				t.Errorf("have %q retries %d timeout %v json %v; want %q retries %d timeout %v json %v",
					pos, g.retries, g.timeout, g.json, tc.pos, tc.retries, tc.timeout, tc.json)
			}
		})
	}
}

// TestNumericFlagsKeepDefaults: a rejected value leaves the default, and
// the help shows the defaults as the flag package would.
func TestNumericFlagsKeepDefaults(t *testing.T) {
	t.Parallel()
	g := defaultGlobalOpts()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	_, err := parseInterspersed(fs, []string{"--retries", "x"})
	var ce *cliError
	if !errors.As(err, &ce) || ce.code != exitUsage {
		t.Fatalf("have %v, want a usage error", err)
	}
	if g.retries != 2 {
		t.Errorf("retries %d after a rejected value, want the default 2", g.retries)
	}
	for name, want := range map[string]string{"retries": "2", "timeout": "1m0s"} {
		if have := fs.Lookup(name).DefValue; have != want {
			t.Errorf("--%s default: have %q, want %q", name, have, want)
		}
	}
}
