package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// gemmImpl is one way of running Sgemm that the tests compare with sgemmRef.
type gemmImpl struct {
	name string
	run  func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// gemmImpls lists every kernel, on 1, 2 and 3 threads, with its own blocking
// and with a tiny one that drives every loop of the blocked algorithm
// through several iterations and partial blocks even on small shapes.
func gemmImpls() []gemmImpl {
	var impls []gemmImpl
	for _, kern := range gemmKernels {
		tiny := *kern
		tiny.name += "_tinyblocks"
		tiny.mc, tiny.kc, tiny.nc = 2*kern.mr, 5, 3*kern.nr
		for _, kk := range []*gemmKernel{kern, &tiny} {
			for _, threads := range []int{1, 2, 3} {
				for _, plan := range []*gemmPlan{nil, {true, true}, {false, false}, {true, false}, {false, true}} {
					pname := "auto"
					if plan != nil {
						pname = fmt.Sprintf("packA=%v,packB=%v", plan.packA, plan.packB)
					}
					impls = append(impls, gemmImpl{
						name: fmt.Sprintf("%s/threads=%d/%s", kk.name, threads, pname),
						run: func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
							sgemm(kk, threads, plan, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
						},
					})
				}
			}
		}
	}
	impls = append(impls, gemmImpl{name: "Sgemm", run: Sgemm})
	return impls
}

type gemmCase struct {
	transA, transB   bool
	m, n, k          int
	alpha, beta      float32
	padA, padB, padC int // extra leading-dimension elements
	offA, offB, offC int // where each matrix starts in its buffer
	seed             uint64
}

func (cs gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s m=%d n=%d k=%d alpha=%g beta=%g pad=%d,%d,%d off=%d,%d,%d",
		t(cs.transA), t(cs.transB), cs.m, cs.n, cs.k, cs.alpha, cs.beta,
		cs.padA, cs.padB, cs.padC, cs.offA, cs.offB, cs.offC)
}

const (
	gemmGuardValue = -12345.678
	gemmGuardLen   = 37
)

// gemmFixture is a case's inputs and the reference result, computed once
// and shared by every implementation checked against it.
type gemmFixture struct {
	cs            gemmCase
	lda, ldb, ldc int
	a, b          []float32 // inputs, at their offsets inside guarded buffers
	cbuf          []float32 // C's initial buffer: guard, C, guard
	want          []float32 // sgemmRef's C
	tol           []float64 // allowed error per element of C
}

func (cs gemmCase) fixture() *gemmFixture {
	rng := rand.New(rand.NewPCG(cs.seed, 7))
	ar, ac := cs.m, cs.k
	if cs.transA {
		ar, ac = ac, ar
	}
	br, bc := cs.k, cs.n
	if cs.transB {
		br, bc = bc, br
	}
	f := &gemmFixture{cs: cs, lda: max(ac+cs.padA, 1), ldb: max(bc+cs.padB, 1), ldc: max(cs.n+cs.padC, 1)}
	fill := func(rows, ld, off int) (buf, mat []float32) {
		buf = make([]float32, off+rows*ld+gemmGuardLen)
		for i := range buf {
			buf[i] = gemmGuardValue
		}
		mat = buf[off : off+rows*ld]
		for i := range mat {
			mat[i] = rng.Float32()*2 - 1
		}
		return buf, mat
	}
	_, f.a = fill(ar, f.lda, cs.offA)
	_, f.b = fill(br, f.ldb, cs.offB)
	var c []float32
	f.cbuf, c = fill(cs.m, f.ldc, gemmGuardLen+cs.offC)
	for i := 0; i < cs.m; i++ {
		for j := 0; j < f.ldc; j++ {
			switch {
			case j >= cs.n:
				c[i*f.ldc+j] = gemmGuardValue // C's padding must stay untouched
			case cs.beta == 0:
				c[i*f.ldc+j] = float32(math.NaN()) // must not be read
			}
		}
	}
	f.want = append([]float32(nil), c...)
	sgemmRef(cs.transA, cs.transB, cs.m, cs.n, cs.k, cs.alpha, f.a, f.lda, f.b, f.ldb, cs.beta, f.want, f.ldc)
	opA := func(i, p int) float64 {
		if cs.transA {
			return float64(f.a[p*f.lda+i])
		}
		return float64(f.a[i*f.lda+p])
	}
	opB := func(p, j int) float64 {
		if cs.transB {
			return float64(f.b[j*f.ldb+p])
		}
		return float64(f.b[p*f.ldb+j])
	}
	f.tol = make([]float64, len(c))
	for i := 0; i < cs.m; i++ {
		for j := 0; j < cs.n; j++ {
			var mag float64
			for p := 0; p < cs.k; p++ {
				mag += math.Abs(opA(i, p) * opB(p, j))
			}
			mag = math.Abs(float64(cs.alpha))*mag + math.Abs(float64(cs.beta))
			f.tol[i*f.ldc+j] = 1e-5*float64(max(cs.k, 1))*mag + 1e-30
		}
	}
	return f
}

