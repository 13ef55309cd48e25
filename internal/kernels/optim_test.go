package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// optimLens are the awkward lengths every update is tried on; the last two
// are long enough to be split over the worker pool.
var optimLens = []int{0, 1, 7, 8, 9, 31, 1000, 2*optimGrain + 13, 5*optimGrain + 1}

const optimGuard = 8

// guarded returns a slice of n elements at offset off inside a buffer whose
// other elements hold a sentinel, and a function that reports whether the
// sentinels are intact.
func guarded(rng *rand.Rand, n, off int, lo, hi float64) ([]float32, func() bool) {
	const sentinel = float32(-12345.5)
	buf := make([]float32, n+2*optimGuard+off)
	for i := range buf {
		buf[i] = sentinel
	}
	x := buf[optimGuard+off : optimGuard+off+n : optimGuard+off+n]
	for i := range x {
		x[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return x, func() bool {
		for i, v := range buf {
			if (i < optimGuard+off || i >= optimGuard+off+n) && v != sentinel {
				return false
			}
		}
		return true
	}
}

func clone32(x []float32) []float32 {
	if x == nil {
		return nil
	}
	return append([]float32{}, x...)
}

func close32(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); d > tol*(1+math.Abs(w)) || got[i] != got[i] {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], w)
		}
	}
}

func equal32(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, serial reference %v", what, i, got[i], want[i])
		}
	}
}

func TestAdamKernel(t *testing.T) {
	for _, n := range optimLens {
		for _, amsgrad := range []bool{false, true} {
			for _, decay := range []float32{0, 1e-3} {
				t.Run(fmt.Sprintf("n=%d/amsgrad=%v/decay=%v", n, amsgrad, decay), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(n), 3))
					off := n % 4
					p, okP := guarded(rng, n, off, -1, 1)
					g, okG := guarded(rng, n, off+1, -2, 2)
					m, okM := guarded(rng, n, off+2, -0.1, 0.1)
					v, okV := guarded(rng, n, off+3, 0, 0.1)
					var vhat []float32
					okH := func() bool { return true }
					if amsgrad {
						vhat, okH = guarded(rng, n, off, 0, 0.1)
					}
					b1, b2, lr, eps, step := 0.9, 0.999, 0.01, 1e-7, 3.0
					c := AdamCoeffs{
						Beta1: float32(b1), Beta2: float32(b2), C1: float32(1 - b1), C2: float32(1 - b2),
						Alpha: float32(lr * math.Sqrt(1-math.Pow(b2, step)) / (1 - math.Pow(b1, step))),
						Eps:   float32(eps), Decay: decay,
					}
					// plain float64 reference loop, straight from the formula
					wp, wm, wv, wh := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
					for i := range p {
						pi := float64(p[i]) - float64(decay)*float64(p[i])
						wm[i] = b1*float64(m[i]) + (1-b1)*float64(g[i])
						wv[i] = b2*float64(v[i]) + (1-b2)*float64(g[i])*float64(g[i])
						u := wv[i]
						if amsgrad {
							wh[i] = math.Max(float64(vhat[i]), wv[i])
							u = wh[i]
						}
						wp[i] = pi - float64(c.Alpha)*wm[i]/(math.Sqrt(u)+eps)
					}
					sp, sm, sv, sh := clone32(p), clone32(m), clone32(v), clone32(vhat)
					adamSerial(sp, g, sm, sv, sh, c)
					Adam(p, g, m, v, vhat, c)
					if !okP() || !okG() || !okM() || !okV() || !okH() {
						t.Fatal("stray write outside the vectors")
					}
					close32(t, "p", p, wp, 1e-5)
					close32(t, "m", m, wm, 1e-5)
					close32(t, "v", v, wv, 1e-5)
					if amsgrad {
						close32(t, "vhat", vhat, wh, 1e-5)
					}
					equal32(t, "p", p, sp)
					equal32(t, "m", m, sm)
					equal32(t, "v", v, sv)
					equal32(t, "vhat", vhat, sh)
				})
			}
		}
	}
}

