package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/seattletestbed/clearinghouse-go/internal/atomicfile"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// exitFindings is the exit status when -report-strict is given and the
// behaviour report has findings at shutdown.
const exitFindings = 3

// faultFlags defines the flags of the fault profile and the behaviour
// report.
func faultFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.faultsFile, "faults", "", "inject faults on /xmlrpc/ per the JSON fault profile in `file` (see the mockserver package documentation)")
	fs.StringVar(&o.faultsSpec, "faults-spec", "", "inject faults per this compact `profile`, such as 'seed=7;acquire_resources:reset_after,next=1' (node manager requests: 'nm:StartVessel:latency=2s')")
	fs.StringVar(&o.reportOut, "report-out", "", "write the behaviour report as JSON to `file` at shutdown")
	fs.BoolVar(&o.reportStrict, "report-strict", false, fmt.Sprintf("exit with status %d at shutdown if the behaviour report has findings", exitFindings))
}

// faultProfile reads the profile the flags give (the zero profile for
// none). Every problem is a usage error naming the flag.
func (o *options) faultProfile() (mockserver.FaultProfile, error) {
	var p mockserver.FaultProfile
	switch {
	case o.faultsFile != "" && o.faultsSpec != "":
		return p, usagef("give -faults or -faults-spec, not both")
	case o.faultsSpec != "":
		p, err := mockserver.ParseFaultSpec(o.faultsSpec)
		if err != nil {
			return p, usagef("-faults-spec: %v", err)
		}
		return p, nil
	case o.faultsFile != "":
		data, err := safefile.ReadFile(o.faultsFile, safefile.MaxFaults)
		if err != nil {
			return p, usagef("-faults: %v", err)
		}
		// Unmarshal checks the profile too.
		if err := json.Unmarshal(data, &p); err != nil {
			return p, usagef("-faults %s: %v", o.faultsFile, err)
		}
	}
	return p, nil
}

// findingsError is the error of a strict run whose report has findings:
// exit status exitFindings.
type findingsError struct{ n int }

func (e *findingsError) Error() string {
	if e.n == 1 {
		return "-report-strict: the behaviour report has 1 finding"
	}
	return fmt.Sprintf("-report-strict: the behaviour report has %d findings", e.n)
}

// finishReport takes the behaviour report at shutdown, prints it to
// stderr, writes it to -report-out, and under -report-strict returns a
// *findingsError if it has findings.
func finishReport(mock *mockserver.Server, o *options, stderr io.Writer) error {
	r, err := mock.Report()
	if err != nil {
		return fmt.Errorf("taking the behaviour report: %w", err)
	}
	if err := r.WriteText(stderr); err != nil {
		return err
	}
	if o.reportOut != "" {
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		// The report holds no secret: readable by all, like a log.
		if err := atomicfile.Write(o.reportOut, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("-report-out: %w", err)
		}
	}
	if o.reportStrict && len(r.Findings) > 0 {
		return &findingsError{len(r.Findings)}
	}
	return nil
}

func isFindingsError(err error) bool {
	var fe *findingsError
	return errors.As(err, &fe)
}
