package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
)

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

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeVesselTable prints vs as a table: the short handle unless wide.
func writeVesselTable(w io.Writer, vs []clearinghouse.Vessel, wide bool) error {
	short := shortHandles(vs)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDLE\tIP\tPORT\tACTIVE\tEXPIRES IN")
	for _, v := range vs {
		h := short[v.Handle]
		if wide {
			h = string(v.Handle)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", h, v.NodeIP, v.NodePort, yesNo(v.IsActive), formatDuration(v.ExpiresIn))
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
		return writeJSON(a.stdout, struct {
			Vessels []jsonVessel `json:"vessels"`
		}{toJSONVessels(vs, a.now())})
	}
	if len(vs) == 0 {
		return nil
	}
	return writeVesselTable(a.stdout, vs, wide)
}

// writeKeyValues prints aligned "KEY  value" lines.
func writeKeyValues(w io.Writer, kv [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, p := range kv {
		fmt.Fprintf(tw, "%s\t%s\n", p[0], p[1])
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
