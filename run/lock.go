package run

import (
	"encoding/json"
	"fmt"
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
	return fmt.Sprintf("run directory %s is in use by %s; wait for it to finish or choose another directory (if that process is not strata, remove %s)",
		e.Dir, e.Holder, filepath.Join(e.Dir, LockFile))
}

// me describes this process as the holder of a lock taken for command.
func me(command string) Holder {
	host, _ := os.Hostname()
	return Holder{PID: os.Getpid(), Host: host, Command: command, Since: time.Now().UTC().Truncate(time.Second)}
}

// readHolder reads a lock file; ok is false when it is absent or torn.
func readHolder(path string) (h Holder, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal([]byte(strings.TrimSpace(string(b))), &h) != nil || h.PID <= 0 {
		return Holder{}, false
	}
	return h, true
}
