package mockserver

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// The behaviour report, the status page and the admin controls on node
// manager calls (docs/nodemanager-api.md §8.8, §8.9).

func TestNodeManagerReport(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t, WithCleanupDelay(time.Hour))
	sg := f.sg
	now := nmproto.NTPTime(time.Now())
	nmSay(t, f.addr, sg.at(now-7200, nmproto.ListFilesInVessel)) // expired: bad_signature
	nmSay(t, f.addr, sg.at(now-1e6-7200, nmproto.ReadVesselLog)) // expired too
	wantReply(t, "accepted", sg.say(nmproto.ListFilesInVessel), "\nSuccess")
	nmSay(t, f.addr, sg.at(now-10, nmproto.ListFilesInVessel)) // out of order
	wantReply(t, "owner call", sg.say(nmproto.ChangeAdvertise, "False"), "Insufficient Permissions\nError")
	// A stranger's key names no account.
	pub, priv, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{7}), 512)
	must(t, err)
	stranger := newSigner(t, pub.String(), priv.String(), f.handle, f.addr)
	nmSay(t, f.addr, stranger.sign(nmproto.ListFilesInVessel))

	mustCall(t, f.s, "release_resources", auth(f.a), []any{f.handle})
	wantReply(t, "after the release", sg.say(nmproto.ListFilesInVessel), "\nSuccess")
	sg.say(nmproto.ReadVesselLog)

	rep := report(t, f.s)
	refused := finding(t, rep, FindingNMRefused, "alice")
	if refused.Evidence.Count != 4 || refused.Evidence.Methods[nmproto.ListFilesInVessel] != 2 ||
		refused.Evidence.Reasons["bad_signature"] != 2 || refused.Evidence.Reasons["timestamp"] != 1 ||
		refused.Evidence.Reasons["insufficient_permissions"] != 1 {
		t.Errorf("nm_refused %+v", refused)
	}
	after := finding(t, rep, FindingNMAfterRelease, "alice")
	if after.Evidence.Count != 2 || len(after.Evidence.Vessels) != 1 || after.Evidence.Vessels[0].Handle != f.handle {
		t.Errorf("nm_after_release %+v", after)
	}
	for _, fd := range rep.Findings {
		if fd.Account != "alice" {
			t.Errorf("a finding for %q: %+v", fd.Account, fd)
		}
	}
	if b, _ := json.Marshal(rep); strings.Contains(string(b), f.a.PrivateKey) {
		t.Error("the report holds the private key")
	}
}

// adminDo makes an admin request and decodes the JSON reply into out.
func adminDo(t *testing.T, base, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	must(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

func TestNodeManagerAdmin(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t, WithAdmin(true))
	base := startHTTP(t, f.s)
	path := "/admin/vessels/" + url.PathEscape(f.handle) + "/nodemanager"
	var v jsonVesselNodeManager
	if code := adminDo(t, base, "GET", path, "", &v); code != 200 || v.Address != f.addr || v.Status != "Fresh" || len(v.UserKeys) != 1 {
		t.Fatalf("GET: %d %+v", code, v)
	}
	var listen struct{ Address string }
	if code := adminDo(t, base, "POST", path+"/listen", "", &listen); code != 200 || listen.Address != f.addr {
		t.Errorf("listen: %d %+v", code, listen)
	}
	if code := adminDo(t, base, "POST", path+"/log", `{"text": "hello from the program\n"}`, &v); code != 200 || v.Log != "hello from the program\n" {
		t.Errorf("log: %d %+v", code, v)
	}
	var e mockapi.ErrorReply
	if code := adminDo(t, base, "POST", path+"/end", "", &e); code != 400 || !strings.Contains(e.Error, "not Started") {
		t.Errorf("end of a Fresh vessel: %d %+v", code, e)
	}
	wantReply(t, "upload", f.sg.say(nmproto.AddFileToVessel, "p", "x"), "\nSuccess")
	wantReply(t, "start", f.sg.say(nmproto.StartVessel, "p"), "Started\nSuccess")
	if code := adminDo(t, base, "POST", path+"/end", "{}", &v); code != 200 || v.Status != "Terminated" {
		t.Errorf("end: %d %+v", code, v)
	}
	if code := adminDo(t, base, "POST", path+"/hang", `{"wait": "1s"}`, &v); code != 200 || !v.StartHangs || v.HangWait != "1s" {
		t.Errorf("hang: %d %+v", code, v)
	}
	if code := adminDo(t, base, "POST", path+"/hang", "", &v); code != 200 || v.HangWait != "10s" {
		t.Errorf("hang with the default wait: %d %+v", code, v)
	}
	if code := adminDo(t, base, "POST", path+"/hang", `{"wait": "11s"}`, &e); code != 400 {
		t.Errorf("hang of 11s: %d %+v", code, e)
	}
	if code := adminDo(t, base, "POST", path+"/log", `{"txt": "x"}`, &e); code != 400 {
		t.Errorf("log with a bad body: %d %+v", code, e)
	}
	if code := adminDo(t, base, "GET", "/admin/vessels/"+url.PathEscape("65537 1:v2")+"/nodemanager", "", &e); code != 404 {
		t.Errorf("unknown vessel: %d %+v", code, e)
	}
	var st jsonNodeManagers
	if code := adminDo(t, base, "GET", "/admin/nodemanagers", "", &st); code != 200 || !st.Enabled || st.Listeners != 1 ||
		st.Calls[nmproto.StartVessel].Requests != 1 || st.DiskUsed != int64(len(v.Log))+1 { // the log and the program's one byte
		t.Errorf("nodemanagers: %d %+v", code, st)
	}

	// With node managers off the controls say so.
	off := newTestServer(t, WithAdmin(true), WithPopulation(PopulationConfig{Nodes: 3, Seed: 1}))
	offBase := startHTTP(t, off)
	nodes, _ := listNodes(t, off, NodeFilter{Limit: 1})
	h := nodes[0].Vessels[0].Handle
	if code := adminDo(t, offBase, "POST", "/admin/vessels/"+url.PathEscape(h)+"/nodemanager/listen", "", &e); code != 400 || !strings.Contains(e.Error, "node managers are off") {
		t.Errorf("listen with node managers off: %d %+v", code, e)
	}
	if code := adminDo(t, offBase, "GET", "/admin/nodemanagers", "", &st); code != 200 || st.Enabled {
		t.Errorf("nodemanagers when off: %d %+v", code, st)
	}
}

func TestNodeManagerStatusPage(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t)
	f.sg.say(nmproto.ListFilesInVessel)
	f.sg.say(nmproto.StopVessel)
	base := startHTTP(t, f.s)
	resp, err := http.Get(base + "/")
	must(t, err)
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`<h2 id="nodemanagers">Node managers</h2>`, "node managers listen on 127.0.0.0/8",
		"<dd>1 of at most 2048 nodes</dd>",
		`<td class="mono">ListFilesInVessel</td><td class="n">1</td><td class="n">0</td>`,
		`<td class="mono">StopVessel</td><td class="n">1</td><td class="n">1</td>`,
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
	off := newTestServer(t)
	resp, err = http.Get(startHTTP(t, off) + "/")
	must(t, err)
	defer resp.Body.Close()
	page, _ = io.ReadAll(resp.Body)
	if strings.Contains(string(page), "Node managers") {
		t.Error("the status page shows node managers that are off")
	}
}
