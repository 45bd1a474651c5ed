package conformance_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/conformance/mockcontrols"
	"github.com/seattletestbed/clearinghouse-go/internal/conformancetest"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// TestInProcess runs the suite against the mock in this process, with
// its Go controls.
func TestInProcess(t *testing.T) {
	t.Parallel()
	mock, err := mockserver.New(
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 60, NATFraction: 0.1, Seed: 3}),
		mockserver.WithKeyBits(512),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	srv := httptest.NewServer(mock) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	var accounts []conformance.Account
	for _, name := range []string{"alice", "bob"} {
		a, err := mock.AddAccount(mockapi.AccountSpec{Username: name, Password: "password-" + name, Affiliation: "Conformance U"})
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, conformance.Account{Username: a.Username, APIKey: a.APIKey, Password: a.Password, PrivateKey: a.PrivateKey})
	}
	conformance.Run(t, conformance.Target{
		Name:         "in-process mock",
		URL:          srv.URL + "/xmlrpc/",
		Accounts:     accounts,
		AllowAcquire: 100,
		Mock:         true,
		Controls:     mockcontrols.New(mock),
	})
}

// TestDeployment runs the suite against the endpoint the environment
// names (see TargetFromEnv and the README).
func TestDeployment(t *testing.T) {
	tg, ok, err := conformance.TargetFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		testskip.NoDeployment.Skipf(t, "no external target: set %s (with %s and %s or %s; optionally %s, %s=N, %s with %s) or %s to run the suite against it",
			conformance.EnvURL, conformance.EnvUsername, conformance.EnvAPIKey, conformance.EnvPrivateKeyFile,
			conformance.EnvCAFile, conformance.EnvAllowAcquire, conformance.EnvAdminURL, conformance.EnvAdminToken, conformance.EnvCredsFile)
	}
	conformance.Run(t, tg)
}

// TestMockBinary runs the suite against the mockclearinghouse command,
// built and started as a separate process over TLS with a state file and
// its /admin/ controls, restarted gracefully (SIGTERM) and killed
// (SIGKILL) and started again mid-run.
func TestMockBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		testskip.Skipf(t, "builds and runs the mock binary; skipped with -short")
	}
	dir := t.TempDir()
	p := &mockProcess{
		bin:        conformancetest.BuildMock(t, dir),
		state:      filepath.Join(dir, "mock.state"),
		creds:      filepath.Join(dir, "creds.json"),
		adminToken: filepath.Join(dir, "admin-token"),
	}
	// The admin controls require a token, which the suite finds in the
	// creds file.
	if err := os.WriteFile(p.adminToken, []byte(rand.Text()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Error(err)
		}
	})
	tg, err := conformance.TargetFromCredsFile(p.creds)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Controls == nil {
		t.Fatal("the mock was started with -admin, but its creds file names no admin_url")
	}
	tg.Name = "mockclearinghouse binary"
	tg.Restart = p.restart
	tg.Kill = p.kill
	conformance.Run(t, tg)
}

// mockProcess is the mock command running as a child process, started
// again on the same state file by the Restart and Kill hooks.
type mockProcess struct {
	bin, state, creds string
	adminToken        string // the -admin-token-file

	mu   sync.Mutex
	proc *conformancetest.MockProcess
	// cleanupDelay is the -cleanup-delay of the next start: a setting,
	// not state, so a restart passes on the one the suite last set.
	cleanupDelay time.Duration
}

// start runs the mock on addr and waits for its creds file.
func (p *mockProcess) start(addr string) error {
	proc, err := conformancetest.StartMock(p.bin, p.creds, "-addr", addr, "-tls", "-state", p.state, "-admin", "-admin-token-file", p.adminToken,
		"-nodes", "60", "-accounts", "2", "-cleanup-delay", p.cleanupDelay.String(), "-log-level", "warn")
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
	return nil
}

// stop ends the process with SIGTERM, and SIGKILL if it lingers.
func (p *mockProcess) stop() error {
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	if proc == nil {
		return nil
	}
	return proc.Stop()
}

// sigkill ends the process with SIGKILL: nothing is flushed or compacted.
func (p *mockProcess) sigkill() error {
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	if proc == nil {
		return nil
	}
	return proc.Kill()
}

// restart is the Target's Restart hook: SIGTERM, then start again on the
// same state file (see relaunch).
func (p *mockProcess) restart(t conformance.T, tg *conformance.Target) error {
	return p.relaunch(t, tg, p.stop)
}

// kill is the Target's Kill hook: SIGKILL, then start again on the same
// state file (see relaunch).
func (p *mockProcess) kill(t conformance.T, tg *conformance.Target) error {
	return p.relaunch(t, tg, p.sigkill)
}

// relaunch ends the process with end and starts it again on the same
// state file, with the cleanup delay the suite last set and, if it is
// free, on the same port. The new instance has a new CA certificate, so
// the target is rebuilt from the new creds file.
func (p *mockProcess) relaunch(t conformance.T, tg *conformance.Target, end func() error) error {
	u, err := url.Parse(tg.URL)
	if err != nil {
		return err
	}
	if tg.Controls != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		delay, err := tg.Controls.CleanupDelay(ctx)
		cancel()
		if err != nil {
			// The mock may have died already; start it with the last
			// delay known rather than give up.
			t.Logf("reading the cleanup delay before the restart: %v", err)
		} else {
			p.cleanupDelay = delay
		}
	}
	if err := end(); err != nil {
		return err
	}
	if err := p.start(u.Host); err != nil {
		t.Logf("restarting on %s failed (%v); trying a fresh port", u.Host, err)
		if err := p.start("127.0.0.1:0"); err != nil {
			return err
		}
	}
	fresh, err := conformance.TargetFromCredsFile(p.creds)
	if err != nil {
		return err
	}
	if fresh.Controls == nil {
		return errors.New("the restarted mock's creds file names no admin_url")
	}
	for i, a := range fresh.Accounts {
		if i < len(tg.Accounts) && a.APIKey != tg.Accounts[i].APIKey {
			return fmt.Errorf("the API key of %s changed across the restart", a.Username)
		}
	}
	tg.URL, tg.CAFile, tg.Controls = fresh.URL, fresh.CAFile, fresh.Controls
	return nil
}
