package mockserver

import (
	"context"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"time"
)

// The watch: what the mock remembers of each account's conduct, for the
// behaviour report (report.go). It is part of the model, guarded by
// Server.mu, and fed by hooks: Server.locked (an authenticated call),
// state.advance (a lease that ran out), the wire methods (acquisitions,
// releases, renewals, a look at get_resource_info) and Server.call (calls
// refused for their credentials or arguments). It holds no secret, and
// its size is bounded: a record per account (accounts are always
// tracked, so that no flood of other names can hide what an account
// does), one for calls that name no username, and at most
// MaxUnknownNames records for usernames that are no account;
// maxWatchedVessels per-vessel entries over all of them, maxEvidence items
// of evidence per finding. A record's other fields are bounded by the
// number of methods and fault codes. Unknown names beyond their bound are
// not kept but counted, in fixed memory (Report.UnknownNamesDropped);
// other events that fall beyond a bound are counted, not kept
// (Report.Untracked). Reset clears it; it is not kept in the state file.

// Thresholds of the behaviour report's findings; see Report.
const (
	// missedRenewalWindow is how close to a lease's end the account must
	// have made calls, before and after, for the lapse to count as a
	// missed renewal.
	missedRenewalWindow = time.Hour
	// stormRenewals and stormWindow define a renewal storm: more than
	// stormRenewals renewals of one vessel within stormWindow, when a
	// renewal buys RenewLease (7 days).
	stormRenewals = 10
	stormWindow   = time.Hour
	// authFailureThreshold and authFailureWindow define repeated
	// authentication failures: that many faults 101 for one username
	// within that window.
	authFailureThreshold = 5
	authFailureWindow    = 10 * time.Minute
)

const (
	maxWatchedVessels = 1 << 20
	maxEvidence       = 20
	maxPendingLapses  = 1000 // per account
	maxFlights        = 64   // per account
)

// watch is the per-account conduct, by username.
type watch struct {
	accounts  map[string]*conduct
	unknown   int        // records in accounts for usernames that are no account
	dropped   nameSketch // usernames that are no account, not kept for want of room
	vessels   int        // entries in the accounts' per-vessel maps
	untracked int        // events not kept because a bound was reached

	nm map[string]*nmConduct // node manager requests, per account (nmreport.go)
}

// conduct is one username's record.
type conduct struct {
	unknown bool // the username was no account when last heard of

	active     bool  // has made an authenticated call
	lastActive int64 // when it last did

	acquired map[int32]int64     // held vessel → when this account acquired it
	renewals map[int32]*renewLog // held vessel → its recent renewals
	unseen   map[int32]string    // held vessel → handle, acquired in a call whose answer was lost
	flights  []*flight           // acquisitions whose answer is still on its way
	pending  []lapse             // lapses that need a call after them to count

	missed   []lapse
	nMissed  int
	storms   []storm
	nStorms  int
	dups     []dupAcquire
	nDups    int
	auth     []int64 // the last authFailureThreshold faults 101, oldest first
	nAuth    int
	burst    []int64 // the first authFailureThreshold faults 101 within authFailureWindow
	authBy   map[string]int
	badArgs  map[string]int // method → calls refused for their arguments
	badCodes map[int]int    // fault code → calls
	nBadArgs int
}

// lapse is a lease that ran out.
type lapse struct {
	handle            string
	acquired, expired int64
}

// renewLog is a ring of a vessel's last stormRenewals+1 renewals.
type renewLog struct {
	times [stormRenewals + 1]int64
	n     int
	storm int // index into conduct.storms of the storm in progress, or -1
}

// storm is a burst of renewals of one vessel.
type storm struct {
	handle      string
	first, last int64
	renewals    int
}

// dupAcquire is an acquisition made while vessels from a lost answer
// were still held.
type dupAcquire struct {
	at      int64
	unseen  []string // the vessels whose acquisition the account never saw
	retried []string // what the later acquisition added
	held    int      // vessels held after it
}

// flight is an acquisition whose answer is on its way to the client
// through an injected delay (latency, drip): whether the client gets it,
// or gives up first (its timeout) and closes the connection, is known only
// once the wire layer has tried (watch.delivered). Acquisitions the
// account makes meanwhile are duplicates if the answer never arrives.
type flight struct {
	name    string  // the account; "" until the call acquired something
	vessels []int32 // what the call acquired
	handles []string
	seen    bool        // the account has looked at its holdings since
	dup     *dupAcquire // the first acquisition made meanwhile, without a look
}

func newWatch() *watch { return &watch{accounts: map[string]*conduct{}} }

