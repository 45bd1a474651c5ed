package conformance

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// Properties that one sample cannot show: the range of user ports, the
// alphabets of API keys and of the get_encrypted_api_key padding. Each
// check draws enough samples to decide its property with the false-alarm
// rate its comment states (for a server that draws uniformly, as the
// contract's reference does), and the counting checks of the candidate
// limits, which need no statistics at all.

// Sampling: the checks that need many samples of one thing. The area runs
// last: UserPorts creates many accounts, which a target keeps.
func samplingChecks() []check {
	return []check{
		{"UserPorts", needs{controls: true}, checkUserPorts},
	}
}

// userPortSamples is how many accounts checkUserPorts creates. If ports
// are drawn uniformly from the 80 of §7, the chance that one of them is
// never drawn is at most 80 × (79/80)^1500 ≈ 5.1e-7 (union bound): the
// check's false-alarm rate. A server whose range lacks one port always
// fails it; one whose range is shifted by one (63101-63180) fails unless
// its extra port is never drawn, which happens with probability
// (79/80)^1500 ≈ 6.4e-9.
const userPortSamples = 1500

// checkUserPorts: every user port is in 63100-63179, and every one of the
// 80 is handed out (§7), over userPortSamples accounts the mock creates
// with a port of its choice.
func checkUserPorts(t T, s *session) {
	c := s.controls()
	pub, _ := s.sharedKeyPair(t)
	const workers = 8
	var (
		mu     sync.Mutex
		counts = map[int64]int{}
		errs   []string
		next   = make(chan string)
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range next {
				port, err := s.samplePort(c, name, pub)
				mu.Lock()
				if err != nil {
					errs = append(errs, err.Error())
				} else {
					counts[port]++
				}
				mu.Unlock()
			}
		}()
	}
	for range userPortSamples {
		mu.Lock()
		failed := len(errs) > 0
		mu.Unlock()
		if failed || t.Context().Err() != nil {
			break
		}
		next <- s.nextName("cfport")
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		s.fatalf(t, "creating accounts to sample user ports: %s", errs[0])
	}
	var outside, missing []string
	for p, n := range counts {
		if p < 63100 || p > 63179 {
			outside = append(outside, fmt.Sprintf("%d (%d times)", p, n))
		}
	}
	for p := int64(63100); p <= 63179; p++ {
		if counts[p] == 0 {
			missing = append(missing, fmt.Sprint(p))
		}
	}
	sort.Strings(outside)
	if len(outside) > 0 {
		s.errorf(t, "of %d new accounts some got user ports outside 63100-63179 (§7): %s", userPortSamples, strings.Join(outside, ", "))
	}
	if len(missing) > 0 {
		s.errorf(t, "of %d new accounts none got the user ports %s; every port of 63100-63179 should be handed out (§7; a uniform draw misses one with probability 5e-7)",
			userPortSamples, strings.Join(missing, ", "))
	}
}

// samplePort creates an account with a port of the mock's choosing and
// returns its user_port from get_account_info. It runs on a worker
// goroutine, so it reports errors instead of failing the check; they
// carry no credential.
func (s *session) samplePort(c Controls, name, pub string) (int64, error) {
	ctx, cancel := s.callCtx()
	defer cancel()
	pw := "pw-sample-" + s.runID
	s.addPasswords(pw) // the same for every sample: registered once
	a, err := c.AddAccount(ctx, mockapi.AccountSpec{Username: name, Password: pw,
		Affiliation: "clearinghouse-go conformance suite", FreeCredits: mockapi.NoFreeCredits, PublicKey: pub})
	if err != nil {
		return 0, fmt.Errorf("AddAccount: %v", err)
	}
	var res any
	if err := s.client().Call(ctx, "get_account_info", &res, map[string]any{"username": a.Username, "api_key": a.APIKey}); err != nil {
		// These throwaway accounts' keys are not registered as secrets
		// (1500 of them would slow every redaction); keep this one out.
		return 0, fmt.Errorf("get_account_info of a new account: %s", redactSecrets(err.Error(), []string{a.APIKey}))
	}
	info, problems := parseAccountInfo(res)
	if len(problems) > 0 {
		return 0, fmt.Errorf("get_account_info of a new account: %s", problems[0])
	}
	return info.UserPort, nil
}

// apiKeySamples is how many keys checkAPIKeyAlphabet draws. A key holds
// 32 of the 35 symbols, so a given symbol is missing from a uniformly drawn
// key with probability 3/35, and from all of them with (3/35)^10 ≈ 2.1e-11;
// the false-alarm rate is at most 35 times that, 7.5e-10.
const apiKeySamples = 10

// checkAPIKeyAlphabet: over apiKeySamples keys from regenerate_api_key,
// every one of the 35 symbols of §4 appears (and nothing else).
func checkAPIKeyAlphabet(t T, s *session) {
	a := s.newAccount(t, 1)
	seen := map[rune]bool{}
	for i := range apiKeySamples {
		key := s.regenerateKey(t, a)
		if p := apiKeyProblem(key); p != "" {
			s.errorf(t, "regenerate_api_key (%d): %s", i+1, p)
		}
		for _, r := range key {
			seen[r] = true
		}
	}
	var missing []string
	for _, r := range apiKeyAlphabet {
		if !seen[r] {
			missing = append(missing, string(r))
		}
	}
	if len(missing) > 0 {
		s.errorf(t, "%d API keys from regenerate_api_key never use %s; keys draw from all 35 symbols of 0-9 and A-Z without O (§4; a uniform draw misses one with probability 7.5e-10)",
			apiKeySamples, strings.Join(missing, " "))
	}
}

