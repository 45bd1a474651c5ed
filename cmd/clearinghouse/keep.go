package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/clearinghouse/keeper"
)

var keepCmd = &command{
	name:    "keep",
	args:    "[--all | HANDLE...]",
	summary: "keep vessels alive, renewing them until interrupted",
	help: `Run in the foreground and keep vessels alive: renew each one before it
expires (once less than --margin is left), report vessels that are lost
(expired, released elsewhere, node gone) and, with --replace, acquire new
ones in their place. Without handles it keeps every vessel held now. A
short HANDLE that names no vessel held is skipped with a note (none: exit
code 2); given full handles only, keep starts without looking and reports
those it does not find as lost.

--margin and --check-interval are lease time, on the clearinghouse's
clock. keep measures how fast that clock runs from the lease times the
clearinghouse reports, and schedules by the fastest rate its measurements
allow, so it works against a mock run at up to 1000 times real time with
the default flags. A vessel missing from one listing is looked for again
at once; only a vessel missing from two in a row is lost.

On a terminal it shows a status line that it rewrites in place; otherwise
(a pipe, a file) it prints one line per event, and with --json one JSON
object per line. Ctrl-C (or SIGTERM) stops it cleanly: it looks at the
vessels once more and prints a summary that counts as kept only the
vessels that last look listed (the others are unknown), with exit code 0;
the vessels stay held until their lease runs out. It exits with 3 if
authentication fails, and with 8 when every kept vessel is lost and
--replace is not given. An account over its credit limit cannot renew:
that is reported and retried, not fatal.

Examples:
  clearinghouse keep
  clearinghouse keep --replace wan --margin 6h
  nohup clearinghouse keep --json > keep.log 2>&1 &
`,
	flags: keepFlags,
	run:   (*app).runKeep,
}

// maxMargin bounds --margin: a renewed lease runs for 7 days, so a margin
// of 7 days or more would renew without end.
const maxMargin = 7 * 24 * time.Hour

func keepFlags(fs *flag.FlagSet, o *cmdOpts) {
	o.margin, o.checkEvery = keeper.DefaultRenewMargin, keeper.DefaultCheckInterval
	fs.BoolVar(&o.all, "all", false, "keep every vessel held now (the default without handles)")
	durationVar(fs, &o.margin, "margin", true, maxMargin, "a duration above 0 and below 7 days, such as 30m or 6h",
		"renew once less than `duration` is left of a lease, by the clearinghouse's clock")
	fs.StringVar(&o.replace, "replace", "", "replace lost vessels by acquiring vessels of `type` (lan, wan, nat, random)")
	durationVar(fs, &o.checkEvery, "check-interval", false, 0, "a duration, 0 or more, such as 30s or 5m",
		"look for lost vessels every `duration` of the clearinghouse's clock between renewals (0: only when renewing)")
}

// runKeep checks the arguments, picks the vessels and runs the keeper
// over them in the foreground. The flags' ranges are checked as they are
// parsed (keepFlags).
func (a *app) runKeep(ctx context.Context, args []string) error {
	if a.o.all && len(args) > 0 {
		return usageErr("", "keep: give --all or handles, not both")
	}
	opts, err := a.keeperOptions()
	if err != nil {
		return err
	}
	args, err = a.expandHandles(args)
	if err != nil {
		return err
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}

	out := &keepOutput{a: a, tty: !a.g.json && a.isTTY(a.stdout), start: time.Now()}
	handles, err := a.keepHandles(ctx, c, args)
	if err != nil {
		if ctx.Err() != nil { // interrupted before the keeper started
			return out.final(keeper.Snapshot{}, nil)
		}
		return err
	}
	if len(handles) == 0 {
		a.note("no vessels held; nothing to keep (acquire some with `clearinghouse acquire wan 2`)")
		return out.final(keeper.Snapshot{}, nil)
	}
	k, err := keeper.New(c, handles, opts...)
	if err != nil {
		return err
	}
	return a.runKeeper(ctx, k, out)
}