// check runs impl on the fixture and compares it with sgemmRef: within
// 1e-5·k relative to the sum of magnitudes, C's padding and the guard
// regions before and after C untouched, A and B unchanged.
func (f *gemmFixture) check(impl gemmImpl) error {
	cs := f.cs
	a, b := append([]float32(nil), f.a...), append([]float32(nil), f.b...)
	// Put A and B at their offsets again (an odd offset is the point).
	a = append(make([]float32, cs.offA, cs.offA+len(a)), a...)[cs.offA:]
	b = append(make([]float32, cs.offB, cs.offB+len(b)), b...)[cs.offB:]
	cbuf := append([]float32(nil), f.cbuf...)
	c0 := gemmGuardLen + cs.offC
	c := cbuf[c0 : c0+len(f.want)]
	impl.run(cs.transA, cs.transB, cs.m, cs.n, cs.k, cs.alpha, a, f.lda, b, f.ldb, cs.beta, c, f.ldc)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(f.a[i]) {
			return fmt.Errorf("A changed at %d", i)
		}
	}
	for i := range b {
		if math.Float32bits(b[i]) != math.Float32bits(f.b[i]) {
			return fmt.Errorf("B changed at %d", i)
		}
	}
	for i := 0; i < c0; i++ {
		if cbuf[i] != gemmGuardValue {
			return fmt.Errorf("write before C at %d", i-c0)
		}
	}
	for i := c0 + len(c); i < len(cbuf); i++ {
		if cbuf[i] != gemmGuardValue {
			return fmt.Errorf("write after C at +%d", i-c0-len(c))
		}
	}
	for i := 0; i < cs.m; i++ {
		for j := 0; j < f.ldc; j++ {
			got, w := c[i*f.ldc+j], f.want[i*f.ldc+j]
			if j >= cs.n {
				if got != gemmGuardValue {
					return fmt.Errorf("write to C's padding at (%d, %d)", i, j)
				}
				continue
			}
			tol := f.tol[i*f.ldc+j]
			if d := math.Abs(float64(got) - float64(w)); !(d <= tol) {
				return fmt.Errorf("C(%d, %d) = %g, want %g (diff %g, tol %g)", i, j, got, w, d, tol)
			}
		}
	}
	return nil
}

func TestSgemmAgainstReference(t *testing.T) {
	small := []int{0, 1, 7, 8, 9, 31}
	var cases []gemmCase
	seed := uint64(1)
	ab := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {2.5, 0}}
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for _, m := range small {
				for _, n := range small {
					for _, k := range small {
						seed++
						p := ab[int(seed)%len(ab)]
						cases = append(cases, gemmCase{transA: tA, transB: tB, m: m, n: n, k: k,
							alpha: p[0], beta: p[1],
							padA: int(seed % 3), padB: int(seed / 3 % 3), padC: int(seed / 9 % 3),
							offA: int(seed % 2), offB: int(seed / 2 % 2), offC: int(seed / 4 % 2), seed: seed})
					}
				}
			}
			for _, s := range [][3]int{{129, 67, 300}, {37, 263, 257}, {301, 5, 17}, {3, 301, 101}, {64, 64, 64}, {100, 113, 9},
				{1, 300, 129}, {300, 1, 129}, {129, 300, 1}, {70, 1, 64}, {64, 80, 1}} { // the last five: sgemmThin or not
				for _, p := range ab {
					seed++
					cases = append(cases, gemmCase{transA: tA, transB: tB, m: s[0], n: s[1], k: s[2],
						alpha: p[0], beta: p[1], padA: 5, padB: 1, padC: 3, offA: 1, offB: 3, offC: 1, seed: seed})
				}
			}
		}
	}
	fixtures := make([]*gemmFixture, len(cases))
	for i, cs := range cases {
		fixtures[i] = cs.fixture()
	}
	for _, impl := range gemmImpls() {
		t.Run(impl.name, func(t *testing.T) {
			fails := 0
			for _, f := range fixtures {
				if err := f.check(impl); err != nil {
					t.Errorf("%v: %v", f.cs, err)
					if fails++; fails > 5 {
						t.FailNow()
					}
				}
			}
		})
	}
}

