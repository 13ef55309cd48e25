package kernels

import (
	"math"
	"sync"
)

// LayerNormForward normalizes each of the rows of x [rows, f] over its f
// values and writes y = γ·x̂ + β with x̂ = (x − μ)·r, r = 1/√(σ² + ε),
// μ and σ² the row's mean and biased variance; it keeps μ and r per row in
// mean and rstd for the backward pass. Rows run in parallel, each with
// AVX-512 where the CPU has it (sums in 16 float32 lanes, two passes for
// σ²), else with the Go twin layerNormFwdGo.
//
// Reference loop (per row, in float64 for μ and σ²):
//
//	μ = Σ x/f;  σ² = Σ (x − μ)²/f;  y = γ·(x − μ)/√(σ² + ε) + β
func LayerNormForward(y, x, gamma, beta, mean, rstd []float32, f int, eps float32) {
	rows := len(mean)
	if rows == 0 || f == 0 {
		return
	}
	x, y, rstd = x[:rows*f], y[:rows*f], rstd[:rows]
	gamma, beta = gamma[:f], beta[:f]
	Parallel(rows, lnGrain(f), func(lo, hi int) {
		lnImpl.fwd(y[lo*f:hi*f], x[lo*f:hi*f], gamma, beta, mean[lo:hi], rstd[lo:hi], f, eps)
	})
}

// LayerNormBackward adds the gradients of LayerNormForward for the output
// gradient dy: with g = γ·dy and x̂ as above,
//
//	∂L/∂x = r·(g − mean(g) − x̂·mean(g·x̂)),  ∂L/∂γ = Σ_rows dy·x̂,  ∂L/∂β = Σ_rows dy
//
// dx, dgamma or dbeta may be nil (not wanted). The rows are cut into one
// block per thread (the same blocks for the same thread count, so results
// repeat bit for bit); each block sums its own ∂L/∂γ and ∂L/∂β, which are
// then added in block order.
func LayerNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, rstd []float32, f int) {
	rows := len(mean)
	if rows == 0 || f == 0 || (dx == nil && dgamma == nil && dbeta == nil) {
		return
	}
	nb := max(1, min(Threads(), rows/lnGrain(f)))
	s := lnScratchPool.Get().(*lnScratch)
	part := growF(s.part, (nb*2+1)*f)
	clear(part)
	var discard []float32
	if dx == nil { // the kernels always write dx: give them a row to drop
		discard = growF(s.dx, rows*f)
		clear(discard)
	}
	Parallel(nb, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			r0, r1 := b*rows/nb, (b+1)*rows/nb
			d := dx
			if d == nil {
				d = discard
			}
			pg, pb := part[2*b*f:(2*b+1)*f], part[(2*b+1)*f:(2*b+2)*f]
			lnImpl.bwd(d[r0*f:r1*f], pg, pb, dy[r0*f:r1*f], x[r0*f:r1*f], gamma[:f], mean[r0:r1], rstd[r0:r1], f)
		}
	})
	for b := range nb {
		if dgamma != nil {
			SIMD.Axpy(1, part[2*b*f:(2*b+1)*f], dgamma[:f])
		}
		if dbeta != nil {
			SIMD.Axpy(1, part[(2*b+1)*f:(2*b+2)*f], dbeta[:f])
		}
	}
	s.part, s.dx = part, discard
	lnScratchPool.Put(s)
}

// lnGrain is the number of rows of f features worth a parallel chunk.
func lnGrain(f int) int { return max(1, 8192/max(f, 1)) }

// lnScratch holds LayerNormBackward's per-block sums (and a dx to drop).
type lnScratch struct{ part, dx []float32 }

var lnScratchPool = sync.Pool{New: func() any { return new(lnScratch) }}

// lnKernels is one implementation of LayerNorm over whole rows on the
// calling thread: fwd as LayerNormForward; bwd adds ∂L/∂x to dx and the
// rows' ∂L/∂γ and ∂L/∂β to dgamma and dbeta (none may be nil).
type lnKernels struct {
	name string
	fwd  func(y, x, gamma, beta, mean, rstd []float32, f int, eps float32)
	bwd  func(dx, dgamma, dbeta, dy, x, gamma, mean, rstd []float32, f int)
}

// lnImpls lists the implementations this build and CPU run, best first
// (the tests compare them all); lnImpl is the first.
var (
	lnImpls = append(archLNImpls(), &lnKernels{"go", layerNormFwdGo, layerNormBwdGo})
	lnImpl  = lnImpls[0]
)

// layerNormFwdGo is the reference loop of LayerNormForward on one thread.
func layerNormFwdGo(y, x, gamma, beta, mean, rstd []float32, f int, eps float32) {
	for r := range mean {
		xr, yr := x[r*f:(r+1)*f], y[r*f:(r+1)*f]
		var s float64
		for _, v := range xr {
			s += float64(v)
		}
		mu := s / float64(f)
		var ss float64
		for _, v := range xr {
			d := float64(v) - mu
			ss += d * d
		}
		rs := float32(1 / math.Sqrt(ss/float64(f)+float64(eps)))
		m := float32(mu)
		mean[r], rstd[r] = m, rs
		for j, v := range xr {
			yr[j] = gamma[j]*(v-m)*rs + beta[j]
		}
	}
}

// layerNormBwdGo is the reference loop of LayerNormBackward on one thread.
func layerNormBwdGo(dx, dgamma, dbeta, dy, x, gamma, mean, rstd []float32, f int) {
	for r := range mean {
		xr, gr, dr := x[r*f:(r+1)*f], dy[r*f:(r+1)*f], dx[r*f:(r+1)*f]
		m, rs := mean[r], rstd[r]
		var sg, sgx float32
		for j, v := range xr {
			g := gamma[j] * gr[j]
			xh := (v - m) * rs
			sg += g
			sgx += g * xh
			dgamma[j] += gr[j] * xh
			dbeta[j] += gr[j]
		}
		sg /= float32(f)
		sgx /= float32(f)
		for j, v := range xr {
			dr[j] += rs * (gamma[j]*gr[j] - sg - (v-m)*rs*sgx)
		}
	}
}
