// Package nn provides layers and models: Dense, Conv2D, pooling, Flatten,
// Reshape, Dropout, BatchNormalization, LayerNormalization, activations,
// Sequential, initializers and regularizers.
//
// A layer is a plain struct whose exported fields are its hyperparameters
// (zero values mean the documented Keras defaults) and whose weights are
// autograd Vars created on first use from the input shape. A model is
// either a Sequential or any Go struct whose exported fields are layers,
// with a Forward method written by hand:
//
//	type SimpleNet struct{ Dense1, Dense2, Dense3 *nn.Dense }
//
//	func (m *SimpleNet) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
//		return m.Dense3.Forward(c, m.Dense2.Forward(c, m.Dense1.Forward(c, x)))
//	}
//
// Weights are found by walking the model (Children, AllWeights) and named
// by dotted paths from field or layer names ("dense1.kernel"); these paths
// are the checkpoint format.
//
// Errors: Forward is an expression and panics with a *ShapeError naming
// the layer (or a *tensor.ShapeError from an op) on bad shapes. Build runs
// one forward pass on a dummy batch and returns those panics as errors;
// call it before training with data of user-supplied shape.
package nn