func TestSGDKernel(t *testing.T) {
	for _, n := range optimLens {
		for _, mode := range []string{"plain", "momentum", "nesterov"} {
			t.Run(fmt.Sprintf("n=%d/%s", n, mode), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n), 4))
				p, okP := guarded(rng, n, 1, -1, 1)
				g, _ := guarded(rng, n, 2, -1, 1)
				var vel []float32
				okV := func() bool { return true }
				if mode != "plain" {
					vel, okV = guarded(rng, n, 3, -0.1, 0.1)
				}
				lr, mu, decay := float32(0.05), float32(0.9), float32(2e-3)
				wp, wv := make([]float64, n), make([]float64, n)
				for i := range p {
					pi := float64(p[i]) - float64(decay)*float64(p[i])
					gi := float64(g[i])
					switch mode {
					case "plain":
						wp[i] = pi - float64(lr)*gi
					default:
						wv[i] = float64(mu)*float64(vel[i]) - float64(lr)*gi
						if mode == "nesterov" {
							wp[i] = pi + float64(mu)*wv[i] - float64(lr)*gi
						} else {
							wp[i] = pi + wv[i]
						}
					}
				}
				sp, sv := clone32(p), clone32(vel)
				sgdSerial(sp, g, sv, lr, mu, decay, mode == "nesterov")
				SGD(p, g, vel, lr, mu, decay, mode == "nesterov")
				if !okP() || !okV() {
					t.Fatal("stray write outside the vectors")
				}
				close32(t, "p", p, wp, 1e-5)
				if vel != nil {
					close32(t, "vel", vel, wv, 1e-5)
				}
				equal32(t, "p", p, sp)
				equal32(t, "vel", vel, sv)
			})
		}
	}
}

func TestRMSpropKernel(t *testing.T) {
	for _, n := range optimLens {
		for _, centered := range []bool{false, true} {
			for _, momentum := range []bool{false, true} {
				t.Run(fmt.Sprintf("n=%d/centered=%v/momentum=%v", n, centered, momentum), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(n), 5))
					p, okP := guarded(rng, n, 0, -1, 1)
					g, _ := guarded(rng, n, 1, -1, 1)
					ms, okS := guarded(rng, n, 2, 0.5, 1)
					var mg, mom []float32
					okA, okM := func() bool { return true }, func() bool { return true }
					if centered {
						mg, okA = guarded(rng, n, 3, -0.1, 0.1)
					}
					if momentum {
						mom, okM = guarded(rng, n, 1, -0.1, 0.1)
					}
					rho, lr, eps, mu := 0.9, 0.01, 1e-7, 0.5
					c := RMSpropCoeffs{Rho: float32(rho), C: float32(1 - rho), LR: float32(lr), Eps: float32(eps), Momentum: float32(mu)}
					wp, ws, wa, wm := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
					for i := range p {
						gi := float64(g[i])
						ws[i] = rho*float64(ms[i]) + (1-rho)*gi*gi
						d := ws[i] + eps
						if centered {
							wa[i] = rho*float64(mg[i]) + (1-rho)*gi
							d -= wa[i] * wa[i]
						}
						inc := lr * gi / math.Sqrt(d)
						if momentum {
							wm[i] = mu*float64(mom[i]) + inc
							inc = wm[i]
						}
						wp[i] = float64(p[i]) - inc
					}
					sp, ss, sa, sm := clone32(p), clone32(ms), clone32(mg), clone32(mom)
					rmspropSerial(sp, g, ss, sa, sm, c)
					RMSprop(p, g, ms, mg, mom, c)
					if !okP() || !okS() || !okA() || !okM() {
						t.Fatal("stray write outside the vectors")
					}
					close32(t, "p", p, wp, 1e-5)
					close32(t, "ms", ms, ws, 1e-5)
					if centered {
						close32(t, "mg", mg, wa, 1e-5)
					}
					if momentum {
						close32(t, "mom", mom, wm, 1e-5)
					}
					equal32(t, "p", p, sp)
					equal32(t, "ms", ms, ss)
					equal32(t, "mg", mg, sa)
					equal32(t, "mom", mom, sm)
				})
			}
		}
	}
}

func TestAdagradKernel(t *testing.T) {
	for _, n := range optimLens {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 6))
			p, okP := guarded(rng, n, 3, -1, 1)
			g, _ := guarded(rng, n, 0, -1, 1)
			acc, okA := guarded(rng, n, 1, 0.1, 1)
			lr, eps := 0.01, 1e-7
			wp, wa := make([]float64, n), make([]float64, n)
			for i := range p {
				gi := float64(g[i])
				wa[i] = float64(acc[i]) + gi*gi
				wp[i] = float64(p[i]) - lr*gi/math.Sqrt(wa[i]+eps)
			}
			sp, sa := clone32(p), clone32(acc)
			adagradSerial(sp, g, sa, float32(lr), float32(eps))
			Adagrad(p, g, acc, float32(lr), float32(eps))
			if !okP() || !okA() {
				t.Fatal("stray write outside the vectors")
			}
			close32(t, "p", p, wp, 1e-5)
			close32(t, "acc", acc, wa, 1e-5)
			equal32(t, "p", p, sp)
			equal32(t, "acc", acc, sa)
		})
	}
}

