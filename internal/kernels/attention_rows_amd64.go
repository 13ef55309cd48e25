//go:build !purego

package kernels

// attnExpSubAVX512 is attnExpSubGo 16 lanes at a time (e^x as in
// geluErfAVX512, the sum in 16 lanes); tab is &geluTab.
//
//go:noescape
func attnExpSubAVX512(row []float32, m float32, tab *[geluTabLen]float32) float32

// attnDsAVX512 is attnDsGo 16 lanes at a time; p is as long as s.
//
//go:noescape
func attnDsAVX512(s, p []float32, d float32)

// archAttnRowImpls lists the assembly row kernels this CPU runs.
func archAttnRowImpls() []*attnRowKernels {
	if !hasAVX512 {
		return nil
	}
	return []*attnRowKernels{{
		name:   "avx512",
		expSub: func(row []float32, m float32) float32 { return attnExpSubAVX512(row, m, &geluTab) },
		ds: func(s, p []float32, d float32) {
			attnDsAVX512(s, p[:len(s)], d)
		},
	}}
}
