package mockserver

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"weak"

	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// The status page: an HTML summary of what the mock holds, served at GET /
// (and /status). It is meant for a person watching a mock during
// development, so it shows summaries and pages rather than everything: its
// size and cost stay bounded with 100 000 nodes. It never shows a
// password, an API key or a private key; the view types below have no
// field that could carry one.

const (
	statusRefreshSeconds    = 5
	statusAccountsPerPage   = 25
	statusVesselsPerAccount = 8
	statusSubnetsPerPage    = 50
	recentCallsKept         = 50

	// Display limits for free text, in runes.
	clipAffiliation = 120
	clipNodeID      = 28
	clipNodeIP      = 40
	clipMethod      = 64
)

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Parse(statusHTML))

// TimeScale returns how many times as fast as its source the mock clock
// runs (see WithTimeScale); 0 means frozen.
func (s *Server) TimeScale() float64 { return s.cfg.scale }

// callRecord is one XML-RPC call as the status page lists it. It holds no
// parameter: those carry API keys and passwords.
type callRecord struct {
	method   string
	username string
	fault    int
	failed   bool
	duration time.Duration
	at       time.Time // wall clock
}

// recentCalls keeps the last calls answered over HTTP in a ring.
type recentCalls struct {
	size int // how many calls are kept; fixed

	mu     sync.Mutex
	ring   []callRecord
	next   int // where the next record goes
	total  uint64
	faults uint64
}

func newRecentCalls(n int) *recentCalls {
	return &recentCalls{size: n, ring: make([]callRecord, 0, n)}
}

// record adds a call. Only the method, the username (as logCall shows it),
// the fault code and the duration are kept.
func (rc *recentCalls) record(info xmlrpc.CallInfo) {
	c := callRecord{
		method:   clip(info.Method, clipMethod),
		username: callUsername(info.Method, info.Params),
		duration: info.Duration,
		at:       time.Now(),
	}
	if info.Fault != nil {
		c.failed, c.fault = true, info.Fault.Code
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.total++
	if c.failed {
		rc.faults++
	}
	if len(rc.ring) < rc.size {
		rc.ring = append(rc.ring, c)
		return
	}
	rc.ring[rc.next] = c
	rc.next = (rc.next + 1) % len(rc.ring)
}

// snapshot returns the kept calls, newest first, and the counts since the
// server started.
func (rc *recentCalls) snapshot() (calls []callRecord, total, faults uint64) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	calls = make([]callRecord, 0, len(rc.ring))
	for i := range rc.ring {
		j := rc.next - 1 - i
		if j < 0 {
			j += len(rc.ring)
		}
		calls = append(calls, rc.ring[j])
	}
	return calls, rc.total, rc.faults
}

// statusPage is the handler of the status page.
type statusPage struct {
	s      *Server
	recent *recentCalls

	// order caches the subnets sorted by address. It is guarded by s.mu.
	order subnetOrder
}

// subnetOrder is the list of a state's subnets sorted by address. Subnets
// are only ever appended to a state, so the list stays valid while the
// state and its number of subnets are the same. The weak pointer lets a
// state that Reset replaced be collected.
type subnetOrder struct {
	st  weak.Pointer[state]
	n   int
	idx []int32
}

func (s *Server) newStatusPage(recent *recentCalls) *statusPage {
	return &statusPage{s: s, recent: recent}
}

