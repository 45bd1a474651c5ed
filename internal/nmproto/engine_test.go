package nmproto

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

const (
	t0  = "3913056000.12"
	exp = "3913059600.12"
	now = 3913056001.123456
)

// signRaw signs request with the trailer fields exactly as given (Sign
// would refuse some of them) and returns the signed request.
func signRaw(t testing.TB, request string, tr Trailer, priv *seattlersa.PrivateKey) string {
	t.Helper()
	text := tr.SignedText(request)
	sig, err := seattlersa.Sign(priv, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return text + "!" + sig
}

// trailerA is a trailer for vector key A (a user of v2, the owner of v1)
// addressed to the vector node.
func trailerA(t testing.TB) Trailer {
	v := vectors(t)
	return Trailer{PublicKey: v.Keys["A"].Public, Timestamp: t0, Expiration: exp, Sequence: None, Destination: v.Setup.Identity}
}

// TestEngineBeyondVectors pins the engine's answers to requests the
// vectors do not cover, each derived from the original's code path.
func TestEngineBeyondVectors(t *testing.T) {
	v := vectors(t)
	privA := privateKey(t, "A")
	keyA := v.Keys["A"].Public
	with := func(f func(*Trailer)) Trailer {
		tr := trailerA(t)
		f(&tr)
		return tr
	}
	signed := func(req string, tr Trailer) string { return signRaw(t, req, tr, privA) }
	valid := signed("ReadVesselLog|v2", trailerA(t))
	sig := valid[strings.LastIndexByte(valid, '!'):]
	tests := []struct {
		name, req string
		want      string // the reply text; "dispatch" for an accepted request
		args      []string
	}{
		{"public call without its argument", "GetVesselResources", TextInternalError, nil},
		{"public call with extra arguments", "GetVessels|junk|more", "dispatch", []string{}},
		{"pipes in the last public argument", "GetVesselResources|v1|x", "dispatch", []string{"v1|x"}},
		{"signed call without a trailer", "ReadVesselLog|v2", TextInternalError, nil},
		{"signed call without a pipe", "ReadVesselLog\n" + valid[len("ReadVesselLog|v2\n"):], TextUnknownCall, nil},
		{"unknown vessel before the trailer is read", "ReadVesselLog|v9\nno trailer", TextUnknownVessel, nil},
		{"trailer without a bang", "ReadVesselLog|v2\nno trailer", TextInternalError, nil},
		{"five bangs", "ReadVesselLog|v2\n!a!b!c!d!e", TextInternalError, nil},
		{"expiration not a number", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Expiration = "soon" })), TextInternalError, nil},
		{"expiration with white space", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Expiration = " " + exp + "\t" })), "dispatch", []string{"v2"}},
		{"expiration inf", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Expiration = "inf" })), "dispatch", []string{"v2"}},
		{"expiration nan", "", "Bad Signature", nil},
		{"sequence without a colon", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Sequence = "tag" })), TextInternalError, nil},
		{"sequence with two colons", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Sequence = "a:b:0" })), TextInternalError, nil},
		{"sequence number with white space", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Sequence = "tag: 0 " })), "dispatch", []string{"v2"}},
		{"sequence number 1 first", "", "Illegal sequence id", nil},
		{"sequence number not a number", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Sequence = "tag:x" })), TextInternalError, nil},
		{"timestamp not a number, good signature", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Timestamp = "now" })), TextInternalError, nil},
		{"timestamp not a number, bad signature", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Timestamp = "now" })) + "1", "Bad Signature", nil},
		{"key of one integer", "ReadVesselLog|v2\n!65537!" + t0 + "!" + exp + "!None!None" + sig, TextInternalError, nil},
		{"key that is not a number", "ReadVesselLog|v2\n!65537 x!" + t0 + "!" + exp + "!None!None" + sig, TextInternalError, nil},
		{"key with e = n", "ReadVesselLog|v2\n!7 7!" + t0 + "!" + exp + "!None!None" + sig, TextInternalError, nil},
		{"key with a negative e", "ReadVesselLog|v2\n!-3 7!" + t0 + "!" + exp + "!None!None" + sig, TextInternalError, nil},
		{"key with a negative e, no signature", "ReadVesselLog|v2\n!-3 7!" + t0 + "!" + exp + "!None!None!", "Bad Signature", nil},
		{"key with e = 0", "ReadVesselLog|v2\n!0 7!" + t0 + "!" + exp + "!None!None" + sig, "Bad Signature", nil},
		{"key over the size bound", "ReadVesselLog|v2\n!3 1" + strings.Repeat("0", 1300) + "!" + t0 + "!" + exp + "!None!None" + sig, "Bad Signature", nil},
		{"key with leading zeros", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.PublicKey = "065537  00" + strings.Fields(keyA)[1] })), "dispatch", []string{"v2"}},
		{"empty signature", strings.TrimSuffix(valid, sig) + "!", "Bad Signature", nil},
		{"too few arguments, checked after the signature", signed("StartVesselEx|v2|repyV2", trailerA(t)), TextInternalError, nil},
		{"destination list with the node", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Destination = "1 2:" + v.Setup.Identity })), "dispatch", []string{"v2"}},
		{"destination written differently", signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Destination = "65537  " + strings.Fields(v.Setup.Identity)[1] })), TextSignatureProblemPrefix + ReasonNotDestined, nil},
		{"newline in a non-last argument", signed("StartVesselEx|v2|repy\nV2|a b", trailerA(t)), "dispatch", []string{"v2", "repy\nV2", "a b"}},
		{"bang in the arguments", signed("AddFileToVessel|v2|f|a!b!c!d!e!f!g", trailerA(t)), "dispatch", []string{"v2", "f", "a!b!c!d!e!f!g"}},
	}
	// Cases whose request must be built from the valid one.
	for i := range tests {
		switch tests[i].name {
		case "expiration nan":
			tests[i].req = signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Expiration = "nan" }))
		case "sequence number 1 first":
			tests[i].req = signed("ReadVesselLog|v2", with(func(tr *Trailer) { tr.Sequence = "tag:+1" }))
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := newVectorNode(t)
			d := node.engine.Decide(tt.req, now, node)
			switch tt.want {
			case "dispatch":
				if !d.Dispatch || strings.Join(d.Args, "\x00") != strings.Join(tt.args, "\x00") || len(d.Args) != len(tt.args) {
					t.Errorf("Decide = %+v, want dispatch with %q", d, tt.args)
				}
			case "Bad Signature", "Illegal sequence id":
				prefix := map[string]string{"Bad Signature": TextBadSignaturePrefix, "Illegal sequence id": TextIllegalSequencePrefix}[tt.want]
				if d.Dispatch || d.Reply.String() != prefix+tt.req+"'\nError" {
					t.Errorf("Decide = %+v, want %q", d, prefix+"…")
				}
			default:
				if d.Dispatch || d.Reply != Failure(tt.want) {
					t.Errorf("Decide reply = %q (dispatch %v), want %q", d.Reply, d.Dispatch, tt.want)
				}
			}
			// Only requests that passed every check store metadata.
			passed := tt.want == "dispatch" || tt.name == "too few arguments, checked after the signature"
			if d.StoreMetadata != passed || passed && (d.Vessel != "v2" || d.Metadata != tt.req[strings.LastIndexByte(tt.req, '\n')+1:]) {
				if tt.name != "pipes in the last public argument" && tt.name != "public call with extra arguments" {
					t.Errorf("StoreMetadata = %v (%q, %q), want %v", d.StoreMetadata, d.Vessel, d.Metadata, passed)
				}
			}
		})
	}
}

