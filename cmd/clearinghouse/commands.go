package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/chconfig"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

func wideFlag(fs *flag.FlagSet, o *cmdOpts) {
	fs.BoolVar(&o.wide, "wide", false, "show full handles instead of the short form")
}

func noArgs(name string, args []string) error {
	if len(args) > 0 {
		return usageErr("", "%s takes no arguments (got %q)", name, args)
	}
	return nil
}

// ---- account ----

var accountCmd = &command{
	name:    "account",
	summary: "show the account: credits, vessels held, next expiry",
	help: `Show the account's name, affiliation, user port, vessel credits (total,
held and free) and which vessel expires next.

Examples:
  clearinghouse account
  clearinghouse account --json | jq .free_credits
`,
	run: (*app).runAccount,
}

type jsonAccount struct {
	Username            string `json:"username"`
	Affiliation         string `json:"affiliation"`
	UserPort            int    `json:"user_port"`
	MaxVessels          int    `json:"max_vessels"`
	VesselsHeld         int    `json:"vessels_held"`
	FreeCredits         int    `json:"free_credits"` // negative when over the limit
	NextExpiryInSeconds *int64 `json:"next_expiry_in_seconds"`
	URL                 string `json:"url"`
}

func (a *app) runAccount(ctx context.Context, args []string) error {
	if err := noArgs("account", args); err != nil {
		return err
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}
	info, err := c.GetAccountInfo(ctx)
	if err != nil {
		return err
	}
	vs, err := c.GetResourceInfo(ctx)
	if err != nil {
		return err
	}
	held := len(vs)
	free := info.MaxVessels - held
	next, hasNext := soonest(vs)
	if a.g.json {
		out := jsonAccount{
			Username: info.Username, Affiliation: info.UserAffiliation, UserPort: info.UserPort,
			MaxVessels: info.MaxVessels, VesselsHeld: held, FreeCredits: free, URL: c.URL(),
		}
		if hasNext {
			s := int64(next.ExpiresIn.Seconds())
			out.NextExpiryInSeconds = &s
		}
		return a.writeJSON(out)
	}
	credits := fmt.Sprintf("%d (%d held, %d free)", info.MaxVessels, held, max(free, 0))
	if free < 0 {
		credits = fmt.Sprintf("%d (%d held: %d over the limit, so renewals fail until you release %d)", info.MaxVessels, held, -free, -free)
	}
	nextExpiry := "-"
	if hasNext {
		nextExpiry = formatDuration(next.ExpiresIn) + " (" + shortHandles(vs)[next.Handle] + ")"
	}
	return a.writeKeyValues([][2]string{
		{"USERNAME", info.Username},
		{"AFFILIATION", info.UserAffiliation},
		{"USER PORT", strconv.Itoa(info.UserPort)},
		{"CREDITS", credits},
		{"NEXT EXPIRY", nextExpiry},
		{"URL", c.URL()},
	})
}

// ---- list ----

var listCmd = &command{
	name:    "list",
	summary: "list the vessels the account holds",
	help: `List the vessels the account holds: handle, node address and port, whether
the node is active, and the time left on the lease. Handles are shown in a
short form ("...41873349:v4", the end of the node id and the vessel name)
that renew and release accept; --wide and --json show them in full.

Examples:
  clearinghouse list
  clearinghouse list --wide
  clearinghouse list --json | jq -r '.vessels[].handle'
`,
	flags: wideFlag,
	run:   (*app).runList,
}

func (a *app) runList(ctx context.Context, args []string) error {
	if err := noArgs("list", args); err != nil {
		return err
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}
	vs, err := c.GetResourceInfo(ctx)
	if err != nil {
		return err
	}
	if len(vs) == 0 && !a.g.json {
		a.note("no vessels held; acquire some with `clearinghouse acquire wan 2`")
	}
	return a.writeVessels(vs, a.o.wide)
}

// ---- acquire ----

var acquireCmd = &command{
	name:    "acquire",
	args:    "TYPE N",
	summary: "acquire N vessels of TYPE: lan, wan, nat or random",
	help: `Acquire N vessels of TYPE, all or nothing:
  lan     on nodes in one /24 subnet
  wan     on nodes in N different /24 subnets
  nat     on nodes behind NAT
  random  anywhere
New vessels expire after 4 hours; renew them (7 days) or run keep.

Examples:
  clearinghouse acquire wan 3
  clearinghouse acquire lan 2 --json | jq -r '.vessels[].handle'
`,
	flags: wideFlag,
	run:   (*app).runAcquire,
}