// TestSgemmMicroKernels compares every micro-kernel (every row count, and
// every masked edge kernel at several widths) with its pure-Go twin on the
// same inputs, with packed and in-place strides for A and B, odd offsets,
// and guard values around and inside C's rows.
func TestSgemmMicroKernels(t *testing.T) {
	type microCase struct {
		name   string
		mr, nr int
		run    microKernel
	}
	var cases []microCase
	for _, kern := range gemmKernels {
		for r, f := range kern.rows {
			cases = append(cases, microCase{fmt.Sprintf("%s/rows=%d", kern.name, r+1), r + 1, kern.nr, f})
		}
		for r, fs := range kern.edge {
			for v, f := range fs {
				for _, n := range []int{v*kern.edgeW + 1, v*kern.edgeW + 7, (v + 1) * kern.edgeW} {
					if n >= kern.nr {
						continue
					}
					cases = append(cases, microCase{fmt.Sprintf("%s/rows=%d/n=%d", kern.name, r+1, n), r + 1, n,
						func(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32) {
							f(k, a, rsa, csa, b, csb, c, ldc, alpha, beta, n)
						}})
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, mc := range cases {
		mr, nr := mc.mr, mc.nr
		for _, k := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 100} {
			for _, layout := range []string{"packed", "transA", "rowA"} {
				for _, ab := range [][2]float32{{1, 0}, {-0.5, 1.5}} {
					rsa, csa := 1, mr
					switch layout {
					case "transA":
						rsa, csa = 1, mr+3
					case "rowA":
						rsa, csa = k+2, 1
					}
					csb := nr + k%3
					a := gemmRandSlice(rng, 2+(mr-1)*rsa+max(k-1, 0)*csa)
					b := gemmRandSlice(rng, 2+max(k-1, 0)*csb+nr)
					ldc := nr + 3
					const g = 16
					c1 := gemmRandSlice(rng, g+mr*ldc+g)
					c2 := append([]float32(nil), c1...)
					// Odd offsets: the kernels must not assume alignment.
					mc.run(k, &a[1], rsa, csa, &b[1], csb, &c1[g], ldc, ab[0], ab[1])
					sgemmMicroRef(mr, nr, k, &a[1], rsa, csa, &b[1], csb, &c2[g], ldc, ab[0], ab[1])
					for i := range c1 {
						r, j := (i-g)/ldc, (i-g)%ldc
						inTile := i >= g && r < mr && j < nr
						if !inTile {
							if c1[i] != c2[i] {
								t.Fatalf("%s k=%d %s: write outside the tile at %d", mc.name, k, layout, i-g)
							}
							continue
						}
						if d := math.Abs(float64(c1[i] - c2[i])); d > 1e-5*float64(k+1)*4 {
							t.Fatalf("%s k=%d %s alpha,beta=%v: C(%d,%d) = %g, twin %g", mc.name, k, layout, ab, r, j, c1[i], c2[i])
						}
					}
				}
			}
		}
	}
}

func TestTranspose8(t *testing.T) {
	impl := archTranspose8()
	if impl == nil {
		t.Skip("no assembly transpose")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n8 := range []int{0, 1, 2, 5} {
		lds, ldd := 8*n8+3, 11
		src := gemmRandSlice(rng, 1+7*lds+8*n8)
		d1 := gemmRandSlice(rng, 2+max(8*n8-1, 0)*ldd+8+16)
		d2 := append([]float32(nil), d1...)
		impl(&d1[2], ldd, &src[1], lds, n8)
		transpose8Go(&d2[2], ldd, &src[1], lds, n8)
		for i := range d1 {
			if d1[i] != d2[i] {
				t.Fatalf("n8=%d: dst[%d] = %g, twin %g", n8, i-2, d1[i], d2[i])
			}
		}
	}
}

func gemmRandSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// TestSgemmDeterministic checks that the thread count does not change a
// single bit of the result, also for one row of A times B in place (a
// dense layer on one sample, split along N: gemmRowParallelFlops).
func TestSgemmDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][3]int{{32, 64, 784}, {301, 97, 300}, {5, 1000, 50}, {620, 64, 40}, {40, 1100, 30}, {1, 130, 1600}, {-1, 200, 700}} {
		m, n, k := s[0], s[1], s[2]
		transB, ldb := true, k
		if m < 0 { // B in place
			m, transB, ldb = -m, false, n
		}
		a, b := gemmRandSlice(rng, m*k), gemmRandSlice(rng, k*n)
		for _, kern := range gemmKernels {
			var first []float32
			for _, threads := range []int{1, 2, 3, 4} {
				c := make([]float32, m*n)
				sgemm(kern, threads, nil, false, transB, m, n, k, 1, a, k, b, ldb, 0, c, n)
				if first == nil {
					first = c
					continue
				}
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
						t.Fatalf("%s %v: threads=%d differs at %d", kern.name, s, threads, i)
					}
				}
			}
		}
	}
}

