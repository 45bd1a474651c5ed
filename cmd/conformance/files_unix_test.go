//go:build unix

package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/internal/filetest"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
)

// TestFileFlagsRefuseSpecialFiles gives each file the command reads, by
// -creds or a variable, /dev/zero, a named pipe, a directory and a file
// one byte over its limit: exit status 2 at once, with a message that
// names the flag or variable and the path. (Before, /dev/zero grew the
// process without bound and a named pipe hung it.)
func TestFileFlagsRefuseSpecialFiles(t *testing.T) {
	t.Parallel()
	// Nothing listens there: a command that got as far as calling would
	// fail otherwise.
	target := []string{conformance.EnvURL + "=http://127.0.0.1:1/xmlrpc/", conformance.EnvUsername + "=alice"}
	child := func(env []string, args ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
		cmd.Env = append(childEnv(), env...)
		return cmd
	}
	for _, fl := range []struct {
		name  string // the flag or variable the message must name
		limit int64
		cmd   func(path string) *exec.Cmd
	}{
		{"-creds", safefile.MaxCreds, func(p string) *exec.Cmd { return child(nil, "-creds", p) }},
		{conformance.EnvCredsFile, safefile.MaxCreds, func(p string) *exec.Cmd {
			return child([]string{conformance.EnvCredsFile + "=" + p})
		}},
		{conformance.EnvPrivateKeyFile, safefile.MaxKey, func(p string) *exec.Cmd {
			return child(append(target, conformance.EnvPrivateKeyFile+"="+p))
		}},
		{conformance.EnvPrivateKeyFile + "_2", safefile.MaxKey, func(p string) *exec.Cmd {
			return child(append(target, conformance.EnvAPIKey+"=k", conformance.EnvUsername+"_2=bob", conformance.EnvPrivateKeyFile+"_2="+p))
		}},
		{"CLEARINGHOUSE_CA_FILE", safefile.MaxCerts, func(p string) *exec.Cmd {
			return child(append(target, conformance.EnvAPIKey+"=k", "CLEARINGHOUSE_CA_FILE="+p))
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