func parseType(s string) (clearinghouse.ResourceType, error) {
	switch t := clearinghouse.ResourceType(strings.ToLower(s)); t {
	case clearinghouse.LAN, clearinghouse.WAN, clearinghouse.NAT, clearinghouse.Random:
		return t, nil
	}
	return "", usageErr("TYPE is one of lan, wan, nat and random", "unknown vessel type %q", s)
}

func (a *app) runAcquire(ctx context.Context, args []string) error {
	if len(args) != 2 {
		return usageErr("", "acquire takes TYPE and N, such as `clearinghouse acquire wan 3`")
	}
	typ, err := parseType(args[0])
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 {
		return usageErr("", "N must be a whole number of vessels, at least 1 (got %q)", args[1])
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}
	vs, err := c.AcquireResources(ctx, typ, n)
	if err != nil {
		return err
	}
	if err := a.writeVessels(vs, a.o.wide); err != nil {
		return err
	}
	a.note("acquired %s (%s), expiring in %s: renew with `clearinghouse renew --all`, or keep them alive with `clearinghouse keep`",
		plural(len(vs), "vessel"), typ, leaseLeft(vs))
	return nil
}

func leaseLeft(vs []clearinghouse.Vessel) string {
	if v, ok := soonest(vs); ok {
		return formatDuration(v.ExpiresIn)
	}
	return "-"
}

// ---- acquire-specific ----

var acquireSpecificCmd = &command{
	name:    "acquire-specific",
	args:    "HANDLE...",
	summary: "acquire particular vessels by their full handles",
	help: `Try to acquire each of the vessels named by a full handle ("<node id>:<vessel>",
quoted: node ids contain a space), and show those acquired. Vessels held by
anyone, you included, and vessels on inactive nodes are skipped. HANDLE "-"
reads handles from stdin, one per line. Exits with 5 (unable to acquire)
when none could be acquired; acquiring only some is a success, and the
others are named on stderr.

Examples:
  clearinghouse acquire-specific "65537 1234...5678:v4"
  clearinghouse list --json | jq -r '.vessels[].handle' > mine.txt
  clearinghouse acquire-specific - < mine.txt
`,
	flags: wideFlag,
	run:   (*app).runAcquireSpecific,
}

func (a *app) runAcquireSpecific(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErr("", "acquire-specific needs at least one HANDLE (or - to read them from stdin)")
	}
	handles, err := a.expandHandles(args)
	if err != nil {
		return err
	}
	if len(handles) == 0 {
		return usageErr("", "no handles given")
	}
	hs := make([]clearinghouse.Handle, len(handles))
	for i, h := range handles {
		hs[i] = clearinghouse.Handle(h)
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}
	vs, err := c.AcquireSpecificVessels(ctx, hs)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return &cliError{code: exitUnable, msg: fmt.Sprintf("none of the %s could be acquired", plural(len(hs), "vessel")),
			hint: "they are held by someone (perhaps you: see `clearinghouse list --wide`) or their nodes are inactive"}
	}
	if err := a.writeVessels(vs, a.o.wide); err != nil {
		return err
	}
	got := map[clearinghouse.Handle]bool{}
	for _, v := range vs {
		got[v.Handle] = true
	}
	var missed []clearinghouse.Handle
	for _, h := range hs {
		if !got[h] {
			missed = append(missed, h)
		}
	}
	a.note("acquired %s of %d, expiring in %s", plural(len(vs), "vessel"), len(hs), leaseLeft(vs))
	if len(missed) > 0 {
		a.note("not acquired (held by someone, or the node is inactive): %s", joinHandles(missed, nil))
	}
	return nil
}

// maxHandleInput bounds what expandHandles reads from stdin: tens of
// thousands of handles, far more than an account holds.
const maxHandleInput = 4 << 20

// expandHandles replaces the argument "-" by the handles on stdin, one per
// line (blank lines and lines starting with # are skipped).
func (a *app) expandHandles(args []string) ([]string, error) {
	var out []string
	stdinUsed := false
	for _, arg := range args {
		if arg != "-" {
			out = append(out, arg)
			continue
		}
		if stdinUsed {
			return nil, usageErr("", "- (stdin) given twice")
		}
		stdinUsed = true
		in := &io.LimitedReader{R: a.stdin, N: maxHandleInput + 1}
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line != "" && !strings.HasPrefix(line, "#") {
				out = append(out, line)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, usageErr("", "reading handles from stdin: %v", err)
		}
		if in.N == 0 {
			return nil, usageErr("", "more than %d MiB of handles on stdin", maxHandleInput>>20)
		}
	}
	return out, nil
}

