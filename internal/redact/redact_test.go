package redact

import (
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/leaktest"
	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
)

const (
	key  = `K3Y"with\back<amp&AND0123456789XYZ` // every character an output escapes
	key2 = "7QZ4JD2KX9MWB3T8HNV5RC6YPG1FSL0A"   // as the clearinghouse makes them
	pw   = "hunter2!"
)

// d is the shape of a private key's number: hundreds of digits.
var d = strings.Repeat("3141592653589793238462643383279502884197", 8)

func TestRedact(t *testing.T) {
	t.Parallel()
	r := New("[R]", 6, []string{key, key2, d, d + " " + d[:100] + " " + d[100:200], "short"}, []string{pw, "correct horse battery"})
	q := strconv.Quote(key)
	js, _ := json.Marshal(key)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"nothing", "fault 101: User auth failed.", "fault 101: User auth failed."},
		{"raw", "key " + key + " end", "key [R] end"},
		{"Go-quoted", "have " + q, `have "[R]"`},
		{"Go-quoted twice", "have " + strconv.Quote(q), `have "\"[R]\""`},
		{"JSON", `{"k":` + string(js) + `}`, `{"k":"[R]"}`},
		{"HTML", "<td>" + html.EscapeString(key) + "</td>", "<td>[R]</td>"},
		{"URL", "?k=" + url.QueryEscape(key), "?k=[R]"},
		{"lower case", "x " + strings.ToLower(key2) + " y", "x [R] y"},
		{"upper case", strings.ToUpper(key), "[R]"},
		{"one character missing", "x " + key2[:20] + key2[21:] + " y", "x [R] y"},
		{"a piece", "…" + key2[9:18] + "…", "…[R]…"},
		{"twice, and touching", key2 + key2 + " " + key, "[R] [R]"},
		{"a short secret whole", "password hunter2! given", "password [R] given"},
		{"a beginning of a secret not at a cut stays", "hunter2 is a word", "hunter2 is a word"},
		{"a beginning of a chosen secret at the end stays", "said hunter2", "said hunter2"},
		{"a beginning of a chosen secret at a cut goes", "said hunter2... (1 more bytes)", "said [R]... (1 more bytes)"},
		{"the words of a chosen secret stay", "not of a correct format", "not of a correct format"},
		{"a chosen secret whole, any case", "pw CORRECT HORSE BATTERY", "pw [R]"},
		{"a chosen secret quoted", `pw "correct horse battery"`, `pw "[R]"`},
		{"a chosen secret URL-escaped", "?pw=correct+horse+battery", "?pw=[R]"},
		{"digits", "d=" + d[10:30] + ".", "d=[R]."},
		{"the spaces of a private key stay", "p = " + d[:30] + " and", "p = [R] and"},
		{"few digits are numbers", "node " + d[10:25] + " port 63100", "node " + d[10:25] + " port 63100"},
		{"cut at the end", "fault: " + strings.Repeat("A", 20) + key2[:9], "fault: " + strings.Repeat("A", 20) + "[R]"},
		{"a short beginning at the end stays", "user " + strings.ToLower(key2[:5]), "user " + strings.ToLower(key2[:5])},
		{"digits at the end count from 8", "n " + d[:7] + ", " + d[:8], "n " + d[:7] + ", [R]"},
		{"cut before a clip mark", "x " + key2[:4] + "... (28 more bytes)", "x [R]... (28 more bytes)"},
		{"cut before an ellipsis", "x " + q[:6] + "… (9 more bytes)", "x \"[R]… (9 more bytes)"},
		{"3 characters at a cut stay", "x " + key2[:3] + "...", "x " + key2[:3] + "..."},
		{"digits at a cut count from 8", "port " + d[:7] + " and " + d[:8] + "...", "port " + d[:7] + " and [R]..."},
		{"not a beginning", "x " + key2[1:6] + "...", "x " + key2[1:6] + "..."},
		{"invalid UTF-8 around", "\xff" + key2 + "\xfe", "\xff[R]\xfe"},
	} {
		if have := r.Redact(tc.in); have != tc.want {
			t.Errorf("%s: Redact(%q):\nhave %q\nwant %q", tc.name, tc.in, have, tc.want)
		}
	}
}

