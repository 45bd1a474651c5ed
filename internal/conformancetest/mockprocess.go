package conformancetest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
)

// MockProcess is the mock binary (BuildMock) running as a child process,
// started by StartMock.
type MockProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *syncbuf.Buffer
}

// startTimeout bounds how long StartMock waits for the creds file.
const startTimeout = 60 * time.Second

// StartMock runs bin with args and "-creds-out creds", and waits for the
// creds file, which the mock writes (atomically) once it serves. A creds
// file left by an earlier run is removed first. The mock's standard
// output, which shows the demo credentials, is discarded. If the mock
// exits first, or writes no creds file within a minute, the error says so
// with what the mock printed on stderr; the process is then gone.
func StartMock(bin, creds string, args ...string) (*MockProcess, error) {
	os.Remove(creds)
	cmd := exec.Command(bin, append(args, "-creds-out", creds)...)
	cmd.Stdout = io.Discard
	p := &MockProcess{cmd: cmd, exited: make(chan struct{}), stderr: &syncbuf.Buffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(p.exited) }()
	for deadline := time.Now().Add(startTimeout); time.Now().Before(deadline); {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("the mock exited during start-up: %v\n%s", cmd.ProcessState, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if _, err := os.Stat(creds); err == nil {
			return p, nil
		}
	}
	cmd.Process.Kill()
	<-p.exited
	return nil, fmt.Errorf("the mock wrote no creds file within %v\n%s", startTimeout, p.stderr)
}

// Stop ends the mock with SIGTERM, and with SIGKILL (and an error) if it
// is still running 30 s later. A mock that has exited already is left as
// it is.
func (p *MockProcess) Stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return errors.New("the mock did not stop within 30 s of SIGTERM")
	}
}

// Kill ends the mock with SIGKILL, as a crash would: nothing is flushed
// or compacted.
func (p *MockProcess) Kill() error {
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.exited
	return nil
}
