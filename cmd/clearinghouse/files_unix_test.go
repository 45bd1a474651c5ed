//go:build unix

package main

import (
	"os"
	osexec "os/exec"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/filetest"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
)

// TestMain lets the test binary stand in for the command: with
// CLEARINGHOUSE_CLI_MAIN=1 it runs main with the arguments after "--".
// The file tests run the command as a child process, so that a read that
// grows without bound or hangs is stopped from outside (internal/filetest).
func TestMain(m *testing.M) {
	if os.Getenv("CLEARINGHOUSE_CLI_MAIN") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"clearinghouse"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0) // main exits itself
	}
	os.Exit(m.Run())
}

// childCLI is the command as a child process with args and, of the
// CLEARINGHOUSE_* variables, only env.
func childCLI(env []string, args ...string) *osexec.Cmd {
	cmd := osexec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLEARINGHOUSE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, "CLEARINGHOUSE_CLI_MAIN=1"), env...)
	return cmd
}

// TestFileFlagsRefuseSpecialFiles gives each file the command reads, by a
// flag or a variable, /dev/zero, a named pipe, a directory and a file one
// byte over its limit: exit status 2 at once, with a message that names
// the flag or variable and the path. (Before, /dev/zero grew the process
// without bound and a named pipe hung it.)
func TestFileFlagsRefuseSpecialFiles(t *testing.T) {
	t.Parallel()
	// Nothing listens there: a command that got as far as calling would
	// fail with another status.
	const url = "http://127.0.0.1:1/xmlrpc/"
	for _, fl := range []struct {
		name  string // the flag or variable the message must name
		limit int64
		cmd   func(path string) *osexec.Cmd
	}{
		{"--api-key-file", safefile.MaxKey, func(p string) *osexec.Cmd {
			return childCLI(nil, "--url", url, "--user", "alice", "--api-key-file", p, "account")
		}},
		{"--private-key-file", safefile.MaxKey, func(p string) *osexec.Cmd {
			return childCLI(nil, "--url", url, "--user", "alice", "--private-key-file", p, "account")
		}},
		{"--ca-file", safefile.MaxCerts, func(p string) *osexec.Cmd {
			return childCLI([]string{"CLEARINGHOUSE_API_KEY=k"}, "--url", url, "--user", "alice", "--ca-file", p, "account")
		}},
		{"--creds", safefile.MaxCreds, func(p string) *osexec.Cmd {
			return childCLI(nil, "--creds", p, "account")
		}},
		{"--file", safefile.MaxKey, func(p string) *osexec.Cmd {
			return childCLI([]string{"CLEARINGHOUSE_API_KEY=k"}, "--url", url, "--user", "alice", "set-public-key", "--file", p, "--password-stdin")
		}},
		{"CLEARINGHOUSE_PRIVATE_KEY_FILE", safefile.MaxKey, func(p string) *osexec.Cmd {
			return childCLI([]string{"CLEARINGHOUSE_PRIVATE_KEY_FILE=" + p}, "--url", url, "--user", "alice", "account")
		}},
		{"CLEARINGHOUSE_CA_FILE", safefile.MaxCerts, func(p string) *osexec.Cmd {
			return childCLI([]string{"CLEARINGHOUSE_CA_FILE=" + p, "CLEARINGHOUSE_API_KEY=k"}, "--url", url, "--user", "alice", "account")
		}},
		{"CLEARINGHOUSE_CREDS_FILE", safefile.MaxCreds, func(p string) *osexec.Cmd {
			return childCLI([]string{"CLEARINGHOUSE_CREDS_FILE=" + p}, "account")
		}},
	} {
		for _, c := range filetest.Cases(t, fl.limit) {
			t.Run(fl.name+"/"+c.Name, func(t *testing.T) {
				t.Parallel()
				filetest.Expect(t, fl.cmd(c.Path), exitUsage, fl.name, c)
			})
		}
	}
}
