package checkpoint

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// WriteFileAtomic replaces the file at path with the bytes that write
// produces, so that a reader or a crash never sees a partial file.
//
// The bytes go to a new temporary file in the same directory (through a
// buffered writer), which is flushed, synced to disk, closed and renamed over
// path; then the directory itself is synced so that the rename is durable.
// If write returns an error, or any step fails, the temporary file is removed,
// the file at path is left as it was, and the error is returned. A new file
// gets mode 0644; a replaced file keeps its mode.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("checkpoint: write %q: path names a directory", path)
	}
	mode := fs.FileMode(0o644)
	if st, serr := os.Stat(path); serr == nil {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("checkpoint: write %q: not a regular file", path)
		}
		mode = st.Mode().Perm()
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint: write %q: %w", path, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		// Runs on every failure, including a panic inside write.
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		return fmt.Errorf("checkpoint: write %q: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("checkpoint: write %q: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("checkpoint: write %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("checkpoint: write %q: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint: write %q: close: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: write %q: %w", path, err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("checkpoint: write %q: sync directory: %w", path, err)
	}
	return nil
}

// syncDir makes a rename inside dir durable. Windows cannot open a directory
// for syncing; there the rename is as durable as the file system makes it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems refuse to sync a directory; the data is already safe.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}
