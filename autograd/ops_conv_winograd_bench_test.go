//go:build unix

package autograd

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// BenchmarkConv3x3Train runs a 3×3 convolution with ReLU and 2×2 max
// pooling forward and backward (input, kernel and bias gradients) at one
// thread, through im2col + GEMM and through Winograd F(2×2, 3×3) (odd
// output sizes included, which training otherwise leaves to im2col), on
// CNNNet's second convolution (13×13×32 → 11×11×64, batch 32 and 128)
// and one of the VGG's (16×16×128 → 128, batch 64), reporting CPU time per
// step (which a busy machine's descheduling does not inflate).
func BenchmarkConv3x3Train(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	defer func() { winogradOn, winogradOddTrain = true, false }()
	for _, s := range []struct {
		n, h, c, f int
		pad        string
	}{{32, 13, 32, 64, "valid"}, {128, 13, 32, 64, "valid"}, {64, 16, 128, 128, "same"}} {
		rng := rand.New(rand.NewPCG(1, 2))
		x := tensor.RandNormal(rng, 0, 1, s.n, s.h, s.h, s.c)
		k := tensor.RandNormal(rng, 0, 0.1, 3, 3, s.c, s.f)
		bias := tensor.RandNormal(rng, 0, 0.1, s.f)
		win := tensor.Window{SH: 1, SW: 1, Padding: s.pad}
		pool := tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2}
		for _, on := range []bool{false, true} {
			name := map[bool]string{false: "im2col", true: "winograd"}[on]
			b.Run(fmt.Sprintf("n%d-%dx%dx%d-%d/%s", s.n, s.h, s.h, s.c, s.f, name), func(b *testing.B) {
				winogradOn, winogradOddTrain = on, on
				p := NewPool()
				step := func() {
					tape := NewTape(p)
					defer tape.Release()
					xv, kv, bv := &Var{Value: x}, &Var{Value: k}, &Var{Value: bias}
					tape.Watch(xv, kv, bv)
					y := Conv2DMaxPool(xv, kv, bv, win, Activation{Op: tensor.OpRelu, On: true}, pool)
					if err := tape.Backward(Sum(y, false)); err != nil {
						b.Fatal(err)
					}
				}
				step()
				cpu := cpuSeconds()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					step()
				}
				if sec := cpuSeconds() - cpu; sec > 0 {
					b.ReportMetric(sec*1e3/float64(b.N), "cpu-ms/op")
				}
			})
		}
	}
}

// cpuSeconds returns the process's user and system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
