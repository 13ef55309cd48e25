// Package regular opens files that loaders read whole: it refuses what is
// not a regular file before opening it, so that a FIFO does not block in
// open() (where no cancellation can reach it) and /dev/zero or a terminal
// is not read until memory runs out.
package regular

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Open opens path for reading after checking, without opening it, that it
// is a regular file (symbolic links are followed). The error for anything
// else names the path and what it is.
func Open(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := Check(path, st.Mode()); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// The name could have been replaced between Stat and Open: check again.
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = Check(path, st.Mode())
		}
		return nil, err
	}
	return f, nil
}

// ReadFile is os.ReadFile through Open.
func ReadFile(path string) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, st.Size()+1)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				return b, nil
			}
			return nil, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// Check returns an error unless mode is a regular file's.
func Check(path string, mode fs.FileMode) error {
	if mode.IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch {
	case mode.IsDir():
		what = "a directory, not a file"
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO), not a regular file; loaders read files whole"
	case mode&fs.ModeDevice != 0 || mode&fs.ModeCharDevice != 0:
		what = "a device, not a regular file; loaders read files whole"
	case mode&fs.ModeSocket != 0:
		what = "a socket, not a regular file"
	}
	return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%s", what)}
}