// of returns the record for name, creating it if need be. account says
// name is an account: accounts, and calls that name no username (""),
// always get one. Other names get one while fewer than MaxUnknownNames
// are kept; beyond that of returns nil and counts name as dropped.
func (w *watch) of(name string, account bool) *conduct {
	known := account || name == ""
	if c, ok := w.accounts[name]; ok {
		if c.unknown && known { // an account made since
			c.unknown = false
			w.unknown--
		}
		return c
	}
	if !known {
		if w.unknown >= MaxUnknownNames {
			w.dropped.add(name)
			return nil
		}
		w.unknown++
	}
	c := &conduct{
		unknown:  !known,
		acquired: map[int32]int64{}, renewals: map[int32]*renewLog{}, unseen: map[int32]string{},
		authBy: map[string]int{}, badArgs: map[string]int{}, badCodes: map[int]int{},
	}
	w.accounts[name] = c
	return c
}

// room reports whether one more per-vessel entry may be kept.
func (w *watch) room() bool {
	if w.vessels >= maxWatchedVessels {
		w.untracked++
		return false
	}
	return true
}

// forget drops a vessel that the account no longer holds.
func (w *watch) forget(c *conduct, v int32) {
	for _, had := range []bool{deleteKey(c.acquired, v), deleteKey(c.renewals, v), deleteKey(c.unseen, v)} {
		if had {
			w.vessels--
		}
	}
}

func deleteKey[V any](m map[int32]V, k int32) bool {
	_, ok := m[k]
	delete(m, k)
	return ok
}

// activity records an authenticated call by name at now, and settles the
// lapses waiting for one.
func (w *watch) activity(name string, now int64) {
	c := w.of(name, true)
	keep := c.pending[:0]
	for _, l := range c.pending {
		switch {
		case now < l.expired: // the clock was set back: still waiting
			keep = append(keep, l)
		case now-l.expired <= int64(missedRenewalWindow):
			c.nMissed++
			if len(c.missed) < maxEvidence {
				c.missed = append(c.missed, l)
			}
		}
	}
	c.pending = keep
	c.active, c.lastActive = true, now
}

// lapsed records that vessel v of name ran out at expired. It is pending
// (a missed renewal once a call follows within missedRenewalWindow) if
// the account made a call within missedRenewalWindow before. handle names
// v; it is called only for a lapse that is kept.
func (w *watch) lapsed(name string, v int32, handle func(int32) string, expired int64) {
	c := w.accounts[name]
	if c == nil {
		return
	}
	acquired, known := c.acquired[v]
	w.forget(c, v)
	if !c.active || expired-c.lastActive > int64(missedRenewalWindow) {
		return
	}
	if len(c.pending) >= maxPendingLapses {
		w.untracked++
		return
	}
	if !known {
		acquired = 0
	}
	c.pending = append(c.pending, lapse{handle: handle(v), acquired: acquired, expired: expired})
}

// acquired records that name acquired vs at now and then held held
// vessels; lost says the answer never reaches the client whole, and f,
// when not nil, that whether it does is not known yet (see flight). An
// acquisition of anything while vessels from a lost answer are still held
// is a duplicate: the account asked for more without having looked.
func (w *watch) acquired(name string, vs []int32, handle func(int32) string, held int, now int64, lost bool, f *flight) {
	if len(vs) == 0 {
		return
	}
	c := w.of(name, true)
	for _, fl := range c.flights {
		if !fl.seen && fl.dup == nil { // a duplicate if fl's answer is lost
			fl.dup = &dupAcquire{at: now, held: held, unseen: slices.Sorted(slices.Values(fl.handles))}
			for _, v := range vs {
				fl.dup.retried = append(fl.dup.retried, handle(v))
			}
			slices.Sort(fl.dup.retried)
		}
	}
	if f != nil && !lost {
		if len(c.flights) < maxFlights {
			f.name, f.vessels = name, vs
			for _, v := range vs {
				f.handles = append(f.handles, handle(v))
			}
			c.flights = append(c.flights, f)
		} else {
			w.untracked++
		}
	}
	if len(c.unseen) > 0 {
		c.nDups++
		if len(c.dups) < maxEvidence {
			d := dupAcquire{at: now, held: held}
			for _, h := range c.unseen {
				d.unseen = append(d.unseen, h)
			}
			slices.Sort(d.unseen)
			for _, v := range vs {
				d.retried = append(d.retried, handle(v))
			}
			slices.Sort(d.retried)
			c.dups = append(c.dups, d)
		}
		// One finding per lost answer: from here on the account has
		// been told what it holds or has ignored it.
		w.vessels -= len(c.unseen)
		clear(c.unseen)
	}
	for _, v := range vs {
		if _, ok := c.acquired[v]; ok {
			c.acquired[v] = now // left over from a state a failed write rolled back
		} else if w.room() {
			c.acquired[v] = now
			w.vessels++
		}
		if lost && w.room() {
			c.unseen[v] = handle(v)
			w.vessels++
		}
	}
}

// released records that name released vessel v.
func (w *watch) released(name string, v int32) {
	if c := w.accounts[name]; c != nil {
		w.forget(c, v)
	}
}

// looked records that name saw its holdings (get_resource_info answered).
func (w *watch) looked(name string) {
	if c := w.accounts[name]; c != nil {
		w.vessels -= len(c.unseen)
		clear(c.unseen)
		for _, fl := range c.flights {
			fl.seen = true
		}
	}
}

