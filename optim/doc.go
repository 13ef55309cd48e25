// Package optim provides the optimizers that update a model's parameters
// from their gradients — SGD (with momentum and Nesterov), Adam, AdamW,
// RMSprop and Adagrad — together with learning-rate schedules and gradient
// clipping.
//
// An optimizer is, as in PyTorch, hyperparameters plus per-parameter state
// plus a plain update function. The hyperparameters are the exported
// fields of a struct whose zero value means the documented defaults (the
// field names and defaults follow Keras 3), so that
//
//	opt := &optim.Adam{}                      // lr 0.001, β1 0.9, β2 0.999, ε 1e-7
//	opt := &optim.SGD{Base: optim.Base{LearningRate: 0.1}, Momentum: 0.9, Nesterov: true}
//
// are both ready to use. A field whose default is not zero reads 0 as "the
// default"; to ask for a true zero there (Adam's Beta1 = 0, as some GANs
// use, or Adagrad's InitialAccumulator = 0, PyTorch's default) set it to
// the sentinel Zero. The update rule of each optimizer is in its doc
// comment; the fused one-pass loops live in internal/kernels.
//
// A training step with an optimizer:
//
//	tape := autograd.NewTape(pool)
//	tape.Watch(params...)
//	loss := lossFn.Compute(model.Forward(x), y, nil)
//	grads, err := tape.Gradients(loss, params...)
//	if err == nil {
//		err = opt.Step(params, grads)   // updates params[i].Value in place
//	}
//	tape.Release()
//
// State: the per-parameter buffers (Adam's moment estimates, momentum, ...)
// are allocated on the first Step and keyed by the parameter's Name(), so
// the parameters must have unique non-empty names (nn's dotted paths).
// State returns them with the step counter as named tensors
// ("adam.m.dense1.kernel", "adam.v.dense1.kernel", "adam.step") for a
// checkpoint, and LoadState puts them back, before or after the first Step,
// so that a resumed run continues bit for bit. In steady state — the same
// parameters each Step — Step allocates nothing.
//
// Errors: Step returns an error for invalid hyperparameters, mismatched
// parameter and gradient lists, or parameters whose names are missing or
// repeated; LoadState returns an error for state that does not fit. The
// clipping functions, which are expressions, panic on a negative limit, and
// a Warmup schedule panics when it has no Then.
//
// Optimizers are not safe for concurrent use, and must not be copied after
// the first Step (use them through a pointer).
package optim
