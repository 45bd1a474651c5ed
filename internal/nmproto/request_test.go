package nmproto

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

func TestEncodeRequest(t *testing.T) {
	good := []struct {
		name string
		args []string
		want string
	}{
		{GetVessels, nil, "GetVessels"},
		{GetVesselResources, []string{"v1"}, "GetVesselResources|v1"},
		{AddFileToVessel, []string{"v2", "a.txt", "data|with|pipes"}, "AddFileToVessel|v2|a.txt|data|with|pipes"},
		{ChangeUsers, []string{"v2", "65537 1|65537 2"}, "ChangeUsers|v2|65537 1|65537 2"},
		{ChangeUsers, []string{"v2", ""}, "ChangeUsers|v2|"},
	}
	for _, tt := range good {
		if have, err := EncodeRequest(tt.name, tt.args...); err != nil || have != tt.want {
			t.Errorf("EncodeRequest(%s, %q) = %q, %v; want %q", tt.name, tt.args, have, err, tt.want)
		}
	}
	bad := []struct {
		name string
		args []string
	}{
		{"Nope", nil},
		{GetVessels, []string{"x"}},
		{StartVesselEx, []string{"v2", "repyV2"}},
		{StartVesselEx, []string{"v|2", "repyV2", "a"}},
		{StartVesselEx, []string{"v2", "repy|V2", "a"}},
		{ReadVesselLog, []string{""}},
	}
	for _, tt := range bad {
		if have, err := EncodeRequest(tt.name, tt.args...); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("EncodeRequest(%s, %q) = %q, %v; want ErrInvalidRequest", tt.name, tt.args, have, err)
		}
	}
}

func TestSignChecksTheTrailer(t *testing.T) {
	priv := privateKey(t, "A")
	base := trailerA(t)
	good := []func(*Trailer){
		func(tr *Trailer) {},
		func(tr *Trailer) { tr.Timestamp = None },
		func(tr *Trailer) { tr.Sequence = "tag:0" },
		func(tr *Trailer) { tr.Sequence = ":7" },
		func(tr *Trailer) { tr.Destination = None },
		func(tr *Trailer) { tr.Destination = "1 2:3 4" },
	}
	for i, f := range good {
		tr := base
		f(&tr)
		signed, err := Sign("ReadVesselLog|v2", &tr, priv)
		if err != nil || !strings.HasSuffix(signed, "!"+tr.Signature) || tr.Signature == "" {
			t.Errorf("good trailer %d: %q, %v", i, signed, err)
		}
		if req, back, ok := SplitSigned(signed); !ok || req != "ReadVesselLog|v2" || back != tr {
			t.Errorf("good trailer %d: SplitSigned = %q, %+v, %v", i, req, back, ok)
		}
	}
	bad := map[string]func(*Trailer){
		"bang in the key":          func(tr *Trailer) { tr.PublicKey = "65537!1" },
		"newline in the key":       func(tr *Trailer) { tr.PublicKey = "65537\n1" },
		"key of one integer":       func(tr *Trailer) { tr.PublicKey = "65537" },
		"timestamp not a number":   func(tr *Trailer) { tr.Timestamp = "now" },
		"expiration None":          func(tr *Trailer) { tr.Expiration = None },
		"expiration nan":           func(tr *Trailer) { tr.Expiration = "nan" },
		"sequence without number":  func(tr *Trailer) { tr.Sequence = "tag" },
		"sequence with two colons": func(tr *Trailer) { tr.Sequence = "a:b:1" },
		"sequence number a word":   func(tr *Trailer) { tr.Sequence = "tag:one" },
		"empty destination":        func(tr *Trailer) { tr.Destination = "" },
		"bang in the destination":  func(tr *Trailer) { tr.Destination = "a!b" },
	}
	for name, f := range bad {
		tr := base
		f(&tr)
		if signed, err := Sign("ReadVesselLog|v2", &tr, priv); !errors.Is(err, ErrInvalidRequest) || signed != "" {
			t.Errorf("%s: Sign = %q, %v; want ErrInvalidRequest", name, signed, err)
		}
	}
	tr := base
	if _, err := Sign("x", &tr, &seattlersa.PrivateKey{}); !errors.Is(err, seattlersa.ErrInvalidKey) {
		t.Errorf("Sign with an invalid key: %v", err)
	}
}

func TestSplitSigned(t *testing.T) {
	if _, _, ok := SplitSigned("a!b!c!d!e!f"); ok {
		t.Error("SplitSigned accepted five bangs")
	}
	req, tr, ok := SplitSigned("x!y\n!k!t!e!s!d! 1")
	if !ok || req != "x!y" || tr != (Trailer{"k", "t", "e", "s", "d", " 1"}) || tr.String() != "!k!t!e!s!d! 1" {
		t.Errorf("SplitSigned = %q, %+v, %v", req, tr, ok)
	}
	if req, _, ok := SplitSigned("!k!t!e!s!d!"); !ok || req != "" {
		t.Errorf("SplitSigned(empty request) = %q, %v", req, ok)
	}
}

func TestNTPTime(t *testing.T) {
	at := time.Date(2024, 1, 1, 0, 0, 0, 123456000, time.UTC)
	if have := NTPTime(at); math.Abs(have-3913056000.123456) > 1e-6 {
		t.Errorf("NTPTime(2024-01-01T00:00:00.123456Z) = %v, want 3913056000.123456", have)
	}
	if have := NTPTime(time.Unix(0, 0)); have != NTPEpochOffset {
		t.Errorf("NTPTime(Unix epoch) = %v", have)
	}
}

func TestParseReply(t *testing.T) {
	good := map[string]Reply{
		"\nSuccess":                    {"", Success},
		"Started\nSuccess":             {"Started", Success},
		"a\nb\n\nWarning":              {"a\nb\n", Warning},
		"Error, File Not Found\nError": {"Error, File Not Found", Error},
	}
	for s, want := range good {
		if have, err := ParseReply(s); err != nil || have != want || have.String() != s {
			t.Errorf("ParseReply(%q) = %+v, %v; want %+v", s, have, err, want)
		}
	}
	for _, s := range []string{"", "Success", "x\nsuccess", "x\nSuccess\n", "x\nFailure " + strings.Repeat("z", 1000)} {
		have, err := ParseReply(s)
		if !errors.Is(err, ErrMalformedReply) {
			t.Errorf("ParseReply(%q) = %+v, %v; want ErrMalformedReply", s, have, err)
		}
		if err != nil && len(err.Error()) > 120 {
			t.Errorf("ParseReply error of %d bytes: the status is not clipped", len(err.Error()))
		}
	}
}
