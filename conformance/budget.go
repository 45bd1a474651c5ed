package conformance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"

	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// Vessel bookkeeping. The budget (Target.AllowAcquire) is a promise to
// the operator about their credits: the suite never holds more vessels
// than it allows, at any instant, whatever the server or the network
// does. So:
//
//   - every call that may give vessels claims budget first (claim): as
//     many as it asks for, and at least 1 for an acquire_resources call
//     with the account's own credentials, whatever its rspec, since a
//     lenient server may read any rspec as a request;
//   - every vessel an answer carries goes into the ledger (own), and only
//     vessels of the ledger are ever released;
//   - an answer that is lost (a reset, a truncated body, a timeout, the
//     run stopping mid-call) leaves the outcome unknown: before going on,
//     the suite looks (get_resource_info) and adopts every vessel that
//     appeared, counting it against the budget and releasing it later.
//     If it cannot look, it acquires nothing more in the run, and looks
//     again at cleanup;
//   - the vessels an account held before the run (its baseline) are never
//     counted, adopted or released.
//
// The bound is on what the suite asks for: a server that hands out more
// than it was asked (5 vessels for a request of 1), or acts on a call
// whose credentials are wrong, can exceed it. The suite then releases the
// excess at once and fails the check.

// acquiringMethod reports whether a call of method may give vessels.
func acquiringMethod(method string) bool {
	return method == "acquire_resources" || method == "acquire_specific_vessels"
}

// claim reserves n vessels of budget for one call that may acquire for a,
// and returns the function that gives the claim back once the call's
// outcome is settled (owned, adopted, or known to be nothing). It ends
// the check: skipped when the run acquires no more vessels, or none for
// an account the suite could not list before the run; failed when n more
// would exceed the budget (checks declare what they hold, so that points
// to a suite bug).
func (s *session) claim(t T, a *acct, n int) (done func()) {
	t.Helper()
	if n <= 0 {
		return func() {}
	}
	s.mu.Lock()
	why := s.noAcquire
	if why == "" && a != nil {
		why = s.unlisted[a]
	}
	held := s.heldLocked() + s.pending
	ok := why == "" && held+n <= s.budget
	if ok {
		s.pending += n
	}
	s.mu.Unlock()
	switch {
	case why != "":
		s.skipf(t, "not run: %s", why)
	case !ok:
		s.fatalf(t, "conformance: holding %d vessels, a call that may take %d more would exceed the budget of %d (%s)", held, n, s.budget, EnvAllowAcquire)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.pending -= n
			s.mu.Unlock()
		})
	}
}

// heldCount is how many vessels the ledger holds, over all accounts.
func (s *session) heldCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heldLocked()
}

func (s *session) heldLocked() int {
	n := 0
	for _, hs := range s.ledger {
		n += len(hs)
	}
	return n
}

// own records handles an answer gave a: they are the suite's now, even
// one a was said to hold before the run (it was released and taken
// again).
func (s *session) own(a *acct, handles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range handles {
		if !contains(s.ledger[a], h) {
			s.ledger[a] = append(s.ledger[a], h)
		}
		delete(s.baseline[a], h)
	}
}

// disown forgets handles a no longer holds.
func (s *session) disown(a *acct, handles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.ledger[a][:0]
	for _, h := range s.ledger[a] {
		if !contains(handles, h) {
			kept = append(kept, h)
		}
	}
	if len(kept) == 0 {
		delete(s.ledger, a)
	} else {
		s.ledger[a] = kept
	}
}

