// Package filetest is what the commands' tests share to check their file
// flags against paths that must be refused: /dev/zero, a named pipe, a
// directory, and a regular file one byte over the flag's limit (see
// internal/safefile). Cases makes those paths; Run runs the command as a
// child process under a guard that kills it when it runs too long or, on
// Linux, when its memory grows past MaxRSS — so that a command that reads
// /dev/zero without bound, as they did before safefile, fails its test
// instead of eating the machine, and one that waits on a named pipe fails
// instead of hanging its package.
//
//	for _, c := range filetest.Cases(t, safefile.MaxToken) {
//		cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "-admin-token-file", c.Path)
//		cmd.Env = append(os.Environ(), "MOCK_MAIN=1")
//		filetest.Expect(t, cmd, 2, "-admin-token-file", c)
//	}
//
// The package is for Unix, where those files exist.
package filetest
