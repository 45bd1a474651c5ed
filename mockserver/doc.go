// Package mockserver is a stateful mock Seattle Clearinghouse: it answers
// the ten XML-RPC methods of the historical clearinghouse exactly as the
// contract (clearinghouse-api.md) describes — same fault codes and strings,
// same validation order, same credit, selection and expiry rules, same
// quirks — and adds the controls a test needs.
//
// A Server is an http.Handler: the XML-RPC endpoint answers at every path
// beginning with /xmlrpc (a GET or an empty POST there gets the historical
// HTML banner), an HTML status page at / and /status shows what the mock
// holds (never a secret), the JSON controls (The /admin/ controls, below)
// live under
// /admin/ when WithAdmin(true) is given, and every other path is 404.
// In-process tests can skip HTTP and use Server.Call, which runs a method
// on already-decoded values.
//
//	mock, err := mockserver.New() // 200 generated nodes, clock = wall clock
//	if err != nil {
//		log.Fatal(err)
//	}
//	acct, err := mock.AddAccount(mockapi.AccountSpec{
//		Username: "alice", Password: "secret1", Affiliation: "Test U",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	srv := httptest.NewServer(mock)
//	defer srv.Close()
//	// Point a client at srv.URL + "/xmlrpc/" with acct.Username and
//	// acct.APIKey (or acct.PrivateKey for get_encrypted_api_key).
//
// # Options
//
// New and Open take functional options: WithPopulation (the generated
// nodes; DefaultPopulation() otherwise), WithSeed (the random source behind
// selection, user ports and the failure rate), WithClock and WithTimeScale
// (the time source and how fast the mock clock follows it; scale 0
// freezes it), WithCleanupDelay (0 by default), WithAcquireFailureRate,
// WithKeyBits (size of generated key pairs), WithLogger, WithAdmin,
// WithAdminToken and WithAdminHosts (the JSON controls and their guard,
// below) and WithFaults (a fault profile, below). An invalid
// option, or a zero Option, makes New and Open return an error. New never
// touches the disk. Secrets — API keys, generated key pairs, the padding
// of get_encrypted_api_key — always come from crypto/rand, never from the
// seed.
//
// # State and concurrency
//
// Accounts, nodes, vessels (each with its 10-port set) and donations live
// behind one mutex; every wire call and every control is atomic. Expiry is
// lazy: at the start of each call, vessels whose lease has run out are
// released at the instant they expired, and dirty vessels whose cleanup
// delay has passed become available again (if their node is active and not
// broken). Selection draws from per-port-set indexes of available vessels,
// so acquiring n vessels costs O(n), not O(population): 100 000 nodes
// start in well under two seconds.
//
// # Test controls
//
// AddAccount, AddNode/AddNodes and AddDonation seed state; SetNodeActive,
// SetNodeBroken and SetNodeIP change nodes; InjectFailure (per node: always
// or the next k attempts) and SetAcquireFailureRate make node acquisitions
// fail, so that the all-or-nothing rollback of acquire_resources can be
// exercised; Now, SetTime, Advance, SetTimeScale and SetCleanupDelay drive
// time; Seed re-seeds and Reset starts over. Account, Accounts, Node,
// Nodes, Vessels and Holdings return copies: nothing a caller does to them
// reaches the server. The specs the controls take and the states they
// return (mockapi.AccountSpec, mockapi.Account, mockapi.Node, ...) are the
// types of package mockserver/mockapi, which are also the JSON of the
// /admin/ endpoints. None of the controls changes what the ten methods do
// on the wire; a fault profile (below) changes only whether a call over
// HTTP is applied and how its answer travels. Package
// clearinghouse/clearinghousetest starts a mock with an account and a
// client for it in one call.
//
// # The /admin/ controls
//
// With WithAdmin(true) the server's HTTP handler serves JSON test
// controls under /admin/: what the Go methods above do, for a test in
// another process or language (the conformance suite's NewHTTPControls is
// one such client). The endpoints, with the types of package mockapi that
// are their bodies (request → reply):
//
//	GET    /admin/state                          → State: counts, clock, settings
//	GET    /admin/accounts                       → AccountList, without secrets
//	POST   /admin/accounts                       AccountSpec → AccountCreated, with the credentials
//	GET    /admin/accounts/{username}            → AccountHoldings: the account and its vessels
//	GET    /admin/accounts/{username}/credentials  → Credentials
//	POST   /admin/accounts/{username}/credits    CreditsChange {"free_credits": 20} (exact: 0 is none) → Account
//	POST   /admin/accounts/{username}/active     ActiveChange {"active": false} → Account
//	GET    /admin/nodes?subnet=&nat=&offset=&limit=  → NodeList, paged (limit 100 by default)
//	POST   /admin/nodes                          a NodeSpec or an array of them → NodesAdded
//	GET    /admin/nodes/{id}                     → Node (percent-encode the id)
//	POST   /admin/nodes/{id}/active              ActiveChange {"active": false} → Node
//	POST   /admin/nodes/{id}/broken              BrokenChange {"broken": true} → Node
//	POST   /admin/nodes/{id}/ip                  IPChange {"ip": "10.0.0.7"} → Node
//	POST   /admin/donations                      Donation {"node_id": "...", "username": "..."} → Donation
//	DELETE /admin/donations/{id}                 remove the node's donation → Node
//	GET    /admin/vessels?owner=&node=&state=&offset=&limit=  → VesselList, paged (state: a VesselState)
//	POST   /admin/failures                       FailureChange {"node_id": "...", "always": true, "next": 3} → Node,
//	                                             {"rate": 0.2} or {"clear": true} → OKReply
//	GET    /admin/clock                          → Clock {"now": RFC 3339, "scale": 1}
//	POST   /admin/clock                          ClockChange {"set": "2030-01-01T00:00:00Z"}, {"advance": "4h"}
//	                                             or {"scale": 0} (0 freezes the clock) → Clock
//	GET    /admin/cleanup-delay                  → CleanupDelay {"delay": "5s"}
//	POST   /admin/cleanup-delay                  CleanupDelay {"delay": "5s"} → CleanupDelay
//	POST   /admin/seed                           Seed {"seed": 42} → Seed
//	POST   /admin/reset                          back to the generated population → State
//	GET    /admin/faults                         the fault profile in force, per-rule and per-kind counts
//	POST   /admin/faults                         put a profile in force: {"seed": 7, "rules": [...]}
//	                                             or {"spec": "seed=7;acquire_resources:reset_after,next=1"}
//	DELETE /admin/faults                         no profile: inject nothing
//	GET    /admin/report                         the behaviour report (see Report)
//	GET    /admin/nodemanagers                   the node managers: listeners, disk, calls
//	GET    /admin/vessels/{handle}/nodemanager   what a vessel's node manager holds
//	POST   /admin/vessels/{handle}/nodemanager/listen  make its node listen: {"address": "ip:port"}
//	POST   /admin/vessels/{handle}/nodemanager/log     {"text": "..."}: append to its log
//	POST   /admin/vessels/{handle}/nodemanager/end     its program ends: Started → Terminated
//	POST   /admin/vessels/{handle}/nodemanager/hang    {"wait": "2s"}: its next start hangs
//	                                             (absent: 10s, the original's wait)
//
// Bodies with a member they do not know are refused. Secrets leave the
// server only in the reply to POST /admin/accounts and
// from the credentials endpoint. Errors are an ErrorReply, {"error":
// "..."}, with status 400 (bad request or value), 404 (no such account,
// node or endpoint), 409 (already exists) or 500.
//
// The API defends itself against web pages the developer visits and, with
// WithAdminToken, against other users of the machine. It refuses with 403
// a Host that is not an IP address, localhost or a name given with
// WithAdminHosts (DNS rebinding), and any cross-origin request (an Origin
// that is not the server's own, or Sec-Fetch-Site cross-site or
// same-site); OPTIONS gets 405, so no CORS preflight succeeds. With a
// token, requests without "Authorization: Bearer <token>" get 401.
// Requests other than GET and HEAD that have a body, or any content type,
// need Content-Type application/json (parameters allowed), else 415.
//
// # Fault profiles
//
// A fault profile makes the XML-RPC endpoint misbehave the way networks
// and servers do, for clients to prove they cope: a late answer, an
// answer that trickles in, a connection reset before the call is applied
// (nothing changed) or after it (the change is made, durably with a state
// file, and the answer is lost: the case every client must handle for
// acquire and release), HTTP 503 with Retry-After or 500 (not applied),
// and a truncated answer (applied; the body stops short of its
// Content-Length). Set it with WithFaults, Server.SetFaults, POST
// /admin/faults or the command's -faults and -faults-spec flags. In JSON:
//
//	{
//	  "seed": 7,
//	  "rules": [
//	    {"method": "acquire_resources", "fault": "reset_after", "next": 1},
//	    {"method": "renew_resources", "fault": "unavailable", "retry_after": "5s", "probability": 0.1},
//	    {"method": "get_resource_info", "fault": "truncate", "skip": 3, "next": 1},
//	    {"method": "*", "username": "alice", "latency": "200ms", "jitter": "300ms", "probability": 0.5},
//	    {"method": "get_resource_info", "drip_bytes": 64, "drip_pause": "50ms"}
//	  ]
//	}
//
// and the same in the compact form that ParseFaultSpec reads and
// FaultProfile.String writes (one line; items separated by ';'):
//
//	seed=7;acquire_resources:reset_after,next=1;renew_resources:unavailable,retry_after=5s,p=0.1;
//	get_resource_info:truncate,skip=3,next=1;*@alice:latency=200ms,jitter=300ms,p=0.5;
//	get_resource_info:drip=64/50ms
//
// A rule matches a call by method ("*" for all ten) and, optionally,
// username; with node managers on, a method "nm:" and a node manager call
// ("nm:StartVessel", in the compact form nm:StartVessel:latency=2s), or
// "nm:*", makes the rule apply to node manager requests instead (see Node
// managers). "fault" is one of reset_before, reset_after, unavailable,
// server_error and truncate, or absent for delays only; "latency" plus a
// uniform draw below "jitter" delays the answer (after the call is
// applied); "drip_bytes" and "drip_pause" write it in pieces. A rule
// fires for every matching call, for a "probability" of them, or for
// exactly the "next" k of them, after letting "skip" of them pass. For
// each call the rules are tried in order and the first that fires is
// applied, alone. Durations are Go duration strings. The seed drives the
// probabilities and the jitter, so the same sequence of calls meets the
// same faults; setting a profile restarts its counters and its random
// source.
//
// Bounds: the delays of one call, latency and drip pauses together, never
// exceed 30 s (past that a drip writes the rest at once); a profile holds
// at most 64 rules, a Next or Skip is at most 1 000 000 and a RetryAfter
// at most an hour; replacing or clearing the
// profile, or Close, ends every delay in progress. Faults apply only over
// HTTP, only to calls that decode to one of the ten methods, never to
// Server.Call (which has no connection to reset), and never change what a
// call does once applied. A reset closes the TCP connection with
// SO_LINGER 0, so the client gets a RST; where the connection cannot be
// taken over (HTTP/2) the stream is aborted. Every injected fault is
// logged ("injected fault" with method, username, fault kind, rule and
// whether the call was applied), marked in the status page's recent
// calls, and counted per kind in Server.Faults and GET /admin/state.
//
// # Node managers
//
// WithNodeManagers(true) (the command's -nodemanagers) puts a simulated
// node manager behind every reachable node: a vessel's node answers the
// node manager protocol on loopback from the moment the vessel is acquired
// (before the acquisition is answered), the vessel's user is the account's
// public key, set_public_key moves it, and after a release or an expiry
// and the cleanup delay the vessel has no users and is reset. Nodes are
// shown at addresses of 127.0.0.0/8, a /24 per subnet. The vessels store
// files and record starts but run nothing; AppendVesselLog,
// EndVesselProgram and HangVesselStart stand in for a program;
// NodeManagerAddr and VesselNodeManager say where a vessel's node manager
// listens and what it holds; NodeManagers counts their work. With a state
// file their state is durable like the rest (WithNodeManagerDisk caps it).
// docs/nodemanager-api.md §8 says what they do and where they differ from
// the original.
//
//	mock, _ := mockserver.New(mockserver.WithNodeManagers(true))
//	// acquire a vessel, then talk to cv.NodeIP:cv.NodePort with package
//	// nodemanager, signing with the account's PrivateKey
//
// # Behaviour report
//
// Server.Report (GET /admin/report, the status page, the command's
// -report-out and -report-strict) says what clients did wrong, per
// account, from what the mock saw: vessels held when the report is taken
// (leak), leases that ran out while the account was making calls within
// an hour before and after (missed_renewal), more than 10 renewals of
// one vessel within an hour
// (renewal_storm), vessels acquired again, before looking, after an
// acquire whose answer a reset_after or truncate lost, or the client
// gave up on during an injected delay (duplicate_acquire), 5 faults 101
// within 10 minutes (auth_failures), and calls refused for their
// arguments (malformed_arguments). The FindingKind constants define each
// precisely. The report holds no secret, covers the calls since the
// server started or was Reset (in process and over HTTP alike), and keeps
// bounded state: every account is tracked, usernames that are no account
// only up to MaxUnknownNames (Report.UnknownNamesDropped estimates how
// many more there were), so a flood of junk usernames cannot hide what
// an account does.
//
// # Persistence
//
// Open(ctx, path, opts...) keeps the state in the file at path (ctx bounds
// only the start-up: generating the population, replaying the file). Every
// call that changes state is on disk (written and fsynced) before it
// returns; concurrent calls share a write (group commit). The file is a journal — a snapshot and then
// one checksummed record per change — compacted by rewriting it to a
// temporary file, fsyncing and renaming. A generated population is stored
// as its parameters, so the file stays small. On restart the file is
// authoritative (population options are ignored); absolute expiry times are
// kept, and with time scale 1 leases run out while the server is down, with
// any other scale the clock resumes where it stopped. A missing file starts
// fresh. A damaged one is an error matching ErrCorruptState that names the
// file, the record and its byte offset, and Open leaves the file exactly
// as it was; the only thing dropped is what a crash leaves after the last
// acknowledged record (the start of a record whose write it cut short,
// zeros). Each record's header carries a checksum of its own, so a damaged
// length is told from a record cut short. Settings — cleanup delay, failure rate,
// failure predicate, seed — come from the options, not the file (per-node
// injected failures are node state and are kept). The file
// holds passwords, API keys and private keys and is created with mode 0600.
// Close writes a final snapshot. A state file is locked while a Server has
// it open, under whatever name, hard links included (ErrStateLocked; see
// Open for the platforms), and a symbolic link is refused as a state file.
//
// A write that fails (a full disk, an I/O error) is never acknowledged: the
// calls it carried, and any queued behind them, fail with fault 100, and
// the server rolls back to what the file holds, as if they had never been
// made. Reads go on answering, and writes succeed again once the disk
// does. A compaction that fails leaves the old file in use and is retried
// only after the journal has grown further or a minute has passed.
//
// Nothing this package logs or returns as an error contains a password, an
// API key or a private key.
package mockserver