// owned returns those of handles that are in a's ledger.
func (s *session) owned(a *acct, handles []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, h := range handles {
		if contains(s.ledger[a], h) && !contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func contains(list []string, x string) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// stopAcquiring makes every later claim skip its check, for why.
func (s *session) stopAcquiring(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noAcquire == "" {
		s.noAcquire = why
	}
}

// markUnsure notes that a may hold vessels the suite has not seen: no
// more are acquired in the run, and the cleanup looks.
func (s *session) markUnsure(a *acct, why string) {
	s.stopAcquiring(why)
	s.mu.Lock()
	s.unsure[a] = true
	s.mu.Unlock()
}

// snapshot notes the vessels each of the target's accounts holds before
// the run: they are never the suite's. An account it cannot list has no
// baseline: the suite never adopts a vessel of it, and acquires none for
// it (it could not tell its vessels from the account's own). When the
// target does not answer at all, it returns why.
func (s *session) snapshot() error {
	s.mu.Lock()
	accounts := append([]*acct(nil), s.accounts...)
	s.mu.Unlock()
	for _, a := range accounts {
		ctx, cancel := s.callCtx()
		listed, err := s.list(ctx, a)
		cancel()
		if err != nil {
			if h := s.haltErr(); h != nil {
				return fmt.Errorf("conformance: %v", h)
			}
			s.mu.Lock()
			s.unlisted[a] = fmt.Sprintf("listing the vessels %s held before the run failed (%v), so the suite acquires none for it: it could not tell them from its own", a.name, err)
			s.mu.Unlock()
			continue
		}
		set := map[string]bool{}
		for _, h := range listed {
			set[h] = true
		}
		s.mu.Lock()
		s.baseline[a] = set
		s.mu.Unlock()
	}
	return nil
}

// list returns the handles get_resource_info lists for a, which must be
// a list of infodicts carrying them all.
func (s *session) list(ctx context.Context, a *acct) ([]string, error) {
	var res any
	if err := s.client().Call(ctx, "get_resource_info", &res, s.auth(a)); err != nil {
		return nil, err
	}
	hs, whole := handlesIn(res)
	if !whole {
		return nil, errors.New("conformance: get_resource_info: the result is not a list of infodicts with handles")
	}
	return hs, nil
}

// look lists a's vessels. With adopt, every one that is neither in the
// ledger nor in a's baseline goes into the ledger: it appeared after the
// suite's own acquisitions, whose answers were lost. A baseline vessel
// missing from a listing stays in the baseline: a listing may leave an
// entry out (a proxy, a flaky front end), and a vessel the account held
// before the run must never become the suite's to release. Only an
// answer of the suite's own acquisitions takes a vessel out of it (own).
func (s *session) look(ctx context.Context, a *acct, adopt bool) (listed, adopted []string, err error) {
	listed, err = s.list(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	base, known := s.baseline[a]
	if !adopt || !known {
		// Without a baseline the suite cannot tell its vessels from the
		// account's own: it adopts none.
		return listed, nil, nil
	}
	for _, h := range listed {
		if !base[h] && !contains(s.ledger[a], h) {
			s.ledger[a] = append(s.ledger[a], h)
			adopted = append(adopted, h)
		}
	}
	delete(s.unsure, a)
	return listed, adopted, nil
}

// asked is how many vessels of budget a call that may acquire claims when
// the check does not say: for acquire_resources with the account's own
// credentials what its rspec asks for, at least 1; for
// acquire_specific_vessels with them, one per distinct string in its list;
// nothing for a call whose credentials are not an account's.
func asked(method string, args []any, authentic bool) int {
	if !authentic || len(args) < 2 {
		if authentic && method == "acquire_resources" {
			return 1
		}
		return 0
	}
	if method == "acquire_resources" {
		return rspecCount(args[1])
	}
	list, _ := args[1].([]any)
	var seen []string
	for _, el := range list {
		if h, ok := el.(string); ok && !contains(seen, h) {
			seen = append(seen, h)
		}
	}
	return len(seen)
}

// rspecCount is how many vessels an rspec asks for, read as leniently as
// any server might: its number_of_nodes as a whole number, and 1 when it
// names none.
func rspecCount(rspec any) int {
	m, _ := rspec.(map[string]any)
	n := int64(1)
	switch v := m["number_of_nodes"].(type) {
	case int64:
		n = v
	case int:
		n = int64(v)
	case float64:
		if v >= 1 && v <= math.MaxInt32 {
			n = int64(v)
		}
	case string:
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			n = i
		}
	}
	return int(min(max(n, 1), math.MaxInt32))
}

// acquiring makes one call that may give vessels (acquire_resources or
// acquire_specific_vessels) with the bookkeeping the budget needs: it
// claims mayTake vessels of budget, settles the outcome, and when the
// call must fail (expectFault) gives back at once what a wrong success
// gave.
func (s *session) acquiring(t T, method string, args []any, mayTake int, expectFault bool) (any, error) {
	t.Helper()
	a, _ := s.accountIn(args)
	done := s.claim(t, a, mayTake)
	defer done()
	var res any
	err := s.client().Call(s.ctx(t), method, &res, args...)
	t.record().noteFault(method, err)
	hs, whole := handlesIn(res)
	what := describeCall(method, args)
	s.settle(t, a, what, hs, err, err == nil && whole || isFault(err))
	if err == nil && expectFault && a != nil {
		s.giveBack(t, a, what, hs)
	}
	s.stopCheck(t, err)
	return res, err
}

// accountIn returns the suite's account an auth struct (args[0]) names,
// or nil, and whether it carries that account's API key.
func (s *session) accountIn(args []any) (*acct, bool) {
	if len(args) == 0 {
		return nil, false
	}
	m, _ := args[0].(map[string]any)
	name, ok := m["username"].(string)
	if !ok {
		return nil, false
	}
	key, _ := m["api_key"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		if a.name == name {
			return a, key == a.apiKey
		}
	}
	return nil, false
}

// describeCall names a call in messages: "acquire_resources(random, 1)".
func describeCall(method string, args []any) string {
	if method != "acquire_resources" || len(args) < 2 {
		return method
	}
	m, _ := args[1].(map[string]any)
	typ, okType := m["rspec_type"]
	n, okN := m["number_of_nodes"]
	if !okType || !okN {
		return method
	}
	return fmt.Sprintf("%s(%v, %v)", method, typ, n)
}

// isFault reports whether err is an answer: an XML-RPC fault, after
// which nothing changed.
func isFault(err error) bool {
	var f *xmlrpc.Fault
	return errors.As(err, &f)
}

// settle records the outcome of a call that may have given a vessels:
// the handles its answer carried are the suite's (even from a partial
// answer); when the outcome is not known, the suite looks. what names
// the call in messages; a is nil for a call naming none of the suite's
// accounts.
func (s *session) settle(t T, a *acct, what string, hs []string, err error, known bool) {
	t.Helper()
	if a != nil && len(hs) > 0 {
		s.took(t, a, what, hs)
	}
	if known {
		return
	}
	cause := "a result the suite could not read as infodicts"
	if err != nil {
		cause = err.Error()
	}
	if a == nil {
		s.logf(t, "%s: the answer was lost (%s); the call names none of the suite's accounts, so there is nothing to look at", what, cause)
		return
	}
	s.lost(t, a, what, cause)
}

// took puts handles an answer gave a into the ledger; past the budget (a
// server that gave more than asked), it releases them at once.
func (s *session) took(t T, a *acct, what string, hs []string) {
	t.Helper()
	s.own(a, hs...)
	if held := s.heldCount(); held > s.budget {
		s.errorf(t, "%s: the target handed out %s, more than the suite asked for: %d held, over the budget of %d; releasing them at once",
			what, vessels(len(hs)), held, s.budget)
		s.releaseNow(t, a, hs)
	}
}

// lost handles a call for a whose answer was lost: the suite looks at
// a's vessels before it goes on, and adopts those that appeared. If it
// cannot look, it acquires nothing more, and the cleanup looks again.
func (s *session) lost(t T, a *acct, what, cause string) {
	t.Helper()
	if s.stopping() {
		s.markUnsure(a, fmt.Sprintf("the answer to %s was lost as the run stopped", what))
		s.logf(t, "%s: the answer was lost (%s) as the run stopped; the cleanup looks at the vessels of %s and releases any that appeared",
			what, cause, a.name)
		return
	}
	ctx, cancel := s.callCtx()
	_, adopted, err := s.look(ctx, a, true)
	cancel()
	if err != nil && s.stopping() {
		s.markUnsure(a, fmt.Sprintf("the answer to %s was lost as the run stopped", what))
		s.logf(t, "%s: the answer was lost (%s), and the run stopped while the suite looked; the cleanup looks at the vessels of %s and releases any that appeared",
			what, cause, a.name)
		return
	}
	if err != nil {
		s.markUnsure(a, fmt.Sprintf("after the answer to %s was lost, get_resource_info failed too (%v): %s may hold vessels the suite cannot see, so it acquires no more",
			what, err, a.name))
		s.errorf(t, "%s: the answer was lost (%s), and looking at the vessels of %s failed (%v): no more vessels are acquired in this run; the cleanup looks again",
			what, cause, a.name, err)
		return
	}
	if len(adopted) == 0 {
		s.logf(t, "%s: the answer was lost (%s); get_resource_info then listed no vessel the suite had not seen: nothing was acquired", what, cause)
		return
	}
	s.logf(t, "%s: the answer was lost (%s); get_resource_info then listed %s the suite had not seen: adopted, counted against the budget, and released when the check ends",
		what, cause, vessels(len(adopted)))
	if held := s.heldCount(); held > s.budget {
		s.errorf(t, "%s: with the %s that appeared the suite holds %d, over the budget of %d; releasing them at once", what, vessels(len(adopted)), held, s.budget)
		s.releaseNow(t, a, adopted)
	}
}

// giveBack releases at once the vessels a call that must fail gave, and
// fails the check: the target acquired where the contract wants a fault.
func (s *session) giveBack(t T, a *acct, what string, hs []string) {
	t.Helper()
	hs = s.owned(a, hs)
	if len(hs) == 0 {
		return
	}
	it := "it"
	if len(hs) > 1 {
		it = "them"
	}
	if err := s.releaseNow(t, a, hs); err != nil {
		s.errorf(t, "%s: acquired %s where a fault was required; releasing %s failed (%v): the cleanup tries again", what, vessels(len(hs)), it, err)
		return
	}
	s.errorf(t, "%s: acquired %s where a fault was required; released %s", what, vessels(len(hs)), it)
}

// releaseNow releases hs of a outside the check's own calls; on success
// the ledger forgets them, otherwise the cleanup tries again.
func (s *session) releaseNow(t T, a *acct, hs []string) error {
	t.Helper()
	ctx, cancel := s.cleanupCtx()
	defer cancel()
	var res any
	err := s.client().Call(ctx, "release_resources", &res, s.auth(a), handleArgs(hs...))
	if err == nil {
		s.disown(a, hs...)
	}
	return err
}

// releaseAll gives back every vessel in the ledger, and looks at every
// account that may hold vessels the suite has not seen, adopting and
// releasing them. It runs in cleanup (each check's, and the run's), so
// its calls have their own bounded contexts. It never releases a vessel
// the suite did not get from its own acquisitions.
func (s *session) releaseAll(t T) {
	s.mu.Lock()
	var work []*acct
	for a := range s.ledger {
		work = append(work, a)
	}
	for a := range s.unsure {
		if _, ok := s.ledger[a]; !ok {
			work = append(work, a)
		}
	}
	s.mu.Unlock()
	sort.Slice(work, func(i, j int) bool { return work[i].name < work[j].name })
	for _, a := range work {
		s.releaseFor(t, a)
	}
}

// releaseFor looks at a's vessels and releases those of the ledger. The
// ledger's vessels the listing shows are released first, in one call; those
// it does not show (released by a call whose answer was lost, run out, or
// left out by a listing that drops entries) in a second one, since
// releasing a vessel the account no longer holds does nothing (§5.3) and
// a vessel a listing hid must not be left held.
func (s *session) releaseFor(t T, a *acct) {
	ctx, cancel := s.cleanupCtx()
	defer cancel()
	s.mu.Lock()
	unsure := s.unsure[a]
	s.mu.Unlock()
	listed, adopted, lookErr := s.look(ctx, a, unsure)
	switch {
	case lookErr != nil && unsure:
		s.errorf(t, "cleanup: looking at the vessels of %s failed (%v): it may still hold vessels the suite acquired without seeing the answer", a.name, lookErr)
	case len(adopted) > 0:
		s.logf(t, "cleanup: %s held %s the suite had not seen (acquired by a call whose answer was lost): adopted, to be released", a.name, vessels(len(adopted)))
	}
	s.mu.Lock()
	hs := append([]string(nil), s.ledger[a]...)
	s.mu.Unlock()
	var unlisted []string
	if lookErr == nil {
		var held []string
		for _, h := range hs {
			if contains(listed, h) {
				held = append(held, h)
			} else {
				unlisted = append(unlisted, h)
			}
		}
		hs = held
	}
	if len(hs) > 0 {
		var res any
		if err := s.client().Call(ctx, "release_resources", &res, s.auth(a), handleArgs(hs...)); err != nil {
			s.errorf(t, "cleanup: releasing the %s the suite acquired for %s failed: %v", vessels(len(hs)), a.name, err)
			return
		}
		s.disown(a, hs...)
	}
	if len(unlisted) > 0 {
		var res any
		if err := s.client().Call(ctx, "release_resources", &res, s.auth(a), handleArgs(unlisted...)); err != nil {
			s.errorf(t, "cleanup: releasing the %s the suite acquired for %s that get_resource_info no longer listed failed (%v): if the listing left them out, they are still held",
				vessels(len(unlisted)), a.name, err)
			return
		}
		s.disown(a, unlisted...)
	}
}
