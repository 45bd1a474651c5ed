package keeper

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
)

// renewLease is the lease renew_resources gives, whatever was left
// (contract §9); acquisitions give 4 hours.
const renewLease = 7 * 24 * time.Hour

// Defaults; each has an option to change it.
const (
	// DefaultRenewMargin is how little lease time may be left before the
	// keeper renews a vessel: half of a fresh acquisition's four hours.
	DefaultRenewMargin = 2 * time.Hour

	// DefaultCheckInterval is how often the keeper looks at the account's
	// vessels (one get_resource_info) between renewals, to notice losses.
	DefaultCheckInterval = 15 * time.Minute

	// DefaultBackoffMin and DefaultBackoffMax bound the exponential
	// backoff after a failed call.
	DefaultBackoffMin = 2 * time.Second
	DefaultBackoffMax = 5 * time.Minute

	// DefaultEventBuffer is the capacity of the Events channel.
	DefaultEventBuffer = 64

	// DefaultCallTimeout bounds each call the keeper makes. It is also the
	// safety margin kept before a lease runs out: the last retry planned
	// by backoff starts at least this long before expiry.
	DefaultCallTimeout = time.Minute
)

// A Keeper holds a set of vessels alive until its context ends: it renews
// them before they expire, notices the ones that are gone and, with
// WithReplacement, acquires new ones in their place. Create it with New,
// start it with Run, and watch it through Events and Snapshot; Verify
// checks, after Run, what is still held. The package documentation
// describes its schedule, how it handles failures and what it guarantees.
//
// A Keeper is safe for concurrent use: Snapshot and Events may be called
// from any goroutine while Run runs. Run starts no goroutine of its own.
type Keeper struct {
	client  *clearinghouse.Client
	cfg     config
	events  chan Event
	started atomic.Bool
	work    sync.Mutex // held by Run, or by Verify, for the fields they alone touch (below)

	mu           sync.Mutex
	kept         map[clearinghouse.Handle]*keptState // guarded by mu
	target       int                                 // guarded by mu
	renewals     int                                 // guarded by mu
	lost         int                                 // guarded by mu
	replaced     int                                 // guarded by mu
	found        int                                 // guarded by mu
	dropped      int                                 // guarded by mu
	lastErr      error                               // guarded by mu
	lastErrAt    time.Time                           // guarded by mu
	overLimit    bool                                // guarded by mu
	lastCheck    time.Time                           // guarded by mu
	nextWake     time.Time                           // guarded by mu
	renewRetryAt time.Time                           // guarded by mu; no renewal before this
	running      bool                                // guarded by mu
	clock        clockRate                           // guarded by mu

	// Touched only by the goroutine in Run or Verify, under work.
	nextCheck    time.Time // zero: no check planned
	replaceAt    time.Time
	checkFails   int
	renewFails   int
	replaceFails int
	lookTries    int // get_resource_info calls
	looks        int // and those that succeeded
	// lookRecords are the two latest of those, the latest last.
	lookRecords [2]lookRecord
	// gone are the vessels reported lost and not found again; true once
	// the keeper has reported one listed again without room to keep it.
	gone   map[clearinghouse.Handle]bool
	unsure *unsureAcquire // an acquisition whose answer was lost, if any
}

// holdings is what get_resource_info reported the account to hold, by
// handle. A refresh makes a new one, so an older one stays as it was.
type holdings map[clearinghouse.Handle]clearinghouse.Vessel

// unsureAcquire is an acquisition whose outcome the keeper does not know:
// the call failed without an answer from the clearinghouse (a reset, a
// timeout, an HTTP error, an answer cut short), so the vessels may have
// been acquired. Two successful looks after it settle it.
type unsureAcquire struct {
	before map[clearinghouse.Handle]bool // what the account held or the keeper knew when it was sent
	n      int                           // vessels asked for
	looks  int                           // successful looks since
}

// keptState is a kept vessel as the keeper knows it.
type keptState struct {
	v     Vessel
	known bool // seen in get_resource_info or acquired (initial handles start unknown)
	// last is what the schedule goes by: the latest sighting of the
	// lease, or the 7 days a renewal of the keeper's claims to have given.
	last sighting
	// seen is the latest sighting itself; anchor the first sighting of the
	// current lease, which later ones measure the clock against.
	seen     sighting
	anchor   sighting
	anchored bool
	// renewed is when a renewal of the keeper's that no look has confirmed
	// yet was sent; zero if none.
	renewed time.Time
	// missing counts the successful looks in a row that did not list it.
	missing int
}

// Vessel is a vessel the keeper holds. Its ExpiresIn is the lease time
// the clearinghouse last reported, by its own clock; ExpiresAt is when the
// keeper expects the lease to end by its clock, computed conservatively:
// from the moment the call that reported it was sent, with the fastest
// clock rate the keeper's measurements allow (Snapshot.ClockRate).
type Vessel struct {
	clearinghouse.Vessel
	// Held reports whether the keeper can vouch that the vessel is held at
	// the time of the snapshot: the latest successful get_resource_info
	// listed it (or, for a replacement, the acquisition returned it), no
	// renewal of the keeper's has been sent since, and by ExpiresAt its
	// lease has not run out since. A vessel not Held may well be held; the
	// keeper just has not seen it lately (Verify looks again).
	Held bool
	// Seen is when the call that last listed the vessel was sent; zero if
	// none has.
	Seen time.Time
	// LastRenewed is when this keeper last renewed the vessel; zero if it
	// has not.
	LastRenewed time.Time
	// Renewals counts the renew_resources calls of this keeper that
	// included the vessel and succeeded.
	Renewals int
	// Replacement reports whether the keeper acquired the vessel to
	// replace a lost one.
	Replacement bool
}

