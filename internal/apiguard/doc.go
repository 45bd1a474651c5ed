// Package apiguard keeps a golden listing of the module's exported API in
// testdata/api.txt, so that every change to what users can import shows up
// in review as a diff of that file. docs/compatibility.md says what the
// listing promises.
//
// After an intended change to the API, regenerate the listing with
//
//	go test ./internal/apiguard -update
//
// and commit it with the change (and a CHANGELOG entry).
package apiguard
