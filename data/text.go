package data

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/strata-dl/strata/internal/regular"
)

// Text for character-level language models: ReadText reads a file or a
// directory tree of text files, a Vocab maps characters (Unicode code
// points) to ids, and TextWindows cuts the ids into fixed windows with
// next-character targets.

// TextOptions configure ReadText. Zero values mean the defaults in
// brackets.
type TextOptions struct {
	// MaxBytes stops reading after this many bytes (cut back to a whole
	// character) [0: no limit].
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// Extensions, for a directory, reads only the files whose names end
	// with one of these suffixes (".go", ".txt") [every text file].
	Extensions []string `json:"extensions,omitempty"`
}

// TextInfo describes what ReadText read.
type TextInfo struct {
	Files     int  // files read
	Skipped   int  // files in a directory that were not UTF-8 text
	Truncated bool // MaxBytes cut the text short
}

// ReadText reads a UTF-8 text file, or every text file under a directory,
// concatenated in the lexical order of their paths (a file that does not
// end with a newline is followed by one). In a directory it skips hidden
// files and directories (names starting with "."), files that do not end
// with one of o.Extensions when given, and files that are not text (not
// valid UTF-8, or holding a NUL byte), which it counts in TextInfo.Skipped.
// A single file that is not text is an error naming the offset of the
// first bad byte. It returns an error when nothing was read.
func ReadText(path string, o TextOptions) (string, TextInfo, error) {
	return ReadTextContext(context.Background(), path, o)
}

// ReadTextContext is ReadText that stops, returning ctx.Err(), when ctx is
// cancelled: checked before every file of a directory, so that Ctrl-C
// during the read of a large tree takes effect at once.
func ReadTextContext(ctx context.Context, path string, o TextOptions) (string, TextInfo, error) {
	var info TextInfo
	if o.MaxBytes < 0 {
		return "", info, fmt.Errorf("data: text: max bytes %d is negative", o.MaxBytes)
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", info, fmt.Errorf("text %s: %w", path, unwrapPath(err))
	}
	var buf bytes.Buffer
	full := func() bool { return o.MaxBytes > 0 && int64(buf.Len()) >= o.MaxBytes }
	add := func(b []byte) {
		if len(b) > 0 && b[len(b)-1] != '\n' {
			b = append(b, '\n')
		}
		if o.MaxBytes > 0 && int64(buf.Len()+len(b)) > o.MaxBytes {
			b = cutRunes(b, int(o.MaxBytes)-buf.Len())
			info.Truncated = true
		}
		buf.Write(b)
		info.Files++
	}
	if !st.IsDir() {
		b, err := readCapped(path, o.MaxBytes)
		if err != nil {
			return "", info, fmt.Errorf("text %s: %w", path, unwrapPath(err))
		}
		if off, ok := textError(b, o.MaxBytes > 0 && int64(len(b)) > o.MaxBytes); !ok {
			return "", info, fmt.Errorf("text %s: not UTF-8 text (byte %d is %#02x)", path, off, b[off])
		}
		add(b)
	} else {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if !d.IsDir() && !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
				info.Skipped++ // a FIFO or device would block or never end
				return nil
			}
			if p != path && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() || !hasExt(d.Name(), o.Extensions) {
				return nil
			}
			var left int64
			if o.MaxBytes > 0 {
				left = o.MaxBytes - int64(buf.Len())
			}
			b, err := readCapped(p, left)
			if err != nil {
				return err
			}
			if _, ok := textError(b, left > 0 && int64(len(b)) > left); !ok {
				info.Skipped++
				return nil
			}
			add(b)
			if full() {
				return filepath.SkipAll
			}
			return nil
		})
		if ctx.Err() != nil {
			return "", info, ctx.Err()
		}
		if err != nil {
			return "", info, fmt.Errorf("text %s: %w", path, err)
		}
	}
	if buf.Len() == 0 {
		what := "no text"
		if len(o.Extensions) > 0 {
			what = "no text files ending with " + strings.Join(o.Extensions, ", ")
		}
		return "", info, fmt.Errorf("text %s: %s (%d files read, %d not UTF-8 text)", path, what, info.Files, info.Skipped)
	}
	return buf.String(), info, nil
}

// readCapped reads a file, or its first max+utf8.UTFMax bytes when max > 0
// (enough to decide whether the part kept is text).
func readCapped(path string, max int64) ([]byte, error) {
	if max <= 0 {
		return regular.ReadFile(path)
	}
	f, err := regular.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max+utf8.UTFMax))
}

// textError reports whether b is text (valid UTF-8 without NUL bytes) and
// otherwise the offset of the first bad byte. With cut, b may end in the
// middle of a character.
func textError(b []byte, cut bool) (int, bool) {
	for i := 0; i < len(b); {
		if b[i] == 0 {
			return i, false
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			if cut && !utf8.FullRune(b[i:]) {
				return 0, true
			}
			return i, false
		}
		i += n
	}
	return 0, true
}