// Snapshot is the keeper's state at one moment.
type Snapshot struct {
	// Vessels are the vessels kept, sorted by handle: those held and those
	// the keeper has not yet confirmed lost. Before the first successful
	// get_resource_info the handles given to New appear with only Handle
	// set.
	Vessels []Vessel
	// Target is how many vessels the keeper tries to hold: the number of
	// distinct handles given to New.
	Target int
	// Renewals counts successful renew_resources calls (each may cover
	// many vessels).
	Renewals int
	// Lost counts vessels reported by EventLost; Replaced counts vessels
	// acquired by EventReplaced; Found counts lost vessels kept again
	// (EventFound). len(Vessels) is Target - Lost + Replaced + Found.
	Lost     int
	Replaced int
	Found    int
	// LastError is the error of the most recent EventError, and
	// LastErrorTime when it happened; they are kept after a later success.
	LastError     error
	LastErrorTime time.Time
	// OverCreditLimit is true from a renewal refused with
	// ErrNotEnoughCredits until a renewal succeeds or nothing is left to
	// keep: while it holds, the kept vessels are running out.
	OverCreditLimit bool
	// ClockRate is the rate the keeper schedules by: how many seconds the
	// clearinghouse's clock may advance per second of the keeper's, at
	// most, as far as its measurements show (a little above 1 for a
	// clearinghouse that keeps real time, once measured; the assumed
	// maximum before). See the package documentation, Clocks.
	ClockRate float64
	// NextRenewal is when the keeper will next try to renew (the earliest
	// expiry minus the margin, or a retry); zero when nothing is kept.
	NextRenewal time.Time
	// NextWake is when the keeper will next do anything; zero while it is
	// working or not running.
	NextWake time.Time
	// LastCheck is when the last successful get_resource_info was sent.
	LastCheck time.Time
	// DroppedEvents counts events not delivered because the Events buffer
	// was full.
	DroppedEvents int
	// Running reports whether Run is running.
	Running bool
}

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event.
const (
	EventRenewed  EventKind = iota + 1 // Handles were renewed (one renew_resources call), as a look confirmed
	EventLost                          // Handles are gone and no longer kept
	EventReplaced                      // Handles were acquired to replace lost vessels
	EventError                         // a call failed with Err; Retry says when it is tried again
	EventFound                         // Handles, reported lost, are listed again and kept again
)

