package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// attentionNaive is the plain twin of AttentionForward and
// AttentionBackward: it forms every score row in float64, then the
// softmax, the output and the gradients by the textbook formulas.
func attentionNaive(g AttentionGeom, q, k, v, mask, dout []float32) (out, dq, dk, dv []float64) {
	out = make([]float64, g.B*g.Tq*g.H*g.Dv)
	dq = make([]float64, len(q))
	dk = make([]float64, len(k))
	dv = make([]float64, len(v))
	qi := func(b, i, h, d int) int { return ((b*g.Tq+i)*g.H+h)*g.D + d }
	ki := func(b, j, h, d int) int { return ((b*g.Tk+j)*g.H+h)*g.D + d }
	vi := func(b, j, h, d int) int { return ((b*g.Tk+j)*g.H+h)*g.Dv + d }
	oi := func(b, i, h, d int) int { return ((b*g.Tq+i)*g.H+h)*g.Dv + d }
	for b := range g.B {
		for h := range g.H {
			for i := range g.Tq {
				p := make([]float64, g.Tk)
				ok := make([]bool, g.Tk)
				top := math.Inf(-1)
				for j := range g.Tk {
					ok[j] = (!g.Causal || j <= i+g.Tk-g.Tq) && (mask == nil || mask[(b*g.Tq+i)*g.Tk+j] != 0)
					if !ok[j] {
						continue
					}
					for d := range g.D {
						p[j] += float64(q[qi(b, i, h, d)]) * float64(k[ki(b, j, h, d)])
					}
					p[j] *= float64(g.Scale)
					top = math.Max(top, p[j])
				}
				var sum float64
				for j := range p {
					if ok[j] {
						p[j] = math.Exp(p[j] - top)
						sum += p[j]
					} else {
						p[j] = 0
					}
				}
				if sum == 0 {
					continue
				}
				for j := range p {
					p[j] /= sum
					for d := range g.Dv {
						out[oi(b, i, h, d)] += p[j] * float64(v[vi(b, j, h, d)])
					}
				}
				// backward: dp_j = dout·v_j; ds_j = p_j (dp_j − Σ p dp)
				dp := make([]float64, g.Tk)
				var dot float64
				for j := range p {
					for d := range g.Dv {
						dp[j] += float64(dout[oi(b, i, h, d)]) * float64(v[vi(b, j, h, d)])
						dv[vi(b, j, h, d)] += p[j] * float64(dout[oi(b, i, h, d)])
					}
					dot += p[j] * dp[j]
				}
				for j := range p {
					ds := p[j] * (dp[j] - dot) * float64(g.Scale)
					for d := range g.D {
						dq[qi(b, i, h, d)] += ds * float64(k[ki(b, j, h, d)])
						dk[ki(b, j, h, d)] += ds * float64(q[qi(b, i, h, d)])
					}
				}
			}
		}
	}
	return
}

func randSlice(rng *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = scale * float32(rng.NormFloat64())
	}
	return s
}

func maxDiff(got []float32, want []float64) (float64, int) {
	worst, at := 0.0, -1
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	return worst, at
}

