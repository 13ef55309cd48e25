package run

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/tensor"
)

// ConfigError is a configuration that cannot work — an unknown data
// source, a hyperparameter out of range — as opposed to a failure while
// running; the strata command reports it as a usage error (exit 2).
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

func configf(format string, args ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}

// Sources are the data sources ParseSource accepts, as written after
// --data.
const Sources = "mnist, idx:DIR, csv:FILE, images:DIR or text:PATH"

// Source is a parsed data source: Kind "mnist" (the MNIST files, found by
// data.MNISTDir), "idx" (a directory of MNIST-layout IDX files), "csv" (a
// file, label in the last column), "images" (a directory with one
// sub-directory of PNG or JPEG images per class) or "text" (a UTF-8 file,
// or every text file under a directory); Path is what follows the colon.
type Source struct {
	Kind, Path string
}

// ParseSource parses a data source as written on the command line
// ("mnist", "idx:DIR", "csv:FILE", "images:DIR", "text:PATH"). It returns
// a *ConfigError for an unknown kind or a missing or extra path.
func ParseSource(spec string) (Source, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	s := Source{Kind: kind, Path: arg}
	switch kind {
	case "mnist":
		if arg != "" {
			return s, configf("--data mnist takes no argument (use idx:DIR for a directory of IDX files)")
		}
	case "idx":
		if arg == "" {
			return s, configf("--data idx:DIR needs a directory")
		}
	case "csv":
		if arg == "" {
			return s, configf("--data csv:FILE needs a file")
		}
	case "images":
		if arg == "" {
			return s, configf("--data images:DIR needs a directory")
		}
	case "text":
		if arg == "" {
			return s, configf("--data text:PATH needs a file or directory")
		}
	default:
		return s, configf("unknown --data %q (want mnist, idx:DIR or csv:FILE)", spec)
	}
	return s, nil
}

// Dataset is a loaded classification dataset with a train and a test
// split.
type Dataset struct {
	Spec       string // as given: mnist, idx:DIR, csv:FILE, images:DIR
	Train      data.Tensors
	Test       data.Tensors
	Classes    int
	ClassNames []string // images:DIR: the class directories; else nil
	Source     string   // where it was read from
	SHA256     string   // checksum of the values read (the dataset's identity)
}

// LoadDataset reads a classification data source (see ParseSource; text
// is for the character language model, see TrainCharLM). CSV files are
// split 80/20 into train and test (the last fifth is the test set), image
// folders likewise within each class. Labels are checked against the number of classes; every
// error names the file or directory.
func LoadDataset(spec string) (*Dataset, error) {
	return LoadDatasetContext(context.Background(), spec)
}

// LoadDatasetContext is LoadDataset that stops loading a CSV file or an
// image folder when ctx is cancelled (Ctrl-C during the load of a large
// file or folder), returning ctx.Err().
func LoadDatasetContext(ctx context.Context, spec string) (*Dataset, error) {
	src, err := ParseSource(spec)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Spec: spec, Source: src.Path}
	switch src.Kind {
	case "mnist":
		dir, err := data.MNISTDir()
		if err != nil {
			return nil, err
		}
		d.Source = dir
		if d.Train, d.Test, err = data.LoadMNIST(dir); err != nil {
			return nil, err
		}
		d.Classes = 10
	case "idx":
		if err := isDir("data directory", src.Path); err != nil {
			return nil, err
		}
		if d.Train, d.Test, err = data.LoadMNIST(src.Path); err != nil {
			return nil, err
		}
		d.Classes = 10
	case "csv":
		all, _, err := data.LoadCSVContext(ctx, src.Path, data.CSVOptions{})
		if err != nil {
			return nil, err
		}
		if err := d.split(all); err != nil {
			return nil, err
		}
		if d.Classes, err = data.InferClasses(all.Y); err != nil {
			return nil, fmt.Errorf("%s: %w", src.Path, err)
		}
	case "images":
		if err := isDir("image directory", src.Path); err != nil {
			return nil, err
		}
		all, names, err := data.LoadImageFolderContext(ctx, src.Path, data.ImageFolderOptions{})
		if err != nil {
			return nil, err
		}
		d.Classes, d.ClassNames = len(names), names
		if d.Classes < 2 {
			return nil, fmt.Errorf("%s: %d class directories %v; a classifier needs at least two", src.Path, d.Classes, names)
		}
		d.Train, d.Test = splitPerClass(all, d.Classes, 0.2)
	case "text":
		return nil, configf("--data %s is text, for --model charlm; a classifier needs mnist, idx:DIR, csv:FILE or images:DIR", spec)
	}
	if err := d.check(src.Kind); err != nil {
		return nil, err
	}
	d.SHA256 = Checksum(d.Train, d.Test)
	return d, nil
}