// keeperOptions turns keep's flags into the keeper's options.
func (a *app) keeperOptions() ([]keeper.Option, error) {
	opts := []keeper.Option{
		keeper.WithRenewMargin(a.o.margin),
		keeper.WithCheckInterval(a.o.checkEvery),
	}
	if a.o.replace != "" {
		typ, err := parseType(a.o.replace)
		if err != nil {
			return nil, err
		}
		opts = append(opts, keeper.WithReplacement(typ))
	}
	return opts, nil
}

// runKeeper runs k until ctx ends, or until every vessel is lost without
// --replace, reports what it does, and ends with the summary.
func (a *app) runKeeper(ctx context.Context, k *keeper.Keeper, out *keepOutput) error {
	kctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- k.Run(kctx) }()
	out.start = time.Now()
	out.begin(k.Snapshot())

	allLost := a.watchKeeper(k, out, stop)
	runErr := <-errc
	// Claim nothing not seen: look once more before the summary, even
	// after Ctrl-C (a second one kills the command: see main), within
	// --timeout.
	var verifyErr error
	if errors.Is(runErr, clearinghouse.ErrAuthentication) {
		verifyErr = runErr // no use asking again
	} else {
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.g.timeout)
		verifyErr = k.Verify(vctx)
		cancel()
	}
	if err := out.final(k.Snapshot(), verifyErr); err != nil {
		return err
	}
	switch {
	case runErr != nil:
		return runErr
	case allLost:
		return &cliError{code: exitLost, msg: "every kept vessel was lost; nothing left to keep",
			hint: "acquire new ones with `clearinghouse acquire`, or run keep with --replace TYPE to replace lost vessels"}
	}
	return nil
}

// watchKeeper reports k's events until it closes its event channel,
// redrawing the status line on a terminal. When the last vessel is lost
// and --replace is not given, it stops the keeper and reports allLost.
func (a *app) watchKeeper(k *keeper.Keeper, out *keepOutput, stop context.CancelFunc) (allLost bool) {
	var tick <-chan time.Time
	if out.tty {
		every := a.statusEvery
		if every <= 0 {
			every = time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for events := k.Events(); events != nil; {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			snap := k.Snapshot()
			out.event(ev, snap)
			if ev.Kind == keeper.EventLost && a.o.replace == "" && len(snap.Vessels) == 0 {
				allLost = true
				stop()
			}
		case <-tick:
			out.status(k.Snapshot())
		}
	}
	return allLost
}

// keepHandles picks the vessels to keep: those named, or all held.
func (a *app) keepHandles(ctx context.Context, c *clearinghouse.Client, args []string) ([]clearinghouse.Handle, error) {
	full := len(args) > 0
	for _, arg := range args {
		if !strings.Contains(arg, " ") {
			full = false
		}
	}
	if full { // full handles: the keeper itself finds out which are held
		hs := make([]clearinghouse.Handle, len(args))
		for i, h := range args {
			hs[i] = clearinghouse.Handle(h)
		}
		return hs, nil
	}
	held, err := c.GetResourceInfo(ctx)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return clearinghouse.Handles(held), nil
	}
	sel, notHeld, err := selectHeld(args, held)
	if err != nil {
		return nil, err
	}
	if len(sel) == 0 {
		return nil, noneHeld("keep", c.Username())
	}
	if len(notHeld) > 0 {
		a.note("not held by %s, not kept: %s", c.Username(), strings.Join(notHeld, ", "))
	}
	return sel, nil
}

// isTTY reports whether w is a terminal (tests may override it).
func (a *app) isTTY(w io.Writer) bool {
	if a.ttyOverride != nil {
		return *a.ttyOverride
	}
	f, ok := w.(*os.File)
	return ok && isTerminal(f.Fd())
}

