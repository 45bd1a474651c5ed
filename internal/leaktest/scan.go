package leaktest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The length of a piece of a secret that Leaks reports. A piece of at
// least Window bytes of any form counts if it holds a character other than
// a digit; one of digits only (the numbers of a private key) counts from
// DigitWindow bytes. Shorter pieces tell too little to matter (7 of the 32
// characters of an API key leave 25 unknown, 125 bits; 15 of the 308
// digits of d leave 293) and turn up by chance: a decimal number of 8
// digits in ordinary output (a node id holds hundreds) matches one of the
// ~600 windows of a private key's numbers with probability 6e-6, one of 16
// digits with 6e-14. A secret shorter than Window must appear whole, or
// whole but for one character.
const (
	Window      = 8
	DigitWindow = 16
)

// A Leak is a secret found in text.
type Leak struct {
	Secret  int      // its index in the secrets given to Leaks
	Forms   []string // the forms the pieces found belong to: "raw", "Go-quoted", "HTML-escaped", ...
	Count   int      // how many separate places
	Longest int      // bytes of the longest piece found
}

func (l Leak) String() string {
	return fmt.Sprintf("secret %d: %d× (up to %d bytes; %s)", l.Secret, l.Count, l.Longest, strings.Join(l.Forms, ", "))
}

// Forms returns the forms in which output may show s: as it is, quoted by
// Go (%q, %+q, twice), by JSON, escaped for HTML and XML (on their own and
// after Go quoting), URL-escaped, and quoted as the xmlrpc decoder quotes
// a bad value. Leaks compares them ignoring ASCII
// case, so lower- and upper-cased copies count too.
func Forms(s string) map[string]string {
	goq := func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] }
	asc := strconv.QuoteToASCII(s)
	js, _ := json.Marshal(s)
	var jsRaw bytes.Buffer
	enc := json.NewEncoder(&jsRaw)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	xmlEsc := func(s string) string {
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	unquote := func(q string) string { return q[1 : len(q)-1] }
	return map[string]string{
		"raw":                   s,
		"Go-quoted":             goq(s),
		"Go-quoted ASCII":       unquote(asc),
		"Go-quoted twice":       goq(goq(s)),
		"JSON":                  unquote(string(js)),
		"JSON without HTML":     unquote(strings.TrimSuffix(jsRaw.String(), "\n")),
		"HTML-escaped":          html.EscapeString(s),
		"XML-escaped":           xmlEsc(s),
		"Go-quoted, HTML":       html.EscapeString(goq(s)),
		"Go-quoted, XML":        xmlEsc(goq(s)),
		"URL query-escaped":     url.QueryEscape(s),
		"URL path-escaped":      url.PathEscape(s),
		"Go-quoted twice, HTML": html.EscapeString(goq(goq(s))),
		"\\u-escaped":           uEscaped(s),
	}
}

