//go:build unix

package run

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// TestLockExclusiveUnderContention checks that concurrent lockers never
// hold a run directory's lock at the same time, even while holders keep
// releasing it (with an exclusive-create lock file, two lockers that saw
// the same stale file could both win).
func TestLockExclusiveUnderContention(t *testing.T) {
	dir := t.TempDir()
	var holders, wins atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l, err := LockDir(dir, "test")
				if err != nil {
					var le *LockedError
					if !errors.As(err, &le) {
						t.Error(err)
						return
					}
					continue
				}
				if n := holders.Add(1); n != 1 {
					t.Errorf("%d holders of one lock at once", n)
				}
				wins.Add(1)
				holders.Add(-1)
				if err := l.Unlock(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if wins.Load() == 0 {
		t.Fatal("no locker ever won")
	}
}

// TestLockStaleFileOfLiveProcess checks that a lock file whose recorded
// process id belongs to a live process (a reused PID) does not block the
// directory when no one holds the lock.
func TestLockStaleFileOfLiveProcess(t *testing.T) {
	dir := t.TempDir()
	host, _ := os.Hostname()
	// Our own PID: alive, but holding no lock on the file.
	stale := `{"pid":` + strconv.Itoa(os.Getpid()) + `,"host":"` + host + `","command":"strata train","since":"2026-01-01T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := LockDir(dir, "strata eval")
	if err != nil {
		t.Fatalf("a lock file nobody holds blocked the directory: %v", err)
	}
	if h, ok := readHolder(filepath.Join(dir, LockFile)); !ok || h.Command != "strata eval" {
		t.Errorf("holder after takeover: %+v, %v", h, ok)
	}
	l.Unlock()
}

// TestLockHelperProcess is the subprocess of TestLockOtherProcess: it
// takes the lock, says so, and waits to be killed.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("STRATA_LOCK_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	if _, err := LockDir(dir, "strata helper"); err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	select {}
}

// TestLockOtherProcess checks that a lock held by another process refuses
// this one with that process named, and that the lock is free again as
// soon as the holder is killed (SIGKILL: it removes nothing).
func TestLockOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "STRATA_LOCK_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start a subprocess:", err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	_, err = LockDir(dir, "strata eval")
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != cmd.Process.Pid || le.Holder.Command != "strata helper" {
		t.Fatalf("got %v, want a *LockedError naming process %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, LockFile)); err != nil {
		t.Fatalf("the killed holder's lock file should remain: %v", err)
	}
	l, err := LockDir(dir, "strata eval")
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	l.Unlock()
}

// TestLockStaleTakeoverHasOneWinner starts several lockers at once on a
// lock file left by a dead process: exactly one may win (with a lock file
// taken over by removal, two lockers that both saw the stale file could
// each remove the other's new one and both hold the lock).
func TestLockStaleTakeoverHasOneWinner(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	host, _ := os.Hostname()
	stale := `{"pid":` + strconv.Itoa(cmd.ProcessState.Pid()) + `,"host":"` + host + `","command":"strata train","since":"2026-01-01T00:00:00Z"}`
	for round := 0; round < 30; round++ {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(stale), 0o644); err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		locks := make([]*Lock, 8)
		var wg sync.WaitGroup
		for i := range locks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				locks[i], _ = LockDir(dir, "test")
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, l := range locks {
			if l != nil {
				won++
				l.Unlock()
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d lockers hold the lock, want 1", round, won)
		}
	}
}
