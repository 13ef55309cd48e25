package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/bits"
	"math/rand/v2"
	"sync"

	"github.com/strata-dl/strata/tensor"
)

// DefaultBatchSize is the batch size of a Loader whose options leave it 0.
const DefaultBatchSize = 32

// DefaultShuffleBuffer is the shuffle buffer of a stream Loader whose options
// leave it 0.
const DefaultShuffleBuffer = 1024

// LoaderOptions configures a Loader. The zero value means batches of 32 in
// dataset order, keeping the last partial batch, without prefetch.
type LoaderOptions struct {
	// BatchSize is the number of samples per batch; 0 means 32.
	BatchSize int `json:"batch_size,omitempty"`
	// Shuffle reorders the samples every epoch. The order of epoch e is a
	// function of (Seed, e) alone, so a resumed run sees the same batches.
	Shuffle bool `json:"shuffle,omitempty"`
	// Seed seeds the shuffling and the random numbers given to Augment.
	Seed uint64 `json:"seed,omitempty"`
	// DropLast drops the last batch of an epoch when it is smaller than
	// BatchSize. By default it is kept.
	DropLast bool `json:"drop_last,omitempty"`
	// Prefetch prepares the next batch in a background goroutine while the
	// caller uses the current one, alternating between two buffers.
	Prefetch bool `json:"prefetch,omitempty"`
	// ShuffleBuffer is, for a Loader over a Source, the number of samples
	// held in memory to shuffle from (as tf.data's shuffle buffer); 0 means
	// 1024. A Loader over a Dataset shuffles fully and ignores it.
	ShuffleBuffer int `json:"shuffle_buffer,omitempty"`
	// Augment, when not nil, modifies each batch in place after it is read,
	// with rng seeded from (Seed, epoch, batch index) so that the result
	// does not depend on prefetching or resuming. It is called from one
	// goroutine at a time, which with Prefetch is not the caller's.
	Augment func(rng *rand.Rand, b *Batch) error `json:"-"`
}

// Batch is a group of samples. X is [m, XShape...] and Y [m, YShape...] (nil
// for a dataset without targets), where m is the batch size, or less for the
// last batch of an epoch.
//
// A Loader reuses its batches' storage: a Batch and its tensors are valid
// until the loop asks for the next one. Clone what must outlive that.
type Batch struct {
	X, Y *tensor.Tensor
	// Indices are the samples' indices in the dataset (for a Source, their
	// positions in the pass).
	Indices []int
	// Epoch is the epoch the batch belongs to; Index is its number in the
	// epoch, from 0.
	Epoch, Index int
}

// Loader iterates over a Dataset or a Source in batches. A Loader may run
// several epochs at once (each has its own buffers) if the Dataset's Read
// and the Augment function allow concurrent calls; an Augmenter does not.
type Loader struct {
	ds     Dataset
	src    Source
	opts   LoaderOptions
	xshape []int
	yshape []int // nil: no targets
	xsize  int
	ysize  int

	mu    sync.Mutex
	spare []*buffers // batch storage of finished epochs, for reuse
}

// NewLoader returns a Loader over ds. It returns an error if ds is empty, its
// samples have no elements or the options are invalid. A batch size larger
// than the dataset is capped at its size (the one batch is the same; only
// the buffers shrink), or refused with DropLast, which would leave no batch.
func NewLoader(ds Dataset, opts LoaderOptions) (*Loader, error) {
	if ds == nil {
		return nil, errors.New("data: loader: no dataset")
	}
	if t, ok := ds.(Tensors); ok {
		if err := t.Validate(); err != nil {
			return nil, err
		}
	}
	if ds.Len() <= 0 {
		return nil, fmt.Errorf("data: loader: dataset has %d samples", ds.Len())
	}
	return newLoader(ds, nil, ds.XShape(), ds.YShape(), opts)
}

// NewStreamLoader returns a Loader over src. With Shuffle, samples are drawn
// at random from a buffer of ShuffleBuffer samples that the stream refills,
// so the order is random only within that window.
func NewStreamLoader(src Source, opts LoaderOptions) (*Loader, error) {
	if src == nil {
		return nil, errors.New("data: loader: no source")
	}
	return newLoader(nil, src, src.XShape(), src.YShape(), opts)
}

