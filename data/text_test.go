package data

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestVocabRoundTrip(t *testing.T) {
	text := "héllo, wörld!\n\t世界 ✓"
	v := NewVocab(text)
	chars := v.Chars()
	if !slices.IsSorted(chars) || len(chars) != 16 {
		t.Fatalf("chars %q: want 16 distinct characters in increasing order", chars)
	}
	ids, err := v.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len([]rune(text)) {
		t.Fatalf("%d ids for %d characters", len(ids), len([]rune(text)))
	}
	if got := v.Decode(ids); got != text {
		t.Fatalf("decode(encode) = %q, want %q", got, text)
	}
	// The ids depend only on the set of characters.
	if w := NewVocab(strings.Repeat(text[3:]+text[:3], 2)); !slices.Equal(w.Chars(), chars) {
		t.Fatalf("vocabulary of a permuted text differs: %q vs %q", w.Chars(), chars)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back Vocab
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Chars(), chars) {
		t.Fatalf("JSON round trip %s gave %q", b, back.Chars())
	}
	if id, ok := back.ID('界'); !ok || back.Decode([]int32{int32(id)}) != "界" {
		t.Fatalf("ID('界') = %d, %v", id, ok)
	}

	_, err = v.Encode("hllo?")
	var uc *UnknownCharError
	if !errors.As(err, &uc) || uc.Char != '?' || uc.Offset != 4 || !strings.Contains(err.Error(), `'?'`) {
		t.Fatalf("Encode of an unknown character: %v", err)
	}
	for _, bad := range []string{`["a","a"]`, `["b","a"]`, `["ab"]`, `[""]`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("vocabulary %s accepted", bad)
		}
	}
}

func TestTextWindows(t *testing.T) {
	ids := make([]int32, 23)
	for i := range ids {
		ids[i] = int32(i)
	}
	w, err := NewTextWindows(ids, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Windows start at 0, 5, 10, 15 (15+5 < 23); targets shifted by one.
	if w.Len() != 4 || !slices.Equal(w.XShape(), []int{5}) || !slices.Equal(w.YShape(), []int{5}) {
		t.Fatalf("len %d, shapes %v %v; want 4 windows of [5]", w.Len(), w.XShape(), w.YShape())
	}
	l, err := NewLoader(w, LoaderOptions{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	var batches int
	for b, err := range l.Epoch(t.Context(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		if batches == 1 {
			if !slices.Equal(b.X.Shape(), []int{1, 5}) || !slices.Equal(b.Y.Shape(), []int{1, 5}) {
				t.Fatalf("last batch shapes %v %v, want [1 5]", b.X.Shape(), b.Y.Shape())
			}
			if !slices.Equal(b.X.Data(), []float32{15, 16, 17, 18, 19}) || !slices.Equal(b.Y.Data(), []float32{16, 17, 18, 19, 20}) {
				t.Fatalf("window 3: x %v y %v", b.X.Data(), b.Y.Data())
			}
		}
		batches++
	}
	if batches != 2 {
		t.Fatalf("%d batches, want 2", batches)
	}
	if o, _ := NewTextWindows(ids, 5, 2); o.Len() != 9 {
		t.Errorf("stride 2: %d windows, want 9", o.Len())
	}
	if _, err := NewTextWindows(ids[:5], 5, 0); err == nil {
		t.Error("5 ids make a window of 5 with targets")
	}
}

func TestReadText(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.go", "package b\n")
	write("a/x.go", "package x") // no final newline: one is added
	write("a/y.txt", "notes\n")
	write("a/bin.go", "\x00\x01binary")
	write("a/latin1.go", "caf\xe9\n")
	write(".git/z.go", "hidden\n")
	write("c.go", "// é\n")

	s, info, err := ReadText(dir, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "package x\nnotes\npackage b\n// é\n"; s != want || info.Files != 4 || info.Skipped != 2 {
		t.Fatalf("ReadText(dir) = %q, %+v; want %q, 4 files, 2 skipped", s, info, want)
	}
	s, _, err = ReadText(dir, TextOptions{Extensions: []string{".go"}})
	if err != nil || s != "package x\npackage b\n// é\n" {
		t.Fatalf(".go files: %q, %v", s, err)
	}
	// The cap cuts at a character boundary: "// é" is 5 bytes, é 2 of them.
	s, info, err = ReadText(dir, TextOptions{Extensions: []string{".go"}, MaxBytes: 24})
	if err != nil || s != "package x\npackage b\n// " || !info.Truncated {
		t.Fatalf("capped at 24 bytes: %q, %+v, %v", s, info, err)
	}
	s, _, err = ReadText(filepath.Join(dir, "c.go"), TextOptions{MaxBytes: 4})
	if err != nil || s != "// " {
		t.Fatalf("single file capped at 4 bytes: %q, %v", s, err)
	}
	if _, _, err := ReadText(filepath.Join(dir, "a/latin1.go"), TextOptions{}); err == nil || !strings.Contains(err.Error(), "byte 3 is 0xe9") {
		t.Errorf("latin-1 file: %v", err)
	}
	if _, _, err := ReadText(filepath.Join(dir, "missing"), TextOptions{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := ReadText(dir, TextOptions{Extensions: []string{".md"}}); err == nil || !strings.Contains(err.Error(), "no text files ending with .md") {
		t.Errorf("no matching files: %v", err)
	}
}