// String returns "renewed", "lost", "replaced", "error" or "found".
func (k EventKind) String() string {
	switch k {
	case EventRenewed:
		return "renewed"
	case EventLost:
		return "lost"
	case EventReplaced:
		return "replaced"
	case EventError:
		return "error"
	case EventFound:
		return "found"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is something the keeper did or found.
type Event struct {
	Kind EventKind
	Time time.Time // when the call that found it was sent (for EventRenewed, the renewal)
	// Handles are the vessels concerned: renewed, lost, acquired, found
	// again, those a failed renewal was for, or those the keeper could not
	// attribute or keep (none for other failures).
	Handles []clearinghouse.Handle
	// Err is the failure of an EventError: a *clearinghouse.Error
	// (errors.Is works with its sentinels, clearinghouse.ErrNotEnoughCredits
	// above all), or an error of the keeper's own, starting "keeper: ",
	// when a renewal succeeded but did not extend a lease, when vessels
	// appeared that it could not attribute after an acquisition whose
	// answer was lost (see the package documentation, Replacement), or
	// when a vessel reported lost is listed again but its replacement
	// already fills the target.
	Err error
	// Retry is when the failed work of an EventError is tried again;
	// zero when Run is returning or nothing is retried.
	Retry time.Time
}

// String describes the event in one line, such as "renewed 2 vessels".
func (e Event) String() string {
	n := len(e.Handles)
	s := e.Kind.String()
	if n > 0 {
		s += " " + strconv.Itoa(n) + " vessel"
		if n != 1 {
			s += "s"
		}
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if !e.Retry.IsZero() {
		s += " (retrying in " + e.Retry.Sub(e.Time).Round(time.Second).String() + ")"
	}
	return s
}

type config struct {
	margin        time.Duration
	checkInterval time.Duration
	backoffMin    time.Duration
	backoffMax    time.Duration
	callTimeout   time.Duration
	eventBuffer   int
	replacement   clearinghouse.ResourceType
	maxClockRate  float64
}

// An Option configures a Keeper. Options check their arguments; New
// returns the first error. Make one with the With functions: the zero
// Option is an error.
type Option struct {
	apply func(*config) error
}

// WithRenewMargin renews vessels once less than d is left of their lease
// (DefaultRenewMargin by default), counted on the clearinghouse's clock.
// It must be positive and below the 7-day renewal lease; with d of 4
// hours or more, freshly acquired vessels are renewed at once. A larger
// margin leaves more time to retry through an outage at the cost of
// slightly more frequent renewals.
func WithRenewMargin(d time.Duration) Option {
	return Option{func(c *config) error {
		if d <= 0 || d >= renewLease {
			return invalidArgument("renew margin " + d.String() + " must be positive and below 168h")
		}
		c.margin = d
		return nil
	}}
}

// WithReplacement makes the keeper replace lost vessels by acquiring as
// many vessels of type typ (clearinghouse.LAN, WAN, NAT or Random).
func WithReplacement(typ clearinghouse.ResourceType) Option {
	return Option{func(c *config) error {
		switch typ {
		case clearinghouse.LAN, clearinghouse.WAN, clearinghouse.NAT, clearinghouse.Random:
		default:
			return invalidArgument("replacement type " + strconv.Quote(string(typ)) + ": want lan, wan, nat or random")
		}
		c.replacement = typ
		return nil
	}}
}

// WithBackoff sets the exponential backoff after a failed call: the
// first retry waits min, each further one twice as long, up to max
// (DefaultBackoffMin and DefaultBackoffMax by default). Renewals refused
// for lack of credits are retried every max.
func WithBackoff(min, max time.Duration) Option {
	return Option{func(c *config) error {
		if min <= 0 || max < min {
			return invalidArgument("backoff needs 0 < min <= max")
		}
		c.backoffMin, c.backoffMax = min, max
		return nil
	}}
}

// WithEventBuffer sets the capacity of the Events channel
// (DefaultEventBuffer by default). With 0, an event is delivered only if a
// receiver is waiting at that moment.
func WithEventBuffer(n int) Option {
	return Option{func(c *config) error {
		if n < 0 {
			return invalidArgument("negative event buffer")
		}
		c.eventBuffer = n
		return nil
	}}
}

// WithCheckInterval sets how often the keeper calls get_resource_info
// between renewals to notice lost vessels (DefaultCheckInterval by
// default), counted on the clearinghouse's clock as the keeper measures
// it, and never more often than every 50 ms of the keeper's. Zero turns
// the periodic check off: losses are then noticed around renewals only,
// up to a week late.
func WithCheckInterval(d time.Duration) Option {
	return Option{func(c *config) error {
		if d < 0 {
			return invalidArgument("negative check interval")
		}
		c.checkInterval = d
		return nil
	}}
}

// WithCallTimeout bounds each call the keeper makes (DefaultCallTimeout by
// default), on top of the Client's own timeout; the same duration is kept
// in reserve before a lease runs out when retries are planned.
func WithCallTimeout(d time.Duration) Option {
	return Option{func(c *config) error {
		if d <= 0 {
			return invalidArgument("call timeout must be positive")
		}
		c.callTimeout = d
		return nil
	}}
}

// WithMaxClockRate sets how much faster than the keeper's clock the
// clearinghouse's clock may run, as far as the keeper assumes before it
// has measured it (DefaultMaxClockRate by default). It must be at least 1
// and finite. A keeper of vessels on a clearinghouse known to keep real
// time may say 1: it then schedules by real time from the start, and
// looks no more often than its check interval asks while it measures. A
// clock measured faster than x is followed all the same. See the package
// documentation, Clocks.
func WithMaxClockRate(x float64) Option {
	return Option{func(c *config) error {
		if !(x >= 1) || math.IsInf(x, 1) {
			return invalidArgument("clock rate " + strconv.FormatFloat(x, 'g', -1, 64) + " must be at least 1 and finite")
		}
		c.maxClockRate = x
		return nil
	}}
}

// New returns a keeper for the given vessels of c's account. Duplicate
// and empty handles are ignored. It makes no call. A nil client or a bad
// option is an error matching clearinghouse.ErrInvalidArgument.
func New(c *clearinghouse.Client, handles []clearinghouse.Handle, opts ...Option) (*Keeper, error) {
	if c == nil {
		return nil, invalidArgument("nil *clearinghouse.Client")
	}
	cfg := config{
		margin:        DefaultRenewMargin,
		checkInterval: DefaultCheckInterval,
		backoffMin:    DefaultBackoffMin,
		backoffMax:    DefaultBackoffMax,
		callTimeout:   DefaultCallTimeout,
		eventBuffer:   DefaultEventBuffer,
		maxClockRate:  DefaultMaxClockRate,
	}
	for _, opt := range opts {
		if opt.apply == nil {
			return nil, invalidArgument("zero Option")
		}
		if err := opt.apply(&cfg); err != nil {
			return nil, err
		}
	}
	k := &Keeper{client: c, cfg: cfg, kept: make(map[clearinghouse.Handle]*keptState),
		clock: newClockRate(cfg.maxClockRate), gone: make(map[clearinghouse.Handle]bool)}
	k.events = make(chan Event, cfg.eventBuffer)
	for _, h := range handles {
		if h != "" && k.kept[h] == nil {
			k.kept[h] = &keptState{v: Vessel{Vessel: clearinghouse.Vessel{Handle: h}}}
		}
	}
	k.target = len(k.kept)
	return k, nil
}

// Events returns the channel on which the keeper reports what it does. It
// is buffered (WithEventBuffer); when it is full, events are dropped and
// counted in Snapshot.DroppedEvents rather than holding the keeper up. It
// is closed when Run returns.
func (k *Keeper) Events() <-chan Event { return k.events }

// Snapshot returns the keeper's current state. It may be called from any
// goroutine, before, during and after Run.
func (k *Keeper) Snapshot() Snapshot {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	s := Snapshot{
		Vessels:         make([]Vessel, 0, len(k.kept)),
		Target:          k.target,
		Renewals:        k.renewals,
		Lost:            k.lost,
		Replaced:        k.replaced,
		Found:           k.found,
		LastError:       k.lastErr,
		LastErrorTime:   k.lastErrAt,
		OverCreditLimit: k.overLimit,
		ClockRate:       k.clock.rate(),
		NextRenewal:     k.nextRenewalLocked(),
		LastCheck:       k.lastCheck,
		DroppedEvents:   k.dropped,
		Running:         k.running,
	}
	if k.running {
		s.NextWake = k.nextWake
	}
	for _, ks := range k.kept {
		v := ks.v
		if v.IsActive != nil {
			active := *v.IsActive
			v.IsActive = &active
		}
		if ks.known {
			v.ExpiresIn = time.Duration(ks.last.left) * time.Second
			v.ExpiresAt = k.expiryLocked(ks)
			v.Held = ks.missing == 0 && ks.renewed.IsZero() && v.ExpiresAt.After(now)
		}
		s.Vessels = append(s.Vessels, v)
	}
	slices.SortFunc(s.Vessels, func(a, b Vessel) int { return strings.Compare(string(a.Handle), string(b.Handle)) })
	return s
}

// expiryLocked is when a known vessel's lease ends at the latest, by the
// keeper's clock: its last sighting aged at the fastest rate the clock
// may run.
func (k *Keeper) expiryLocked(ks *keptState) time.Time {
	return ks.last.sent.Add(wall(time.Duration(ks.last.left)*time.Second, k.clock.rate()))
}

// dueLocked is when a known vessel falls due: when, at the fastest rate
// the clock may run, the margin is left of its lease.
func (k *Keeper) dueLocked(ks *keptState) time.Time {
	return ks.last.sent.Add(wall(time.Duration(ks.last.left)*time.Second-k.cfg.margin, k.clock.rate()))
}

// nextRenewalLocked is when the next renewal attempt is planned: the
// earliest due time of a known vessel, or the pending retry if that is
// later.
func (k *Keeper) nextRenewalLocked() time.Time {
	var at time.Time
	for _, ks := range k.kept {
		if !ks.known {
			continue
		}
		if due := k.dueLocked(ks); at.IsZero() || due.Before(at) {
			at = due
		}
	}
	if !at.IsZero() && k.renewRetryAt.After(at) {
		at = k.renewRetryAt
	}
	return at
}

// Run keeps the vessels until ctx is done, then returns nil. It returns
// early only with an unrecoverable error: clearinghouse.ErrAuthentication
// from any call, or clearinghouse.ErrInvalidArgument for a second call of
// Run. Run returns promptly when ctx is cancelled, even in the middle of a
// call or a long wait, and leaves no goroutine behind; it closes the
// Events channel when it returns.
func (k *Keeper) Run(ctx context.Context) error {
	if !k.started.CompareAndSwap(false, true) {
		return invalidArgument("Run called more than once")
	}
	k.work.Lock()
	defer k.work.Unlock()
	defer close(k.events)
	k.mu.Lock()
	k.running = true
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.running = false
		k.nextWake = time.Time{}
		k.mu.Unlock()
	}()

	k.nextCheck = time.Now() // learn the vessels' state first
	for ctx.Err() == nil {
		if err := k.step(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !k.sleep(ctx, k.wakeTime()) {
			return nil
		}
	}
	return nil
}

// Verify looks at the account's vessels once more, with one
// get_resource_info (and a second at once if a kept vessel is missing
// from the first), and updates what Snapshot shows: a vessel is Held
// again only if the clearinghouse lists it now. Called after Run has
// returned, it tells which vessels are still held before a program
// reports them kept. It declares no vessel lost, renews and acquires
// nothing and sends no event. It returns the error of the first call, if
// that failed (Snapshot then shows what the keeper knew before), and an
// error matching clearinghouse.ErrInvalidArgument if Run is running.
func (k *Keeper) Verify(ctx context.Context) error {
	if !k.work.TryLock() {
		return invalidArgument("Verify called while Run runs")
	}
	defer k.work.Unlock()
	if _, _, err := k.look(ctx, true); err != nil {
		return err
	}
	if k.anyMissing() {
		k.look(ctx, true) // a failure leaves the missing ones not Held
	}
	return nil
}

// step does whatever is due now. It returns an error only when Run must
// stop: an unrecoverable failure or the context's end.
func (k *Keeper) step(ctx context.Context) error {
	now := time.Now()
	tries, looks := k.lookTries, k.looks
	if k.checkDue(now) || k.renewDue(now) {
		if err := k.refresh(ctx); err != nil {
			return err
		}
	}
	if k.renewDue(time.Now()) {
		if err := k.renew(ctx); err != nil {
			return err
		}
	}
	if k.replaceDue(time.Now()) {
		if err := k.replace(ctx, k.lookTries > tries, k.looks > looks); err != nil {
			return err
		}
	}
	return nil
}

func (k *Keeper) checkDue(now time.Time) bool {
	return !k.nextCheck.IsZero() && !now.Before(k.nextCheck)
}

func (k *Keeper) renewDue(now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	at := k.nextRenewalLocked()
	return !at.IsZero() && !now.Before(at)
}

// deficit is how many vessels replacement should acquire. Vessels missing
// from a look but not yet confirmed lost still count as kept: the keeper
// does not replace a vessel it is not sure it lost.
func (k *Keeper) deficit() int {
	if k.cfg.replacement == "" {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.target - len(k.kept)
}

func (k *Keeper) replaceDue(now time.Time) bool {
	return k.deficit() > 0 && !now.Before(k.replaceAt)
}

// anyMissing reports whether a kept vessel was missing from the last
// successful look.
func (k *Keeper) anyMissing() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, ks := range k.kept {
		if ks.missing > 0 {
			return true
		}
	}
	return false
}

// wakeTime is the earliest moment something is planned; zero if nothing.
func (k *Keeper) wakeTime() time.Time {
	at := k.nextCheck
	earlier := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	k.mu.Lock()
	earlier(k.nextRenewalLocked())
	k.mu.Unlock()
	if k.deficit() > 0 {
		if k.replaceAt.IsZero() {
			earlier(time.Now())
		} else {
			earlier(k.replaceAt)
		}
	}
	return at
}

// sleep waits until at (until ctx ends if at is zero);
// it reports false if ctx ended first.
func (k *Keeper) sleep(ctx context.Context, at time.Time) bool {
	k.mu.Lock()
	k.nextWake = at
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.nextWake = time.Time{}
		k.mu.Unlock()
	}()
	if at.IsZero() {
		<-ctx.Done()
		return false
	}
	d := at.Sub(time.Now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// callContext bounds one call by the call timeout.
func (k *Keeper) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, k.cfg.callTimeout)
}

// backoff is the wait after the n-th consecutive failure (n >= 1).
func (k *Keeper) backoff(n int) time.Duration {
	d := k.cfg.backoffMin
	for i := 1; i < n && d < k.cfg.backoffMax; i++ {
		d *= 2
	}
	return min(d, k.cfg.backoffMax)
}

// renewWait bounds the wait before retrying a renewal, decided at now, by
// the earliest expiry among the vessels it is for. While more than the
// call timeout is left beyond the backoff, the backoff stands; when it
// would end later than that, the retry moves to the last moment that still
// leaves the call timeout; past that moment the keeper tries again after
// half the time left, at most once a second (or once per minimum backoff
// if that is shorter), until the lease runs out.
func (k *Keeper) renewWait(now, expiry time.Time, backoff time.Duration) time.Duration {
	floor := min(k.cfg.backoffMin, time.Second)
	left := expiry.Sub(now)
	if room := left - k.cfg.callTimeout; room >= floor {
		return min(backoff, room)
	}
	return max(min(backoff, left/2), floor)
}

// fatal reports whether err must end Run.
func fatal(err error) bool { return errors.Is(err, clearinghouse.ErrAuthentication) }

// answered reports whether err is the clearinghouse's answer (a fault),
// so that the call was not applied. Any other failure — a reset, a
// timeout, an HTTP error, an answer cut short or undecodable — leaves the
// outcome unknown.
func answered(err error) bool {
	var ce *clearinghouse.Error
	return errors.As(err, &ce) && ce.Code != 0
}

// lookRecord is one successful get_resource_info: what it listed, and
// when it was sent and answered.
type lookRecord struct {
	held       holdings
	sent, recv time.Time
}

// sightingOf is what v, listed by a call sent and answered at the times
// given, says of its lease.
func sightingOf(v clearinghouse.Vessel, sent, recv time.Time) sighting {
	return sighting{left: int64(v.ExpiresIn / time.Second), sent: sent, recv: recv}
}

// newKept is the state of a vessel the keeper starts keeping from a
// sighting: a replacement, or a lost vessel found again.
func newKept(v clearinghouse.Vessel, b sighting, replacement bool) *keptState {
	return &keptState{
		v:     Vessel{Vessel: v, Seen: b.sent, Replacement: replacement},
		known: true, last: b, seen: b, anchor: b, anchored: true,
	}
}

// lookResult is what one look found that Run reports.
type lookResult struct {
	sent    time.Time
	lost    []clearinghouse.Handle // missing from this look and the one before
	found   []clearinghouse.Handle // lost, listed again and kept again
	crowded []clearinghouse.Handle // lost, listed again, no room to keep them (reported once)
	// renewed are the vessels whose renewal this look confirmed, by when
	// the renewal was sent; short those whose lease did not grow.
	renewed map[time.Time][]clearinghouse.Handle
	short   []clearinghouse.Handle
	shortAt time.Time // when the renewal of the short ones was sent
}

// refresh learns the kept vessels' state from get_resource_info and
// reports what changed. A kept vessel missing from a look is looked for
// again at once, with a second call: only a vessel missing from both is
// lost. An acquisition whose answer was lost is settled by two looks.
func (k *Keeper) refresh(ctx context.Context) error {
	for i := range 2 {
		res, ok, err := k.look(ctx, false)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		k.report(res)
		unsure := k.unsure != nil && k.unsure.looks < 2
		if i == 1 || !unsure && !k.anyMissing() {
			break
		}
	}
	if u := k.unsure; u != nil && u.looks >= 2 {
		k.unsure = nil
		k.settle(u)
	}
	if k.anyMissing() { // not settled by two looks: look again soon
		if soon := time.Now().Add(k.cfg.backoffMin); k.nextCheck.IsZero() || soon.Before(k.nextCheck) {
			k.nextCheck = soon
		}
	}
	return nil
}

// look calls get_resource_info once and takes in what it lists; ok
// reports whether the call succeeded. In final mode (Verify) it returns
// any failure and reports nothing; otherwise it returns only an
// unrecoverable failure or the context's end, and reports the others and
// plans the next look after the backoff.
func (k *Keeper) look(ctx context.Context, final bool) (res lookResult, ok bool, err error) {
	sent := time.Now()
	k.lookTries++
	cctx, cancel := k.callContext(ctx)
	vs, err := k.client.GetResourceInfo(cctx)
	cancel()
	recv := time.Now()
	if err != nil {
		switch {
		case final:
			return res, false, err
		case ctx.Err() != nil:
			return res, false, ctx.Err()
		case fatal(err):
			k.emitError(sent, nil, err, time.Time{})
			return res, false, err
		}
		k.checkFails++
		k.nextCheck = sent.Add(k.backoff(k.checkFails))
		k.emitError(sent, nil, err, k.nextCheck)
		return res, false, nil
	}
	k.checkFails = 0
	held := make(holdings, len(vs))
	for _, v := range vs {
		held[v.Handle] = v
	}
	k.looks++
	k.lookRecords[0], k.lookRecords[1] = k.lookRecords[1], lookRecord{held: held, sent: sent, recv: recv}
	if k.unsure != nil {
		k.unsure.looks++
	}
	res = k.observe(held, sent, recv, final)
	k.nextCheck = time.Time{}
	if k.cfg.checkInterval > 0 {
		k.mu.Lock()
		rate := k.clock.rate()
		k.mu.Unlock()
		k.nextCheck = sent.Add(max(wall(k.cfg.checkInterval, rate), minLookGap))
	}
	return res, true, nil
}

// observe takes in one successful look, sent and answered at the times
// given: it measures the clock, updates the kept vessels, declares lost
// those missing from this look and the one before, keeps again lost
// vessels listed again while there is room, and confirms renewals. In
// final mode it declares nothing lost and keeps nothing again.
func (k *Keeper) observe(held holdings, sent, recv time.Time, final bool) lookResult {
	res := lookResult{sent: sent}
	k.mu.Lock()
	defer k.mu.Unlock()

	// The clock first, from the leases seen before that did not grow.
	var (
		pairs  []*keptState
		bounds []rateBounds
	)
	for h, ks := range k.kept {
		v, ok := held[h]
		if !ok {
			continue
		}
		b := sightingOf(v, sent, recv)
		if ks.anchored {
			if r, ok := pairBounds(ks.anchor, b); ok {
				pairs, bounds = append(pairs, ks), append(bounds, r)
				continue
			}
		}
		ks.anchor, ks.anchored = b, true // a lease that grew measures from here
	}
	consistent, restart := k.clock.fold(bounds)
	for i, ks := range pairs {
		if restart || !consistent[i] {
			ks.anchor = sightingOf(held[ks.v.Handle], sent, recv)
		}
	}

	for h, ks := range k.kept {
		v, ok := held[h]
		if !ok {
			ks.missing++
			if ks.missing >= 2 && !final {
				res.lost = append(res.lost, h)
				delete(k.kept, h)
				k.gone[h] = false
			}
			continue
		}
		b := sightingOf(v, sent, recv)
		if !ks.renewed.IsZero() {
			if ks.known && b.left <= ks.seen.left {
				res.short = append(res.short, h)
				res.shortAt = ks.renewed
			} else {
				if res.renewed == nil {
					res.renewed = make(map[time.Time][]clearinghouse.Handle)
				}
				res.renewed[ks.renewed] = append(res.renewed[ks.renewed], h)
			}
			ks.renewed = time.Time{}
		}
		ks.v.Vessel = v
		ks.v.Seen = sent
		ks.known, ks.missing = true, 0
		ks.last, ks.seen = b, b
	}

	if !final {
		for h, v := range held {
			reported, lost := k.gone[h]
			switch {
			case !lost:
			case k.kept[h] != nil: // acquired again since, as a replacement
				delete(k.gone, h)
			case len(k.kept) < k.target:
				delete(k.gone, h)
				k.kept[h] = newKept(v, sightingOf(v, sent, recv), false)
				res.found = append(res.found, h)
			case !reported:
				k.gone[h] = true
				res.crowded = append(res.crowded, h)
			}
		}
	}

	k.lost += len(res.lost)
	k.found += len(res.found)
	k.lastCheck = sent
	if len(k.kept) == 0 {
		k.overLimit = false
		k.renewRetryAt = time.Time{}
	}
	slices.Sort(res.lost)
	slices.Sort(res.found)
	slices.Sort(res.crowded)
	slices.Sort(res.short)
	for _, hs := range res.renewed {
		slices.Sort(hs)
	}
	return res
}

// report sends the events of a look and, for renewals it found did not
// extend a lease, plans the retry.
func (k *Keeper) report(res lookResult) {
	sent := res.sent
	if len(res.lost) > 0 {
		k.emit(Event{Kind: EventLost, Time: sent, Handles: res.lost})
	}
	if len(res.found) > 0 {
		k.emit(Event{Kind: EventFound, Time: sent, Handles: res.found})
	}
	if len(res.crowded) > 0 {
		k.emitError(sent, res.crowded, fmt.Errorf("keeper: %d vessel(s) reported lost are listed again; "+
			"not kept, since their replacements fill the target", len(res.crowded)), time.Time{})
	}
	switch {
	case len(res.short) > 0:
		// The call succeeded but the leases did not grow (a server that
		// skipped them): retry with backoff rather than at once.
		k.renewFails++
		k.mu.Lock()
		var earliest time.Time
		for _, h := range res.short {
			if exp := k.expiryLocked(k.kept[h]); earliest.IsZero() || exp.Before(earliest) {
				earliest = exp
			}
		}
		retry := res.shortAt.Add(k.renewWait(res.shortAt, earliest, k.backoff(k.renewFails)))
		k.renewRetryAt = retry
		k.mu.Unlock()
		k.emitError(res.shortAt, res.short, fmt.Errorf("keeper: renew_resources succeeded but the lease of %d vessel(s) did not grow", len(res.short)), retry)
	case len(res.renewed) > 0:
		k.renewFails = 0
		k.mu.Lock()
		k.renewRetryAt = time.Time{}
		k.mu.Unlock()
	}
	for _, at := range slices.SortedFunc(maps.Keys(res.renewed), time.Time.Compare) {
		k.emit(Event{Kind: EventRenewed, Time: at, Handles: res.renewed[at]})
	}
}

// settle decides, from the account's holdings seen in the two looks
// after it, what an acquisition whose answer was lost did. (Two looks,
// because a vessel may be missing from one.) Acquisitions are all or
// nothing: if exactly as many vessels as it asked for have appeared
// since it was sent, they are its own and the keeper keeps them; if none
// have, it was not applied. Any other number means another program
// acquired for the account meanwhile; the keeper cannot tell which
// vessels are its own, adopts none and reports it.
func (k *Keeper) settle(u *unsureAcquire) {
	latest := k.lookRecords[1]
	seen := make(map[clearinghouse.Handle]sighting)
	found := make(map[clearinghouse.Handle]clearinghouse.Vessel)
	for _, rec := range k.lookRecords { // the later one last, so that it wins
		for h, v := range rec.held {
			seen[h], found[h] = sightingOf(v, rec.sent, rec.recv), v
		}
	}
	var fresh []clearinghouse.Handle
	k.mu.Lock()
	for h := range found {
		if _, lost := k.gone[h]; !u.before[h] && !lost && k.kept[h] == nil {
			fresh = append(fresh, h)
		}
	}
	slices.Sort(fresh)
	adopt := len(fresh) == u.n && len(k.kept)+len(fresh) <= k.target
	if adopt {
		for _, h := range fresh {
			k.kept[h] = newKept(found[h], seen[h], true)
		}
		k.replaced += len(fresh)
	}
	k.mu.Unlock()
	switch {
	case len(fresh) == 0:
	case adopt:
		k.replaceFails = 0
		k.replaceAt = time.Time{}
		k.emit(Event{Kind: EventReplaced, Time: latest.sent, Handles: fresh})
	default:
		retry := latest.sent // the acquisition goes ahead as soon as replacement is due
		if k.replaceAt.After(retry) {
			retry = k.replaceAt
		}
		k.emitError(latest.sent, fresh, fmt.Errorf("keeper: %d vessel(s) appeared after an acquisition of %d whose answer was lost; "+
			"not adopted, since another program must have acquired some of them", len(fresh), u.n), retry)
	}
}

// renew renews, in one call, every kept vessel that is due or falls due
// within half a margin, then looks: the renewal counts (EventRenewed)
// once a look shows the leases grown.
//
// Its steps take k.mu each on their own and renew itself never holds it:
// renewalDue reads the schedule, the call runs unlocked, and
// renewFailed or renewSucceeded records the outcome.
func (k *Keeper) renew(ctx context.Context) error {
	sent := time.Now()
	due, earliest := k.renewalDue(sent)
	if len(due) == 0 { // cannot happen: renewDue saw a due vessel
		k.setRenewRetry(sent.Add(k.cfg.backoffMin), false) // but never spin
		return nil
	}
	cctx, cancel := k.callContext(ctx)
	err := k.client.RenewResources(cctx, due)
	cancel()
	recv := time.Now()
	if err != nil {
		return k.renewFailed(ctx, err, due, sent, earliest)
	}
	k.renewSucceeded(due, sent, recv)
	return k.refresh(ctx)
}

// renewalDue lists, sorted, the known vessels whose lease may end within
// one and a half margins of now, with the earliest of their expiries. It
// takes k.mu.
func (k *Keeper) renewalDue(now time.Time) (due []clearinghouse.Handle, earliest time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	horizon := now.Add(wall(k.cfg.margin+k.cfg.margin/2, k.clock.rate()))
	for h, ks := range k.kept {
		if !ks.known {
			continue
		}
		if exp := k.expiryLocked(ks); !exp.After(horizon) { // includes all renewDue saw
			due = append(due, h)
			if earliest.IsZero() || exp.Before(earliest) {
				earliest = exp
			}
		}
	}
	slices.Sort(due)
	return due, earliest
}

// setRenewRetry puts off the next renewal until at; overLimit records a
// renewal refused for credits. It takes k.mu.
func (k *Keeper) setRenewRetry(at time.Time, overLimit bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.renewRetryAt = at
	if overLimit {
		k.overLimit = true
	}
}

// renewFailed handles a renewal of due, sent at sent, that failed with
// err: it returns the error that ends Run (the context's, or a fatal one),
// or plans a retry before earliest, the first of their expiries, and
// reports the error. It takes k.mu through setRenewRetry and emitError,
// one after the other.
func (k *Keeper) renewFailed(ctx context.Context, err error, due []clearinghouse.Handle, sent, earliest time.Time) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if fatal(err) {
		k.emitError(sent, due, err, time.Time{})
		return err
	}
	k.renewFails++
	wait := k.backoff(k.renewFails)
	credits := errors.Is(err, clearinghouse.ErrNotEnoughCredits)
	if credits {
		wait = k.cfg.backoffMax // only a change elsewhere helps: ask slowly
	}
	retry := sent.Add(k.renewWait(sent, earliest, wait))
	k.setRenewRetry(retry, credits)
	k.emitError(sent, due, err, retry)
	return nil
}

// renewSucceeded records a renewal of due, sent at sent and answered at
// recv. It takes k.mu.
func (k *Keeper) renewSucceeded(due []clearinghouse.Handle, sent, recv time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.renewals++
	k.overLimit = false
	for _, h := range due {
		if ks := k.kept[h]; ks != nil {
			ks.v.LastRenewed = sent
			ks.v.Renewals++
			// Until a look says otherwise, the schedule goes by the lease
			// the renewal gives: 7 days from a moment no earlier than
			// sent. It says nothing of the clock.
			ks.last = sighting{left: int64(renewLease / time.Second), sent: sent, recv: recv}
			ks.renewed = sent
			ks.anchored = false
		}
	}
}

// replace acquires vessels to make up for lost ones. It needs a look at
// the account's holdings in the same step: the look settles an earlier
// acquisition whose answer was lost, and is what the outcome of this one
// is judged against if its answer is lost too. tried and looked say
// whether the step has called get_resource_info and whether a call
// succeeded; if none was made, replace makes one; if it failed, or an
// earlier acquisition is still unsettled, the acquisition waits for the
// next look, which refresh has planned.
func (k *Keeper) replace(ctx context.Context, tried, looked bool) error {
	if !looked && !tried {
		looks := k.looks
		if err := k.refresh(ctx); err != nil {
			return err
		}
		looked = k.looks > looks
	}
	if !looked || k.unsure != nil {
		k.replaceAt = k.nextCheck
		return nil
	}
	n := k.deficit()
	if n <= 0 { // settled: the lost answer's vessels were adopted
		return nil
	}
	if done, err := k.releaseGone(ctx); !done || err != nil {
		return err
	}
	before := make(map[clearinghouse.Handle]bool)
	for h := range k.lookRecords[1].held {
		before[h] = true
	}
	for h := range k.gone {
		before[h] = true
	}
	k.mu.Lock()
	for h := range k.kept {
		before[h] = true
	}
	k.mu.Unlock()
	sent := time.Now()
	cctx, cancel := k.callContext(ctx)
	vs, err := k.client.AcquireResources(cctx, k.cfg.replacement, n)
	cancel()
	recv := time.Now()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fatal(err) {
			k.emitError(sent, nil, err, time.Time{})
			return err
		}
		if !answered(err) {
			k.unsure = &unsureAcquire{before: before, n: n}
		}
		k.replaceFails++
		k.replaceAt = sent.Add(k.backoff(k.replaceFails))
		k.emitError(sent, nil, err, k.replaceAt)
		return nil
	}
	added := make([]clearinghouse.Handle, 0, len(vs))
	k.mu.Lock()
	for _, v := range vs {
		if k.kept[v.Handle] != nil {
			continue
		}
		k.kept[v.Handle] = newKept(v, sightingOf(v, sent, recv), true)
		delete(k.gone, v.Handle) // lost once, released, and acquired again
		added = append(added, v.Handle)
	}
	k.replaced += len(added)
	k.mu.Unlock()
	if k.deficit() > 0 {
		// The server gave fewer vessels than asked for, which an
		// all-or-nothing acquisition should not: ask again later, not now.
		k.replaceFails++
		k.replaceAt = sent.Add(k.backoff(k.replaceFails))
	} else {
		k.replaceFails = 0
		k.replaceAt = time.Time{}
	}
	if len(added) > 0 {
		slices.Sort(added)
		k.emit(Event{Kind: EventReplaced, Time: sent, Handles: added})
	}
	return nil
}

