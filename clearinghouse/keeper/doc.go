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
//	err = k.Run(ctx) // until ctx ends
//
// # Schedule
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
// (WithCheckInterval) to notice losses early; nothing else is called.
//
// # Failures
//
// A call that fails with clearinghouse.ErrCommunication or ErrInternal (or
// any other error except ErrAuthentication) is retried with exponential
// backoff (WithBackoff). For a renewal the wait is also bounded by the
// lease: the retry is moved earlier whenever the backoff would end within
// the call timeout (WithCallTimeout) of the earliest expiry among the
// vessels due, and past that point the keeper keeps trying after half the
// time left (at most once a second, or once per minimum backoff if that is
// shorter) until the lease runs out. A renewal refused with
// ErrNotEnoughCredits (the account is over its credit limit, for instance
// because a donated node went offline) is reported as an EventError, sets
// Snapshot.OverCreditLimit, and is retried at the slowest backoff pace
// under the same bound: releasing vessels elsewhere or the donation coming
// back fixes it. ErrAuthentication is unrecoverable: Run returns it.
//
// # Guarantees
//
// While Run runs and the clearinghouse answers, no kept vessel expires: it
// is renewed while at least the margin is left, and a failed attempt never
// waits past the lease's end, so each failure leaves time for another
// attempt. Expiry times come from the lease time left that the
// clearinghouse reports (expires_in_seconds), counted from when the call
// was sent: a slow answer makes the keeper renew early, never late, and
// the two clocks need not agree on the time of day. A vessel that
// disappears from get_resource_info (expired, released elsewhere, its node
// gone) is reported exactly once as EventLost and is no longer kept; so is
// a handle given to New that the account does not hold when Run starts.
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
// reported and retried with the backoff. The keeper acquires only right
// after a successful get_resource_info (it makes one first if it has not
// just looked), and remembers what the account held then. When an
// acquisition fails without a fault from the clearinghouse (a reset, a
// timeout, an HTTP error, an answer cut short), it may have been applied
// with its answer lost: the keeper then acquires nothing more until
// get_resource_info succeeds again, and if exactly as many vessels as it
// asked for have appeared since, it keeps them as the replacements
// (EventReplaced) instead of acquiring again. If a different number has
// appeared, another program acquired for the account meanwhile and the
// keeper cannot tell which are its own: it adopts none, reports them in
// an EventError, and acquires again; vessels its lost answer acquired
// then run out four hours later. The keeper assumes no other program
// acquires vessels of the account in the moment between its look and its
// acquisition.
//
// # Errors
//
// New's errors, and Run's for a second call, match
// clearinghouse.ErrInvalidArgument and start with "keeper: ". Every other
// error the keeper reports, in an Event or from Run, is the
// *clearinghouse.Error of the call that failed, except the keeper's own
// reports, which start with "keeper: ", of a renewal that succeeded
// without extending a lease and of vessels it could not attribute after
// an acquisition whose answer was lost.
package keeper
