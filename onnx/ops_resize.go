package onnx

import (
	"math"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Resize (and the older Upsample) with modes nearest, linear and cubic,
// separable along each axis. Integer nearest upsampling of the spatial
// axes of an image (Strata's UpSampling2D) runs as the differentiable
// autograd.UpSampling2D; the rest computes constants.
// tf_crop_and_resize is rejected.

func init() {
	reg("Resize", opResize, func(n *node) string {
		return attrIs(n, "coordinate_transformation_mode", func(a *aproto) bool { return string(a.GetS()) != "tf_crop_and_resize" }, "tf_crop_and_resize")
	})
	reg("Upsample", opResize, nil)
}

func opResize(c *opCtx, in []*value) []*value {
	x := need(in, 0, "X")
	s := x.shape() // physical
	rank := len(s)
	var scales []float64
	var sizes []int
	si := 2
	if c.n.op == "Upsample" {
		si = 1
	}
	if len(in) > si && in[si] != nil && in[si].v.Value.Len() > 0 {
		for _, f := range in[si].data() {
			scales = append(scales, float64(f))
		}
	}
	if len(in) > 3 && in[3] != nil && in[3].v.Value.Len() > 0 {
		sizes = toInts(in[3].intsOf())
	}
	mode := c.str("mode", "nearest")
	ctm := c.str("coordinate_transformation_mode", "half_pixel")
	nm := c.str("nearest_mode", "round_prefer_floor")
	if c.n.op == "Upsample" {
		ctm, nm = "asymmetric", "floor"
	}
	// fast path: integer nearest upsampling of H and W
	if mode == "nearest" && ctm == "asymmetric" && nm == "floor" && rank == 4 && len(scales) == 4 {
		sh, sw := scales[2], scales[3]
		phys := x.nhwc
		if !x.nhwc && scales[1] == 1 && scales[3] == 1 && scales[2] != 1 {
			sh, sw, phys = scales[1], scales[2], true // NHWC data as Strata exports it
			if scales[0] == 1 && sh == math.Trunc(sh) && sw == math.Trunc(sw) && sh >= 1 && sw >= 1 {
				return one(&value{v: autograd.UpSampling2D(x.v, int(sh), int(sw)), dt: x.dt})
			}
		}
		if phys && x.nhwc && scales[0] == 1 && scales[1] == 1 && sh == math.Trunc(sh) && sw == math.Trunc(sw) && sh >= 1 && sw >= 1 {
			return one(&value{v: autograd.UpSampling2D(x.v, int(sh), int(sw)), dt: x.dt, nhwc: true})
		}
	}
	t := T(x)
	s = t.Shape()
	if sizes == nil && len(scales) != rank || sizes != nil && len(sizes) != rank {
		fail("scales %v / sizes %v for rank %d", scales, sizes, rank)
	}
	out := make([]int, rank)
	for i := range out {
		if sizes != nil {
			out[i] = sizes[i]
			if s[i] > 0 {
				scales = append(scales[:0:0], scales...)
			}
		} else {
			if scales[i] <= 0 || scales[i] > MaxElements {
				fail("scale %v", scales[i])
			}
			out[i] = int(math.Floor(float64(s[i]) * scales[i]))
		}
	}
	checkSize(out)
	y := t
	for ax := 0; ax < rank; ax++ {
		if out[ax] == s[ax] && (sizes != nil || scales[ax] == 1) {
			continue
		}
		sc := float64(out[ax]) / float64(s[ax])
		if sizes == nil {
			sc = scales[ax]
		}
		y = resizeAxis(c, y, ax, out[ax], sc, mode, ctm, nm)
	}
	return one(constant(y, x.dt))
}

// resizeAxis interpolates t along axis to n points.
func resizeAxis(c *opCtx, t *tensor.Tensor, axis, n int, scale float64, mode, ctm, nm string) *tensor.Tensor {
	s := t.Shape()
	in := s[axis]
	type tap struct {
		i int
		w float64
	}
	taps := make([][]tap, n)
	a := float64(c.float("cubic_coeff_a", -0.75))
	excl := c.int("exclude_outside", 0) == 1
	for o := 0; o < n; o++ {
		var x float64
		switch ctm {
		case "half_pixel":
			x = (float64(o)+0.5)/scale - 0.5
		case "pytorch_half_pixel":
			if n > 1 {
				x = (float64(o)+0.5)/scale - 0.5
			}
		case "align_corners":
			if n > 1 { // with scales, ONNX 1.12 divides by in·scale − 1, not n − 1
				x = float64(o) * float64(in-1) / (float64(in)*scale - 1)
			}
		case "asymmetric":
			x = float64(o) / scale
		default:
			reject("coordinate_transformation_mode %s", ctm)
		}
		clampI := func(i int) int { return min(max(i, 0), in-1) }
		switch mode {
		case "nearest":
			var i float64
			switch nm {
			case "round_prefer_floor":
				i = math.Ceil(x - 0.5)
			case "round_prefer_ceil":
				i = math.Floor(x + 0.5)
			case "floor":
				i = math.Floor(x)
			case "ceil":
				i = math.Ceil(x)
			default:
				fail("nearest_mode %s", nm)
			}
			taps[o] = []tap{{clampI(int(i)), 1}}
		case "linear":
			x = min(max(x, 0), float64(in-1))
			x0 := math.Floor(x)
			f := x - x0
			taps[o] = []tap{{clampI(int(x0)), 1 - f}, {clampI(int(x0) + 1), f}}
		case "cubic":
			x0 := math.Floor(x)
			f := x - x0
			ws := [4]float64{
				((a*(f+1)-5*a)*(f+1)+8*a)*(f+1) - 4*a,
				((a+2)*f-(a+3))*f*f + 1,
				((a+2)*(1-f)-(a+3))*(1-f)*(1-f) + 1,
				((a*(2-f)-5*a)*(2-f)+8*a)*(2-f) - 4*a,
			}
			sum := 0.0
			for k := 0; k < 4; k++ {
				i := int(x0) - 1 + k
				if excl && (i < 0 || i >= in) {
					ws[k] = 0
				}
				sum += ws[k]
			}
			for k := 0; k < 4; k++ {
				w := ws[k]
				if excl && sum != 0 {
					w /= sum
				}
				taps[o] = append(taps[o], tap{clampI(int(x0) - 1 + k), w})
			}
		default:
			fail("unknown mode %s", mode)
		}
	}
	outer, inner := 1, 1
	for i := 0; i < axis; i++ {
		outer *= s[i]
	}
	for i := axis + 1; i < len(s); i++ {
		inner *= s[i]
	}
	shape := append([]int{}, s...)
	shape[axis] = n
	out := tensor.Zeros(shape...)
	d, od := t.Data(), out.Data()
	for p := 0; p < outer; p++ {
		for o := 0; o < n; o++ {
			dst := od[(p*n+o)*inner : (p*n+o+1)*inner]
			for _, tp := range taps[o] {
				src := d[(p*in+tp.i)*inner : (p*in+tp.i+1)*inner]
				for j := range dst {
					dst[j] += float32(tp.w * float64(src[j]))
				}
			}
		}
	}
	return out
}
