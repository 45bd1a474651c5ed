package main

import (
	"errors"
	"flag"
	"strconv"
	"strings"
	"time"
)

// The numeric flags check their values as they are set, so that a bad one
// is reported in plain words ("--retries must be a whole number, 0 or
// more (got "x")") instead of the flag package's "parse error", and so
// that no command has to check them again.

// intFlag is a flag.Value for a whole number of at least min.
type intFlag struct {
	p    *int
	name string
	min  int
	err  error // the last rejected value, reported by flagValueError
}

func (f *intFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.Itoa(*f.p)
}

func (f *intFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < f.min {
		f.err = usageErr("", "--%s must be a whole number, %d or more (got %q)", f.name, f.min, s)
		return f.err
	}
	*f.p = n
	return nil
}

func (f *intFlag) rejected() error { return f.err }

// durationFlag is a flag.Value for a duration in a range: above zero when
// positive is set, else zero or more; below max when max is not zero.
type durationFlag struct {
	p        *time.Duration
	name     string
	positive bool
	max      time.Duration
	want     string // the range and examples, for the message
	err      error
}

func (f *durationFlag) String() string {
	if f.p == nil {
		return "0s"
	}
	return f.p.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || (f.positive && d == 0) || (f.max > 0 && d >= f.max) {
		f.err = usageErr("", "--%s must be %s (got %q)", f.name, f.want, s)
		return f.err
	}
	*f.p = d
	return nil
}

func (f *durationFlag) rejected() error { return f.err }

func intVar(fs *flag.FlagSet, p *int, name string, min int, usage string) {
	fs.Var(&intFlag{p: p, name: name, min: min}, name, usage)
}

func durationVar(fs *flag.FlagSet, p *time.Duration, name string, positive bool, max time.Duration, want, usage string) {
	fs.Var(&durationFlag{p: p, name: name, positive: positive, max: max, want: want}, name, usage)
}

// flagValueError returns the plain-words error of a numeric flag of fs
// that rejected its value, if that is why parsing failed.
func flagValueError(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if r, ok := f.Value.(interface{ rejected() error }); ok && err == nil {
			err = r.rejected()
		}
	})
	return err
}

// isNumber reports whether arg is a negative number ("-1", "-2.5"): an
// argument, not a flag, since no flag's name starts with a digit.
func isNumber(arg string) bool {
	return len(arg) >= 2 && arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9'
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments ("acquire wan 3 --json"), and returns the
// positional ones. Everything after "--" is positional, and so is a
// negative number ("acquire wan -1"), which the command then rejects in
// its own words rather than as an unknown flag.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case arg == "-" || !strings.HasPrefix(arg, "-") || isNumber(arg):
			pos = append(pos, arg)
		default:
			flags = append(flags, arg)
			if takesValue(fs, arg) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	if err := fs.Parse(flags); err != nil {
		if e := flagValueError(fs); e != nil && !errors.Is(err, flag.ErrHelp) {
			return nil, e
		}
		return nil, err
	}
	return pos, nil
}

// takesValue reports whether the flag arg ("-x", "--name") is one whose
// value is the next argument: a known, non-boolean flag written without
// "=value".
func takesValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}
