//go:build !amd64 || purego

package kernels

func convPoolRowAVX512(x *float32, xs int, w *float32, ws int, bias *float32, y *float32, arg *int32, ys, npw, base, f, owf int, relu bool) {
	panic("kernels: no AVX-512 convolution kernels in this build")
}

func convPoolGradAVX512(x *float32, xs int, gp *float32, arg *int32, ys, nph, npw, base, f, owf int, acc *float32, as int) {
	panic("kernels: no AVX-512 convolution kernels in this build")
}

// archConvPool reports whether the AVX-512 kernels run here: no.
func archConvPool() bool { return false }
