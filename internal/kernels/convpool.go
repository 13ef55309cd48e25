package kernels

import "sync"

// The direct convolution of a single-channel image with a 3×3 kernel,
// fused with the bias, an optional ReLU and 2×2 max pooling: the first
// layer of an image classifier on grayscale input (CNNNet's 28×28×1 →
// 26×26×32 → 13×13×32). Through im2col and the GEMM such a layer runs at
// a small fraction of peak: nine values per patch row (K = 9) keep the
// micro-kernel in its prologue and epilogue, and the patches (9 values per
// output pixel) and the unpooled output are written and read back. Here
// the 3×3 kernel of 32 channels stays in 18 vector registers, the four
// pixels of a pooling window accumulate in eight more, and each of the 16
// inputs of the window's 4×4 block is broadcast once: 72 FMAs per window
// and nothing stored but the pooled output and its winners. Measured at one
// thread on CNNNet's first layer at batch 32 (BenchmarkConvPool3x3, five
// runs each, medians, load average 8.5 on the 2-core EPYC): forward 2.06 ms
// through Im2Col + ConvMaxPool2x2, 0.21 ms here; backward (MaxPoolGrad, the
// 9×21632×32 weight-gradient GEMM and SumRowsAcc) 0.50 ms, 0.16 ms here.
//
// The backward pass reads the same 4×4 blocks: the gradient reaching a
// window's winner (zero at the other three pixels) is multiplied into the
// nine kernel-gradient rows kept in registers, and the bias gradient is the
// sum of the pooled gradients. Partial sums are kept per image and added
// in image order, so the result does not depend on the thread count.

// convPoolRowGo is the contract of convPoolRowAVX512 for one row of npw
// pooling windows and 32 channels: x points at input row 2·ph (rows xs
// apart), w at the channels' kernel (tap kk = 3·kh + kw at w[kk·ws:]),
// bias at their bias; window q reads the 4×4 block at column 2q and writes
// y[q·ys + j] = max over its pixels (dy, dx) of
// act(bias[j] + Σ x[(dy+kh)·xs + 2q+dx+kw]·w[(3kh+kw)·ws + j]), the
// earliest pixel winning ties (a later one must be strictly greater), and,
// unless arg is nil, arg[q·ys + j] = base + 2q·f + dy·owf + dx·f + j for
// the winner. act is ReLU when relu, else the identity.
func convPoolRowGo(x []float32, xs int, w []float32, ws int, bias, y []float32, arg []int32, ys, npw, base, f, owf int, relu bool) {
	for q := 0; q < npw; q++ {
		for j := 0; j < 32; j++ {
			var best float32
			var idx int
			for p := 0; p < 4; p++ {
				dy, dx := p/2, p%2
				s := bias[j]
				for kh := 0; kh < 3; kh++ {
					for kw := 0; kw < 3; kw++ {
						s += x[(dy+kh)*xs+2*q+dx+kw] * w[(3*kh+kw)*ws+j]
					}
				}
				if relu {
					s = max(s, 0)
				}
				if p == 0 || s > best {
					best, idx = s, base+2*q*f+dy*owf+dx*f+j
				}
			}
			y[q*ys+j] = best
			if arg != nil {
				arg[q*ys+j] = int32(idx)
			}
		}
	}
}

// convPoolGradGo is the contract of convPoolGradAVX512 for nph rows of npw
// windows and 32 channels of one image: x points at the image's first
// input row (rows xs apart), gp and arg at the pooled gradient and winners
// of window (0, 0) (windows ys apart, rows npw·ys apart), base is the flat
// index of the image's first conv output of these channels. It adds to
// acc[kk·as + j] (kk < 9) the kernel gradient Σ x[(2r+dy+kh)·xs +
// 2q+dx+kw]·gp[·] over the windows (r, q), each at its winner (dy, dx),
// and to acc[9·as + j] the bias gradient Σ gp[·].
func convPoolGradGo(x []float32, xs int, gp []float32, arg []int32, ys, nph, npw, base, f, owf int, acc []float32, as int) {
	for r := 0; r < nph; r++ {
		for q := 0; q < npw; q++ {
			o := (r*npw + q) * ys
			for j := 0; j < 32; j++ {
				g := gp[o+j]
				acc[9*as+j] += g
				rel := int(arg[o+j]) - (base + 2*r*owf + 2*q*f + j)
				for p := 0; p < 4; p++ {
					dy, dx := p/2, p%2
					if rel != dy*owf+dx*f {
						continue
					}
					for kh := 0; kh < 3; kh++ {
						for kw := 0; kw < 3; kw++ {
							acc[(3*kh+kw)*as+j] += x[(2*r+dy+kh)*xs+2*q+dx+kw] * g
						}
					}
				}
			}
		}
	}
}

