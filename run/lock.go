package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockFile is the name of the lock file in a run directory.
const LockFile = ".lock"

// Holder describes the process that holds a run directory's lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

func (h Holder) String() string {
	return fmt.Sprintf("process %d on %s (%s, since %s)", h.PID, h.Host, h.Command, h.Since.Format(time.RFC3339))
}

// LockedError reports a run directory whose lock another process holds.
type LockedError struct {
	Dir    string
	Holder Holder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("run directory %s is in use by %s; wait for it to finish or choose another directory", e.Dir, e.Holder)
}

// Lock is a held run-directory lock; Unlock releases it.
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
	host, _ := os.Hostname()
	me := Holder{PID: os.Getpid(), Host: host, Command: command, Since: time.Now().UTC().Truncate(time.Second)}
	b, _ := json.Marshal(me)
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
		if ok && !(h.Host == host && !processAlive(h.PID)) {
			return nil, &LockedError{Dir: dir, Holder: h}
		}
		if !ok {
			// Being written this instant, or torn by a crash: give a
			// writer a moment, then treat it as stale.
			time.Sleep(50 * time.Millisecond)
			if h, ok = readHolder(path); ok && !(h.Host == host && !processAlive(h.PID)) {
				return nil, &LockedError{Dir: dir, Holder: h}
			}
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("removing the stale lock of %s: %w", dir, err)
		}
	}
	return nil, fmt.Errorf("locking run directory %s: the lock keeps changing hands", dir)
}

// readHolder reads a lock file; ok is false when it is absent or torn.
func readHolder(path string) (h Holder, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal([]byte(strings.TrimSpace(string(b))), &h) != nil || h.PID <= 0 {
		return Holder{}, false
	}
	return h, true
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
