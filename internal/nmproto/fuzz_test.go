package nmproto

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// Fuzz targets for every parser, seeded from the vectors.

func FuzzReadMessage(f *testing.F) {
	for _, sv := range vectors(f).Session {
		if sv.InputHex != "" {
			f.Add(mustHex(f, sv.InputHex))
		}
		if sv.FramedHex != "" {
			f.Add(mustHex(f, sv.FramedHex))
		}
	}
	f.Add([]byte("10737418240\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		msg, err := ReadMessage(r, 64)
		if err != nil {
			if msg != "" {
				t.Fatalf("error %v with a payload", err)
			}
			if !errors.Is(err, ErrBadHeader) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrSessionEOF) &&
				!errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if len(msg) > 64 {
			t.Fatalf("payload of %d bytes over the limit", len(msg))
		}
		// What was read is a frame of msg, give or take the header's form.
		consumed := len(in) - r.Len()
		if !bytes.HasSuffix(in[:consumed], []byte("\n"+msg)) {
			t.Fatalf("read %q from %q", msg, in[:consumed])
		}
		back, err := ReadMessage(bytes.NewReader(AppendMessage(nil, msg)), 64)
		if err != nil || back != msg {
			t.Fatalf("round trip of %q: %q, %v", msg, back, err)
		}
	})
}

// FuzzDecide runs arbitrary requests through the engine: it must not
// panic, must give one of the node's answers, and must store metadata
// only for a signed call that names a known vessel.
func FuzzDecide(f *testing.F) {
	v := vectors(f)
	for _, sc := range v.Verification {
		for _, st := range sc.Steps {
			f.Add(st.Req, false)
		}
	}
	for _, sv := range v.Signing.Vectors[:12] {
		f.Add(sv.Signed, true)
	}
	f.Add("ReadVesselLog|v2\n!1 2!nan!inf!a:0!None! -1 +2", true)
	f.Fuzz(func(t *testing.T, req string, withOld bool) {
		node := newVectorNode(t)
		if withOld {
			node.SetOldMetadata("v2", "!"+v.Keys["A"].Public+"!3913056000.12!3913059600.12!t:0!None! 5")
		}
		d := node.engine.Decide(req, now, node)
		if d.StoreMetadata {
			if _, ok := node.table[d.Vessel]; !ok || !d.Call.Signed() {
				t.Fatalf("metadata stored for %q (%+v)", d.Vessel, d.Call)
			}
		}
		if d.Dispatch {
			if len(d.Args) != d.Call.Args {
				t.Fatalf("dispatch of %s with %d arguments", d.Call.Name, len(d.Args))
			}
			return
		}
		if d.Reply.Status != Error {
			t.Fatalf("refusal with status %s", d.Reply.Status)
		}
		switch body := d.Reply.Body; {
		case body == TextUnknownCall, body == TextUnknownVessel, body == TextInternalError,
			body == TextInsufficientPermissions, strings.HasPrefix(body, TextSignatureProblemPrefix),
			strings.HasPrefix(body, TextBadSignaturePrefix), strings.HasPrefix(body, TextIllegalSequencePrefix):
		default:
			t.Fatalf("unknown refusal %q", body)
		}
	})
}

func FuzzSplitSigned(f *testing.F) {
	for _, sv := range vectors(f).Signing.Vectors {
		f.Add(sv.Signed)
	}
	f.Add("a!b")
	f.Fuzz(func(t *testing.T, s string) {
		req, tr, ok := SplitSigned(s)
		if !ok {
			if strings.Count(s, "!") >= 6 {
				t.Fatalf("SplitSigned refused %q with six bangs", s)
			}
			return
		}
		// The node strips one byte before the trailer ("\n" when sent by a
		// client); put it back from the input.
		cut := len(s) - len(tr.String())
		if cut < 0 || s[cut:] != tr.String() || (cut > 0 && s[:cut-1] != req) {
			t.Fatalf("SplitSigned(%q) = %q, %+v", s, req, tr)
		}
		if strings.Contains(tr.PublicKey+tr.Timestamp+tr.Expiration+tr.Sequence+tr.Destination+tr.Signature, "!") {
			t.Fatalf("a field holds a bang: %+v", tr)
		}
	})
}

func FuzzParseGetVessels(f *testing.F) {
	f.Add(vectors(f).GetVessels.Response)
	f.Add(gvHead + "Name: v1\nStatus: Fresh\nAdvertise: True\nOwnerKey: 3 33\nOwnerInfo: \nUserKey: 1 2\n")
	f.Fuzz(func(t *testing.T, body string) {
		n, err := ParseGetVessels(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedGetVessels) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		back, err := ParseGetVessels(n.Render())
		if err != nil || !reflect.DeepEqual(back, n) {
			t.Fatalf("render and parse of %+v: %+v, %v", n, back, err)
		}
	})
}

func FuzzParseReply(f *testing.F) {
	f.Add(vectors(f).GetVessels.Response)
	f.Add("Bad Signature on 'x'\nError")
	f.Add("no status")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReply(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedReply) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if r.String() != s {
			t.Fatalf("ParseReply(%q) = %+v, which writes back as %q", s, r, r.String())
		}
	})
}

func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"3913056000.12", " -1e5 ", "inf", "nan", ".5", "1_0", "0x1p3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseFloat(s)
		if err != nil || v != v {
			return
		}
		back, err := ParseFloat(FormatFloat(v, FullForm))
		if err != nil || back != v {
			t.Fatalf("ParseFloat(%q) = %v, whose full form reads back as %v, %v", s, v, back, err)
		}
		if _, err := ParseFloat(FormatFloat(v, Py2Form)); err != nil {
			t.Fatalf("the short form of %v does not read: %v", v, err)
		}
	})
}