func TestSumSquares(t *testing.T) {
	for _, n := range optimLens {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		x, _ := guarded(rng, n, 1, -3, 3)
		var want float64
		for _, v := range x {
			want += float64(v) * float64(v)
		}
		if got := SumSquares(x); math.Abs(got-want) > 1e-12*(1+want) {
			t.Errorf("n=%d: SumSquares = %v, want %v", n, got, want)
		}
	}
}

func TestOptimKernelsPanicOnShortSlices(t *testing.T) {
	p, short := make([]float32, 4), make([]float32, 3)
	cases := map[string]func(){
		"Adam g":     func() { Adam(p, short, p, p, nil, AdamCoeffs{}) },
		"Adam m nil": func() { Adam(p, p, nil, p, nil, AdamCoeffs{}) },
		"Adam vhat":  func() { Adam(p, p, p, p, short, AdamCoeffs{}) },
		"SGD vel":    func() { SGD(p, p, short, 1, 0, 0, false) },
		"RMSprop":    func() { RMSprop(p, p, short, nil, nil, RMSpropCoeffs{}) },
		"Adagrad":    func() { Adagrad(p, p, short, 1, 0) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestAdamKernelNoAllocs(t *testing.T) {
	n := 4*optimGrain + 5
	p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	c := AdamCoeffs{Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, Alpha: 1e-3, Eps: 1e-7}
	Adam(p, g, m, v, nil, c)
	if a := testing.AllocsPerRun(20, func() { Adam(p, g, m, v, nil, c) }); a != 0 {
		t.Errorf("Adam allocates %v times per call", a)
	}
}

func BenchmarkAdamKernel(b *testing.B) {
	const n = 225034
	p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = float32(i%17) - 8
	}
	c := AdamCoeffs{Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, Alpha: 1e-3, Eps: 1e-7}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(n * 4 * 7)
		for b.Loop() {
			Adam(p, g, m, v, nil, c)
		}
	})
	b.Run("serial", func(b *testing.B) { // the one-thread path of Adam
		b.ReportAllocs()
		b.SetBytes(n * 4 * 7)
		for b.Loop() {
			optimKernels.adam(p, g, m, v, nil, c)
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(n * 4 * 7)
		for b.Loop() {
			adamSerial(p, g, m, v, nil, c)
		}
	})
}

// optimSpecials are the values mixed into the inputs of TestOptimImpls.
var optimSpecials = []float32{
	float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
	math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1e-39, math.MaxFloat32, -math.MaxFloat32,
	1e-30, 1e30, -1e-20,
}

// optimOperands returns k guarded operands of n elements, each at its own
// offset from a 32-byte boundary (off, off+1, ...), with values in
// [lo, hi] and, when specials is set, one in eight drawn from
// optimSpecials; and a function that reports whether every guard is intact.
func optimOperands(rng *rand.Rand, k, n, off int, lo, hi float64, specials bool) ([][]float32, func() bool) {
	xs, oks := make([][]float32, k), make([]func() bool, k)
	for j := range xs {
		xs[j], oks[j] = guarded(rng, n, (off+j)%8, lo, hi)
		if specials {
			for i := range xs[j] {
				if rng.IntN(8) == 0 {
					xs[j][i] = optimSpecials[rng.IntN(len(optimSpecials))]
				}
			}
		}
	}
	return xs, func() bool {
		for _, ok := range oks {
			if !ok() {
				return false
			}
		}
		return true
	}
}

// sameBits fails t unless got and want hold the same bits, except that a
// NaN may stand for any NaN (the payload of a NaN made from two NaNs
// depends on the order of an instruction's operands).
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, reference %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("%s[%d] = %v (%#08x), reference %v (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func cloneAll(xs [][]float32) [][]float32 {
	ys := make([][]float32, len(xs))
	for i, x := range xs {
		ys[i] = clone32(x)
	}
	return ys
}

// optimImplLens adds a long odd length to optimLens.
var optimImplLens = append([]int{100003}, optimLens...)

// TestOptimImpls runs every implementation of every update (optimImpls,
// called directly, one chunk) against the reference loops on awkward
// lengths, unaligned operands, guard regions, every variant, ordinary
// values and values salted with NaN, ±Inf, ±0, subnormals and extremes.
// Results must be bit-identical (a NaN matching any NaN).
func TestOptimImpls(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, impl := range optimImpls {
		for _, n := range optimImplLens {
			for off := range 4 {
				if n > 1000 && off != 3 {
					continue // the long lengths: one unaligned offset is enough
				}
				for _, specials := range []bool{false, true} {
					name := fmt.Sprintf("%s/n=%d/off=%d/specials=%v", impl.name, n, off, specials)
					seed := uint64(n*8 + off*2)
					if specials {
						seed++
					}
					t.Run(name+"/adam", func(t *testing.T) {
						for _, amsgrad := range []bool{false, true} {
							for _, decay := range []float32{0, negZero, 1e-3} {
								rng := rand.New(rand.NewPCG(seed, 11))
								xs, ok := optimOperands(rng, 5, n, off, -1, 1, specials)
								p, g, m, v, vhat := xs[0], xs[1], xs[2], xs[3], xs[4]
								for i := range v {
									v[i] = float32(math.Abs(float64(v[i]))) // mostly; specials keep a negative or two
									if specials && rng.IntN(64) == 0 {
										v[i] = -v[i]
									}
								}
								if !amsgrad {
									vhat = nil
								}
								c := AdamCoeffs{Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, Alpha: 1e-3, Eps: 1e-7, Decay: decay}
								r := cloneAll([][]float32{p, m, v, vhat})
								adamSerial(r[0], g, r[1], r[2], r[3], c)
								impl.adam(p, g, m, v, vhat, c)
								if !ok() {
									t.Fatalf("amsgrad=%v decay=%v: stray write outside the vectors", amsgrad, decay)
								}
								what := fmt.Sprintf("amsgrad=%v decay=%v: ", amsgrad, decay)
								sameBits(t, what+"p", p, r[0])
								sameBits(t, what+"m", m, r[1])
								sameBits(t, what+"v", v, r[2])
								sameBits(t, what+"vhat", vhat, r[3])
							}
						}
					})
					t.Run(name+"/sgd", func(t *testing.T) {
						for _, mode := range []string{"plain", "momentum", "nesterov"} {
							for _, decay := range []float32{0, negZero, 2e-3} {
								rng := rand.New(rand.NewPCG(seed, 12))
								xs, ok := optimOperands(rng, 3, n, off, -1, 1, specials)
								p, g, vel := xs[0], xs[1], xs[2]
								if mode == "plain" {
									vel = nil
								}
								r := cloneAll([][]float32{p, vel})
								sgdSerial(r[0], g, r[1], 0.05, 0.9, decay, mode == "nesterov")
								impl.sgd(p, g, vel, 0.05, 0.9, decay, mode == "nesterov")
								if !ok() {
									t.Fatalf("%s decay=%v: stray write outside the vectors", mode, decay)
								}
								what := fmt.Sprintf("%s decay=%v: ", mode, decay)
								sameBits(t, what+"p", p, r[0])
								sameBits(t, what+"vel", vel, r[1])
							}
						}
					})
					t.Run(name+"/rmsprop", func(t *testing.T) {
						for _, centered := range []bool{false, true} {
							for _, momentum := range []bool{false, true} {
								rng := rand.New(rand.NewPCG(seed, 13))
								xs, ok := optimOperands(rng, 5, n, off, -1, 1, specials)
								p, g, ms, mg, mom := xs[0], xs[1], xs[2], xs[3], xs[4]
								for i := range ms {
									ms[i] = float32(math.Abs(float64(ms[i])))
								}
								if !centered {
									mg = nil
								}
								if !momentum {
									mom = nil
								}
								c := RMSpropCoeffs{Rho: 0.9, C: 0.1, LR: 0.01, Eps: 1e-7, Momentum: 0.5}
								r := cloneAll([][]float32{p, ms, mg, mom})
								rmspropSerial(r[0], g, r[1], r[2], r[3], c)
								impl.rmsprop(p, g, ms, mg, mom, c)
								if !ok() {
									t.Fatalf("centered=%v momentum=%v: stray write outside the vectors", centered, momentum)
								}
								what := fmt.Sprintf("centered=%v momentum=%v: ", centered, momentum)
								sameBits(t, what+"p", p, r[0])
								sameBits(t, what+"ms", ms, r[1])
								sameBits(t, what+"mg", mg, r[2])
								sameBits(t, what+"mom", mom, r[3])
							}
						}
					})
					t.Run(name+"/adagrad", func(t *testing.T) {
						rng := rand.New(rand.NewPCG(seed, 14))
						xs, ok := optimOperands(rng, 3, n, off, -1, 1, specials)
						p, g, acc := xs[0], xs[1], xs[2]
						for i := range acc {
							acc[i] = float32(math.Abs(float64(acc[i])))
						}
						r := cloneAll([][]float32{p, acc})
						adagradSerial(r[0], g, r[1], 0.01, 1e-7)
						impl.adagrad(p, g, acc, 0.01, 1e-7)
						if !ok() {
							t.Fatal("stray write outside the vectors")
						}
						sameBits(t, "p", p, r[0])
						sameBits(t, "acc", acc, r[1])
					})
				}
			}
		}
	}
}

// TestOptimImplsRepeated runs 50 Adam steps with every implementation on
// the same state, as a training run does, and checks that the states stay
// bit-identical to the reference loop's (the checkpoint-resume property).
func TestOptimImplsRepeated(t *testing.T) {
	const n, steps = 1003, 50
	for _, impl := range optimImpls {
		for _, amsgrad := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(1, 15))
			p, m, v, vhat := make([]float32, n), make([]float32, n), make([]float32, n), []float32(nil)
			if amsgrad {
				vhat = make([]float32, n)
			}
			for i := range p {
				p[i] = float32(rng.NormFloat64())
			}
			r := cloneAll([][]float32{p, m, v, vhat})
			g := make([]float32, n)
			for step := 1; step <= steps; step++ {
				for i := range g {
					g[i] = float32(rng.NormFloat64() * 0.1)
				}
				a := 1e-3 * math.Sqrt(1-math.Pow(0.999, float64(step))) / (1 - math.Pow(0.9, float64(step)))
				c := AdamCoeffs{Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, Alpha: float32(a), Eps: 1e-7, Decay: 1e-5}
				adamSerial(r[0], g, r[1], r[2], r[3], c)
				impl.adam(p, g, m, v, vhat, c)
			}
			what := fmt.Sprintf("%s amsgrad=%v: ", impl.name, amsgrad)
			equal32(t, what+"p", p, r[0])
			equal32(t, what+"m", m, r[1])
			equal32(t, what+"v", v, r[2])
			equal32(t, what+"vhat", vhat, r[3])
		}
	}
}