// TestEngineStoredMetadataQuirks follows the original where the stored
// trailer leads: a whole old request, a broken one, NaN timestamps, a
// signature with a newline in it.
func TestEngineStoredMetadataQuirks(t *testing.T) {
	v := vectors(t)
	privA := privateKey(t, "A")
	later := func(ts string) string {
		tr := trailerA(t)
		tr.Timestamp = ts
		return signRaw(t, "ReadVesselLog|v2", tr, privA)
	}
	t.Run("whole request stored by an older node", func(t *testing.T) {
		node := newVectorNode(t)
		old := "StartVesselEx|v2|repyV2|x y\n!" + v.Keys["C"].Public + "!3913055000.5!" + exp + "!None!None! 123"
		node.SetOldMetadata("v2", old)
		if r := node.engine.Serve(node, later(t0), now); r != Succeeded("") {
			t.Errorf("after an older request: %q", r)
		}
		node.SetOldMetadata("v2", strings.Replace(old, "3913055000.5", "3913057000", 1))
		if r := node.engine.Serve(node, later(t0), now); r != Failure(TextSignatureProblemPrefix+ReasonTimestampsOrder) {
			t.Errorf("after a later whole request: %q", r)
		}
	})
	for _, meta := range []string{"", "garbage", "!a!b!c!d!e!f", "!65537 1!x!1!None!None! 1", "!65537 1!1!1!x!None! 1"} {
		node := newVectorNode(t)
		node.SetOldMetadata("v2", meta)
		if r := node.engine.Serve(node, later(t0), now); r != Failure(TextInternalError) {
			t.Errorf("stored %q: %q, want Internal Error", meta, r)
		}
	}
	t.Run("NaN timestamp", func(t *testing.T) {
		node := newVectorNode(t)
		if r := node.engine.Serve(node, later("nan"), now); r != Succeeded("") {
			t.Fatalf("first request with a NaN timestamp: %q", r)
		}
		if r := node.engine.Serve(node, later("3913056000.5"), now); r != Failure(TextInternalError) {
			t.Errorf("after a NaN timestamp: %q, want Internal Error (the original's assertion)", r)
		}
	})
	t.Run("newline in the signature locks the vessel", func(t *testing.T) {
		node := newVectorNode(t)
		req := signRaw(t, "StartVesselEx|v2|repyV2|a", trailerA(t), privA)
		cut := strings.LastIndexByte(req, ' ')
		req = req[:cut] + "\n" + req[cut+1:] // " s1 s2 s3\ns4"
		d := node.engine.Decide(req, now, node)
		if !d.Dispatch || d.Args[2] != req[len("StartVesselEx|v2|repyV2|"):strings.LastIndexByte(req, '\n')] || d.Metadata != req[cut+1:] {
			t.Fatalf("Decide = %+v", d)
		}
		node.engine.Serve(node, req, now)
		if r := node.engine.Serve(node, later("3913056005"), now); r != Failure(TextInternalError) {
			t.Errorf("after the stored fragment: %q, want Internal Error", r)
		}
	})
	t.Run("sequence numbers of any length", func(t *testing.T) {
		node := newVectorNode(t)
		for i, seq := range []string{"t:0", "t:1", "u:0", "u:+1", "u:0002", "u:3"} {
			tr := trailerA(t)
			tr.Timestamp = "391305600" + string(rune('1'+i))
			tr.Sequence = seq
			if r := node.engine.Serve(node, signRaw(t, "ReadVesselLog|v2", tr, privA), now); r != Succeeded("") {
				t.Fatalf("sequence %s: %q", seq, r)
			}
		}
		node.SetOldMetadata("v2", "!"+v.Keys["A"].Public+"!1!1!t:99999999999999999999999!None! 1")
		tr := trailerA(t)
		tr.Sequence = "t:100000000000000000000000"
		if r := node.engine.Serve(node, signRaw(t, "ReadVesselLog|v2", tr, privA), now); r != Succeeded("") {
			t.Errorf("a 24-digit sequence step: %q", r)
		}
	})
}

