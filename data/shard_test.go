package data

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// TestShardTilesGlobalBatches checks that the ranks' batches, concatenated
// in rank order, are the batches of one loader at the global batch size.
func TestShardTilesGlobalBatches(t *testing.T) {
	const n = 23
	x := tensor.Zeros(n, 2)
	y := tensor.Zeros(n)
	for i := range n {
		x.Data()[2*i], x.Data()[2*i+1], y.Data()[i] = float32(i), float32(-i), float32(i%3)
	}
	ds := Tensors{X: x, Y: y}
	ctx := context.Background()
	for _, tc := range []struct{ ranks, per, global int }{{1, 5, 0}, {2, 4, 0}, {3, 2, 0}, {3, 0, 7}, {2, 0, 11}} {
		t.Run(fmt.Sprintf("ranks%d_per%d_global%d", tc.ranks, tc.per, tc.global), func(t *testing.T) {
			g := tc.global
			if g == 0 {
				g = tc.per * tc.ranks
			}
			one, err := NewLoader(ds, LoaderOptions{BatchSize: g, Shuffle: true, Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			var want [][]int
			for b, err := range one.Epoch(ctx, 2) {
				if err != nil {
					t.Fatal(err)
				}
				if len(b.Indices) >= tc.ranks {
					want = append(want, slices.Clone(b.Indices))
				}
			}
			got := make([][]int, len(want))
			per := tc.per
			if per == 0 {
				per = 3 // ignored: GlobalBatch is given
			}
			l, err := NewLoader(ds, LoaderOptions{BatchSize: per, Shuffle: true, Seed: 9, Prefetch: tc.ranks == 2})
			if err != nil {
				t.Fatal(err)
			}
			for r := range tc.ranks {
				s := Shard{Rank: r, Ranks: tc.ranks, GlobalBatch: tc.global}
				k, err := l.ShardLen(s)
				if err != nil || k != len(want) {
					t.Fatalf("ShardLen %d, %v; want %d", k, err, len(want))
				}
				seen := 0
				for b, err := range l.ShardEpochFrom(ctx, 2, 0, s) {
					if err != nil {
						t.Fatal(err)
					}
					if b.Index != seen || b.Epoch != 2 {
						t.Fatalf("rank %d: batch %d of epoch %d, want %d of 2", r, b.Index, b.Epoch, seen)
					}
					for j, i := range b.Indices {
						if b.X.Data()[2*j] != float32(i) || b.Y.Data()[j] != float32(i%3) {
							t.Fatalf("rank %d: sample %d of batch %d holds %v, not sample %d", r, j, b.Index, b.X.Data()[2*j], i)
						}
					}
					got[b.Index] = append(got[b.Index], b.Indices...)
					seen++
				}
			}
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("shards tile\n%v\nwant\n%v", got, want)
			}
			// Resuming at batch 1 gives the same batches from there.
			var from1 []int
			for b, err := range l.ShardEpochFrom(ctx, 2, 1, Shard{Rank: 0, Ranks: tc.ranks, GlobalBatch: tc.global}) {
				if err != nil {
					t.Fatal(err)
				}
				if b.Index == 1 {
					from1 = slices.Clone(b.Indices)
				}
			}
			if lo, hi := (Shard{Rank: 0, Ranks: tc.ranks}).part(len(want[1])); !slices.Equal(from1, want[1][lo:hi]) {
				t.Fatalf("resumed batch 1 of rank 0: %v, want %v", from1, want[1][lo:hi])
			}
		})
	}
}

func TestShardErrors(t *testing.T) {
	l, _ := NewLoader(Tensors{X: tensor.Zeros(4, 1)}, LoaderOptions{BatchSize: 2})
	for _, s := range []Shard{{Rank: 2, Ranks: 2}, {Rank: 0, Ranks: 0}, {Rank: 0, Ranks: 3, GlobalBatch: 2}, {Ranks: 1, GlobalBatch: -1}} {
		if _, err := l.ShardLen(s); err == nil {
			t.Errorf("%+v accepted", s)
		}
		for _, err := range l.ShardEpochFrom(context.Background(), 0, 0, s) {
			if err == nil {
				t.Errorf("%+v: a batch", s)
			}
		}
	}
}

// Two ranks at 2 samples each see the batches of 4 that one process sees.
func ExampleLoader_ShardEpochFrom() {
	ds := Tensors{X: tensor.New([]int{8, 1}, []float32{0, 1, 2, 3, 4, 5, 6, 7})}
	l, _ := NewLoader(ds, LoaderOptions{BatchSize: 2}) // per-rank batch
	for rank := range 2 {
		for b, _ := range l.ShardEpochFrom(context.Background(), 0, 0, Shard{Rank: rank, Ranks: 2}) {
			fmt.Println("rank", rank, "batch", b.Index, b.X.Data())
		}
	}
	// Output:
	// rank 0 batch 0 [0 1]
	// rank 0 batch 1 [4 5]
	// rank 1 batch 0 [2 3]
	// rank 1 batch 1 [6 7]
}

func TestPart(t *testing.T) {
	ds := Tensors{X: tensor.New([]int{5, 1}, []float32{0, 1, 2, 3, 4})}
	l, _ := NewLoader(ds, LoaderOptions{BatchSize: 2})
	var got []float32
	total := 0
	for r := range 3 {
		p, n, err := l.Part(Shard{Rank: r, Ranks: 3})
		if err != nil {
			t.Fatal(err)
		}
		total += n
		for b, err := range p.Epoch(context.Background(), 0) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b.X.Data()...)
		}
	}
	if total != 5 || fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Fatalf("parts hold %v (%d samples)", got, total)
	}
	if _, _, err := l.Part(Shard{Rank: 3, Ranks: 3}); err == nil {
		t.Fatal("rank 3 of 3 accepted")
	}
}

// Evaluation splits a data set into contiguous parts, one per rank, that
// together hold every sample once.
func ExampleLoader_Part() {
	ds := Tensors{X: tensor.New([]int{5, 1}, []float32{0, 1, 2, 3, 4})}
	l, _ := NewLoader(ds, LoaderOptions{BatchSize: 8})
	for rank := range 2 {
		p, n, _ := l.Part(Shard{Rank: rank, Ranks: 2})
		for b, _ := range p.Epoch(context.Background(), 0) {
			fmt.Println("rank", rank, n, "samples:", b.X.Data())
		}
	}
	// Output:
	// rank 0 2 samples: [0 1]
	// rank 1 3 samples: [2 3 4]
}
