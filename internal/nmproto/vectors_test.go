package nmproto

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// testdata/vectors.json holds the golden vectors made by running the
// original SeattleTestbed code (seattlelib_v2 158b875, nodemanager
// bce5cc7) under a Python 3 port; testdata/README.md says how.

type vectorFile struct {
	Keys map[string]struct {
		Public  string `json:"publickey_string"`
		Private string `json:"privatekey_string"`
	} `json:"keys"`
	Signing struct {
		Unsigned []struct {
			Request   string `json:"request"`
			FramedHex string `json:"framed_hex"`
		} `json:"unsigned_requests"`
		Vectors []signingVector `json:"vectors"`
	} `json:"signing"`
	Setup struct {
		Identity string                  `json:"identity (signeddata_set_identity)"`
		Nodename string                  `json:"nodename"`
		Version  string                  `json:"nodeversion"`
		Vessels  map[string]vectorVessel `json:"vessels"`
	} `json:"node_setup_for_verification"`
	Verification []verificationScenario `json:"verification"`
	Session      []sessionVector        `json:"session"`
	GetVessels   struct {
		Node struct {
			Order []string `json:"vessels_in_iteration_order"`
		} `json:"node"`
		Response       string `json:"response"`
		ResponseHex    string `json:"response_hex"`
		FramedReplyHex string `json:"framed_reply_hex"`
	} `json:"getvessels"`
	Quirks struct {
		FloatStr map[string]json.RawMessage `json:"float_str"`
	} `json:"quirks_evidence"`
}

type vectorVessel struct {
	Status    string   `json:"status"`
	Advertise bool     `json:"advertise"`
	OwnerKey  string   `json:"ownerkey"`
	OwnerInfo string   `json:"ownerinformation"`
	UserKeys  []string `json:"userkeys"`
}

type floatVector struct {
	Float    float64 `json:"float"`
	FloatHex string  `json:"float_hex"`
	Py2      string  `json:"py2_str"`
	Py3      string  `json:"py3_str"`
	OfPy2    float64 `json:"float_of_py2_str"`
	OfPy2Hex string  `json:"float_of_py2_str_hex"`
}

type signingVector struct {
	ID             string  `json:"id"`
	Request        string  `json:"request"`
	Key            string  `json:"key"`
	Timestamp      float64 `json:"timestamp_float"`
	TimestampStr   string  `json:"timestamp_str"`
	Expiration     float64 `json:"expiration_float"`
	ExpirationStr  string  `json:"expiration_str"`
	Form           string  `json:"float_str_form"`
	Sequence       *string `json:"sequence"`
	Destination    string  `json:"destination"`
	DigestInput    string  `json:"digest_input"`
	DigestInputHex string  `json:"digest_input_hex"`
	SHA1Hex        string  `json:"sha1_hex"`
	Signature      string  `json:"signature_field"`
	Signed         string  `json:"signed_request"`
	FramedHex      string  `json:"framed_hex"`
	Fresh          struct {
		Reply      *string      `json:"reply"`
		Status     string       `json:"status"`
		Dispatched []dispatched `json:"dispatched_to"`
	} `json:"node_result_fresh_state"`
}

type dispatched struct {
	Function string   `json:"nmAPI_function"`
	Args     []string `json:"args"`
}

type verificationScenario struct {
	ID      string  `json:"id"`
	Now     float64 `json:"node_time_now"`
	NowHex  string  `json:"node_time_now_hex"`
	Summary string  `json:"expected_summary"`
	Steps   []struct {
		Label  string  `json:"label"`
		Req    string  `json:"request"`
		Before *string `json:"vessel_oldmetadata_before"`
		Node   struct {
			Reply          string            `json:"reply"`
			ReplyFramedHex string            `json:"reply_framed_hex"`
			Status         string            `json:"status"`
			Dispatched     []dispatched      `json:"dispatched_to"`
			Stored         map[string]string `json:"oldmetadata_stored"`
		} `json:"node"`
	} `json:"steps"`
}

