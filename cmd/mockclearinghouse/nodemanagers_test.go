package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/nodemanager"
)

// adminPost posts a JSON body to the command's admin API.
func adminPost(t *testing.T, adminURL, path, body string) {
	t.Helper()
	resp, err := http.Post(adminURL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		data, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s %s", path, resp.Status, data)
	}
}

// TestRunNodeManagersJourney runs the command as its own process with
// -nodemanagers and walks the journey with the project's clients: acquire
// two WAN vessels, upload, start, read the log, stop, release; after the
// cleanup delay (the clock advanced through the admin API) the node
// refuses the old key and the vessel is Fresh.
func TestRunNodeManagersJourney(t *testing.T) {
	t.Parallel()
	_, _, _, creds := startProcess(t, 2*time.Minute, "-nodemanagers", "-nodes", "30", "-admin", "-cleanup-delay", "1h")
	ctx := context.Background()
	ch := clientFor(t, creds, 0)
	nm, err := nodemanager.New(nodemanager.WithPrivateKey(creds.Accounts[0].PrivateKey), nodemanager.WithTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	vessels, err := ch.AcquireWAN(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, cv := range vessels {
		if !strings.HasPrefix(cv.NodeIP, "127.") {
			t.Fatalf("node_ip %s", cv.NodeIP)
		}
		v, err := nm.Vessel(cv)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.AddFile(ctx, "hello.r2py", []byte("log('hello')\n")); err != nil {
			t.Fatal(err)
		}
		if status, err := v.StartEx(ctx, "repyV2", "hello.r2py"); err != nil || status != "Started" {
			t.Fatalf("start: %q, %v", status, err)
		}
		if log, err := v.ReadLog(ctx); err != nil || !strings.Contains(log, "Running program: hello.r2py\n") {
			t.Fatalf("log: %q, %v", log, err)
		}
		if status, err := v.Stop(ctx); err != nil || status != "Stopped" {
			t.Fatalf("stop: %q, %v", status, err)
		}
	}
	handle := url.PathEscape(string(vessels[0].Handle))
	adminPost(t, creds.AdminURL, "vessels/"+handle+"/nodemanager/listen", "")
	if err := ch.ReleaseResources(ctx, clearinghouse.Handles(vessels)); err != nil {
		t.Fatal(err)
	}
	v, err := nm.Vessel(vessels[0])
	if err != nil {
		t.Fatal(err)
	}
	if files, err := v.ListFiles(ctx); err != nil || len(files) != 1 {
		t.Fatalf("before the cleanup: %v, %v", files, err)
	}
	adminPost(t, creds.AdminURL, "clock", `{"advance": "1h"}`)
	if _, err := v.ListFiles(ctx); !errors.Is(err, nodemanager.ErrInsufficientPermissions) {
		t.Fatalf("after the cleanup: %v", err)
	}
	if info, err := v.Info(ctx); err != nil || info.Status != "Fresh" || len(info.UserKeys) != 0 {
		t.Fatalf("after the cleanup: %+v, %v", info, err)
	}
}

func TestRunNodeManagersFlags(t *testing.T) {
	t.Parallel()
	_, out, stop := startRun(t, "-nodemanagers", "-nodes", "10", "-nodemanager-disk", "16")
	if !strings.Contains(out.String(), "Node managers: node managers listen on 127.0.0.0/8") {
		t.Errorf("no node manager line in the banner:\n%s", out)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	_, out, stop = startRun(t, "-nodes", "10")
	if strings.Contains(out.String(), "Node managers") {
		t.Errorf("a node manager line without -nodemanagers:\n%s", out)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"0", "4097", "-1"} {
		_, err := parseFlags([]string{"-nodemanager-disk", v}, io.Discard)
		if !isUsageError(err) || !strings.Contains(err.Error(), "-nodemanager-disk") {
			t.Errorf("-nodemanager-disk %s: %v", v, err)
		}
	}
	wantHelp(t, "-nodemanagers", "-nodemanager-disk")
}