// uEscaped is s with '"', '\\' and all but printable ASCII written as
// \u0022: how the xmlrpc decoder quotes a bad value.
func uEscaped(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			fmt.Fprintf(&b, `\u%04x`, r&0xffff)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Leaks returns, for each secret that shows in text, in any of its Forms
// and any ASCII case, the places where it shows: whole, without one of
// its characters, or a piece of Window (DigitWindow) bytes or more.
// Overlapping and touching pieces are one place. The result is sorted by
// secret. A test that looks through many texts builds a Finder once.
func Leaks(text string, secrets []string) []Leak {
	return NewFinder(secrets).Leaks(text)
}

// A Finder finds secrets in text, as Leaks does.
type Finder struct {
	byLen map[int]map[string]*piece // pieces to look for, by length
}

type piece struct {
	secret int
	forms  map[string]bool
}

// NewFinder returns a Finder for the secrets.
func NewFinder(secrets []string) *Finder {
	byLen := map[int]map[string]*piece{}
	add := func(p string, secret int, form string) {
		m := byLen[len(p)]
		if m == nil {
			m = map[string]*piece{}
			byLen[len(p)] = m
		}
		pc := m[p]
		if pc == nil {
			pc = &piece{secret: secret, forms: map[string]bool{}}
			m[p] = pc
		}
		if pc.secret == secret {
			pc.forms[form] = true
		}
	}
	for i, s := range secrets {
		if s == "" {
			continue
		}
		for form, f := range Forms(s) {
			f = fold(f)
			if len(f) < DigitWindow {
				add(f, i, form)
				if len(f) > 1 {
					for j := range len(f) {
						add(f[:j]+f[j+1:], i, form)
					}
				}
			}
			for j := 0; j+Window <= len(f); j++ {
				if p := f[j : j+Window]; !digits(p) {
					add(p, i, form)
				}
			}
			for j := 0; j+DigitWindow <= len(f); j++ {
				add(f[j:j+DigitWindow], i, form)
			}
		}
	}
	return &Finder{byLen: byLen}
}

// Leaks returns the secrets in text, as the function Leaks does.
func (fd *Finder) Leaks(text string) []Leak {
	byLen := fd.byLen
	t := fold(text)
	type span struct {
		from, to int
		forms    map[string]bool
	}
	found := map[int][]span{} // by secret
	for n, pieces := range byLen {
		for i := 0; i+n <= len(t); i++ {
			if pc, ok := pieces[t[i:i+n]]; ok {
				found[pc.secret] = append(found[pc.secret], span{i, i + n, pc.forms})
			}
		}
	}
	var out []Leak
	for secret, sp := range found {
		slices.SortFunc(sp, func(a, b span) int { return a.from - b.from })
		l := Leak{Secret: secret}
		forms := map[string]bool{}
		// Each place is labelled with the forms every one of its pieces
		// belongs to: "raw" for a piece with a '"' in it, say, but all of
		// them for a piece of letters and digits, which is then "plain".
		var from, to int
		var common map[string]bool
		flush := func() {
			l.Count++
			l.Longest = max(l.Longest, to-from)
			if len(common) == len(Forms("")) {
				forms["plain"] = true
				return
			}
			for f := range common {
				forms[f] = true
			}
		}
		for i, s := range sp {
			if i > 0 && s.from <= to {
				to = max(to, s.to)
				for f := range common {
					if !s.forms[f] {
						delete(common, f)
					}
				}
				continue
			}
			if i > 0 {
				flush()
			}
			from, to = s.from, s.to
			common = maps.Clone(s.forms)
		}
		flush()
		for f := range forms {
			l.Forms = append(l.Forms, f)
		}
		slices.Sort(l.Forms)
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Leak) int { return a.Secret - b.Secret })
	return out
}

// Total is the number of places of all the leaks.
func Total(leaks []Leak) int {
	n := 0
	for _, l := range leaks {
		n += l.Count
	}
	return n
}

func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, strings.ToValidUTF8(s, "\x00"))
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ControlChars counts, in text, what could drive a terminal or reorder
// what is shown, by kind: C0 controls other than tab and line feed (such
// as "U+001B"), DEL, C1 controls, the bidirectional controls U+061C,
// U+200E, U+200F, U+202A to U+202E and U+2066 to U+2069, the separators
// U+2028 and U+2029, bytes that are not UTF-8 ("invalid byte"), and
// numeric character references to any of these (such as "&#xD;"), which
// HTML and XML readers turn back into the character.
func ControlChars(text string) map[string]int {
	out := map[string]int{}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out["invalid byte"]++
		case Dangerous(r):
			out[fmt.Sprintf("U+%04X", r)]++
		}
		i += size
	}
	for _, m := range charRef.FindAllStringSubmatch(text, -1) {
		var v uint64
		var err error
		if m[1] != "" {
			v, err = strconv.ParseUint(m[1], 16, 32)
		} else {
			v, err = strconv.ParseUint(m[2], 10, 32)
		}
		if err == nil && Dangerous(rune(v)) {
			out[m[0]]++
		}
	}
	return out
}

var charRef = regexp.MustCompile(`&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));`)

// Dangerous reports whether ControlChars counts r.
func Dangerous(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// Sum is the number of characters ControlChars counted.
func Sum(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}