func TestAttentionMatchesNaive(t *testing.T) {
	cases := []struct {
		g      AttentionGeom
		mask   bool
		qScale float32 // 0: 1
	}{
		{AttentionGeom{B: 1, H: 1, Tq: 1, Tk: 1, D: 1, Dv: 1}, false, 1},
		{AttentionGeom{B: 2, H: 3, Tq: 7, Tk: 9, D: 5, Dv: 4}, false, 1},
		{AttentionGeom{B: 2, H: 2, Tq: 65, Tk: 65, D: 8, Dv: 8, Causal: true}, false, 1},
		{AttentionGeom{B: 1, H: 2, Tq: 130, Tk: 131, D: 16, Dv: 9}, true, 1},
		{AttentionGeom{B: 2, H: 1, Tq: 70, Tk: 200, D: 4, Dv: 6, Causal: true}, true, 1},
		{AttentionGeom{B: 1, H: 2, Tq: 1, Tk: 129, D: 8, Dv: 8, Causal: true}, false, 1},   // a cached decoding step
		{AttentionGeom{B: 1, H: 1, Tq: 5, Tk: 3, D: 2, Dv: 2, Causal: true}, false, 1},     // first rows see nothing
		{AttentionGeom{B: 1, H: 2, Tq: 200, Tk: 100, D: 4, Dv: 3, Causal: true}, false, 1}, // a first query block that sees nothing
		// several forward key blocks; large scores make the running
		// maximum jump between blocks (the rescaling path)
		{AttentionGeom{B: 1, H: 2, Tq: 67, Tk: 600, D: 8, Dv: 5}, false, 6},
		{AttentionGeom{B: 1, H: 1, Tq: 300, Tk: 530, D: 12, Dv: 8, Causal: true}, true, 4},
	}
	for i, c := range cases {
		g := c.g
		g.Scale = float32(1 / math.Sqrt(float64(g.D)))
		g.Overwrite = i%2 == 1 // then the gradients start as garbage
		t.Run(fmt.Sprintf("%+v/mask=%v", g, c.mask), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(g.Tq), uint64(g.Tk)))
			q := randSlice(rng, g.B*g.Tq*g.H*g.D, max(1, c.qScale))
			k := randSlice(rng, g.B*g.Tk*g.H*g.D, 1)
			v := randSlice(rng, g.B*g.Tk*g.H*g.Dv, 1)
			dout := randSlice(rng, g.B*g.Tq*g.H*g.Dv, 1)
			var mask []float32
			if c.mask {
				mask = make([]float32, g.B*g.Tq*g.Tk)
				for i := range mask {
					if rng.IntN(4) != 0 || i%g.Tk == 0 {
						mask[i] = 1
					}
				}
			}
			wOut, wdq, wdk, wdv := attentionNaive(g, q, k, v, mask, dout)
			// without kept probabilities, and with them where the
			// geometry allows (the buffer starts as NaN: every element
			// must be written)
			for _, keep := range []bool{false, true} {
				n := AttentionProbsLen(g)
				if keep && n == 0 {
					continue
				}
				// guard values after every output catch stray writes
				const guard = 7777
				var probs []float32
				if keep {
					probs = append(make([]float32, n), guard)
					for i := range n {
						probs[i] = float32(math.NaN())
					}
				}
				out := append(make([]float32, g.B*g.Tq*g.H*g.Dv), guard)
				lse := append(make([]float32, g.B*g.H*g.Tq), guard)
				AttentionForward(g, q, k, v, mask, out, lse, probs)
				dq := append(make([]float32, len(q)), guard)
				dk := append(make([]float32, len(k)), guard)
				dv := append(make([]float32, len(v)), guard)
				if g.Overwrite {
					for _, d := range [][]float32{dq, dk, dv} {
						for i := range d[:len(d)-1] {
							d[i] = float32(math.NaN())
						}
					}
				}
				AttentionBackward(g, q, k, v, mask, out, lse, probs, dout, dq, dk, dv)
				for _, x := range []struct {
					name string
					got  []float32
					want []float64
				}{{"out", out, wOut}, {"dq", dq, wdq}, {"dk", dk, wdk}, {"dv", dv, wdv}} {
					if x.got[len(x.got)-1] != guard {
						t.Errorf("keep=%v: %s: write past the end", keep, x.name)
					}
					if d, at := maxDiff(x.got, x.want); d > 2e-5*math.Sqrt(float64(g.Tk)) {
						t.Errorf("keep=%v: %s[%d] = %v, want %v (diff %g)", keep, x.name, at, x.got[at], x.want[at], d)
					}
				}
				if keep && probs[n] != guard {
					t.Errorf("probs: write past the end")
				}
			}
		})
	}
}

// TestTransposeBlocks checks transposeBlocks (8×8 assembly blocks and
// the Go loop for what they leave) against its index formula.
func TestTransposeBlocks(t *testing.T) {
	for _, c := range []struct{ rows, cols, ld, bc int }{
		{1, 1, 1, 1}, {7, 5, 9, 4}, {8, 8, 8, 8}, {17, 16, 20, 64}, {130, 64, 256, 64}, {300, 12, 40, 256}, {65, 33, 33, 24},
	} {
		src := make([]float32, (c.rows-1)*c.ld+c.cols)
		for i := range src {
			src[i] = float32(i)
		}
		dst := make([]float32, c.rows*c.cols+1)
		dst[len(dst)-1] = -1
		transposeBlocks(dst, src, c.ld, c.rows, c.cols, c.bc)
		for j0 := 0; j0 < c.rows; j0 += c.bc {
			bw := min(c.bc, c.rows-j0)
			for p := range c.cols {
				for r := range bw {
					if got, want := dst[j0*c.cols+p*bw+r], src[(j0+r)*c.ld+p]; got != want {
						t.Fatalf("%+v: block %d, [%d, %d] = %v, want %v", c, j0, p, r, got, want)
					}
				}
			}
		}
		if dst[len(dst)-1] != -1 {
			t.Fatalf("%+v: wrote past the end", c)
		}
	}
}

// TestAttentionThreadsSameBits checks that the threads' schedule does not
// change a bit of the output or the gradients (with 1, 2 and 3 threads,
// heads few and many, probabilities kept and recomputed).
func TestAttentionThreadsSameBits(t *testing.T) {
	for _, g := range []AttentionGeom{
		{B: 1, H: 1, Tq: 300, Tk: 300, D: 16, Dv: 8, Scale: 0.25, Causal: true}, // tasks are query blocks
		{B: 3, H: 3, Tq: 70, Tk: 90, D: 8, Dv: 8, Scale: 0.35, Overwrite: true}, // tasks are heads
	} {
		rng := rand.New(rand.NewPCG(5, 6))
		q, k, v := randSlice(rng, g.B*g.Tq*g.H*g.D, 1), randSlice(rng, g.B*g.Tk*g.H*g.D, 1), randSlice(rng, g.B*g.Tk*g.H*g.Dv, 1)
		dout := randSlice(rng, g.B*g.Tq*g.H*g.Dv, 1)
		run := func(threads int, keep bool) [][]float32 {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
			var probs []float32
			if keep {
				probs = keptProbs(g)
			}
			out, lse := make([]float32, len(dout)), make([]float32, g.B*g.H*g.Tq)
			dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
			AttentionForward(g, q, k, v, nil, out, lse, probs)
			AttentionBackward(g, q, k, v, nil, out, lse, probs, dout, dq, dk, dv)
			return [][]float32{out, lse, dq, dk, dv}
		}
		for _, keep := range []bool{false, true} {
			want := run(1, keep)
			for _, th := range []int{2, 3} {
				for i, got := range run(th, keep) {
					for j := range got {
						if math.Float32bits(got[j]) != math.Float32bits(want[i][j]) {
							t.Fatalf("%+v keep=%v: %d threads: output %d [%d] = %v, 1 thread %v", g, keep, th, i, j, got[j], want[i][j])
						}
					}
				}
			}
		}
	}
}

