// Package safefile reads the small files that the commands and the client
// library are told to read (a key, a token, a certificate, a creds file, a
// fault profile) without letting the path decide how much memory or time
// the read takes.
//
// ReadFile refuses anything that is not a regular file (a directory, a
// named pipe, a device such as /dev/zero, a socket) before reading a byte,
// and refuses a regular file larger than the limit the caller gives after
// reading at most one byte more than it. The open itself cannot block: the
// file is opened non-blocking (on Unix), so a named pipe with no writer is
// refused at once instead of hanging the program, and what was opened is
// checked again with fstat, so a file swapped after the first look is
// refused too. Symbolic links are followed: a key kept behind a link is
// fine; what counts is the file at its end.
//
//	data, err := safefile.ReadFile(path, safefile.MaxKey)
//	if err != nil {
//		return fmt.Errorf("-key-file: %w", err) // "-key-file: read /dev/zero: not a regular file (a character device)"
//	}
//
// The errors are *fs.PathError values that name the path; the two
// refusals match ErrNotRegular and ErrTooLarge with errors.Is, so that a
// command can treat them as a wrong command line. No error quotes the
// file's contents, which may be secrets.
//
// The Max constants are the limits for each kind of file the module
// reads, sized for its purpose with room to spare, and shared so that the
// same kind of file has the same limit everywhere.
package safefile