func TestEngineEcho(t *testing.T) {
	privA := privateKey(t, "A")
	req := signRaw(t, "AddFileToVessel|v2|big|"+strings.Repeat("d", 100_000), trailerA(t), privA) + "0"
	for _, tt := range []struct {
		limit int
		want  string
	}{
		{0, TextBadSignaturePrefix + req[:DefaultEchoLimit] + "... (" + strconv.Itoa(len(req)-DefaultEchoLimit) + " more bytes)'"},
		{10, TextBadSignaturePrefix + req[:10] + "... (" + strconv.Itoa(len(req)-10) + " more bytes)'"},
		{-1, TextBadSignaturePrefix + req + "'"},
	} {
		node := newVectorNode(t)
		node.engine.EchoLimit = tt.limit
		if r := node.engine.Serve(node, req, now); r != Failure(tt.want) {
			t.Errorf("EchoLimit %d: reply of %d bytes, want %d", tt.limit, len(r.Body), len(tt.want))
		}
	}
}

func TestEngineIdentity(t *testing.T) {
	privA := privateKey(t, "A")
	node := newVectorNode(t)
	node.engine.NodeKey = ""
	tr := trailerA(t)
	if r := node.engine.Serve(node, signRaw(t, "ReadVesselLog|v2", tr, privA), now); r != Failure(TextSignatureProblemPrefix+ReasonNotDestined) {
		t.Errorf("no identity, a destination: %q", r)
	}
	tr.Destination = None
	tr.Timestamp = "3913056000.5"
	if r := node.engine.Serve(node, signRaw(t, "ReadVesselLog|v2", tr, privA), now); r != Succeeded("") {
		t.Errorf("no identity, destination None: %q", r)
	}
}

