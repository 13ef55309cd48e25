//go:build linux || darwin

package board

import (
	"syscall"
	"testing"
)

// makeFIFO makes a named pipe, which the server must refuse to open: opening
// it for reading would block until a writer comes.
func makeFIFO(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Logf("no named pipe: %v", err)
	}
}
