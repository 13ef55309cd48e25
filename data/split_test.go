package data

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// classData has n samples whose X is the sample index and Y its class,
// class c holding counts[c] samples in a row.
func classData(counts ...int) Tensors {
	var x, y []float32
	for c, k := range counts {
		for range k {
			x = append(x, float32(len(x)))
			y = append(y, float32(c))
		}
	}
	return Tensors{X: tensor.New([]int{len(x), 1}, x), Y: tensor.New([]int{len(y)}, y)}
}

func TestTrainTestSplit(t *testing.T) {
	d := classData(80, 20)
	tr, te, err := TrainTestSplit(d, SplitOptions{TestFraction: 0.25})
	if err != nil || tr.Len() != 75 || te.Len() != 25 || te.X.Data()[0] != 75 {
		t.Fatalf("plain: %d/%d, %v", tr.Len(), te.Len(), err)
	}
	tr, te, err = TrainTestSplit(d, SplitOptions{TestFraction: 0.25, Shuffle: true, Stratify: true, Seed: 3})
	if err != nil || tr.Len() != 75 || te.Len() != 25 {
		t.Fatalf("stratified: %d/%d, %v", tr.Len(), te.Len(), err)
	}
	count := func(y *tensor.Tensor, c float32) int {
		n := 0
		for _, v := range y.Data() {
			if v == c {
				n++
			}
		}
		return n
	}
	if count(te.Y, 0) != 20 || count(te.Y, 1) != 5 {
		t.Errorf("test classes %d and %d, want 20 and 5", count(te.Y, 0), count(te.Y, 1))
	}
	// Every sample lands in exactly one set, and X travels with Y.
	all := append(slices.Clone(tr.X.Data()), te.X.Data()...)
	slices.Sort(all)
	for i, v := range all {
		if v != float32(i) {
			t.Fatalf("sample %d lost or repeated", i)
		}
	}
	for i, v := range te.X.Data() {
		if want := float32(0); v >= 80 {
			want = 1
			if te.Y.Data()[i] != want {
				t.Fatalf("label of sample %v moved", v)
			}
		} else if te.Y.Data()[i] != want {
			t.Fatalf("label of sample %v moved", v)
		}
	}
	again, _, _ := TrainTestSplit(d, SplitOptions{TestFraction: 0.25, Shuffle: true, Stratify: true, Seed: 3})
	if !slices.Equal(again.X.Data(), tr.X.Data()) {
		t.Error("same seed, different split")
	}
	for _, tc := range []struct {
		d    Tensors
		o    SplitOptions
		want string
	}{
		{d, SplitOptions{}, "not in (0, 1)"},
		{d, SplitOptions{TestFraction: 1}, "not in (0, 1)"},
		{classData(5, 1), SplitOptions{TestFraction: 0.5, Stratify: true}, "class 1 has 1 sample"},
		{classData(1), SplitOptions{TestFraction: 0.5}, "cannot make a training and a test set"},
	} {
		if _, _, err := TrainTestSplit(tc.d, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestPadSequences(t *testing.T) {
	seqs := [][]int32{{1, 2, 3, 4}, {5}, {}}
	for _, tc := range []struct {
		o    PadOptions
		want []float32
		w    int
	}{
		{PadOptions{}, []float32{1, 2, 3, 4, 0, 0, 0, 5, 0, 0, 0, 0}, 4},
		{PadOptions{MaxLen: 2}, []float32{3, 4, 0, 5, 0, 0}, 2},
		{PadOptions{MaxLen: 2, Truncating: "post", Padding: "post", Value: 9}, []float32{1, 2, 5, 9, 9, 9}, 2},
		{PadOptions{MaxLen: 5, Padding: "post"}, []float32{1, 2, 3, 4, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 5},
	} {
		x, err := PadSequences(seqs, tc.o)
		if err != nil || !tensor.EqualShapes(x.Shape(), []int{3, tc.w}) || !slices.Equal(x.Data(), tc.want) {
			t.Errorf("%+v: got %v, %v; want %v", tc.o, x, err, tc.want)
		}
	}
	for _, tc := range []struct {
		s    [][]int
		o    PadOptions
		want string
	}{
		{nil, PadOptions{}, "no sequences"},
		{[][]int{{}}, PadOptions{}, "every sequence is empty"},
		{[][]int{{1}, {2, -3}}, PadOptions{}, "sequence 1, position 1: id -3"},
		{[][]int{{1 << 25}}, PadOptions{}, "id 33554432"},
		{[][]int{{1}}, PadOptions{Padding: "middle"}, `padding "middle"`},
		{[][]int{{1}}, PadOptions{MaxLen: -1}, "negative"},
	} {
		if _, err := PadSequences(tc.s, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %+v: got %v, want %q", tc.s, tc.o, err, tc.want)
		}
	}
}

func TestTokens(t *testing.T) {
	x, err := Tokens([]uint16{3, 1, 4, 1, 5, 9}, 2, 3)
	if err != nil || !slices.Equal(x.Data(), []float32{3, 1, 4, 1, 5, 9}) || x.Dim(0) != 2 {
		t.Fatalf("got %v, %v", x, err)
	}
	if _, err := Tokens([]int64{1, -2}); err == nil || !strings.Contains(err.Error(), "index 1") {
		t.Errorf("negative id: %v", err)
	}
	if _, err := Tokens([]int{1, 2, 3}, 2, 2); err == nil {
		t.Error("wrong shape accepted")
	}
}

func ExamplePadSequences() {
	x, _ := PadSequences([][]int{{5, 8}, {3, 1, 4, 1}}, PadOptions{MaxLen: 3})
	fmt.Println(x.Shape(), x.Data())
	// Output: [2 3] [0 5 8 1 4 1]
}

func ExampleTrainTestSplit() {
	d := classData(8, 4) // 8 samples of class 0, 4 of class 1
	train, test, _ := TrainTestSplit(d, SplitOptions{TestFraction: 0.25, Shuffle: true, Stratify: true, Seed: 1})
	fmt.Println(train.Len(), test.Len(), test.Y.Data())
	// Output: 9 3 [0 0 1]
}

func ExampleTokens() {
	x, _ := Tokens([]int32{7, 0, 2, 9}, 2, 2)
	fmt.Println(x.Shape(), x.Data())
	// Output: [2 2] [7 0 2 9]
}

func ExampleInferClasses() {
	_, err := InferClasses(tensor.New([]int{3}, []float32{4, 4, 4}))
	fmt.Println(err)
	// Output: data: all 3 labels are 4; a classifier needs samples of at least two classes
}