func TestSgemmNoAllocs(t *testing.T) {
	m, n, k := 32, 64, 784
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) // warm the pools
	if allocs := testing.AllocsPerRun(50, func() {
		Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	}); allocs > 0 {
		t.Errorf("Sgemm allocates %v times per call", allocs)
	}
	// At 2 threads (and B packed).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	m, n, k = 300, 400, 128
	a, b, c = make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	Sgemm(false, false, m, n, k, 1, a, k, b, n, 1, c, n)
	if allocs := testing.AllocsPerRun(20, func() {
		Sgemm(false, false, m, n, k, 1, a, k, b, n, 1, c, n)
	}); allocs > 0 {
		t.Errorf("Sgemm at 2 threads allocates %v times per call", allocs)
	}
}

func TestSgemmPanicsOnShortSlices(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Sgemm(false, false, 4, 4, 4, 1, make([]float32, 15), 4, make([]float32, 16), 4, 0, make([]float32, 16), 4)
}

func FuzzSgemm(f *testing.F) {
	f.Add(uint8(7), uint8(9), uint8(31), false, true, float32(1), float32(0), uint8(0), uint64(1))
	f.Add(uint8(33), uint8(65), uint8(200), true, false, float32(-2), float32(0.5), uint8(3), uint64(2))
	f.Add(uint8(1), uint8(1), uint8(1), true, true, float32(1), float32(1), uint8(1), uint64(3))
	impls := gemmImpls()
	f.Fuzz(func(t *testing.T, m, n, k uint8, transA, transB bool, alpha, beta float32, pad uint8, seed uint64) {
		if math.IsNaN(float64(alpha)) || math.IsInf(float64(alpha), 0) || math.Abs(float64(alpha)) > 1e3 ||
			math.IsNaN(float64(beta)) || math.IsInf(float64(beta), 0) || math.Abs(float64(beta)) > 1e3 {
			t.Skip()
		}
		cs := gemmCase{transA: transA, transB: transB, m: int(m), n: int(n), k: int(k), alpha: alpha, beta: beta,
			padA: int(pad % 4), padB: int(pad / 4 % 4), padC: int(pad / 16 % 4),
			offA: int(pad % 3), offB: int(pad / 3 % 3), offC: int(pad / 9 % 3), seed: seed}
		f := cs.fixture()
		for _, impl := range impls {
			if err := f.check(impl); err != nil {
				t.Fatalf("%s: %v: %v", impl.name, cs, err)
			}
		}
	})
}

