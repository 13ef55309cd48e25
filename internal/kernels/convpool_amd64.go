//go:build !purego

package kernels

//go:generate sh -c "python3 convpool_asmgen.py > convpool_amd64.s"

// convPoolRowAVX512 is convPoolRowGo (its contract) in AVX-512.
//
//go:noescape
func convPoolRowAVX512(x *float32, xs int, w *float32, ws int, bias *float32, y *float32, arg *int32, ys, npw, base, f, owf int, relu bool)

// convPoolGradAVX512 is convPoolGradGo (its contract) in AVX-512.
//
//go:noescape
func convPoolGradAVX512(x *float32, xs int, gp *float32, arg *int32, ys, nph, npw, base, f, owf int, acc *float32, as int)

// archConvPool reports whether the AVX-512 kernels run here.
func archConvPool() bool { return hasAVX512 }
