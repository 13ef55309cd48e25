package data

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/strata-dl/strata/internal/regular"
	"github.com/strata-dl/strata/tensor"
)

// Header says whether the first row of a CSV file names the columns.
type Header int

const (
	// HeaderAuto treats the first row as a header if any of its cells is
	// text that does not parse as a number (empty cells, "NaN" and numbers
	// out of range do not count).
	HeaderAuto Header = iota
	// HeaderYes treats the first row as a header.
	HeaderYes
	// HeaderNo treats the first row as data.
	HeaderNo
)

// CSVOptions configures reading a CSV file of numbers. The zero value reads
// comma-separated values, detects a header, and takes the last column as the
// label.
type CSVOptions struct {
	// LabelColumn is the 1-based number of the label column; 0 means the
	// last column. It is ignored when LabelName is set or NoLabel is true.
	LabelColumn int `json:"label_column,omitempty"`
	// LabelName selects the label column by its header name (the file must
	// have a header).
	LabelName string `json:"label_name,omitempty"`
	// NoLabel reads every column as a feature; the dataset has no Y.
	NoLabel bool `json:"no_label,omitempty"`
	// Header says whether the first row is a header; the zero value detects
	// it.
	Header Header `json:"header,omitempty"`
	// Comma is the field separator; 0 means ','.
	Comma rune `json:"comma,omitempty"`
}

// LoadCSV reads the CSV file at path (see ReadCSV). Errors name the file.
func LoadCSV(path string, opts CSVOptions) (Tensors, []string, error) {
	return LoadCSVContext(context.Background(), path, opts)
}

// LoadCSVContext is LoadCSV that stops, returning ctx.Err(), when ctx is
// cancelled (checked every few thousand rows), so that Ctrl-C during the
// load of a large file takes effect at once.
func LoadCSVContext(ctx context.Context, path string, opts CSVOptions) (Tensors, []string, error) {
	f, err := regular.Open(path)
	if err != nil {
		return Tensors{}, nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	d, cols, err := readCSV(ctx, f, opts)
	if err != nil {
		return Tensors{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, cols, nil
}

// ReadCSV reads a table of numbers: one sample per row, every cell a finite
// number (surrounding spaces allowed). It returns X [n, features], Y [n]
// (the label column, nil with NoLabel) and the feature column names (from
// the header, else "col1", "col2", … by 1-based column number).
//
// Empty lines are skipped. It returns an error, with the line and column,
// for a row with a different number of fields than the first, an empty or
// non-numeric cell, or a CSV syntax error; and an error if there are no data
// rows.
func ReadCSV(r io.Reader, opts CSVOptions) (Tensors, []string, error) {
	return readCSV(context.Background(), r, opts)
}

func readCSV(ctx context.Context, r io.Reader, opts CSVOptions) (Tensors, []string, error) {
	cr, err := newCSVReader(r, opts)
	if err != nil {
		return Tensors{}, nil, err
	}
	var xs, ys []float32
	x := make([]float32, cr.features)
	var y []float32
	if !opts.NoLabel {
		y = make([]float32, 1)
	}
	n := 0
	for {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return Tensors{}, nil, err
			}
		}
		if err := cr.next(x, y); err == io.EOF {
			break
		} else if err != nil {
			return Tensors{}, nil, err
		}
		xs = append(xs, x...)
		ys = append(ys, y...)
		n++
	}
	if n == 0 {
		return Tensors{}, nil, errors.New("data: csv: no data rows")
	}
	d := Tensors{X: tensor.New([]int{n, cr.features}, xs)}
	if !opts.NoLabel {
		d.Y = tensor.New([]int{n}, ys)
	}
	return d, cr.names, nil
}

// csvReader reads rows of numbers, split into features and label.
type csvReader struct {
	r        *csv.Reader
	fields   int // fields per row
	label    int // 0-based label column, −1 for none
	features int
	names    []string
	// The first data row, already read when detecting a header, with its
	// line and the column of each field.
	first     []string
	firstLine int
	firstCols []int
}

func newCSVReader(r io.Reader, opts CSVOptions) (*csvReader, error) {
	// A UTF-8 byte-order mark (as Excel writes) is not part of the first
	// cell: left there, it would turn a number into a header name.
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // checked here, with a better message
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	if opts.Comma != 0 {
		cr.Comma = opts.Comma
	}
	c := &csvReader{r: cr}
	rec, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("data: csv: empty file")
	}
	if err != nil {
		return nil, fmt.Errorf("data: csv: %w", err)
	}
	row := append([]string(nil), rec...)
	c.fields = len(row)
	firstLine, _ := cr.FieldPos(0)
	firstCols := make([]int, len(row))
	for i := range row {
		_, firstCols[i] = cr.FieldPos(i)
	}
	header := opts.Header == HeaderYes
	if opts.Header == HeaderAuto {
		for _, s := range row {
			if looksLikeName(s) {
				header = true
				break
			}
		}
	}
	if !header && opts.LabelName != "" {
		return nil, fmt.Errorf("data: csv: label column %q given by name but the file has no header", opts.LabelName)
	}
	switch {
	case opts.NoLabel:
		c.label = -1
	case opts.LabelName != "":
		c.label = -1
		for i, s := range row {
			if strings.TrimSpace(s) == opts.LabelName {
				c.label = i
				break
			}
		}
		if c.label < 0 {
			return nil, fmt.Errorf("data: csv: line 1: no column named %q in the header", opts.LabelName)
		}
	case opts.LabelColumn == 0:
		c.label = c.fields - 1
	case opts.LabelColumn < 0 || opts.LabelColumn > c.fields:
		return nil, fmt.Errorf("data: csv: label column %d is outside the %d columns of line 1", opts.LabelColumn, c.fields)
	default:
		c.label = opts.LabelColumn - 1
	}
	c.features = c.fields
	if c.label >= 0 {
		c.features--
	}
	if c.features == 0 {
		return nil, fmt.Errorf("data: csv: line %d has one column, the label; a labelled CSV needs at least one feature column besides it (check the separator: %q)", firstLine, cr.Comma)
	}
	for i, s := range row {
		if i == c.label {
			continue
		}
		if header {
			c.names = append(c.names, strings.TrimSpace(s))
		} else {
			c.names = append(c.names, "col"+strconv.Itoa(i+1))
		}
	}
	if !header {
		c.first, c.firstLine, c.firstCols = row, firstLine, firstCols
	}
	return c, nil
}

