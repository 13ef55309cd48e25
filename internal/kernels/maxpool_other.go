//go:build purego || !amd64

package kernels

// maxOf4Vec: no vector pooling kernel on this build; maxOf4 does it all.
func maxOf4Vec(d []float32, a []int32, x []float32, s, c, rs, base int) int { return 0 }

// maxPoolGradVec: no vector kernel on this build.
func maxPoolGradVec(gx, g []float32, a []int32, s, c, rs int) int { return 0 }