type sessionVector struct {
	ID         string `json:"id"`
	Message    *string
	FramedHex  string `json:"framed_hex"`
	Header     string `json:"header"`
	FramedLen  int    `json:"framed_length"`
	FramedSHA1 string `json:"framed_sha1"`
	InputHex   string `json:"input_hex"`
	Recv       *struct {
		Result    *string `json:"result"`
		Exception string  `json:"exception"`
		Message   string  `json:"message"`
	} `json:"recv_result"`
}

var loadVectors = sync.OnceValues(func() (*vectorFile, error) {
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		return nil, err
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return &v, nil
})

func vectors(t testing.TB) *vectorFile {
	t.Helper()
	v, err := loadVectors()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// privateKey parses vector key name ("A", "B", "C").
func privateKey(t testing.TB, name string) *seattlersa.PrivateKey {
	t.Helper()
	k, err := seattlersa.ParsePrivateKey(vectors(t).Keys[name].Private)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexFloat(t testing.TB, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("hex float %q: %v", s, err)
	}
	return f
}

// TestVectorCounts guards against a vectors file that decoded into
// nothing: the counts the task promises.
func TestVectorCounts(t *testing.T) {
	v := vectors(t)
	if len(v.Signing.Vectors) != 48 || len(v.Verification) != 35 || len(v.Session) != 15 || len(v.Keys) != 3 {
		t.Fatalf("vectors: %d signing, %d verification, %d session, %d keys; want 48, 35, 15, 3",
			len(v.Signing.Vectors), len(v.Verification), len(v.Session), len(v.Keys))
	}
}

// TestSigningVectors reproduces every signing vector byte for byte: the
// timestamp text in both float forms, the digest input, the SHA-1, the
// signature field, the signed request and its frame; and the node's
// answer to each with fresh vessel state.
func TestSigningVectors(t *testing.T) {
	v := vectors(t)
	for _, sv := range v.Signing.Vectors {
		t.Run(sv.ID, func(t *testing.T) {
			form := map[string]FloatForm{"py2": Py2Form, "py3": FullForm}[sv.Form]
			if have := FormatFloat(sv.Timestamp, form); have != sv.TimestampStr {
				t.Errorf("timestamp: FormatFloat(%v, %s) = %q, want %q", sv.Timestamp, sv.Form, have, sv.TimestampStr)
			}
			if have := FormatFloat(sv.Timestamp+3600, form); have != sv.ExpirationStr {
				t.Errorf("expiration: FormatFloat(T0+3600, %s) = %q, want %q", sv.Form, have, sv.ExpirationStr)
			}
			seq := None
			if sv.Sequence != nil {
				seq = *sv.Sequence
			}
			tr := Trailer{
				PublicKey:   v.Keys[sv.Key].Public,
				Timestamp:   FormatFloat(sv.Timestamp, form),
				Expiration:  FormatFloat(sv.Timestamp+3600, form),
				Sequence:    seq,
				Destination: sv.Destination,
			}
			if have := tr.SignedText(sv.Request); have != sv.DigestInput || !bytes.Equal([]byte(have), mustHex(t, sv.DigestInputHex)) {
				t.Errorf("digest input = %q, want %q", have, sv.DigestInput)
			}
			sum := sha1.Sum([]byte(tr.SignedText(sv.Request)))
			if hex.EncodeToString(sum[:]) != sv.SHA1Hex {
				t.Errorf("SHA-1 = %x, want %s", sum, sv.SHA1Hex)
			}
			signed, err := Sign(sv.Request, &tr, privateKey(t, sv.Key))
			if err != nil {
				t.Fatal(err)
			}
			if tr.Signature != sv.Signature {
				t.Errorf("signature field = %q, want %q", tr.Signature, sv.Signature)
			}
			if signed != sv.Signed {
				t.Errorf("signed request = %q, want %q", signed, sv.Signed)
			}
			if have := AppendMessage(nil, signed); !bytes.Equal(have, mustHex(t, sv.FramedHex)) {
				t.Errorf("frame = %x, want %s", have, sv.FramedHex)
			}
			// The node, fresh, at T0+1.
			node := newVectorNode(t)
			reply := node.engine.Serve(node, signed, 3913056001.123456)
			if string(reply.Status) != sv.Fresh.Status {
				t.Errorf("node status = %s, want %s (reply %q)", reply.Status, sv.Fresh.Status, reply)
			}
			if sv.Fresh.Reply != nil && reply.String() != *sv.Fresh.Reply {
				t.Errorf("node reply = %q, want %q", reply, *sv.Fresh.Reply)
			}
			node.checkDispatched(t, sv.Fresh.Dispatched)
		})
	}
	for _, u := range v.Signing.Unsigned {
		if have := AppendMessage(nil, u.Request); !bytes.Equal(have, mustHex(t, u.FramedHex)) {
			t.Errorf("unsigned %q: frame = %x, want %s", u.Request, have, u.FramedHex)
		}
	}
}

// vectorNode is the node of the verification vectors (identity key B; v1
// owned by A; v2 owned by C with users A and B) with the generator's
// stub API: every call is recorded and answers "\nSuccess", GetVessels
// answers the real text.
type vectorNode struct {
	engine *Engine
	info   NodeInfo
	table  VesselTable
	calls  []dispatched
	strict bool
}

func newVectorNode(t testing.TB) *vectorNode {
	t.Helper()
	v := vectors(t)
	n := &vectorNode{
		engine: &Engine{NodeKey: v.Setup.Identity},
		info:   NodeInfo{Version: v.Setup.Version, Name: v.Setup.Nodename, Key: v.Setup.Identity},
		table:  VesselTable{},
	}
	for _, name := range []string{"v1", "v2"} {
		vv := v.Setup.Vessels[name]
		n.info.Vessels = append(n.info.Vessels, VesselInfo{
			Name: name, Status: vv.Status, Advertise: vv.Advertise,
			OwnerKey: vv.OwnerKey, OwnerInfo: vv.OwnerInfo, UserKeys: append([]string{}, vv.UserKeys...),
		})
		n.table[name] = Access{OwnerKey: vv.OwnerKey, UserKeys: vv.UserKeys}
	}
	return n
}

func (n *vectorNode) Access(vessel string) (Access, bool) { return n.table.Access(vessel) }

func (n *vectorNode) SetOldMetadata(vessel, meta string) {
	a := n.table[vessel]
	a.OldMetadata, a.HasOldMetadata = meta, true
	n.table[vessel] = a
}

// nmAPIName maps a call to the name of its function in nmAPI.py, which
// the vectors record.
var nmAPIName = map[string]string{
	GetVessels: "getvessels", GetVesselResources: "getvesselresources", GetOffcutResources: "getoffcutresources",
	StartVessel: "startvessel", StartVesselEx: "startvessel_ex", StopVessel: "stopvessel",
	AddFileToVessel: "addfiletovessel", ListFilesInVessel: "listfilesinvessel",
	RetrieveFileFromVessel: "retrievefilefromvessel", DeleteFileInVessel: "deletefileinvessel",
	ReadVesselLog: "readvessellog", ResetVessel: "resetvessel", ChangeOwner: "changeowner",
	ChangeUsers: "changeusers", ChangeOwnerInformation: "changeownerinformation",
	ChangeAdvertise: "changeadvertise", SplitVessel: "splitvessel", JoinVessels: "joinvessels",
}

func (n *vectorNode) record(call string, args ...string) Reply {
	n.calls = append(n.calls, dispatched{Function: nmAPIName[call], Args: args})
	return Succeeded("")
}

func (n *vectorNode) GetVessels() Reply { return Succeeded(n.info.Render()) }
func (n *vectorNode) GetVesselResources(v string) Reply {
	return n.record(GetVesselResources, v)
}
func (n *vectorNode) GetOffcutResources() Reply     { return n.record(GetOffcutResources) }
func (n *vectorNode) StartVessel(v, a string) Reply { return n.record(StartVessel, v, a) }
func (n *vectorNode) StartVesselEx(v, p, a string) Reply {
	return n.record(StartVesselEx, v, p, a)
}
func (n *vectorNode) StopVessel(v string) Reply { return n.record(StopVessel, v) }
func (n *vectorNode) AddFileToVessel(v, f, d string) Reply {
	return n.record(AddFileToVessel, v, f, d)
}
func (n *vectorNode) ListFilesInVessel(v string) Reply { return n.record(ListFilesInVessel, v) }
func (n *vectorNode) RetrieveFileFromVessel(v, f string) Reply {
	return n.record(RetrieveFileFromVessel, v, f)
}
func (n *vectorNode) DeleteFileInVessel(v, f string) Reply {
	return n.record(DeleteFileInVessel, v, f)
}
func (n *vectorNode) ReadVesselLog(v string) Reply      { return n.record(ReadVesselLog, v) }
func (n *vectorNode) ResetVessel(v string) Reply        { return n.record(ResetVessel, v) }
func (n *vectorNode) ChangeOwner(v, k string) Reply     { return n.record(ChangeOwner, v, k) }
func (n *vectorNode) ChangeUsers(v, k string) Reply     { return n.record(ChangeUsers, v, k) }
func (n *vectorNode) ChangeAdvertise(v, s string) Reply { return n.record(ChangeAdvertise, v, s) }
func (n *vectorNode) SplitVessel(v, r string) Reply     { return n.record(SplitVessel, v, r) }
func (n *vectorNode) JoinVessels(v1, v2 string) Reply   { return n.record(JoinVessels, v1, v2) }
func (n *vectorNode) ChangeOwnerInformation(v, i string) Reply {
	return n.record(ChangeOwnerInformation, v, i)
}

func (n *vectorNode) checkDispatched(t *testing.T, want []dispatched) {
	t.Helper()
	if len(want) == 0 && len(n.calls) == 0 {
		return
	}
	if !slices.EqualFunc(n.calls, want, func(a, b dispatched) bool {
		return a.Function == b.Function && slices.Equal(a.Args, b.Args)
	}) {
		t.Errorf("dispatched %q, want %q", n.calls, want)
	}
	n.calls = nil
}

// strictAnswers is what the engine answers, in strict mode, to the
// scenarios where it departs from the original: the four signatures the
// original's lax check took are bad signatures. Every other scenario gets
// the original's answer in both modes.
var strictAnswers = map[string]string{
	"signature_plus_n":        "Bad Signature",
	"signature_extra_spaces":  "Bad Signature",
	"marker_byte_not_checked": "Bad Signature",
	"rechopped_signature":     "Bad Signature",
}

// TestVerificationVectors runs every verification scenario through the
// engine, step by step on one node: the reply text and its frame, the
// arguments dispatched, the stored metadata before and after. In strict
// mode the four lax scenarios get "Bad Signature on '…'" instead.
func TestVerificationVectors(t *testing.T) {
	v := vectors(t)
	for _, strict := range []bool{false, true} {
		for _, sc := range v.Verification {
			name := sc.ID
			if strict {
				name += "/strict"
			}
			t.Run(name, func(t *testing.T) {
				if now := hexFloat(t, sc.NowHex); math.Float64bits(now) != math.Float64bits(sc.Now) {
					t.Fatalf("node_time_now %v decodes differently from its hex %s", sc.Now, sc.NowHex)
				}
				node := newVectorNode(t)
				node.engine.Strict = strict
				for i, st := range sc.Steps {
					before := node.table["v2"]
					if sc.ID == "insufficient_permissions" || sc.ID == "unknown_vessel" {
						before = node.table["v1"]
					}
					if st.Before == nil && before.HasOldMetadata || st.Before != nil && (!before.HasOldMetadata || before.OldMetadata != *st.Before) {
						t.Errorf("step %d (%s): metadata before = %q (%v), want %v", i, st.Label, before.OldMetadata, before.HasOldMetadata, st.Before)
					}
					reply := node.engine.Serve(node, st.Req, sc.Now)
					if want, ok := strictAnswers[sc.ID]; strict && ok {
						wantText := TextBadSignaturePrefix + st.Req + "'\nError"
						if want != "Bad Signature" || reply.String() != wantText {
							t.Errorf("step %d (%s): strict reply %q, want %q", i, st.Label, reply, wantText)
						}
						if len(node.calls) != 0 {
							t.Errorf("step %d: strict mode dispatched %q", i, node.calls)
						}
						continue
					}
					if reply.String() != st.Node.Reply {
						t.Errorf("step %d (%s): reply %q, want %q", i, st.Label, reply, st.Node.Reply)
					}
					if st.Node.ReplyFramedHex != "" && !bytes.Equal(AppendMessage(nil, reply.String()), mustHex(t, st.Node.ReplyFramedHex)) {
						t.Errorf("step %d (%s): framed reply differs", i, st.Label)
					}
					if string(reply.Status) != st.Node.Status {
						t.Errorf("step %d (%s): status %s, want %s", i, st.Label, reply.Status, st.Node.Status)
					}
					node.checkDispatched(t, st.Node.Dispatched)
					for vessel, meta := range st.Node.Stored {
						if a := node.table[vessel]; !a.HasOldMetadata || a.OldMetadata != meta {
							t.Errorf("step %d (%s): %s metadata = %q, want %q", i, st.Label, vessel, a.OldMetadata, meta)
						}
					}
				}
			})
		}
	}
	for id := range strictAnswers {
		if !slices.ContainsFunc(v.Verification, func(s verificationScenario) bool { return s.ID == id }) {
			t.Errorf("strictAnswers names %q, which is not a scenario", id)
		}
	}
}

// TestSessionVectors checks framing against the session vectors: what is
// sent, and what the reader makes of each input.
func TestSessionVectors(t *testing.T) {
	for _, sv := range vectors(t).Session {
		t.Run(sv.ID, func(t *testing.T) {
			switch {
			case sv.ID == "send_1MiB":
				msg := strings.Repeat("A", 1<<20)
				framed := AppendMessage(nil, msg)
				sum := sha1.Sum(framed)
				if len(framed) != sv.FramedLen || hex.EncodeToString(sum[:]) != sv.FramedSHA1 || !strings.HasPrefix(string(framed), sv.Header) {
					t.Errorf("1 MiB frame: %d bytes, SHA-1 %x", len(framed), sum)
				}
				var buf bytes.Buffer
				if err := WriteMessage(&buf, msg); err != nil || !bytes.Equal(buf.Bytes(), framed) {
					t.Errorf("WriteMessage(1 MiB) wrote %d bytes, %v", buf.Len(), err)
				}
				have, err := ReadMessage(&buf, 1<<20)
				if err != nil || have != msg {
					t.Errorf("ReadMessage(1 MiB frame) = %d bytes, %v", len(have), err)
				}
			case sv.FramedHex != "":
				var buf bytes.Buffer
				if err := WriteMessage(&buf, *sv.Message); err != nil || !bytes.Equal(buf.Bytes(), mustHex(t, sv.FramedHex)) {
					t.Errorf("WriteMessage(%q) = %x, %v; want %s", *sv.Message, buf.Bytes(), err, sv.FramedHex)
				}
				if have, err := ReadMessage(&buf, 100); err != nil || have != *sv.Message {
					t.Errorf("ReadMessage = %q, %v; want %q", have, err, *sv.Message)
				}
			case sv.InputHex != "":
				r := bytes.NewReader(mustHex(t, sv.InputHex))
				have, err := ReadMessage(r, 100)
				switch {
				case sv.Recv.Result != nil:
					if err != nil || have != *sv.Recv.Result {
						t.Errorf("ReadMessage = %q, %v; want %q", have, err, *sv.Recv.Result)
					}
				case sv.Recv.Exception == "SessionEOF" && strings.Contains(sv.Recv.Message, "-1"):
					if !errors.Is(err, ErrSessionEOF) {
						t.Errorf("ReadMessage error = %v, want ErrSessionEOF", err)
					}
				case sv.Recv.Exception == "SessionEOF": // the body stops short
					if !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Errorf("ReadMessage error = %v, want io.ErrUnexpectedEOF", err)
					}
				case sv.Recv.Exception == "ValueError":
					if !errors.Is(err, ErrBadHeader) {
						t.Errorf("ReadMessage error = %v, want ErrBadHeader (original: %s)", err, sv.Recv.Message)
					}
				default:
					t.Fatalf("unhandled vector %+v", sv.Recv)
				}
				if sv.ID == "recv_two_messages" {
					rest, _ := io.ReadAll(r)
					if string(rest) != "3\nabc" {
						t.Errorf("after the first message, %q is left; want the second untouched", rest)
					}
				}
			case sv.ID == "note_eof_sender":
			default:
				t.Fatalf("unhandled session vector %s", sv.ID)
			}
		})
	}
}

