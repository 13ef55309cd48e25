//go:build linux || darwin

package data

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO given as data is refused at once: opening it would block until a
// writer appears, where no Ctrl-C can reach.
func TestLoadersRefuseFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := ReadText(p, TextOptions{})
		if err == nil {
			_, _, err = LoadCSV(p, CSVOptions{})
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("loading a FIFO blocked")
	}
	// In a directory, a FIFO is skipped like any file that is not text.
	if _, info, err := ReadText(filepath.Dir(p), TextOptions{}); err == nil || info.Skipped != 1 {
		t.Errorf("directory with a FIFO: skipped %d, %v", info.Skipped, err)
	}
}
