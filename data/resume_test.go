package data

import (
	"context"
	"strings"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// A checkpoint edited to resume at batch 91 of a 63-batch epoch is refused
// with the epoch's size, not run as an empty epoch.
func TestEpochFromPastTheEnd(t *testing.T) {
	l, err := NewLoader(seqData(63*4), LoaderOptions{BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, start := range []int{91, 64} {
		var got error
		for _, err := range l.EpochFrom(context.Background(), 1, start) {
			got = err
		}
		if got == nil || !strings.Contains(got.Error(), "an epoch has 63 batches") {
			t.Errorf("start %d: got %v", start, got)
		}
	}
	// The end of the epoch itself is a valid position (interrupted after
	// its last batch): no batches, no error.
	if n := len(collect(t, l.EpochFrom(context.Background(), 1, 63))); n != 0 {
		t.Errorf("start 63 gave %d batches", n)
	}
	// A stream has no length up front: it is read through and then refused.
	sl, _ := NewStreamLoader(&countSource{ds: seqData(10), failAt: -1}, LoaderOptions{BatchSize: 4})
	var got error
	for _, err := range sl.EpochFrom(context.Background(), 0, 9) {
		got = err
	}
	if got == nil || !strings.Contains(got.Error(), "stream ended after 3 batches") {
		t.Errorf("stream: got %v", got)
	}
}

func TestLoaderCapsBatchSize(t *testing.T) {
	l, err := NewLoader(seqData(7), LoaderOptions{BatchSize: 10_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if l.Options().BatchSize != 7 || l.Len() != 1 {
		t.Errorf("batch size %d, %d batches", l.Options().BatchSize, l.Len())
	}
	b := collect(t, l.Epoch(context.Background(), 0))
	if len(b) != 1 || len(b[0].idx) != 7 {
		t.Errorf("batches %v", b)
	}
	if _, err := NewLoader(seqData(7), LoaderOptions{BatchSize: 8, DropLast: true}); err == nil || !strings.Contains(err.Error(), "no batch") {
		t.Errorf("drop last: %v", err)
	}
	empty := Tensors{X: tensor.Zeros(3, 0, 28, 1), Y: tensor.Zeros(3)}
	if _, err := NewLoader(empty, LoaderOptions{}); err == nil || !strings.Contains(err.Error(), "no elements") {
		t.Errorf("zero-size samples: %v", err)
	}
}