func (p *statusPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "mockserver: the status page answers GET and HEAD only", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	view, err := p.gather(pageParam(q.Get("page")), pageParam(q.Get("apage")))
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable) // the server is closed
		return
	}
	// Render into a buffer first, so that a template error never leaves
	// half a page on the wire.
	var buf bytes.Buffer
	if err := statusTemplate.Execute(&buf, view); err != nil {
		p.s.log.Error("status page", "err", err)
		http.Error(w, "mockserver: status page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// No script may run, whatever the page contains.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// pageParam parses a 1-based page number; anything else means page 1.
func pageParam(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// The view: everything the template shows, already formatted.

type statusView struct {
	Refresh   int
	Generated string // wall clock time of rendering

	Clock    clockView
	Summary  summaryView
	Accounts []accountView
	AccPager pagerView
	NAT      subnetView
	Subnets  []subnetView
	SubPager pagerView

	Calls       []callView
	CallsTotal  uint64
	CallsFaults uint64
	CallsKept   int
}

type clockView struct {
	Date, Time   string
	Scale        string
	CleanupDelay string
	FailureRate  string
}

type summaryView struct {
	Accounts, BannedAccounts                int
	Nodes, LiveNodes, Inactive, Broken, NAT int
	Subnets, SubnetsWithAvailable           int
	Vessels, Held, Free, Available          int
	HeldShare                               string
}

type accountView struct {
	Username    string
	Affiliation string
	Port        int
	Used, Max   int
	Full        bool
	Donations   int
	Banned      bool
	Vessels     []vesselView
	More        int // held vessels not listed
}

type vesselView struct {
	Handle     string // node id abbreviated, then ":vN"
	NodeIP     string
	ExpiresIn  string
	Soon       bool // under 30 minutes left
	NodeOnline bool
}

type subnetView struct {
	Name                                  string
	Nodes, Live, Vessels, Held, Available int
	Free                                  int
}

type pagerView struct {
	Page, Pages int
	Total       int
	First, Last int // 1-based item numbers shown on this page
	Prev, Next  string
	Single      bool
}

type callView struct {
	When     string
	Ago      string
	Method   string
	Username string
	Result   string
	Fault    bool
	Duration string
}

// statusCopy is what the page needs from the state, copied under the lock.
type statusCopy struct {
	now      int64
	scale    float64
	delay    int64
	failure  float64
	summary  summaryView
	nat      subnetView
	subnets  []subnetView
	subPager pagerView
	accounts []rawAccount
	accPager pagerView
}

// copyState copies what the page shows. The caller holds s.mu.
func (p *statusPage) copyState(st *state, now int64, subPage, accPage int) statusCopy {
	c := statusCopy{now: now, scale: p.s.clock.scale, delay: st.cleanupDelay, failure: st.failRate}
	c.summary, c.nat = st.statusSummary()
	c.subnets, c.subPager = st.subnetPage(p.sortedSubnets(st), c.summary.Subnets, subPage)
	c.accounts, c.accPager = st.accountPage(accPage)
	return c
}

// gather takes the state lock once to copy what the page shows, and
// formats it after releasing the lock.
func (p *statusPage) gather(subPage, accPage int) (*statusView, error) {
	var c statusCopy
	err := p.s.update(func(st *state, now int64) error {
		c = p.copyState(st, now, subPage, accPage)
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := statusView{Summary: c.summary, NAT: c.nat, Subnets: c.subnets, SubPager: c.subPager, AccPager: c.accPager}
	nowNS := c.now
	wall := time.Now()
	v.Refresh = statusRefreshSeconds
	v.Generated = wall.UTC().Format("2006-01-02 15:04:05 UTC")
	v.Clock = clockView{
		Date:         toTime(nowNS).Format("2006-01-02"),
		Time:         toTime(nowNS).Format("15:04:05.000 UTC"),
		Scale:        formatScale(c.scale),
		CleanupDelay: time.Duration(c.delay).String(),
		FailureRate:  strconv.FormatFloat(c.failure, 'g', -1, 64),
	}
	v.NAT.Name = "behind NAT"
	sp, ap := v.SubPager.Page, v.AccPager.Page
	v.SubPager.link(func(n int) string { return statusURL(n, ap, "subnets") })
	v.AccPager.link(func(n int) string { return statusURL(sp, n, "accounts") })
	for _, a := range c.accounts {
		v.Accounts = append(v.Accounts, a.view(nowNS))
	}
	calls, total, faults := p.recent.snapshot()
	v.CallsTotal, v.CallsFaults, v.CallsKept = total, faults, p.recent.size
	for _, c := range calls {
		v.Calls = append(v.Calls, c.view(wall))
	}
	return &v, nil
}

// statusSummary counts nodes and vessels: one pass over the nodes, one
// over the held vessels (the expiry heap) and the availability index; no
// pass over the vessels.
func (st *state) statusSummary() (summaryView, subnetView) {
	var sum summaryView
	var nat subnetView
	for _, a := range st.accounts {
		if !a.active {
			sum.BannedAccounts++
		}
	}
	sum.Accounts = len(st.accounts)
	sum.Nodes = len(st.nodes)
	for i := range st.nodes {
		nd := &st.nodes[i]
		live := nd.usable()
		if live {
			sum.LiveNodes++
		}
		if !nd.active {
			sum.Inactive++
		}
		if nd.broken {
			sum.Broken++
		}
		if nd.nat {
			nat.Nodes++
			nat.Vessels += int(nd.count)
			if live {
				nat.Live++
			}
		}
	}
	sum.NAT = nat.Nodes
	sum.Vessels = len(st.vessels)
	sum.Held = len(st.expiry.items)
	for _, it := range st.expiry.items {
		if st.nodes[st.vessels[it.v].node].nat {
			nat.Held++
		}
	}
	for _, g := range st.groups {
		sum.Available += len(g.avail[wanClass]) + len(g.avail[natClass])
		nat.Available += len(g.avail[natClass])
	}
	nat.Free = nat.Vessels - nat.Held
	sum.Free = sum.Vessels - sum.Held
	for i := range st.subnets {
		sn := &st.subnets[i]
		if len(sn.nodes) == 0 {
			continue
		}
		sum.Subnets++
		if len(sn.avail) > 0 {
			sum.SubnetsWithAvailable++
		}
	}
	if sum.Vessels > 0 {
		sum.HeldShare = strconv.FormatFloat(100*float64(sum.Held)/float64(sum.Vessels), 'f', 2, 64) + "%"
	}
	return sum, nat
}

// sortedSubnets returns the state's subnets sorted by address, from the
// cache when the state has not gained a subnet since it was built. The
// caller holds s.mu.
func (p *statusPage) sortedSubnets(st *state) []int32 {
	o := &p.order
	if o.st.Value() == st && o.n == len(st.subnets) {
		return o.idx
	}
	keys := make([]uint64, len(st.subnets))
	for i := range st.subnets {
		keys[i] = subnetKey(st.subnets[i].name)<<32 | uint64(i)
	}
	slices.Sort(keys)
	idx := make([]int32, len(keys))
	for i, k := range keys {
		idx[i] = int32(uint32(k))
	}
	*o = subnetOrder{st: weak.Make(st), n: len(st.subnets), idx: idx}
	return idx
}

// subnetKey turns "a.b.c" into a number that sorts subnets by address.
// Names that are not three decimal octets sort last.
func subnetKey(name string) uint64 {
	var key uint64
	parts := 0
	for part := range strings.SplitSeq(name, ".") {
		n, err := strconv.ParseUint(part, 10, 8)
		if err != nil || parts == 3 {
			return 1 << 31
		}
		key = key<<8 | n
		parts++
	}
	if parts != 3 {
		return 1 << 31
	}
	return key
}

// subnetPage returns the non-empty subnets of the requested page (clamped
// to the last page), in address order, with their counts. total is the
// number of non-empty subnets; the walk stops at the end of the page.
func (st *state) subnetPage(order []int32, total, page int) ([]subnetView, pagerView) {
	pg := newPager(total, statusSubnetsPerPage, page)
	var out []subnetView
	k := 0
	for _, i := range order {
		sn := &st.subnets[i]
		if len(sn.nodes) == 0 {
			continue
		}
		k++
		if k < pg.First {
			continue
		}
		if k > pg.Last {
			break
		}
		row := subnetView{Name: sn.name + ".0/24", Nodes: len(sn.nodes), Live: int(sn.live)}
		for _, a := range sn.avail {
			row.Available += int(a.n)
		}
		for _, n := range sn.nodes {
			nd := &st.nodes[n]
			row.Vessels += int(nd.count)
			for v := nd.first; v < nd.first+nd.count; v++ {
				if st.vessels[v].owner != noOne {
					row.Held++
				}
			}
		}
		row.Free = row.Vessels - row.Held
		out = append(out, row)
	}
	return out, pg
}

// rawAccount is what the page shows of an account, copied under the lock.
type rawAccount struct {
	name, affiliation string
	port              int32
	used, max         int
	donations         int
	banned            bool
	vessels           []rawVessel // the soonest to expire
	more              int
}

type rawVessel struct {
	nodeID, nodeIP string
	num            uint16
	expires        int64
	online         bool
}

// accountPage copies the accounts of the requested page, each with the
// vessels that expire first.
func (st *state) accountPage(page int) ([]rawAccount, pagerView) {
	pg := newPager(len(st.accounts), statusAccountsPerPage, page)
	var out []rawAccount
	for i := pg.First - 1; i >= 0 && i < pg.Last; i++ {
		a := st.accounts[i]
		ra := rawAccount{
			name: a.name, affiliation: a.affiliation, port: a.port,
			used: len(a.held), max: st.maxVessels(a), donations: len(a.donations),
			banned: !a.active,
		}
		soonest := st.soonestHeld(a, statusVesselsPerAccount)
		for _, v := range soonest {
			ves := &st.vessels[v]
			nd := &st.nodes[ves.node]
			ra.vessels = append(ra.vessels, rawVessel{
				nodeID: nd.id, nodeIP: nd.ip, num: ves.num, expires: ves.expires, online: nd.usable(),
			})
		}
		ra.more = len(a.held) - len(soonest)
		out = append(out, ra)
	}
	return out, pg
}

// soonestHeld returns up to k of the account's vessels, those that expire
// first (ties by position), in one pass over its holdings.
func (st *state) soonestHeld(a *account, k int) []int32 {
	less := func(x, y int32) bool {
		tx, ty := st.vessels[x].expires, st.vessels[y].expires
		return tx < ty || tx == ty && x < y
	}
	top := make([]int32, 0, k)
	for v := range a.held {
		if len(top) == k && !less(v, top[k-1]) {
			continue
		}
		i := len(top)
		if i < k {
			top = append(top, v)
		} else {
			i = k - 1
		}
		for ; i > 0 && less(v, top[i-1]); i-- {
			top[i] = top[i-1]
		}
		top[i] = v
	}
	return top
}

func (a rawAccount) view(now int64) accountView {
	out := accountView{
		Username:    a.name,
		Affiliation: clip(a.affiliation, clipAffiliation),
		Port:        int(a.port),
		Used:        a.used,
		Max:         a.max,
		Full:        a.used >= a.max,
		Donations:   a.donations,
		Banned:      a.banned,
		More:        a.more,
	}
	for _, v := range a.vessels {
		left := time.Duration(v.expires - now)
		out.Vessels = append(out.Vessels, vesselView{
			Handle:     clip(v.nodeID, clipNodeID) + ":v" + strconv.Itoa(int(v.num)),
			NodeIP:     clip(v.nodeIP, clipNodeIP),
			ExpiresIn:  formatLeft(left),
			Soon:       left < 30*time.Minute,
			NodeOnline: v.online,
		})
	}
	return out
}

func (c callRecord) view(wall time.Time) callView {
	out := callView{
		When:     c.at.UTC().Format("15:04:05.000"),
		Ago:      formatAgo(wall.Sub(c.at)),
		Method:   c.method,
		Username: c.username,
		Result:   "ok",
		Duration: c.duration.Round(time.Microsecond).String(),
	}
	if out.Method == "" {
		out.Method = "(not decoded)"
	}
	if c.failed {
		out.Fault = true
		out.Result = "fault " + strconv.Itoa(c.fault)
		if name := faultName(c.fault); name != "" {
			out.Result += " " + name
		}
	}
	return out
}

// faultName names the fault codes of contract §2.1.
func faultName(code int) string {
	switch code {
	case CodeMalformed:
		return "malformed"
	case CodeInternal:
		return "internal"
	case CodeAuthentication:
		return "auth"
	case CodeInvalidRequest:
		return "invalid request"
	case CodeNotEnoughCredits:
		return "not enough credits"
	case CodeUnableToAcquire:
		return "unable to acquire"
	}
	return ""
}

func newPager(total, per, page int) pagerView {
	pages := max(1, (total+per-1)/per)
	page = min(max(page, 1), pages)
	pg := pagerView{Page: page, Pages: pages, Total: total, Single: pages == 1}
	if total > 0 {
		pg.First = (page-1)*per + 1
		pg.Last = min(page*per, total)
	}
	return pg
}

// link fills in the addresses of the previous and next pages.
func (pg *pagerView) link(url func(page int) string) {
	if pg.Page > 1 {
		pg.Prev = url(pg.Page - 1)
	}
	if pg.Page < pg.Pages {
		pg.Next = url(pg.Page + 1)
	}
}

func statusURL(subPage, accPage int, fragment string) string {
	u := "?page=" + strconv.Itoa(subPage)
	if accPage > 1 {
		u += "&apage=" + strconv.Itoa(accPage)
	}
	return u + "#" + fragment
}

func formatScale(x float64) string {
	switch x {
	case 0:
		return "0 (frozen: moves only when set or advanced)"
	case 1:
		return "1× (real time)"
	}
	return strconv.FormatFloat(x, 'g', -1, 64) + "× real time"
}

// formatLeft formats a time to expiry: "6d23h59m", "3h59m", "12m30s",
// "45s", or "expired".
func formatLeft(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	d = d.Truncate(time.Second)
	days := d / (24 * time.Hour)
	h := d % (24 * time.Hour) / time.Hour
	m := d % time.Hour / time.Minute
	s := d % time.Minute / time.Second
	itoa := func(x time.Duration) string { return strconv.FormatInt(int64(x), 10) }
	switch {
	case days > 0:
		return itoa(days) + "d" + itoa(h) + "h" + itoa(m) + "m"
	case h > 0:
		return itoa(h) + "h" + itoa(m) + "m"
	case m > 0:
		return itoa(m) + "m" + itoa(s) + "s"
	}
	return itoa(s) + "s"
}

func formatAgo(d time.Duration) string {
	if d < time.Second {
		return "just now"
	}
	return formatLeft(d) + " ago"
}

// clip shortens s to at most max runes for display, keeping its start and
// its end around an ellipsis; invalid UTF-8 becomes U+FFFD.
func clip(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	n := utf8.RuneCountInString(s)
	if n <= max {
		return s
	}
	head := (max - 1) * 2 / 3
	tail := max - 1 - head
	var b strings.Builder
	i := 0
	for j, r := range s {
		switch {
		case i < head:
			b.WriteRune(r)
		case i == head:
			b.WriteRune('…')
		}
		if i >= n-tail {
			b.WriteString(s[j:])
			break
		}
		i++
	}
	return b.String()
}