func newLoader(ds Dataset, src Source, xshape, yshape []int, opts LoaderOptions) (*Loader, error) {
	if opts.BatchSize < 0 || opts.ShuffleBuffer < 0 {
		return nil, fmt.Errorf("data: loader: batch size %d and shuffle buffer %d must not be negative", opts.BatchSize, opts.ShuffleBuffer)
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.ShuffleBuffer == 0 {
		opts.ShuffleBuffer = DefaultShuffleBuffer
	}
	for _, d := range append(append([]int(nil), xshape...), yshape...) {
		if d < 0 {
			return nil, fmt.Errorf("data: loader: sample shapes %v and %v have a negative dimension", xshape, yshape)
		}
	}
	if tensor.Numel(xshape) == 0 {
		return nil, fmt.Errorf("data: loader: sample shape %v has no elements", xshape)
	}
	if ds != nil && opts.BatchSize > ds.Len() {
		if opts.DropLast {
			return nil, fmt.Errorf("data: loader: batch size %d with DropLast leaves no batch of a %d-sample dataset", opts.BatchSize, ds.Len())
		}
		// One batch of every sample either way; the buffers need be no larger.
		opts.BatchSize = ds.Len()
	}
	l := &Loader{ds: ds, src: src, opts: opts, xshape: append([]int(nil), xshape...), xsize: tensor.Numel(xshape)}
	if yshape != nil {
		l.yshape = append([]int{}, yshape...)
		l.ysize = tensor.Numel(yshape)
	}
	return l, nil
}

// Options returns the loader's options with the defaults filled in.
func (l *Loader) Options() LoaderOptions { return l.opts }

// Len returns the number of batches in an epoch, or -1 for a Source, whose
// length is unknown.
func (l *Loader) Len() int {
	if l.ds == nil {
		return -1
	}
	n, bs := l.ds.Len(), l.opts.BatchSize
	if l.opts.DropLast {
		return n / bs
	}
	return (n + bs - 1) / bs
}

// Order returns the order in which epoch visits the samples of the dataset:
// 0, 1, … n−1 without Shuffle, else a permutation that depends only on
// (Seed, epoch). It returns nil for a Source.
func (l *Loader) Order(epoch int) []int {
	if l.ds == nil {
		return nil
	}
	order := make([]int, l.ds.Len())
	for i := range order {
		order[i] = i
	}
	if l.opts.Shuffle {
		src := rand.NewPCG(l.opts.Seed, streamKey(keyShuffle, epoch, 0))
		for i := len(order) - 1; i > 0; i-- { // Fisher–Yates
			j := int(boundedRand(src, uint64(i+1)))
			order[i], order[j] = order[j], order[i]
		}
	}
	return order
}

// Epoch returns the batches of epoch (counted from 0) as an iterator:
//
//	for b, err := range l.Epoch(ctx, epoch) { … }
//
// An error ends the iteration: it is yielded once with a nil batch. A
// cancelled ctx yields ctx.Err(). Breaking out of the loop stops the
// background goroutine, if any, before the loop statement returns, so
// nothing is left running. Each batch is valid until the next iteration.
// (iter.Pull2 turns the iterator into a Next-style one; call its stop
// function when done.)
func (l *Loader) Epoch(ctx context.Context, epoch int) iter.Seq2[*Batch, error] {
	return l.EpochFrom(ctx, epoch, 0)
}

// EpochFrom is Epoch starting at batch number start, for resuming an
// interrupted epoch: the batches (and their augmentation) are the same as
// those Epoch yields from that point. A Dataset is not read for the skipped
// batches; a Source is read through them.
func (l *Loader) EpochFrom(ctx context.Context, epoch, start int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		if start < 0 {
			yield(nil, fmt.Errorf("data: loader: start batch %d is negative", start))
			return
		}
		if n := l.Len(); n >= 0 && start > n {
			yield(nil, fmt.Errorf("data: loader: cannot start at batch %d: an epoch has %d batches (%d samples in batches of %d); a checkpoint positioned there belongs to another data set or batch size, or was edited",
				start, n, l.ds.Len(), l.opts.BatchSize))
			return
		}
		if err := ctx.Err(); err != nil {
			yield(nil, err)
			return
		}
		r, err := l.begin(epoch, start)
		if err != nil {
			yield(nil, err)
			return
		}
		defer r.end()
		if l.opts.Prefetch {
			r.prefetch(ctx, yield)
			return
		}
		b := r.bufs.batches[0]
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			ok, err := r.fill(b)
			if err != nil {
				yield(nil, err)
				return
			}
			if !ok || !yield(b, nil) {
				return
			}
		}
	}
}

// buffers is the storage of an epoch's two batches.
type buffers struct {
	batches [2]*Batch
	full    [2][2]*tensor.Tensor // the full-size X and Y of each batch
}

func (l *Loader) getBuffers() *buffers {
	l.mu.Lock()
	if n := len(l.spare); n > 0 {
		b := l.spare[n-1]
		l.spare = l.spare[:n-1]
		l.mu.Unlock()
		return b
	}
	l.mu.Unlock()
	bs := l.opts.BatchSize
	bufs := &buffers{}
	for i := range bufs.batches {
		x := tensor.Zeros(append([]int{bs}, l.xshape...)...)
		var y *tensor.Tensor
		if l.yshape != nil {
			y = tensor.Zeros(append([]int{bs}, l.yshape...)...)
		}
		bufs.full[i] = [2]*tensor.Tensor{x, y}
		bufs.batches[i] = &Batch{Indices: make([]int, bs)}
	}
	return bufs
}

