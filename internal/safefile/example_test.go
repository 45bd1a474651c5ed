package safefile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
)

func ExampleReadFile() {
	dir, err := os.MkdirTemp("", "safefile-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	key := filepath.Join(dir, "api-key")
	if err := os.WriteFile(key, []byte("0123456789abcdef\n"), 0o600); err != nil {
		fmt.Println(err)
		return
	}

	data, err := safefile.ReadFile(key, safefile.MaxKey)
	fmt.Printf("%q %v\n", data, err)

	// The same file under a smaller limit, and a path that is no file.
	_, err = safefile.ReadFile(key, 8)
	fmt.Println(errors.Is(err, safefile.ErrTooLarge), strings.TrimPrefix(err.Error(), "read "+key+": "))
	_, err = safefile.ReadFile(dir, safefile.MaxKey)
	fmt.Println(errors.Is(err, safefile.ErrNotRegular), strings.TrimPrefix(err.Error(), "read "+dir+": "))
	// Output:
	// "0123456789abcdef\n" <nil>
	// true file too large (the limit is 8 bytes)
	// true not a regular file (a directory)
}
