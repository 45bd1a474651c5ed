// Package redact replaces secrets in text before it is shown: in error
// messages, logs and reports. The clearinghouse client and the
// conformance suite share it.
//
// A Redactor finds a secret in every form this module's outputs may give
// it (see Forms), in any ASCII case. Where a text was cut (before each
// "..." or "…" that marks a cut), a beginning of a form of MinCut bytes or
// more goes too, so that a secret cut by a clip leaves no long prefix.
//
// A random secret (an API key, a token, a private key's numbers) is also
// found in pieces: every run of text made of pieces of Window bytes of a
// form is replaced, so a secret with a character missing, or a fragment
// quoted by a decoder, goes too. A run of digits only must be DigitWindow
// bytes long (DigitWindow/2 at a cut), so that ordinary numbers, such as
// node ids of hundreds of digits, are not taken for a piece of a private
// key's numbers by chance. At the end of a text (which may have been cut
// with no mark) a beginning of DigitWindow/2 digits goes too; a shorter
// one would turn up by chance at the end of short texts (a table cell
// ending in the 4 characters a key starts with).
//
// A chosen secret (a password) is found only whole, or by a beginning
// before a cut mark: a person's password holds words, and redacting every
// word it holds wherever it appears would garble messages and, worse, show
// which words the password holds.
//
//	r := redact.New("[REDACTED]", 6, []string{apiKey}, []string{password})
//	log.Print(r.Redact(err.Error()))
package redact

import (
	"bytes"
	"cmp"
	"encoding/json"
	"encoding/xml"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
)

// The lengths of the pieces of a secret that a Redactor recognises; see
// the package documentation. A piece of 8 characters of a 32-character
// API key is one of 2^41 strings: text does not hold one by chance. 15
// digits of a private key's 308 tell nothing useful of it, while 8-digit
// numbers are everywhere.
const (
	Window      = 8
	DigitWindow = 16
	MinCut      = 4
)

// A Redactor replaces secrets in text. It is safe for concurrent use.
type Redactor struct {
	repl   string
	grams  map[uint64]bool  // every Window-byte piece of every form of a random secret, folded, as gram packs it
	seen   *[1 << 10]uint64 // two bits for each key of grams (see bits): most text misses here
	whole  map[string]bool  // forms the grams do not find, folded: see New
	starts map[uint32]bool  // the first MinCut bytes of each in whole, as quad packs them
	begins *[1 << 10]uint64 // a bit for the hash of each key of starts
	lens   []int            // the lengths in whole, longest first
	heads  map[string]bool  // beginnings of forms of random secrets, folded: at a cut or the end
	marked map[string]bool  // beginnings of forms of chosen secrets, folded: at a cut only
	most   int              // the longest key of heads and marked
	active bool
}

// New returns a Redactor that replaces with replacement the random
// secrets, whole or in pieces, and the chosen ones, whole (see the package
// documentation). Secrets shorter than minLen bytes (and than MinCut,
// whatever minLen) are left alone: they would match ordinary words.
func New(replacement string, minLen int, random, chosen []string) *Redactor {
	r := &Redactor{repl: replacement, grams: map[uint64]bool{}, seen: new([1 << 10]uint64),
		whole: map[string]bool{}, starts: map[uint32]bool{}, begins: new([1 << 10]uint64), heads: map[string]bool{}, marked: map[string]bool{}}
	lens := map[int]bool{}
	addWhole := func(f string) {
		r.whole[f] = true
		r.starts[quad(f)] = true
		h, _ := bits(uint64(quad(f)))
		r.begins[h/64] |= 1 << (h % 64)
		lens[len(f)] = true
	}
	for _, s := range random {
		if len(s) < max(minLen, MinCut) {
			continue
		}
		r.active = true
		for _, f := range Forms(s) {
			f = fold(f)
			// The pieces find the other forms whole: they are made of
			// pieces, with a character other than a digit or long enough.
			if len(f) < Window || len(f) < DigitWindow && digits(f) {
				addWhole(f)
			}
			for i := 0; i+Window <= len(f); i++ {
				g := gram(f[i:])
				r.grams[g] = true
				h1, h2 := bits(g)
				r.seen[h1/64] |= 1 << (h1 % 64)
				r.seen[h2/64] |= 1 << (h2 % 64)
			}
			// Longer beginnings are runs of pieces.
			for n := MinCut; n < min(len(f), DigitWindow); n++ {
				if head := f[:n]; n >= DigitWindow/2 || !digits(head) {
					r.heads[head] = true
					r.most = max(r.most, n)
				}
			}
		}
	}
	for _, s := range chosen {
		if len(s) < max(minLen, MinCut) {
			continue
		}
		r.active = true
		for _, f := range Forms(s) {
			f = fold(f)
			addWhole(f)
			for n := MinCut; n < len(f); n++ {
				r.marked[f[:n]] = true
				r.most = max(r.most, n)
			}
		}
	}
	for n := range lens {
		r.lens = append(r.lens, n)
	}
	slices.SortFunc(r.lens, func(a, b int) int { return cmp.Compare(b, a) })
	return r
}

