package redact_test

import (
	"fmt"

	"github.com/seattletestbed/clearinghouse-go/internal/redact"
)

func Example() {
	const key = "7QZ4JD2KX9MWB3T8HNV5RC6YPG1FSL0A"
	r := redact.New("[REDACTED]", 6, []string{key}, nil)
	fmt.Println(r.Redact(`fault 101: no user with key "` + key + `"`))
	fmt.Println(r.Redact("cut: " + key[:20] + "... (12 more bytes)"))
	fmt.Println(r.Redact("lower-cased: " + "7qz4jd2kx9mwb3t8"))
	// Output:
	// fault 101: no user with key "[REDACTED]"
	// cut: [REDACTED]... (12 more bytes)
	// lower-cased: [REDACTED]
}
