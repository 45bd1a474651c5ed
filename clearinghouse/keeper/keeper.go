package keeper

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
// start it with Run, and watch it through Events and Snapshot. The package
// documentation describes its schedule, how it handles failures and what
// it guarantees.
//
// A Keeper is safe for concurrent use: Snapshot and Events may be called
// from any goroutine while Run runs. Run starts no goroutine of its own.
type Keeper struct {
	client  *clearinghouse.Client
	cfg     config
	events  chan Event
	started atomic.Bool

	mu           sync.Mutex
	kept         map[clearinghouse.Handle]*keptState // guarded by mu
	target       int                                 // guarded by mu
	renewals     int                                 // guarded by mu
	lost         int                                 // guarded by mu
	replaced     int                                 // guarded by mu
	dropped      int                                 // guarded by mu
	lastErr      error                               // guarded by mu
	lastErrAt    time.Time                           // guarded by mu
	overLimit    bool                                // guarded by mu
	lastCheck    time.Time                           // guarded by mu
	nextWake     time.Time                           // guarded by mu
	renewRetryAt time.Time                           // guarded by mu; no renewal before this
	running      bool                                // guarded by mu

	// Touched only by the goroutine in Run.
	nextCheck    time.Time // zero: no check planned
	replaceAt    time.Time
	checkFails   int
	renewFails   int
	replaceFails int
	lookTries    int            // get_resource_info calls
	looks        int            // and those that succeeded
	holdings     holdings       // everything the account held at the last of them
	unsure       *unsureAcquire // an acquisition whose answer was lost, if any
}

// holdings is what get_resource_info reported the account to hold, by
// handle. A refresh makes a new one, so an older one stays as it was.
type holdings map[clearinghouse.Handle]clearinghouse.Vessel

// unsureAcquire is an acquisition whose outcome the keeper does not know:
// the call failed without an answer from the clearinghouse (a reset, a
// timeout, an HTTP error, an answer cut short), so the vessels may have
// been acquired. The next successful get_resource_info settles it.
type unsureAcquire struct {
	before holdings // the account's holdings when it was sent
	n      int      // vessels asked for
}

// keptState is a kept vessel as the keeper knows it.
type keptState struct {
	v     Vessel
	known bool // seen in get_resource_info (initial handles start unknown)
}

