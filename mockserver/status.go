package mockserver

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// The status page: an HTML summary of what the mock holds, served at GET /
// (and /status). It is meant for a person watching a mock during
// development, so it shows summaries and pages rather than everything: its
// size and cost stay bounded with 100 000 nodes. It never shows a
// password, an API key or a private key; the view types below have no
// field that could carry one. It reads the state only through the read
// seam (readseam.go): Server.overview with state.stats, state.subnetRows
// and state.accountRows.

const (
	statusRefreshSeconds    = 5
	statusAccountsPerPage   = 25
	statusVesselsPerAccount = 8
	statusSubnetsPerPage    = 50
	recentCallsKept         = 50
	statusFindingsShown     = 50

	// Display limits for free text, in runes.
	clipAffiliation = 120
	clipNodeID      = 28
	clipNodeIP      = 40
	clipMethod      = 64
)

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Parse(statusHTML))

// callRecord is one XML-RPC call as the status page lists it. It holds no
// parameter: those carry API keys and passwords.
type callRecord struct {
	method   string
	username string
	fault    int
	failed   bool
	duration time.Duration
	at       time.Time // wall clock
	injected string    // the injected faults, as faultDecision.label gives them; "" for none
	skipped  bool      // an injected fault kept the call from being applied
}

// recentCalls keeps the last calls answered over HTTP in a ring.
type recentCalls struct {
	size int              // how many calls are kept; fixed
	wall func() time.Time // the wall clock

	mu       sync.Mutex
	ring     []callRecord
	next     int // where the next record goes
	total    uint64
	faults   uint64
	injected uint64 // calls with an injected fault
}

// newRecentCalls keeps the last n calls, timed by the wall clock wall.
func newRecentCalls(n int, wall func() time.Time) *recentCalls {
	return &recentCalls{size: n, wall: wall, ring: make([]callRecord, 0, n)}
}

