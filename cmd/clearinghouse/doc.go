// Command clearinghouse leases and manages vessels on a Seattle
// Clearinghouse from the shell: look at the account and its vessels,
// acquire, renew and release vessels, keep them alive in the foreground,
// and manage the API key and public key.
//
// Usage:
//
//	clearinghouse [flags] COMMAND [flags] [arguments]
//
//	account                           show the account: credits, vessels held, next expiry
//	list                              list the vessels the account holds
//	acquire TYPE N                    acquire N vessels of TYPE: lan, wan, nat or random
//	acquire-specific HANDLE...        acquire particular vessels by their full handles
//	renew --all | HANDLE...           reset the expiry of vessels to 7 days from now
//	release --all | HANDLE...         release vessels, freeing their credits
//	keep [--all | HANDLE...]          keep vessels alive, renewing them until interrupted
//	public-key                        print the account's public key
//	regenerate-api-key                make a new API key and print it (asks for the password)
//	set-public-key KEY | --file FILE  replace the account's public key (asks for the password)
//
// Every command has --help with examples; `clearinghouse --help` lists the
// flags. Flags may come before or after the command and its arguments.
//
// # Credentials and endpoint
//
// Each setting is taken from the first of these that gives it:
//
//  1. flags: --url, --user, --api-key-file, --private-key-file, --ca-file;
//  2. the environment: CLEARINGHOUSE_URL, CLEARINGHOUSE_USERNAME,
//     CLEARINGHOUSE_API_KEY, CLEARINGHOUSE_PRIVATE_KEY_FILE,
//     CLEARINGHOUSE_CA_FILE (the names the conformance suite reads);
//  3. a mock's creds file (what `mockclearinghouse -creds-out` writes):
//     --creds FILE or CLEARINGHOUSE_CREDS_FILE. --account NAME or
//     --account N (counting from 1) picks the account; without it, the
//     account named by --user or CLEARINGHOUSE_USERNAME, else the first.
//     A relative ca_file in it is relative to the file.
//
// The conformance suite (conformance.TargetFromEnv) reads the same
// variables and creds files by the same rule. The API key and the private
// key are taken together from the first level that has either, so
// --private-key-file is not overridden by an API key in the environment.
// Without an API key, the client fetches it with the private key
// (get_encrypted_api_key). Without any URL the public clearinghouse,
// clearinghouse.DefaultURL, is used. -v says on stderr where each setting
// came from.
//
// There is no --api-key flag: a flag's value is in the process list, which
// every user of the machine can read. CLEARINGHOUSE_API_KEY (readable only
// by the same user, through /proc) or a file given to --api-key-file is
// used instead; a key file that others can read gets a warning. TLS
// certificates are verified unless --insecure is given; --ca-file adds a
// CA (the mock's, for example) to the system's.
//
// Every file named by a flag or a variable (--api-key-file,
// --private-key-file, --ca-file, --creds, set-public-key --file, and their
// CLEARINGHOUSE_* counterparts) must be a regular file, not a directory,
// a named pipe or a device such as /dev/zero, and within a limit for its
// kind: a key 64 KiB, CA certificates 4 MiB, a creds file 16 MiB.
// Otherwise the command exits at once with status 2, naming the flag or
// variable and the path. What is read from stdin is bounded too: a key or
// a password 64 KiB, the handles of "-" 4 MiB.
//
// # Passwords
//
// regenerate-api-key and set-public-key authenticate with the account's
// password. It is never taken from a flag. On a terminal it is asked for
// with echo turned off: the terminal's settings are changed with the
// TCGETS/TCSETS ioctls (TIOCGETA/TIOCSETA on the BSDs and macOS) from
// package syscall, keeping line editing and Ctrl-C, and restored on every
// way out — the line read, an error, and Ctrl-C, SIGTERM or SIGHUP, which
// cancel the command's context. With --password-stdin it is the first line
// of stdin; when stdin is not a terminal, that flag is required. These two
// commands need no API key, so regenerate-api-key recovers a lost one.
// Only regenerate-api-key prints a secret: the new key, on stdout.
//
// # Output
//
// Tables by default: handles in a short form, "..." and the end of the
// node id, then the vessel ("...49931829:v2"), long enough to tell the
// account's nodes apart; renew, release and keep accept it. --wide shows
// full handles. Lease times read "3h59m" or "6d23h". With --json, output
// is JSON with stable field names: list, acquire, acquire-specific and
// renew print {"vessels": [...]} with handle, node_id, vessel_id, node_ip,
// node_port, is_active (null when unknown), expires_in_seconds and
// expires_at (RFC 3339, UTC); account prints username, affiliation,
// user_port, max_vessels, vessels_held, free_credits (negative when over
// the limit), next_expiry_in_seconds and url; release prints
// {"released": [...]}; keep prints one JSON object per line, each with an
// "event" (started, renewed, lost, found, replaced, error, summary); its
// summary counts as "kept" only the vessels a final look listed, and as
// "unknown" the others ("unknown_handles"). Notes and errors go to
// stderr; each error comes with a hint of what to do next.
//
// Whatever the server sends, the command prints none of the secrets it
// holds (the API key, the private key, even when only the API key is
// used, and the passwords), in any form: they are replaced by
// "[redacted]" in errors, notes, tables and JSON. Control characters,
// bidirectional controls and bytes that are not UTF-8 in what a server
// sent (an error, a handle, an address, an affiliation) are shown escaped
// (\r, \x1b, \u202e, \xff), so that a server cannot clear the terminal,
// retitle it or overwrite a line; in JSON they are \u escapes of the same
// strings.
//
// # Exit codes
//
//	0                   success
//	1    internal       internal error (from the clearinghouse, or unexpected)
//	2    usage          bad flags or arguments, missing or unreadable credentials
//	3    auth           wrong username, API key, password or private key
//	4    credits        not enough vessel credits, or renewing over the limit
//	5    unable         not enough suitable vessels available to acquire
//	6    invalid        the clearinghouse rejected an argument as invalid
//	7    communication  unreachable, TLS, HTTP or malformed response
//	8    lost           keep: every kept vessel lost (expired, released, node gone)
//	130  interrupted    interrupted before the command finished
//
// The second column is the error's kind. With --json, a command that
// fails prints one line of JSON on stdout, and nothing else there:
//
//	{"error": "clearinghouse: ...", "kind": "credits", "exit": 4, "hint": "..."}
//
// with the message and the hint it prints on stderr (redacted and escaped
// as all its output is), the kind and the exit status. keep, whose JSON
// is one event per line, ends with that line when it fails.
//
// acquire-specific exits with 5 when it acquired none of the vessels, and
// with 0 when it acquired some (the others are named on stderr). keep exits
// with 0 when interrupted, after one more look and a summary; the vessels
// stay held.
//
// A HANDLE given to renew or release, full or short, that names no vessel
// the account holds is skipped with a note; when none of them names one,
// the command does nothing and exits with 2, its own decision about the
// arguments (6 is for what the clearinghouse rejects). The clearinghouse
// lists only the vessels an account holds, so the command cannot tell an
// expired vessel from a released one or someone else's, and says so: an
// expired vessel cannot be renewed (acquire-specific may get it back).
// keep follows the same rule when a HANDLE is in the short form; given
// full handles only, it starts without looking, so that it can start
// while the clearinghouse is unreachable, and reports a vessel it does not
// find as lost. A vessel that renew listed but that is gone after the
// renewal (it expired meanwhile, or was released) is named with the lease
// time the listing gave it.
//
// # A session against the mock
//
// In one terminal, start the mock over TLS; it writes its URL, its CA
// certificate's path and a demo account's credentials to /tmp/creds.json:
//
//	go run ./cmd/mockclearinghouse -tls -creds-out /tmp/creds.json
//
// In another, from the repository's root:
//
//	$ go run ./cmd/clearinghouse --creds /tmp/creds.json account
//	USERNAME     demo1
//	AFFILIATION  Mock Clearinghouse demo account
//	USER PORT    63104
//	CREDITS      10 (0 held, 10 free)
//	NEXT EXPIRY  -
//	URL          https://127.0.0.1:8421/xmlrpc/
//	$ export CLEARINGHOUSE_CREDS_FILE=/tmp/creds.json    # instead of --creds every time
//	$ go run ./cmd/clearinghouse acquire wan 3
//	HANDLE          IP              PORT  ACTIVE  EXPIRES IN
//	...49931829:v2  210.58.8.11     1224  yes     3h59m
//	...37767307:v2  13.229.218.249  1224  yes     3h59m
//	...32995933:v2  39.77.111.190   1224  yes     3h59m
//	acquired 3 vessels (wan), expiring in 3h59m: renew with `clearinghouse renew --all`, or keep them alive with `clearinghouse keep`
//	$ go run ./cmd/clearinghouse renew ...49931829:v2
//	HANDLE          IP           PORT  ACTIVE  EXPIRES IN
//	...49931829:v2  210.58.8.11  1224  yes     6d23h
//	renewed 1 vessel, now expiring in 6d23h
//	$ go run ./cmd/clearinghouse acquire wan 8
//	clearinghouse: acquire_resources: not enough vessel credits (fault 103): You do not have enough vessel credits to acquire the number of vessels requested.
//	  hint: the account has no credits left for that many vessels; ask for fewer, or release vessels with `clearinghouse release HANDLE...` or `clearinghouse release --all` (see `clearinghouse account`)
//	exit status 4
//	$ go run ./cmd/clearinghouse keep --margin 5h        # renews 4-hour leases at once; Ctrl-C stops it
//	keeping 3 vessels, renewing 5h0m before expiry; Ctrl-C to stop
//	12:00:01 renewed 2 vessels: ...32995933:v2, ...37767307:v2
//	stopped after 4s: 3 vessels kept, 1 renewal, 0 lost, 0 replaced; still held, the first expires in 6d23h (renew, or run keep again)
//	$ go run ./cmd/clearinghouse release --all
//	released 3 vessels: ...32995933:v2, ...37767307:v2, ...49931829:v2
//
// (`go run` reports a failure as "exit status N" and then exits with 1,
// as it does after Ctrl-C; a built binary exits with N itself, and with 0
// when keep is stopped.) docs/cli.md has a longer session, which a test runs.
package main
