// Package onnx exports Strata models to ONNX and imports ONNX models as
// Strata layers, with no cgo: the protobuf code is generated from ONNX's
// onnx.proto (package onnxpb).
//
// Export (Export, Save) writes a built model as an ONNX graph of opset 17
// that takes the same input as Strata ([batch, ...], NHWC for images; the
// batch dimension is dynamic). Convolutions and pooling are NCHW in ONNX:
// a transpose goes in where a run of such layers starts and ends, none
// inside it. Transformers export too (zoo.ViT, zoo.GPT, TransformerBlock,
// self-attention with its causal mask, position encodings) within opset
// 17: LayerNormalization, MatMul and Softmax, exact GELU through Erf.
// Struct models are taken apart in order through nn.Chained (or, failing
// that, their fields). The result is checked against the model's Forward before it
// is returned, and the package's tests run every zoo model through ONNX
// Runtime and onnx.checker.
//
// Import (Load, Decode, FromProto) returns a *Model, an nn.Layer that runs
// the graph over Strata's autograd ops: it runs at Strata's speed and
// train.Fit fine-tunes its float initializers. NCHW image models (as
// PyTorch exports them) are fed Strata's NHWC data by Forward; inside, a
// value may be held as NHWC while the graph sees NCHW, so that the
// transposes between convolution, pooling, normalization and elementwise
// nodes cost nothing.
//
// Errors: Decode checks the whole file first (tensor sizes against their
// shapes, dangling inputs, cycles, supported node types: an
// *UnsupportedError lists every unsupported node type at once), with
// memory bounded by the file's size; a shape computation at run time that
// asks for more than MaxElements is an error. Run returns errors;
// Forward, as an nn.Layer, panics with a *tensor.ShapeError that nn.Build,
// train.Fit and train.Predict turn into errors.
//
// Gradients flow through: Conv, ConvTranspose, Gemm, MatMul, the
// elementwise arithmetic (Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean,
// PRelu), the activations (Relu, LeakyRelu, Elu, Selu, Celu, Sigmoid, Tanh,
// Softplus, Softsign, HardSigmoid, HardSwish, ThresholdedRelu, Clip, Abs,
// Neg, Exp, Log, Sqrt, Reciprocal), MaxPool, AveragePool, the global
// poolings, BatchNormalization (inference), InstanceNormalization,
// LayerNormalization, MeanVarianceNormalization, Softmax, LogSoftmax,
// ReduceSum/Mean/Max/Min/L1/L2/SumSquare/LogSum/LogSumExp, RNN, LSTM, GRU,
// Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat, Split, Slice
// (step 1), Gather, DepthToSpace, SpaceToDepth and integer nearest Resize.
// The other supported operators (see SupportedOps) compute constants.
//
// Conformance: ONNX 1.12's node tests (Debian's libonnx-testdata) run as
// TestNodeConformance; the README lists the count per operator family.
// Documented rejections: 3-D Conv, ConvTranspose with group ≠ 1 or 3-D,
// 3-D pooling, Dropout in training mode with a non-zero ratio, LSTM
// peepholes, clip and input_forget, RNN
// activations other than Tanh, Sigmoid, Relu and Keras's HardSigmoid,
// bfloat16 and string tensors, Resize's tf_crop_and_resize, external data.
package onnx
