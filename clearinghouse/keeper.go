package clearinghouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// renewLease is the lease renew_resources gives, whatever was left
// (contract §9); acquisitions give 4 hours.
const renewLease = 7 * 24 * time.Hour

// Keeper defaults; each has an option to change it.
const (
	// DefaultRenewMargin is how little lease time may be left before the
	// keeper renews a vessel: half of a fresh acquisition's four hours.
	DefaultRenewMargin = 2 * time.Hour

	// DefaultCheckInterval is how often the keeper looks at the account's
	// vessels (one get_resource_info) between renewals, to notice losses.
	DefaultCheckInterval = 15 * time.Minute

	// DefaultRetryMin and DefaultRetryMax bound the exponential backoff
	// after a failed call.
	DefaultRetryMin = 2 * time.Second
	DefaultRetryMax = 5 * time.Minute

	// DefaultEventBuffer is the capacity of the Events channel.
	DefaultEventBuffer = 64

	// DefaultKeeperCallTimeout bounds each call the keeper makes. It is
	// also the safety margin kept before a lease runs out: the last
	// retry planned by backoff starts at least this long before expiry.
	DefaultKeeperCallTimeout = time.Minute
)

// A Keeper holds a set of vessels alive until its context ends: it renews
// them before they expire, notices the ones that are gone and, with
// WithReplacement, acquires new ones in their place. Create it with
// NewKeeper, start it with Run, and watch it through Events and Snapshot.
//
// # Schedule
//
// A vessel falls due when less than the renew margin (WithRenewMargin,
// DefaultRenewMargin) is left of its lease. When the first kept vessel
// falls due the keeper calls get_resource_info (another program may have
// renewed or released it), then renews with a single renew_resources call
// every vessel that is due or falls due within the next half margin, and
// calls get_resource_info again to learn the new expiry times. Vessels
// acquired close together are thus renewed together from then on. A renewal
// resets the lease to 7 days, so each vessel is renewed about once every
// 7 days minus the margin (6 days 22 hours by default) and never while more
// than 1.5 margins are left; a vessel with less than the margin left when
// Run starts is renewed at once, and a vessel fresh from an acquisition
// (4 hours) 4 hours minus the margin after it was acquired. Between
// renewals the keeper calls get_resource_info every check interval
// (WithCheckInterval) to notice losses early; nothing else is called.
//
// # Failures
//
// A call that fails with ErrCommunication or ErrInternal (or any other
// error except ErrAuthentication) is retried with exponential backoff
// (WithRetryBackoff). For a renewal the wait is also bounded by the lease:
// the retry is moved earlier whenever the backoff would end within the call
// timeout (WithCallTimeout) of the earliest expiry among the vessels due,
// and past that point the keeper keeps trying after half the time left (at
// most once a second, or once per minimum backoff if that is shorter) until
// the lease runs out. A renewal refused with
// ErrNotEnoughCredits (the account is over its credit limit, for instance
// because a donated node went offline) is reported as an EventError, sets
// KeeperSnapshot.OverCreditLimit, and is retried at the slowest backoff
// pace under the same bound: releasing vessels elsewhere or the donation
// coming back fixes it. ErrAuthentication is unrecoverable: Run returns it.
//
// # Guarantees
//
// While Run runs and the clearinghouse answers, no kept vessel expires: it
// is renewed while at least the margin is left, and a failed attempt never
// waits past the lease's end, so each failure leaves time for another
// attempt. Expiry times come from the lease time left that the
// clearinghouse reports (expires_in_seconds), counted from when the call
// was sent: a slow answer makes the keeper renew early, never late, and the
// two clocks need not agree on the time of day. A vessel that disappears
// from get_resource_info (expired, released elsewhere, its node gone) is
// reported exactly once as EventLost and is no longer kept; so is a handle
// given to NewKeeper that the account does not hold when Run starts.
//
// The keeper cannot keep a lease alive while the account is over its
// credit limit (the clearinghouse refuses every renewal until vessels are
// released or credits come back), nor when the clearinghouse is
// unreachable or failing for longer than the margin, nor while Run is not
// running or its machine is suspended (a timer may fire late after a
// suspend, while leases keep running out). It needs one successful
// get_resource_info to learn the expiry times before its first renewal.
// Renewals only ever reset a lease to 7 days; there is no way to make it
// longer. Run never releases vessels, not even when it returns.
//
// # Replacement
//
// With WithReplacement, vessels found lost are replaced by acquiring as
// many of the given type (all or nothing), reported as EventReplaced; a
// failed acquisition (ErrUnableToAcquire, ErrNotEnoughCredits, ...) is
// reported and retried with the backoff. After a communication failure the
// outcome of an acquisition is unknown: vessels a lost response acquired
// are not adopted (the keeper cannot tell them from the account's other
// vessels), count against the credits until they run out four hours later,
// and the keeper tries again after the backoff.
//
// A Keeper is safe for concurrent use: Snapshot and Events may be called
// from any goroutine while Run runs. Run starts no goroutine of its own.
type Keeper struct {
	client  *Client
	cfg     keeperConfig
	initErr error
	events  chan KeeperEvent
	started atomic.Bool

	mu           sync.Mutex
	kept         map[Handle]*keptState // guarded by mu
	target       int                   // guarded by mu
	renewals     int                   // guarded by mu
	lost         int                   // guarded by mu
	replaced     int                   // guarded by mu
	dropped      int                   // guarded by mu
	lastErr      error                 // guarded by mu
	lastErrAt    time.Time             // guarded by mu
	overLimit    bool                  // guarded by mu
	lastCheck    time.Time             // guarded by mu
	nextWake     time.Time             // guarded by mu
	renewRetryAt time.Time             // guarded by mu; no renewal before this
	running      bool                  // guarded by mu

	// Touched only by the goroutine in Run.
	nextCheck    time.Time // zero: no check planned
	replaceAt    time.Time
	checkFails   int
	renewFails   int
	replaceFails int
}

