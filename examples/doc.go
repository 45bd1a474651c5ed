// Package examples holds the README's recipes for testing a client against
// the mock clearinghouse, in three languages, and the tests that run them
// for real: a pytest fixture (testdata/python), a Node test
// (testdata/node) and a Go test with the in-process mock
// (careful_test.go). Each recipe starts the mock with a fault profile,
// acquires carefully through an answer lost after the call was applied,
// and fails if the mock's behaviour report has a finding. A test keeps the
// README's copies of the recipes equal to these files.
package examples
