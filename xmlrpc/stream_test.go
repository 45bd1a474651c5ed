package xmlrpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// chunkReader hands out its data at most n bytes per Read, and hides its
// length, so that the decoder streams it.
type chunkReader struct {
	data []byte
	n    int
	err  error // returned once the data is out; io.EOF when nil
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// decodeOutcome is what decoding one document gave: the values decoded
// into each target and a description of each error (type, text and, for
// a *DecodeError, position).
type decodeOutcome struct {
	values []any
	errs   []string
}

func describeErr(err error) string {
	var de *DecodeError
	if errors.As(err, &de) {
		return fmt.Sprintf("%T %v at %d line %d", err, err, de.Offset, de.Line)
	}
	return fmt.Sprintf("%T %v", err, err)
}

func decodeAll(newReader func() io.Reader, limits Limits) decodeOutcome {
	var out decodeOutcome
	decoder := func() *Decoder {
		d := NewDecoder(newReader())
		d.SetLimits(limits)
		return d
	}
	var v any
	err := decoder().DecodeResponse(&v)
	out.values = append(out.values, v)
	out.errs = append(out.errs, describeErr(err))
	for _, typ := range fzTargetTypes {
		target := reflect.New(typ)
		err := decoder().DecodeResponse(target.Interface())
		out.values = append(out.values, target.Elem().Interface())
		out.errs = append(out.errs, describeErr(err))
	}
	method, params, err := decoder().DecodeCall()
	out.values = append(out.values, method, params)
	out.errs = append(out.errs, describeErr(err))
	return out
}

// checkStreaming compares decoding doc as it arrives n bytes at a time
// with decoding it from memory.
func checkStreaming(t *testing.T, doc []byte, n int, limits Limits) {
	t.Helper()
	want := decodeAll(func() io.Reader { return bytes.NewReader(doc) }, limits)
	have := decodeAll(func() io.Reader { return &chunkReader{data: doc, n: n} }, limits)
	for i := range want.errs {
		if have.errs[i] != want.errs[i] {
			t.Fatalf("%.200q... in pieces of %d bytes, decoding %d: have error %s, want %s", doc, n, i, have.errs[i], want.errs[i])
		}
	}
	for i := range want.values {
		// After an error the target may be partly filled (DecodeResponse
		// says so), and a streamed decode may have filled more of it: an
		// in-memory decode finds a bad character or an excess byte before
		// it parses anything, a streamed one only when the bytes arrive.
		if e := min(i, len(want.errs)-1); want.errs[e] != describeErr(nil) {
			continue
		}
		if !reflect.DeepEqual(have.values[i], want.values[i]) {
			t.Fatalf("%.200q... in pieces of %d bytes, decoding %d: have %.300v, want %.300v", doc, n, i, have.values[i], want.values[i])
		}
	}
}

// streamingDocs are documents that put the corners of streaming at the
// boundaries of the pieces: declarations, byte order marks, charsets, CRs,
// characters of several bytes, comments, entities, long text and tags.
func streamingDocs() [][]byte {
	docs := fzSeedDocs()
	long := strings.Repeat("0123456789", 200)
	for _, d := range []string{
		"\xef\xbb\xbf" + refResponse("<string>bom</string>"),
		`<?xml version="1.0" encoding="ISO-8859-1"?>` + "<methodResponse><params><param><value>caf\xe9</value></param></params></methodResponse>",
		`<?xml version="1.0" encoding="utf-8" standalone="yes"?>` + refResponse("<string>é€😀</string>"),
		refResponse("<string>a\r\nb\rc</string>"),
		refResponse("<string>" + strings.Repeat("é", 700) + "</string>"),
		refResponse("<string>" + long + "&amp;" + long + "</string>"),
		refResponse("<string>"+long+"</string>") + "\r\n",
		refResponse("<string>"+long+"</string>") + "\x00",
		refResponse("<string>" + long + "\xff</string>"),
		"<!-- " + long + " -->" + refResponse("<int>1</int>") + "<!-- " + long + " -->",
		refResponse(`<struct><member><name a="` + long + `">n</name><value>` + long + `</value></member></struct>`),
		refResponse("<array><data>" + strings.Repeat("<value><struct>"+refMember("node_id", "<string>"+long[:300]+"</string>")+refMember("n", "<int>7</int>")+"</struct></value>\n", 40) + "</data></array>"),
		`<?xml version="1.0"` + strings.Repeat(" ", 600) + `?>` + refResponse("<int>1</int>"),
		"<?xml",
		"",
		refFaultDoc(refMember("faultCode", "<int>4</int>") + refMember("faultString", "<string>"+long+"</string>")),
	} {
		docs = append(docs, []byte(d))
	}
	return docs
}

// TestStreamingMatchesWholeDocument decodes many documents as they would
// arrive over a network, in pieces of several sizes, and checks that
// every result and every error is the one decoding the whole document
// from memory gives.
func TestStreamingMatchesWholeDocument(t *testing.T) {
	docs := streamingDocs()
	for _, name := range []string{"10", "100"} {
		docs = append(docs, readPayload(t, name))
	}
	for i, doc := range docs {
		for _, n := range []int{1, 3, 64, 511, 4096} {
			if len(doc) > 20000 && n < 64 {
				continue // a few thousand reads are enough
			}
			t.Run(fmt.Sprintf("doc%d/%d", i, n), func(t *testing.T) {
				checkStreaming(t, doc, n, Limits{})
			})
		}
	}
}

// TestStreamingKeepsTheLimits streams documents against small limits:
// every limit must give the same error at the same place as from memory,
// the body limit included (a body of exactly the limit passes).
func TestStreamingKeepsTheLimits(t *testing.T) {
	doc := readPayload(t, "10")
	for _, l := range []Limits{
		{MaxBodyBytes: int64(len(doc))}, {MaxBodyBytes: int64(len(doc) - 1)}, {MaxBodyBytes: 600},
		{MaxElements: 50}, {MaxTextBytes: 100}, {MaxDepth: 2},
	} {
		for _, n := range []int{7, 4096} {
			t.Run(fmt.Sprintf("%+v/%d", l, n), func(t *testing.T) { checkStreaming(t, doc, n, l) })
		}
	}
}

// TestStreamingReadError checks that a body cut short by a read error
// gives that error, whether it comes before or after the document looks
// complete, and not a syntax error.
func TestStreamingReadError(t *testing.T) {
	doc := readPayload(t, "10")
	broken := errors.New("connection reset")
	for _, cut := range []int{0, 10, 600, len(doc) / 2, len(doc)} {
		var v []benchVessel
		err := DecodeResponse(&chunkReader{data: doc[:cut], n: 512, err: broken}, &v)
		if !errors.Is(err, broken) {
			t.Errorf("cut at %d: have %v, want the read error", cut, err)
		}
	}
}

// TestStreamingParsesBeforeTheEnd checks that streaming is really used: a
// document arriving in pieces is parsed from the first pieces, before the
// rest has been read.
func TestStreamingParsesBeforeTheEnd(t *testing.T) {
	doc := readPayload(t, "100")
	d := NewDecoder(&chunkReader{data: doc, n: 4096})
	var visibleAtStart int
	var v []benchVessel
	err := d.withDocument(func(p *parser) error {
		visibleAtStart = len(p.buf)
		return p.response(reflect.ValueOf(&v).Elem())
	})
	if err != nil || len(v) != 100 {
		t.Fatalf("have %d vessels, %v", len(v), err)
	}
	if visibleAtStart == 0 || visibleAtStart >= len(doc)/2 {
		t.Fatalf("parsing started with %d of %d bytes in hand, want a first piece", visibleAtStart, len(doc))
	}
}

func FuzzStreaming(f *testing.F) {
	for _, doc := range streamingDocs() {
		f.Add(doc, uint16(3))
	}
	f.Fuzz(func(t *testing.T, doc []byte, n uint16) {
		checkStreaming(t, doc, int(n%600)+1, Limits{})
	})
}

// TestInMemoryInput checks the decoder's way with a *bytes.Reader and a
// *bytes.Buffer, whose bytes it parses where they lie: from the reader's
// position, moving it to the end; never changing the bytes, even when the
// document has CRs to normalise or a charset to transcode; and, above the
// body limit, failing without taking anything.
func TestInMemoryInput(t *testing.T) {
	docs := []string{
		refResponse("<string>a\r\nb\rc</string>"),
		`<?xml version="1.0" encoding="ISO-8859-1"?>` + "<methodResponse><params><param><value>caf\xe9</value></param></params></methodResponse>",
		refResponse("<int>7</int>"),
	}
	for _, doc := range docs {
		data := []byte("junk" + doc)
		orig := bytes.Clone(data)
		r := bytes.NewReader(data)
		r.Seek(4, io.SeekStart)
		var fromReader any
		if err := DecodeResponse(r, &fromReader); err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if r.Len() != 0 {
			t.Errorf("%q: %d bytes left unread", doc, r.Len())
		}
		buf := bytes.NewBuffer(data[4:])
		var fromBuffer any
		if err := DecodeResponse(buf, &fromBuffer); err != nil || buf.Len() != 0 {
			t.Fatalf("%q: %v, %d bytes left", doc, err, buf.Len())
		}
		var fromStream any
		if err := DecodeResponse(&chunkReader{data: []byte(doc), n: 5}, &fromStream); err != nil {
			t.Fatal(err)
		}
		if !equalValues(fromReader, fromStream) || !equalValues(fromBuffer, fromStream) {
			t.Errorf("%q: have %#v and %#v, want %#v", doc, fromReader, fromBuffer, fromStream)
		}
		if !bytes.Equal(data, orig) {
			t.Errorf("%q: the input was changed to %q", doc, data)
		}
	}
	doc := []byte(refResponse("<int>7</int>"))
	for _, r := range []interface {
		io.Reader
		Len() int
	}{bytes.NewReader(doc), bytes.NewBuffer(doc)} {
		d := NewDecoder(r)
		d.SetLimits(Limits{MaxBodyBytes: int64(len(doc) - 1)})
		var le *LimitError
		if err := d.DecodeResponse(nil); !errors.As(err, &le) || le.Limit != LimitBodySize {
			t.Errorf("%T over the limit: have %v, want a body size *LimitError", r, err)
		}
		if r.Len() != len(doc) {
			t.Errorf("%T over the limit: %d of %d bytes left", r, r.Len(), len(doc))
		}
	}
}