// Forms returns the forms of s that this module's outputs may show: s as
// it is; quoted by Go (%q, %+q, and %q twice, for a quoted text quoted
// again) and by JSON (with and without HTML escaping), without the quotes;
// escaped for HTML and XML; URL-escaped (query and path); escaped by
// textclip.Escape; and as the xmlrpc decoder quotes a bad value, with '"',
// '\\', controls and non-ASCII as \u0022. Case is not a form: a Redactor
// ignores ASCII case.
func Forms(s string) []string {
	goq := func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] }
	unquote := func(q string) string { return q[1 : len(q)-1] }
	js, _ := json.Marshal(s)
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	var x bytes.Buffer
	xml.EscapeText(&x, []byte(s))
	var out []string
	for _, f := range []string{
		s, goq(s), unquote(strconv.QuoteToASCII(s)), goq(goq(s)),
		unquote(string(js)), unquote(strings.TrimSuffix(plain.String(), "\n")),
		html.EscapeString(s), x.String(), url.QueryEscape(s), url.PathEscape(s), textclip.Escape(s), uEscape(s),
	} {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// uEscape writes '"', '\\' and every character outside printable ASCII
// as \u and four hex digits (a rune past U+FFFF as its low 16 bits, as
// the decoder does).
func uEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			const hex = "0123456789abcdef"
			b.WriteString(`\u`)
			b.Write([]byte{hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15]})
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Redact returns s with every secret, in any form, replaced; s itself if
// it holds none.
func (r *Redactor) Redact(s string) string {
	if r == nil || !r.active || len(s) < MinCut {
		return s
	}
	var runs, found []span
	// Runs of pieces, and short secrets whole. The text is folded a byte at
	// a time into the rolling windows g (Window bytes) and q (MinCut), so
	// that a text of megabytes costs no copy.
	var g uint64
	var q uint32
	prev, hit := ^uint64(0), false // the last gram looked up (padding repeats one), and whether it is a piece
	for i := 0; i < len(s); i++ {
		c := lower(s[i])
		g = g>>8 | uint64(c)<<56
		q = q>>8 | uint32(c)<<24
		if h, _ := bits(uint64(q)); r.begins[h/64]&(1<<(h%64)) != 0 && i+1 >= MinCut && r.starts[q] {
			at := i + 1 - MinCut
			for _, n := range r.lens {
				if at+n <= len(s) && r.whole[fold(s[at:at+n])] {
					found = append(found, span{at, at + n})
					break
				}
			}
		}
		at := i + 1 - Window
		if at < 0 {
			continue
		}
		if g != prev {
			h1, h2 := bits(g)
			prev, hit = g, r.seen[h1/64]&(1<<(h1%64)) != 0 && r.seen[h2/64]&(1<<(h2%64)) != 0 && r.grams[g]
		}
		if !hit {
			continue
		}
		if k := len(runs) - 1; k >= 0 && at <= runs[k].to {
			runs[k].to = at + Window
		} else {
			runs = append(runs, span{at, at + Window})
		}
	}
	for _, sp := range runs {
		// A piece of "d p q" may take a space next to a number with it.
		for sp.from < sp.to && s[sp.from] == ' ' {
			sp.from++
		}
		for sp.to > sp.from && s[sp.to-1] == ' ' {
			sp.to--
		}
		if n := sp.to - sp.from; n >= DigitWindow || n >= Window && !digits(s[sp.from:sp.to]) {
			found = append(found, sp)
		}
	}
	// Beginnings of secrets where the text was cut.
	for _, c := range cuts(s) {
		t := fold(s[max(0, c.at-r.most):c.at])
		for n := min(len(t), r.most); n >= MinCut; n-- {
			// At an end with no mark, only a beginning that chance does
			// not make: Window bytes (of digits: shorter pieces with
			// another character are runs of pieces already).
			if head := t[len(t)-n:]; (c.marked || n >= Window) && r.heads[head] || c.marked && r.marked[head] {
				found = append(found, span{c.at - n, c.at})
				break
			}
		}
	}
	if len(found) == 0 {
		return s
	}
	slices.SortFunc(found, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	var b strings.Builder
	b.Grow(len(s))
	at := 0
	for i := 0; i < len(found); {
		sp := found[i]
		for i++; i < len(found) && found[i].from <= sp.to; i++ {
			sp.to = max(sp.to, found[i].to)
		}
		b.WriteString(s[at:sp.from])
		b.WriteString(r.repl)
		at = sp.to
	}
	b.WriteString(s[at:])
	return b.String()
}

// span is a part of a text to replace.
type span struct{ from, to int }

// bits are the two bits of g in Redactor.seen, independent hashes of it;
// the first is also a quad's bit in begins. With some thousands of pieces,
// a gram that is not one passes both with a probability under 1%.
func bits(g uint64) (uint64, uint64) {
	return (g * 0x9e3779b97f4a7c15) >> 48, (g * 0xc2b2ae3d27d4eb4f) >> 48
}

// quad packs the first MinCut (4) bytes of s into a number.
func quad(s string) uint32 {
	_ = s[MinCut-1]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// gram packs the first Window (8) bytes of s into a number: a map keyed
// by it is several times faster than one keyed by the string.
func gram(s string) uint64 {
	_ = s[Window-1]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// A cut is where a text may have been cut: before a mark ("...", "…"),
// or at its end.
type cut struct {
	at     int
	marked bool
}

// cuts returns where s may have been cut.
func cuts(s string) []cut {
	out := []cut{{len(s), false}}
	for _, mark := range []string{"...", "…"} {
		for i := 0; ; {
			j := strings.Index(s[i:], mark)
			if j < 0 {
				break
			}
			out = append(out, cut{i + j, true})
			i += j + len(mark)
		}
	}
	return out
}

// lower lower-cases an ASCII letter.
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// fold lower-cases ASCII letters, keeping every byte where it is.
func fold(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