var gemmBenchShapes = [][3]int{ // M, K, N
	{1024, 1024, 1024},
	{32, 784, 64},
	{128, 784, 400},
	{6272, 288, 64},
}

// BenchmarkSgemm measures C = A·B (no transposes) at the shapes of the
// PyTorch comparison (names are MxKxN) on Threads() threads (GOMAXPROCS);
// BenchmarkSgemm1Thread runs the same on one. The "threads" metric shows
// the count used.
func BenchmarkSgemm(b *testing.B) { benchSgemmShapes(b, 0) }

func BenchmarkSgemm1Thread(b *testing.B) { benchSgemmShapes(b, 1) }

func benchSgemmShapes(b *testing.B, threads int) {
	for _, s := range gemmBenchShapes {
		m, k, n := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			// Set here, in the leaf: the testing package resets
			// GOMAXPROCS (to its -cpu value) before each benchmark.
			if threads > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
			}
			benchGemm(b, false, false, m, n, k, Sgemm)
		})
	}
}

// BenchmarkSgemmMNIST measures the three products of a Dense(784→64)
// layer at batch 32: forward x·W, backward dX = dY·Wᵀ and dW = Xᵀ·dY.
func BenchmarkSgemmMNIST(b *testing.B) {
	b.Run("fwd_NN", func(b *testing.B) { benchGemm(b, false, false, 32, 64, 784, Sgemm) })
	b.Run("dx_NT", func(b *testing.B) { benchGemm(b, false, true, 32, 784, 64, Sgemm) })
	b.Run("dw_TN", func(b *testing.B) { benchGemm(b, true, false, 784, 64, 32, Sgemm) })
	b.Run("lstm_64x128x512", func(b *testing.B) { benchGemm(b, false, false, 64, 512, 128, Sgemm) })
}

// BenchmarkSgemmKernels runs every kernel and packing plan on one thread,
// for tuning: -bench 'SgemmKernels/avx512_6x64/NN_32x784x64'.
func BenchmarkSgemmKernels(b *testing.B) {
	type shape struct {
		transA, transB bool
		m, k, n        int
	}
	var shapes []shape
	for _, s := range gemmBenchShapes {
		shapes = append(shapes, shape{false, false, s[0], s[1], s[2]})
	}
	shapes = append(shapes,
		shape{true, false, 1024, 1024, 1024}, shape{false, true, 1024, 1024, 1024},
		shape{false, true, 32, 64, 784}, shape{true, false, 784, 32, 64}, shape{false, false, 64, 128, 512})
	for _, kern := range gemmKernels {
		for _, s := range shapes {
			for _, plan := range []*gemmPlan{nil, {true, true}, {false, false}, {true, false}, {false, true}} {
				if s.transB && plan != nil && !plan.packB {
					continue // a transposed B is always packed
				}
				pname := "auto"
				if plan != nil {
					pname = fmt.Sprintf("pA%v_pB%v", gemmB2i(plan.packA), gemmB2i(plan.packB))
				}
				tr := string("NT"[gemmB2i(s.transA)]) + string("NT"[gemmB2i(s.transB)])
				b.Run(fmt.Sprintf("%s/%s_%dx%dx%d/%s", kern.name, tr, s.m, s.k, s.n, pname), func(b *testing.B) {
					benchGemm(b, s.transA, s.transB, s.m, s.n, s.k, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
						sgemm(kern, 1, plan, transA, transB, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
					})
				})
			}
		}
	}
}

func gemmB2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func benchGemm(b *testing.B, transA, transB bool, m, n, k int, run func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
	lda := k
	if transA {
		lda = m
	}
	benchGemmLda(b, transA, transB, m, n, k, lda, run)
}

