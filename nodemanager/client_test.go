package nodemanager

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
	"github.com/seattletestbed/clearinghouse-go/internal/nmtest"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
	"unicode/utf8"

	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
)

func TestNewOptions(t *testing.T) {
	c := newClient(t, "user")
	if c.PublicKey() != key("user").pub {
		t.Errorf("PublicKey() = %q, want the user's", c.PublicKey())
	}
	if c2 := newClient(t, ""); c2.PublicKey() != "" {
		t.Errorf("PublicKey() without a key = %q", c2.PublicKey())
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "user.privatekey")
	if err := os.WriteFile(file, []byte(key("user").priv+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c3, err := New(WithPrivateKeyFile(file)); err != nil || c3.PublicKey() != key("user").pub {
		t.Errorf("WithPrivateKeyFile: %v", err)
	}
	if _, err := New(WithPrivateKey(key("user").priv), WithPublicKey(key("user").pub)); err != nil {
		t.Errorf("matching WithPublicKey: %v", err)
	}
	// A key pair with e = 3 needs its public key.
	p, q := big.NewInt(1000000007), big.NewInt(998244353)
	d := new(big.Int).ModInverse(big.NewInt(3), big.NewInt(1000000006/2*998244352))
	e3priv := (&seattlersa.PrivateKey{D: d, P: p, Q: q}).String()
	e3pub := "3 " + new(big.Int).Mul(p, q).String()
	if _, err := New(WithPrivateKey(e3priv)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("an e = 3 key without its public key: %v", err)
	}
	if c4, err := New(WithPrivateKey(e3priv), WithPublicKey(e3pub)); err != nil || c4.PublicKey() != e3pub {
		t.Errorf("an e = 3 key with its public key: %v", err)
	}
	for name, opts := range map[string][]Option{
		"zero option":             {{}},
		"bad private key":         {WithPrivateKey("1 2")},
		"missing key file":        {WithPrivateKeyFile(filepath.Join(dir, "none"))},
		"bad key file":            {WithPrivateKeyFile(filepath.Join(dir))},
		"bad public key":          {WithPrivateKey(key("user").priv), WithPublicKey("3")},
		"public key alone":        {WithPublicKey(key("user").pub)},
		"public key of another":   {WithPrivateKey(key("user").priv), WithPublicKey(key("owner").pub)},
		"nil dialer":              {WithDialer(nil)},
		"zero timeout":            {WithTimeout(0)},
		"zero reply size":         {WithMaxReplySize(0)},
		"negative expiration":     {WithExpiration(-time.Second)},
		"expiration of centuries": {WithExpiration(200 * 365 * 24 * time.Hour)},
		"negative retries":        {WithRetries(-1, 0)},
		"negative backoff":        {WithRetries(1, -time.Second)},
	} {
		c, err := New(opts...)
		if !errors.Is(err, ErrInvalidArgument) || c != nil {
			t.Errorf("%s: New = %v, %v; want ErrInvalidArgument", name, c, err)
		}
		if err != nil && strings.Contains(err.Error(), strings.Fields(key("user").priv)[0]) {
			t.Errorf("%s: the error shows the private key", name)
		}
	}
}

// TestUserCalls makes every call a user may make, successfully, against
// the test node, and checks what the node did.
func TestUserCalls(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	c := newClient(t, "user")
	v := vesselOn(t, c, n, "v1")
	ctx := context.Background()

	info, err := v.Node().GetVessels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NodeKey != n.Key() || info.Nodename != "127.0.0.1" || len(info.Vessels) != 2 || info.Version == "" {
		t.Errorf("GetVessels = %+v", info)
	}
	if usable := info.UsableBy(c.PublicKey()); len(usable) != 1 || usable[0].Name != "v1" {
		t.Errorf("UsableBy(user) = %+v", usable)
	}
	vi, err := v.Info(ctx)
	if err != nil || vi.Status != "Fresh" || vi.OwnerKey != key("owner").pub || !slices.Equal(vi.UserKeys, []string{key("user").pub}) {
		t.Errorf("Info = %+v, %v", vi, err)
	}
	res, err := v.Resources(ctx)
	if err != nil || !slices.Equal(res.Ports(), []int{63101}) || !strings.Contains(res.Text, "resource cpu") {
		t.Errorf("Resources = %+v, %v", res, err)
	}
	if off, err := v.Node().GetOffcutResources(ctx); err != nil || !strings.Contains(off, "diskused") {
		t.Errorf("GetOffcutResources = %q, %v", off, err)
	}
	data := []byte("print('hello')\n|with|pipes|\x00\xff")
	if err := v.AddFile(ctx, "hello.r2py", data); err != nil {
		t.Fatal(err)
	}
	if err := v.AddFile(ctx, "b.txt", nil); err != nil {
		t.Fatal(err)
	}
	if files, err := v.ListFiles(ctx); err != nil || !slices.Equal(files, []string{"b.txt", "hello.r2py"}) {
		t.Errorf("ListFiles = %q, %v", files, err)
	}
	if got, err := v.RetrieveFile(ctx, "hello.r2py"); err != nil || !bytes.Equal(got, data) {
		t.Errorf("RetrieveFile = %q, %v", got, err)
	}
	if err := v.DeleteFile(ctx, "b.txt"); err != nil {
		t.Fatal(err)
	}
	if st, err := v.StartEx(ctx, "repyV2", "hello.r2py arg"); err != nil || st != "Started" {
		t.Errorf("StartEx = %q, %v", st, err)
	}
	if log, err := v.ReadLog(ctx); err != nil || !strings.Contains(log, "repyV2 hello.r2py arg") {
		t.Errorf("ReadLog = %q, %v", log, err)
	}
	if st, err := v.Stop(ctx); err != nil || st != "Stopped" {
		t.Errorf("Stop = %q, %v", st, err)
	}
	if st, err := v.Start(ctx, "hello.r2py"); err != nil || st != "Started" {
		t.Errorf("Start = %q, %v", st, err)
	}
	if err := v.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if files, err := v.ListFiles(ctx); err != nil || len(files) != 0 {
		t.Errorf("ListFiles after Reset = %q, %v", files, err)
	}
	if vi, err := v.Info(ctx); err != nil || vi.Status != "Fresh" {
		t.Errorf("Info after Reset = %+v, %v", vi, err)
	}
	// The wire form: AddFileToVessel's data went as the last argument.
	reqs := n.Requests()
	if !slices.ContainsFunc(reqs, func(r string) bool {
		return strings.HasPrefix(r, "AddFileToVessel|v1|hello.r2py|"+string(data)+"\n!"+c.PublicKey()+"!")
	}) {
		t.Error("no AddFileToVessel request with the data as sent")
	}
}

// TestOwnerCalls makes the owner calls as the owner, then as a user.
func TestOwnerCalls(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ctx := context.Background()
	owner := vesselOn(t, newClient(t, "owner"), n, "v1")
	user := vesselOn(t, newClient(t, "user"), n, "v1")
	if err := owner.ChangeUsers(ctx, []string{key("user").pub, key("other").pub}); err != nil {
		t.Fatal(err)
	}
	if err := owner.ChangeOwnerInformation(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := owner.ChangeAdvertise(ctx, false); err != nil {
		t.Fatal(err)
	}
	vi, err := owner.Info(ctx)
	if err != nil || len(vi.UserKeys) != 2 || vi.OwnerInfo != "alice@example.org" || vi.Advertise {
		t.Errorf("Info = %+v, %v", vi, err)
	}
	if err := owner.ChangeAdvertise(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Node().Call(ctx, nmproto.SplitVessel, "v1", "resource cpu .05"); !is(err, ErrRefused, ErrInternal) {
		t.Errorf("SplitVessel on the test node: %v, want ErrInternal", err)
	}
	for name, f := range map[string]func() error{
		"ChangeUsers":            func() error { return user.ChangeUsers(ctx, nil) },
		"ChangeOwner":            func() error { return user.ChangeOwner(ctx, key("user").pub) },
		"ChangeOwnerInformation": func() error { return user.ChangeOwnerInformation(ctx, "mine") },
		"ChangeAdvertise":        func() error { return user.ChangeAdvertise(ctx, false) },
	} {
		err := f()
		var e *Error
		if !is(err, ErrNodeManager, ErrRefused, ErrInsufficientPermissions) || !errors.As(err, &e) ||
			e.Call != name || e.Status != "Error" || e.Text != "Insufficient Permissions" || e.Vessel != "v1" {
			t.Errorf("%s as a user: %v", name, err)
		}
	}
	if err := owner.ChangeUsers(ctx, []string{"not a key"}); !is(err, ErrRefused) || errors.Is(err, ErrInsufficientPermissions) {
		t.Errorf("ChangeUsers with a bad key: %v", err)
	}
	if err := owner.ChangeOwnerInformation(ctx, strings.Repeat("x", 257)); !is(err, ErrRefused) {
		t.Errorf("ChangeOwnerInformation too long: %v", err)
	}
	if err := owner.ChangeOwner(ctx, "nonsense"); !is(err, ErrRefused) {
		t.Errorf("ChangeOwner with a bad key: %v", err)
	}
	if err := owner.ChangeUsers(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := owner.ChangeOwner(ctx, key("other").pub); err != nil {
		t.Fatal(err)
	}
	vi, err = owner.Info(ctx)
	if err != nil || vi.OwnerKey != key("other").pub || len(vi.UserKeys) != 0 || vi.OwnerInfo != "" || !vi.Advertise {
		t.Errorf("Info after ChangeOwner = %+v, %v", vi, err)
	}
	if err := user.Reset(ctx); !is(err, ErrInsufficientPermissions) {
		t.Errorf("Reset by a former user: %v", err)
	}
}

// TestCallFailures covers each vessel call's refusal by the node.
func TestCallFailures(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ctx := context.Background()
	c := newClient(t, "user")
	v := vesselOn(t, c, n, "v1")
	missing := vesselOn(t, c, n, "v9")
	notMine := vesselOn(t, c, n, "v2")
	unknown := []struct {
		name string
		f    func() error
	}{
		{"Info", func() error { _, err := missing.Info(ctx); return err }},
		{"Resources", func() error { _, err := missing.Resources(ctx); return err }},
		{"Start", func() error { _, err := missing.Start(ctx, "a"); return err }},
		{"StartEx", func() error { _, err := missing.StartEx(ctx, "repyV2", "a"); return err }},
		{"Stop", func() error { _, err := missing.Stop(ctx); return err }},
		{"AddFile", func() error { return missing.AddFile(ctx, "a", nil) }},
		{"ListFiles", func() error { _, err := missing.ListFiles(ctx); return err }},
		{"RetrieveFile", func() error { _, err := missing.RetrieveFile(ctx, "a"); return err }},
		{"DeleteFile", func() error { return missing.DeleteFile(ctx, "a") }},
		{"ReadLog", func() error { _, err := missing.ReadLog(ctx); return err }},
		{"Reset", func() error { return missing.Reset(ctx) }},
	}
	for _, tt := range unknown {
		if err := tt.f(); !is(err, ErrNodeManager, ErrUnknownVessel) {
			t.Errorf("%s on a missing vessel: %v", tt.name, err)
		}
	}
	if _, err := notMine.ReadLog(ctx); !is(err, ErrInsufficientPermissions) {
		t.Errorf("ReadLog on another's vessel: %v", err)
	}
	if _, err := v.StartEx(ctx, "python", "a"); !is(err, ErrRefused) || !strings.Contains(err.Error(), `"Programming language platform is not supported."`) {
		t.Errorf("StartEx on an unknown platform: %v", err)
	}
	if _, err := v.StartEx(ctx, "repyV2", "a;rm"); !is(err, ErrRefused) {
		t.Errorf("StartEx with a bad character: %v", err)
	}
	if _, err := v.Stop(ctx); !is(err, ErrRefused) {
		t.Errorf("Stop of a fresh vessel: %v", err)
	}
	if _, err := v.StartEx(ctx, "repyV2", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Start(ctx, "a"); !is(err, ErrRefused) {
		t.Errorf("Start of a started vessel: %v", err)
	}
	if err := v.AddFile(ctx, "private_x", nil); !is(err, ErrRefused) {
		t.Errorf("AddFile private_: %v", err)
	}
	if _, err := v.RetrieveFile(ctx, "nothing"); !is(err, ErrRefused, ErrFileNotFound) {
		t.Errorf("RetrieveFile of a missing file: %v", err)
	}
	if err := v.DeleteFile(ctx, "nothing"); !is(err, ErrRefused, ErrFileNotFound) {
		t.Errorf("DeleteFile of a missing file: %v", err)
	}
	n.SetStartWarning(true)
	if _, err := v.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := v.StartEx(ctx, "repyV2", "a")
	var e *Error
	if !is(err, ErrRefused, ErrWarning) || !errors.As(err, &e) || e.Status != "Warning" ||
		err.Error() != `nodemanager: StartVesselEx "v1" at `+n.Addr()+`: node warning: "Did not start in a timely manner"` {
		t.Errorf("a slow start: %v", err)
	}
	if _, err := v.Node().GetVesselResources(ctx, "v9"); !is(err, ErrUnknownVessel) {
		t.Errorf("GetVesselResources of a missing vessel: %v", err)
	}
	if _, err := v.Node().Call(ctx, "FooBar"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Call of an unknown name: %v", err)
	}
	if _, err := v.Node().Call(ctx, nmproto.StartVesselEx, "v1", "repyV2"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Call with too few arguments: %v", err)
	}
	if _, err := v.Node().Call(ctx, nmproto.ReadVesselLog, "v1|x"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Call with a pipe in the vessel: %v", err)
	}
	// A client without a key makes public calls only.
	pub := vesselOn(t, newClient(t, ""), n, "v1")
	if _, err := pub.ReadLog(ctx); !errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrNodeManager) {
		t.Errorf("ReadLog without a key: %v", err)
	}
	if _, err := pub.Info(ctx); err != nil {
		t.Errorf("Info without a key: %v", err)
	}
}

// TestSignatureRefusals: a wrong node key, an expired request, a clock
// behind the vessel's last timestamp.
func TestSignatureRefusals(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ctx := context.Background()
	c := newClient(t, "user")
	node, err := c.Node(n.Addr(), key("other").pub)
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := node.Vessel("v1")
	if _, err := wrong.ReadLog(ctx); !is(err, ErrSignatureProblem, ErrDestination) || errors.Is(err, ErrTimestamp) {
		t.Errorf("a wrong node key: %v", err)
	}
	if _, err := wrong.Info(ctx); !is(err, ErrDestination) {
		t.Errorf("Info with a wrong node key: %v", err)
	}
	// The node's clock two hours ahead: the request has expired.
	n.SetClock(func() float64 { return nmproto.NTPTime(time.Now()) + 7200 })
	v := vesselOn(t, c, n, "v1")
	if _, err := v.ReadLog(ctx); !is(err, ErrBadSignature) || !strings.Contains(err.Error(), "Bad Signature on 'ReadVesselLog|v1") {
		t.Errorf("an expired request: %v", err)
	}
	n.SetClock(func() float64 { return nmproto.NTPTime(time.Now()) })
	// The owner signs with a clock a minute ahead; the user, on time, is
	// behind the vessel's last timestamp.
	owner := newClient(t, "owner")
	owner.clock = func() float64 { return nmproto.NTPTime(time.Now()) + 60 }
	if err := vesselOn(t, owner, n, "v1").ChangeUsers(ctx, []string{key("user").pub}); err != nil {
		t.Fatal(err)
	}
	_, err = v.ReadLog(ctx)
	if !is(err, ErrSignatureProblem, ErrTimestamp) || errors.Is(err, ErrDestination) {
		t.Errorf("a clock behind the vessel's: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Text != "Signature problem: Timestamps out of order" {
		t.Errorf("the node's text: %+v", e)
	}
}

func TestSequence(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ctx := context.Background()
	v := vesselOn(t, newClient(t, "user"), n, "v1")
	seq, err := v.WithSequence("run", 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := seq.ReadLog(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if meta, _ := n.Metadata("v1"); !strings.Contains(meta, "!run:2!") {
		t.Errorf("stored trailer %q, want sequence run:2", meta)
	}
	skip, _ := v.WithSequence("run", 5)
	if _, err := skip.ReadLog(ctx); !is(err, ErrSignatureProblem, ErrSequence) {
		t.Errorf("a skipped sequence number: %v", err)
	}
	if _, err := v.ReadLog(ctx); err != nil { // None follows anything
		t.Errorf("no sequence after one: %v", err)
	}
	n.AddVessel("v3", key("owner").pub, key("user").pub)
	fresh := vesselOn(t, newClient(t, "user"), n, "v3")
	first, _ := fresh.WithSequence("late", 1)
	if _, err := first.ReadLog(ctx); !is(err, ErrSequence) || !strings.Contains(err.Error(), "Illegal sequence id on") {
		t.Errorf("sequence 1 on a fresh vessel: %v", err)
	}
	for _, bad := range []string{"a:b", "a!b", "a\nb"} {
		if _, err := v.WithSequence(bad, 0); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("WithSequence(%q): %v", bad, err)
		}
	}
	if _, err := v.WithSequence("ok", -1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("WithSequence(-1): %v", err)
	}
}

// TestBackToBackTimestamps: with the clock stopped, every call still gets
// a timestamp above the last, in both float forms.
func TestBackToBackTimestamps(t *testing.T) {
	t.Parallel()
	for _, form := range []nmproto.FloatForm{nmproto.FullForm, nmproto.Py2Form} {
		n := startNode(t)
		c := newClient(t, "user")
		frozen := nmproto.NTPTime(time.Now())
		c.clock = func() float64 { return frozen }
		c.form = form
		v := vesselOn(t, c, n, "v1")
		for i := range 20 {
			if _, err := v.ReadLog(context.Background()); err != nil {
				t.Fatalf("form %d, call %d: %v", form, i, err)
			}
		}
		checkRising(t, n.Requests())
	}
}

// checkRising checks that the timestamps of the signed requests to each
// vessel rise strictly in the order the node read them.
func checkRising(t *testing.T, reqs []string) {
	t.Helper()
	last := map[string]float64{}
	signed := 0
	for _, r := range reqs {
		data, tr, ok := nmproto.SplitSigned(r)
		if !ok {
			continue
		}
		signed++
		vessel := strings.Split(data, "|")[1]
		ts, err := nmproto.ParseFloat(tr.Timestamp)
		if err != nil || ts <= last[vessel] {
			t.Fatalf("%s: timestamp %q after %v", vessel, tr.Timestamp, last[vessel])
		}
		last[vessel] = ts
	}
	if signed == 0 {
		t.Fatal("no signed request")
	}
}

// TestConcurrentCalls runs many goroutines against a few vessels: every
// call succeeds (no "Timestamps match", no "out of order"). Run it with
// -race.
func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	n.AddVessel("v3", key("owner").pub, key("user").pub)
	c := newClient(t, "user")
	frozen := nmproto.NTPTime(time.Now())
	c.clock = func() float64 { return frozen } // only the client's rule separates the timestamps
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := vesselOn(t, c, n, []string{"v1", "v3"}[g%2])
			for i := range 5 {
				var err error
				if i%2 == 0 {
					_, err = v.ReadLog(context.Background())
				} else {
					_, err = v.Node().GetVessels(context.Background())
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkRising(t, n.Requests())
}

// TestCommunicationFailures: nothing listening, a node that never
// answers, cancellation, a 10 GB header, a reply over the limit, a closed
// connection, a reply without a status.
func TestCommunicationFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	c := newClient(t, "user", WithTimeout(300*time.Millisecond))
	node, _ := c.Node(closedAddr, key("node").pub)
	_, err = node.GetVessels(ctx)
	var op *net.OpError
	if !is(err, ErrNodeManager, ErrCommunication) || !errors.As(err, &op) || errors.Is(err, ErrRefused) {
		t.Errorf("nothing listening: %v", err)
	}

	n := startNode(t)
	v := vesselOn(t, c, n, "v1")

	n.SetMode(nmtest.Silent)
	start := time.Now()
	_, err = v.ReadLog(ctx)
	if !is(err, ErrCommunication, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("a silent node: %v after %v", err, time.Since(start))
	}
	cctx, cancel := context.WithCancel(ctx)
	slow := vesselOn(t, newClient(t, "user"), n, "v1") // default 30 s timeout
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = slow.ReadLog(cctx)
	if !is(err, ErrCommunication, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled: %v after %v", err, time.Since(start))
	}

	n.SetMode(nmtest.HugeHeader)
	_, err = v.ReadLog(ctx)
	if !is(err, ErrCommunication, ErrReplyTooLarge) || !strings.Contains(err.Error(), "10737418240 bytes") {
		t.Errorf("a 10 GB header: %v", err)
	}
	n.SetMode(nmtest.CloseEarly)
	if _, err = v.Node().GetVessels(ctx); !is(err, ErrCommunication) {
		t.Errorf("closed without a reply: %v", err)
	}
	n.SetMode(nmtest.NoStatus)
	if _, err = v.ReadLog(ctx); !is(err, ErrCommunication) || !strings.Contains(err.Error(), "malformed reply") {
		t.Errorf("a reply without a status: %v", err)
	}
	if _, err = v.Node().GetOffcutResources(ctx); !is(err, ErrCommunication) {
		t.Errorf("GetOffcutResources, a reply without a status: %v", err)
	}
	if _, err = v.Resources(ctx); !is(err, ErrCommunication) {
		t.Errorf("Resources, a reply without a status: %v", err)
	}
	n.SetMode(nmtest.Normal)
	big := newClient(t, "user", WithMaxReplySize(1000))
	bv := vesselOn(t, big, n, "v1")
	if err := bv.AddFile(ctx, "big", make([]byte, 2000)); err != nil {
		t.Fatal(err)
	}
	if _, err := bv.RetrieveFile(ctx, "big"); !is(err, ErrReplyTooLarge) {
		t.Errorf("a reply over the limit: %v", err)
	}
	if got, err := bv.RetrieveFile(ctx, "missing-but-short"); !is(err, ErrFileNotFound) || got != nil {
		t.Errorf("a short refusal under the limit: %v", err)
	}
}

// TestVesselLockHonoursContext: a call waiting for the vessel's turn gives
// up when its context ends.
func TestVesselLockHonoursContext(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	n.SetMode(nmtest.Silent)
	received := n.Received()
	c := newClient(t, "user", WithTimeout(5*time.Second))
	v := vesselOn(t, c, n, "v1")
	done := make(chan error, 1)
	go func() {
		_, err := v.ReadLog(context.Background())
		done <- err
	}()
	<-received // the first call holds the vessel's turn
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := v.ReadLog(ctx)
	if !is(err, ErrCommunication, context.DeadlineExceeded) {
		t.Errorf("waiting for the vessel: %v", err)
	}
	if len(n.Requests()) != 1 {
		t.Errorf("the waiting call was sent")
	}
	n.Close()
	if err := <-done; !is(err, ErrCommunication) {
		t.Errorf("the first call: %v", err)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ctx := context.Background()
	d := &failingDialer{n: 2}
	c := newClient(t, "user", WithDialer(d), WithRetries(2, time.Millisecond))
	v := vesselOn(t, c, n, "v1")
	if _, err := v.Node().GetVessels(ctx); err != nil || d.dials.Load() != 3 {
		t.Errorf("GetVessels after two refused dials: %v, %d dials", err, d.dials.Load())
	}
	d.dials.Store(0)
	if _, err := v.ReadLog(ctx); !is(err, ErrCommunication) || d.dials.Load() != 1 {
		t.Errorf("a signed call must not be retried: %v, %d dials", err, d.dials.Load())
	}
	d.dials.Store(0)
	d.n = 10
	_, err := v.Node().GetVessels(ctx)
	if !is(err, ErrCommunication) || !errors.Is(err, errDialRefused) || d.dials.Load() != 3 {
		t.Errorf("GetVessels after three refused dials: %v, %d dials", err, d.dials.Load())
	}
	// A reply that started does not lead to a retry.
	p := &pipeDialer{answer: func(string) string { return "5\nab" }, raw: true}
	c2 := newClient(t, "user", WithDialer(p), WithRetries(3, 0))
	node, _ := c2.Node("node.example:1224", key("node").pub)
	if _, err := node.GetVessels(ctx); !is(err, ErrCommunication) || p.dials.Load() != 1 {
		t.Errorf("a cut reply: %v, %d dials", err, p.dials.Load())
	}
	// The wait between attempts ends with the context.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	slow := newClient(t, "user", WithDialer(&failingDialer{n: 100}), WithRetries(5, time.Hour))
	sn, _ := slow.Node(n.Addr(), n.Key())
	if _, err := sn.GetVessels(cctx); !is(err, ErrCommunication, context.DeadlineExceeded) {
		t.Errorf("a retry wait cut by the context: %v", err)
	}
}

// TestClearinghouseVessel: from a clearinghouse.Vessel to a handle in one
// call, and the NAT$ case.
func TestClearinghouseVessel(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	host, port, _ := net.SplitHostPort(n.Addr())
	p, _ := strconv.Atoi(port)
	c := newClient(t, "user")
	cv := clearinghouse.Vessel{NodeID: n.Key(), NodeIP: host, NodePort: p, VesselID: "v1", Handle: clearinghouse.Handle(n.Key() + ":v1")}
	v, err := c.Vessel(cv)
	if err != nil {
		t.Fatal(err)
	}
	if v.Name() != "v1" || v.Node().Addr() != n.Addr() || v.Node().Key() != n.Key() {
		t.Errorf("handle %s at %s", v.Name(), v.Node().Addr())
	}
	if _, err := v.ReadLog(context.Background()); err != nil {
		t.Errorf("ReadLog through the handle: %v", err)
	}
	d := &pipeDialer{answer: func(string) string { return "\nSuccess" }}
	cn := newClient(t, "user", WithDialer(d))
	nat := cv
	nat.NodeIP = "NAT$2a9f3c"
	if v, err := cn.Vessel(nat); !errors.Is(err, ErrUnreachable) || v != nil || d.dials.Load() != 0 {
		t.Errorf("a NAT$ node: %v, %v", v, err)
	}
	for name, bad := range map[string]clearinghouse.Vessel{
		"no IP":       {NodeID: n.Key(), NodePort: p, VesselID: "v1"},
		"no port":     {NodeID: n.Key(), NodeIP: host, VesselID: "v1"},
		"bad node ID": {NodeID: "x", NodeIP: host, NodePort: p, VesselID: "v1"},
		"no vessel":   {NodeID: n.Key(), NodeIP: host, NodePort: p},
	} {
		if _, err := c.Vessel(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNodeHandles(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	c := newClient(t, "user")
	node, err := c.OpenNode(context.Background(), n.Addr())
	if err != nil || node.Key() != n.Key() || node.Addr() != n.Addr() {
		t.Fatalf("OpenNode = %+v, %v", node, err)
	}
	v, _ := node.Vessel("v1")
	if _, err := v.ReadLog(context.Background()); err != nil {
		t.Errorf("a call through OpenNode's handle: %v", err)
	}
	for name, addr := range map[string]string{"no port": "127.0.0.1", "bad port": "127.0.0.1:0", "empty host": ":1224", "NAT": "NAT$ab:1224"} {
		if _, err := c.Node(addr, n.Key()); err == nil {
			t.Errorf("Node(%s) succeeded", name)
		}
		if _, err := c.OpenNode(context.Background(), addr); err == nil {
			t.Errorf("OpenNode(%s) succeeded", name)
		}
	}
	if _, err := c.Node("h:1", "1 2 3"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Node with a bad key: %v", err)
	}
	if _, err := c.Node("NAT$x:1", n.Key()); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Node behind NAT: %v", err)
	}
	for _, name := range []string{"", "v|1", "v\n1"} {
		if _, err := node.Vessel(name); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Vessel(%q): %v", name, err)
		}
	}
	if err := v.AddFile(context.Background(), "a|b", nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("AddFile with a pipe in the name: %v", err)
	}
	if err := v.ChangeUsers(context.Background(), []string{"1 2|3 4"}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("ChangeUsers with a pipe in a key: %v", err)
	}
	// OpenNode against a node whose GetVessels is not usable.
	for name, body := range map[string]string{
		"malformed": "Version: 1\nGarbage\n\nSuccess",
		"bad key":   "Version: 1\nNodename: x\nNodekey: 7 3\n\nSuccess",
		"refused":   "Internal Error\nError",
	} {
		pc := newClient(t, "user", WithDialer(&pipeDialer{answer: func(string) string { return body }}))
		if _, err := pc.OpenNode(context.Background(), "node.example:1224"); !is(err, ErrNodeManager) {
			t.Errorf("OpenNode, %s: %v", name, err)
		}
	}
}

// TestErrorText: the node's text is quoted and clipped in Error(), kept
// whole in Text, and the client's private key never shows.
func TestErrorText(t *testing.T) {
	t.Parallel()
	priv, _ := seattlersa.ParsePrivateKey(key("user").priv)
	secrets := []string{priv.D.String(), priv.P.String(), priv.Q.String()}
	long := strings.Repeat("z", 100_000)
	answer := "line one\nnode says " + secrets[0] + " and " + secrets[1] + "|" + secrets[2] + " " + long + "\nError"
	c := newClient(t, "user", WithDialer(&pipeDialer{answer: func(string) string { return answer }}))
	node, _ := c.Node("node.example:1224", key("node").pub)
	v, _ := node.Vessel("v1")
	for _, f := range []func() error{
		func() error { _, err := v.ReadLog(context.Background()); return err },
		func() error { _, err := node.GetVessels(context.Background()); return err },
	} {
		err := f()
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not an *Error", err)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s[:20]) || strings.Contains(e.Text, s) {
				t.Fatalf("the private key shows in %q", err.Error()[:200])
			}
		}
		if !strings.Contains(e.Text, long) || strings.Count(e.Text, "[redacted]") != 3 {
			t.Errorf("Text lost the node's words")
		}
		if len(err.Error()) > 800 || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), `node error: "line one\n`) {
			t.Errorf("Error() = %.300q… (%d bytes)", err.Error(), len(err.Error()))
		}
	}
	cause := errors.New("x")
	comm := failure(context.Background(), "GetVessels", "h:1", "", ErrCommunication, cause, c.redact)
	if comm.Error() != "nodemanager: GetVessels at h:1: communication failed: x" || !errors.Is(comm, cause) {
		t.Errorf("communication error text: %q", comm.Error())
	}
}

func TestResourcesPorts(t *testing.T) {
	r := parseResources("resource cpu .1\nresource connport 12  # c\nresource messport 40\nresource messport 12\n" +
		"resource connport 40\nresource connport 99\nresource connport 0\nresource messport x\n# resource messport 99\nresource connport 12\n")
	if !slices.Equal(r.ConnPorts, []int{12, 40, 99, 12}) || !slices.Equal(r.MessPorts, []int{40, 12}) || !slices.Equal(r.Ports(), []int{12, 40}) {
		t.Errorf("parseResources = %+v, Ports %v", r, r.Ports())
	}
	if r := parseResources("resource connport 7" + strings.Repeat(" 1", 1<<20) + "\nresource messport 7\n"); len(r.ConnPorts) != 0 {
		t.Errorf("an overlong line was read: %v", r.ConnPorts)
	}
	if p := parseResources("").Ports(); len(p) != 0 {
		t.Errorf("no ports: %v", p)
	}
}

// TestRefusalKinds pins which sentinels each of the node's texts matches.
func TestRefusalKinds(t *testing.T) {
	all := []error{ErrRefused, ErrWarning, ErrUnknownCall, ErrUnknownVessel, ErrBadSignature, ErrInsufficientPermissions,
		ErrSignatureProblem, ErrTimestamp, ErrSequence, ErrDestination, ErrInternal, ErrFileNotFound}
	tests := []struct {
		status nmproto.Status
		text   string
		want   []error
	}{
		{nmproto.Error, "Unknown Call", []error{ErrRefused, ErrUnknownCall}},
		{nmproto.Error, "Unknown Vessel", []error{ErrRefused, ErrUnknownVessel}},
		{nmproto.Error, "No such vessel", []error{ErrRefused, ErrUnknownVessel}},
		{nmproto.Error, "No such vessel 'v9'", []error{ErrRefused, ErrUnknownVessel}},
		{nmproto.Error, "Bad Signature on 'x'", []error{ErrRefused, ErrBadSignature}},
		{nmproto.Error, "Insufficient Permissions", []error{ErrRefused, ErrInsufficientPermissions}},
		{nmproto.Error, "Illegal sequence id on 'x'", []error{ErrRefused, ErrSignatureProblem, ErrSequence}},
		{nmproto.Error, "Signature problem: Timestamps match", []error{ErrRefused, ErrSignatureProblem, ErrTimestamp}},
		{nmproto.Error, "Signature problem: Timestamps out of order", []error{ErrRefused, ErrSignatureProblem, ErrTimestamp}},
		{nmproto.Error, "Signature problem: Invalid sequence transition Timestamps out of order", []error{ErrRefused, ErrSignatureProblem, ErrSequence, ErrTimestamp}},
		{nmproto.Error, "Signature problem: Not destined for this node Not destined for this node", []error{ErrRefused, ErrSignatureProblem, ErrDestination}},
		{nmproto.Error, "Internal Error", []error{ErrRefused, ErrInternal}},
		{nmproto.Error, "Error, File Not Found", []error{ErrRefused, ErrFileNotFound}},
		{nmproto.Error, "File not found", []error{ErrRefused, ErrFileNotFound}},
		{nmproto.Error, "Vessel has already been started", []error{ErrRefused}},
		{nmproto.Warning, "Did not start in a timely manner", []error{ErrRefused, ErrWarning}},
		{nmproto.Warning, "Internal Error", []error{ErrRefused, ErrWarning}},
	}
	for _, tt := range tests {
		err := refusal("X", "h:1", "v1", nmproto.Reply{Body: tt.text, Status: tt.status}, func(s string) string { return s })
		if !errors.Is(err, ErrNodeManager) || errors.Is(err, ErrCommunication) || err.Unwrap() != nil {
			t.Errorf("%q: %v", tt.text, err)
		}
		for _, k := range all {
			if errors.Is(err, k) != slices.Contains(tt.want, k) {
				t.Errorf("%s %q: errors.Is(%v) = %v", tt.status, tt.text, k, errors.Is(err, k))
			}
		}
	}
	for _, s := range []error{ErrNodeManager, ErrCommunication, ErrRefused, ErrInvalidArgument} {
		if !strings.HasPrefix(s.Error(), "nodemanager: ") {
			t.Errorf("sentinel text %q", s.Error())
		}
	}
	var un *unreachableError
	_, err := newClient(t, "").Node("NAT$x:1", key("node").pub)
	if !errors.As(err, &un) || err.Error() != `nodemanager: node "NAT$x" is behind NAT: it is reachable only through Seattle's Affix relays, which this client does not speak` {
		t.Errorf("NAT error: %v", err)
	}
}

func TestExpiration(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	c := newClient(t, "user", WithExpiration(90*time.Second))
	c.clock = func() float64 { return 3913056000.5 }
	n.SetClock(func() float64 { return 3913056080 }) // 79.5 s later: still valid
	v := vesselOn(t, c, n, "v1")
	if _, err := v.ReadLog(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, tr, _ := nmproto.SplitSigned(n.Requests()[0])
	if tr.Timestamp != "3913056000.5" || tr.Expiration != "3913056090.5" || tr.Sequence != "None" || tr.Destination != n.Key() {
		t.Errorf("trailer %+v", tr)
	}
	n.SetClock(func() float64 { return 3913056091 })
	if _, err := v.ReadLog(context.Background()); !is(err, ErrBadSignature) {
		t.Errorf("after the expiration: %v", err)
	}
	n.SetMode(nmtest.CloseEarly)
	if _, err := v.Info(context.Background()); !is(err, ErrCommunication) {
		t.Errorf("Info without an answer: %v", err)
	}
}

// TestListFilesBounded: a node that lists more names than the client
// keeps is refused with ErrReplyTooLarge: a 32 MiB reply of one-letter
// names would otherwise become 16 million strings (256 MB of headers).
func TestListFilesBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startNode(t)
	c := newClient(t, "user")
	c.maxListed = 3
	v := vesselOn(t, c, n, "v1")
	for i, name := range []string{"a", "b", "c"} {
		if err := v.AddFile(ctx, name, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if files, err := v.ListFiles(ctx); err != nil || len(files) != 3 {
		t.Fatalf("ListFiles at the bound = %q, %v", files, err)
	}
	if err := v.AddFile(ctx, "d", nil); err != nil {
		t.Fatal(err)
	}
	files, err := v.ListFiles(ctx)
	if !is(err, ErrReplyTooLarge) || files != nil || !strings.Contains(err.Error(), "more than 3 file names") {
		t.Fatalf("ListFiles over the bound = %q, %v; want ErrReplyTooLarge", files, err)
	}
}

// TestErrorEscapesServerText: an address (it comes from the
// clearinghouse's node_ip) and a failure's text reach Error() escaped, so
// that no control or bidi character a server chose reaches a terminal.
func TestErrorEscapesServerText(t *testing.T) {
	t.Parallel()
	hostile := "\x1b[2J\x1b]0;title\x07\rbad\u202e\u009b\xff"
	for _, e := range []*Error{
		{Call: "GetVessels", Addr: "127.0.0.1:1224" + hostile, Text: "no answer" + hostile, kinds: []error{ErrCommunication}},
		{Call: "ReadVesselLog", Vessel: "v1" + hostile, Addr: hostile, Status: "Error", Text: hostile},
		{Call: "StartVessel", Addr: hostile, Status: "Warning", Text: hostile},
	} {
		msg := e.Error()
		for _, r := range msg {
			if textclip.Escapes(r) {
				t.Errorf("Error() holds %U: %q", r, msg)
			}
		}
		if !utf8.ValidString(msg) {
			t.Errorf("Error() is not valid UTF-8: %q", msg)
		}
	}
}