// cutRunes returns the longest prefix of b of at most n bytes that ends
// on a character boundary.
func cutRunes(b []byte, n int) []byte {
	if n >= len(b) {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}

func hasExt(name string, exts []string) bool {
	if len(exts) == 0 {
		return true
	}
	for _, e := range exts {
		if strings.HasSuffix(name, e) {
			return true
		}
	}
	return false
}

// unwrapPath drops the *fs.PathError's own copy of the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Vocab is a character vocabulary: the distinct characters (Unicode code
// points) of a text in increasing order, character i having id i. The
// order depends only on the set of characters, so the same text always
// gives the same ids. It marshals to JSON as an array of one-character
// strings.
type Vocab struct {
	chars []rune
	ids   map[rune]int
}

// NewVocab returns the vocabulary of the characters of text (invalid
// UTF-8 reads as U+FFFD).
func NewVocab(text string) *Vocab {
	seen := map[rune]bool{}
	for _, r := range text {
		seen[r] = true
	}
	chars := make([]rune, 0, len(seen))
	for r := range seen {
		chars = append(chars, r)
	}
	slices.Sort(chars)
	v, _ := VocabOf(chars)
	return v
}

// VocabOf returns the vocabulary of the given characters, which must be
// distinct and in increasing order (as Chars returns them).
func VocabOf(chars []rune) (*Vocab, error) {
	v := &Vocab{chars: slices.Clone(chars), ids: make(map[rune]int, len(chars))}
	for i, r := range chars {
		if i > 0 && r <= chars[i-1] {
			return nil, fmt.Errorf("data: vocabulary characters must be distinct and increasing: %q at %d follows %q", r, i, chars[i-1])
		}
		v.ids[r] = i
	}
	return v, nil
}

// Len returns the number of characters.
func (v *Vocab) Len() int { return len(v.chars) }

// Chars returns the characters in id order.
func (v *Vocab) Chars() []rune { return slices.Clone(v.chars) }

// ID returns the id of character r and whether r is in the vocabulary.
func (v *Vocab) ID(r rune) (int, bool) {
	id, ok := v.ids[r]
	return id, ok
}

// UnknownCharError reports a character that is not in a vocabulary.
type UnknownCharError struct {
	Char   rune
	Offset int // byte offset in the encoded string
}

func (e *UnknownCharError) Error() string {
	return fmt.Sprintf("character %q (U+%04X) at byte %d is not in the vocabulary", e.Char, e.Char, e.Offset)
}

// Encode returns the ids of the characters of s, or an
// *UnknownCharError for the first character not in the vocabulary.
func (v *Vocab) Encode(s string) ([]int32, error) {
	out := make([]int32, 0, len(s))
	for off, r := range s {
		id, ok := v.ids[r]
		if !ok {
			return nil, &UnknownCharError{Char: r, Offset: off}
		}
		out = append(out, int32(id))
	}
	return out, nil
}

// Decode returns the text of ids. It panics on an id out of range.
func (v *Vocab) Decode(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteRune(v.chars[id])
	}
	return b.String()
}

// MarshalJSON writes the characters as an array of strings.
func (v *Vocab) MarshalJSON() ([]byte, error) {
	s := make([]string, len(v.chars))
	for i, r := range v.chars {
		s[i] = string(r)
	}
	return json.Marshal(s)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (v *Vocab) UnmarshalJSON(b []byte) error {
	var s []string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	chars := make([]rune, len(s))
	for i, c := range s {
		r, n := utf8.DecodeRuneInString(c)
		if n == 0 || n != len(c) || (r == utf8.RuneError && n == 1) {
			return fmt.Errorf("data: vocabulary entry %d is %q, not one character", i, c)
		}
		chars[i] = r
	}
	nv, err := VocabOf(chars)
	if err != nil {
		return err
	}
	*v = *nv
	return nil
}

// TextWindows is a Dataset of fixed windows over a sequence of token ids
// for next-token prediction. Sample i is the window starting at
// i·Stride: x = ids[i·Stride : i·Stride+SeqLen] and the targets, shifted
// by one, y = ids[i·Stride+1 : i·Stride+SeqLen+1]; both [SeqLen], ids as
// float32. Each window is an independent sequence (truncated
// backpropagation through time over fixed windows). Create it with
// NewTextWindows.
type TextWindows struct {
	IDs    []int32
	SeqLen int
	Stride int
}

// NewTextWindows returns the windows of seqLen ids over ids every stride
// ids (stride 0: seqLen, windows side by side). It returns an error when
// ids hold fewer than seqLen+1 ids (not one window with its targets).
func NewTextWindows(ids []int32, seqLen, stride int) (*TextWindows, error) {
	if seqLen <= 0 || stride < 0 {
		return nil, fmt.Errorf("data: text windows: sequence length %d must be positive and stride %d not negative", seqLen, stride)
	}
	if stride == 0 {
		stride = seqLen
	}
	if len(ids) < seqLen+1 {
		return nil, fmt.Errorf("data: text windows: %d characters are too few for one window of %d with its next-character targets (need %d)", len(ids), seqLen, seqLen+1)
	}
	return &TextWindows{IDs: ids, SeqLen: seqLen, Stride: stride}, nil
}

// Len returns the number of windows.
func (w *TextWindows) Len() int { return (len(w.IDs)-w.SeqLen-1)/w.Stride + 1 }

// XShape returns [SeqLen].
func (w *TextWindows) XShape() []int { return []int{w.SeqLen} }

// YShape returns [SeqLen].
func (w *TextWindows) YShape() []int { return []int{w.SeqLen} }

// Read copies window i's ids into x and its targets into y.
func (w *TextWindows) Read(i int, x, y []float32) error {
	if i < 0 || i >= w.Len() {
		return fmt.Errorf("data: text windows: sample %d out of range [0, %d)", i, w.Len())
	}
	lo := i * w.Stride
	for j := range w.SeqLen {
		x[j] = float32(w.IDs[lo+j])
	}
	if y != nil {
		for j := range w.SeqLen {
			y[j] = float32(w.IDs[lo+j+1])
		}
	}
	return nil
}