func BenchmarkAttention(b *testing.B) {
	for _, T := range []int{256, 1024} {
		g := AttentionGeom{B: 4, H: 4, Tq: T, Tk: T, D: 64, Dv: 64, Scale: 0.125, Causal: true}
		q, k, v, dout, out, lse, dq, dk, dv, probs := attnBenchData(g)
		b.Run(fmt.Sprintf("T=%d", T), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				AttentionForward(g, q, k, v, nil, out, lse, probs)
				AttentionBackward(g, q, k, v, nil, out, lse, probs, dout, dq, dk, dv)
			}
		})
	}
}

// BenchmarkAttentionModels times forward + backward at the shapes of the
// gpt_train (T 128, head 32, causal) and vit_train (T 49, head 16)
// workloads.
func BenchmarkAttentionModels(b *testing.B) {
	for _, g := range []AttentionGeom{
		{B: 32, H: 4, Tq: 128, Tk: 128, D: 32, Dv: 32, Scale: 0.17677669, Causal: true},
		{B: 64, H: 4, Tq: 49, Tk: 49, D: 16, Dv: 16, Scale: 0.25},
	} {
		q, k, v, dout, out, lse, dq, dk, dv, probs := attnBenchData(g)
		name := fmt.Sprintf("T=%d,D=%d,causal=%v", g.Tq, g.D, g.Causal)
		b.Run(name+"/fwd", func(b *testing.B) {
			for range b.N {
				AttentionForward(g, q, k, v, nil, out, lse, probs)
			}
		})
		b.Run(name+"/bwd", func(b *testing.B) {
			for range b.N {
				AttentionBackward(g, q, k, v, nil, out, lse, probs, dout, dq, dk, dv)
			}
		})
	}
}

// attnBenchData returns random q, k, v and ∂L/∂out for the geometry g
// (values in [−1, 1]), buffers for the output, the log-sum-exp and the
// three gradients, and keptProbs(g).
func attnBenchData(g AttentionGeom) (q, k, v, dout, out, lse, dq, dk, dv, probs []float32) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := g.B * g.Tq * g.H * g.D
	q, k, v, dout = randSlice(rng, n, 1), randSlice(rng, n, 1), randSlice(rng, n, 1), randSlice(rng, n, 1)
	out, lse = make([]float32, n), make([]float32, g.B*g.H*g.Tq)
	dq, dk, dv = make([]float32, n), make([]float32, n), make([]float32, n)
	return q, k, v, dout, out, lse, dq, dk, dv, keptProbs(g)
}

// keptProbs returns a probabilities buffer where the autograd op keeps
// one (AttentionProbsLen), nil elsewhere.
func keptProbs(g AttentionGeom) []float32 {
	if n := AttentionProbsLen(g); n > 0 {
		return make([]float32, n)
	}
	return nil
}

// BenchmarkAttentionWorkload times forward and backward apart at the
// attention_T workloads' shape (batch 4, 4 heads, head size 64, no mask),
// with the CPU time per op (the figure to compare on a busy machine).
func BenchmarkAttentionWorkload(b *testing.B) {
	for _, T := range []int{256, 1024} {
		g := AttentionGeom{B: 4, H: 4, Tq: T, Tk: T, D: 64, Dv: 64, Scale: 0.125, Overwrite: true}
		q, k, v, dout, out, lse, dq, dk, dv, probs := attnBenchData(g)
		AttentionForward(g, q, k, v, nil, out, lse, probs)
		b.Run(fmt.Sprintf("T=%d/fwd", T), func(b *testing.B) {
			c0 := processCPUSeconds()
			for range b.N {
				AttentionForward(g, q, k, v, nil, out, lse, probs)
			}
			b.ReportMetric((processCPUSeconds()-c0)*1e3/float64(b.N), "cpu-ms/op")
		})
		b.Run(fmt.Sprintf("T=%d/bwd", T), func(b *testing.B) {
			c0 := processCPUSeconds()
			for range b.N {
				AttentionBackward(g, q, k, v, nil, out, lse, probs, dout, dq, dk, dv)
			}
			b.ReportMetric((processCPUSeconds()-c0)*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}
