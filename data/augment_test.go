package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// ramp returns [n, h, w, c] images whose values are all distinct.
func ramp(n, h, w, c int) *tensor.Tensor {
	x := tensor.Zeros(n, h, w, c)
	for i := range x.Data() {
		x.Data()[i] = float32(i%97 + 1)
	}
	return x
}

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

func TestAugmentOffIsIdentity(t *testing.T) {
	a, err := NewAugmenter(AugmentOptions{Nearest: true})
	if err != nil {
		t.Fatal(err)
	}
	x := ramp(3, 5, 6, 2)
	want := slices.Clone(x.Data())
	if err := a.Apply(newRNG(1), x); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Data(), want) {
		t.Error("zero options changed the images")
	}
	// The identity warp through the bilinear path is exact too.
	out := make([]float32, 5*6*2)
	warp(out, want[:60], 5, 6, 2, 0, 1, 0, 0, false, false)
	if !slices.Equal(out, want[:60]) {
		t.Error("identity warp is not exact")
	}
}

func TestAugmentDeterminism(t *testing.T) {
	opts := AugmentOptions{WidthShift: 0.2, HeightShift: 0.1, Rotation: 20, Zoom: 0.15, HorizontalFlip: true}
	a, _ := NewAugmenter(opts)
	b, _ := NewAugmenter(opts)
	x1, x2, x3 := ramp(8, 12, 10, 3), ramp(8, 12, 10, 3), ramp(8, 12, 10, 3)
	orig := slices.Clone(x1.Data())
	a.Apply(newRNG(5), x1)
	b.Apply(newRNG(5), x2)
	a.Apply(newRNG(6), x3)
	if !slices.Equal(x1.Data(), x2.Data()) {
		t.Error("same seed gave different images")
	}
	if slices.Equal(x1.Data(), x3.Data()) {
		t.Error("different seeds gave the same images")
	}
	if slices.Equal(x1.Data(), orig) {
		t.Error("augmentation changed nothing")
	}
	// Each image gets its own parameters.
	size := 12 * 10 * 3
	delta := func(i int) []float32 {
		d := make([]float32, size)
		for k := range d {
			d[k] = x1.Data()[i*size+k] - orig[i*size+k]
		}
		return d
	}
	if slices.Equal(delta(0), delta(1)) && slices.Equal(delta(1), delta(2)) {
		t.Error("all images transformed alike")
	}
}

func TestAugmentFlip(t *testing.T) {
	a, _ := NewAugmenter(AugmentOptions{HorizontalFlip: true})
	x := ramp(16, 3, 4, 2)
	orig := slices.Clone(x.Data())
	a.Apply(newRNG(9), x)
	flipped := 0
	for i := range 16 {
		img, src := x.Data()[i*24:(i+1)*24], orig[i*24:(i+1)*24]
		if slices.Equal(img, src) {
			continue
		}
		flipped++
		for y := range 3 {
			for xx := range 4 {
				for c := range 2 {
					if img[(y*4+xx)*2+c] != src[(y*4+3-xx)*2+c] {
						t.Fatalf("image %d is neither itself nor its mirror", i)
					}
				}
			}
		}
	}
	if flipped == 0 || flipped == 16 {
		t.Errorf("%d of 16 images flipped", flipped)
	}
}

func TestWarpGeometry(t *testing.T) {
	// 3×3 single-channel image with one lit pixel at the top middle.
	src := make([]float32, 9)
	src[1] = 1
	at := func(img []float32) (int, int) {
		for i, v := range img {
			if v > 0.99 {
				return i % 3, i / 3
			}
		}
		return -1, -1
	}
	dst := make([]float32, 9)
	// A 90° counterclockwise turn moves the top middle to the left middle.
	warp(dst, src, 3, 3, 1, math.Pi/2, 1, 0, 0, false, false)
	if x, y := at(dst); x != 0 || y != 1 {
		t.Errorf("rotation moved (1,0) to (%d,%d), want (0,1)", x, y)
	}
	// A shift of (1, 1) moves it to (2, 1); nearest and bilinear agree.
	for _, nearest := range []bool{false, true} {
		warp(dst, src, 3, 3, 1, 0, 1, 1, 1, false, nearest)
		if x, y := at(dst); x != 2 || y != 1 {
			t.Errorf("shift moved (1,0) to (%d,%d), want (2,1)", x, y)
		}
		if dst[0] != 0 {
			t.Error("pixels from outside are not 0")
		}
	}
	// Zoom z = 0.5 (in) about the centre (2,2) of a 5×5 image doubles
	// distances from it: the pixel at (1,1) moves to (0,0).
	src5 := make([]float32, 25)
	src5[1*5+1] = 1
	dst5 := make([]float32, 25)
	warp(dst5, src5, 5, 5, 1, 0, 0.5, 0, 0, false, true)
	if dst5[0] != 1 {
		t.Errorf("zoom: %v", dst5)
	}
	// Half-pixel shift, bilinear: values are averaged.
	row := []float32{0, 2, 4, 6}
	out := make([]float32, 4)
	warp(out, row, 1, 4, 1, 0, 1, 0.5, 0, false, false)
	if !slices.Equal(out, []float32{0, 1, 3, 5}) {
		t.Errorf("half-pixel shift gave %v", out)
	}
}

func TestAugmenterRejects(t *testing.T) {
	for _, o := range []AugmentOptions{{Zoom: 1}, {Rotation: -1}, {WidthShift: math.NaN()}, {HeightShift: math.Inf(1)}} {
		if _, err := NewAugmenter(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	a, _ := NewAugmenter(AugmentOptions{Rotation: 10})
	if err := a.Apply(newRNG(1), tensor.Zeros(2, 3, 3)); err == nil {
		t.Error("rank-3 input accepted")
	}
}

func TestAugmentInLoader(t *testing.T) {
	a, _ := NewAugmenter(AugmentOptions{Rotation: 15, WidthShift: 0.1})
	ds := Tensors{X: ramp(20, 6, 6, 1), Y: tensor.Zeros(20)}
	orig := slices.Clone(ds.X.Data())
	l, _ := NewLoader(ds, LoaderOptions{BatchSize: 8, Augment: a.Augment, Prefetch: true})
	first := collect(t, l.Epoch(t.Context(), 0))
	again := collect(t, l.Epoch(t.Context(), 0))
	for i := range first {
		if !slices.Equal(first[i].x, again[i].x) {
			t.Fatal("augmented epochs differ")
		}
	}
	if !slices.Equal(ds.X.Data(), orig) {
		t.Error("augmentation changed the dataset")
	}
}