func (l *Loader) putBuffers(b *buffers) {
	l.mu.Lock()
	if len(l.spare) < 2 {
		l.spare = append(l.spare, b)
	}
	l.mu.Unlock()
}

// run is the state of one epoch.
type run struct {
	l     *Loader
	epoch int
	start int // first batch to yield
	next  int // number of the next batch
	bufs  *buffers

	// Dataset state.
	order []int
	pos   int

	// Source state.
	rd      SampleReader
	eof     bool
	ordinal int        // position of the next sample read from the stream
	shuf    []float32  // shuffle buffer: ShuffleBuffer samples of xsize+ysize
	shufIdx []int      // ordinal of each sample in shuf
	shufLen int        // samples held
	shufSrc *rand.PCG  // draws from the buffer
	augSrc  *rand.PCG  // reseeded for every batch
	augRNG  *rand.Rand // wraps augSrc
}

func (l *Loader) begin(epoch, start int) (*run, error) {
	r := &run{l: l, epoch: epoch, start: start, bufs: l.getBuffers()}
	if l.opts.Augment != nil {
		r.augSrc = rand.NewPCG(0, 0)
		r.augRNG = rand.New(r.augSrc)
	}
	if l.ds != nil {
		r.order = l.Order(epoch)
		r.pos = min(start*l.opts.BatchSize, len(r.order))
		r.next = start
		return r, nil
	}
	rd, err := l.src.Open()
	if err != nil {
		l.putBuffers(r.bufs)
		return nil, err
	}
	r.rd = rd
	if l.opts.Shuffle {
		r.shufSrc = rand.NewPCG(l.opts.Seed, streamKey(keyStream, epoch, 0))
	}
	return r, nil
}

func (r *run) end() {
	if r.rd != nil {
		r.rd.Close()
	}
	r.l.putBuffers(r.bufs)
}

// fill puts the next batch into b; it returns false at the end of the epoch.
func (r *run) fill(b *Batch) (bool, error) {
	for {
		m, err := r.read(b)
		if err == nil && m == 0 && r.next < r.start {
			return false, fmt.Errorf("data: loader: cannot start at batch %d: the stream ended after %d batches; a checkpoint positioned there belongs to another data set or batch size, or was edited", r.start, r.next)
		}
		if err != nil || m == 0 {
			return false, err
		}
		if m < r.l.opts.BatchSize && r.l.opts.DropLast {
			return false, nil
		}
		idx := r.next
		r.next++
		if idx < r.start {
			continue // a Source being skipped to the start batch
		}
		b.Epoch, b.Index = r.epoch, idx
		if aug := r.l.opts.Augment; aug != nil {
			r.augSrc.Seed(r.l.opts.Seed, streamKey(keyAugment, r.epoch, idx))
			if err := aug(r.augRNG, b); err != nil {
				return false, fmt.Errorf("data: augment batch %d of epoch %d: %w", idx, r.epoch, err)
			}
		}
		return true, nil
	}
}

// read reads up to BatchSize samples into b and returns how many.
func (r *run) read(b *Batch) (int, error) {
	l := r.l
	slot := 0
	if b == r.bufs.batches[1] {
		slot = 1
	}
	xfull, yfull := r.bufs.full[slot][0], r.bufs.full[slot][1]
	xd := xfull.Data()
	var yd []float32
	if yfull != nil {
		yd = yfull.Data()
	}
	bs, xs, ys := l.opts.BatchSize, l.xsize, l.ysize
	b.Indices = b.Indices[:cap(b.Indices)]
	m := 0
	if l.ds != nil {
		m = min(bs, len(r.order)-r.pos)
		for j := range m {
			i := r.order[r.pos+j]
			var y []float32
			if yd != nil {
				y = yd[j*ys : (j+1)*ys]
			}
			if err := l.ds.Read(i, xd[j*xs:(j+1)*xs], y); err != nil {
				return 0, fmt.Errorf("data: read sample %d: %w", i, err)
			}
			b.Indices[j] = i
		}
		r.pos += m
	} else {
		for m < bs {
			var y []float32
			if yd != nil {
				y = yd[m*ys : (m+1)*ys]
			}
			ok, err := r.nextSample(xd[m*xs:(m+1)*xs], y, &b.Indices[m])
			if err != nil {
				return 0, err
			}
			if !ok {
				break
			}
			m++
		}
	}
	b.Indices = b.Indices[:m]
	if m == bs {
		b.X, b.Y = xfull, yfull
	} else if m > 0 {
		b.X = xfull.Slice(0, m)
		b.Y = nil
		if yfull != nil {
			b.Y = yfull.Slice(0, m)
		}
	}
	return m, nil
}

