package mockserver

import "strconv"

// Selection for acquire_resources (contract §8 and §8.1). Each function
// returns the vessels acquired for account a, or ok false and the failure
// detail that follows "Details: " in the 105 fault string.

const (
	detailNotEnough = "There are not enough available vessels to fulfill the request."
	detailFailed    = "Failed to acquire enough vessels to fulfill the request"
	detailNAT       = "Acquiring NAT vessels is currently disabled. "
	maxLANSubnets   = 10
)

// candidateLimit is K = 2n + 10, saturating rather than overflowing.
func candidateLimit(n int) int {
	const maxInt = int(^uint(0) >> 1)
	if n > (maxInt-10)/2 {
		return maxInt
	}
	return 2*n + 10
}

func (st *state) acquireByType(a int32, typ string, n int, now int64) (got []int32, detail string, ok bool) {
	port := int(st.accounts[a].port)
	k := candidateLimit(n)
	switch typ {
	case "random":
		lists, total := st.availableLists(port, wanClass, natClass)
		if total < n {
			return nil, "Requested " + strconv.Itoa(n) + " rand vessels, but we only have " +
				strconv.Itoa(total) + " vessels with port " + strconv.Itoa(port) + " available.", false
		}
		return st.batch(st.draw(lists, total, k), n, a, now)

	case "nat":
		lists, total := st.availableLists(port, natClass)
		if total < n {
			return nil, detailNAT, false
		}
		return st.batch(st.draw(lists, total, k), n, a, now)

	case "wan":
		subnets := st.wanSubnetCount(port)
		if subnets < n {
			return nil, "Requested " + strconv.Itoa(n) + " wan vessels, but we only have vessels with port " +
				strconv.Itoa(port) + " available on " + strconv.Itoa(subnets) + " subnets.", false
		}
		// Walk the available non-NAT vessels in random order, keeping the
		// first one seen from each subnet, until K are kept or every
		// subnet has been seen.
		want := min(k, subnets)
		lists, total := st.availableLists(port, wanClass)
		smp := newSampler(st.rng, lists, total)
		seen := make(map[int32]struct{}, want)
		cands := make([]int32, 0, want)
		for len(cands) < want {
			e, more := smp.next()
			if !more {
				break
			}
			if e.sub < 0 {
				continue // an IP without a '.'
			}
			if _, dup := seen[e.sub]; dup {
				continue
			}
			seen[e.sub] = struct{}{}
			cands = append(cands, e.v)
		}
		return st.batch(cands, n, a, now)

	case "lan":
		if st.liveSubnets == 0 {
			return nil, "No subnets exist with at least " + strconv.Itoa(n) + " active nodes", false
		}
		subnets := st.lanSubnets(port, n, maxLANSubnets)
		if len(subnets) == 0 {
			return nil, "No subnets exist with at least " + strconv.Itoa(n) +
				" active nodes that have a vessel available on port " + strconv.Itoa(port), false
		}
		// Historically every subnet's list was drawn before any was
		// tried. Drawing each just before its turn is equivalent: a failed
		// attempt only changes vessels of its own subnet, and which
		// subnets qualified was settled above.
		for _, s := range subnets {
			if got, _, ok := st.batch(st.subnetCandidates(s, port), n, a, now); ok {
				return got, "", true
			}
		}
		return nil, "", false
	}
	panic("mockserver: unknown rspec type " + typ)
}

// draw returns up to k of the listed vessels in random order.
func (st *state) draw(lists [][]availEntry, total, k int) []int32 {
	smp := newSampler(st.rng, lists, total)
	out := make([]int32, 0, min(k, total))
	for len(out) < k {
		e, ok := smp.next()
		if !ok {
			break
		}
		out = append(out, e.v)
	}
	return out
}

// batch is the all-or-nothing acquisition of contract §8.1: take the next
// n-acquired candidates off the front and try each, until n are held or
// the candidates run out, in which case everything acquired is released.
func (st *state) batch(cands []int32, n int, a int32, now int64) ([]int32, string, bool) {
	if len(cands) < n {
		return nil, detailNotEnough, false
	}
	got := make([]int32, 0, n)
	for len(cands) > 0 {
		m := min(n-len(got), len(cands))
		for _, v := range cands[:m] {
			if st.tryTake(v, a, now) {
				got = append(got, v)
			}
		}
		cands = cands[m:]
		if len(got) == n {
			return got, "", true
		}
	}
	for _, v := range got {
		st.release(v, now)
	}
	return nil, detailFailed, false
}
