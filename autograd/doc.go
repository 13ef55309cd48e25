// Package autograd is Strata's reverse-mode automatic differentiation: a
// tape records operations on tracked values during a forward pass, and
// Backward walks it in reverse to compute gradients (the GradientTape idea).
//
// Each op is written with its forward and backward side by side
// (ops_elementwise.go, ops_matmul.go, ops_conv.go, ...); broadcast
// gradients are reduced to the input's shape by one helper; gradients
// accumulate when a value is used more than once. Composite ops (Variance,
// LogSumExp) reuse primitives and need no backward of their own; fused ops
// (Dense, Conv2D with their activation, SoftmaxCrossEntropy) earn their own
// backward for speed and are tested against the composed version.
//
// # Lifetime of a tape
//
// A Tape lives for one step. Watch the variables you want gradients for,
// run the forward pass (ops whose inputs are all untracked are not
// recorded), call Gradients once, use the gradients, then Release:
//
//	tape := autograd.NewTape(pool)
//	tape.Watch(params...)
//	loss := ...
//	grads, err := tape.Gradients(loss, params...)
//	...
//	tape.Release()
//
// Every buffer the tape allocated (op outputs, gradients, scratch) comes
// from the Pool and goes back on Release, so that a training step in steady
// state allocates almost nothing: values and gradients read from a tape are
// valid only until Release. A second Backward, or any use after Release,
// is an error (ErrReleased).
//
// No tape, no overhead: with no watched input an op just computes its
// output (inference runs the same code without recording).
//
// # Errors
//
// Ops are expressions: a shape mismatch panics with a *tensor.ShapeError
// naming the op and the shapes. Drivers (train.Fit, nn.Build, the CLI)
// recover those and return errors; anything else propagates.
package autograd