// TestOptimImplsPanicOnShortSlices checks that every implementation, not
// only the exported entry points, refuses a short operand instead of
// reading or writing past it.
func TestOptimImplsPanicOnShortSlices(t *testing.T) {
	p, short := make([]float32, 17), make([]float32, 16)
	for _, impl := range optimImpls {
		cases := map[string]func(){
			"adam g":      func() { impl.adam(p, short, p, p, nil, AdamCoeffs{}) },
			"adam vhat":   func() { impl.adam(p, p, p, p, short, AdamCoeffs{}) },
			"sgd vel":     func() { impl.sgd(p, p, short, 1, 0.9, 0, false) },
			"rmsprop mom": func() { impl.rmsprop(p, p, p, nil, short, RMSpropCoeffs{}) },
			"adagrad acc": func() { impl.adagrad(p, p, short, 1, 0) },
		}
		for name, f := range cases {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s: %s: no panic", impl.name, name)
					}
				}()
				f()
			}()
		}
	}
}

func TestOptimImplsNoAllocs(t *testing.T) {
	const n = 1003
	p, g, m, v, h := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for _, impl := range optimImpls {
		a := testing.AllocsPerRun(20, func() {
			impl.adam(p, g, m, v, h, AdamCoeffs{Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, Alpha: 1e-3, Eps: 1e-7, Decay: 1e-4})
			impl.sgd(p, g, m, 0.1, 0.9, 1e-4, true)
			impl.rmsprop(p, g, m, v, h, RMSpropCoeffs{Rho: 0.9, C: 0.1, LR: 1e-3, Eps: 1e-7, Momentum: 0.9})
			impl.adagrad(p, g, m, 0.1, 1e-7)
		})
		if a != 0 {
			t.Errorf("%s allocates %v times per round", impl.name, a)
		}
	}
}