func TestRedactNothingToDo(t *testing.T) {
	t.Parallel()
	var nilR *Redactor
	for _, r := range []*Redactor{nilR, New("[R]", 6, nil, nil), New("[R]", 6, []string{"", "abc"}, []string{"abcde"})} {
		if have := r.Redact("abc " + key); have != "abc "+key {
			t.Errorf("have %q", have)
		}
	}
}

// TestRedactAtEveryClip: a secret in a fault string cut by an error
// message at any place (xmlrpc clips at 512 bytes) leaves no piece of it
// that leaktest reports, whatever the padding before it and whatever the
// quoting after; a random secret cut with no mark neither. (key2 stands
// for a chosen secret here.)
func TestRedactAtEveryClip(t *testing.T) {
	t.Parallel()
	secrets := []string{key, d, key2}
	r := New("[REDACTED]", 6, secrets[:2], secrets[2:])
	for _, sec := range secrets {
		for pad := 512 - len(sec) - 8; pad <= 512+8; pad++ {
			text := strings.Repeat("A", max(pad, 0)) + sec + " tail"
			shows := []string{
				textclip.Show(text, 512),
				fmt.Sprintf("%q", textclip.Show(text, 512)),
				textclip.Show(fmt.Sprintf("%q", text), 512),
			}
			if sec != key2 {
				// Cut with no mark: random secrets only.
				shows = append(shows, text[:len(text)-10])
			}
			for _, shown := range shows {
				out := r.Redact(shown)
				if leaks := leaktest.Leaks(out, secrets); len(leaks) > 0 {
					t.Fatalf("pad %d: %v in %q", pad, leaks, out[max(0, len(out)-80):])
				}
			}
		}
	}
}

// FuzzRedact: whatever text surrounds them, no secret in any form is left
// in what Redact returns.
func FuzzRedact(f *testing.F) {
	f.Add("before ", "after", uint8(0), uint8(0))
	f.Add("", "...", uint8(3), uint8(20))
	f.Add("K3Y", "\xff", uint8(5), uint8(1))
	secrets := []string{key, key2, d[:40], pw}
	r := New("[R]", 6, secrets[:3], secrets[3:])
	f.Fuzz(func(t *testing.T, before, after string, which, form uint8) {
		sec := secrets[int(which)%len(secrets)]
		forms := Forms(sec)
		text := before + forms[int(form)%len(forms)] + after
		out := r.Redact(text)
		for i, sec := range secrets {
			for _, f := range Forms(sec) {
				if len(f) >= 6 && strings.Contains(strings.ToLower(out), strings.ToLower(f)) {
					t.Fatalf("secret %d left in %q (from %q)", i, out, text)
				}
			}
		}
	})
}

// BenchmarkRedact measures a message of the suite's usual size, and a
// fault string of 4 MiB (what the client may receive), against a
// session's secrets (two accounts' keys, passwords and private keys),
// beside strings.ReplaceAll of the raw secrets, which is what redaction
// cost before.
func BenchmarkRedact(b *testing.B) {
	secrets := []string{key, key2, d, d[:154], d[154:], d + " " + d[:154] + " " + d[154:], pw, "another-password-99"}
	msg := "get_account_info: fault 101 " + strconv.Quote(strings.Repeat("A", 400)+key+" and more") + ", want \"User auth failed.\"; handles " + strings.Repeat(d[:80]+":v2 ", 4)
	b.Run("Redactor", func(b *testing.B) {
		r := New("[R]", 6, secrets[:6], secrets[6:])
		b.ReportAllocs()
		for b.Loop() {
			r.Redact(msg)
		}
	})
	b.Run("ReplaceAll", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := msg
			for _, sec := range secrets {
				s = strings.ReplaceAll(s, sec, "[R]")
			}
		}
	})
	huge := strings.Repeat("x", 4<<20) + key + strings.Repeat("y", 1<<10)
	b.Run("Redactor/4MiB", func(b *testing.B) {
		r := New("[R]", 6, secrets[:6], secrets[6:])
		b.ReportAllocs()
		for b.Loop() {
			r.Redact(huge)
		}
	})
	b.Run("ReplaceAll/4MiB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := huge
			for _, sec := range secrets {
				s = strings.ReplaceAll(s, sec, "[R]")
			}
		}
	})
	b.Run("New", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			New("[R]", 6, secrets[:6], secrets[6:])
		}
	})
}
