package data

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// Shard names one rank's part of data-parallel training: rank Rank of Ranks
// processes that together consume global batches of GlobalBatch samples.
type Shard struct {
	Rank, Ranks int
	// GlobalBatch is the number of samples of a global batch, split over
	// the ranks; 0 means Ranks × the loader's BatchSize (the loader's batch
	// size is then the per-rank batch, as with PyTorch's
	// DistributedSampler).
	GlobalBatch int
}

// global returns the global batch size for loader l.
func (s Shard) global(l *Loader) int {
	if s.GlobalBatch > 0 {
		return s.GlobalBatch
	}
	return s.Ranks * l.opts.BatchSize
}

func (s Shard) check(l *Loader) error {
	if s.Ranks < 1 || s.Rank < 0 || s.Rank >= s.Ranks {
		return fmt.Errorf("data: shard: rank %d of %d ranks", s.Rank, s.Ranks)
	}
	if s.GlobalBatch < 0 {
		return fmt.Errorf("data: shard: global batch %d is negative", s.GlobalBatch)
	}
	if g := s.global(l); g < s.Ranks {
		return fmt.Errorf("data: shard: a global batch of %d samples cannot be split over %d ranks", g, s.Ranks)
	}
	if l.ds == nil {
		return errors.New("data: shard: sharding needs a Dataset (random access), not a stream Source")
	}
	return nil
}

// part returns the bounds [lo, hi) of rank r's part of a global batch of m
// samples: ⌊r·m/N⌋ to ⌊(r+1)·m/N⌋, so that the parts differ in size by at
// most one and tile the batch in rank order.
func (s Shard) part(m int) (lo, hi int) {
	return s.Rank * m / s.Ranks, (s.Rank + 1) * m / s.Ranks
}

// ShardLen returns the number of batches of an epoch under s (the same on
// every rank): ⌈n/G⌉ global batches of G samples, less a last one that
// DropLast drops or that has fewer samples than there are ranks.
func (l *Loader) ShardLen(s Shard) (int, error) {
	if err := s.check(l); err != nil {
		return 0, err
	}
	n, g := l.ds.Len(), s.global(l)
	k, rem := n/g, n%g
	if rem >= s.Ranks && !l.opts.DropLast {
		k++
	}
	return k, nil
}

// ShardEpochFrom is EpochFrom for one rank of data-parallel training: rank
// r of N receives, as its batch k, samples ⌊r·m/N⌋ to ⌊(r+1)·m/N⌋ of the
// global batch k — the m = G samples Order(epoch)[k·G : (k+1)·G] (fewer for
// the last one). The ranks' parts are disjoint, tile the global batch in
// rank order and depend only on (Seed, epoch), so that N ranks at per-rank
// batch B see exactly the samples that one process sees at batch N·B.
// Indices are indices into the dataset, as with EpochFrom.
//
// A last global batch with fewer samples than ranks is dropped (a rank
// would have nothing to train on); DropLast drops any short last batch.
// Augment, when set, draws from a stream seeded from (Seed, rank, epoch,
// batch): the ranks augment their samples independently, so augmented
// training is not bit-identical to one process. Prefetch works as with
// EpochFrom.
func (l *Loader) ShardEpochFrom(ctx context.Context, epoch, start int, s Shard) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		k, err := l.ShardLen(s)
		if err != nil {
			yield(nil, err)
			return
		}
		g := s.global(l)
		order := l.Order(epoch)
		lo, hi := s.part(g)
		idx := make([]int, 0, k*(hi-lo))
		for b := range k {
			m := min(g, len(order)-b*g)
			plo, phi := s.part(m)
			idx = append(idx, order[b*g+plo:b*g+phi]...)
		}
		opts := l.opts
		opts.BatchSize, opts.Shuffle, opts.DropLast = hi-lo, false, false
		opts.Seed = splitmix(l.opts.Seed ^ splitmix(uint64(s.Rank)))
		if s.Ranks == 1 {
			opts.Seed = l.opts.Seed
		}
		sub, err := newLoader(indexed{l.ds, idx}, nil, l.xshape, l.yshape, opts)
		if err != nil {
			yield(nil, err)
			return
		}
		for b, err := range sub.EpochFrom(ctx, epoch, start) {
			if b != nil {
				for j, i := range b.Indices {
					b.Indices[j] = idx[i]
				}
			}
			if !yield(b, err) {
				return
			}
		}
	}
}

// indexed is the dataset of the samples idx of ds, in that order.
type indexed struct {
	ds  Dataset
	idx []int
}

func (d indexed) Len() int                         { return len(d.idx) }
func (d indexed) XShape() []int                    { return d.ds.XShape() }
func (d indexed) YShape() []int                    { return d.ds.YShape() }
func (d indexed) Read(i int, x, y []float32) error { return d.ds.Read(d.idx[i], x, y) }

// Part returns a loader, with l's options, over rank r's contiguous part
// of l's dataset: samples ⌊r·n/N⌋ to ⌊(r+1)·n/N⌋ (in dataset order, before
// any shuffling). The parts of the N ranks cover every sample exactly
// once, which is what evaluating over ranks needs; it also returns the
// part's number of samples.
func (l *Loader) Part(s Shard) (*Loader, int, error) {
	if s.Ranks < 1 || s.Rank < 0 || s.Rank >= s.Ranks {
		return nil, 0, fmt.Errorf("data: part: rank %d of %d ranks", s.Rank, s.Ranks)
	}
	if l.ds == nil {
		return nil, 0, errors.New("data: part: splitting needs a Dataset (random access), not a stream Source")
	}
	lo, hi := s.part(l.ds.Len())
	idx := make([]int, hi-lo)
	for i := range idx {
		idx[i] = lo + i
	}
	p := &Loader{ds: indexed{l.ds, idx}, opts: l.opts, xshape: l.xshape, yshape: l.yshape, xsize: l.xsize, ysize: l.ysize}
	return p, hi - lo, nil
}