// selectHeld maps the arguments of renew, release and keep to the handles
// of vessels the account holds. An argument is a full handle, or the short
// form list prints ("...41873349:v4"), or any other unique end of a handle
// that includes the ":". An argument of either form that names no vessel
// held is returned apart, in notHeld: the command skips it with a note (the
// clearinghouse would skip it silently), and fails only when no argument
// is left (noneHeld). An argument that is no handle at all, or that
// matches several vessels, is an error.
func selectHeld(args []string, held []clearinghouse.Vessel) (sel []clearinghouse.Handle, notHeld []string, err error) {
	seen := map[clearinghouse.Handle]bool{}
	add := func(h clearinghouse.Handle) {
		if !seen[h] {
			seen[h] = true
			sel = append(sel, h)
		}
	}
	for _, arg := range args {
		if i := indexHandle(held, arg); i >= 0 {
			add(held[i].Handle)
			continue
		}
		if strings.Contains(arg, " ") { // a full handle ("<node id>:<vessel>")
			notHeld = append(notHeld, arg)
			continue
		}
		suffix := strings.TrimPrefix(arg, ellipsis)
		if !strings.Contains(suffix, ":") {
			return nil, nil, usageErr("give a full handle, or the short form `clearinghouse list` shows (...DIGITS:vN)", "%q is not a vessel handle", arg)
		}
		var matches []clearinghouse.Handle
		for _, v := range held {
			if strings.HasSuffix(string(v.Handle), suffix) {
				matches = append(matches, v.Handle)
			}
		}
		switch len(matches) {
		case 0:
			notHeld = append(notHeld, arg)
		case 1:
			add(matches[0])
		default:
			return nil, nil, usageErr("give more of the node id, or the full handle (`clearinghouse list --wide`)", "%q matches %d of your vessels", arg, len(matches))
		}
	}
	return sel, notHeld, nil
}

// noneHeld is the error of renew, release and keep when none of the
// handles given names a vessel the account holds: a usage error (exit
// code 2), decided by the command, whichever form the handles take. The
// command cannot tell why a vessel is not held (the clearinghouse lists
// only the vessels an account holds), so it says what may be the cause.
func noneHeld(cmd, user string) *cliError {
	if cmd == "renew" {
		return usageErr("see `clearinghouse list`; an expired vessel that is still free can be acquired again with `clearinghouse acquire-specific \"FULL HANDLE\"`",
			"none of the given vessels is held by %s: each has expired, has been released or is someone else's, and an expired vessel cannot be renewed", user)
	}
	return usageErr("see `clearinghouse list`", "none of the given vessels is held by %s: each has expired, has been released or is someone else's", user)
}

func indexHandle(vs []clearinghouse.Vessel, h string) int {
	for i, v := range vs {
		if string(v.Handle) == h {
			return i
		}
	}
	return -1
}

// heldSelection lists the account's vessels and picks those the command
// acts on: all of them with --all, else those named by args.
func (a *app) heldSelection(ctx context.Context, c *clearinghouse.Client, args []string) (held []clearinghouse.Vessel, sel []clearinghouse.Handle, err error) {
	held, err = c.GetResourceInfo(ctx)
	if err != nil {
		return nil, nil, err
	}
	if a.o.all {
		return held, clearinghouse.Handles(held), nil
	}
	sel, notHeld, err := selectHeld(args, held)
	if err != nil {
		return nil, nil, err
	}
	if len(sel) == 0 {
		return nil, nil, noneHeld(a.cmd.name, a.set.Account.Username)
	}
	if len(notHeld) > 0 {
		a.note("not held by %s, skipped: %s", a.set.Account.Username, strings.Join(notHeld, ", "))
	}
	return held, sel, nil
}

// checkSelectionArgs validates "--all or handles" before any call.
func (a *app) checkSelectionArgs(name string, args []string) ([]string, error) {
	switch {
	case a.o.all && len(args) > 0:
		return nil, usageErr("", "%s: give --all or handles, not both", name)
	case !a.o.all && len(args) == 0:
		return nil, usageErr("", "%s needs --all or at least one HANDLE", name)
	}
	return a.expandHandles(args)
}

func allFlag(what string) func(fs *flag.FlagSet, o *cmdOpts) {
	return func(fs *flag.FlagSet, o *cmdOpts) {
		fs.BoolVar(&o.all, "all", false, what+" every vessel the account holds")
		wideFlag(fs, o)
	}
}

// ---- renew ----