// ConvPool3x3Fits reports whether ConvPool3x3 and ConvPool3x3Grad handle
// the convolution g with f output channels: a 3×3 window over one input
// channel, stride 1, no dilation, f a multiple of 32, an output of at
// least 2×2 (the padding may be anything), every flat index of the output
// [N, OH, OW, f] an int32, and AVX-512 on this CPU (elsewhere im2col and
// the GEMM are faster than the plain loops).
func ConvPool3x3Fits(g ConvGeom, f int) bool {
	return convPoolFast && convPoolFits(g, f)
}

func convPoolFits(g ConvGeom, f int) bool {
	return g.KH == 3 && g.KW == 3 && g.C == 1 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 &&
		f > 0 && f%32 == 0 && g.OH >= 2 && g.OW >= 2 && g.N*g.OH*g.OW*f < 1<<31
}

// ConvPool3x3 writes dst [N, OH/2, OW/2, f] = maxpool₂ₓ₂(act(x ∗ k + bias))
// for x [N, H, W, 1], the kernel k [3, 3, 1, f] and bias [f] (nil: none),
// with act ReLU when relu and the identity otherwise, and into argmax (nil:
// not needed) each winner's flat index in the convolution's output
// [N, OH, OW, f], as ConvMaxPool2x2 does (an odd last row or column is
// dropped; ties go to the earliest pixel). g must satisfy convPoolFits.
func ConvPool3x3(dst []float32, argmax []int32, x, k, bias []float32, g ConvGeom, f int, relu bool) {
	ph, pw := g.OH/2, g.OW/2
	_, _ = dst[g.N*ph*pw*f-1], k[9*f-1]
	if argmax != nil {
		_ = argmax[g.N*ph*pw*f-1]
	}
	if bias == nil {
		bias = make([]float32, f)
	}
	// A pooled task, not a closure: one image's inference allocates nothing.
	t := convPoolTask{dst: dst, argmax: argmax, x: x, k: k, bias: bias, g: g, f: f, relu: relu}
	runPooled(&convPoolTasks, t, g.N, min(Threads(), g.N))
}

// convPoolTask is ConvPool3x3's work over its images.
type convPoolTask struct {
	dst        []float32
	argmax     []int32
	x, k, bias []float32
	g          ConvGeom
	f          int
	relu       bool
}

var convPoolTasks = sync.Pool{New: func() any { return new(convPoolTask) }}

func (t *convPoolTask) run(lo, hi int) {
	g, f, k, bias, dst, argmax := t.g, t.f, t.k, t.bias, t.dst, t.argmax
	ph, pw := g.OH/2, g.OW/2
	row := convPoolRow
	for n := lo; n < hi; n++ {
		img, xs, done := convPoolImage(t.x, g, n)
		for h := 0; h < ph; h++ {
			for b := 0; b < f; b += 32 {
				o := (n*ph+h)*pw*f + b
				var a []int32
				if argmax != nil {
					a = argmax[o:]
				}
				base := (n*g.OH+2*h)*g.OW*f + b
				row(img[2*h*xs:], xs, k[b:], f, bias[b:], dst[o:], a, f, pw, base, f, g.OW*f, t.relu)
			}
		}
		done()
	}
}