// TestGetVesselsVector renders the vector node's GetVessels reply byte for
// byte and parses it back.
func TestGetVesselsVector(t *testing.T) {
	v := vectors(t)
	node := newVectorNode(t)
	if got := node.info.Render(); got+"\nSuccess" != v.GetVessels.Response {
		t.Errorf("Render:\n%q\nwant\n%q", got+"\nSuccess", v.GetVessels.Response)
	}
	reply := node.engine.Serve(node, "GetVessels", 0)
	if !bytes.Equal([]byte(reply.String()), mustHex(t, v.GetVessels.ResponseHex)) ||
		!bytes.Equal(AppendMessage(nil, reply.String()), mustHex(t, v.GetVessels.FramedReplyHex)) {
		t.Errorf("GetVessels reply %q differs from the vector", reply)
	}
	parsed, err := ParseReply(v.GetVessels.Response)
	if err != nil || parsed.Status != Success {
		t.Fatalf("ParseReply = %+v, %v", parsed, err)
	}
	info, err := ParseGetVessels(parsed.Body)
	if err != nil {
		t.Fatal(err)
	}
	if info.Render() != node.info.Render() || info.Key != v.Setup.Identity || len(info.Vessels) != 2 ||
		info.Vessels[0].Name != v.GetVessels.Node.Order[0] || info.Vessels[1].OwnerInfo != "alice@example.org" ||
		info.Vessels[0].OwnerInfo != "" || len(info.Vessels[1].UserKeys) != 2 || info.Vessels[0].Advertise || !info.Vessels[1].Advertise {
		t.Errorf("ParseGetVessels = %+v", info)
	}
}

