package kernels

import (
	"fmt"
	"math"
	"sync"
)

// The fused optimizer updates: each reads the gradient and the parameter's
// state once and writes the parameter and the state once, in one pass over
// memory. The serial loops below are the reference (their doc comments give
// the exact arithmetic); the exported functions split long vectors over
// the worker pool, which cannot change the result because every element is
// updated independently, and run each chunk with optimKernels
// (optim_dispatch.go): the AVX2 loops of optim_amd64.s where the CPU has
// them, which give the reference loops' bits (a NaN made from two NaNs
// aside, whose payload may differ), else the reference loops themselves.
//
// Every product is wrapped in an explicit float32 conversion. The Go spec
// lets a compiler fuse x*y + z into one FMA (and it does on arm64, and on
// amd64 with GOAMD64=v3); an explicit conversion forbids that, so that the
// same inputs give the same bits on every platform — the basis of
// bit-identical resumption from a checkpoint.

// optimGrain is the smallest number of elements worth handing to another
// worker: an update streams about 30 bytes per element.
const optimGrain = 1 << 15

// AdamCoeffs are the per-step coefficients of Adam, each rounded to float32
// once from a float64 computation by the caller.
type AdamCoeffs struct {
	Beta1, Beta2 float32 // decay rates β1, β2 of the moment estimates
	C1, C2       float32 // 1 − β1 and 1 − β2
	Alpha        float32 // step size α_t = lr·√(1 − β2^t)/(1 − β1^t)
	Eps          float32 // ε̂, added to √v
	Decay        float32 // decoupled weight decay lr·wd (AdamW); 0 for Adam
}

// Adam applies one Adam step to p in place, updating the first and second
// moment estimates m and v (and vhat, the running maximum of v, when vhat
// is non-nil: AMSGrad). For every i, in float32:
//
//	p[i] = p[i] − Decay·p[i]                  (only when Decay ≠ 0)
//	m[i] = β1·m[i] + C1·g[i]                  (then 0 if subnormal)
//	v[i] = β2·v[i] + C2·(g[i]·g[i])           (then 0 if subnormal)
//	u    = v[i]; with vhat: vhat[i] = max(vhat[i], v[i]); u = vhat[i]
//	p[i] = p[i] − (Alpha·m[i]) / (√u + Eps)
//
// All slices must have len(p) elements (vhat may be nil).
func Adam(p, g, m, v, vhat []float32, c AdamCoeffs) {
	checkOptimLens("Adam", len(p), 3, g, m, v, vhat)
	if w := optimWorkers(len(p)); w > 1 {
		t := optimTaskPool.Get().(*optimTask)
		*t = optimTask{kind: optimAdam, p: p, g: g, s1: m, s2: v, s3: vhat, adam: c}
		runOptimTask(t, w)
		return
	}
	optimKernels.adam(p, g, m, v, vhat, c)
}

// minNormal32 is the smallest normal float32, 2⁻¹²⁶.
const minNormal32 = 0x1p-126

// flushSubnormal returns 0 for a subnormal x (and ±0) and x otherwise.
// Adam's moments decay geometrically where gradients are zero (dead ReLU
// units): without the flush they sink into the subnormal range, where
// every arithmetic operation on them costs a microcode assist, and an
// optimizer step becomes 30 times slower. A moment this small changes no
// parameter.
func flushSubnormal(x float32) float32 {
	if x < minNormal32 && x > -minNormal32 {
		return 0
	}
	return x
}

// adamSerial is the reference loop of Adam.
func adamSerial(p, g, m, v, vhat []float32, c AdamCoeffs) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	if c.Decay != 0 {
		for i, pi := range p {
			p[i] = pi - float32(c.Decay*pi)
		}
	}
	if vhat == nil {
		for i, gi := range g {
			mi := float32(c.Beta1*m[i]) + float32(c.C1*gi)
			vi := float32(c.Beta2*v[i]) + float32(c.C2*float32(gi*gi))
			mi, vi = flushSubnormal(mi), flushSubnormal(vi)
			m[i], v[i] = mi, vi
			p[i] -= float32(c.Alpha*mi) / (float32(math.Sqrt(float64(vi))) + c.Eps)
		}
		return
	}
	vhat = vhat[:n]
	for i, gi := range g {
		mi := float32(c.Beta1*m[i]) + float32(c.C1*gi)
		vi := float32(c.Beta2*v[i]) + float32(c.C2*float32(gi*gi))
		mi, vi = flushSubnormal(mi), flushSubnormal(vi)
		m[i], v[i] = mi, vi
		u := vhat[i]
		if vi > u || vi != vi {
			u = vi
		}
		vhat[i] = u
		p[i] -= float32(c.Alpha*mi) / (float32(math.Sqrt(float64(u))) + c.Eps)
	}
}

