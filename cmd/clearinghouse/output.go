package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/redact"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// Everything the command prints that a server may have chosen (error
// messages, handles, addresses, an affiliation, a public key) goes
// through clean, or through writeJSON and writeJSONLine: the command's
// own secrets are redacted from it, whatever the server echoed, and
// control characters, bidirectional controls and bytes that are not
// UTF-8 are escaped, so that a server cannot drive the terminal.

// clean makes s fit to print: the command's secrets (redactor) replaced by
// [redacted], and every control character escaped (textclip.Escape, tab
// and line feed included).
func (a *app) clean(s string) string {
	return textclip.Escape(a.redactor().Redact(s))
}

// redactor returns a redactor for every secret the command knows: the API
// key and private key of the account (even when the client does not use
// the private key: a server may know it), and the passwords, from the
// creds file or typed.
func (a *app) redactor() *redact.Redactor {
	if a.red != nil {
		return a.red
	}
	var keys, passwords []string
	if a.set != nil {
		acct := a.set.Account
		keys = append(keys, acct.APIKey, acct.PrivateKey)
		keys = append(keys, strings.Fields(acct.PrivateKey)...)
		if acct.PrivateKeyFile != "" && acct.PrivateKey == "" {
			// Read for redaction only (a regular file, bounded: never a
			// FIFO that blocks); whoever needs the key reports what is
			// wrong with the file.
			if data, err := safefile.ReadFile(acct.PrivateKeyFile, seattlersa.MaxKeyStringBytes); err == nil {
				keys = append(keys, strings.TrimSpace(string(data)))
				keys = append(keys, strings.Fields(string(data))...)
			}
		}
		passwords = append(passwords, acct.Password)
	}
	passwords = append(passwords, a.passwords...)
	a.red = redact.New("[redacted]", minSecretLen, keys, passwords)
	return a.red
}

// minSecretLen is the length below which a secret is not redacted: it
// would match ordinary words (the clearinghouse's passwords have 6
// characters or more).
const minSecretLen = 6

// rememberPassword makes pw a secret to redact.
func (a *app) rememberPassword(pw string) {
	a.passwords = append(a.passwords, pw)
	a.red = nil
}

// formatDuration prints a lease time the way people read it: the two
// largest units, rounded down ("6d23h", "3h59m", "12m5s", "45s").
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	s := int64(d / time.Second)
	days, h, m, sec := s/86400, s%86400/3600, s%3600/60, s%60
	switch {
	case days > 0:
		return strconv.FormatInt(days, 10) + "d" + strconv.FormatInt(h, 10) + "h"
	case h > 0:
		return strconv.FormatInt(h, 10) + "h" + strconv.FormatInt(m, 10) + "m"
	case m > 0:
		return strconv.FormatInt(m, 10) + "m" + strconv.FormatInt(sec, 10) + "s"
	}
	return strconv.FormatInt(sec, 10) + "s"
}

// shortSuffix is how many trailing characters of a node id a short handle
// keeps at least; more are kept when needed to tell the nodes apart.
const shortSuffix = 8

// ellipsis starts every short handle, so that it cannot be mistaken for a
// full one.
const ellipsis = "..."