// LoadTestSet reads only what evaluation needs of a data source: for
// mnist and idx:DIR the test files alone (the training files are neither
// read nor required); for csv:FILE and images:DIR, which are split after
// reading, the whole source, keeping the test part. Train is empty (0
// samples of the test set's shape) and
// SHA256 is the checksum of the test set alone.
func LoadTestSet(ctx context.Context, spec string) (*Dataset, error) {
	src, err := ParseSource(spec)
	if err != nil {
		return nil, err
	}
	if src.Kind != "mnist" && src.Kind != "idx" {
		d, err := LoadDatasetContext(ctx, spec)
		if err != nil {
			return nil, err
		}
		d.Train, d.SHA256 = d.Test.Slice(0, 0), Checksum(d.Test)
		return d, nil
	}
	d := &Dataset{Spec: spec, Source: src.Path, Classes: 10}
	if src.Kind == "mnist" {
		if d.Source, err = data.MNISTDir(); err != nil {
			return nil, err
		}
	} else if err := isDir("data directory", src.Path); err != nil {
		return nil, err
	}
	if d.Test, err = data.LoadMNISTTest(d.Source); err != nil {
		return nil, err
	}
	if d.Test.Len() == 0 {
		return nil, fmt.Errorf("%s: the test set (t10k-images-idx3-ubyte) is empty (0 samples)", d.Source)
	}
	if err := data.CheckLabels(d.Test.Y, d.Classes); err != nil {
		return nil, fmt.Errorf("test labels: %w", err)
	}
	d.Train, d.SHA256 = d.Test.Slice(0, 0), Checksum(d.Test)
	return d, nil
}

func isDir(what, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("%s %s: not a directory", what, path)
	}
	return nil
}

// split keeps the first 80% of all for training and the rest for testing.
func (d *Dataset) split(all data.Tensors) error {
	if all.Len() < 2 {
		return fmt.Errorf("%s: %d samples: need at least 2 (a train and a test sample)", d.Source, all.Len())
	}
	var err error
	d.Train, d.Test, err = data.Split(all, 0.2)
	return err
}

// splitPerClass holds out the last fraction (at least one sample) of
// every class with two samples or more, keeping the order within each
// part: an image folder is sorted by class, so the last fifth of it would
// test one class only.
func splitPerClass(all data.Tensors, classes int, fraction float64) (train, test data.Tensors) {
	byClass := make([][]int, classes)
	for i, v := range all.Y.Data() {
		byClass[int(v)] = append(byClass[int(v)], i)
	}
	var tr, te []int
	for _, idx := range byClass {
		n := 0
		if len(idx) >= 2 {
			n = max(int(float64(len(idx))*fraction), 1)
		}
		tr, te = append(tr, idx[:len(idx)-n]...), append(te, idx[len(idx)-n:]...)
	}
	pick := func(idx []int) data.Tensors {
		if len(idx) == 0 {
			return data.Tensors{X: all.X.Slice(0, 0), Y: all.Y.Slice(0, 0)}
		}
		return data.Tensors{X: tensor.IndexSelect(all.X, 0, idx), Y: tensor.IndexSelect(all.Y, 0, idx)}
	}
	return pick(tr), pick(te)
}

// check refuses empty splits and labels outside the classes.
func (d *Dataset) check(kind string) error {
	for _, part := range []struct {
		name, file string
		t          data.Tensors
	}{{"training", "train-images-idx3-ubyte", d.Train}, {"test", "t10k-images-idx3-ubyte", d.Test}} {
		if part.t.Len() == 0 {
			if kind == "csv" || kind == "images" {
				return fmt.Errorf("%s: the %s set is empty (0 samples)", d.Source, part.name)
			}
			return fmt.Errorf("%s: the %s set (%s) is empty (0 samples)", d.Source, part.name, part.file)
		}
	}
	if err := data.CheckLabels(d.Train.Y, d.Classes); err != nil {
		return fmt.Errorf("training labels: %w", err)
	}
	if err := data.CheckLabels(d.Test.Y, d.Classes); err != nil {
		return fmt.Errorf("test labels: %w", err)
	}
	return nil
}

// Limit keeps the first n samples of the training and test sets (0: all).
func (d *Dataset) Limit(trainN, testN int) {
	d.Train, d.Test = limit(d.Train, trainN), limit(d.Test, testN)
}

// limit keeps the first n samples of t (n ≤ 0: all).
func limit(t data.Tensors, n int) data.Tensors {
	if n <= 0 || n >= t.Len() {
		return t
	}
	return t.Slice(0, n)
}

// Checksum identifies datasets by their contents: the SHA-256 of the
// float32 values (inputs, then targets, of each in turn, little-endian),
// hashed in chunks so that no copy of the data is made.
func Checksum(ts ...data.Tensors) string {
	h := sha256.New()
	var buf [4 << 10]byte
	for _, t := range ts {
		for _, x := range []*tensor.Tensor{t.X, t.Y} {
			if x == nil {
				continue
			}
			d := x.Data()
			for lo := 0; lo < len(d); lo += len(buf) / 4 {
				chunk := d[lo:min(lo+len(buf)/4, len(d))]
				for i, v := range chunk {
					binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
				}
				h.Write(buf[:4*len(chunk)])
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
