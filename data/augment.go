package data

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/strata-dl/strata/tensor"
)

// AugmentOptions configures random image augmentation (Keras's
// ImageDataGenerator and RandomTranslation/RandomRotation/RandomZoom/
// RandomFlip layers). Every field's zero value turns that transform off.
type AugmentOptions struct {
	// WidthShift and HeightShift are the largest shifts, as fractions of the
	// width and height: each image moves by a distance drawn uniformly from
	// [−WidthShift·w, WidthShift·w] pixels horizontally, and likewise
	// vertically.
	WidthShift  float64 `json:"width_shift,omitempty"`
	HeightShift float64 `json:"height_shift,omitempty"`
	// Rotation is the largest rotation in degrees: each image turns about
	// its centre by an angle drawn uniformly from [−Rotation, Rotation],
	// counterclockwise when positive.
	Rotation float64 `json:"rotation,omitempty"`
	// Zoom scales each image's sampling grid by a factor z drawn uniformly
	// from [1−Zoom, 1+Zoom], as Keras's zoom_range does: z < 1 zooms in
	// (the content looks larger by 1/z). It must be below 1.
	Zoom float64 `json:"zoom,omitempty"`
	// HorizontalFlip mirrors each image left to right with probability ½.
	HorizontalFlip bool `json:"horizontal_flip,omitempty"`
	// Nearest samples the nearest source pixel instead of interpolating
	// bilinearly.
	Nearest bool `json:"nearest,omitempty"`
}

// Augmenter applies random shifts, rotations, zooms and flips to batches of
// NHWC images, each image with its own random parameters. Pixels that come
// from outside the source image are 0. An Augmenter keeps a scratch buffer,
// so it must not be used by two goroutines at once (a Loader calls its
// Augment from one goroutine at a time).
type Augmenter struct {
	opts    AugmentOptions
	scratch []float32
}

// NewAugmenter returns an Augmenter, or an error if an option is negative,
// not finite, or Zoom is 1 or more.
func NewAugmenter(opts AugmentOptions) (*Augmenter, error) {
	for _, f := range []struct {
		name string
		v    float64
	}{{"width shift", opts.WidthShift}, {"height shift", opts.HeightShift}, {"rotation", opts.Rotation}, {"zoom", opts.Zoom}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return nil, fmt.Errorf("data: augment: %s %v must be a non-negative number", f.name, f.v)
		}
	}
	if opts.Zoom >= 1 {
		return nil, fmt.Errorf("data: augment: zoom %v must be below 1", opts.Zoom)
	}
	return &Augmenter{opts: opts}, nil
}

// Options returns the augmenter's options.
func (a *Augmenter) Options() AugmentOptions { return a.opts }

// Augment applies Apply to b.X. Its signature fits LoaderOptions.Augment.
func (a *Augmenter) Augment(rng *rand.Rand, b *Batch) error { return a.Apply(rng, b.X) }

// Apply transforms each image of x ([n, height, width, channels]) in place
// with parameters drawn from rng. The same rng state gives the same result.
// It returns an error if x is not rank 4.
func (a *Augmenter) Apply(rng *rand.Rand, x *tensor.Tensor) error {
	if x == nil || x.Rank() != 4 {
		var shape []int
		if x != nil {
			shape = x.Shape()
		}
		return fmt.Errorf("data: augment: x has shape %v, want [n, height, width, channels]", shape)
	}
	o := a.opts
	if o.WidthShift == 0 && o.HeightShift == 0 && o.Rotation == 0 && o.Zoom == 0 && !o.HorizontalFlip {
		return nil
	}
	n, h, w, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	size := h * w * c
	if cap(a.scratch) < size {
		a.scratch = make([]float32, size)
	}
	out := a.scratch[:size]
	uniform := func(r float64) float64 { return (2*rng.Float64() - 1) * r }
	for i := range n {
		theta, z, tx, ty, flip := 0.0, 1.0, 0.0, 0.0, false
		if o.Rotation > 0 {
			theta = uniform(o.Rotation) * math.Pi / 180
		}
		if o.Zoom > 0 {
			z = 1 + uniform(o.Zoom)
		}
		if o.WidthShift > 0 {
			tx = uniform(o.WidthShift) * float64(w)
		}
		if o.HeightShift > 0 {
			ty = uniform(o.HeightShift) * float64(h)
		}
		if o.HorizontalFlip {
			flip = rng.IntN(2) == 1
		}
		img := x.Data()[i*size : (i+1)*size]
		warp(out, img, h, w, c, theta, z, tx, ty, flip, o.Nearest)
		copy(img, out)
	}
	return nil
}

// warp writes into dst the image src ([h, w, c]) rotated by theta
// (radians, counterclockwise), with its sampling grid scaled by z about the
// centre, shifted by (tx, ty) pixels and then, if flip, mirrored. For each
// destination pixel p (after undoing the flip) the source point is
//
//	s = centre + z · R(−theta) · (p − centre − t)
//
// with y pointing down, sampled bilinearly (or nearest) with 0 outside.
func warp(dst, src []float32, h, w, c int, theta, z, tx, ty float64, flip, nearest bool) {
	cx, cy := float64(w-1)/2, float64(h-1)/2
	cos, sin := math.Cos(theta)*z, math.Sin(theta)*z
	for y := range h {
		for x := range w {
			px := x
			if flip {
				px = w - 1 - x
			}
			dx, dy := float64(px)-cx-tx, float64(y)-cy-ty
			sx := cx + cos*dx - sin*dy
			sy := cy + sin*dx + cos*dy
			o := dst[(y*w+x)*c : (y*w+x+1)*c]
			if nearest {
				ix, iy := int(math.Floor(sx+0.5)), int(math.Floor(sy+0.5))
				if ix >= 0 && ix < w && iy >= 0 && iy < h {
					copy(o, src[(iy*w+ix)*c:(iy*w+ix+1)*c])
				} else {
					clear(o)
				}
				continue
			}
			bilinear(o, src, h, w, c, sx, sy)
		}
	}
}

// bilinear writes into o the c channels of src ([h, w, c]) interpolated at
// (sx, sy), taking pixels outside the image as 0.
func bilinear(o, src []float32, h, w, c int, sx, sy float64) {
	clear(o)
	if !(sx > -1 && sx < float64(w) && sy > -1 && sy < float64(h)) {
		return
	}
	fx, fy := math.Floor(sx), math.Floor(sy)
	x0, y0 := int(fx), int(fy)
	ax, ay := float32(sx-fx), float32(sy-fy)
	for _, p := range [4]struct {
		x, y int
		wt   float32
	}{
		{x0, y0, (1 - ax) * (1 - ay)}, {x0 + 1, y0, ax * (1 - ay)},
		{x0, y0 + 1, (1 - ax) * ay}, {x0 + 1, y0 + 1, ax * ay},
	} {
		if p.wt == 0 || p.x < 0 || p.x >= w || p.y < 0 || p.y >= h {
			continue
		}
		s := src[(p.y*w+p.x)*c : (p.y*w+p.x+1)*c]
		for k := range o {
			o[k] += p.wt * s[k]
		}
	}
}
