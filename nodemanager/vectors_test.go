package nodemanager

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// TestClientSigningVectors has the client make the signing vectors'
// requests (docs/nodemanager-api.md §9) with its clock stopped at the
// vectors' time, and checks the bytes it sends: every vector a client
// makes, byte for byte, in both timestamp forms. The signed GetVessels
// vectors (which only show that a node refuses them) are sent unsigned by
// the client, as the original did; that frame is checked too.
func TestClientSigningVectors(t *testing.T) {
	data, err := os.ReadFile("../internal/nmproto/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Keys map[string]struct {
			Private string `json:"privatekey_string"`
		} `json:"keys"`
		Signing struct {
			Unsigned []struct {
				FramedHex string `json:"framed_hex"`
			} `json:"unsigned_requests"`
			Vectors []struct {
				ID          string  `json:"id"`
				Request     string  `json:"request"`
				Key         string  `json:"key"`
				Timestamp   float64 `json:"timestamp_float"`
				Form        string  `json:"float_str_form"`
				Sequence    *string `json:"sequence"`
				Destination string  `json:"destination"`
				Signed      string  `json:"signed_request"`
				FramedHex   string  `json:"framed_hex"`
			} `json:"vectors"`
		} `json:"signing"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	made := 0
	for _, sv := range v.Signing.Vectors {
		d := &pipeDialer{answer: func(string) string { return "\nSuccess" }}
		c := newClientWithKey(t, v.Keys[sv.Key].Private, WithDialer(d))
		c.clock = func() float64 { return sv.Timestamp }
		c.form = map[string]nmproto.FloatForm{"py2": nmproto.Py2Form, "py3": nmproto.FullForm}[sv.Form]
		node, err := c.Node("node.example:1224", sv.Destination)
		if err != nil {
			t.Fatal(err)
		}
		vessel, _ := node.Vessel("v2")
		if sv.Sequence != nil {
			tag, n, _ := strings.Cut(*sv.Sequence, ":")
			if n != "0" {
				t.Fatalf("%s: sequence %s", sv.ID, *sv.Sequence)
			}
			vessel, _ = vessel.WithSequence(tag, 0)
		}
		ctx := context.Background()
		want := sv.Signed
		switch {
		case sv.Request == "StartVesselEx|v2|repyV2|hello.r2py 1 2":
			_, err = vessel.StartEx(ctx, "repyV2", "hello.r2py 1 2")
		case sv.Request == "AddFileToVessel|v2|a.txt|data|with|pipes":
			err = vessel.AddFile(ctx, "a.txt", []byte("data|with|pipes"))
		case sv.Request == "ReadVesselLog|v2":
			_, err = vessel.ReadLog(ctx)
		case sv.Request == "GetVessels":
			_, err = node.GetVessels(ctx)
			want = "GetVessels"
		default:
			t.Fatalf("%s: no client call for %q", sv.ID, sv.Request)
		}
		if err != nil && sv.Request != "GetVessels" {
			t.Errorf("%s: %v", sv.ID, err)
		}
		if d.last() != want {
			t.Errorf("%s: the client sent\n%q\nwant\n%q", sv.ID, d.last(), want)
			continue
		}
		wantFrame := sv.FramedHex
		if sv.Request == "GetVessels" {
			wantFrame = v.Signing.Unsigned[0].FramedHex
		} else {
			made++
		}
		if d.frames[0] == nil || hex.EncodeToString(d.frames[0]) != wantFrame {
			t.Errorf("%s: frame %x, want %s", sv.ID, d.frames[0], wantFrame)
		}
	}
	if made != 36 {
		t.Errorf("the client made %d signed vectors, want 36", made)
	}
}

func newClientWithKey(t *testing.T, priv string, opts ...Option) *Client {
	t.Helper()
	c, err := New(append([]Option{WithPrivateKey(priv)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
