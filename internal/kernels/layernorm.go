package kernels

import "math"

// LayerNormForward normalizes each of the rows of x [rows, f] over its f
// values and writes y = γ·x̂ + β with x̂ = (x − μ)·r, r = 1/√(σ² + ε),
// μ and σ² the row's mean and biased variance; it keeps μ and r per row in
// mean and rstd for the backward pass. Rows run in parallel.
//
// Reference loop (per row, in float64 for μ and σ²):
//
//	μ = Σ x/f;  σ² = Σ (x − μ)²/f;  y = γ·(x − μ)/√(σ² + ε) + β
func LayerNormForward(y, x, gamma, beta, mean, rstd []float32, f int, eps float32) {
	rows := len(mean)
	Parallel(rows, max(1, 4096/max(f, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
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
	})
}

// LayerNormBackward adds the gradients of LayerNormForward for the output
// gradient dy: with g = γ·dy and x̂ as above,
//
//	∂L/∂x = r·(g − mean(g) − x̂·mean(g·x̂)),  ∂L/∂γ = Σ_rows dy·x̂,  ∂L/∂β = Σ_rows dy
//
// dx, dgamma or dbeta may be nil (not wanted). dx rows run in parallel;
// the sums over rows for γ and β run on one thread, in row order.
func LayerNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, rstd []float32, f int) {
	rows := len(mean)
	if dx != nil {
		Parallel(rows, max(1, 4096/max(f, 1)), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				xr, gr, dr := x[r*f:(r+1)*f], dy[r*f:(r+1)*f], dx[r*f:(r+1)*f]
				m, rs := mean[r], rstd[r]
				var sg, sgx float32
				for j, v := range xr {
					g := gamma[j] * gr[j]
					sg += g
					sgx += g * (v - m) * rs
				}
				sg /= float32(f)
				sgx /= float32(f)
				for j, v := range xr {
					dr[j] += rs * (gamma[j]*gr[j] - sg - (v-m)*rs*sgx)
				}
			}
		})
	}
	for r := range rows {
		xr, gr := x[r*f:(r+1)*f], dy[r*f:(r+1)*f]
		m, rs := mean[r], rstd[r]
		if dgamma != nil {
			for j, v := range xr {
				dgamma[j] += gr[j] * (v - m) * rs
			}
		}
		if dbeta != nil {
			Axpy(1, gr, dbeta)
		}
	}
}
