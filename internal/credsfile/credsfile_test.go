package credsfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.json")
	want := &File{URL: "https://127.0.0.1:1/xmlrpc/", CAFile: "/ca.pem", AdminURL: "https://127.0.0.1:1/admin/", AdminToken: "TOKEN", Accounts: []Account{
		{Username: "demo1", Password: "pw", APIKey: "KEY", PublicKey: "3 33", PrivateKey: "7 3 11"},
	}}
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	have, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(have, want) {
		t.Fatalf("have %+v, want %+v", have, want)
	}
	data, _ := os.ReadFile(path)
	for _, key := range []string{`"url"`, `"ca_file"`, `"admin_url"`, `"admin_token"`, `"accounts"`, `"username"`, `"password"`, `"api_key"`, `"public_key"`, `"private_key"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("the file lacks %s:\n%s", key, data)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestReadErrorsKeepSecretsOut(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"broken.json": `{"url": "x", "accounts": [{"api_key": "SECRETKEY"`,
		"types.json":  `{"url": ["SECRETKEY"]}`,
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		_, err := Read(path)
		if err == nil || strings.Contains(err.Error(), "SECRETKEY") {
			t.Errorf("%s: have %v, want an error without the file's contents", name, err)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file gave no error")
	}
	if err := Write(filepath.Join(dir, "no", "such", "dir.json"), &File{}); err == nil {
		t.Error("writing into a missing directory gave no error")
	}
}

// TestWriteReplacesPlantedSymlink plants a symbolic link where the creds
// file goes: Write must replace the link, never write through it.
func TestWriteReplacesPlantedSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "creds.json")
	if err := os.Symlink(victim, path); err != nil {
		if runtime.GOOS == "windows" {
			testskip.Platform.Skipf(t, "making a symbolic link needs a privilege on Windows: %v", err)
		}
		t.Fatal(err)
	}
	if err := Write(path, &File{URL: "http://127.0.0.1:1/xmlrpc/"}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious\n" {
		t.Errorf("the link's target was changed: have %q, want %q", data, "precious\n")
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("creds file: have %v %v, want a regular file with mode 0600", fi.Mode(), err)
	}
	if f, err := Read(path); err != nil || f.URL != "http://127.0.0.1:1/xmlrpc/" {
		t.Fatalf("read back %+v %v", f, err)
	}
}

// TestReadRefusesWhatIsNotACredsFile: a directory, and a file over
// safefile.MaxCreds, are refused before they are parsed.
func TestReadRefusesWhatIsNotACredsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Read(dir); !errors.Is(err, safefile.ErrNotRegular) || !strings.Contains(err.Error(), dir) {
		t.Errorf("a directory: have %v, want safefile.ErrNotRegular naming it", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, safefile.MaxCreds+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(big); !errors.Is(err, safefile.ErrTooLarge) || !strings.Contains(err.Error(), "16 MiB") {
		t.Errorf("%d bytes: have %v, want safefile.ErrTooLarge with the limit", safefile.MaxCreds+1, err)
	}
}

// TestMaxCredsFitsTheLargestFile writes the largest creds file the mock
// can: mockclearinghouse's 1000 demo accounts, here with 4096-bit keys
// (the largest seattlersa takes; the mock's are 1024-bit), within
// safefile.MaxCreds with room to spare.
func TestMaxCredsFitsTheLargestFile(t *testing.T) {
	t.Parallel()
	digits := func(bits int) string { return strings.Repeat("9", bits*30103/100000+1) }
	f := &File{URL: "https://127.0.0.1:65535/xmlrpc/", CAFile: strings.Repeat("d/", 100) + "ca.pem",
		AdminURL: "https://127.0.0.1:65535/admin/", AdminToken: strings.Repeat("t", 4096)}
	for i := range 1000 {
		f.Accounts = append(f.Accounts, Account{
			Username: fmt.Sprintf("demo%d", i+1), Password: strings.Repeat("p", 24), APIKey: strings.Repeat("K", 32),
			PublicKey:  "65537 " + digits(4096),
			PrivateKey: digits(4096) + " " + digits(2048) + " " + digits(2048),
		})
	}
	path := filepath.Join(t.TempDir(), "creds.json")
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > safefile.MaxCreds/2 {
		t.Errorf("the largest creds file has %d bytes, want at most half of safefile.MaxCreds (%d)", fi.Size(), safefile.MaxCreds)
	}
	if _, err := Read(path); err != nil {
		t.Fatal(err)
	}
	t.Logf("the largest creds file: %d bytes (%.0f%% of safefile.MaxCreds)", fi.Size(), 100*float64(fi.Size())/safefile.MaxCreds)
}
