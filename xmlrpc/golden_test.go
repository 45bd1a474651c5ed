package xmlrpc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// goldenReencoded pins, for each get_resource_info payload, the SHA-256 of
// what decoding it and encoding the result again gives: into []benchVessel
// (struct fields in declaration order) and into any (members in key
// order). The 10-vessel documents are also kept whole in testdata/golden.
// They were written by the decoder and encoder as they were before the
// decoder's fast paths and streaming, so a change to either that moves a
// single byte shows here. Run with -update after a deliberate change.
var goldenReencoded = map[string]string{
	"10/typed":   "f430bf09c453ef87c4bb8a1398131b57a66bd517419a5bcfc7f0af08185dfb3d",
	"10/any":     "85a714bb891bd821477c961e0714fba182a380a6914cd2004489833f7f89b44f",
	"100/typed":  "b2ea5e3a89fa2310df94143057be83732084a8299fda7d5c997f99598dd30cd6",
	"100/any":    "55b5118dda77f65d2df723c34e15f49801bfb4f8e4cfbfc0f12a106ca8fc46e6",
	"1000/typed": "e1be7744764d1b041053f7afbc3b5cee9eb690e12d578bfbf114dcca696bff70",
	"1000/any":   "83c41d05f77725cb74a5809628785cc596657043e5c3677104fedf3657e78d64",
}

// TestGoldenReencodedPayloads decodes each payload, in memory and as a
// stream, re-encodes the result and compares the bytes with the golden
// ones: the wire bytes stay identical whatever the decoder does faster.
func TestGoldenReencodedPayloads(t *testing.T) {
	for _, n := range []string{"10", "100", "1000"} {
		data := readPayload(t, n)
		for _, form := range []string{"typed", "any"} {
			key := n + "/" + form
			var encoded [][]byte
			for _, streamed := range []bool{false, true} {
				var r interface{ Read([]byte) (int, error) } = bytes.NewReader(data)
				if streamed {
					r = &chunkReader{data: data, n: 1500}
				}
				var v any
				if form == "typed" {
					v = &[]benchVessel{}
				} else {
					v = new(any)
				}
				if err := NewDecoder(r).DecodeResponse(v); err != nil {
					t.Fatalf("%s (streamed %v): %v", key, streamed, err)
				}
				var buf bytes.Buffer
				if err := EncodeResponse(&buf, v); err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				encoded = append(encoded, buf.Bytes())
			}
			if !bytes.Equal(encoded[0], encoded[1]) {
				t.Fatalf("%s: streamed and in-memory decoding re-encode differently", key)
			}
			sum := sha256.Sum256(encoded[0])
			have := hex.EncodeToString(sum[:])
			path := filepath.Join("testdata", "golden", "resource_info_"+n+"_"+form+".xml")
			if n == "10" {
				if *update {
					if err := os.WriteFile(path, encoded[0], 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(encoded[0], want) {
					t.Errorf("%s:\nhave %s\nwant %s", key, encoded[0], want)
				}
			}
			if *update {
				t.Logf("%q: %q,", key, have)
				continue
			}
			if have != goldenReencoded[key] {
				t.Errorf("%s re-encodes to bytes with SHA-256 %s, want %s", key, have, goldenReencoded[key])
			}
		}
	}
}
