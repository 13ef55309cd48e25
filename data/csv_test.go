package data

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		opts   CSVOptions
		x      []float32
		y      []float32
		cols   []string
		nfeats int
	}{
		{"header auto", "a,b,label\n1,2,0\n3,4.5,1\n", CSVOptions{}, []float32{1, 2, 3, 4.5}, []float32{0, 1}, []string{"a", "b"}, 2},
		{"no header auto", "1,2,0\n\n3,4,1\n", CSVOptions{}, []float32{1, 2, 3, 4}, []float32{0, 1}, []string{"col1", "col2"}, 2},
		{"header yes numeric", "1,2,3\n4,5,6\n", CSVOptions{Header: HeaderYes}, []float32{4, 5}, []float32{6}, []string{"1", "2"}, 2},
		{"label first", "y,a,b\n1,2,3\n", CSVOptions{LabelColumn: 1}, []float32{2, 3}, []float32{1}, []string{"a", "b"}, 2},
		{"label by name", "a, y ,b\n1,2,3\n", CSVOptions{LabelName: "y"}, []float32{1, 3}, []float32{2}, []string{"a", "b"}, 2},
		{"no label", "1,2\n3,4\n", CSVOptions{NoLabel: true, Header: HeaderNo}, []float32{1, 2, 3, 4}, nil, []string{"col1", "col2"}, 2},
		{"semicolons and spaces", "a;b\n 1 ; -2e1\n", CSVOptions{Comma: ';'}, []float32{1}, []float32{-20}, []string{"a"}, 1},
		{"quoted", "\"x\",\"y\"\n\"1.5\",\"0\"\n", CSVOptions{}, []float32{1.5}, []float32{0}, []string{"x"}, 1},
		{"crlf", "a,b\r\n1,2\r\n", CSVOptions{}, []float32{1}, []float32{2}, []string{"a"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, cols, err := ReadCSV(strings.NewReader(c.in), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.X.Data(), c.x) || d.X.Dim(1) != c.nfeats {
				t.Errorf("X %v, want %v", d.X, c.x)
			}
			if c.y == nil && d.Y != nil || c.y != nil && !slices.Equal(d.Y.Data(), c.y) {
				t.Errorf("Y %v, want %v", d.Y, c.y)
			}
			if !slices.Equal(cols, c.cols) {
				t.Errorf("columns %q, want %q", cols, c.cols)
			}
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	cases := []struct {
		name string
		in   string
		opts CSVOptions
		want string
	}{
		{"empty", "", CSVOptions{}, "empty file"},
		{"header only", "a,b\n", CSVOptions{}, "no data rows"},
		{"ragged", "a,b,c\n1,2,3\n4,5\n", CSVOptions{}, "line 3: 2 fields, want 3 like the first row"},
		{"ragged long", "1,2\n3,4,5\n", CSVOptions{}, "line 2: 3 fields, want 2"},
		{"non-numeric", "a,b\n1,2\n3,x7\n", CSVOptions{}, `line 3, column 3 (field 2): "x7" is not a number`},
		{"non-numeric first row", "1,2\nfoo,2\n", CSVOptions{Header: HeaderNo}, `line 2, column 1 (field 1): "foo" is not a number`},
		{"header as data", "a,b\n1,2\n", CSVOptions{Header: HeaderNo}, `line 1, column 1 (field 1): "a" is not a number`},
		{"empty cell", "1,,2\n", CSVOptions{}, "line 1, column 3 (field 2): empty cell"},
		{"nan", "1,nan\n", CSVOptions{}, `"nan" is not a finite number`},
		{"overflow", "1,1e39\n", CSVOptions{}, "out of float32 range"},
		{"bad quote", "a,b\n1,\"2\n", CSVOptions{}, "line 2, column"},
		{"label column out of range", "1,2\n", CSVOptions{LabelColumn: 3}, "label column 3 is outside the 2 columns"},
		{"label name without header", "1,2\n", CSVOptions{LabelName: "y"}, "has no header"},
		{"label name missing", "a,b\n1,2\n", CSVOptions{LabelName: "y"}, `no column named "y"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadCSV(strings.NewReader(c.in), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestLoadCSVAndSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.csv")
	var b strings.Builder
	b.WriteString("f1,f2,label\n")
	for i := range 25 {
		b.WriteString(strings.Join([]string{strconv.Itoa(i), strconv.Itoa(2 * i), strconv.Itoa(i % 3)}, ",") + "\n")
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	d, cols, err := LoadCSV(path, CSVOptions{})
	if err != nil || d.Len() != 25 || len(cols) != 2 {
		t.Fatalf("LoadCSV: %v %v %v", d.X, cols, err)
	}

	src, err := NewCSVSource(path, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src.XShape(), []int{2}) || len(src.YShape()) != 0 || src.YShape() == nil {
		t.Errorf("source shapes %v %v", src.XShape(), src.YShape())
	}
	l, _ := NewStreamLoader(src, LoaderOptions{BatchSize: 10, Shuffle: true, Seed: 1, ShuffleBuffer: 5})
	var xs []float32
	n := 0
	for batch, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		for i, idx := range batch.Indices {
			if batch.X.Data()[2*i] != float32(idx) || batch.Y.Data()[i] != float32(idx%3) {
				t.Fatalf("sample %d: x %v y %v", idx, batch.X.Data()[2*i:2*i+2], batch.Y.Data()[i])
			}
			xs = append(xs, batch.X.Data()[2*i])
		}
		n += batch.X.Dim(0)
	}
	if n != 25 {
		t.Errorf("streamed %d samples", n)
	}

	os.WriteFile(path, []byte("a,b\n1,2\n3\n"), 0o644)
	src, _ = NewCSVSource(path, CSVOptions{})
	l, _ = NewStreamLoader(src, LoaderOptions{})
	for _, err := range l.Epoch(context.Background(), 0) {
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("stream error %v", err)
		}
	}
	if _, _, err := LoadCSV(path, CSVOptions{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadCSV error %v does not name the file", err)
	}
}

// FuzzCSV checks that no input makes ReadCSV panic and that an accepted
// table is consistent.
func FuzzCSV(f *testing.F) {
	f.Add("a,b,label\n1,2,0\n3,4,1\n", 0)
	f.Add("1,2\n3,4\n", 1)
	f.Add("x;y\n1;2\n", 2)
	f.Add("\"1\",\"2,3\"\n", 0)
	f.Add("1,2\n3\n", 0)
	f.Fuzz(func(t *testing.T, in string, col int) {
		d, cols, err := ReadCSV(strings.NewReader(in), CSVOptions{LabelColumn: col % 4})
		if err != nil {
			return
		}
		if d.X.Rank() != 2 || d.Y.Len() != d.X.Dim(0) || len(cols) != d.X.Dim(1) || d.Len() == 0 {
			t.Fatalf("X %v Y %v columns %q", d.X.Shape(), d.Y.Shape(), cols)
		}
	})
}

func TestCSVByteOrderMarkAndOneColumn(t *testing.T) {
	d, cols, err := ReadCSV(strings.NewReader("\ufeff1,2,0\n3,4,1\n"), CSVOptions{})
	if err != nil || d.Len() != 2 || cols[0] != "col1" {
		t.Fatalf("BOM: %d rows, columns %v, %v (the first row must stay data)", d.Len(), cols, err)
	}
	d, cols, err = ReadCSV(strings.NewReader("\ufeffa,b,label\n1,2,0\n"), CSVOptions{})
	if err != nil || d.Len() != 1 || cols[0] != "a" {
		t.Fatalf("BOM before a header: %v, %v", cols, err)
	}
	_, _, err = ReadCSV(strings.NewReader("1\n2\n3\n"), CSVOptions{})
	if err == nil || !strings.Contains(err.Error(), "line 1 has one column") {
		t.Fatalf("one column: %v", err)
	}
	if d, _, err := ReadCSV(strings.NewReader("1\n2\n"), CSVOptions{NoLabel: true}); err != nil || d.X.Dim(1) != 1 {
		t.Fatalf("one unlabelled column: %v", err)
	}
}

func TestLoadersRefuseNonRegularFiles(t *testing.T) {
	for _, load := range []func(string) error{
		func(p string) error { _, _, err := LoadCSV(p, CSVOptions{}); return err },
		func(p string) error { _, err := LoadIDX(p); return err },
		func(p string) error { _, _, err := ReadText(p, TextOptions{}); return err },
	} {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		err := load("/dev/zero")
		if err == nil || !strings.Contains(err.Error(), "a device, not a regular file") {
			t.Errorf("/dev/zero: got %v", err)
		}
	}
}

func TestLoadCSVContextCancelled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.csv")
	os.WriteFile(p, []byte(strings.Repeat("1,2,0\n", 10000)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := LoadCSVContext(ctx, p, CSVOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if d, _, err := LoadCSVContext(context.Background(), p, CSVOptions{}); err != nil || d.Len() != 10000 {
		t.Fatalf("got %d rows, %v", d.Len(), err)
	}
}
