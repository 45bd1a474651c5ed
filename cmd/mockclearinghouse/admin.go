package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
)

// adminFlags defines the flags that secure the /admin/ controls.
func adminFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.adminToken, "admin-token", "", "require `token` as \"Authorization: Bearer\" on /admin/ (visible in ps; prefer -admin-token-file)")
	fs.StringVar(&o.adminTokenFile, "admin-token-file", "", "require the token in `file` as \"Authorization: Bearer\" on /admin/")
	fs.StringVar(&o.adminHosts, "admin-host", "", "comma-separated host `names` that /admin/ answers to besides IP addresses and localhost")
}

// adminSettings checks the admin flags and returns the token (empty for
// none) and the extra host names. A combination of flags that does not go
// together is a usage error. Errors never quote the token.
func (o *options) adminSettings() (token string, hosts []string, err error) {
	if !o.admin && (o.adminToken != "" || o.adminTokenFile != "" || o.adminHosts != "") {
		return "", nil, usagef("-admin-token, -admin-token-file and -admin-host need -admin")
	}
	if o.adminToken != "" && o.adminTokenFile != "" {
		return "", nil, usagef("give -admin-token or -admin-token-file, not both")
	}
	token = o.adminToken
	if o.adminTokenFile != "" {
		data, err := safefile.ReadFile(o.adminTokenFile, safefile.MaxToken)
		if err != nil {
			return "", nil, usagef("-admin-token-file: %w", err)
		}
		if token = strings.TrimSpace(string(data)); token == "" {
			return "", nil, usagef("-admin-token-file %s is empty", o.adminTokenFile)
		}
	}
	for h := range strings.SplitSeq(o.adminHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return token, hosts, nil
}

// adminTokenNote completes the banner's admin line; it never shows the
// token itself.
func adminTokenNote(token string, inCredsFile bool) string {
	switch {
	case token == "":
		return ""
	case inCredsFile:
		return " (send the admin token, also in the creds file, as \"Authorization: Bearer <token>\")"
	}
	return " (send the admin token as \"Authorization: Bearer <token>\")"
}

// warnAdminExposure warns, in the banner and the log, when the admin
// controls listen where other machines can reach them.
func warnAdminExposure(w io.Writer, logger *slog.Logger, addr net.Addr, hasToken bool) {
	ta, ok := addr.(*net.TCPAddr)
	if ok && ta.IP.IsLoopback() {
		return
	}
	advice := "anyone who can connect can change the mock's state and read every account's credentials; listen on 127.0.0.1, or at least set -admin-token-file"
	if hasToken {
		advice = "anyone who can connect and has the admin token can change the mock's state and read every account's credentials; without -tls or -tls-cert the token crosses the network in clear text"
	}
	fmt.Fprintf(w, "WARNING: the admin controls listen on %s, beyond this machine: %s.\n", addr, advice)
	logger.Warn("the admin controls listen beyond loopback", "addr", addr.String(), "admin_token", hasToken, "risk", advice)
}