// benchGemmLda is benchGemm with A's leading dimension lda.
func benchGemmLda(b *testing.B, transA, transB bool, m, n, k, lda int, run func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := m
	if transA {
		rows = k
	}
	a, bb, c := gemmRandSlice(rng, rows*lda), gemmRandSlice(rng, k*n), make([]float32, m*n)
	ldb := n
	if transB {
		ldb = k
	}
	b.ReportAllocs()
	run(transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	b.ResetTimer()
	cpu := processCPUSeconds()
	for b.Loop() {
		run(transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := processCPUSeconds() - cpu; cpu > 0 {
		// Per CPU second: at one thread, the kernel's speed while it ran.
		b.ReportMetric(flops/cpu/1e9, "GFLOP/cpu-s")
	}
	b.ReportMetric(float64(Threads()), "threads")
}

func TestSgemmBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, s := range [][3]int{{0, 3, 4}, {3, 0, 4}, {5, 7, 0}, {32, 64, 784}, {7, 70, 9}} {
		m, n, k := s[0], s[1], s[2]
		a, b, bias := gemmRandSlice(rng, m*k), gemmRandSlice(rng, k*n), gemmRandSlice(rng, n)
		ldc := n + 2
		c := make([]float32, m*ldc)
		for i := range c {
			c[i] = float32(math.NaN()) // overwritten, never read
		}
		want := make([]float32, m*ldc)
		for i := 0; i < m; i++ {
			copy(want[i*ldc:], bias)
		}
		sgemmRef(false, false, m, n, k, 1, a, k, b, n, 1, want, ldc)
		SgemmBias(false, false, m, n, k, a, k, b, n, bias, c, ldc)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				if d := math.Abs(float64(c[i*ldc+j] - want[i*ldc+j])); !(d <= 1e-5*float64(k+1)) {
					t.Fatalf("%v: C(%d, %d) = %g, want %g", s, i, j, c[i*ldc+j], want[i*ldc+j])
				}
			}
		}
	}
}

// gemmShape is a named product C[m×n] = op(A)[m×k]·op(B)[k×n].
type gemmShape struct {
	name           string
	transA, transB bool
	m, k, n        int
}

// benchGemmPlans runs s on Threads() threads with the automatic packing
// plan and with each forced one (packing B is required when B is
// transposed), A's rows lda apart (0: dense).
func benchGemmPlans(b *testing.B, s gemmShape, lda int) {
	if lda == 0 {
		lda = s.k
		if s.transA {
			lda = s.m
		}
	}
	for _, plan := range []*gemmPlan{nil, {true, true}, {false, false}, {true, false}, {false, true}} {
		if s.transB && plan != nil && !plan.packB {
			continue
		}
		pname := "auto"
		if plan != nil {
			pname = fmt.Sprintf("pA%v_pB%v", gemmB2i(plan.packA), gemmB2i(plan.packB))
		}
		b.Run(s.name+"/"+pname, func(b *testing.B) {
			benchGemmLda(b, s.transA, s.transB, s.m, s.n, s.k, lda, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
				sgemm(gemmBest, Threads(), plan, transA, transB, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
			})
		})
	}
}

// BenchmarkSgemmDCGAN measures the products of a DCGAN step (batch 64)
// with each packing plan on Threads() threads: the discriminator's conv2
// (4×4, stride 2, 64→128 channels over 64·7·7 outputs) forward im2col·W,
// input gradient dY·Wᵀ and weight gradient colsᵀ·dY (the generator's
// convt1 runs the same three), conv1's weight gradient and the generator's
// dense weight gradient; patch matrices are read with PatchStride's row
// stride, as im2col lays them out.
func BenchmarkSgemmDCGAN(b *testing.B) {
	for _, c := range []struct {
		gemmShape
		lda int // A's row stride: PatchStride for a patch matrix, 0 dense
	}{
		{gemmShape{"fwd_NN", false, false, 3136, 1024, 128}, PatchStride(1024)},
		{gemmShape{"dx_NT", false, true, 3136, 128, 1024}, 0},
		{gemmShape{"dw_TN", true, false, 1024, 3136, 128}, PatchStride(1024)},
		{gemmShape{"dw_conv1_TN", true, false, 16, 12544, 64}, PatchStride(16)},
		{gemmShape{"dw_dense_TN", true, false, 100, 64, 6272}, 0},
	} {
		benchGemmPlans(b, c.gemmShape, c.lda)
	}
}