// releaseGone releases the vessels declared lost, before replace acquires
// their replacements. A vessel is declared lost when two answers in a row
// leave it out; a listing that hid one still held would otherwise leave
// the account holding more than the target once the replacement comes.
// Releasing a vessel the account no longer holds does nothing (§5.3), so
// this costs one call and changes nothing when the vessels are really
// gone. done is false when the release failed and the acquisition must
// wait for the retry it planned; err is set only when Run must stop.
func (k *Keeper) releaseGone(ctx context.Context) (done bool, err error) {
	if len(k.gone) == 0 {
		return true, nil
	}
	handles := slices.Sorted(maps.Keys(k.gone))
	sent := time.Now()
	err = k.release(ctx, handles)
	if err != nil && len(handles) > 1 && errors.Is(err, clearinghouse.ErrInvalidRequest) {
		// The clearinghouse refused the list, for one handle that no
		// longer names a vessel (§5.3 step 4), perhaps: one at a time.
		err = nil
		for _, h := range handles {
			if err = k.release(ctx, []clearinghouse.Handle{h}); err != nil {
				break
			}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if fatal(err) {
			k.emitError(sent, handles, err, time.Time{})
			return false, err
		}
		k.replaceFails++
		k.replaceAt = sent.Add(k.backoff(k.replaceFails))
		k.emitError(sent, handles, err, k.replaceAt)
		return false, nil
	}
	for _, h := range handles {
		delete(k.gone, h)
	}
	return true, nil
}

// release makes one release_resources call for handles. A single handle
// the clearinghouse refuses as invalid names no vessel the account could
// hold: that is a success for releaseGone.
func (k *Keeper) release(ctx context.Context, handles []clearinghouse.Handle) error {
	cctx, cancel := k.callContext(ctx)
	defer cancel()
	err := k.client.ReleaseResources(cctx, handles)
	if len(handles) == 1 && errors.Is(err, clearinghouse.ErrInvalidRequest) && answered(err) {
		return nil
	}
	return err
}

func (k *Keeper) emitError(at time.Time, handles []clearinghouse.Handle, err error, retry time.Time) {
	k.mu.Lock()
	k.lastErr = err
	k.lastErrAt = at
	k.mu.Unlock()
	k.emit(Event{Kind: EventError, Time: at, Handles: handles, Err: err, Retry: retry})
}

// emit delivers ev if the buffer has room and counts it as dropped if not.
func (k *Keeper) emit(ev Event) {
	select {
	case k.events <- ev:
	default:
		k.mu.Lock()
		k.dropped++
		k.mu.Unlock()
	}
}

// invalidArgument reports a bad argument or misuse, found before any
// call: the error matches clearinghouse.ErrInvalidArgument.
func invalidArgument(msg string) error { return &argumentError{msg: msg} }

type argumentError struct{ msg string }

func (e *argumentError) Error() string { return "keeper: invalid argument: " + e.msg }
func (e *argumentError) Unwrap() error { return clearinghouse.ErrInvalidArgument }