func TestDispatchArguments(t *testing.T) {
	node := newVectorNode(t)
	for _, tt := range []struct {
		call string
		args []string
	}{
		{"Nope", nil},
		{StartVesselEx, []string{"v2", "repyV2"}},
		{GetVessels, []string{"x"}},
	} {
		if r := Dispatch(node, tt.call, tt.args); r != Failure(TextInternalError) {
			t.Errorf("Dispatch(%s, %q) = %q, want Internal Error", tt.call, tt.args, r)
		}
	}
	for _, c := range Calls() {
		args := make([]string, c.Args)
		for i := range args {
			args[i] = "a" + string(rune('0'+i))
		}
		node.calls = nil
		Dispatch(node, c.Name, args)
		if c.Name == GetVessels {
			continue
		}
		if len(node.calls) != 1 || node.calls[0].Function != nmAPIName[c.Name] || strings.Join(node.calls[0].Args, ",") != strings.Join(args, ",") {
			t.Errorf("Dispatch(%s) ran %q", c.Name, node.calls)
		}
	}
}

func TestCallTable(t *testing.T) {
	cs := Calls()
	if len(cs) != 18 {
		t.Fatalf("%d calls, want 18", len(cs))
	}
	perm := map[Permission]int{}
	for _, c := range cs {
		perm[c.Permission]++
		if got, ok := LookupCall(c.Name); !ok || got != c {
			t.Errorf("LookupCall(%s) = %+v, %v", c.Name, got, ok)
		}
		if c.Signed() != (c.Permission != Public) {
			t.Errorf("%s: Signed() = %v", c.Name, c.Signed())
		}
	}
	if perm[Public] != 3 || perm[User] != 9 || perm[Owner] != 6 {
		t.Errorf("permissions %v, want 3 Public, 9 User, 6 Owner", perm)
	}
	if _, ok := LookupCall("getvessels"); ok {
		t.Error("call names are case-sensitive")
	}
	cs[0].Name = "changed"
	if Calls()[0].Name != GetVessels {
		t.Error("Calls returns the table itself")
	}
	for p, s := range map[Permission]string{Public: "Public", User: "User", Owner: "Owner", 7: "Permission(?)"} {
		if p.String() != s {
			t.Errorf("%d.String() = %q", p, p.String())
		}
	}
}

func TestSameKey(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"65537 123", "65537 123", true},
		{"65537 123", "+65537  0123", true},
		{"65537 123", "65537 124", false},
		{"65537 123", "x y", false},
		{"x y", "x y", false},
		{"65537", "65537", false},
	} {
		if have := SameKey(tt.a, tt.b); have != tt.want {
			t.Errorf("SameKey(%q, %q) = %v", tt.a, tt.b, have)
		}
	}
}