// BenchmarkSgemmThin compares Sgemm with the blocked kernel on products
// with a dimension of 1 (MxKxN): the DCGAN discriminator's one-logit dense
// layer forward (N = 1), weight gradient (Aᵀ, N = 1) and input gradient
// (K = 1), which go to sgemmThin, and bias gradients as sums over rows
// (M = 1), which stay with the blocked kernel.
func BenchmarkSgemmThin(b *testing.B) {
	for _, s := range []struct {
		name           string
		transA, transB bool
		m, k, n        int
	}{
		{"fwd_64x6272x1", false, false, 64, 6272, 1},
		{"dw_6272x64x1", true, false, 6272, 64, 1},
		{"dx_64x1x6272", false, true, 64, 1, 6272},
		{"sum_1x3136x128", false, false, 1, 3136, 128},
		{"sum_1x21632x32", false, false, 1, 21632, 32},
	} {
		b.Run(s.name+"/Sgemm", func(b *testing.B) { benchGemm(b, s.transA, s.transB, s.m, s.n, s.k, Sgemm) })
		b.Run(s.name+"/blocked", func(b *testing.B) {
			benchGemm(b, s.transA, s.transB, s.m, s.n, s.k, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
				threads := 1
				if 2*m*n*k >= gemmParallelFlops {
					threads = Threads()
				}
				sgemm(gemmBest, threads, nil, transA, transB, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
			})
		})
	}
}

// BenchmarkSgemmVAE measures the five large products of a training step
// of the MLP VAE (batch 128, 784 → 400 → 20 → 400 → 784) with each
// packing plan on Threads() threads: the encoder's and the decoder
// output's forward x·W, the output layer's input gradient dY·Wᵀ and
// weight gradient Hᵀ·dY, and the encoder's weight gradient Xᵀ·dY.
func BenchmarkSgemmVAE(b *testing.B) {
	for _, s := range []gemmShape{
		{"enc_NN", false, false, 128, 784, 400},
		{"out_NN", false, false, 128, 400, 784},
		{"out_dx_NT", false, true, 128, 784, 400},
		{"out_dw_TN", true, false, 400, 128, 784},
		{"enc_dw_TN", true, false, 784, 128, 400},
	} {
		benchGemmPlans(b, s, 0)
	}
}

// BenchmarkSgemmWeightGrad measures, on Threads() threads, the weight
// gradients Pᵀ·δ (MxKxN = KK×rows×F, P's rows PatchStride(KK) apart as
// im2col lays them out) of CNNNet's second convolution at batch 32 and
// 128, the VGG's convolutions at batch 64, and the DCGAN's conv2 (and
// convt1, the same product) at batch 64.
//
// Computing these M ≫ N products through their transpose, Cᵀ = δᵀ·P into a
// scratch matrix and then transposed into C (bit-identical), was measured
// here per CPU-second at one thread and rejected: 5–14% slower on every
// shape (CNNNet 177 → 158 and 171 → 148 GFLOP/cpu-s, VGG 173/165/169/166 →
// 154/156/156/146, DCGAN 169 → 161). It won (+4%) only with P's rows
// exactly 1024 floats apart (4 KiB aliasing), which PatchStride avoids.
func BenchmarkSgemmWeightGrad(b *testing.B) {
	for _, s := range []gemmShape{
		{"cnn_conv2_b32", true, false, 288, 6272, 64},
		{"cnn_conv2_b128", true, false, 288, 25088, 64},
		{"vgg_conv1_2", true, false, 576, 65536, 64},
		{"vgg_conv2_1", true, false, 576, 16384, 128},
		{"vgg_conv2_2", true, false, 1152, 16384, 128},
		{"vgg_conv3", true, false, 1152, 4096, 256},
		{"dcgan_conv2", true, false, 1024, 3136, 128},
	} {
		b.Run(s.name, func(b *testing.B) { benchGemmLda(b, s.transA, s.transB, s.m, s.n, s.k, PatchStride(s.m), Sgemm) })
	}
}

