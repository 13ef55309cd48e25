//go:build unix

package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Lock is a held run-directory lock; Unlock releases it.
//
// On unix systems the lock is an advisory flock(2) lock (LOCK_EX) on the
// open .lock file, held as long as the file stays open: the kernel
// releases it when the process exits or dies, so a crashed holder never
// blocks the directory, whatever became of its process id. The holder
// JSON written into the file is information for the error message only.
type Lock struct {
	path string
	f    *os.File
}

// LockDir takes the lock of the run directory dir (which must exist) for
// command (what the holder is doing, as shown to other processes: "strata
// train"). It fails with a *LockedError naming the holder when another
// process (or another Lock in this process) holds it; a lock file left by
// a process that has exited is taken over.
func LockDir(dir, command string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	// Each retry means another locker took and released the lock between
	// our open and our flock: others are progressing, so retrying is
	// cheap, but with lockers cycling fast (8 goroutines taking it in a
	// loop) 5 tries were all lost now and then.
	for attempt := 0; attempt < lockAttempts; attempt++ {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, fmt.Errorf("locking run directory %s: %w", dir, err)
		}
		if err := flock(f); err != nil {
			f.Close()
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("locking run directory %s: %w", dir, err)
			}
			return nil, &LockedError{Dir: dir, Holder: holderOf(path)}
		}
		// The holder before us may have removed the file between our open
		// and our flock: then we hold a lock on a file no longer in the
		// directory, and must lock the one that is.
		fi, err1 := f.Stat()
		pi, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || !os.SameFile(fi, pi) {
			f.Close()
			continue
		}
		b, _ := json.Marshal(me(command))
		if err := writeHolder(f, append(b, '\n')); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking run directory %s: %w", dir, err)
		}
		return &Lock{path: path, f: f}, nil
	}
	return nil, fmt.Errorf("locking run directory %s: the lock keeps changing hands", dir)
}

// lockAttempts bounds LockDir's retries when the lock file it locked was
// removed by the holder before it: then it fails with "the lock keeps
// changing hands".
const lockAttempts = 100

// flock takes an exclusive, non-blocking advisory lock on f, retrying
// when interrupted by a signal.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// writeHolder replaces the content of the locked file f with b.
func writeHolder(f *os.File, b []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt(b, 0)
	return err
}

// holderOf reads the holder of a lock held by someone else; the holder
// may be writing it this instant, so a torn file is read once more.
func holderOf(path string) Holder {
	h, ok := readHolder(path)
	if !ok {
		time.Sleep(50 * time.Millisecond)
		h, _ = readHolder(path)
	}
	return h
}

// Unlock releases the lock and removes the lock file (a nil Lock or a
// second Unlock does nothing).
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Remove while still holding the lock, so that no one can lock the
	// file between the removal and the release (LockDir re-checks that the
	// file it locked is still the one in the directory).
	err := os.Remove(l.path)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
