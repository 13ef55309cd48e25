//go:build !purego

package kernels

// layerNormFwdAVX512 is layerNormFwdGo 16 features at a time
// (layernorm_amd64.s), with μ and σ² summed in 16 float32 lanes instead
// of float64 and fused multiply-adds. len(mean) gives the rows.
//
//go:noescape
func layerNormFwdAVX512(y, x, gamma, beta, mean, rstd []float32, f int, eps float32)

// layerNormBwdAVX512 is layerNormBwdGo 16 features at a time, with the
// row sums in 16 lanes and fused multiply-adds. len(mean) gives the rows.
//
//go:noescape
func layerNormBwdAVX512(dx, dgamma, dbeta, dy, x, gamma, mean, rstd []float32, f int)

// archLNImpls lists the assembly LayerNorm kernels this CPU runs.
func archLNImpls() []*lnKernels {
	if !hasAVX512 {
		return nil
	}
	return []*lnKernels{{"avx512", layerNormFwdAVX512, layerNormBwdAVX512}}
}
