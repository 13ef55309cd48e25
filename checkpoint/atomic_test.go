package checkpoint

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.bin")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := WriteFileAtomic(path, write("first")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, write("second")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "second" {
		t.Errorf("content %q, want %q", b, "second")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the replaced file's 0600", st.Mode().Perm())
	}

	// An error in the middle of writing leaves the old file and no temp file.
	boom := errors.New("disk on fire")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("x", 1<<17)) // past the buffer: bytes reach the temp file
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("error %v does not wrap the writer's error", err)
	}
	b, _ = os.ReadFile(path)
	if string(b) != "second" {
		t.Errorf("failed write changed the file to %d bytes", len(b))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only state.bin", names)
	}

	// A panic in the writer also removes the temp file.
	func() {
		defer func() { recover() }()
		WriteFileAtomic(path, func(w io.Writer) error { panic("bug") })
	}()
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("panic left %d entries", len(entries))
	}
}

func TestWriteFileAtomicErrors(t *testing.T) {
	dir := t.TempDir()
	ok := func(w io.Writer) error { return nil }
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), ok); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	if err := WriteFileAtomic(dir, ok); err == nil {
		t.Error("replacing a directory succeeded")
	}
}
