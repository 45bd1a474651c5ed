package mockserver

import (
	"math"
	"time"
)

// clock is the mock's notion of the current time. It follows a time source
// (the wall clock unless WithClock replaces it), scaled by a factor, from an
// anchor that SetTime and Advance move:
//
//	now = mockAnchor + (source() - sourceAnchor) × scale
//
// With scale 1 and no adjustments now equals source(). Scale 0 freezes the
// clock: it then moves only through SetTime and Advance. All readings are
// Unix nanoseconds in UTC, and saturate at the ends of int64 (the years
// 1677 and 2262) rather than wrap. A clock is guarded by the Server's
// mutex.
type clock struct {
	source       func() time.Time
	scale        float64
	mockAnchor   int64
	sourceAnchor int64
}

func newClock(source func() time.Time, scale float64) clock {
	t := source().UnixNano()
	return clock{source: source, scale: scale, mockAnchor: t, sourceAnchor: t}
}

// now returns the current mock time.
func (c *clock) now() int64 { return c.nowAt(c.source().UnixNano()) }

// nowAt returns the mock time when the source reads src.
func (c *clock) nowAt(src int64) int64 {
	elapsed := src - c.sourceAnchor
	switch c.scale {
	case 1:
		return addSat(c.mockAnchor, elapsed)
	case 0:
		return c.mockAnchor
	}
	scaled := float64(elapsed) * c.scale
	switch {
	case scaled >= math.MaxInt64: // float64(MaxInt64) is 2^63, out of range
		return math.MaxInt64
	case scaled <= math.MinInt64:
		return math.MinInt64
	}
	return addSat(c.mockAnchor, int64(scaled))
}

// addSat returns a+b, or the end of int64 it passes.
func addSat(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

// set makes the clock read t now; it keeps running at its scale from there.
func (c *clock) set(t int64) {
	c.sourceAnchor = c.source().UnixNano()
	c.mockAnchor = t
}

// rescale makes the clock run x times as fast as its source from its
// current reading on; 0 stops it there.
func (c *clock) rescale(x float64) {
	src := c.source().UnixNano()
	c.mockAnchor, c.sourceAnchor, c.scale = c.nowAt(src), src, x
}

// advance moves the clock by d (which may be negative).
func (c *clock) advance(d time.Duration) {
	c.mockAnchor = addSat(c.mockAnchor, int64(d))
}

// clockAnchors are what SetTime, Advance and SetTimeScale change in a
// clock: its anchors and its scale, which together say how it reads from
// then on.
type clockAnchors struct {
	mock, source int64
	scale        float64
}

func (c *clock) anchors() clockAnchors {
	return clockAnchors{c.mockAnchor, c.sourceAnchor, c.scale}
}

// restore puts back anchors taken earlier: the clock reads as if no
// SetTime, Advance or SetTimeScale had happened since.
func (c *clock) restore(a clockAnchors) {
	c.mockAnchor, c.sourceAnchor, c.scale = a.mock, a.source, a.scale
}

// offset returns how far the mock clock is ahead of its source. With
// scale 1 this stays constant while the clock runs, which is what a state
// file records so that leases keep running out while the mock is down.
func (c *clock) offset() int64 {
	return c.now() - c.source().UnixNano()
}

func toTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
