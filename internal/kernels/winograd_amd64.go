//go:build !purego

package kernels

// winogradInputAVX512 is winogradInput for the channels [0, 16·n16), the
// 16 input vectors given by their first elements.
//
//go:noescape
func winogradInputAVX512(v *float32, vs int, d *[16]*float32, n16 int)

// winogradOutputAVX512 is winogradOutput's arithmetic for the channels
// [0, 16·n16) of the 16 product vectors m[α·ms:], writing the 2×2 outputs
// to y[0] (top left), y[1] (top right), y[2], y[3] (bottom row).
//
//go:noescape
func winogradOutputAVX512(m *float32, ms int, y *[4]*float32, n16 int)

// archWinograd reports whether the AVX-512 transforms run here.
func archWinograd() bool { return hasAVX512 }

// winogradOutputPoolAVX512 is winogradOutputPool for the channels
// [0, 16·n16): y[k] = max of the tile's 4 outputs + bias[k], then
// max(·, 0) when relu.
//
//go:noescape
func winogradOutputPoolAVX512(m *float32, ms int, y, bias *float32, n16 int, relu bool)

// winogradGradAVX512 is winogradGrad for the channels [0, 16·n16), the 4
// output gradient vectors given by their first elements.
//
//go:noescape
func winogradGradAVX512(w *float32, ws int, d *[4]*float32, n16 int)
