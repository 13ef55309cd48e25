// Package explain attributes a classifier's decision to its input: which
// pixels made the network say "7".
//
// Methods (each a struct of hyperparameters whose zero value means the
// documented defaults, all implementing Method):
//
//   - Saliency: the vanilla gradient ∂F_c/∂x (Simonyan et al. 2014).
//   - GradientXInput: x ⊙ ∂F_c/∂x (Shrikumar et al. 2016).
//   - SmoothGrad: the gradient averaged over noisy copies of the input
//     (Smilkov et al. 2017).
//   - IntegratedGradients: (x − x′) ⊙ ∫₀¹ ∂F_c(x′ + α(x − x′))/∂x dα
//     (Sundararajan et al. 2017), with the completeness error
//     |Σ attributions − (F_c(x) − F_c(x′))| reported.
//   - Occlusion: F_c(x) − F_c(x with a window filled), averaged over the
//     windows covering each pixel (Zeiler & Fergus 2014). No gradients.
//   - GradCAM: the class activation map of a convolutional layer
//     (Selvaraju et al. 2017), upsampled to the input and scaled to [0, 1].
//
// F_c is the explained score of class c: the pre-softmax logit (Logit, the
// default) or the probability (Probability); see Target. The gradient
// methods record the model's forward pass on an autograd tape with the
// input watched and ask the tape for ∂F_c/∂x; no layer knows about
// explanations.
//
// Inputs are batches x [n, ...] (images NHWC [n, h, w, c]); a class index,
// or Predicted for each sample's own argmax. Every method returns an
// *Attribution whose Map has x's shape (GradCAM: [n, h, w, 1]) together
// with the explained classes and their probabilities.
//
// Errors: Attribute returns an error for inputs the model or the method
// cannot take (wrong shapes, a class out of range, a layer that is not
// there); it recovers only the project's shape panics and re-panics
// anything else. The rendering helpers (Heatmap) are expressions and panic
// with a *tensor.ShapeError on a wrong shape.
//
// Models are used in inference mode (nn.Ctx{}). GradCAM temporarily
// replaces the chosen layer in the model to record its output and puts it
// back before it returns: do not use the same model concurrently.
package explain
