package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
)

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "expired"},
		{0, "expired"},
		{time.Second, "1s"},
		{59 * time.Second, "59s"},
		{time.Minute, "1m0s"},
		{12*time.Minute + 5*time.Second, "12m5s"},
		{4 * time.Hour, "4h0m"},
		{4*time.Hour - time.Second, "3h59m"},
		{24 * time.Hour, "1d0h"},
		{7*24*time.Hour - time.Second, "6d23h"},
		{7 * 24 * time.Hour, "7d0h"},
	} {
		if have := formatDuration(tc.d); have != tc.want {
			t.Errorf("formatDuration(%v): have %q, want %q", tc.d, have, tc.want)
		}
	}
}

func vessel(node, name string) clearinghouse.Vessel {
	return clearinghouse.Vessel{NodeID: node, VesselID: name, Handle: clearinghouse.Handle(node + ":" + name)}
}

func TestShortHandles(t *testing.T) {
	t.Parallel()
	vs := []clearinghouse.Vessel{
		vessel("65537 11112222333344445555", "v2"),
		vessel("65537 11112222333344445555", "v3"), // same node
		vessel("65537 99992222333344445555", "v2"), // shares 16 trailing digits with the first
		vessel("65537 77778888", "v2"),             // too short to shorten
		{Handle: "opaque"},
	}
	have := shortHandles(vs)
	want := map[clearinghouse.Handle]string{
		vs[0].Handle: "...12222333344445555:v2", // 17 digits tell the nodes apart
		vs[1].Handle: "...12222333344445555:v3",
		vs[2].Handle: "...92222333344445555:v2",
		vs[3].Handle: "65537 77778888:v2",
		"opaque":     "opaque",
	}
	for h, w := range want {
		if have[h] != w {
			t.Errorf("short(%q): have %q, want %q", h, have[h], w)
		}
	}
	// Distinct tails stay at the minimum length.
	have = shortHandles([]clearinghouse.Vessel{vessel("65537 1234567890123", "v2"), vessel("65537 9876543210987", "v4")})
	if have["65537 1234567890123:v2"] != "...67890123:v2" || have["65537 9876543210987:v4"] != "...43210987:v4" {
		t.Errorf("have %q", have)
	}
}

func TestSelectHeld(t *testing.T) {
	t.Parallel()
	held := []clearinghouse.Vessel{
		vessel("65537 1000000011111111", "v2"),
		vessel("65537 1000000011111111", "v12"),
		vessel("65537 2000000022222222", "v2"),
	}
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string
		notHeld []string
		err     string
	}{
		{"full", []string{"65537 1000000011111111:v2"}, []string{"65537 1000000011111111:v2"}, nil, ""},
		{"short", []string{"...11111111:v12"}, []string{"65537 1000000011111111:v12"}, nil, ""},
		{"tail without dots", []string{"2222:v2"}, []string{"65537 2000000022222222:v2"}, nil, ""},
		{"v2 is not v12", []string{"11111111:v2"}, []string{"65537 1000000011111111:v2"}, nil, ""},
		{"duplicates once", []string{"...22222222:v2", "65537 2000000022222222:v2"}, []string{"65537 2000000022222222:v2"}, nil, ""},
		{"foreign full handle", []string{"65537 3:v2", "...22222222:v2"}, []string{"65537 2000000022222222:v2"}, []string{"65537 3:v2"}, ""},
		{"ambiguous", []string{":v2"}, nil, nil, "matches 2 of your vessels"},
		{"short, not held", []string{"...33333333:v2", "...22222222:v2"}, []string{"65537 2000000022222222:v2"}, []string{"...33333333:v2"}, ""},
		{"no colon", []string{"11111111"}, nil, nil, "is not a vessel handle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, notHeld, err := selectHeld(tc.args, held)
			if wantErr(t, err, tc.err) {
				return
			}
			have := make([]string, len(sel))
			for i, h := range sel {
				have[i] = string(h)
			}
			if !slices.Equal(have, tc.want) || !slices.Equal(notHeld, tc.notHeld) {
				t.Errorf("have %q, %q; want %q, %q", have, notHeld, tc.want, tc.notHeld)
			}
		})
	}
}

func TestReadLine(t *testing.T) {
	t.Parallel()
	r := strings.NewReader("secret one\r\nsecond line\n")
	if l, err := readLine(r); l != "secret one" || err != nil {
		t.Errorf("have %q, %v", l, err)
	}
	// Nothing beyond the first line was consumed.
	if l, _ := readLine(r); l != "second line" {
		t.Errorf("have %q", l)
	}
	if l, err := readLine(strings.NewReader("no newline")); l != "no newline" || err == nil {
		t.Errorf("have %q, %v; want the text and EOF", l, err)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://ch.example/xmlrpc/":              "https://ch.example/xmlrpc/",
		"https://alice:s3cret@ch.example/xmlrpc/": "https://ch.example/xmlrpc/",
		"http://127.0.0.1:8421/xmlrpc/":           "http://127.0.0.1:8421/xmlrpc/",
		"http://[bad":                             "(unparsable URL)",
	} {
		if have := redactURL(in); have != want {
			t.Errorf("redactURL(%q): have %q, want %q", in, have, want)
		}
	}
}
