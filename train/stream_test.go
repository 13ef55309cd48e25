package train

import (
	"context"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/nn"
)

// genSource is a data.Source of n generated samples (features values
// around the class index), made on the fly: it holds no samples.
type genSource struct{ n, features int }

func (s genSource) XShape() []int { return []int{s.features} }
func (s genSource) YShape() []int { return []int{} }
func (s genSource) Open() (data.SampleReader, error) {
	return &genReader{s: s, rng: rand.New(rand.NewPCG(1, 2))}, nil
}

type genReader struct {
	s   genSource
	i   int
	rng *rand.Rand
}

func (r *genReader) Next(x, y []float32) error {
	if r.i >= r.s.n {
		return io.EOF
	}
	c := r.i % 2
	for j := range x {
		x[j] = float32(r.rng.NormFloat64()) + 2*float32(c) - 1
	}
	y[0] = float32(c)
	r.i++
	return nil
}

func (r *genReader) Close() error { return nil }

// heapSampler records the heap in use after a GC every `every` batches.
type heapSampler struct {
	Base
	every   int
	batches int
	heap    []uint64
}

func (h *heapSampler) OnBatchEnd(r *Run, logs Logs) error {
	h.batches++
	if h.batches%h.every == 0 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.heap = append(h.heap, ms.HeapInuse)
	}
	return nil
}

// TestStreamingMemoryIsFlat trains one epoch over a generated stream of
// 200,000 samples (about 6,000 batches, a 50 MB dataset if it were held)
// and requires the heap in use to stay flat: batches are streamed through
// the loader's fixed buffers, not accumulated.
func TestStreamingMemoryIsFlat(t *testing.T) {
	const n, features, batch = 200_000, 64, 32
	src := genSource{n: n, features: features}
	loader, err := data.NewStreamLoader(src, data.LoaderOptions{BatchSize: batch, Shuffle: true, Seed: 1, Prefetch: true})
	if err != nil {
		t.Fatal(err)
	}
	net := nn.NewSequential(&nn.Dense{Units: 2, Activation: "softmax"})
	m := compile(t, net, []int{features}, mustOpt(t, "sgd", 0.01), 1)
	h := &heapSampler{every: 500}
	hist, err := Fit(context.Background(), m, loader, FitOptions{Epochs: 1, Callbacks: []Callback{h}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (n + batch - 1) / batch; h.batches != want {
		t.Fatalf("%d batches, want %d: the stream was not read through", h.batches, want)
	}
	if acc := hist.Last()["accuracy"]; acc < 0.9 {
		t.Errorf("accuracy %.3f on a separable stream: the model did not train", acc)
	}
	first, peak := h.heap[0], h.heap[0]
	for _, v := range h.heap {
		peak = max(peak, v)
	}
	t.Logf("heap in use over %d samples: first %d KB, peak %d KB, last %d KB", len(h.heap), first>>10, peak>>10, h.heap[len(h.heap)-1]>>10)
	if growth := int64(peak) - int64(first); growth > 2<<20 {
		t.Errorf("heap in use grew by %d KB while streaming (samples %v)", growth>>10, h.heap)
	}
}
