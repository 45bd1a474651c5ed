// Package keeper keeps leased Seattle vessels alive for as long as an
// experiment runs. Vessels expire 4 hours after acquisition, and
// renew_resources resets a lease to 7 days from the moment of the call
// (contract §9); a Keeper renews a set of vessels before they expire (one
// call for all that are due), retries transient failures without letting
// a lease run out, reports vessels that are gone and can acquire
// replacements. It works through a *clearinghouse.Client and uses nothing
// but its exported methods:
//
//	k, err := keeper.New(client, clearinghouse.Handles(vessels),
//		keeper.WithReplacement(clearinghouse.WAN))
//	if err != nil {
//		return err
//	}
//	go func() {
//		for ev := range k.Events() { // closed when Run returns
//			log.Println(ev)
//		}
//	}()
//	err = k.Run(ctx)       // until ctx ends
//	err = k.Verify(ctx2)   // look once more before reporting what is held
//
// # Schedule
//
// Lease times are those of the clearinghouse's clock, which need not run
// at the pace of the keeper's (a mock may run it up to 1000 times as
// fast): the margin and the check interval are durations of that clock,
// and the keeper converts them into waits of its own with the clock rate
// it measures (see Clocks).
//
// A vessel falls due when less than the renew margin (WithRenewMargin,
// DefaultRenewMargin) is left of its lease. When the first kept vessel
// falls due the keeper calls get_resource_info (another program may have
// renewed or released it), then renews with a single renew_resources call
// every vessel that is due or falls due within the next half margin, and
// calls get_resource_info again to learn the new expiry times. Vessels
// acquired close together are thus renewed together from then on. A
// renewal resets the lease to 7 days, so each vessel is renewed about once
// every 7 days minus the margin (6 days 22 hours by default) and never
// while more than 1.5 margins are left; a vessel with less than the margin
// left when Run starts is renewed at once, and a vessel fresh from an
// acquisition (4 hours) 4 hours minus the margin after it was acquired.
// Between renewals the keeper calls get_resource_info every check interval
// (WithCheckInterval), at least 50 ms apart on its own clock, to notice
// losses early, and again at once when a vessel is missing from an answer
// (see Losses); nothing else is called.
//
// # Clocks
//
// get_resource_info reports each lease's time left in whole seconds of
// the clearinghouse's clock (expires_in_seconds, rounded down). Two
// reports of the same lease, made Δ seconds apart on the keeper's clock,
// whose values fell by δ, prove that the clearinghouse's clock ran more
// than δ-1 and less than δ+1 seconds while the keeper's ran between the
// shortest and the longest span the two calls allow (each reading was
// taken somewhere between the call's sending and its answer): bounds on
// the rate, loose when Δ is short, tight when it is long. The keeper
// measures each lease from the first report after it last grew (a
// renewal, the keeper's or another program's, resets it, so the
// measurement starts anew) and keeps the tightest bounds all its leases
// give. It schedules by the upper bound, the fastest rate it cannot rule
// out, and never by less than 1: every wait is computed so that even at
// that rate the margin is still left when it ends. Before its second look
// it has no bound, and assumes DefaultMaxClockRate (1000, the fastest the
// mock runs; WithMaxClockRate changes it): its first periodic check then
// comes 0.9 s after its first look by default, and each look after that
// narrows the bounds, so that the checks soon follow the check interval
// of the clearinghouse's clock (every 15 minutes at real time, every 0.9 s
// at 1000 times). Snapshot.ClockRate is the rate it schedules by.
//
// The bounds hold while the clock keeps one pace. When a report proves
// the clock faster than they allow (it sped up, or was set ahead), or no
// lease fits them any more (it slowed down), the keeper forgets them,
// schedules by the assumed rate again, which makes it look sooner, and
// measures anew. A change of pace is seen only at the next look: a clock
// that speeds up while the keeper waits can run a lease out first. A lease
// another program renews between two looks only seems to slow the clock;
// the keeper leaves out a lease whose bounds do not fit the others'.
//
// The keeper handles clocks up to DefaultMaxClockRate with its default
// options. What bounds it is the margin in real time: at 1000 times real
// time the default 2-hour margin is 7.2 s of the keeper's clock, in which
// a look and a renewal must be answered, and a fresh 4-hour lease is 14.4
// s (Run looks at once when it starts). That is ample for calls that take
// milliseconds to a few tenths of a second, but a single call that hangs
// for longer than the margin's real time can lose a lease: the call
// timeout (DefaultCallTimeout, a minute) is far longer. It follows a
// clock measured faster than the assumed rate all the same, but the
// margin shrinks in proportion; for faster clocks raise WithRenewMargin,
// and WithMaxClockRate so that the first look's schedule holds too.
//
// # Failures
//
// A call that fails with clearinghouse.ErrCommunication or ErrInternal (or
// any other error except ErrAuthentication) is retried with exponential
// backoff (WithBackoff), on the keeper's clock. For a renewal the wait is
// also bounded by the lease: the retry is moved earlier whenever the
// backoff would end within the call timeout (WithCallTimeout) of the
// earliest expiry among the vessels due, and past that point the keeper
// keeps trying after half the time left (at most once a second, or once
// per minimum backoff if that is shorter) until the lease runs out. A
// renewal refused with ErrNotEnoughCredits (the account is over its
// credit limit, for instance because a donated node went offline) is
// reported as an EventError, sets Snapshot.OverCreditLimit, and is retried
// at the slowest backoff pace under the same bound: releasing vessels
// elsewhere or the donation coming back fixes it. ErrAuthentication is
// unrecoverable: Run returns it.
//
// # Losses
//
// One listing without a vessel is not a loss: a proxy or a flaky front
// end may leave an entry out. A kept vessel missing from a
// get_resource_info answer is looked for again at once with a second call;
// only a vessel missing from two successful answers in a row is lost,
// reported exactly once as EventLost and no longer kept (so is a handle
// given to New that the account does not hold when Run starts). If the
// second call fails, the vessel stays kept, is looked for at the next look
// (planned within the minimum backoff), and counts as kept: it is not
// replaced meanwhile. Without replacement, a vessel reported lost that a
// later answer lists again is kept again (EventFound). With replacement,
// lost vessels are released before their replacements are acquired
// (Replacement), so they cannot come back; should one be listed again all
// the same (its release failed when Run stopped, say), it is kept again
// if the keeper holds fewer than its target, and otherwise reported once
// (an EventError) and left alone.
//
// # Guarantees
//
// While Run runs and the clearinghouse answers, no kept vessel expires,
// as long as the clearinghouse's clock keeps a steady pace that the
// keeper's schedule allows for (Clocks): each vessel is renewed while at
// least the margin is left, and a failed attempt never waits past the
// lease's end, so each failure leaves time for another attempt. Expiry
// times come from the lease time left that the clearinghouse reports,
// counted from when the call was sent, at the fastest rate the clock may
// run: a slow answer or a loose measurement makes the keeper renew early,
// never late, and the two clocks need not agree on the time of day.
//
// The keeper cannot keep a lease alive while the account is over its
// credit limit (the clearinghouse refuses every renewal until vessels are
// released or credits come back), nor when the clearinghouse is
// unreachable or failing for longer than the margin, nor while Run is not
// running or its machine is suspended (a timer may fire late after a
// suspend, while leases keep running out). It needs one successful
// get_resource_info to learn the expiry times before its first renewal.
// Renewals only ever reset a lease to 7 days; there is no way to make it
// longer. Run never releases a vessel it keeps, not even when it returns;
// with WithReplacement it releases the vessels it has declared lost, and
// only those (Replacement).
//
// # What the keeper claims
//
// The keeper claims only what the clearinghouse has shown it.
// EventRenewed is sent once a get_resource_info answer after the renewal
// shows the leases grown (renew_resources answers 0 even for a vessel
// the account no longer holds), with the time the renewal was sent.
// Vessel.Held is true only for a vessel the latest successful answer
// listed, with no renewal of the keeper's since, whose lease has not run
// out since by the keeper's conservative estimate. When Run returns,
// Verify looks once more (a second time if a vessel is missing), so that
// a program can report as kept exactly what the clearinghouse lists then
// and the rest as unknown, as the command-line client's keep does.
//
// # Replacement
//
// With WithReplacement, vessels found lost are replaced by acquiring as
// many of the given type (all or nothing), reported as EventReplaced; a
// failed acquisition (ErrUnableToAcquire, ErrNotEnoughCredits, ...) is
// reported and retried with the backoff. A vessel missing from one
// answer is not replaced: the keeper never acquires while it is not sure
// a vessel is lost, and never holds more than its target because of a
// replacement of its own. Two answers in a row can still hide a vessel
// the account holds (a proxy that drops the same entry twice): before it
// acquires, the keeper releases the vessels it declared lost, in one
// release_resources call (releasing a vessel the account no longer holds
// does nothing). Until that call succeeds nothing is acquired; a call
// whose outcome is unknown is retried with the backoff, and a list the
// clearinghouse refuses as invalid is released one handle at a time, a
// handle refused on its own naming no vessel the account could hold.
// The keeper acquires only right after a
// successful get_resource_info (it makes one first if it has not just
// looked), and remembers what the account held then. When an acquisition
// fails without a fault from the clearinghouse (a reset, a timeout, an
// HTTP error, an answer cut short), it may have been applied with its
// answer lost: the keeper then acquires nothing more until two
// get_resource_info calls have succeeded (a vessel may be missing from
// one), and if exactly as many vessels as it asked for have appeared in
// them since, it keeps them as the replacements (EventReplaced) instead
// of acquiring again. If a different number has appeared, another program
// acquired for the account meanwhile and the keeper cannot tell which are
// its own: it adopts none, reports them in an EventError, and acquires
// again; vessels its lost answer acquired then run out four hours later.
// The keeper assumes no other program acquires vessels of the account in
// the moment between its look and its acquisition.
//
// # Errors
//
// New's errors, Run's for a second call and Verify's while Run runs match
// clearinghouse.ErrInvalidArgument and start with "keeper: ". Every other
// error the keeper reports, in an Event or from Run or Verify, is the
// *clearinghouse.Error of the call that failed, except the keeper's own
// reports, which start with "keeper: ", of a renewal that succeeded
// without extending a lease, of vessels it could not attribute after an
// acquisition whose answer was lost, and of lost vessels listed again
// when their replacements fill the target.
package keeper