// keptState is a kept vessel as the keeper knows it.
type keptState struct {
	v     KeptVessel
	known bool // seen in get_resource_info (initial handles start unknown)
}

// KeptVessel is a vessel the keeper holds. Its ExpiresAt is computed with
// the keeper's clock, conservatively: from the moment the call that
// reported it was sent.
type KeptVessel struct {
	Vessel
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

// KeeperSnapshot is the keeper's state at one moment.
type KeeperSnapshot struct {
	// Vessels are the vessels kept, sorted by handle. Before the first
	// successful get_resource_info the handles given to NewKeeper appear
	// with only Handle set.
	Vessels []KeptVessel
	// Target is how many vessels the keeper tries to hold: the number of
	// distinct handles given to NewKeeper.
	Target int
	// Renewals counts successful renew_resources calls (each may cover
	// many vessels).
	Renewals int
	// Lost counts vessels reported by EventLost; Replaced counts vessels
	// acquired by EventReplaced.
	Lost     int
	Replaced int
	// LastError is the error of the most recent EventError, and
	// LastErrorTime when it happened; they are kept after a later success.
	LastError     error
	LastErrorTime time.Time
	// OverCreditLimit is true from a renewal refused with
	// ErrNotEnoughCredits until a renewal succeeds or nothing is left to
	// keep: while it holds, the kept vessels are running out.
	OverCreditLimit bool
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

// KeeperEventKind says what a KeeperEvent reports.
type KeeperEventKind int

// The kinds of KeeperEvent.
const (
	EventRenewed  KeeperEventKind = iota + 1 // Handles were renewed (one renew_resources call)
	EventLost                                // Handles are gone and no longer kept
	EventReplaced                            // Handles were acquired to replace lost vessels
	EventError                               // a call failed with Err; Retry says when it is tried again
)

// String returns "renewed", "lost", "replaced" or "error".
func (k KeeperEventKind) String() string {
	switch k {
	case EventRenewed:
		return "renewed"
	case EventLost:
		return "lost"
	case EventReplaced:
		return "replaced"
	case EventError:
		return "error"
	}
	return "KeeperEventKind(" + strconv.Itoa(int(k)) + ")"
}

// KeeperEvent is something the keeper did or found.
type KeeperEvent struct {
	Kind KeeperEventKind
	Time time.Time // on the keeper's clock
	// Handles are the vessels concerned: renewed, lost, acquired, or
	// those a failed renewal was for (none for other failures).
	Handles []Handle
	// Err is the failure of an EventError: a *Error (errors.Is works with
	// the sentinels, ErrNotEnoughCredits above all), or an error of the
	// keeper's own when a renewal succeeded but did not extend a lease.
	Err error
	// Retry is when the failed work of an EventError is tried again;
	// zero when Run is returning.
	Retry time.Time
}

// String describes the event in one line, such as "renewed 2 vessels".
func (e KeeperEvent) String() string {
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

// KeeperClock is the keeper's source of time: the system clock unless
// WithKeeperClock gives another (tests use a fake one).
type KeeperClock interface {
	Now() time.Time
	// NewTimer returns a timer that delivers the time on its channel once
	// d has passed.
	NewTimer(d time.Duration) KeeperTimer
}

// KeeperTimer is a timer made by a KeeperClock.
type KeeperTimer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

type systemClock struct{}

func (systemClock) Now() time.Time                       { return time.Now() }
func (systemClock) NewTimer(d time.Duration) KeeperTimer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }

type keeperConfig struct {
	margin        time.Duration
	checkInterval time.Duration
	retryMin      time.Duration
	retryMax      time.Duration
	callTimeout   time.Duration
	eventBuffer   int
	replacement   ResourceType
	clock         KeeperClock
}

// A KeeperOption configures a Keeper. An option given a bad value makes
// Run return an error matching ErrInvalidArgument.
type KeeperOption func(*keeperConfig) error

// WithRenewMargin renews vessels once less than d is left of their lease
// (DefaultRenewMargin by default). It must be positive and below the
// 7-day renewal lease; with d of 4 hours or more, freshly acquired vessels
// are renewed at once. A larger margin leaves more time to retry through
// an outage at the cost of slightly more frequent renewals.
func WithRenewMargin(d time.Duration) KeeperOption {
	return func(c *keeperConfig) error {
		if d <= 0 || d >= renewLease {
			return invalidArgument("renew margin " + d.String() + " must be positive and below 168h")
		}
		c.margin = d
		return nil
	}
}

// WithReplacement makes the keeper replace lost vessels by acquiring as
// many vessels of type typ (LAN, WAN, NAT or Random).
func WithReplacement(typ ResourceType) KeeperOption {
	return func(c *keeperConfig) error {
		switch typ {
		case LAN, WAN, NAT, Random:
		default:
			return invalidArgument("replacement type " + strconv.Quote(string(typ)) + ": want lan, wan, nat or random")
		}
		c.replacement = typ
		return nil
	}
}

// WithKeeperClock makes the keeper read time and wait through clock
// instead of the system clock; for tests.
func WithKeeperClock(clock KeeperClock) KeeperOption {
	return func(c *keeperConfig) error {
		if clock == nil {
			return invalidArgument("nil KeeperClock")
		}
		c.clock = clock
		return nil
	}
}

// WithRetryBackoff sets the exponential backoff after a failed call: the
// first retry waits min, each further one twice as long, up to max
// (DefaultRetryMin and DefaultRetryMax by default). Renewals refused for
// lack of credits are retried every max.
func WithRetryBackoff(min, max time.Duration) KeeperOption {
	return func(c *keeperConfig) error {
		if min <= 0 || max < min {
			return invalidArgument("retry backoff needs 0 < min <= max")
		}
		c.retryMin, c.retryMax = min, max
		return nil
	}
}

// WithEventBuffer sets the capacity of the Events channel
// (DefaultEventBuffer by default). With 0, an event is delivered only if a
// receiver is waiting at that moment.
func WithEventBuffer(n int) KeeperOption {
	return func(c *keeperConfig) error {
		if n < 0 {
			return invalidArgument("negative event buffer")
		}
		c.eventBuffer = n
		return nil
	}
}

// WithCheckInterval sets how often the keeper calls get_resource_info
// between renewals to notice lost vessels (DefaultCheckInterval by
// default). Zero turns the periodic check off: losses are then noticed
// around renewals only, up to a week late.
func WithCheckInterval(d time.Duration) KeeperOption {
	return func(c *keeperConfig) error {
		if d < 0 {
			return invalidArgument("negative check interval")
		}
		c.checkInterval = d
		return nil
	}
}

// WithCallTimeout bounds each call the keeper makes
// (DefaultKeeperCallTimeout by default), on top of the Client's own
// timeout; the same duration is kept in reserve before a lease runs out
// when retries are planned.
func WithCallTimeout(d time.Duration) KeeperOption {
	return func(c *keeperConfig) error {
		if d <= 0 {
			return invalidArgument("call timeout must be positive")
		}
		c.callTimeout = d
		return nil
	}
}

// NewKeeper returns a keeper for the given vessels of c's account.
// Duplicate and empty handles are ignored. It makes no call; an invalid
// option is reported by Run.
func NewKeeper(c *Client, handles []Handle, opts ...KeeperOption) *Keeper {
	cfg := keeperConfig{
		margin:        DefaultRenewMargin,
		checkInterval: DefaultCheckInterval,
		retryMin:      DefaultRetryMin,
		retryMax:      DefaultRetryMax,
		callTimeout:   DefaultKeeperCallTimeout,
		eventBuffer:   DefaultEventBuffer,
		clock:         systemClock{},
	}
	k := &Keeper{client: c, kept: make(map[Handle]*keptState)}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil && k.initErr == nil {
			k.initErr = err
		}
	}
	if c == nil && k.initErr == nil {
		k.initErr = invalidArgument("NewKeeper: nil *Client")
	}
	k.cfg = cfg
	k.events = make(chan KeeperEvent, cfg.eventBuffer)
	for _, h := range handles {
		if h != "" && k.kept[h] == nil {
			k.kept[h] = &keptState{v: KeptVessel{Vessel: Vessel{Handle: h}}}
		}
	}
	k.target = len(k.kept)
	return k
}

// Events returns the channel on which the keeper reports what it does. It
// is buffered (WithEventBuffer); when it is full, events are dropped and
// counted in KeeperSnapshot.DroppedEvents rather than holding the keeper
// up. It is closed when Run returns.
func (k *Keeper) Events() <-chan KeeperEvent { return k.events }

// Snapshot returns the keeper's current state. It may be called from any
// goroutine, before, during and after Run.
func (k *Keeper) Snapshot() KeeperSnapshot {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := KeeperSnapshot{
		Vessels:         make([]KeptVessel, 0, len(k.kept)),
		Target:          k.target,
		Renewals:        k.renewals,
		Lost:            k.lost,
		Replaced:        k.replaced,
		LastError:       k.lastErr,
		LastErrorTime:   k.lastErrAt,
		OverCreditLimit: k.overLimit,
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
		s.Vessels = append(s.Vessels, v)
	}
	slices.SortFunc(s.Vessels, func(a, b KeptVessel) int { return strings.Compare(string(a.Handle), string(b.Handle)) })
	return s
}

// nextRenewalLocked is when the next renewal attempt is planned: the
// earliest expiry of a known vessel minus the margin, or the pending retry
// if that is later.
func (k *Keeper) nextRenewalLocked() time.Time {
	var at time.Time
	for _, ks := range k.kept {
		if !ks.known {
			continue
		}
		if due := ks.v.ExpiresAt.Add(-k.cfg.margin); at.IsZero() || due.Before(at) {
			at = due
		}
	}
	if !at.IsZero() && k.renewRetryAt.After(at) {
		at = k.renewRetryAt
	}
	return at
}

// Run keeps the vessels until ctx is done, then returns nil. It returns
// early only with an unrecoverable error: ErrAuthentication from any call,
// or ErrInvalidArgument for a bad option or a second call of Run. Run
// returns promptly when ctx is cancelled, even in the middle of a call or a
// long wait, and leaves no goroutine behind; it closes the Events channel
// when it returns.
func (k *Keeper) Run(ctx context.Context) error {
	if !k.started.CompareAndSwap(false, true) {
		return invalidArgument("Keeper.Run called more than once")
	}
	defer close(k.events)
	if k.initErr != nil {
		return k.initErr
	}
	k.mu.Lock()
	k.running = true
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.running = false
		k.nextWake = time.Time{}
		k.mu.Unlock()
	}()

	k.nextCheck = k.cfg.clock.Now() // learn the vessels' state first
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

// step does whatever is due now. It returns an error only when Run must
// stop: an unrecoverable failure or the context's end.
func (k *Keeper) step(ctx context.Context) error {
	now := k.cfg.clock.Now()
	if k.checkDue(now) || k.renewDue(now) {
		if err := k.refresh(ctx); err != nil {
			return err
		}
	}
	if k.renewDue(k.cfg.clock.Now()) {
		if err := k.renew(ctx); err != nil {
			return err
		}
	}
	if k.replaceDue(k.cfg.clock.Now()) {
		if err := k.replace(ctx); err != nil {
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

// deficit is how many vessels replacement should acquire.
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
			earlier(k.cfg.clock.Now())
		} else {
			earlier(k.replaceAt)
		}
	}
	return at
}

// sleep waits until the keeper clock reaches at (forever if at is zero);
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
	d := at.Sub(k.cfg.clock.Now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := k.cfg.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// callContext bounds one call by the call timeout.
func (k *Keeper) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, k.cfg.callTimeout)
}

