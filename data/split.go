package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/strata-dl/strata/tensor"
)

// SplitOptions configure TrainTestSplit (scikit-learn's train_test_split).
// The zero value is not valid: TestFraction must be in (0, 1).
type SplitOptions struct {
	// TestFraction is the share of samples put in the test set, in (0, 1);
	// the test set gets round(fraction × n) samples (per class with
	// Stratify), at least one.
	TestFraction float64 `json:"test_fraction"`
	// Shuffle draws the test samples at random (seeded by Seed) instead of
	// taking the last ones.
	Shuffle bool   `json:"shuffle,omitempty"`
	Seed    uint64 `json:"seed,omitempty"`
	// Stratify keeps each class's share the same in both sets: the split is
	// made within each class of Y (class indices, [n] or [n, 1]).
	Stratify bool `json:"stratify,omitempty"`
}

// TrainTestSplit copies the samples of d into a training and a test set.
// Both keep the order the samples had in d. It returns an error for a
// fraction outside (0, 1), a set that would be empty, and, with Stratify, a
// dataset without integer class labels or a class with a single sample
// (which cannot be in both sets).
func TrainTestSplit(d Tensors, opts SplitOptions) (train, test Tensors, err error) {
	if err := d.Validate(); err != nil {
		return Tensors{}, Tensors{}, err
	}
	f := opts.TestFraction
	if !(f > 0 && f < 1) {
		return Tensors{}, Tensors{}, fmt.Errorf("data: split: test fraction %v is not in (0, 1)", f)
	}
	n := d.Len()
	var groups [][]int // sample indices, one group per class (or one group)
	if opts.Stratify {
		if d.Y == nil {
			return Tensors{}, Tensors{}, fmt.Errorf("data: split: Stratify needs labels")
		}
		byClass := map[float32][]int{}
		for i, v := range d.Y.Data() {
			if v != float32(math.Trunc(float64(v))) {
				return Tensors{}, Tensors{}, fmt.Errorf("data: split: label %v of sample %d is not a class index", v, i)
			}
			byClass[v] = append(byClass[v], i)
		}
		classes := make([]float32, 0, len(byClass))
		for c := range byClass {
			classes = append(classes, c)
		}
		sort.Slice(classes, func(a, b int) bool { return classes[a] < classes[b] })
		for _, c := range classes {
			if len(byClass[c]) < 2 {
				return Tensors{}, Tensors{}, fmt.Errorf("data: split: class %v has 1 sample; a stratified split needs at least 2 of each class", c)
			}
			groups = append(groups, byClass[c])
		}
	} else {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		groups = [][]int{all}
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5b117))
	isTest := make([]bool, n)
	for _, g := range groups {
		k := min(max(1, int(math.Round(f*float64(len(g))))), len(g)-1)
		if k < 1 {
			return Tensors{}, Tensors{}, fmt.Errorf("data: split: %d samples cannot make a training and a test set", len(g))
		}
		if opts.Shuffle {
			g = append([]int(nil), g...)
			rng.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
		}
		for _, i := range g[len(g)-k:] {
			isTest[i] = true
		}
	}
	var tr, te []int
	for i, t := range isTest {
		if t {
			te = append(te, i)
		} else {
			tr = append(tr, i)
		}
	}
	return d.gather(tr), d.gather(te), nil
}

// gather copies the samples idx of d, in that order.
func (d Tensors) gather(idx []int) Tensors {
	take := func(t *tensor.Tensor) *tensor.Tensor {
		if t == nil {
			return nil
		}
		per := t.Len() / t.Dim(0)
		out := make([]float32, 0, len(idx)*per)
		for _, i := range idx {
			out = append(out, t.Data()[i*per:(i+1)*per]...)
		}
		return tensor.New(append([]int{len(idx)}, t.Shape()[1:]...), out)
	}
	return Tensors{X: take(d.X), Y: take(d.Y)}
}
