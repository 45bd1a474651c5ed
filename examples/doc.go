// Package examples holds the recipes for testing a client against the
// mock clearinghouse, in three languages, and the tests that run them for
// real: a pytest fixture (testdata/python), a Node test (testdata/node)
// and a Go test with the in-process mock (careful_test.go). Each recipe
// starts the mock with a fault profile, acquires carefully through an
// answer lost after the call was applied, and fails if the mock's
// behaviour report has a finding. README.md shows the recipes, and a test
// keeps its copies equal to these files.
//
// The command in quickstart is the top-level README's example program.
package examples
