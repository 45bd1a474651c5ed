package nmproto

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// headerTests pin the header rules beyond the session vectors.
var headerTests = []struct {
	in   string
	want string // the payload, or "!" + the error it must match
}{
	{"0\n", ""},
	{"-0\n", ""},
	{"3\nabc", "abc"},
	{"\t3\nabc", "abc"},
	{"\r3\nabc", "abc"},
	{"+3\nabc", "abc"},
	{"0003\nabc", "abc"},
	{"-1\n", "!eof"},
	{" -1\n", "!eof"},
	{"-1\nmore", "!eof"},
	{"-2\n", "!header"},
	{"--1\n", "!header"},
	{"3-\nabc", "!header"},
	{"3 \nabc", "!header"},
	{"\n", "!header"},
	{"+\n", "!header"},
	{"x\n", "!header"},
	{"3x\nabc", "!header"},
	{"3\x00\nabc", "!header"},
	{"999999999999999999\n", "!large"},       // 18 digits
	{"9999999999999999999\n", "!large"},      // 19 digits, above int64
	{"0000000000000000003\nabc", "abc"},      // 19 characters
	{"00000000000000000003\nabc", "!header"}, // 20
	{"10737418240\n", "!large"},              // a 10 GB claim
	{"", "!eof0"},
	{"3", "!short"},
	{"3\nab", "!short"},
}

func TestReadMessageHeaders(t *testing.T) {
	for _, tt := range headerTests {
		for _, wrap := range []struct {
			name string
			r    func(string) io.Reader
		}{
			{"ByteReader", func(s string) io.Reader { return strings.NewReader(s) }},
			{"Reader", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
		} {
			have, err := ReadMessage(wrap.r(tt.in), 1000)
			var ok bool
			switch tt.want {
			case "!eof":
				ok = errors.Is(err, ErrSessionEOF)
			case "!header":
				ok = errors.Is(err, ErrBadHeader)
			case "!large":
				var se *SizeError
				ok = errors.Is(err, ErrTooLarge) && errors.As(err, &se) && se.Limit == 1000
			case "!eof0":
				ok = err == io.EOF
			case "!short":
				ok = errors.Is(err, io.ErrUnexpectedEOF)
			default:
				ok = err == nil && have == tt.want
			}
			if !ok {
				t.Errorf("%s: ReadMessage(%q) = %q, %v; want %s", wrap.name, tt.in, have, err, tt.want)
			}
		}
	}
}

func TestReadMessageLimit(t *testing.T) {
	msg := strings.Repeat("x", 100)
	framed := string(AppendMessage(nil, msg))
	if have, err := ReadMessage(strings.NewReader(framed), 100); err != nil || have != msg {
		t.Errorf("ReadMessage at the limit = %d bytes, %v", len(have), err)
	}
	_, err := ReadMessage(strings.NewReader(framed), 99)
	if !errors.Is(err, ErrTooLarge) || err.Error() != "nmproto: message of 100 bytes is longer than the limit of 99" {
		t.Errorf("ReadMessage over the limit: %v", err)
	}
	if _, err := ReadMessage(strings.NewReader("1\nx"), -5); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadMessage with a negative limit: %v, want ErrTooLarge", err)
	}
	boom := errors.New("boom")
	if _, err := ReadMessage(iotest.ErrReader(boom), 10); !errors.Is(err, boom) {
		t.Errorf("ReadMessage(failing reader) = %v, want it wrapped", err)
	}
	if _, err := ReadMessage(io.MultiReader(strings.NewReader("5\nab"), iotest.ErrReader(boom)), 10); !errors.Is(err, boom) {
		t.Errorf("ReadMessage(reader failing in the body) = %v, want it wrapped", err)
	}
}

// TestReadMessageClaimCostsLittle: a peer that claims 64 MiB and sends
// 10 bytes must not make the reader allocate the 64 MiB.
func TestReadMessageClaimCostsLittle(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 20 {
		_, err := ReadMessage(strings.NewReader("67108864\n0123456789"), 1<<30)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("ReadMessage(short body) = %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("20 claims of 64 MiB allocated %d MiB", grew>>20)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteMessage(t *testing.T) {
	for _, size := range []int{0, 10, 64 << 10, 64<<10 + 1, 3 << 20} {
		msg := strings.Repeat("m", size)
		var buf bytes.Buffer
		if err := WriteMessage(&buf, msg); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), AppendMessage(nil, msg)) {
			t.Errorf("WriteMessage(%d bytes) differs from AppendMessage", size)
		}
	}
	boom := errors.New("boom")
	for _, size := range []int{5, 1 << 20} {
		if err := WriteMessage(errWriter{boom}, strings.Repeat("m", size)); !errors.Is(err, boom) {
			t.Errorf("WriteMessage(%d bytes, failing writer) = %v", size, err)
		}
	}
}

// BenchmarkFraming is a 64 KiB payload framed and read back; its
// baseline, BenchmarkFramingBaseline, copies the same bytes through the
// same buffer with no framing.
func BenchmarkFraming(b *testing.B) {
	msg := strings.Repeat("x", 64<<10)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteMessage(&buf, msg); err != nil {
			b.Fatal(err)
		}
		if have, err := ReadMessage(&buf, 1<<20); err != nil || len(have) != len(msg) {
			b.Fatal(err)
		}
	}
}

func BenchmarkFramingBaseline(b *testing.B) {
	msg := strings.Repeat("x", 64<<10)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		buf.WriteString(msg)
		var sb strings.Builder
		if _, err := io.Copy(&sb, &buf); err != nil || sb.Len() != len(msg) {
			b.Fatal(err)
		}
	}
}
