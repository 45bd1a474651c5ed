// Package credsfile reads and writes the JSON file through which
// cmd/mockclearinghouse (-creds-out) hands its endpoint, CA certificate and
// demo accounts to clients: the CLI (--creds), the conformance suite
// (CLEARINGHOUSE_CREDS_FILE) and scripts.
//
//	{"url": "https://127.0.0.1:8421/xmlrpc/", "ca_file": "/tmp/mockclearinghouse-ca.pem",
//	 "accounts": [{"username": "demo1", "password": "...", "api_key": "...",
//	               "public_key": "...", "private_key": "..."}]}
//
// ca_file is empty when the mock serves plain HTTP. admin_url is present
// only when the mock serves its /admin/ controls (-admin), and admin_token
// only when it requires one for them (-admin-token or -admin-token-file).
// Package internal/chconfig reads the file together with the
// CLEARINGHOUSE_* variables.
package credsfile

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/seattletestbed/clearinghouse-go/internal/atomicfile"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
)

// File is the whole creds file.
type File struct {
	URL        string    `json:"url"`
	CAFile     string    `json:"ca_file"`
	AdminURL   string    `json:"admin_url,omitempty"`   // the /admin/ controls, if the mock serves them
	AdminToken string    `json:"admin_token,omitempty"` // bearer token of the /admin/ controls, if required
	Accounts   []Account `json:"accounts"`
}

// Account is one account's credentials.
type Account struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	APIKey     string `json:"api_key"`
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
}

// Read reads and parses a creds file: a regular file of at most
// safefile.MaxCreds bytes (see internal/safefile). Its errors never quote
// the file's contents, which are secrets.
func Read(path string) (*File, error) {
	data, err := safefile.ReadFile(path, safefile.MaxCreds)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("creds file %s is not valid JSON (at byte %d)", path, se.Offset)
		}
		return nil, fmt.Errorf("creds file %s does not have the expected fields", path)
	}
	return &f, nil
}

// Write writes f to path atomically, readable by its owner only: a
// temporary file in the same directory, fsynced and renamed over path (see
// internal/atomicfile). A symbolic link at path is replaced, never written
// through.
func Write(path string, f *File) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o600)
}
