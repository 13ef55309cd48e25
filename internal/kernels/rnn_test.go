package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

const rnnGuard = 8

// rnnBuf is a slice inside a buffer of sentinels, to catch stray writes.
type rnnBuf struct {
	buf  []float32
	x    []float32
	name string
}

const rnnSentinel = float32(-7777.25)

func newRNNBuf(rng *rand.Rand, name string, n int, lo, hi float64) *rnnBuf {
	buf := make([]float32, n+2*rnnGuard+1) // +1: an unaligned start
	for i := range buf {
		buf[i] = rnnSentinel
	}
	x := buf[rnnGuard+1 : rnnGuard+1+n : rnnGuard+1+n]
	for i := range x {
		x[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return &rnnBuf{buf: buf, x: x, name: name}
}

func (b *rnnBuf) intact(t *testing.T) {
	t.Helper()
	n := len(b.x)
	for i, v := range b.buf {
		if (i < rnnGuard+1 || i >= rnnGuard+1+n) && v != rnnSentinel {
			t.Fatalf("%s: guard element %d overwritten", b.name, i)
		}
	}
}

func rnnF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func refAct(a RecAct, x float64) float64 {
	switch a {
	case RecTanh:
		return math.Tanh(x)
	case RecSigmoid:
		return 1 / (1 + math.Exp(-x))
	case RecHardSigmoid:
		return math.Min(math.Max(x/6+0.5, 0), 1)
	case RecRelu:
		return math.Max(x, 0)
	}
	return x
}

func refDeriv(a RecAct, y float64) float64 {
	switch a {
	case RecTanh:
		return 1 - y*y
	case RecSigmoid:
		return y * (1 - y)
	case RecHardSigmoid:
		if y > 0 && y < 1 {
			return 1.0 / 6
		}
		return 0
	case RecRelu:
		if y > 0 {
			return 1
		}
		return 0
	}
	return 1
}

func rnnClose(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); d > 2e-5*(1+math.Abs(w)) || got[i] != got[i] {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], w)
		}
	}
}

var rnnActPairs = []struct{ act, rec RecAct }{
	{RecTanh, RecSigmoid}, {RecRelu, RecHardSigmoid}, {RecLinear, RecTanh}, {RecSigmoid, RecLinear},
}

// rnnShapes has awkward unit counts and enough rows to run in parallel.
var rnnShapes = [][2]int{{1, 1}, {3, 7}, {2, 8}, {5, 9}, {3, 16}, {70, 33}, {64, 31}, {2, 128}}

// rnnImpls runs f with each implementation of the gate loops: the
// vectorized one of this CPU (if any), then pure Go.
func rnnImpls(t *testing.T, f func(t *testing.T)) {
	saved := rnnVec
	defer func() { rnnVec = saved }()
	impls := []rnnVecKernels{{name: "go"}}
	if saved.name != "" {
		impls = append([]rnnVecKernels{saved}, impls...)
	}
	for _, impl := range impls {
		rnnVec = impl
		t.Run(impl.name, f)
	}
}

func TestLSTMKernels(t *testing.T) { rnnImpls(t, testLSTMKernels) }

func TestGRUKernels(t *testing.T) { rnnImpls(t, testGRUKernels) }

func testLSTMKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range rnnActPairs {
		for _, s := range rnnShapes {
			rows, u := s[0], s[1]
			t.Run(fmt.Sprintf("%d/%d/%dx%d", p.act, p.rec, rows, u), func(t *testing.T) {
				g := newRNNBuf(rng, "g", rows*4*u, -2, 2)
				cp := newRNNBuf(rng, "cPrev", rows*u, -1, 1)
				c := newRNNBuf(rng, "c", rows*u, 0, 0)
				tc := newRNNBuf(rng, "tc", rows*u, 0, 0)
				h := newRNNBuf(rng, "h", rows*u, 0, 0)
				bias := newRNNBuf(rng, "bias", 4*u, -0.5, 0.5)
				pre := rnnF64(g.x)
				for i := range pre {
					pre[i] += float64(bias.x[i%(4*u)])
				}
				LSTMForward(rows, u, g.x, bias.x, cp.x, c.x, tc.x, h.x, p.act, p.rec)
				wg, wc, wtc, wh := make([]float64, len(pre)), make([]float64, rows*u), make([]float64, rows*u), make([]float64, rows*u)
				for r := 0; r < rows; r++ {
					for j := 0; j < u; j++ {
						k := r*4*u + j
						i, f := refAct(p.rec, pre[k]), refAct(p.rec, pre[k+u])
						cc, o := refAct(p.act, pre[k+2*u]), refAct(p.rec, pre[k+3*u])
						wg[k], wg[k+u], wg[k+2*u], wg[k+3*u] = i, f, cc, o
						m := r*u + j
						wc[m] = f*float64(cp.x[m]) + i*cc
						wtc[m] = refAct(p.act, wc[m])
						wh[m] = o * wtc[m]
					}
				}
				rnnClose(t, "gates", g.x, wg)
				rnnClose(t, "c", c.x, wc)
				rnnClose(t, "tc", tc.x, wtc)
				rnnClose(t, "h", h.x, wh)

				dh := newRNNBuf(rng, "dh", rows*u, -1, 1)
				dc := newRNNBuf(rng, "dc", rows*u, -1, 1)
				dg := newRNNBuf(rng, "dg", rows*4*u, 0, 0)
				dc0 := rnnF64(dc.x)
				LSTMBackward(rows, u, g.x, cp.x, tc.x, dh.x, dc.x, dg.x, p.act, p.rec)
				wdg, wdc := make([]float64, rows*4*u), make([]float64, rows*u)
				for r := 0; r < rows; r++ {
					for j := 0; j < u; j++ {
						k, m := r*4*u+j, r*u+j
						i, f, cc, o := float64(g.x[k]), float64(g.x[k+u]), float64(g.x[k+2*u]), float64(g.x[k+3*u])
						y, d := float64(tc.x[m]), float64(dh.x[m])
						dcm := dc0[m] + d*o*refDeriv(p.act, y)
						wdg[k+3*u] = d * y * refDeriv(p.rec, o)
						wdg[k] = dcm * cc * refDeriv(p.rec, i)
						wdg[k+u] = dcm * float64(cp.x[m]) * refDeriv(p.rec, f)
						wdg[k+2*u] = dcm * i * refDeriv(p.act, cc)
						wdc[m] = dcm * f
					}
				}
				rnnClose(t, "dg", dg.x, wdg)
				rnnClose(t, "dc", dc.x, wdc)
				for _, b := range []*rnnBuf{g, bias, cp, c, tc, h, dh, dc, dg} {
					b.intact(t)
				}
			})
		}
	}
}

func testGRUKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range rnnActPairs {
		for _, s := range rnnShapes {
			for _, withBias := range []bool{true, false} {
				rows, u := s[0], s[1]
				t.Run(fmt.Sprintf("%d/%d/%dx%d/bias=%v", p.act, p.rec, rows, u, withBias), func(t *testing.T) {
					g := newRNNBuf(rng, "g", rows*3*u, -2, 2)
					rh := newRNNBuf(rng, "rh", rows*3*u, -1, 1)
					var bIn, bRec []float32
					if withBias {
						bIn = newRNNBuf(rng, "bIn", 3*u, -0.5, 0.5).x
						bRec = newRNNBuf(rng, "bRec", 3*u, -0.5, 0.5).x
					}
					hp := newRNNBuf(rng, "hPrev", rows*u, -1, 1)
					rs := newRNNBuf(rng, "rhSave", rows*u, 0, 0)
					h := newRNNBuf(rng, "h", rows*u, 0, 0)
					pre := rnnF64(g.x)
					GRUForward(rows, u, g.x, rh.x, bIn, bRec, hp.x, rs.x, h.x, p.act, p.rec)
					b := func(j int) float64 { // both biases where they add
						if bRec == nil {
							return 0
						}
						return float64(bRec[j])
					}
					bi := func(j int) float64 {
						if bIn == nil {
							return 0
						}
						return float64(bIn[j])
					}
					wg, wrs, wh := make([]float64, len(pre)), make([]float64, rows*u), make([]float64, rows*u)
					for r := 0; r < rows; r++ {
						for j := 0; j < u; j++ {
							k, m := r*3*u+j, r*u+j
							z := refAct(p.rec, pre[k]+bi(j)+float64(rh.x[k])+b(j))
							rr := refAct(p.rec, pre[k+u]+bi(u+j)+float64(rh.x[k+u])+b(u+j))
							wrs[m] = float64(rh.x[k+2*u]) + b(2*u+j)
							c := refAct(p.act, pre[k+2*u]+bi(2*u+j)+rr*wrs[m])
							wg[k], wg[k+u], wg[k+2*u] = z, rr, c
							wh[m] = z*float64(hp.x[m]) + (1-z)*c
						}
					}
					rnnClose(t, "gates", g.x, wg)
					rnnClose(t, "rhSave", rs.x, wrs)
					rnnClose(t, "h", h.x, wh)

					dh := newRNNBuf(rng, "dh", rows*u, -1, 1)
					dgx := newRNNBuf(rng, "dgx", rows*3*u, 0, 0)
					dgr := newRNNBuf(rng, "dgr", rows*3*u, 0, 0)
					dhp := newRNNBuf(rng, "dhPrev", rows*u, 0, 0)
					GRUBackward(rows, u, g.x, rs.x, hp.x, dh.x, dgx.x, dgr.x, dhp.x, p.act, p.rec)
					wx, wr, wdh := make([]float64, rows*3*u), make([]float64, rows*3*u), make([]float64, rows*u)
					for r := 0; r < rows; r++ {
						for j := 0; j < u; j++ {
							k, m := r*3*u+j, r*u+j
							z, rr, c := float64(g.x[k]), float64(g.x[k+u]), float64(g.x[k+2*u])
							d := float64(dh.x[m])
							dz := d * (float64(hp.x[m]) - c) * refDeriv(p.rec, z)
							dc := d * (1 - z) * refDeriv(p.act, c)
							dr := dc * float64(rs.x[m]) * refDeriv(p.rec, rr)
							wx[k], wx[k+u], wx[k+2*u] = dz, dr, dc
							wr[k], wr[k+u], wr[k+2*u] = dz, dr, dc*rr
							wdh[m] = d * z
						}
					}
					rnnClose(t, "dgx", dgx.x, wx)
					rnnClose(t, "dgr", dgr.x, wr)
					rnnClose(t, "dhPrev", dhp.x, wdh)
					for _, b := range []*rnnBuf{g, rh, hp, rs, h, dh, dgx, dgr, dhp} {
						b.intact(t)
					}
				})
			}
		}
	}
}

func TestRecActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, a := range []RecAct{RecTanh, RecSigmoid, RecHardSigmoid, RecRelu, RecLinear} {
		for _, n := range []int{0, 1, 7, 8, 9, 31, 1000} {
			x := newRNNBuf(rng, "x", n, -5, 5)
			y := newRNNBuf(rng, "y", n, 0, 0)
			g := newRNNBuf(rng, "g", n, -1, 1)
			d := newRNNBuf(rng, "d", n, 0, 0)
			RecActivate(a, y.x, x.x)
			RecActGrad(a, d.x, y.x, g.x)
			wy, wd := make([]float64, n), make([]float64, n)
			for i := range wy {
				wy[i] = refAct(a, float64(x.x[i]))
				wd[i] = float64(g.x[i]) * refDeriv(a, float64(y.x[i]))
			}
			rnnClose(t, fmt.Sprintf("act %d n=%d", a, n), y.x, wy)
			rnnClose(t, fmt.Sprintf("grad %d n=%d", a, n), d.x, wd)
			for _, b := range []*rnnBuf{x, y, g, d} {
				b.intact(t)
			}
		}
	}
}

// TestRNNKernelsSplitInvariant checks that splitting rows over workers
// gives the same bits as one serial pass.
func TestRNNKernelsSplitInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rows, u := 96, 64
	g := newRNNBuf(rng, "g", rows*4*u, -2, 2).x
	cp := newRNNBuf(rng, "cp", rows*u, -1, 1).x
	run := func(parallel bool) []float32 {
		gg := append([]float32(nil), g...)
		c, tc, h := make([]float32, rows*u), make([]float32, rows*u), make([]float32, rows*u)
		if parallel {
			LSTMForward(rows, u, gg, nil, cp, c, tc, h, RecTanh, RecSigmoid)
		} else {
			task := &rnnTask{kind: rnnLSTMForward, u: u, act: RecTanh, rec: RecSigmoid, g: gg, cPrev: cp, c: c, tc: tc, h: h}
			task.run(0, rows)
		}
		return append(gg, h...)
	}
	a, b := run(true), run(false)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("element %d: parallel %v, serial %v", i, a[i], b[i])
		}
	}
}

func TestRNNKernelsNoAllocs(t *testing.T) {
	if rnnRace {
		t.Skip("allocation counts are meaningless with the race detector")
	}
	rows, u := 64, 128
	g, cp := make([]float32, rows*4*u), make([]float32, rows*u)
	c, tc, h := make([]float32, rows*u), make([]float32, rows*u), make([]float32, rows*u)
	LSTMForward(rows, u, g, nil, cp, c, tc, h, RecTanh, RecSigmoid)
	if n := testing.AllocsPerRun(20, func() { LSTMForward(rows, u, g, nil, cp, c, tc, h, RecTanh, RecSigmoid) }); n > 0 {
		t.Errorf("LSTMForward allocates %v times per call", n)
	}
}

func BenchmarkLSTMGatesForward(b *testing.B) {
	rows, u := 64, 128
	g, cp := make([]float32, rows*4*u), make([]float32, rows*u)
	c, tc, h := make([]float32, rows*u), make([]float32, rows*u), make([]float32, rows*u)
	for b.Loop() {
		LSTMForward(rows, u, g, nil, cp, c, tc, h, RecTanh, RecSigmoid)
	}
}

func BenchmarkLSTMGatesBackward(b *testing.B) {
	rows, u := 64, 128
	g, cp := make([]float32, rows*4*u), make([]float32, rows*u)
	tc := make([]float32, rows*u)
	dh, dc, dg := make([]float32, rows*u), make([]float32, rows*u), make([]float32, rows*4*u)
	for b.Loop() {
		LSTMBackward(rows, u, g, cp, tc, dh, dc, dg, RecTanh, RecSigmoid)
	}
}

func TestTranspose2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, s := range [][2]int{{0, 3}, {1, 1}, {1, 7}, {33, 65}, {128, 512}} {
		rows, cols := s[0], s[1]
		src := newRNNBuf(rng, "src", rows*cols, -1, 1)
		dst := newRNNBuf(rng, "dst", rows*cols, 0, 0)
		Transpose2D(dst.x, src.x, rows, cols)
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				if dst.x[j*rows+i] != src.x[i*cols+j] {
					t.Fatalf("%dx%d: element (%d, %d) misplaced", rows, cols, i, j)
				}
			}
		}
		dst.intact(t)
	}
}