// next parses the next data row into x (features) and y (label; nil when
// there is none). It returns io.EOF after the last row.
func (c *csvReader) next(x, y []float32) error {
	var (
		row  []string
		line int
		cols []int // column of each field, for errors
	)
	if c.first != nil {
		row, line, cols = c.first, c.firstLine, c.firstCols
		c.first = nil
	} else {
		var err error
		row, err = c.r.Read()
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("data: csv: line %d, column %d: %w", pe.Line, pe.Column, pe.Err)
			}
			return fmt.Errorf("data: csv: %w", err)
		}
		line, _ = c.r.FieldPos(0)
	}
	if len(row) != c.fields {
		return fmt.Errorf("data: csv: line %d: %d fields, want %d like the first row", line, len(row), c.fields)
	}
	j := 0
	for i, s := range row {
		v, err := parseCell(s)
		if err != nil {
			col := 0
			if cols != nil {
				col = cols[i]
			} else {
				_, col = c.r.FieldPos(i)
			}
			return fmt.Errorf("data: csv: line %d, column %d (field %d): %v", line, col, i+1, err)
		}
		if i == c.label {
			y[0] = v
			continue
		}
		x[j] = v
		j++
	}
	return nil
}

// looksLikeName reports whether a cell of the first row is text rather than
// a number, however malformed: neither empty, nor a float, nor a float out
// of range.
func looksLikeName(s string) bool {
	t := strings.TrimSpace(s)
	if t == "" {
		return false
	}
	_, err := strconv.ParseFloat(t, 32)
	return err != nil && !errors.Is(err, strconv.ErrRange)
}

// parseCell parses one cell as a finite float32.
func parseCell(s string) (float32, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty cell")
	}
	v, err := strconv.ParseFloat(t, 32)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%q is out of float32 range", t)
		}
		return 0, fmt.Errorf("%q is not a number", t)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", t)
	}
	return float32(v), nil
}

// CSVSource streams a CSV file row by row, for tables larger than memory:
// each pass reopens the file. Samples are X [features] and Y [] (the label),
// or no Y with NoLabel. It implements Source.
type CSVSource struct {
	path     string
	opts     CSVOptions
	features int
	names    []string
}

// NewCSVSource returns a Source over the CSV file at path, reading its first
// row now to learn the columns (see ReadCSV for the format and options).
func NewCSVSource(path string, opts CSVOptions) (*CSVSource, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	cr, err := newCSVReader(f, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &CSVSource{path: path, opts: opts, features: cr.features, names: cr.names}, nil
}

// Columns returns the feature column names.
func (s *CSVSource) Columns() []string { return s.names }

// XShape returns [features].
func (s *CSVSource) XShape() []int { return []int{s.features} }

// YShape returns [] (a scalar label), or nil with NoLabel.
func (s *CSVSource) YShape() []int {
	if s.opts.NoLabel {
		return nil
	}
	return []int{}
}

// Open opens the file for a pass.
func (s *CSVSource) Open() (SampleReader, error) {
	f, err := regular.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	cr, err := newCSVReader(f, s.opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	if cr.features != s.features {
		f.Close()
		return nil, fmt.Errorf("data: %s: now has %d feature columns, had %d", s.path, cr.features, s.features)
	}
	return &csvSampleReader{f: f, cr: cr, path: s.path}, nil
}

type csvSampleReader struct {
	f    *os.File
	cr   *csvReader
	path string
}

func (r *csvSampleReader) Next(x, y []float32) error {
	err := r.cr.next(x, y)
	if err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", r.path, err)
	}
	return err
}

func (r *csvSampleReader) Close() error { return r.f.Close() }
