// Package nn provides layers and models, with Keras semantics and weight
// layouts:
//
//   - core: Dense, Activation, Dropout, Flatten, Reshape;
//   - convolutional (NHWC): Conv2D, ConvTranspose2D, MaxPool2D,
//     AveragePool2D, GlobalAveragePool2D, UpSampling2D;
//   - normalization: BatchNormalization, LayerNormalization;
//   - recurrent ([batch, time, features]): SimpleRNN, LSTM, GRU, with
//     Bidirectional, TimeDistributed and Embedding; Embedding(MaskZero)
//     masks padding and the recurrent layers skip masked steps (Keras's
//     mask propagation, see Ctx.Mask);
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
// A struct model may also own weights of its own (implement Weighted):
// its weights come first, then its layer fields'. Layers held in
// unexported fields are invisible to Children; Build reports them.
//
// # Saving a model: the rule for layer authors
//
// Every layer serializes its configuration (MarshalLayer, UnmarshalLayer;
// the modelfile package saves a whole model to one file with it). A layer
// type, or a struct model, is saveable when it follows three rules:
//
//   - configuration in exported fields that marshal to JSON (numbers,
//     strings, slices, arrays, plain structs). A field holding a layer, a
//     slice of layers or an interface value (Initializer, Regularizer)
//     is saved as {"type": name, "config": ...} of its registered type;
//   - weights in exported *autograd.Var fields (never saved in the
//     config; saved by path, see AllWeights), created when the layer is
//     built;
//   - derived state (resolved activations, caches, flags set while
//     building) in unexported fields, recomputed by Build.
//
// and its type is registered once, from an init function, with
// RegisterLayer(name, func() Layer { return &MyLayer{} }) (values of
// custom interface-typed fields with RegisterInitializer or
// RegisterRegularizer). The layers of nn are registered under their Go
// type names. A layer held in a field tagged `nn:"-"` is not a child and
// is not saved.
//
// # Activations
//
// Every Activation field (Dense, Conv2D, ConvTranspose2D, nn.Activation's
// Fn, TransformerBlock) and the Activation and RecurrentActivation fields
// of SimpleRNN, LSTM and GRU take a name of one vocabulary,
// autograd.Activations: relu, leaky_relu, elu, gelu, gelu_tanh, sigmoid,
// hard_sigmoid, tanh, softmax, softplus, silu, swish, linear. The
// recurrent layers run fused kernels that implement the subset tanh,
// sigmoid, hard_sigmoid, relu and linear; where both accept a name it
// computes the same function. Any other name is a *ConfigError
// whose message lists what that field accepts.
//
// "gelu" is exact GELU, x·Φ(x) = ½·x·(1 + erf(x/√2)), as in Keras 3 and
// PyTorch; "gelu_tanh" is the tanh approximation, which Dense and the
// convolutions fuse into their output pass. Before this vocabulary was
// shared, Dense's "gelu" meant the tanh approximation (TransformerBlock's
// already meant exact): a Dense model saved with "gelu" now computes
// exact GELU (it differs from the former by at most 4.8e-4); write "gelu_tanh"
// for the former form. "silu" and "swish" are one function, x·σ(x).
//
// # Shared fields
//
// SimpleRNN, LSTM and GRU declare their common fields (Units, Activation,
// ReturnSequences, ..., Name) with the same names, types, order and
// comments, and so do Conv2D and ConvTranspose2D; go doc shows them on
// each type. They are not an embedded struct on purpose: Go does not let
// a composite literal set a promoted field, so embedding would turn the
// Keras-style &nn.LSTM{Units: 64, ReturnSequences: true} into
// &nn.LSTM{RecurrentBase: nn.RecurrentBase{Units: 64, ...}} for every
// user, and change every saved configuration.
//
// Errors: Forward is an expression and panics with a *ShapeError naming
// the layer (or a *tensor.ShapeError from an op) on bad shapes, and with a
// *ConfigError on a bad hyperparameter (Units: 0, an unknown activation)
// or a lazy build without a random source. Build runs one forward pass on
// a dummy batch and returns those panics as errors; call it before
// training with data of user-supplied shape. CheckBuilt says whether a
// network is built (load weights only into a built one).
//
// Concurrency: a built network's Forward in inference mode (a zero Ctx)
// only reads its weights, so many goroutines may run it at once, each on
// its own tape (autograd.NewInferenceTape; train.Predict and
// train.Predictor do this, and are tested under -race). Training, Build
// and loading weights change the network and must not run alongside.
package nn