// paddingSamples is how many ciphertexts checkEncryptedAPIKeyPadding
// decrypts. The padding R holds 20 of the 62 symbols, so a given symbol is
// missing from one uniformly drawn R with probability 42/62, and from all
// of them with (42/62)^60 ≈ 7.1e-11; the false-alarm rate is at most 62
// times that, 4.4e-9.
const paddingSamples = 60

// checkEncryptedAPIKeyPadding: over paddingSamples answers of
// get_encrypted_api_key, the padding R uses every one of the 62 symbols
// of A-Z, a-z and 0-9 (§10).
func checkEncryptedAPIKeyPadding(t T, s *session) {
	a := s.main()
	priv, err := seattlersa.ParsePrivateKey(a.privateKey)
	if err != nil {
		s.fatalf(t, "the main account's private key does not parse")
	}
	seen := map[rune]bool{}
	for range paddingSamples {
		ct, _ := s.mustCall(t, "get_encrypted_api_key", a.name).(string)
		r, p := decryptPadding(priv, ct, s.key(a))
		if p != "" {
			s.fatalf(t, "get_encrypted_api_key: %s", p)
		}
		for _, c := range r {
			seen[c] = true
		}
	}
	var missing []string
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" {
		if !seen[c] {
			missing = append(missing, string(c))
		}
	}
	if len(missing) > 0 {
		s.errorf(t, "the padding of %d encrypted API keys never uses %s; R draws from all 62 symbols of A-Z, a-z and 0-9 (§10; a uniform draw misses one with probability 4.4e-9)",
			paddingSamples, strings.Join(missing, " "))
	}
}

// portVessels returns the handle of the vessel with port on each node.
func (s *session) portVessels(t T, nodes []string, port int) []string {
	t.Helper()
	handles := make([]string, len(nodes))
	for i, n := range nodes {
		handles[i] = s.vesselFor(t, n, port)
	}
	return handles
}

// candidates sets up a count of the candidates a request tries: no
// cleanup delay, a new account with 10 credits (as usedFailures needs),
// and the target isolated with n nodes, each in a subnet of its own. It
// returns the account, the nodes and their vessels with the account's
// port, the only ones it can take.
func (s *session) candidates(t T, n int) (a *acct, nodes, handles []string) {
	t.Helper()
	s.withCleanupDelay(t, 0)
	a = s.newAccount(t, 10)
	port := s.userPort(t, a)
	s.isolate(t)
	nodes = s.addNodes(t, n, ownSubnets)
	return a, nodes, s.portVessels(t, nodes, port)
}

// failOnce makes each of nodes fail its next attempt.
func (s *session) failOnce(t T, nodes []string) {
	t.Helper()
	for _, n := range nodes {
		s.must(t, "InjectFailure", s.controls().InjectFailure(s.ctx(t), n, mockapi.Failure{Next: 1}))
	}
}

// usedFailures counts the vessels whose node's injected "fail the next
// attempt" has been used up: it tries to take each through
// acquire_specific_vessels (an attempt, which uses up a failure still
// pending), counts those it gets, and releases them. a needs at least 10
// credits.
func (s *session) usedFailures(t T, a *acct, handles []string) int {
	t.Helper()
	used := 0
	for len(handles) > 0 {
		chunk := handles[:min(10, len(handles))]
		handles = handles[len(chunk):]
		got := handlesOf(s.mustSpecific(t, "acquire_specific_vessels", a, len(chunk), -1, chunk...))
		used += len(got)
		if len(got) > 0 {
			s.mustRelease(t, a, got...)
		}
	}
	return used
}

// checkSelectionCandidateCount: random and wan try exactly the first
// K = 2n + 10 candidates of their random list, every one of them when all
// fail (§8, §8.1). Each of 30 nodes fails its next attempt; after a
// failed request exactly K of those failures are used up.
func checkSelectionCandidateCount(t T, s *session) {
	a, nodes, handles := s.candidates(t, 30)
	for _, req := range []struct {
		typ string
		n   int
	}{{"random", 1}, {"wan", 3}} {
		s.failOnce(t, nodes)
		what := fmt.Sprintf("%s %d with every node failing once", req.typ, req.n)
		err := s.acquireFault(t, a, rs(req.typ, int64(req.n)), req.n)
		s.wantFault(t, what, err, 105, unable(msgBatchFailed))
		if used, k := s.usedFailures(t, a, handles), 2*req.n+10; used != k {
			s.errorf(t, "%s tried %d of the 30 nodes, want exactly K = 2n+10 = %d (§8)", what, used, k)
		}
	}
}

// checkSelectionLANSubnetLimit: lan tries at most 10 subnets (§8). Each
// of 12 one-node subnets fails its next attempt; after a failed lan 1
// exactly 10 of those failures are used up.
func checkSelectionLANSubnetLimit(t T, s *session) {
	a, nodes, handles := s.candidates(t, 12)
	s.failOnce(t, nodes)
	err := s.acquireFault(t, a, rs("lan", int64(1)), 1)
	s.wantFault(t, "lan 1 with 12 subnets all failing once", err, 105, msgUnable)
	if used := s.usedFailures(t, a, handles); used != 10 {
		s.errorf(t, "lan 1 over 12 qualifying subnets tried %d of them, want exactly 10 (§8)", used)
	}
}
