package zoo

import (
	"github.com/strata-dl/strata/dist"
	"github.com/strata-dl/strata/train"
)

// SetDataParallel makes the GAN's steps data-parallel over c (nil or one
// rank: single-process again): both optimizers average their gradients
// over the ranks (train.AveragedOptimizer), and the noise source is
// reseeded per rank so that the ranks draw different latent vectors, as
// separate samples of one large batch would be. BatchNormalization keeps
// per-rank batch and moving statistics; rank 0's are the ones saved.
func (t *GANTrainer) SetDataParallel(c dist.Communicator, _ train.DataParallelOptions) error {
	t.DOpt, t.GOpt = train.AverageOver(c, t.DOpt), train.AverageOver(c, t.GOpt)
	if c != nil && c.Size() > 1 {
		t.rngSrc.Seed(t.rng.Uint64(), uint64(c.Rank()))
	}
	return nil
}

// SetDataParallel makes the VAE's steps data-parallel over c (nil or one
// rank: single-process again): the optimizer averages its gradients over
// the ranks (train.AveragedOptimizer), and the noise source of the
// reparameterization is reseeded per rank.
func (t *VAETrainer) SetDataParallel(c dist.Communicator, _ train.DataParallelOptions) error {
	t.Opt = train.AverageOver(c, t.Opt)
	if c != nil && c.Size() > 1 {
		t.rngSrc.Seed(t.rng.Uint64(), uint64(c.Rank()))
	}
	return nil
}

var (
	_ train.DataParallelTrainer = (*GANTrainer)(nil)
	_ train.DataParallelTrainer = (*VAETrainer)(nil)
)