// backoff is the wait after the n-th consecutive failure (n >= 1).
func (k *Keeper) backoff(n int) time.Duration {
	d := k.cfg.retryMin
	for i := 1; i < n && d < k.cfg.retryMax; i++ {
		d *= 2
	}
	return min(d, k.cfg.retryMax)
}

// renewWait bounds the wait before retrying a renewal, decided at now, by
// the earliest expiry among the vessels it is for. While more than the
// call timeout is left beyond the backoff, the backoff stands; when it
// would end later than that, the retry moves to the last moment that still
// leaves the call timeout; past that moment the keeper tries again after
// half the time left, at most once a second (or once per minimum backoff
// if that is shorter), until the lease runs out.
func (k *Keeper) renewWait(now, expiry time.Time, backoff time.Duration) time.Duration {
	floor := min(k.cfg.retryMin, time.Second)
	left := expiry.Sub(now)
	if room := left - k.cfg.callTimeout; room >= floor {
		return min(backoff, room)
	}
	return max(min(backoff, left/2), floor)
}

// fatal reports whether err must end Run.
func fatal(err error) bool { return errors.Is(err, ErrAuthentication) }

// refresh learns the kept vessels' state from get_resource_info and
// reports those that are gone.
func (k *Keeper) refresh(ctx context.Context) error {
	sent := k.cfg.clock.Now()
	cctx, cancel := k.callContext(ctx)
	vs, err := k.client.GetResourceInfo(cctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fatal(err) {
			k.emitError(sent, nil, err, time.Time{})
			return err
		}
		k.checkFails++
		k.nextCheck = sent.Add(k.backoff(k.checkFails))
		k.emitError(sent, nil, err, k.nextCheck)
		return nil
	}
	k.checkFails = 0
	k.nextCheck = time.Time{}
	if k.cfg.checkInterval > 0 {
		k.nextCheck = sent.Add(k.cfg.checkInterval)
	}

	held := make(map[Handle]Vessel, len(vs))
	for _, v := range vs {
		held[v.Handle] = v
	}
	var lost []Handle
	k.mu.Lock()
	for h, ks := range k.kept {
		v, ok := held[h]
		if !ok {
			lost = append(lost, h)
			delete(k.kept, h)
			continue
		}
		v.ExpiresAt = sent.Add(v.ExpiresIn)
		ks.v.Vessel = v
		ks.known = true
	}
	k.lost += len(lost)
	k.lastCheck = sent
	if len(k.kept) == 0 {
		k.overLimit = false
		k.renewRetryAt = time.Time{}
	}
	k.mu.Unlock()
	if len(lost) > 0 {
		slices.Sort(lost)
		k.emit(KeeperEvent{Kind: EventLost, Time: sent, Handles: lost})
	}
	return nil
}