// record adds a call and what was injected into it (d, nil for nothing).
// Only the method, the username (as logCall shows it), the fault code, the
// duration and the kinds of injected fault are kept.
func (rc *recentCalls) record(info xmlrpc.CallInfo, d *faultDecision) {
	c := callRecord{
		method:   clip(info.Method, clipMethod),
		username: callUsername(info.Method, info.Params),
		duration: info.Duration,
		at:       rc.wall(),
	}
	if info.Fault != nil {
		c.failed, c.fault = true, info.Fault.Code
	}
	if d != nil {
		c.injected, c.skipped = d.label(), d.kind.beforeApply()
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.total++
	if c.failed {
		rc.faults++
	}
	if c.injected != "" {
		rc.injected++
	}
	if len(rc.ring) < rc.size {
		rc.ring = append(rc.ring, c)
		return
	}
	rc.ring[rc.next] = c
	rc.next = (rc.next + 1) % len(rc.ring)
}

// snapshot returns the kept calls, newest first, and the counts since the
// server started: calls, faults and calls with an injected fault.
func (rc *recentCalls) snapshot() (calls []callRecord, total, faults, injected uint64) {
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
	return calls, rc.total, rc.faults, rc.injected
}

// statusPage is the handler of the status page.
type statusPage struct {
	s      *Server
	recent *recentCalls
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

	Calls         []callView
	CallsTotal    uint64
	CallsFaults   uint64
	CallsInjected uint64
	CallsKept     int

	Faults        faultsView
	Findings      []findingView
	FindingsTotal int
	ReportGaps    []string // what the report could not track (Report.gaps)

	NodeManagers *nmView // nil when they are off (nmadmin.go)
}

// faultsView is the fault profile in force and what it has injected.
type faultsView struct {
	Seed   int64
	Rules  []faultRuleView
	Counts []kindCount // kinds injected at least once since the start
}

type faultRuleView struct {
	Text  string // the rule in the compact form of ParseFaultSpec
	Fired uint64
}

type kindCount struct {
	Kind string
	N    uint64
}

// findingView is one finding of the behaviour report.
type findingView struct {
	Kind, Account, Message string
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
	Injected string // the injected faults, "" for none
}

// gather reads the state through the read seam, under one hold of the
// lock (Server.overview), and formats what it got after releasing it. The
// fault status and the behaviour report come from the exported Faults and
// Report, the report under a second hold of the lock.
func (p *statusPage) gather(subPage, accPage int) (*statusView, error) {
	var (
		subPager, accPager pagerView
		subnets            []subnetRow
		accounts           []accountRow
	)
	ov, err := p.s.overview(func(st *state, c stats) {
		subPager = newPager(c.subnets, statusSubnetsPerPage, subPage)
		subnets = st.subnetRows(subPager.First-1, statusSubnetsPerPage)
		accPager = newPager(c.accounts, statusAccountsPerPage, accPage)
		accounts = st.accountRows(accPager.First-1, statusAccountsPerPage, statusVesselsPerAccount)
	})
	if err != nil {
		return nil, err
	}
	c := ov.stats
	v := statusView{SubPager: subPager, AccPager: accPager}
	wall := p.recent.wall()
	v.Refresh = statusRefreshSeconds
	v.Generated = wall.UTC().Format("2006-01-02 15:04:05 UTC")
	v.Clock = clockView{
		Date:         toTime(ov.now).Format("2006-01-02"),
		Time:         toTime(ov.now).Format("15:04:05.000 UTC"),
		Scale:        formatScale(ov.scale),
		CleanupDelay: time.Duration(ov.cleanupDelay).String(),
		FailureRate:  strconv.FormatFloat(ov.failureRate, 'g', -1, 64),
	}
	v.Summary = summaryView{
		Accounts: c.accounts, BannedAccounts: c.bannedAccounts,
		Nodes: c.nodes, LiveNodes: c.liveNodes, Inactive: c.inactiveNodes, Broken: c.brokenNodes, NAT: c.natNodes,
		Subnets: c.subnets, SubnetsWithAvailable: c.subnetsWithAvailable,
		Vessels: c.vessels.total, Held: c.vessels.held, Free: c.vessels.free(), Available: c.vessels.available,
	}
	if c.vessels.total > 0 {
		v.Summary.HeldShare = strconv.FormatFloat(100*float64(c.vessels.held)/float64(c.vessels.total), 'f', 2, 64) + "%"
	}
	v.NAT = subnetView{
		Name: "behind NAT", Nodes: c.natNodes, Live: c.natLiveNodes, Vessels: c.natVessels,
		Held: c.natHeld, Available: c.natAvailable, Free: c.natVessels - c.natHeld,
	}
	for _, r := range subnets {
		v.Subnets = append(v.Subnets, subnetView{
			Name: r.name + ".0/24", Nodes: r.nodes, Live: r.live, Vessels: r.vessels,
			Held: r.held, Available: r.avail, Free: r.vessels - r.held,
		})
	}
	sp, ap := v.SubPager.Page, v.AccPager.Page
	v.SubPager.link(func(n int) string { return statusURL(n, ap, "subnets") })
	v.AccPager.link(func(n int) string { return statusURL(sp, n, "accounts") })
	for _, a := range accounts {
		v.Accounts = append(v.Accounts, accountViewOf(a, ov.now))
	}
	calls, total, faults, injected := p.recent.snapshot()
	v.CallsTotal, v.CallsFaults, v.CallsInjected, v.CallsKept = total, faults, injected, p.recent.size
	for _, c := range calls {
		v.Calls = append(v.Calls, c.view(wall))
	}
	v.Faults = faultsViewOf(p.s.Faults())
	if v.NodeManagers, err = nmViewOf(p.s); err != nil {
		return nil, err
	}
	report, err := p.s.Report()
	if err != nil {
		return nil, err
	}
	v.FindingsTotal, v.ReportGaps = len(report.Findings), report.gaps()
	for _, f := range report.Findings[:min(len(report.Findings), statusFindingsShown)] {
		v.Findings = append(v.Findings, findingView{
			Kind: string(f.Kind), Account: clip(f.accountLabel(), clipMethod), Message: f.Message,
		})
	}
	return &v, nil
}

// faultsViewOf formats the fault status for the page.
func faultsViewOf(fs FaultStatus) faultsView {
	out := faultsView{Seed: fs.Profile.Seed}
	for i, r := range fs.Profile.Rules {
		out.Rules = append(out.Rules, faultRuleView{Text: r.String(), Fired: fs.Fired[i]})
	}
	for _, k := range faultKinds {
		if n := fs.Injected[k]; n > 0 {
			out.Counts = append(out.Counts, kindCount{Kind: string(k), N: n})
		}
	}
	return out
}

// accountViewOf formats an account's row for the page at mock time now.
func accountViewOf(a accountRow, now int64) accountView {
	out := accountView{
		Username:    a.name,
		Affiliation: clip(a.affiliation, clipAffiliation),
		Port:        a.port,
		Used:        a.held,
		Max:         a.max,
		Full:        a.held >= a.max,
		Donations:   a.donations,
		Banned:      a.banned,
		More:        a.more,
	}
	for _, v := range a.soonest {
		left := time.Duration(v.expires - now)
		out.Vessels = append(out.Vessels, vesselView{
			Handle:     clip(v.nodeID, clipNodeID) + ":v" + strconv.Itoa(v.num),
			NodeIP:     clip(v.nodeIP, clipNodeIP),
			ExpiresIn:  formatLeft(left),
			Soon:       left < 30*time.Minute,
			NodeOnline: v.nodeUsable,
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
	out.Injected = c.injected
	if c.skipped {
		out.Fault, out.Result = true, "not applied"
	}
	return out
}

// faultName names the fault codes of contract §2.1.
func faultName(code int) string {
	switch code {
	case codeMalformed:
		return "malformed"
	case codeInternal:
		return "internal"
	case codeAuthentication:
		return "auth"
	case codeInvalidRequest:
		return "invalid request"
	case codeNotEnoughCredits:
		return "not enough credits"
	case codeUnableToAcquire:
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
