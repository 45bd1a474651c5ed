package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
)

// maxSecret bounds what is read as a password or a key from stdin.
const maxSecret = 64 << 10

// readPassword gets the account's password: the first line of stdin with
// --password-stdin, else from the terminal with echo turned off. It never
// takes a password from a flag, which every user could read in the
// process list.
func (a *app) readPassword(ctx context.Context, c *clearinghouse.Client) (string, error) {
	if a.o.passwordStdin {
		line, err := readLine(a.stdin)
		if err != nil && !errors.Is(err, io.EOF) {
			return "", usageErr("", "reading the password from stdin: %v", err)
		}
		if line == "" {
			return "", usageErr("pipe the password in, such as `pass show seattle | clearinghouse ... --password-stdin`", "no password on stdin")
		}
		a.rememberPassword(line)
		return line, nil
	}
	f, ok := a.stdin.(*os.File)
	if !ok || !isTerminal(f.Fd()) {
		return "", usageErr("pipe the password in and add --password-stdin", "stdin is not a terminal, so the password cannot be asked for")
	}
	fmt.Fprintf(a.stderr, "Password for %s at %s: ", c.Username(), c.URL())
	pw, err := readNoEcho(ctx, f)
	fmt.Fprintln(a.stderr)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", usageErr("", "reading the password: %v", err)
	}
	if pw == "" {
		return "", usageErr("", "no password entered")
	}
	a.rememberPassword(pw)
	return pw, nil
}

// readLine reads up to the first newline, without it (and without a
// carriage return before it), one byte at a time so that nothing after
// the line is consumed.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < maxSecret {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			b.WriteByte(buf[0])
		}
		if err != nil {
			return strings.TrimSuffix(b.String(), "\r"), err
		}
	}
	return "", errors.New("line too long")
}

// readAllLimited reads all of r, up to maxSecret bytes.
func readAllLimited(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSecret+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxSecret {
		return "", errors.New("too long")
	}
	return string(data), nil
}

// readNoEcho reads a line from the terminal f with echo off. The terminal
// is restored on every way out: the line read, an error, a panic, and ctx
// ending (Ctrl-C, SIGTERM and SIGHUP cancel it in main), which returns
// at once although the read itself stays blocked until the process exits.
func readNoEcho(ctx context.Context, f *os.File) (string, error) {
	restore, err := echoOff(f.Fd())
	if err != nil {
		return "", fmt.Errorf("cannot turn off echo (%v); use --password-stdin", err)
	}
	defer restore()
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := readLine(f)
		ch <- result{line, err}
	}()
	select {
	case r := <-ch:
		if errors.Is(r.err, io.EOF) && r.line != "" {
			r.err = nil
		}
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