// BenchmarkOptimImpls times one update of every implementation on one
// thread (no pool) at 225,034 elements (the size of BenchmarkAdamStep in
// package optim; 6 MB of Adam state, beyond L2) and at 16,384 (in L2).
// Bytes are those read and written once per element.
func BenchmarkOptimImpls(b *testing.B) {
	for _, n := range []int{225034, 16384} {
		rng := rand.New(rand.NewPCG(1, 16))
		xs, _ := optimOperands(rng, 5, n, 0, 0, 1, false)
		p, g, s1, s2, s3 := xs[0], xs[1], xs[2], xs[3], xs[4]
		for i := range g {
			g[i] -= 0.5
		}
		ac := AdamCoeffs{Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, Alpha: 1e-7, Eps: 1e-7}
		rc := RMSpropCoeffs{Rho: 0.9, C: 0.1, LR: 1e-7, Eps: 1e-7, Momentum: 0.9}
		for _, impl := range optimImpls {
			bench := func(name string, bytesPerElem int, f func()) {
				b.Run(fmt.Sprintf("%s/n=%d/%s", name, n, impl.name), func(b *testing.B) {
					b.ReportAllocs()
					b.SetBytes(int64(n * bytesPerElem))
					for b.Loop() {
						f()
					}
				})
			}
			bench("adam", 28, func() { impl.adam(p, g, s1, s2, nil, ac) })
			bench("adamw-amsgrad", 36, func() {
				c := ac
				c.Decay = 1e-9
				impl.adam(p, g, s1, s2, s3, c)
			})
			bench("sgd", 12, func() { impl.sgd(p, g, nil, 1e-7, 0, 0, false) })
			bench("sgd-momentum", 20, func() { impl.sgd(p, g, s1, 1e-7, 0.9, 0, false) })
			bench("rmsprop", 20, func() { impl.rmsprop(p, g, s1, nil, nil, rc) })
			bench("adagrad", 20, func() { impl.adagrad(p, g, s1, 1e-7, 1e-7) })
		}
	}
}

