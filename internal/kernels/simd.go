package kernels

import "math"

// SIMD holds the vector kernels of the hot paths, filled once at start-up
// with the fastest implementation available on this CPU. The pure-Go twins
// below are the reference every accelerated version is tested against.
var SIMD = struct {
	Axpy     func(a float32, x, y []float32) // y += a·x
	Scale    func(a float32, x []float32)    // x *= a
	Add, Mul func(dst, a, b []float32)       // dst = a + b, dst = a · b
	Relu     func(dst, x []float32)          // dst = max(x, 0)
	ReluGrad func(dst, x, g []float32)       // dst = g where x > 0 else 0
	Exp      func(dst, x []float32)
	Tanh     func(dst, x []float32)
	Sigmoid  func(dst, x []float32)
	Sum, Max func(x []float32) float32
	Dot      func(x, y []float32) float32
}{
	Axpy: axpyGo, Scale: scaleGo, Add: addGo, Mul: mulGo, Relu: reluGo, ReluGrad: reluGradGo,
	Exp: expGo, Tanh: tanhGo, Sigmoid: sigmoidGo, Sum: sumGo, Max: maxGo, Dot: dotGo,
}

func axpyGo(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

func scaleGo(a float32, x []float32) {
	for i := range x {
		x[i] *= a
	}
}

func addGo(dst, a, b []float32) {
	b, dst = b[:len(a)], dst[:len(a)]
	for i, v := range a {
		dst[i] = v + b[i]
	}
}

func mulGo(dst, a, b []float32) {
	b, dst = b[:len(a)], dst[:len(a)]
	for i, v := range a {
		dst[i] = v * b[i]
	}
}

func reluGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		dst[i] = v
	}
}

func reluGradGo(dst, x, g []float32) {
	x, dst = x[:len(g)], dst[:len(g)]
	for i, v := range g {
		if x[i] > 0 {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}

func expGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

func tanhGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(math.Tanh(float64(v)))
	}
}

func sigmoidGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

func sumGo(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

func maxGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m || v != v {
			m = v
		}
	}
	return m
}

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}
