package run

import (
	"github.com/strata-dl/strata/train"
)

// Data parallelism (Options.Comm with several ranks): every rank runs the
// same training call with the same configuration. Rank 0, the leader,
// creates, locks and writes the run directory and prints; the other ranks,
// followers, train their part of every global batch (the config's batch
// size is the global batch, split over the ranks) and write nothing. A
// resumed run's checkpoint is read by every rank, from a directory that all
// hosts share.

// follower reports whether this process is a rank other than 0.
func (s *session) follower() bool { return s.o.Comm != nil && s.o.Comm.Rank() != 0 }

// ranks returns the number of ranks of the run (1 without a communicator).
func (s *session) ranks() int {
	if s.o.Comm == nil {
		return 1
	}
	return s.o.Comm.Size()
}

// followerResult is what a training call returns on a rank other than 0.
func (s *session) followerResult(hist *train.History) *Result {
	return &Result{Dir: s.dir.Path, History: hist}
}

// onFollowers keeps the callbacks that every rank must run because they
// change training (early stopping, learning rates) and drops those that
// write files, which rank 0 alone runs.
func onFollowers(cbs []train.Callback) []train.Callback {
	var out []train.Callback
	for _, cb := range cbs {
		switch cb.(type) {
		case *train.EarlyStopping, *train.ReduceLROnPlateau, *train.LearningRateScheduler, train.TerminateOnNaN, *train.TerminateOnNaN:
			out = append(out, cb)
		}
	}
	return out
}