// SGD applies one step of stochastic gradient descent to p in place, with
// momentum in Keras's form when vel is non-nil. For every i, in float32:
//
//	p[i] = p[i] − decay·p[i]                (only when decay ≠ 0)
//	without vel:  p[i] = p[i] − lr·g[i]
//	with vel:     vel[i] = momentum·vel[i] − lr·g[i]  (then 0 if subnormal)
//	              p[i] = p[i] + vel[i]                          (classical)
//	              p[i] = p[i] + (momentum·vel[i] − lr·g[i])    (nesterov)
//
// All slices must have len(p) elements (vel may be nil).
func SGD(p, g, vel []float32, lr, momentum, decay float32, nesterov bool) {
	checkOptimLens("SGD", len(p), 1, g, vel)
	if w := optimWorkers(len(p)); w > 1 {
		t := optimTaskPool.Get().(*optimTask)
		*t = optimTask{kind: optimSGD, p: p, g: g, s1: vel, lr: lr, mom: momentum, decay: decay, nesterov: nesterov}
		runOptimTask(t, w)
		return
	}
	optimKernels.sgd(p, g, vel, lr, momentum, decay, nesterov)
}

// sgdSerial is the reference loop of SGD.
func sgdSerial(p, g, vel []float32, lr, momentum, decay float32, nesterov bool) {
	n := len(p)
	g = g[:n]
	if decay != 0 {
		for i, pi := range p {
			p[i] = pi - float32(decay*pi)
		}
	}
	switch {
	case vel == nil:
		for i, gi := range g {
			p[i] -= float32(lr * gi)
		}
	case nesterov:
		vel = vel[:n]
		for i, gi := range g {
			step := float32(lr * gi)
			vi := flushSubnormal(float32(momentum*vel[i]) - step)
			vel[i] = vi
			p[i] += float32(momentum*vi) - step
		}
	default:
		vel = vel[:n]
		for i, gi := range g {
			vi := flushSubnormal(float32(momentum*vel[i]) - float32(lr*gi))
			vel[i] = vi
			p[i] += vi
		}
	}
}

// RMSpropCoeffs are the per-step coefficients of RMSprop, rounded to
// float32 once by the caller.
type RMSpropCoeffs struct {
	Rho, C   float32 // discount ρ and 1 − ρ
	LR       float32 // learning rate
	Eps      float32 // ε, added under the square root (as Keras does)
	Momentum float32 // momentum coefficient; used only with a momentum buffer
}

// RMSprop applies one RMSprop step (Keras's form) to p in place. ms is the
// running mean of squared gradients; mg, when non-nil, the running mean of
// gradients (centered variant); mom, when non-nil, the momentum buffer.
// For every i, in float32:
//
//	ms[i] = ρ·ms[i] + C·(g[i]·g[i])
//	with mg:    mg[i] = ρ·mg[i] + C·g[i];  d = ms[i] − mg[i]·mg[i] + Eps
//	without mg: d = ms[i] + Eps
//	inc = (LR·g[i]) / √d
//	with mom:    mom[i] = Momentum·mom[i] + inc;  p[i] = p[i] − mom[i]
//	without mom: p[i] = p[i] − inc
//
// with ms, mg and mom flushed to zero when they decay below 2⁻¹²⁶, as
// Adam's moments are (subnormal arithmetic is many times slower).
//
// All slices must have len(p) elements (mg and mom may be nil).
func RMSprop(p, g, ms, mg, mom []float32, c RMSpropCoeffs) {
	checkOptimLens("RMSprop", len(p), 2, g, ms, mg, mom)
	if w := optimWorkers(len(p)); w > 1 {
		t := optimTaskPool.Get().(*optimTask)
		*t = optimTask{kind: optimRMSprop, p: p, g: g, s1: ms, s2: mg, s3: mom, rms: c}
		runOptimTask(t, w)
		return
	}
	optimKernels.rmsprop(p, g, ms, mg, mom, c)
}