// ConvPool3x3Grad writes into gk [3, 3, 1, f] (adds when acc) the kernel
// gradient and adds into gb [f] (nil: none) the bias gradient of
// ConvPool3x3, given its input x, the gradient gp [N, OH/2, OW/2, f] at
// the pooled output already multiplied by the activation's derivative, and
// the winners argmax that ConvPool3x3 wrote.
func ConvPool3x3Grad(gk, gb, x, gp []float32, argmax []int32, g ConvGeom, f int, acc bool) {
	ph, pw := g.OH/2, g.OW/2
	_, _, _ = gk[9*f-1], gp[g.N*ph*pw*f-1], argmax[g.N*ph*pw*f-1]
	part := 10 * f // one image's partial sums: 9 kernel rows, the bias
	sp := convScratch.get(g.N * part)
	defer convScratch.put(sp)
	parts := *sp
	grad := convPoolGrad
	Parallel(g.N, 1, func(lo, hi int) {
		clear(parts[lo*part : hi*part])
		for n := lo; n < hi; n++ {
			img, xs, done := convPoolImage(x, g, n)
			for b := 0; b < f; b += 32 {
				o := n*ph*pw*f + b
				grad(img, xs, gp[o:], argmax[o:], f, ph, pw, n*g.OH*g.OW*f+b, f, g.OW*f, parts[n*part+b:], f)
			}
			done()
		}
	})
	if !acc {
		clear(gk[:9*f])
	}
	for n := 0; n < g.N; n++ { // in image order, whatever the threads
		p := parts[n*part:]
		SIMD.Axpy(1, p[:9*f], gk[:9*f])
		if gb != nil {
			SIMD.Axpy(1, p[9*f:10*f], gb[:f])
		}
	}
}

// convPoolImage returns image n of x as the kernels read it, with its row
// stride: x itself without padding, else a zero-bordered copy in scratch
// of (OH+2)×(OW+2) values (done returns the scratch).
func convPoolImage(x []float32, g ConvGeom, n int) (img []float32, xs int, done func()) {
	bottom, right := g.OH+2-g.H-g.PadT, g.OW+2-g.W-g.PadL
	if g.PadT == 0 && g.PadL == 0 && bottom <= 0 && right <= 0 {
		return x[n*g.H*g.W:], g.W, func() {}
	}
	xs = g.OW + 2
	sp := convScratch.get((g.OH + 2) * xs)
	img = *sp
	clear(img)
	for i := 0; i < g.OH+2; i++ {
		ih := i - g.PadT
		if ih < 0 || ih >= g.H {
			continue
		}
		lo, hi := max(0, g.PadL), min(xs, g.W+g.PadL)
		if lo < hi {
			copy(img[i*xs+lo:i*xs+hi], x[(n*g.H+ih)*g.W+lo-g.PadL:])
		}
	}
	return img, xs, func() { convScratch.put(sp) }
}

// The implementations in use (tests swap them).
var (
	convPoolRow  = convPoolRowGo
	convPoolGrad = convPoolGradGo
	convPoolFast = false
)

func init() {
	if archConvPool() {
		convPoolRow, convPoolGrad, convPoolFast = convPoolRowAsm, convPoolGradAsm, true
	}
}

// convPoolRowAsm is convPoolRowGo through the AVX-512 kernel; it checks
// the bounds the kernel will touch.
func convPoolRowAsm(x []float32, xs int, w []float32, ws int, bias, y []float32, arg []int32, ys, npw, base, f, owf int, relu bool) {
	if npw == 0 {
		return
	}
	_, _, _, _ = x[3*xs+2*npw+1], w[8*ws+31], bias[31], y[(npw-1)*ys+31]
	var ap *int32
	if arg != nil {
		_ = arg[(npw-1)*ys+31]
		ap = &arg[0]
	}
	convPoolRowAVX512(&x[0], xs, &w[0], ws, &bias[0], &y[0], ap, ys, npw, base, f, owf, relu)
}

// convPoolGradAsm is convPoolGradGo through the AVX-512 kernel.
func convPoolGradAsm(x []float32, xs int, gp []float32, arg []int32, ys, nph, npw, base, f, owf int, acc []float32, as int) {
	if nph == 0 || npw == 0 {
		return
	}
	last := ((nph-1)*npw+npw-1)*ys + 31
	_, _, _, _ = x[(2*nph+1)*xs+2*npw+1], gp[last], arg[last], acc[9*as+31]
	convPoolGradAVX512(&x[0], xs, &gp[0], &arg[0], ys, nph, npw, base, f, owf, &acc[0], as)
}