var renewCmd = &command{
	name:    "renew",
	args:    "--all | HANDLE...",
	summary: "reset the expiry of vessels to 7 days from now",
	help: `Renew vessels: their leases then run out 7 days from now. HANDLE is a full
handle or the short form list shows; "-" reads handles from stdin. A HANDLE
that names no vessel the account holds is skipped with a note; when none
does, renew does nothing and exits with 2. A vessel whose lease has run out
is no longer held and cannot be renewed; acquire-specific may get it back.
An account holding more vessels than its credits cannot renew (exit code
4). To renew automatically, use keep.

Examples:
  clearinghouse renew --all
  clearinghouse renew ...41873349:v4 ...90215561:v2
`,
	flags: allFlag("renew"),
	run:   (*app).runRenew,
}

func (a *app) runRenew(ctx context.Context, args []string) error {
	args, err := a.checkSelectionArgs("renew", args)
	if err != nil {
		return err
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}
	held, sel, err := a.heldSelection(ctx, c, args)
	if err != nil {
		return err
	}
	if len(sel) == 0 {
		a.note("no vessels held; nothing to renew")
		return a.writeVessels(nil, a.o.wide)
	}
	if err := c.RenewResources(ctx, sel); err != nil {
		return err
	}
	after, err := c.GetResourceInfo(ctx)
	if err != nil {
		return err
	}
	want := map[clearinghouse.Handle]bool{}
	for _, h := range sel {
		want[h] = true
	}
	var renewed []clearinghouse.Vessel
	for _, v := range after {
		if want[v.Handle] {
			renewed = append(renewed, v)
			delete(want, v.Handle)
		}
	}
	if err := a.writeVessels(renewed, a.o.wide); err != nil {
		return err
	}
	a.note("renewed %s, now expiring in %s", plural(len(renewed), "vessel"), leaseLeft(renewed))
	if len(want) > 0 {
		// Listed just before, gone just after: the renewal came too late
		// for it, or someone released it meanwhile. Its lease time then
		// lets the user judge which.
		short := shortHandles(held)
		if a.o.wide {
			short = nil
		}
		var gone []string
		for _, v := range held {
			if want[v.Handle] {
				gone = append(gone, fmt.Sprintf("%s (%s left when listed)", joinHandles([]clearinghouse.Handle{v.Handle}, short), formatDuration(v.ExpiresIn)))
			}
		}
		a.note("no longer held after the renewal, so not renewed (expired or released meanwhile): %s", strings.Join(gone, ", "))
	}
	return nil
}

// ---- release ----

var releaseCmd = &command{
	name:    "release",
	args:    "--all | HANDLE...",
	summary: "release vessels, freeing their credits",
	help: `Release vessels: they go back to the clearinghouse and their credits are
free again. HANDLE is a full handle or the short form list shows; "-"
reads handles from stdin. A HANDLE that names no vessel the account holds
is skipped with a note; when none does, release does nothing and exits
with 2.

Examples:
  clearinghouse release --all
  clearinghouse release ...41873349:v4
  clearinghouse list --json | jq -r '.vessels[] | select(.is_active == false) | .handle' |
    clearinghouse release -
`,
	flags: allFlag("release"),
	run:   (*app).runRelease,
}

func (a *app) runRelease(ctx context.Context, args []string) error {
	args, err := a.checkSelectionArgs("release", args)
	if err != nil {
		return err
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}
	held, sel, err := a.heldSelection(ctx, c, args)
	if err != nil {
		return err
	}
	if len(sel) > 0 {
		if err := c.ReleaseResources(ctx, sel); err != nil {
			return err
		}
	}
	if a.g.json {
		released := make([]string, len(sel))
		for i, h := range sel {
			released[i] = string(h)
		}
		return a.writeJSON(struct {
			Released []string `json:"released"`
		}{released})
	}
	if len(sel) == 0 {
		fmt.Fprintln(a.stdout, "no vessels held; nothing to release")
		return nil
	}
	short := shortHandles(held)
	if a.o.wide {
		short = nil
	}
	fmt.Fprintf(a.stdout, "released %s: %s\n", plural(len(sel), "vessel"), a.clean(joinHandles(sel, short)))
	return nil
}

// ---- public-key ----

var publicKeyCmd = &command{
	name:    "public-key",
	summary: "print the account's public key",
	help: `Print the public key the clearinghouse has for the account ("<e> <n>").

Examples:
  clearinghouse public-key > me.publickey
`,
	run: (*app).runPublicKey,
}