// renew renews, in one call, every kept vessel that is due or falls due
// within half a margin, then refreshes.
func (k *Keeper) renew(ctx context.Context) error {
	sent := k.cfg.clock.Now()
	horizon := sent.Add(k.cfg.margin + k.cfg.margin/2)
	var due []Handle
	var earliest time.Time
	k.mu.Lock()
	for h, ks := range k.kept {
		if ks.known && !ks.v.ExpiresAt.After(horizon) { // includes all renewDue saw
			due = append(due, h)
			if earliest.IsZero() || ks.v.ExpiresAt.Before(earliest) {
				earliest = ks.v.ExpiresAt
			}
		}
	}
	k.mu.Unlock()
	slices.Sort(due)
	if len(due) == 0 { // cannot happen: renewDue saw a due vessel
		k.mu.Lock()
		k.renewRetryAt = sent.Add(k.cfg.retryMin) // but never spin
		k.mu.Unlock()
		return nil
	}

	cctx, cancel := k.callContext(ctx)
	err := k.client.RenewResources(cctx, due)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fatal(err) {
			k.emitError(sent, due, err, time.Time{})
			return err
		}
		k.renewFails++
		wait := k.backoff(k.renewFails)
		credits := errors.Is(err, ErrNotEnoughCredits)
		if credits {
			wait = k.cfg.retryMax // only a change elsewhere helps: ask slowly
		}
		retry := sent.Add(k.renewWait(sent, earliest, wait))
		k.mu.Lock()
		k.renewRetryAt = retry
		if credits {
			k.overLimit = true
		}
		k.mu.Unlock()
		k.emitError(sent, due, err, retry)
		return nil
	}

	k.mu.Lock()
	k.renewals++
	k.overLimit = false
	for _, h := range due {
		if ks := k.kept[h]; ks != nil {
			ks.v.LastRenewed = sent
			ks.v.Renewals++
			// Until get_resource_info says otherwise: the lease now ends
			// 7 days after a moment no earlier than sent.
			ks.v.ExpiresAt = sent.Add(renewLease)
			ks.v.ExpiresIn = renewLease
		}
	}
	k.mu.Unlock()

	if err := k.refresh(ctx); err != nil {
		return err
	}

	var renewed, short []Handle
	k.mu.Lock()
	for _, h := range due {
		switch ks := k.kept[h]; {
		case ks == nil: // lost, and reported so by refresh
		case ks.v.ExpiresAt.Sub(sent) <= k.cfg.margin:
			short = append(short, h)
		default:
			renewed = append(renewed, h)
		}
	}
	k.mu.Unlock()
	if len(short) == 0 {
		k.renewFails = 0
		k.mu.Lock()
		k.renewRetryAt = time.Time{}
		k.mu.Unlock()
	} else {
		// The call succeeded but the leases did not grow (a server that
		// skipped them): retry with backoff rather than at once.
		k.renewFails++
		retry := sent.Add(k.renewWait(sent, earliest, k.backoff(k.renewFails)))
		k.mu.Lock()
		k.renewRetryAt = retry
		k.mu.Unlock()
		k.emitError(sent, short, fmt.Errorf("clearinghouse: keeper: renew_resources succeeded but %d vessel lease(s) still end within the margin", len(short)), retry)
	}
	if len(renewed) > 0 {
		k.emit(KeeperEvent{Kind: EventRenewed, Time: sent, Handles: renewed})
	}
	return nil
}

