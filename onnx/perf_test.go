package onnx

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// BenchmarkCNN compares the seed CNN run natively and imported from its
// exported ONNX file, at batch 1 and 256.
func BenchmarkCNN(b *testing.B) {
	net := zoo.NewCNNNet(10)
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, []int{28, 28, 1}, rng); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "cnn.onnx")
	if err := Save(path, net, []int{28, 28, 1}, ExportOptions{}); err != nil {
		b.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 256} {
		x := tensor.RandUniform(rng, 0, 1, batch, 28, 28, 1)
		for _, c := range []struct {
			name string
			net  nn.Layer
		}{{"native", net}, {"imported", m}} {
			b.Run(c.name+"/batch"+itoa(batch), func(b *testing.B) {
				p := &train.Predictor{Net: c.net}
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := p.Predict(context.Background(), x, batch); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func itoa(i int) string { return sprintf("%d", i) }