// TestAdamFlushesSubnormalMoments checks that moments decaying into the
// subnormal range become zero, in the reference and in every
// implementation, so that they cannot slow the update down.
func TestAdamFlushesSubnormalMoments(t *testing.T) {
	n := 37
	c := AdamCoeffs{Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, Alpha: 1e-3, Eps: 1e-7}
	for _, impl := range []func(p, g, m, v, vhat []float32, c AdamCoeffs){adamSerial, Adam} {
		p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range m {
			m[i], v[i] = 1.2e-38, 1.176e-38 // normal now, subnormal after one decay
		}
		impl(p, g, m, v, nil, c)
		for i := range m {
			if m[i] != 0 || v[i] != 0 {
				t.Fatalf("m[%d], v[%d] = %g, %g after decaying below 2⁻¹²⁶, want 0", i, i, m[i], v[i])
			}
		}
	}
}

// TestSGDFlushesSubnormalVelocity is the momentum counterpart of
// TestAdamFlushesSubnormalMoments.
func TestSGDFlushesSubnormalVelocity(t *testing.T) {
	n := 37
	for _, nesterov := range []bool{false, true} {
		for _, impl := range []func(p, g, vel []float32, lr, momentum, decay float32, nesterov bool){sgdSerial, SGD} {
			p, g, vel := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range vel {
				vel[i] = 1.2e-38 // normal now, subnormal after one decay
			}
			impl(p, g, vel, 0.01, 0.9, 0, nesterov)
			for i, v := range vel {
				if v != 0 {
					t.Fatalf("nesterov %v: vel[%d] = %g after decaying below 2⁻¹²⁶, want 0", nesterov, i, v)
				}
			}
		}
	}
}

// TestRMSpropFlushesSubnormalState is the RMSprop counterpart of
// TestAdamFlushesSubnormalMoments: the mean square, the mean gradient
// (centered) and the momentum buffer.
func TestRMSpropFlushesSubnormalState(t *testing.T) {
	n := 37
	c := RMSpropCoeffs{Rho: 0.9, C: 0.1, LR: 1e-3, Eps: 1e-7, Momentum: 0.9}
	for _, impl := range []func(p, g, ms, mg, mom []float32, c RMSpropCoeffs){rmspropSerial, RMSprop} {
		p, g, ms, mg, mom := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range ms {
			ms[i], mg[i], mom[i] = 1.2e-38, 1.2e-38, 1.2e-38 // normal now, subnormal after one decay
		}
		impl(p, g, ms, mg, mom, c)
		for i := range ms {
			if ms[i] != 0 || mg[i] != 0 || mom[i] != 0 {
				t.Fatalf("ms, mg, mom[%d] = %g, %g, %g after decaying below 2⁻¹²⁶, want 0", i, ms[i], mg[i], mom[i])
			}
		}
	}
}