// rmspropSerial is the reference loop of RMSprop.
func rmspropSerial(p, g, ms, mg, mom []float32, c RMSpropCoeffs) {
	n := len(p)
	g, ms = g[:n], ms[:n]
	if mg != nil {
		mg = mg[:n]
	}
	if mom != nil {
		mom = mom[:n]
	}
	for i, gi := range g {
		s := flushSubnormal(float32(c.Rho*ms[i]) + float32(c.C*float32(gi*gi)))
		ms[i] = s
		var d float32
		if mg != nil {
			a := flushSubnormal(float32(c.Rho*mg[i]) + float32(c.C*gi))
			mg[i] = a
			d = s - float32(a*a) + c.Eps
		} else {
			d = s + c.Eps
		}
		inc := float32(c.LR*gi) / float32(math.Sqrt(float64(d)))
		if mom != nil {
			inc = flushSubnormal(float32(c.Momentum*mom[i]) + inc)
			mom[i] = inc
		}
		p[i] -= inc
	}
}

// Adagrad applies one Adagrad step (Keras's form) to p in place,
// accumulating squared gradients in acc. For every i, in float32:
//
//	acc[i] = acc[i] + g[i]·g[i]
//	p[i]   = p[i] − (lr·g[i]) / √(acc[i] + eps)
//
// All slices must have len(p) elements.
func Adagrad(p, g, acc []float32, lr, eps float32) {
	checkOptimLens("Adagrad", len(p), 2, g, acc)
	if w := optimWorkers(len(p)); w > 1 {
		t := optimTaskPool.Get().(*optimTask)
		*t = optimTask{kind: optimAdagrad, p: p, g: g, s1: acc, lr: lr, eps: eps}
		runOptimTask(t, w)
		return
	}
	optimKernels.adagrad(p, g, acc, lr, eps)
}

// adagradSerial is the reference loop of Adagrad.
func adagradSerial(p, g, acc []float32, lr, eps float32) {
	n := len(p)
	g, acc = g[:n], acc[:n]
	for i, gi := range g {
		a := acc[i] + float32(gi*gi)
		acc[i] = a
		p[i] -= float32(lr*gi) / float32(math.Sqrt(float64(a+eps)))
	}
}

// SumSquares returns Σ x[i]², accumulated in float64 (for gradient norms,
// where a float32 sum over millions of elements would lose digits).
func SumSquares(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a, b, c, d := float64(x[i]), float64(x[i+1]), float64(x[i+2]), float64(x[i+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		a := float64(x[i])
		s0 += a * a
	}
	return (s0 + s1) + (s2 + s3)
}

// optimTask is one optimizer update shared by the pool's workers. Tasks
// come from a sync.Pool so that a parallel update allocates nothing.
type optimTask struct {
	kind                uint8
	p, g, s1, s2, s3    []float32
	adam                AdamCoeffs
	rms                 RMSpropCoeffs
	lr, mom, decay, eps float32
	nesterov            bool
}

const (
	optimAdam = iota
	optimSGD
	optimRMSprop
	optimAdagrad
)

var optimTaskPool = sync.Pool{New: func() any { return new(optimTask) }}

func (t *optimTask) run(lo, hi int) {
	p, g, s1, s2, s3 := t.p[lo:hi], t.g[lo:hi], optimSub(t.s1, lo, hi), optimSub(t.s2, lo, hi), optimSub(t.s3, lo, hi)
	switch t.kind {
	case optimAdam:
		optimKernels.adam(p, g, s1, s2, s3, t.adam)
	case optimSGD:
		optimKernels.sgd(p, g, s1, t.lr, t.mom, t.decay, t.nesterov)
	case optimRMSprop:
		optimKernels.rmsprop(p, g, s1, s2, s3, t.rms)
	case optimAdagrad:
		optimKernels.adagrad(p, g, s1, t.lr, t.eps)
	}
}

// runOptimTask runs t over w workers and returns it to the pool.
func runOptimTask(t *optimTask, w int) {
	defer func() {
		*t = optimTask{}
		optimTaskPool.Put(t)
	}()
	parallelRun(t, len(t.p), w)
}

// optimWorkers returns how many workers an update of n elements uses.
func optimWorkers(n int) int { return min(Threads(), n/optimGrain) }

// optimSub returns x[lo:hi], or nil for a nil x.
func optimSub(x []float32, lo, hi int) []float32 {
	if x == nil {
		return nil
	}
	return x[lo:hi]
}

// checkOptimLens panics unless every slice has n elements; the first
// required ones must be present, the others may be nil (absent).
func checkOptimLens(op string, n, required int, xs ...[]float32) {
	for i, x := range xs {
		if (x != nil || i < required) && len(x) != n {
			panic(fmt.Sprintf("kernels: %s: operand %d has %d elements, want %d", op, i+1, len(x), n))
		}
	}
}
