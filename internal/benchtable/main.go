package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reps := fs.Int("reps", 3, "repetitions; each figure is the median over them")
	benchtime := fs.String("benchtime", "0.5s", "run time of each benchmark in each repetition (go test -benchtime)")
	race := fs.Bool("race", false, "also time one go test -race -count=1 ./... (row 7; several minutes)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("benchtable: unexpected arguments: " + strings.Join(fs.Args(), " "))
	}
	if *reps < 1 {
		return errors.New("benchtable: -reps must be at least 1")
	}
	if d, err := time.ParseDuration(*benchtime); err != nil || d <= 0 {
		return errors.New("benchtable: -benchtime must be a positive duration such as 0.5s")
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "benchtable")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	r := &runner{root: root, tmp: tmp, benchtime: *benchtime, log: stderr}
	loadBefore := loadAverage()

	xmlrpcBin, err := r.buildTest(ctx, "xmlrpc")
	if err != nil {
		return err
	}
	chBin, err := r.buildTest(ctx, "clearinghouse")
	if err != nil {
		return err
	}
	var skipKolo, skipPython string
	koloBin, err := r.buildKolo(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "benchtable: kolo/xmlrpc is not measured: %v\n", err)
		skipKolo = "kolo/xmlrpc could not be built (see the log)"
	}
	if _, err := exec.LookPath("python3"); err != nil {
		skipPython = "python3 not found"
	}

	payloads := filepath.Join(root, "xmlrpc", "testdata")
	s := samples{}
	allocs := map[string]float64{}
	keep := func(rs []result, err error) error {
		if err != nil {
			return err
		}
		s.add(rs)
		for _, x := range rs {
			allocs[x.name] = x.allocs
		}
		return nil
	}
	// Each repetition measures one size after the other, and for each size
	// every side right after the other, so that the two timings of a ratio
	// are neighbours (see pairedRatio).
	for rep := 1; rep <= *reps; rep++ {
		fmt.Fprintf(stderr, "repetition %d of %d\n", rep, *reps)
		for _, size := range sizes {
			if err := keep(r.bench(ctx, xmlrpcBin, filepath.Join(root, "xmlrpc"), "^"+ours(size)+"$")); err != nil {
				return err
			}
			if skipKolo == "" {
				if err := keep(r.bench(ctx, koloBin, filepath.Join(tmp, "kolo"), "^"+koloName(size)+"$", "BENCH_PAYLOADS="+payloads)); err != nil {
					return err
				}
			}
			if skipPython == "" {
				if err := keep(r.cpython(ctx, payloads, size)); err != nil {
					return err
				}
			}
			if err := keep(r.bench(ctx, chBin, filepath.Join(root, "clearinghouse"), "^BenchmarkGetResourceInfoVsBare$/^"+size+"$/")); err != nil {
				return err
			}
		}
	}
	var raceSeconds float64
	var raceErr error
	if *race {
		raceSeconds, raceErr = r.raceRun(ctx)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	loadAfter := loadAverage()

	rows := append(codecRows(s, skipKolo, skipPython), laterRows()...)
	rows = append(rows, raceRow(raceSeconds, raceErr, *race))
	fmt.Fprintf(stdout, "Performance table: %d repetitions; every figure is the median over them of the ratio of two timings taken one right after the other in this run.\n\n", *reps)
	fmt.Fprintf(stdout, "Machine: %s\n", machine(ctx))
	fmt.Fprintf(stdout, "Load average (1, 5, 15 min): %s before, %s after\n\n", loadBefore, loadAfter)
	render(stdout, rows)
	fmt.Fprintln(stdout)
	renderDetails(stdout, s, allocs, benchNames())
	return nil
}

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("benchtable: go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("benchtable: run me inside the clearinghouse-go module")
	}
	root := filepath.Dir(gomod)
	if _, err := os.Stat(filepath.Join(root, "xmlrpc", "testdata", "resource_info_10.xml")); err != nil {
		return "", errors.New("benchtable: " + root + " is not the clearinghouse-go module (no xmlrpc/testdata payloads)")
	}
	return root, nil
}

// loadAverage returns the three load averages of /proc/loadavg, or
// "unknown".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// machine describes the machine: system, CPUs and their model, Go and
// Python versions.
func machine(ctx context.Context) string {
	desc := fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				desc += " (" + strings.TrimSpace(value) + ")"
				break
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output(); err == nil {
		desc += ", " + strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, "python3", "--version").Output(); err == nil {
		desc += ", " + strings.TrimSpace(string(out))
	}
	return desc
}
