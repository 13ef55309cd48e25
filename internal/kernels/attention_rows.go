package kernels

// Row kernels of the fused attention: the exponentials of a score row
// after its maximum is taken out, and the gradient of the scores. Each
// has a Go twin (below) and, on amd64 with AVX-512, an assembly version
// (attention_amd64.s) that the tests compare with it.

// attnRowKernels is one implementation of the row kernels.
type attnRowKernels struct {
	name string
	// expSub sets row[i] = e^{row[i] − m} (0 where row[i] − m < −87, so
	// the −1e30 of a masked score gives 0) and returns Σ row[i].
	expSub func(row []float32, m float32) float32
	// ds sets s[i] = p[i]·(s[i] − d) for i < len(s).
	ds func(s, p []float32, d float32)
}

// attnRowImpls lists the implementations this build and CPU run, best
// first; attnRows is the first.
var (
	attnRowImpls = append(archAttnRowImpls(), &attnRowKernels{"go", attnExpSubGo, attnDsGo})
	attnRows     = attnRowImpls[0]
)

// attnExpSubGo is the Go twin of attnExpSubAVX512: SIMD.Exp's steps, with
// its zero below geluTab's lower clamp.
func attnExpSubGo(row []float32, m float32) float32 {
	var s float32
	lo := geluTab[gtLo]
	for i, v := range row {
		e := float32(0)
		if x := v - m; x >= lo {
			e = simdExp1(x)
		}
		row[i] = e
		s += e
	}
	return s
}

func attnDsGo(s, p []float32, d float32) {
	p = p[:len(s)]
	for i, v := range s {
		s[i] = p[i] * (v - d)
	}
}