// nextSample copies the next sample of the stream (drawn from the shuffle
// buffer when shuffling) into x and y.
func (r *run) nextSample(x, y []float32, ordinal *int) (bool, error) {
	l := r.l
	if r.shufSrc == nil {
		if r.eof {
			return false, nil
		}
		if err := r.rd.Next(x, y); err != nil {
			if err == io.EOF {
				r.eof = true
				return false, nil
			}
			return false, fmt.Errorf("data: read sample %d of the stream: %w", r.ordinal, err)
		}
		*ordinal = r.ordinal
		r.ordinal++
		return true, nil
	}
	ss := l.xsize + l.ysize
	if r.shuf == nil {
		r.shuf = make([]float32, 0, min(l.opts.ShuffleBuffer, 1<<10)*ss)
	}
	// Top the buffer up.
	for !r.eof && r.shufLen < l.opts.ShuffleBuffer {
		if (r.shufLen+1)*ss > len(r.shuf) {
			r.shuf = append(r.shuf, make([]float32, ss)...)
			r.shufIdx = append(r.shufIdx, 0)
		}
		s := r.shuf[r.shufLen*ss : (r.shufLen+1)*ss]
		var sy []float32
		if l.yshape != nil {
			sy = s[l.xsize:]
		}
		if err := r.rd.Next(s[:l.xsize], sy); err != nil {
			if err == io.EOF {
				r.eof = true
				break
			}
			return false, fmt.Errorf("data: read sample %d of the stream: %w", r.ordinal, err)
		}
		r.shufIdx[r.shufLen] = r.ordinal
		r.ordinal++
		r.shufLen++
	}
	if r.shufLen == 0 {
		return false, nil
	}
	k := int(boundedRand(r.shufSrc, uint64(r.shufLen)))
	s := r.shuf[k*ss : (k+1)*ss]
	copy(x, s[:l.xsize])
	copy(y, s[l.xsize:])
	*ordinal = r.shufIdx[k]
	// Fill the hole with the last sample; the next call tops up again.
	last := r.shufLen - 1
	copy(s, r.shuf[last*ss:(last+1)*ss])
	r.shufIdx[k] = r.shufIdx[last]
	r.shufLen--
	return true, nil
}

// fillResult is what the prefetch goroutine hands over.
type fillResult struct {
	b     *Batch
	ok    bool
	err   error
	panic any // a panic in the goroutine, re-raised on the caller's
}

// prefetch runs fill in a goroutine, one batch ahead of the caller, with the
// two buffers alternating. It returns only after the goroutine has exited.
func (r *run) prefetch(ctx context.Context, yield func(*Batch, error) bool) {
	free := make(chan *Batch, 2)
	free <- r.bufs.batches[0]
	free <- r.bufs.batches[1]
	ready := make(chan fillResult)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var b *Batch
			select {
			case b = <-free:
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
			res := r.safeFill(b)
			select {
			case ready <- res:
			case <-stop:
				return
			}
			if !res.ok {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for {
		if err := ctx.Err(); err != nil {
			yield(nil, err)
			return
		}
		var res fillResult
		select {
		case res = <-ready:
		case <-ctx.Done():
			yield(nil, ctx.Err())
			return
		}
		if res.panic != nil {
			panic(res.panic)
		}
		if res.err != nil {
			yield(nil, res.err)
			return
		}
		if !res.ok || !yield(res.b, nil) {
			return
		}
		free <- res.b // never blocks: only two batches circulate
	}
}

func (r *run) safeFill(b *Batch) (res fillResult) {
	defer func() {
		if p := recover(); p != nil {
			res = fillResult{panic: p}
		}
	}()
	ok, err := r.fill(b)
	return fillResult{b: b, ok: ok && err == nil, err: err}
}

// Keys that separate the random streams derived from one seed.
const (
	keyShuffle = 1 + iota
	keyAugment
	keyStream
)

// streamKey derives the second PCG seed word for a (purpose, epoch, batch)
// triple with the SplitMix64 finalizer, so that nearby triples give
// unrelated streams.
func streamKey(purpose, epoch, batch int) uint64 {
	h := uint64(purpose)
	for _, v := range []uint64{uint64(epoch), uint64(batch)} {
		h = splitmix(h ^ splitmix(v))
	}
	return h
}

func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// boundedRand returns a uniform integer in [0, n) from src (Lemire's
// method). It is written out, rather than taken from math/rand/v2, so that
// shuffles stay the same across Go releases: PCG's output is specified.
func boundedRand(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}