// BenchmarkDecide is the engine's whole decision for a signed request
// with 1024-bit keys (the owner key C of the vectors); its baseline,
// BenchmarkDecideBaseline, is the one RSA verification inside it.
func BenchmarkDecide(b *testing.B) {
	v := vectors(b)
	tr := Trailer{PublicKey: v.Keys["C"].Public, Timestamp: t0, Expiration: exp, Sequence: None, Destination: v.Setup.Identity}
	req := signRaw(b, "ReadVesselLog|v2", tr, privateKey(b, "C"))
	node := newVectorNode(b)
	b.ReportAllocs()
	for b.Loop() {
		if d := node.engine.Decide(req, now, node); !d.Dispatch {
			b.Fatal(d.Reply)
		}
	}
}

func BenchmarkDecideBaseline(b *testing.B) {
	v := vectors(b)
	tr := Trailer{PublicKey: v.Keys["C"].Public, Timestamp: t0, Expiration: exp, Sequence: None, Destination: v.Setup.Identity}
	req := signRaw(b, "ReadVesselLog|v2", tr, privateKey(b, "C"))
	pub, err := seattlersa.ParsePublicKey(v.Keys["C"].Public)
	if err != nil {
		b.Fatal(err)
	}
	i := strings.LastIndexByte(req, '!')
	msg, sig := []byte(req[:i]), req[i+1:]
	b.ReportAllocs()
	for b.Loop() {
		if err := seattlersa.VerifyLax(pub, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEngineBoundedCost: requests built to make the engine allocate or
// compute in proportion to their length (millions of signature tokens,
// key tokens, destinations) are answered quickly and with little memory
// beyond the request itself.
func TestEngineBoundedCost(t *testing.T) {
	privA := privateKey(t, "A")
	valid := signRaw(t, "ReadVesselLog|v2", trailerA(t), privA)
	head := valid[:strings.LastIndexByte(valid, '!')+1]
	manyDest := trailerA(t)
	manyDest.Destination = strings.Repeat(":", 4<<20) + "x"
	tests := []struct {
		name, req, want string
	}{
		{"4 million signature integers", head + strings.Repeat(" 1", 4<<20), "Bad Signature"},
		{"4 million key integers", "ReadVesselLog|v2\n!" + strings.Repeat("1 ", 4<<20) + "!" + t0 + "!" + exp + "!None!None! 1", TextInternalError},
		{"4 million destinations", signRaw(t, "ReadVesselLog|v2", manyDest, privA), TextSignatureProblemPrefix + ReasonNotDestined},
	}
	for _, tt := range tests {
		node := newVectorNode(t)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		d := node.engine.Decide(tt.req, now, node)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if tt.want == "Bad Signature" {
			if !strings.HasPrefix(d.Reply.Body, TextBadSignaturePrefix) {
				t.Errorf("%s: %.80q", tt.name, d.Reply.Body)
			}
		} else if d.Reply.Body != tt.want {
			t.Errorf("%s: %.80q, want %q", tt.name, d.Reply.Body, tt.want)
		}
		// One copy of the request (the bytes the SHA-1 runs over) and
		// little else.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(len(tt.req))+1<<20 {
			t.Errorf("%s: allocated %d KiB for a %d KiB request", tt.name, grew>>10, len(tt.req)>>10)
		}
		if took > 5*time.Second {
			t.Errorf("%s: took %v", tt.name, took)
		}
	}
	var before, after runtime.MemStats
	body := gvHead + strings.Repeat("\n", 8<<20)
	runtime.GC()
	runtime.ReadMemStats(&before)
	if n, err := ParseGetVessels(body); err != nil || len(n.Vessels) != 0 {
		t.Errorf("8 MiB of empty lines: %v", err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("ParseGetVessels allocated %d KiB for 8 MiB of empty lines", grew>>10)
	}
}