// delivered settles flight f: ok says its answer reached the client (or
// at least was sent while the client was there). An answer that did not
// turns the acquisition the account made meanwhile, if any, into a
// duplicate; else the vessels it acquired count as unseen, as after a
// reset, until the account looks.
func (w *watch) delivered(f *flight, ok bool) {
	c := w.accounts[f.name]
	if f.name == "" || c == nil {
		return
	}
	i := slices.Index(c.flights, f)
	if i < 0 {
		return // the watch was reset since
	}
	c.flights = slices.Delete(c.flights, i, i+1)
	switch {
	case ok:
	case f.dup != nil:
		c.nDups++
		if len(c.dups) < maxEvidence {
			c.dups = append(c.dups, *f.dup)
		}
	case !f.seen:
		for j, v := range f.vessels {
			if _, held := c.acquired[v]; !held {
				continue // released or ran out since: the account knew of it, or lost it
			}
			if _, dup := c.unseen[v]; !dup && w.room() {
				c.unseen[v] = f.handles[j]
				w.vessels++
			}
		}
	}
}

// renewed records that name renewed vessel v at now. handle names v; it
// is called only when a storm begins.
func (w *watch) renewed(name string, v int32, handle func(int32) string, now int64) {
	c := w.of(name, true)
	r := c.renewals[v]
	if r == nil {
		if !w.room() {
			return
		}
		r = &renewLog{storm: -1}
		c.renewals[v] = r
		w.vessels++
	}
	const ring = stormRenewals + 1
	r.times[r.n%ring] = now
	r.n++
	if r.n < ring {
		return
	}
	oldest := r.times[r.n%ring]
	if now-oldest >= int64(stormWindow) {
		r.storm = -1 // the burst, if any, is over
		return
	}
	if r.storm >= 0 {
		s := &c.storms[r.storm]
		s.last, s.renewals = now, s.renewals+1
		return
	}
	c.nStorms++
	if len(c.storms) < maxEvidence {
		r.storm = len(c.storms)
		c.storms = append(c.storms, storm{handle: handle(v), first: oldest, last: now, renewals: ring})
	}
}

// refused records a call naming name that got fault code for its
// credentials (101) or its arguments (102, or 100 from validation).
// account says whether name is an account.
func (w *watch) refused(name string, account bool, method string, code int, now int64) {
	c := w.of(name, account)
	if c == nil {
		return
	}
	if code != codeAuthentication {
		c.nBadArgs++
		c.badArgs[method]++
		c.badCodes[code]++
		return
	}
	c.nAuth++
	c.authBy[method]++
	c.auth = append(c.auth, now)
	if len(c.auth) > authFailureThreshold {
		c.auth = c.auth[1:]
	}
	if c.burst == nil && len(c.auth) == authFailureThreshold && now-c.auth[0] <= int64(authFailureWindow) {
		c.burst = append([]int64(nil), c.auth...)
	}
}

// nameSketch counts distinct names in fixed memory, as an estimate
// (linear counting): each name sets the bit of a bitmap its hash picks,
// and the share of bits still clear says how many names it took to set
// the others. With 2^20 bits (128 KiB, allocated by the first name) the
// estimate is within about 1% up to several million names, and close to
// exact for a few thousand; past about 14 million names every bit is set
// and the estimate stops growing.
type nameSketch struct {
	bits  []uint64
	set   int // bits set
	added int // names added, repeats included: the estimate never exceeds it
}

const sketchBits = 1 << 20

func (k *nameSketch) add(name string) {
	if k.bits == nil {
		k.bits = make([]uint64, sketchBits/64)
	}
	h := fnv.New64a()
	io.WriteString(h, name)
	i := h.Sum64() % sketchBits
	word, bit := i/64, uint64(1)<<(i%64)
	if k.bits[word]&bit == 0 {
		k.bits[word] |= bit
		k.set++
	}
	k.added++
}

// estimate returns about how many distinct names were added.
func (k *nameSketch) estimate() int {
	if k.set == 0 {
		return 0
	}
	unset := max(sketchBits-k.set, 1) // all set: the estimate is a floor
	n := -sketchBits * math.Log(float64(unset)/sketchBits)
	return min(int(math.Round(n)), k.added)
}

// lostAnswerKey marks a call whose answer will not reach the client
// whole (an injected reset_after or truncate).
type lostAnswerKey struct{}

// flightKey carries the flight of a call whose answer is delayed on
// purpose (an injected latency or drip), for watch.acquired to fill in.
type flightKey struct{}

func withFlight(ctx context.Context, f *flight) context.Context {
	return context.WithValue(ctx, flightKey{}, f)
}

func flightOf(ctx context.Context) *flight {
	f, _ := ctx.Value(flightKey{}).(*flight)
	return f
}

func withLostAnswer(ctx context.Context) context.Context {
	return context.WithValue(ctx, lostAnswerKey{}, true)
}

func answerLost(ctx context.Context) bool {
	lost, _ := ctx.Value(lostAnswerKey{}).(bool)
	return lost
}
