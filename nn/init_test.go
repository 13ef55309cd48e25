package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// TestInitializerVariance checks each initializer's empirical variance
// against its formula for fanIn 300, fanOut 100.
func TestInitializerVariance(t *testing.T) {
	const in, out = 300, 100
	for _, c := range []struct {
		name string
		init Initializer
		want float64
	}{
		{"glorot_uniform", GlorotUniform{}, 2.0 / (in + out)},
		{"glorot_normal", GlorotNormal{}, 2.0 / (in + out)},
		{"he_normal", HeNormal{}, 2.0 / in},
		{"he_uniform", HeUniform{}, 2.0 / in},
		{"lecun_normal", LecunNormal{}, 1.0 / in},
		{"lecun_uniform", LecunUniform{}, 1.0 / in},
		{"torch_default", VarianceScaling{Scale: 1.0 / 3, Distribution: "uniform"}, 1.0 / 3 / in},
		{"variance_scaling_fan_avg", VarianceScaling{Scale: 2, Mode: "fan_avg"}, 2.0 / ((in + out) / 2.0)},
		{"random_uniform", RandomUniform{}, 0.1 * 0.1 / 12},
		{"random_normal", RandomNormal{}, 0.05 * 0.05},
	} {
		x := tensor.Zeros(in, out)
		c.init.Init(rand.New(rand.NewPCG(1, 1)), x, in, out)
		var s, s2 float64
		for _, v := range x.Data() {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		n := float64(x.Len())
		variance := s2/n - (s/n)*(s/n)
		if math.Abs(variance-c.want) > 0.05*c.want {
			t.Errorf("%s: variance %.3g, want %.3g", c.name, variance, c.want)
		}
	}
}

func TestOrthogonal(t *testing.T) {
	for _, shape := range [][2]int{{8, 8}, {12, 4}, {4, 12}} {
		x := tensor.Zeros(shape[0], shape[1])
		Orthogonal{}.Init(rand.New(rand.NewPCG(2, 2)), x, 0, 0)
		// the smaller Gram matrix is the identity
		a := x
		if shape[0] > shape[1] {
			a = tensor.Transpose(x)
		}
		g := tensor.MatMulT(a, a, false, true)
		for i := 0; i < g.Dim(0); i++ {
			for j := 0; j < g.Dim(1); j++ {
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(float64(g.At(i, j))-want) > 1e-5 {
					t.Fatalf("%v: Gram[%d][%d] = %v, want %v", shape, i, j, g.At(i, j), want)
				}
			}
		}
	}
}
