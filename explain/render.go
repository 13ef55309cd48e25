package explain

import (
	"fmt"

	"github.com/strata-dl/strata/tensor"
)

// Reduce selects how Heatmap folds the channels of an attribution.
type Reduce int

const (
	// SumAbs is Σ_ch |a_ch|: total attribution mass per pixel (the default).
	SumAbs Reduce = iota
	// MaxAbs is max_ch |a_ch|, the saliency map of Simonyan et al.
	MaxAbs
	// Sum is Σ_ch a_ch, keeping the sign (evidence for and against).
	Sum
)

// Heatmap reduces an attribution of one image, [1, h, w, c] or [h, w, c],
// to a [h, w] map of Σ_ch |a_ch| (see HeatmapOf). It panics with a
// *tensor.ShapeError on another shape.
func Heatmap(attr *tensor.Tensor) *tensor.Tensor { return HeatmapOf(attr, SumAbs) }

// HeatmapOf reduces an attribution of one image, [1, h, w, c] or
// [h, w, c], to [h, w] with r. It panics with a *tensor.ShapeError on
// another shape or an unknown r.
func HeatmapOf(attr *tensor.Tensor, r Reduce) *tensor.Tensor {
	s := attr.Shape()
	if len(s) == 4 && s[0] == 1 {
		s = s[1:]
	}
	if len(s) != 3 {
		panic(&tensor.ShapeError{Op: "explain.Heatmap", Got: attr.Shape(), Want: []int{1, -1, -1, -1}, Msg: "attribution must be one image [1, h, w, c] or [h, w, c]"})
	}
	a := attr.Reshape(s...)
	switch r {
	case SumAbs:
		return tensor.Sum(tensor.Abs(a), false, 2)
	case MaxAbs:
		return tensor.Max(tensor.Abs(a), false, 2)
	case Sum:
		return tensor.Sum(a, false, 2)
	}
	panic(&tensor.ShapeError{Op: "explain.Heatmap", Got: attr.Shape(), Msg: fmt.Sprintf("unknown reduction %d", int(r))})
}

// Title returns the display name of a method: "saliency", "gradient ×
// input", "SmoothGrad", "integrated gradients", "occlusion", "Grad-CAM".
func Title(method string) string {
	switch method {
	case "gradxinput":
		return "gradient × input"
	case "smoothgrad":
		return "SmoothGrad"
	case "ig":
		return "integrated gradients"
	case "gradcam":
		return "Grad-CAM"
	case "attention":
		return "attention rollout"
	}
	return method
}

// Caption describes sample i of a for a picture, for example
// "class 7 (p=0.998) — integrated gradients", adding the predicted class
// when it differs from the explained one and the layer for Grad-CAM.
func Caption(a *Attribution, i int) string {
	s := fmt.Sprintf("class %d (p=%.3f)", a.Classes[i], a.Probs[i])
	if a.Predicted[i] != a.Classes[i] {
		s += fmt.Sprintf(", predicted %d (p=%.3f)", a.Predicted[i], a.PredictedProbs[i])
	}
	s += " — " + Title(a.Method)
	if a.Layer != "" {
		s += " (" + a.Layer + ")"
	}
	return s
}

// DisplayMap returns the [h, w] map drawn for sample i of an image
// attribution: the map itself for Grad-CAM, max_ch |a| for saliency and
// SmoothGrad, the signed channel sum for gradient × input and integrated
// gradients, and the (channel-independent) score drop for occlusion.
func DisplayMap(a *Attribution, i int) *tensor.Tensor {
	m := sample(a.Map, i)
	switch a.Method {
	case "saliency", "smoothgrad":
		return HeatmapOf(m, MaxAbs)
	case "gradcam", "occlusion", "attention":
		return HeatmapOf(tensor.SliceAxis(m, -1, 0, 1), Sum)
	}
	return HeatmapOf(m, Sum)
}