func (a *app) runPublicKey(ctx context.Context, args []string) error {
	if err := noArgs("public-key", args); err != nil {
		return err
	}
	c, err := a.client(true)
	if err != nil {
		return err
	}
	key, err := c.GetPublicKey(ctx)
	if err != nil {
		return err
	}
	if a.g.json {
		return a.writeJSON(struct {
			PublicKey string `json:"public_key"`
		}{key})
	}
	fmt.Fprintln(a.stdout, a.clean(key))
	return nil
}

// ---- regenerate-api-key ----

func passwordFlag(fs *flag.FlagSet, o *cmdOpts) {
	fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of stdin instead of the terminal")
}

var regenerateCmd = &command{
	name:    "regenerate-api-key",
	summary: "make a new API key and print it (asks for the password)",
	help: `Ask the clearinghouse for a new API key and print it on stdout. The old key
stops working at once. Authenticates with the account's password, read from
the terminal without echo, or from stdin with --password-stdin; no API key
is needed, so this is how to recover a lost one.

Examples:
  clearinghouse regenerate-api-key > ~/.clearinghouse-key && chmod 600 ~/.clearinghouse-key
  pass show seattle | clearinghouse regenerate-api-key --password-stdin
`,
	flags: passwordFlag,
	run:   (*app).runRegenerate,
}

func (a *app) runRegenerate(ctx context.Context, args []string) error {
	if err := noArgs("regenerate-api-key", args); err != nil {
		return err
	}
	c, err := a.client(false)
	if err != nil {
		return err
	}
	pw, err := a.readPassword(ctx, c)
	if err != nil {
		return err
	}
	key, err := c.RegenerateAPIKey(ctx, pw)
	if err != nil {
		return err
	}
	if a.g.json {
		err = a.writeJSON(struct {
			APIKey string `json:"api_key"`
		}{key})
	} else {
		_, err = fmt.Fprintln(a.stdout, textclip.Escape(key)) // the new key: printed, not redacted
	}
	if err != nil {
		return err
	}
	a.note("the old API key no longer works; update %s, your --api-key-file or the creds file", chconfig.EnvAPIKey)
	return nil
}

// ---- set-public-key ----

var setPublicKeyCmd = &command{
	name:    "set-public-key",
	args:    "KEY | --file FILE",
	summary: "replace the account's public key (asks for the password)",
	help: `Replace the account's public key ("<e> <n>") with KEY, or with the key in
FILE ("-": stdin). Authenticates with the account's password, read from the
terminal without echo, or from stdin with --password-stdin. Afterwards the
API key can be fetched only with the matching new private key.

Examples:
  clearinghouse set-public-key --file alice.publickey
  clearinghouse set-public-key "$(cat alice.publickey)"
`,
	flags: func(fs *flag.FlagSet, o *cmdOpts) {
		fs.StringVar(&o.file, "file", "", "read the public key from `file` (- for stdin)")
		passwordFlag(fs, o)
	},
	run: (*app).runSetPublicKey,
}

func (a *app) runSetPublicKey(ctx context.Context, args []string) error {
	var key string
	switch {
	case a.o.file != "" && len(args) > 0:
		return usageErr("", "give the key as an argument or with --file, not both")
	case a.o.file == "" && len(args) != 1:
		return usageErr("", "set-public-key needs the key as one (quoted) argument, or --file FILE")
	case a.o.file == "-":
		if a.o.passwordStdin {
			return usageErr("", "--file - and --password-stdin cannot both read stdin")
		}
		data, err := readAllLimited(a.stdin)
		if err != nil {
			return usageErr("", "reading the public key from stdin: %v", err)
		}
		key = data
	case a.o.file != "":
		data, err := safefile.ReadFile(a.o.file, safefile.MaxKey)
		if err != nil {
			return usageErr("", "reading the public key (--file): %v", err)
		}
		key = string(data)
	default:
		key = args[0]
	}
	key = strings.TrimSpace(key)
	if _, err := seattlersa.ParsePublicKey(key); err != nil {
		hint := "a public key is two numbers, \"<e> <n>\""
		if len(strings.Fields(key)) == 3 {
			hint = "that looks like a private key (three numbers); give the public key, \"<e> <n>\""
		}
		return usageErr(hint, "not a valid public key")
	}
	c, err := a.client(false)
	if err != nil {
		return err
	}
	pw, err := a.readPassword(ctx, c)
	if err != nil {
		return err
	}
	if err := c.SetPublicKey(ctx, pw, key); err != nil {
		return err
	}
	if a.g.json {
		return a.writeJSON(struct {
			PublicKey string `json:"public_key"`
		}{key})
	}
	a.note("public key of %s replaced", c.Username())
	return nil
}
