package explain

import (
	"context"
	"fmt"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// Occlusion measures how much the score drops when a window of the image
// is covered (Zeiler & Fergus 2014), without gradients:
//
//	M(p) = mean over the windows W ∋ p of  F_c(x) − F_c(x with W := Fill)
//
// The window slides over height and width (all channels at once) with the
// given stride; a last window flush with the bottom and right edges is
// added so that every pixel is covered. The occluded copies of a sample
// run through the model in batches of BatchSize. Positive values mark
// evidence for the class, negative values evidence against it.
//
// Zero values: Window ⌈h/7⌉×⌈w/7⌉ (4×4 on 28×28); Stride half the window
// (at least 1); Fill 0; BatchSize 64; Target Logit.
type Occlusion struct {
	Window    [2]int  `json:"window"`
	Stride    [2]int  `json:"stride"`
	Fill      float32 `json:"fill"`
	BatchSize int     `json:"batch_size,omitempty"`
	Target    Target  `json:"target"`
}

// Name returns "occlusion".
func (Occlusion) Name() string { return "occlusion" }

// Attribute returns M for each sample of x [n, h, w, c], x's shape (the
// same value in every channel of a pixel).
func (m Occlusion) Attribute(ctx context.Context, net nn.Layer, x *tensor.Tensor, class int) (a *Attribution, err error) {
	defer guard(m.Name(), &err)
	if x != nil && x.Rank() != 4 {
		return nil, fmt.Errorf("explain: %s: %w, got %v", m.Name(), errNoRank4, x.Shape())
	}
	s, err := start(ctx, m.Name(), net, x, class, m.Target)
	if err != nil {
		return nil, err
	}
	n, h, w, ch := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	win, stride := m.Window, m.Stride
	if win[0] <= 0 {
		win[0] = (h + 6) / 7
	}
	if win[1] <= 0 {
		win[1] = (w + 6) / 7
	}
	if win[0] > h || win[1] > w {
		return nil, fmt.Errorf("explain: %s: window %v is larger than the image %d×%d", m.Name(), win, h, w)
	}
	for d := range stride {
		if stride[d] <= 0 {
			stride[d] = max(1, win[d]/2)
		}
	}
	masks := windowMasks(h, w, win, stride) // [P, h·w], 1 inside each window
	p := masks.Dim(0)
	coverage := tensor.MatMul(tensor.Ones(1, p), masks) // windows per pixel, ≥ 1
	keep := tensor.AddScalar(tensor.Neg(masks), 1).Reshape(p, h, w, 1)
	fill := tensor.Scale(masks, m.Fill).Reshape(p, h, w, 1)
	chunk := m.BatchSize
	if chunk <= 0 {
		chunk = 64
	}
	parts := make([]*tensor.Tensor, n)
	for i := 0; i < n; i++ {
		xi := sample(x, i)
		f := s.scores(xi, s.a.Classes[i:i+1]).Item()
		drops := tensor.Zeros(1, p)
		for lo := 0; lo < p; lo += chunk {
			if err := cancelled(ctx, m.Name()); err != nil {
				return nil, err
			}
			hi := min(lo+chunk, p)
			occluded := tensor.Add(tensor.Mul(xi, keep.Slice(lo, hi)), fill.Slice(lo, hi)) // [hi−lo, h, w, c]
			fo := s.scores(occluded, repeat(s.a.Classes[i], hi-lo))
			copy(drops.Data()[lo:hi], tensor.AddScalar(tensor.Neg(fo), f).Data())
		}
		heat := tensor.Div(tensor.MatMul(drops, masks), coverage) // [1, h·w]
		parts[i] = tensor.Mul(heat.Reshape(1, h, w, 1), tensor.Ones(1, 1, 1, ch))
	}
	s.a.Map = tensor.Concat(0, parts...)
	return s.a, nil
}

// windowMasks returns one row per window position, [P, h·w], with ones
// inside the window: top-left corners every stride, plus the positions
// flush with the bottom and right edges.
func windowMasks(h, w int, win, stride [2]int) *tensor.Tensor {
	starts := func(size, k, s int) []int {
		var out []int
		for o := 0; o+k <= size; o += s {
			out = append(out, o)
		}
		if last := size - k; out[len(out)-1] != last {
			out = append(out, last)
		}
		return out
	}
	rows, cols := starts(h, win[0], stride[0]), starts(w, win[1], stride[1])
	masks := tensor.Zeros(len(rows)*len(cols), h*w)
	d := masks.Data()
	k := 0
	for _, r := range rows {
		for _, c := range cols {
			m := d[k*h*w : (k+1)*h*w]
			for y := r; y < r+win[0]; y++ {
				for x := c; x < c+win[1]; x++ {
					m[y*w+x] = 1
				}
			}
			k++
		}
	}
	return masks
}
