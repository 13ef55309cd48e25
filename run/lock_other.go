//go:build !unix

package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Lock is a held run-directory lock; Unlock releases it.
//
// On systems without flock(2) the lock is the exclusive creation of the
// .lock file; a lock file is taken over only when its holder is known not
// to run on this host.
type Lock struct {
	path string
}

// LockDir takes the lock of the run directory dir (which must exist) for
// command (what the holder is doing, as shown to other processes: "strata
// train"). It fails with a *LockedError naming the holder when another
// live process holds it; a lock left by a process that no longer runs on
// this host is taken over.
func LockDir(dir, command string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	m := me(command)
	b, _ := json.Marshal(m)
	for attempt := 0; attempt < 3; attempt++ {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_, werr := f.Write(append(b, '\n'))
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return nil, fmt.Errorf("locking run directory %s: %w", dir, werr)
			}
			return &Lock{path: path}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("locking run directory %s: %w", dir, err)
		}
		h, ok := readHolder(path)
		if ok && !(h.Host == m.Host && !processAlive(h.PID)) {
			return nil, &LockedError{Dir: dir, Holder: h}
		}
		if !ok {
			// Being written this instant, or torn by a crash: give a
			// writer a moment, then treat it as stale.
			time.Sleep(50 * time.Millisecond)
			if h, ok = readHolder(path); ok && !(h.Host == m.Host && !processAlive(h.PID)) {
				return nil, &LockedError{Dir: dir, Holder: h}
			}
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("removing the stale lock of %s: %w", dir, err)
		}
	}
	return nil, fmt.Errorf("locking run directory %s: the lock keeps changing hands", dir)
}

// Unlock releases the lock (a nil Lock or a second Unlock does nothing).
func (l *Lock) Unlock() error {
	if l == nil || l.path == "" {
		return nil
	}
	err := os.Remove(l.path)
	l.path = ""
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