// shortHandles returns the short form of each vessel's handle: "..." and
// the end of the node id, then ":" and the vessel name, such as
// "...41873349:v4". Node ids (public keys, hundreds of digits) rarely
// share their last digits; when two in vs do, both get longer suffixes.
func shortHandles(vs []clearinghouse.Vessel) map[clearinghouse.Handle]string {
	ids := map[string]bool{}
	for _, v := range vs {
		ids[v.NodeID] = true
	}
	n := shortSuffix
	for ; ; n++ {
		seen := map[string]bool{}
		unique := true
		for id := range ids {
			suf := tail(id, n)
			if seen[suf] {
				unique = false
				break
			}
			seen[suf] = true
		}
		if unique {
			break
		}
	}
	out := make(map[clearinghouse.Handle]string, len(vs))
	for _, v := range vs {
		if v.NodeID == "" || v.VesselID == "" || len(v.NodeID) <= n+len(ellipsis) {
			out[v.Handle] = string(v.Handle)
			continue
		}
		out[v.Handle] = ellipsis + tail(v.NodeID, n) + ":" + v.VesselID
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// jsonVessel is a vessel in --json output. The field names are stable.
type jsonVessel struct {
	Handle           string `json:"handle"`
	NodeID           string `json:"node_id"`
	VesselID         string `json:"vessel_id"`
	NodeIP           string `json:"node_ip"`
	NodePort         int    `json:"node_port"`
	IsActive         *bool  `json:"is_active"` // null when the server does not say
	ExpiresInSeconds int64  `json:"expires_in_seconds"`
	ExpiresAt        string `json:"expires_at"` // RFC 3339, UTC
}

func toJSONVessels(vs []clearinghouse.Vessel, now time.Time) []jsonVessel {
	out := make([]jsonVessel, len(vs))
	for i, v := range vs {
		out[i] = jsonVessel{
			Handle: string(v.Handle), NodeID: v.NodeID, VesselID: v.VesselID,
			NodeIP: v.NodeIP, NodePort: v.NodePort, IsActive: v.IsActive,
			ExpiresInSeconds: int64(v.ExpiresIn / time.Second),
			ExpiresAt:        expiresAt(v, now).Format(time.RFC3339),
		}
	}
	return out
}

// expiresAt is the instant the lease runs out, from the server's
// expires_in_seconds and the time the answer arrived (to the second).
func expiresAt(v clearinghouse.Vessel, now time.Time) time.Time {
	return now.Add(v.ExpiresIn).UTC().Truncate(time.Second)
}

// writeJSON prints v as indented JSON to stdout, made safe by safeJSON.
func (a *app) writeJSON(v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := a.stdout.Write(a.safeJSON(buf.Bytes()))
	return err
}

// writeJSONLine prints v as one line of JSON to stdout, made safe by
// safeJSON.
func (a *app) writeJSONLine(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(append(a.safeJSON(data), '\n'))
	return err
}

// safeJSON returns the JSON document data with the command's secrets
// redacted (inside its strings: the redactor knows their JSON forms) and
// with every character a terminal could take for a control written as a
// \u escape: encoding/json escapes the C0 controls, U+2028 and U+2029
// already, but not DEL, the C1 controls or the bidirectional controls.
// The strings mean what they meant; only their spelling changes.
func (a *app) safeJSON(data []byte) []byte {
	s := a.redactor().Redact(string(data))
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r >= 0x7f && textclip.Escapes(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return []byte(b.String())
}

// writeVesselTable prints vs as a table: the short handle unless wide,
// every text the server chose made fit to print by clean.
func writeVesselTable(w io.Writer, vs []clearinghouse.Vessel, wide bool, clean func(string) string) error {
	short := shortHandles(vs)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDLE\tIP\tPORT\tACTIVE\tEXPIRES IN")
	for _, v := range vs {
		h := short[v.Handle]
		if wide {
			h = string(v.Handle)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", clean(h), clean(v.NodeIP), v.NodePort, yesNo(v.IsActive), formatDuration(v.ExpiresIn))
	}
	return tw.Flush()
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "yes"
	}
	return "no"
}

// writeVessels prints vessels as a table or, with --json, as
// {"vessels": [...]}.
func (a *app) writeVessels(vs []clearinghouse.Vessel, wide bool) error {
	if a.g.json {
		return a.writeJSON(struct {
			Vessels []jsonVessel `json:"vessels"`
		}{toJSONVessels(vs, a.now())})
	}
	if len(vs) == 0 {
		return nil
	}
	return writeVesselTable(a.stdout, vs, wide, a.clean)
}

// writeKeyValues prints aligned "KEY  value" lines to stdout, each value
// made fit to print by clean.
func (a *app) writeKeyValues(kv [][2]string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 8, 2, ' ', 0)
	for _, p := range kv {
		fmt.Fprintf(tw, "%s\t%s\n", p[0], a.clean(p[1]))
	}
	return tw.Flush()
}

// plural returns "1 vessel" or "n vessels".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// soonest returns the vessel that expires first.
func soonest(vs []clearinghouse.Vessel) (clearinghouse.Vessel, bool) {
	if len(vs) == 0 {
		return clearinghouse.Vessel{}, false
	}
	m := vs[0]
	for _, v := range vs[1:] {
		if v.ExpiresIn < m.ExpiresIn {
			m = v
		}
	}
	return m, true
}

// joinHandles lists handles in their short form for messages.
func joinHandles(hs []clearinghouse.Handle, short map[clearinghouse.Handle]string) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		if s, ok := short[h]; ok {
			parts[i] = s
		} else {
			parts[i] = string(h)
		}
	}
	return strings.Join(parts, ", ")
}
