//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/filetest"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
)

// TestFileFlagsRefuseSpecialFiles gives each file flag /dev/zero, a named
// pipe, a directory and a file one byte over its limit: the command must
// exit with status 2 at once, naming the flag and the path. (Before,
// /dev/zero grew the process without bound and a named pipe hung it.)
func TestFileFlagsRefuseSpecialFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := writeTLSPair(t, dir)
	for _, fl := range []struct {
		flag  string
		limit int64
		args  func(path string) []string
	}{
		{"-faults", safefile.MaxFaults, func(p string) []string { return []string{"-faults", p} }},
		{"-admin-token-file", safefile.MaxToken, func(p string) []string { return []string{"-admin", "-admin-token-file", p} }},
		{"-tls-cert", safefile.MaxCerts, func(p string) []string { return []string{"-tls-cert", p, "-tls-key", key} }},
		{"-tls-key", safefile.MaxKey, func(p string) []string { return []string{"-tls-cert", cert, "-tls-key", p} }},
	} {
		for _, c := range filetest.Cases(t, fl.limit) {
			t.Run(fl.flag+"/"+c.Name, func(t *testing.T) {
				t.Parallel()
				cmd := childCommand(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, fl.args(c.Path)...)...)
				filetest.Expect(t, cmd, 2, fl.flag, c)
			})
		}
	}
}

// TestStateFlagRefusesSpecialFiles gives -state a named pipe, a directory
// and a symbolic link to /dev/zero: status 2 at once, before the mock
// creates its lock file beside the path.
func TestStateFlagRefusesSpecialFiles(t *testing.T) {
	t.Parallel()
	var cases []filetest.Case
	for _, c := range filetest.Cases(t, 1) {
		if c.Name == "fifo" || c.Name == "directory" {
			cases = append(cases, c)
		}
	}
	link := filepath.Join(t.TempDir(), "zero")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, filetest.Case{Name: "link-to-dev-zero", Path: link, Want: "symbolic link"})
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			cmd := childCommand(context.Background(), "-addr", "127.0.0.1:0", "-state", c.Path)
			filetest.Expect(t, cmd, 2, "-state", c)
			if _, err := os.Lstat(strings.TrimSuffix(c.Path, "/") + ".lock"); err == nil {
				t.Errorf("a lock file was created beside %s", c.Path)
			}
		})
	}
}