// TestFloatQuirkVectors checks both float forms and Python's float() of
// the short form against quirks_evidence.float_str.
func TestFloatQuirkVectors(t *testing.T) {
	n := 0
	for name, raw := range vectors(t).Quirks.FloatStr {
		var fv floatVector
		if json.Unmarshal(raw, &fv) != nil || fv.FloatHex == "" {
			continue // the note
		}
		n++
		f := hexFloat(t, fv.FloatHex)
		if math.Float64bits(f) != math.Float64bits(fv.Float) {
			t.Errorf("%s: %v differs from its hex", name, fv.Float)
		}
		if have := FormatFloat(f, Py2Form); have != fv.Py2 {
			t.Errorf("%s: Py2Form = %q, want %q", name, have, fv.Py2)
		}
		if have := FormatFloat(f, FullForm); have != fv.Py3 {
			t.Errorf("%s: FullForm = %q, want %q", name, have, fv.Py3)
		}
		back, err := ParseFloat(fv.Py2)
		if err != nil || math.Float64bits(back) != math.Float64bits(hexFloat(t, fv.OfPy2Hex)) {
			t.Errorf("%s: ParseFloat(%q) = %v, %v; want %s", name, fv.Py2, back, err, fv.OfPy2Hex)
		}
	}
	if n != 4 {
		t.Errorf("%d float vectors, want 4", n)
	}
}
