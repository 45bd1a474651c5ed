package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// koloVersion is the kolo/xmlrpc the table compares with: its last
// commit, as the Go module proxy serves it.
const koloVersion = "v0.0.0-20220921171641-a4b6fa1dd06b"

//go:embed peers/kolo_test.go
var koloBench []byte

//go:embed peers/cpython_loads.py
var cpythonLoads []byte

// runner runs the tools, with progress going to log.
type runner struct {
	root      string // module root
	tmp       string // scratch directory, removed at the end
	benchtime string
	log       io.Writer
}

// command runs name with args in dir and returns its standard output; on
// failure the error carries the end of its standard error.
func (r *runner) command(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String() + "\n" + stdout.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}

// buildTest compiles the tests of the package in pkgDir (relative to the
// module root) into a binary in the scratch directory.
func (r *runner) buildTest(ctx context.Context, pkgDir string) (string, error) {
	bin := filepath.Join(r.tmp, strings.ReplaceAll(pkgDir, "/", "_")+".test")
	fmt.Fprintf(r.log, "building %s benchmarks\n", pkgDir)
	_, err := r.command(ctx, r.root, nil, "go", "test", "-c", "-o", bin, "./"+pkgDir)
	return bin, err
}

// bench runs the benchmarks matching pattern from a test binary in dir.
func (r *runner) bench(ctx context.Context, bin, dir, pattern string, env ...string) ([]result, error) {
	out, err := r.command(ctx, dir, env, bin, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", r.benchtime)
	if err != nil {
		return nil, err
	}
	rs, err := parseBench(out)
	if err == nil && len(rs) == 0 {
		err = errors.New("benchtable: no benchmark matched " + pattern + " in " + filepath.Base(bin))
	}
	return rs, err
}

// buildKolo makes a temporary module that requires kolo/xmlrpc, holding
// peers/kolo_test.go, and compiles its benchmarks.
func (r *runner) buildKolo(ctx context.Context) (string, error) {
	dir := filepath.Join(r.tmp, "kolo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	gomod := "module benchpeers\n\ngo 1.26\n\nrequire github.com/kolo/xmlrpc " + koloVersion + "\n"
	src := bytes.Replace(koloBench, []byte("//go:build ignore\n"), nil, 1)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "kolo_test.go"), src, 0o644); err != nil {
		return "", err
	}
	fmt.Fprintf(r.log, "fetching github.com/kolo/xmlrpc %s into a temporary module\n", koloVersion)
	if _, err := r.command(ctx, dir, nil, "go", "mod", "tidy"); err != nil {
		return "", err
	}
	bin := filepath.Join(r.tmp, "kolo.test")
	_, err := r.command(ctx, dir, nil, "go", "test", "-c", "-o", bin, ".")
	return bin, err
}

// cpython times xmlrpc.client.loads on the payloads of the given sizes
// and returns results named CPython/<size>.
func (r *runner) cpython(ctx context.Context, payloads string, only ...string) ([]result, error) {
	script := filepath.Join(r.tmp, "cpython_loads.py")
	if err := os.WriteFile(script, cpythonLoads, 0o644); err != nil {
		return nil, err
	}
	d, err := time.ParseDuration(r.benchtime)
	if err != nil {
		return nil, err
	}
	if len(only) == 0 {
		only = sizes
	}
	args := []string{script, strconv.FormatFloat(d.Seconds(), 'f', -1, 64)}
	for _, size := range only {
		args = append(args, payloadFile(payloads, size))
	}
	out, err := r.command(ctx, r.root, nil, "python3", args...)
	if err != nil {
		return nil, err
	}
	return parseCPython(out, payloads, only)
}

func payloadFile(dir, size string) string {
	return filepath.Join(dir, "resource_info_"+size+".xml")
}

// parseCPython reads the "FILE NS" lines of cpython_loads.py.
func parseCPython(out, payloads string, only []string) ([]result, error) {
	byFile := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		ns, err := strconv.ParseFloat(f[1], 64)
		if err != nil || ns <= 0 {
			return nil, errors.New("benchtable: malformed line from cpython_loads.py: " + sc.Text())
		}
		byFile[f[0]] = ns
	}
	var rs []result
	for _, size := range only {
		ns, ok := byFile[payloadFile(payloads, size)]
		if !ok {
			return nil, errors.New("benchtable: cpython_loads.py gave no time for " + size + " vessels")
		}
		rs = append(rs, result{name: cpythonName(size), nsOp: ns, allocs: -1})
	}
	return rs, nil
}

// raceRun times one go test -race ./... in the module root, with CI=1 as
// .ci/run sets it and -count=1 so that no cached result is reused.
func (r *runner) raceRun(ctx context.Context) (float64, error) {
	fmt.Fprintln(r.log, "timing go test -race -count=1 ./... (several minutes)")
	start := time.Now()
	_, err := r.command(ctx, r.root, []string{"CI=1"}, "go", "test", "-race", "-count=1", "./...")
	return time.Since(start).Seconds(), err
}
