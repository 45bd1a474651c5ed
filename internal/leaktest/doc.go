// Package leaktest is what the tests of the packages that show a server's
// text share, to attack them from outside: Echo, a hostile clearinghouse
// that sends back everything it is sent, and the secrets it knows, in
// fault strings and HTTP reason phrases, padded so that they straddle the
// places where messages are cut, with control characters around them;
// Leaks, which finds secrets in output in any form an output may give
// them (Go-quoted, JSON, HTML, XML, URL-escaped, any case, cut, one
// character missing); and ControlChars, which finds what could drive a
// terminal or reorder a line.
//
// A typical test puts Echo in front of the mock, runs the code under test
// through it, and asks for no leak and no control character in anything
// it printed:
//
//	srv := httptest.NewServer(&leaktest.Echo{Next: mock, Known: []string{privateKey}})
//	// ... run the command or the suite against srv.URL ...
//	if leaks := leaktest.Leaks(stdout, secrets); len(leaks) > 0 { t.Errorf(...) }
//	if cc := leaktest.ControlChars(stdout); len(cc) > 0 { t.Errorf(...) }
package leaktest