// replace acquires vessels to make up for lost ones.
func (k *Keeper) replace(ctx context.Context) error {
	n := k.deficit()
	sent := k.cfg.clock.Now()
	cctx, cancel := k.callContext(ctx)
	vs, err := k.client.AcquireResources(cctx, k.cfg.replacement, n)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fatal(err) {
			k.emitError(sent, nil, err, time.Time{})
			return err
		}
		k.replaceFails++
		k.replaceAt = sent.Add(k.backoff(k.replaceFails))
		k.emitError(sent, nil, err, k.replaceAt)
		return nil
	}
	added := make([]Handle, 0, len(vs))
	k.mu.Lock()
	for _, v := range vs {
		if k.kept[v.Handle] != nil {
			continue
		}
		v.ExpiresAt = sent.Add(v.ExpiresIn)
		k.kept[v.Handle] = &keptState{v: KeptVessel{Vessel: v, Replacement: true}, known: true}
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
		k.emit(KeeperEvent{Kind: EventReplaced, Time: sent, Handles: added})
	}
	return nil
}

func (k *Keeper) emitError(at time.Time, handles []Handle, err error, retry time.Time) {
	k.mu.Lock()
	k.lastErr = err
	k.lastErrAt = at
	k.mu.Unlock()
	k.emit(KeeperEvent{Kind: EventError, Time: at, Handles: handles, Err: err, Retry: retry})
}

// emit delivers ev if the buffer has room and counts it as dropped if not.
func (k *Keeper) emit(ev KeeperEvent) {
	select {
	case k.events <- ev:
	default:
		k.mu.Lock()
		k.dropped++
		k.mu.Unlock()
	}
}
