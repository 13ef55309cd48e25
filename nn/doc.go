// Package nn provides layers and models, with Keras semantics and weight
// layouts:
//
//   - core: Dense, Activation, Dropout, Flatten, Reshape;
//   - convolutional (NHWC): Conv2D, ConvTranspose2D, MaxPool2D,
//     AveragePool2D, GlobalAveragePool2D, UpSampling2D;
//   - normalization: BatchNormalization, LayerNormalization;
//   - recurrent ([batch, time, features]): SimpleRNN, LSTM, GRU, with
//     Bidirectional, TimeDistributed and Embedding;
//   - containers: Sequential, and any Go struct whose fields are layers;
//   - initializers (GlorotUniform, HeNormal, Orthogonal, ...) and
//     regularizers (L1, L2, L1L2).
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
