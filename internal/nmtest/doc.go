// Package nmtest runs a small node manager on 127.0.0.1 for tests of node
// manager clients. Requests go through the protocol engine of package
// nmproto, so signatures, timestamps, permissions and the replies to bad
// requests are the original's (docs/nodemanager-api.md §6); the calls
// themselves are simple in-memory versions (files in a map, a log that
// says what was started, no program run). Switches make it misbehave in
// the ways a client must survive.
package nmtest