// Vessel is a vessel the keeper holds. Its ExpiresAt is computed
// conservatively: from the moment the call that reported it was sent.
type Vessel struct {
	clearinghouse.Vessel
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
	// Vessels are the vessels kept, sorted by handle. Before the first
	// successful get_resource_info the handles given to New appear with
	// only Handle set.
	Vessels []Vessel
	// Target is how many vessels the keeper tries to hold: the number of
	// distinct handles given to New.
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

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event.
const (
	EventRenewed  EventKind = iota + 1 // Handles were renewed (one renew_resources call)
	EventLost                          // Handles are gone and no longer kept
	EventReplaced                      // Handles were acquired to replace lost vessels
	EventError                         // a call failed with Err; Retry says when it is tried again
)

// String returns "renewed", "lost", "replaced" or "error".
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
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is something the keeper did or found.
type Event struct {
	Kind EventKind
	Time time.Time // when the call that found it was sent
	// Handles are the vessels concerned: renewed, lost, acquired, those
	// a failed renewal was for, or those the keeper could not attribute
	// after an acquisition whose answer was lost (none for other
	// failures).
	Handles []clearinghouse.Handle
	// Err is the failure of an EventError: a *clearinghouse.Error
	// (errors.Is works with its sentinels, clearinghouse.ErrNotEnoughCredits
	// above all), or an error of the keeper's own, starting "keeper: ",
	// when a renewal succeeded but did not extend a lease, or when vessels
	// appeared that it could not attribute after an acquisition whose
	// answer was lost (see the package documentation, Replacement).
	Err error
	// Retry is when the failed work of an EventError is tried again;
	// zero when Run is returning.
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
}

// An Option configures a Keeper. Options check their arguments; New
// returns the first error. Make one with the With functions: the zero
// Option is an error.
type Option struct {
	apply func(*config) error
}

// WithRenewMargin renews vessels once less than d is left of their lease
// (DefaultRenewMargin by default). It must be positive and below the
// 7-day renewal lease; with d of 4 hours or more, freshly acquired vessels
// are renewed at once. A larger margin leaves more time to retry through
// an outage at the cost of slightly more frequent renewals.
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
// default). Zero turns the periodic check off: losses are then noticed
// around renewals only, up to a week late.
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
	}
	for _, opt := range opts {
		if opt.apply == nil {
			return nil, invalidArgument("zero Option")
		}
		if err := opt.apply(&cfg); err != nil {
			return nil, err
		}
	}
	k := &Keeper{client: c, cfg: cfg, kept: make(map[clearinghouse.Handle]*keptState)}
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
	k.mu.Lock()
	defer k.mu.Unlock()
	s := Snapshot{
		Vessels:         make([]Vessel, 0, len(k.kept)),
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
	slices.SortFunc(s.Vessels, func(a, b Vessel) int { return strings.Compare(string(a.Handle), string(b.Handle)) })
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
// early only with an unrecoverable error: clearinghouse.ErrAuthentication
// from any call, or clearinghouse.ErrInvalidArgument for a second call of
// Run. Run returns promptly when ctx is cancelled, even in the middle of a
// call or a long wait, and leaves no goroutine behind; it closes the
// Events channel when it returns.
func (k *Keeper) Run(ctx context.Context) error {
	if !k.started.CompareAndSwap(false, true) {
		return invalidArgument("Run called more than once")
	}
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

// refresh learns the kept vessels' state from get_resource_info and
// reports those that are gone.
func (k *Keeper) refresh(ctx context.Context) error {
	sent := time.Now()
	k.lookTries++
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

	held := make(holdings, len(vs))
	for _, v := range vs {
		held[v.Handle] = v
	}
	k.looks++
	k.holdings = held
	var lost []clearinghouse.Handle
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
		k.emit(Event{Kind: EventLost, Time: sent, Handles: lost})
	}
	if u := k.unsure; u != nil {
		k.unsure = nil
		k.settle(u, held, sent)
	}
	return nil
}

// settle decides, from the account's holdings seen at sent, what an
// acquisition whose answer was lost did. Acquisitions are all or
// nothing: if exactly as many vessels as it asked for have appeared since
// it was sent, they are its own and the keeper keeps them; if none have,
// it was not applied. Any other number means another program acquired
// for the account meanwhile; the keeper cannot tell which vessels are
// its own, adopts none and reports it.
func (k *Keeper) settle(u *unsureAcquire, held holdings, sent time.Time) {
	var fresh []clearinghouse.Handle
	k.mu.Lock()
	for h := range held {
		if _, had := u.before[h]; !had && k.kept[h] == nil {
			fresh = append(fresh, h)
		}
	}
	slices.Sort(fresh)
	adopt := len(fresh) == u.n && len(k.kept)+len(fresh) <= k.target
	if adopt {
		for _, h := range fresh {
			v := held[h]
			v.ExpiresAt = sent.Add(v.ExpiresIn)
			k.kept[h] = &keptState{v: Vessel{Vessel: v, Replacement: true}, known: true}
		}
		k.replaced += len(fresh)
	}
	k.mu.Unlock()
	switch {
	case len(fresh) == 0:
	case adopt:
		k.replaceFails = 0
		k.replaceAt = time.Time{}
		k.emit(Event{Kind: EventReplaced, Time: sent, Handles: fresh})
	default:
		retry := sent // the acquisition goes ahead as soon as replacement is due
		if k.replaceAt.After(sent) {
			retry = k.replaceAt
		}
		k.emitError(sent, fresh, fmt.Errorf("keeper: %d vessel(s) appeared after an acquisition of %d whose answer was lost; "+
			"not adopted, since another program must have acquired some of them", len(fresh), u.n), retry)
	}
}

// renew renews, in one call, every kept vessel that is due or falls due
// within half a margin, then refreshes.
func (k *Keeper) renew(ctx context.Context) error {
	sent := time.Now()
	horizon := sent.Add(k.cfg.margin + k.cfg.margin/2)
	var due []clearinghouse.Handle
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
		k.renewRetryAt = sent.Add(k.cfg.backoffMin) // but never spin
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
		credits := errors.Is(err, clearinghouse.ErrNotEnoughCredits)
		if credits {
			wait = k.cfg.backoffMax // only a change elsewhere helps: ask slowly
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

	var renewed, short []clearinghouse.Handle
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
		k.emitError(sent, short, fmt.Errorf("keeper: renew_resources succeeded but %d vessel lease(s) still end within the margin", len(short)), retry)
	}
	if len(renewed) > 0 {
		k.emit(Event{Kind: EventRenewed, Time: sent, Handles: renewed})
	}
	return nil
}

// replace acquires vessels to make up for lost ones. It needs a look at
// the account's holdings in the same step: the look settles an earlier
// acquisition whose answer was lost, and is what the outcome of this one
// is judged against if its answer is lost too. tried and looked say
// whether the step has called get_resource_info and whether a call
// succeeded; if none was made, replace makes one; if it failed, the
// acquisition waits for the next look, which refresh has planned.
func (k *Keeper) replace(ctx context.Context, tried, looked bool) error {
	if !looked && !tried {
		looks := k.looks
		if err := k.refresh(ctx); err != nil {
			return err
		}
		looked = k.looks > looks
	}
	if !looked {
		k.replaceAt = k.nextCheck
		return nil
	}
	n := k.deficit()
	if n <= 0 { // settled: the lost answer's vessels were adopted
		return nil
	}
	before := k.holdings
	sent := time.Now()
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
		v.ExpiresAt = sent.Add(v.ExpiresIn)
		k.kept[v.Handle] = &keptState{v: Vessel{Vessel: v, Replacement: true}, known: true}
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
