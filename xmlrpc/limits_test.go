package xmlrpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// wantBodyLimit fails unless err is the body size *LimitError for max.
func wantBodyLimit(t *testing.T, err error, max int64) {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitBodySize || le.Max != max {
		t.Fatalf("have %v (%T), want the body size limit of %d", err, err, max)
	}
}

// sizedResponse is a methodResponse of exactly size bytes holding one
// string, and that string.
func sizedResponse(t *testing.T, size int) (doc, text string) {
	t.Helper()
	head := `<?xml version="1.0"?><methodResponse><params><param><value><string>`
	tail := `</string></value></param></params></methodResponse>`
	n := size - len(head) - len(tail)
	if n < 0 {
		t.Fatalf("a response of %d bytes cannot hold a string", size)
	}
	text = strings.Repeat("a", n)
	return head + text + tail, text
}

// A body of exactly the size limit is accepted and one byte more is not,
// by the server and by the client, whether the size is declared, learnt
// by reading (chunked) or only known after gzip decoding.
func TestBodySizeLimitIsInclusive(t *testing.T) {
	t.Parallel()
	const limit = 2048

	t.Run("server", func(t *testing.T) {
		t.Parallel()
		plain := mustServer(t, WithLimits(Limits{MaxBodyBytes: limit}))
		// Small below the limit, so that the budget charges these bodies.
		budgeted := mustServer(t, WithLimits(Limits{MaxBodyBytes: limit}), WithBodyBudget(BodyBudget{Small: 64}))
		for _, srv := range []*Server{plain, budgeted} {
			mustRegister(t, srv, "echo", func(_ context.Context, params []any) (any, error) { return len(params), nil })
		}
		for _, server := range []struct {
			name string
			srv  *Server
		}{{"plain", plain}, {"budget", budgeted}} {
			for _, way := range []string{"declared", "chunked", "gzip"} {
				for _, size := range []int{limit, limit + 1} {
					br := budgetRequest{body: []byte(paddedCall("echo", size)), chunked: way != "declared", gzip: way == "gzip"}
					if len(br.body) != size {
						t.Fatalf("paddedCall made %d bytes, want %d", len(br.body), size)
					}
					if br.gzip {
						br.body = gzipped(t, string(br.body))
					}
					rec, _, _ := br.serve(server.srv)
					where := server.name + ", " + way + ", " + strings.Repeat("+1 ", size-limit) + "body of the limit"
					if size > limit {
						if rec.Code != http.StatusRequestEntityTooLarge {
							t.Errorf("%s: have status %d, want 413", where, rec.Code)
						}
						continue
					}
					var got int
					if rec.Code != http.StatusOK {
						t.Errorf("%s: have status %d (%q), want 200", where, rec.Code, rec.Body.String())
					} else if err := DecodeResponse(rec.Body, &got); err != nil || got != 0 {
						t.Errorf("%s: have %d, %v, want 0, nil", where, got, err)
					}
				}
			}
		}
	})

	t.Run("client", func(t *testing.T) {
		t.Parallel()
		serve := map[string]func(w http.ResponseWriter, doc string){
			"declared": func(w http.ResponseWriter, doc string) {
				io.WriteString(w, doc) // short enough for net/http to set Content-Length
			},
			"chunked": func(w http.ResponseWriter, doc string) {
				io.WriteString(w, doc[:100])
				http.NewResponseController(w).Flush() // no Content-Length from here on
				io.WriteString(w, doc[100:])
			},
			"gzip": func(w http.ResponseWriter, doc string) {
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gzipped(t, doc))
			},
		}
		for way, write := range serve {
			for _, size := range []int{limit, limit + 1} {
				doc, text := sizedResponse(t, size)
				hs := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/xml")
					write(w, doc)
				}))
				c, err := NewClient(hs.URL, WithHTTPClient(hs.Client()), WithLimits(Limits{MaxBodyBytes: limit}))
				if err != nil {
					t.Fatal(err)
				}
				var got string
				err = c.Call(context.Background(), "m", &got)
				if size > limit {
					wantBodyLimit(t, err, limit)
					continue
				}
				if err != nil || got != text {
					t.Errorf("%s, body of the limit: have %d bytes, %v, want %d bytes, nil", way, len(got), err, len(text))
				}
			}
		}
	})

	t.Run("decoder", func(t *testing.T) {
		t.Parallel()
		for _, size := range []int{limit, limit + 1} {
			doc, text := sizedResponse(t, size)
			for _, r := range []io.Reader{strings.NewReader(doc), lenHidden{bytes.NewReader([]byte(doc))}} {
				d := NewDecoder(r)
				d.SetLimits(Limits{MaxBodyBytes: limit})
				var got string
				err := d.DecodeResponse(&got)
				if size > limit {
					wantBodyLimit(t, err, limit)
				} else if err != nil || got != text {
					t.Errorf("%T, body of the limit: have %d bytes, %v, want %d bytes, nil", r, len(got), err, len(text))
				}
			}
		}
	})
}

// Each LimitKind prints as the name error messages have always used, so
// that fault strings built from a *LimitError keep their text.
func TestLimitKindString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind LimitKind
		want string
	}{
		{LimitBodySize, "body size"},
		{LimitDepth, "nesting depth"},
		{LimitElements, "element count"},
		{LimitText, "text length"},
		{LimitMethodName, "methodName length"},
		{LimitMulticall, "multicall size"},
		{0, "LimitKind(0)"},
		{LimitMulticall + 1, "LimitKind(7)"},
	} {
		if have := tc.kind.String(); have != tc.want {
			t.Errorf("LimitKind(%d).String() = %q, want %q", int(tc.kind), have, tc.want)
		}
	}
	err := &LimitError{Limit: LimitDepth, Max: 128}
	if have, want := err.Error(), "xmlrpc: nesting depth limit of 128 exceeded"; have != want {
		t.Errorf("Error() = %q, want %q", have, want)
	}
}

// Negative limits are a mistake, not a request for the default.
func TestLimitOptionsRejectNegatives(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field  string
		limits Limits
	}{
		{"MaxBodyBytes", Limits{MaxBodyBytes: -1}},
		{"MaxDepth", Limits{MaxDepth: -1}},
		{"MaxElements", Limits{MaxElements: -1}},
		{"MaxTextBytes", Limits{MaxTextBytes: -1}},
		{"MaxMulticall", Limits{MaxMulticall: -1}},
		{"MaxMethodBytes", Limits{MaxMethodBytes: -1}},
	} {
		c, err := NewClient("http://127.0.0.1/RPC2", WithLimits(tc.limits))
		if want := "xmlrpc: WithLimits: negative " + tc.field; err == nil || err.Error() != want || c != nil {
			t.Errorf("WithLimits(%+v): have %v, %v, want nil, %q", tc.limits, c, err, want)
		}
		srv, err := NewServer(WithLimits(tc.limits))
		if want := "xmlrpc: WithLimits: negative " + tc.field; err == nil || err.Error() != want || srv != nil {
			t.Errorf("WithLimits(%+v): have %v, %v, want nil, %q", tc.limits, srv, err, want)
		}
	}
	if _, err := NewClient("http://127.0.0.1/RPC2", WithLimits(Limits{})); err != nil {
		t.Errorf("WithLimits(Limits{}): have %v, want nil (the defaults)", err)
	}
	if _, err := NewServer(WithLimits(Limits{})); err != nil {
		t.Errorf("WithLimits(Limits{}): have %v, want nil (the defaults)", err)
	}
}
