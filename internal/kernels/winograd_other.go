//go:build !amd64 || purego

package kernels

func winogradInputAVX512(v *float32, vs int, d *[16]*float32, n16 int) {
	panic("kernels: no AVX-512 Winograd transforms in this build")
}

func winogradOutputAVX512(m *float32, ms int, y *[4]*float32, n16 int) {
	panic("kernels: no AVX-512 Winograd transforms in this build")
}

// archWinograd reports whether the AVX-512 transforms run here: no.
func archWinograd() bool { return false }

func winogradOutputPoolAVX512(m *float32, ms int, y, bias *float32, n16 int, relu bool) {
	panic("kernels: no AVX-512 Winograd transforms in this build")
}

func winogradGradAVX512(w *float32, ws int, d *[4]*float32, n16 int) {
	panic("kernels: no AVX-512 Winograd transforms in this build")
}
