package nmproto

import (
	"errors"
	"fmt"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
)

// The GetVessels body (docs/nodemanager-api.md §4.2).

// NodeInfo is what GetVessels reports about a node.
type NodeInfo struct {
	Version string // "0.2-alpha-20140714-1434" on the last release
	Name    string // the Nodename line: the node's address as it sees it
	Key     string // the Nodekey line: the node's public key, its identity
	Vessels []VesselInfo
}

// VesselInfo is one vessel of a GetVessels body.
type VesselInfo struct {
	Name      string
	Status    string // Fresh, Started, Stopped, Terminated, Stale, ThreadErr
	Advertise bool
	OwnerKey  string
	OwnerInfo string
	UserKeys  []string
}

// Render returns the GetVessels body for n, in the node's format: the
// three node lines, then per vessel Name, Status, Advertise (True or
// False), OwnerKey, OwnerInfo and one UserKey line per user key, each
// line ending in "\n". The reply is Succeeded(n.Render()). The node never
// stores a newline in these fields; Render does not check.
func (n *NodeInfo) Render() string {
	var sb strings.Builder
	sb.WriteString("Version: " + n.Version + "\nNodename: " + n.Name + "\nNodekey: " + n.Key + "\n")
	for _, v := range n.Vessels {
		adv := "False"
		if v.Advertise {
			adv = "True"
		}
		sb.WriteString("Name: " + v.Name + "\nStatus: " + v.Status + "\nAdvertise: " + adv +
			"\nOwnerKey: " + v.OwnerKey + "\nOwnerInfo: " + v.OwnerInfo + "\n")
		for _, k := range v.UserKeys {
			sb.WriteString("UserKey: " + k + "\n")
		}
	}
	return sb.String()
}

// ErrMalformedGetVessels is matched by the errors of ParseGetVessels.
var ErrMalformedGetVessels = errors.New("nmproto: malformed GetVessels body")

// ParseGetVessels reads a GetVessels body strictly. Like the original
// client it allows empty lines and refuses any line it does not know and
// an Advertise other than True or False; it also requires what the node
// always sends: Version, Nodename and Nodekey once each before the first
// vessel, and per vessel one Status, Advertise, OwnerKey and OwnerInfo
// line, with no vessel named twice. Keys must be two decimal integers;
// they are kept as written. Errors quote at most 64 bytes of a line.
func ParseGetVessels(body string) (*NodeInfo, error) {
	n := &NodeInfo{}
	var seen [3]bool
	var cur *VesselInfo
	var have map[string]bool // of the current vessel
	names := map[string]bool{}
	finish := func() error {
		if cur == nil {
			return nil
		}
		for _, f := range []string{"Status", "Advertise", "OwnerKey", "OwnerInfo"} {
			if !have[f] {
				return bad("vessel %q has no %s line", cur.Name, f)
			}
		}
		n.Vessels = append(n.Vessels, *cur)
		return nil
	}
	for rest := body; rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if line == "" {
			continue
		}
		field, value, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, bad("unknown line %q", textclip.Clip(line, 64))
		}
		switch field {
		case "Version", "Nodename", "Nodekey":
			i := map[string]int{"Version": 0, "Nodename": 1, "Nodekey": 2}[field]
			if seen[i] {
				return nil, bad("two %s lines", field)
			}
			if cur != nil {
				return nil, bad("%s line after the first vessel", field)
			}
			seen[i] = true
			switch field {
			case "Version":
				n.Version = value
			case "Nodename":
				n.Name = value
			case "Nodekey":
				if !isKeyString(value) {
					return nil, bad("Nodekey %q is not a public key", textclip.Clip(value, 64))
				}
				n.Key = value
			}
		case "Name":
			if !seen[0] || !seen[1] || !seen[2] {
				return nil, bad("vessel before the Version, Nodename and Nodekey lines")
			}
			if err := finish(); err != nil {
				return nil, err
			}
			if names[value] {
				return nil, bad("vessel %q listed twice", textclip.Clip(value, 64))
			}
			names[value] = true
			cur = &VesselInfo{Name: value, UserKeys: []string{}}
			have = map[string]bool{}
		case "Status", "Advertise", "OwnerKey", "OwnerInfo", "UserKey":
			if cur == nil {
				return nil, bad("%s line before any Name line", field)
			}
			if field != "UserKey" {
				if have[field] {
					return nil, bad("vessel %q has two %s lines", cur.Name, field)
				}
				have[field] = true
			}
			switch field {
			case "Status":
				cur.Status = value
			case "Advertise":
				switch value {
				case "True":
					cur.Advertise = true
				case "False":
				default:
					return nil, bad("unknown advertise value %q", textclip.Clip(value, 64))
				}
			case "OwnerKey", "UserKey":
				if !isKeyString(value) {
					return nil, bad("%s %q is not a public key", field, textclip.Clip(value, 64))
				}
				if field == "OwnerKey" {
					cur.OwnerKey = value
				} else {
					cur.UserKeys = append(cur.UserKeys, value)
				}
			case "OwnerInfo":
				cur.OwnerInfo = value
			}
		default:
			return nil, bad("unknown line %q", textclip.Clip(line, 64))
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return nil, bad("missing Version, Nodename or Nodekey line")
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return n, nil
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedGetVessels}, args...)...)
}

// isKeyString reports whether s is two decimal integers separated by
// white space, the shape the original client's key parser accepted.
func isKeyString(s string) bool {
	f, ok := fieldsAtMost(s, 2)
	if !ok || len(f) != 2 {
		return false
	}
	return isPyLong(f[0]) && isPyLong(f[1])
}
