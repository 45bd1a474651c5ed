//go:build !unix

package atomicfile

// SyncDir does nothing on this platform: a directory cannot be opened and
// fsynced here (Windows, Plan 9, WebAssembly). A rename is then durable
// only as far as the platform makes it so.
func SyncDir(dir string) error { return nil }