// How the package is built (for its maintainers; not part of the API).
//
// Three layers, and the named functions by which each reaches the next:
//
// The model is the state and its rules, all behind Server.mu:
// state.go (the account, node and vessel records, leases, expiry and
// cleanup: state.advance), index.go (the availability index), select.go
// (lan, wan, nat and random selection), population.go (the generator),
// clock.go (the mock clock), methods.go and pytype.go (what the ten wire
// methods check and change, with the contract's fault strings), and the Go
// controls in accounts.go, nodes.go and controls.go. server.go holds the
// only way in: Server.update runs a function on the state under the lock,
// after expiry, and then, with a state file, waits for its journal record;
// storage is persist.go (records: encodeSnapshot, encodeDelta, replay),
// journal.go (journal.append, journal.wait, group commit, compaction and
// rollback) and lock*.go (one process per state file). errors.go and
// options.go are the model's errors and settings.
//
// The views show the model and never read its fields or indexes (test
// TestViewsUseReadSeam): admin.go, the JSON controls (with adminguard.go,
// their HTTP defences), translates the exported methods of Server to JSON,
// plus GET /admin/state; status.go and status.html, the HTML status page.
// What the exported methods do not give them they get from the read seam,
// readseam.go: Server.overview takes the lock once and returns the clock,
// the settings and state.stats, the counts both views show, and lets the
// status page call state.subnetRows and state.accountRows under the same
// lock.
//
// The wire layer turns HTTP into method calls: http.go (Server.ServeHTTP:
// /xmlrpc to an xmlrpc.Server, /admin/ and / to the views, the banner, the
// call log) with limits.go (the caps on a request), and dispatch.go (the
// method table, arity, panics and unexpected errors as fault 100). Each
// XML-RPC method registered in http.go calls Server.call, which calls the
// method's function in methods.go; Server.Call is the same entry without
// HTTP. The wire layer reaches a view only to hand each finished call to
// the status page's recentCalls.record.
//
// Fault injection belongs to the wire layer: faults.go (the profile, its
// text forms, and faultEngine.decide, under the engine's own mutex) and
// inject.go (Server.serveInjected: the answer is buffered, the method
// handler of http.go asks the engine once the call is decoded, and
// Server.deliver applies the decision to the connection). A call whose
// answer will be lost carries that in its context (withLostAnswer); one
// whose answer is delayed carries a flight (withFlight), which the wire
// layer settles once it knows whether the client was still there to get
// the answer (Server.settleFlight). That is all the model learns of
// faults.
//
// The behaviour report belongs to the model: watch.go is the per-account
// record, under Server.mu, fed by Server.locked (an authenticated call),
// state.advance (a lease that ran out), the wire methods and Server.call
// (calls refused for their credentials or arguments); report.go turns it,
// with the state's holdings, into Server.Report. The views show it and
// the fault status through the exported Report and Faults.