// keepOutput prints what keep does: on a terminal a status line
// rewritten in place with event lines above it, otherwise one line per
// event, or with --json one object per line.
type keepOutput struct {
	a       *app
	tty     bool
	start   time.Time
	lineLen int // length of the status line on screen, to blank it
}

type jsonKeepEvent struct {
	Time    string   `json:"time"`
	Event   string   `json:"event"` // started, renewed, lost, replaced, error, summary
	Handles []string `json:"handles,omitempty"`
	Error   string   `json:"error,omitempty"`
	RetryAt string   `json:"retry_at,omitempty"`

	// In "started" and "summary" events. In the summary, kept counts the
	// vessels the final look listed, unknown the others the keeper still
	// kept (unknown_handles names them; final_look_error says why, if the
	// look failed).
	Kept              *int     `json:"kept,omitempty"`
	Unknown           *int     `json:"unknown,omitempty"`
	UnknownHandles    []string `json:"unknown_handles,omitempty"`
	FinalLookError    string   `json:"final_look_error,omitempty"`
	Renewals          *int     `json:"renewals,omitempty"`
	Lost              *int     `json:"lost,omitempty"`
	Replaced          *int     `json:"replaced,omitempty"`
	Found             *int     `json:"found,omitempty"`
	ClockRate         float64  `json:"clock_rate,omitempty"`
	NextExpiryAt      string   `json:"next_expiry_at,omitempty"`
	RanSeconds        *int64   `json:"ran_seconds,omitempty"`
	LastError         *string  `json:"last_error,omitempty"`
	OverCreditLimit   bool     `json:"over_credit_limit,omitempty"`
	MarginSeconds     int64    `json:"margin_seconds,omitempty"`
	ReplacementType   string   `json:"replacement_type,omitempty"`
	CheckIntervalSecs int64    `json:"check_interval_seconds,omitempty"`
	DroppedEvents     int      `json:"dropped_events,omitempty"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func handleStrings(hs []clearinghouse.Handle) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = string(h)
	}
	return out
}

func (o *keepOutput) begin(snap keeper.Snapshot) {
	a := o.a
	n := snap.Target
	if a.g.json {
		a.writeJSONLine(jsonKeepEvent{
			Time: rfc3339(time.Now()), Event: "started", Kept: &n,
			MarginSeconds: int64(a.o.margin / time.Second), ReplacementType: strings.ToLower(a.o.replace),
			CheckIntervalSecs: int64(a.o.checkEvery / time.Second),
		})
		return
	}
	what := fmt.Sprintf("keeping %s, renewing %s before expiry", plural(n, "vessel"), formatDuration(a.o.margin))
	if a.o.replace != "" {
		what += ", replacing lost ones with " + strings.ToLower(a.o.replace) + " vessels"
	}
	o.line(what + "; Ctrl-C to stop")
	o.status(snap)
}

// event reports one keeper event.
func (o *keepOutput) event(ev keeper.Event, snap keeper.Snapshot) {
	a := o.a
	if a.g.json {
		j := jsonKeepEvent{Time: rfc3339(ev.Time), Event: ev.Kind.String(), Handles: handleStrings(ev.Handles), RetryAt: rfc3339(ev.Retry)}
		if ev.Err != nil {
			j.Error = ev.Err.Error()
		}
		if ev.Kind == keeper.EventError && snap.OverCreditLimit {
			j.OverCreditLimit = true
		}
		a.writeJSONLine(j)
		return
	}
	short := shortHandles(keptVessels(snap))
	var s string
	switch ev.Kind {
	case keeper.EventRenewed:
		s = fmt.Sprintf("renewed %s: %s", plural(len(ev.Handles), "vessel"), shortList(ev.Handles, short))
	case keeper.EventLost:
		s = fmt.Sprintf("LOST %s: %s", plural(len(ev.Handles), "vessel"), shortList(ev.Handles, nil))
	case keeper.EventReplaced:
		s = fmt.Sprintf("acquired %s to replace lost ones: %s", plural(len(ev.Handles), "vessel"), shortList(ev.Handles, short))
	case keeper.EventFound:
		s = fmt.Sprintf("found %s again, kept: %s", plural(len(ev.Handles), "lost vessel"), shortList(ev.Handles, short))
	default:
		s = "error: " + ev.Err.Error()
		if !ev.Retry.IsZero() {
			s += "; retrying in " + formatDuration(ev.Retry.Sub(ev.Time))
		}
		if snap.OverCreditLimit {
			s += "; the account is over its credit limit: release vessels (`clearinghouse release`) or renewals keep failing"
		}
	}
	stamp := ev.Time.Local().Format("15:04:05")
	if !o.tty {
		stamp = rfc3339(ev.Time)
		s += "; " + statusText(snap, time.Now())
	}
	o.line(stamp + " " + s)
	if o.tty {
		o.status(snap)
	}
}

// keptVessels returns the vessels of a snapshot, for shortHandles.
func keptVessels(snap keeper.Snapshot) []clearinghouse.Vessel {
	vs := make([]clearinghouse.Vessel, len(snap.Vessels))
	for i, kv := range snap.Vessels {
		vs[i] = kv.Vessel
	}
	return vs
}

// shortList names handles in short form where known; handles not in
// short (lost ones) get a short form of their own.
func shortList(hs []clearinghouse.Handle, short map[clearinghouse.Handle]string) string {
	var parts []string
	for _, h := range hs {
		if s, ok := short[h]; ok {
			parts = append(parts, s)
			continue
		}
		s := string(h)
		if i := strings.LastIndexByte(s, ':'); i > 0 {
			node, name := s[:i], s[i+1:]
			if len(node) > shortSuffix+len(ellipsis) {
				s = ellipsis + tail(node, shortSuffix) + ":" + name
			}
		}
		parts = append(parts, s)
	}
	if len(parts) > 6 {
		parts = append(parts[:5], fmt.Sprintf("and %d more", len(parts)-5))
	}
	return strings.Join(parts, ", ")
}

// heldCount counts the vessels of a snapshot the keeper vouches for.
func heldCount(snap keeper.Snapshot) int {
	n := 0
	for _, v := range snap.Vessels {
		if v.Held {
			n++
		}
	}
	return n
}

// statusText is the one-line state of the keeper: "kept" counts the
// vessels its latest look listed, "unconfirmed" the others it keeps (not
// seen yet, missing from a look, or renewed and not looked at since).
func statusText(snap keeper.Snapshot, now time.Time) string {
	held := heldCount(snap)
	parts := []string{fmt.Sprintf("kept %d/%d", held, snap.Target)}
	if n := len(snap.Vessels) - held; n > 0 {
		parts = append(parts, fmt.Sprintf("%d unconfirmed", n))
	}
	switch {
	case snap.NextRenewal.IsZero() && len(snap.Vessels) > 0:
		parts = append(parts, "checking")
	case snap.NextRenewal.IsZero():
	case !snap.NextRenewal.After(now):
		parts = append(parts, "renewing now")
	default:
		parts = append(parts, "next renewal in "+formatDuration(snap.NextRenewal.Sub(now)))
	}
	parts = append(parts,
		fmt.Sprintf("renewals %d", snap.Renewals),
		fmt.Sprintf("lost %d", snap.Lost),
		fmt.Sprintf("replaced %d", snap.Replaced))
	if snap.OverCreditLimit {
		parts = append(parts, "OVER CREDIT LIMIT")
	}
	if snap.LastError != nil {
		parts = append(parts, "last error "+formatDuration(now.Sub(snap.LastErrorTime))+" ago")
	}
	return strings.Join(parts, " | ")
}

// status redraws the status line (terminal only).
func (o *keepOutput) status(snap keeper.Snapshot) {
	if !o.tty {
		return
	}
	s := statusText(snap, time.Now())
	n := utf8.RuneCountInString(s)
	pad := ""
	if n < o.lineLen {
		pad = strings.Repeat(" ", o.lineLen-n)
	}
	fmt.Fprint(o.a.stdout, "\r"+s+pad)
	o.lineLen = n
}

// line prints a whole line, above the status line on a terminal.
func (o *keepOutput) line(s string) {
	if o.tty && o.lineLen > 0 {
		fmt.Fprint(o.a.stdout, "\r"+strings.Repeat(" ", o.lineLen)+"\r")
		o.lineLen = 0
	}
	fmt.Fprintln(o.a.stdout, o.a.clean(s)) // s may quote a server: an error, handles
}

// final prints the final account of the run, from a snapshot taken
// after the final look (Keeper.Verify): kept are the vessels that look
// listed, unknown the others still kept. verifyErr is the final look's
// failure; then nothing counts as kept.
func (o *keepOutput) final(snap keeper.Snapshot, verifyErr error) error {
	a := o.a
	ran := time.Since(o.start)
	var unknown []clearinghouse.Handle
	var first *keeper.Vessel
	for i, kv := range snap.Vessels {
		if verifyErr != nil || !kv.Held {
			unknown = append(unknown, kv.Handle)
			continue
		}
		if first == nil || kv.ExpiresAt.Before(first.ExpiresAt) {
			first = &snap.Vessels[i]
		}
	}
	kept := len(snap.Vessels) - len(unknown)
	if a.g.json {
		nUnknown, secs := len(unknown), int64(ran/time.Second)
		j := jsonKeepEvent{
			Time: rfc3339(time.Now()), Event: "summary", Kept: &kept, Unknown: &nUnknown,
			UnknownHandles: handleStrings(unknown), Renewals: &snap.Renewals,
			Lost: &snap.Lost, Replaced: &snap.Replaced, Found: &snap.Found, RanSeconds: &secs,
			OverCreditLimit: snap.OverCreditLimit, DroppedEvents: snap.DroppedEvents, ClockRate: snap.ClockRate,
		}
		if first != nil {
			j.NextExpiryAt = rfc3339(first.ExpiresAt)
		}
		if verifyErr != nil {
			j.FinalLookError = verifyErr.Error()
		}
		if snap.LastError != nil {
			msg := snap.LastError.Error()
			j.LastError = &msg
		}
		return a.writeJSONLine(j)
	}
	s := fmt.Sprintf("stopped after %s: %s kept", formatDuration(max(ran, time.Second)), plural(kept, "vessel"))
	switch {
	case len(unknown) > 0 && verifyErr != nil:
		s += fmt.Sprintf(", %d unknown (no final look: %v)", len(unknown), verifyErr)
	case len(unknown) > 0:
		s += fmt.Sprintf(", %d unknown (not listed by the final look: %s)", len(unknown), shortList(unknown, nil))
	}
	s += fmt.Sprintf(", %s, %d lost, %d replaced", plural(snap.Renewals, "renewal"), snap.Lost, snap.Replaced)
	if snap.Found > 0 {
		s += fmt.Sprintf(", %d found again", snap.Found)
	}
	if first != nil {
		s += "; still held, the first expires in " + expiryText(*first, snap.ClockRate, time.Now()) + " (renew, or run keep again)"
	}
	if snap.LastError != nil {
		s += "; last error: " + snap.LastError.Error()
	}
	o.line(s)
	return nil
}

// expiryText says when a held vessel's lease ends: by the clearinghouse's
// clock, and when that clock may run faster than real time, also at the
// earliest by ours.
func expiryText(v keeper.Vessel, rate float64, now time.Time) string {
	s := formatDuration(v.ExpiresIn)
	if rate > 1.001 {
		s += fmt.Sprintf(" of the clearinghouse's time (at least %s of real time: its clock may run up to %.4g times as fast)",
			formatDuration(v.ExpiresAt.Sub(now)), rate)
	}
	return s
}
