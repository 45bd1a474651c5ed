package mockserver

import (
	"math"
	"testing"
	"time"
)

// TestClockSaturates runs a clock far past what int64 nanoseconds can hold
// (the year 2262): it must stop at the end instead of wrapping into the
// past, whichever way it got there.
func TestClockSaturates(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		scale   float64
		elapsed time.Duration // of the source
		advance time.Duration // then Advance by this
		want    int64
	}{
		{"fast clock", MaxTimeScale, 100 * 24 * time.Hour, 0, math.MaxInt64},
		{"scale 1 near the end", 1, 0, math.MaxInt64, math.MaxInt64},
		{"advance past the end", 0, 0, math.MaxInt64, math.MaxInt64},
		{"back past the start", 0, 0, math.MinInt64, math.MinInt64},
		{"in range", 60, time.Hour, 0, start.Add(60 * time.Hour).UnixNano()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := start
			c := newClock(func() time.Time { return src }, tc.scale)
			src = src.Add(tc.elapsed)
			c.advance(tc.advance)
			c.advance(tc.advance)
			if have := c.now(); have != tc.want {
				t.Errorf("now: have %d (%v), want %d", have, time.Unix(0, have).UTC(), tc.want)
			}
		})
	}
}