func TestGemmSplitN(t *testing.T) {
	for _, c := range []struct {
		m, n int
		want bool
	}{
		{1024, 128, false},  // DCGAN weight gradient: N split would read its 12.8 MB A twice
		{3136, 1024, false}, // equally balanced: the smaller operand (B) is repeated
		{256, 2048, true},   // the wide MLP's forward
		{128, 400, false},   // 22 tiles along M balance, 7 panels along N do not
		{1024, 1024, true},  // square: the better-balanced split
		{6272, 64, false},   // one panel
	} {
		mu, nu := gemmCeilDiv(c.m, 6), gemmCeilDiv(c.n, 64)
		if got := gemmSplitN(c.m, c.n, mu, nu, 2); got != c.want {
			t.Errorf("gemmSplitN(%d×%d, 2 threads) = %v, want %v", c.m, c.n, got, c.want)
		}
	}
}

// TestSgemmThinThreads checks the matrix-vector and outer products of
// sgemmThin large enough to be split over threads (the DCGAN
// discriminator's one-logit layer: forward, weight gradient, input
// gradient, and odd sizes): the same bits on one and two threads, within
// rounding of the plain loop, and no allocation at two threads.
func TestSgemmThinThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, s := range []struct {
		transA, transB bool
		m, n, k        int
		beta           float32
	}{
		{false, false, 64, 1, 6272, 0}, {true, false, 6272, 1, 64, 1}, {false, true, 64, 6272, 1, 0},
		{false, false, 67, 1, 1001, 0.5}, {true, false, 1001, 1, 67, 0}, {false, false, 67, 1001, 1, 1},
	} {
		ra, rb := s.m*s.k, s.k*s.n
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		a, b, c0 := gemmRandSlice(rng, ra), gemmRandSlice(rng, rb), gemmRandSlice(rng, s.m*s.n)
		want := slices.Clone(c0)
		sgemmRef(s.transA, s.transB, s.m, s.n, s.k, 1.5, a, lda, b, ldb, s.beta, want, s.n)
		var first []float32
		for _, threads := range []int{1, 2} {
			runtime.GOMAXPROCS(threads)
			c := slices.Clone(c0)
			Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1.5, a, lda, b, ldb, s.beta, c, s.n)
			for i := range want {
				if math.Abs(float64(c[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%+v threads=%d: c[%d] = %v, want %v", s, threads, i, c[i], want[i])
				}
			}
			if first == nil {
				first = c
			} else if !slices.Equal(first, c) {
				t.Fatalf("%+v: 2 threads differ from 1", s)
			}
			if threads == 2 {
				if allocs := testing.AllocsPerRun(20, func() {
					Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1.5, a, lda, b, ldb, s.beta, c, s.n)
				}); allocs > 0 {
					t.Errorf("%+v: Sgemm at 2 threads allocates %v times per call", s, allocs)
				}
			}
		}
	}
}

// TestSumRowsThreads checks that SumRows of long, narrow matrices, which
// it cuts into column blocks for the threads, gives the bits of the one
// GEMM ones·x on one and two threads, writing and accumulating.
func TestSumRowsThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, s := range [][2]int{{12544, 64}, {5000, 17}, {3000, 50}, {100, 64}} {
		rows, n := s[0], s[1]
		x, d0 := gemmRandSlice(rng, rows*n), gemmRandSlice(rng, n)
		for _, acc := range []bool{false, true} {
			want := slices.Clone(d0)
			sgemm(gemmBest, 1, nil, false, false, 1, n, rows, 1, onesOf(rows), rows, x, n, float32(b2int(acc)), want, n)
			for _, threads := range []int{1, 2} {
				runtime.GOMAXPROCS(threads)
				got := slices.Clone(d0)
				SumRows(got, x, acc)
				if !slices.Equal(got, want) {
					t.Fatalf("%d×%d acc=%v threads=%d: SumRows differs from ones·x", rows, n, acc, threads)
				}
			}
		}
	}
}

// TestCopy checks the threaded copy on short and long slices.
func TestCopy(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rng := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{0, 5, 2*elementwiseGrain - 1, 3*elementwiseGrain + 7} {
		src := gemmRandSlice(rng, n+3)
		dst := make([]float32, n)
		Copy(dst, src)
		if !slices.Equal(dst, src[:n]) {
			t.Fatalf("n=%d: Copy differs from copy", n)
		}
	}
}
