package keeper

import (
	"math"
	"time"
)

// DefaultMaxClockRate is how much faster than the keeper's own clock the
// keeper assumes the clearinghouse's clock may run until it has measured
// it (WithMaxClockRate): 1000, the fastest time scale of the mock
// (mockserver.MaxTimeScale). At that rate the default 2-hour margin is
// 7.2 seconds of the keeper's time, still several round trips on a loaded
// machine; a fresh 4-hour lease is 14.4 seconds. The package
// documentation (Clocks) explains what faster clocks cost.
const DefaultMaxClockRate = 1000

// minLookGap is the least time between two of the keeper's planned looks,
// however short the check interval is on a fast clearinghouse clock: at
// 1000 times real time it is 50 seconds of the clearinghouse's clock.
// Looks that confirm a missing vessel or follow a renewal are not held
// back by it.
const minLookGap = 50 * time.Millisecond

// sighting is what one answer of the clearinghouse said of one vessel's
// lease: the whole seconds left by its clock (expires_in_seconds, rounded
// down), and when the keeper sent the call and received the answer. The
// clearinghouse read its clock somewhere between the two.
type sighting struct {
	left       int64
	sent, recv time.Time
}

// rateBounds are what two sightings of one lease say of the clock rate.
type rateBounds struct{ lo, hi float64 }

// pairBounds bounds the clearinghouse's clock rate (its seconds per
// second of the keeper's clock) from two sightings a and b of the same
// lease, b the later. Between the clearinghouse's two readings of its
// clock, more than left(a)-left(b)-1 and less than left(a)-left(b)+1 of
// its seconds passed (each value is rounded down), and between
// sent(b)-recv(a) and recv(b)-sent(a) of the keeper's. ok is false when
// the lease grew in between (a renewal, by anyone): a and b then say
// nothing of the clock. hi is +Inf when the keeper's interval may be
// empty.
func pairBounds(a, b sighting) (r rateBounds, ok bool) {
	if b.left > a.left {
		return rateBounds{}, false
	}
	d := float64(a.left - b.left)
	short, long := b.sent.Sub(a.recv).Seconds(), b.recv.Sub(a.sent).Seconds()
	switch {
	case d <= 1:
		r.lo = 0
	case long <= 0: // the clearinghouse's clock moved while the keeper's stood: a jump
		r.lo = math.Inf(1)
	default:
		r.lo = (d - 1) / long
	}
	r.hi = math.Inf(1)
	if short > 0 {
		r.hi = (d + 1) / short
	}
	return r, true
}

// clockRate is the keeper's knowledge of how fast the clearinghouse's
// clock runs against its own: bounds measured from pairs of sightings
// since it last started over, and the rate assumed before any
// measurement.
type clockRate struct {
	assumed float64 // WithMaxClockRate
	lo, hi  float64 // hi is +Inf until a pair bounds it
}

func newClockRate(assumed float64) clockRate {
	return clockRate{assumed: assumed, hi: math.Inf(1)}
}

// rate is the rate the keeper schedules by: the fastest its measurements
// allow, capped by the assumed rate unless they show the clock to run
// faster than that, and never below 1 (a clock measured slower than the
// keeper's is treated as running at the same pace: it only makes the
// keeper act early).
func (c *clockRate) rate() float64 {
	r := c.hi
	if c.lo <= c.assumed {
		r = min(r, c.assumed)
	}
	if math.IsInf(r, 1) || math.IsNaN(r) { // faster than assumed, with no upper bound yet
		r = max(2*c.lo, c.assumed)
	}
	return max(r, 1)
}

// fold takes in the bounds of one look's pairs (one per vessel whose
// lease did not grow since its anchor). Bounds are valid together only
// while the clock keeps one rate. A pair whose upper bound is below what
// the others prove is a lease another program renewed in between (its
// value fell less than the clock ran), or a clock that slowed down;
// consistent reports, for each pair, whether it was taken in, so that
// the caller can start the other vessels' measurements anew. fold
// starts over, forgetting every bound, when the clock is proved faster
// than the bounds allow (it sped up, or jumped ahead), or when no pair
// fits (it slowed down, or every lease was renewed elsewhere); the
// caller then starts every measurement anew, and until new pairs bound it
// the keeper schedules by the assumed rate: it looks sooner.
func (c *clockRate) fold(pairs []rateBounds) (consistent []bool, restart bool) {
	if len(pairs) == 0 {
		return nil, false
	}
	lo := c.lo
	for _, p := range pairs {
		lo = max(lo, p.lo)
	}
	if lo > c.hi {
		*c = newClockRate(c.assumed)
		return nil, true
	}
	consistent = make([]bool, len(pairs))
	hi, fits := c.hi, false
	for i, p := range pairs {
		if p.hi >= lo {
			consistent[i], fits = true, true
			hi = min(hi, p.hi)
		}
	}
	if !fits {
		*c = newClockRate(c.assumed)
		return nil, true
	}
	c.lo, c.hi = lo, hi
	return consistent, false
}

// wall converts a duration of the clearinghouse's clock into one of the
// keeper's at the given rate.
func wall(d time.Duration, rate float64) time.Duration {
	if rate == 1 {
		return d
	}
	return time.Duration(float64(d) / rate)
}
