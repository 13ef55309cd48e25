package explain

import (
	"context"
	"fmt"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// AttentionModel is a Transformer over image patches that can return the
// attention probabilities of its blocks (zoo.ViT does): maps[l] is block
// l's [n, heads, T, T] for T = rows·cols patches in row-major order.
type AttentionModel interface {
	AttentionMaps(x *tensor.Tensor) (maps []*tensor.Tensor, rows, cols int, err error)
}

// AttentionRollout is attention rollout (Abnar & Zuidema 2020): the
// attention of each block, averaged over heads and mixed with the
// identity for the residual connection, is multiplied through the
// blocks,
//
//	Â_l = Residual·I + (1 − Residual)·mean_h A_l,   R = Â_L ··· Â_1,
//
// and patch j's relevance is the mean over output tokens i of R[i, j]
// (the model pools by averaging its tokens). The patch map is upsampled
// bilinearly to the image and scaled to [0, 1] per sample: the map is
// [n, h, w, 1]. It shows where the model looks, not for which class: the
// same map serves every class. The model must implement AttentionModel.
type AttentionRollout struct {
	Residual float64 `json:"residual"` // weight of the identity; zero means 0.5
}

// Name returns "attention".
func (AttentionRollout) Name() string { return "attention" }

// Attribute returns the rollout map [n, h, w, 1] for images x [n, h, w, c].
func (m AttentionRollout) Attribute(ctx context.Context, net nn.Layer, x *tensor.Tensor, class int) (a *Attribution, err error) {
	defer guard(m.Name(), &err)
	am, ok := net.(AttentionModel)
	if !ok {
		return nil, fmt.Errorf("explain: %s: the model (%T) does not expose attention maps; attention rollout needs a Vision Transformer such as zoo.ViT", m.Name(), net)
	}
	if x != nil && x.Rank() != 4 {
		return nil, fmt.Errorf("explain: %s: %w, got %v", m.Name(), errNoRank4, x.Shape())
	}
	s, err := start(ctx, m.Name(), net, x, class, Logit)
	if err != nil {
		return nil, err
	}
	maps, rows, cols, err := am.AttentionMaps(x)
	if err != nil {
		return nil, fmt.Errorf("explain: %s: %w", m.Name(), err)
	}
	res := m.Residual
	if res == 0 {
		res = 0.5
	}
	n, T := x.Dim(0), rows*cols
	rel := tensor.Zeros(n, rows, cols)
	for i := range n {
		copy(rel.Data()[i*T:(i+1)*T], rollout(maps, i, T, res))
	}
	r := resizeBilinear(rel, x.Dim(1), x.Dim(2))
	lo := tensor.Min(r, true, 1, 2)
	span := tensor.Maximum(tensor.Sub(tensor.Max(r, true, 1, 2), lo), tensor.Scalar(1e-12))
	s.a.Map = tensor.Div(tensor.Sub(r, lo), span).Reshape(n, x.Dim(1), x.Dim(2), 1)
	return s.a, nil
}

// rollout returns the column means of R = Â_L ··· Â_1 for sample i.
func rollout(maps []*tensor.Tensor, i, T int, res float64) []float32 {
	r := make([]float64, T*T) // R, starting at the identity
	for j := range T {
		r[j*T+j] = 1
	}
	next := make([]float64, T*T)
	a := make([]float64, T*T)
	for _, mp := range maps {
		heads := mp.Dim(1)
		d := mp.Data()[i*heads*T*T : (i+1)*heads*T*T]
		for k := range a {
			a[k] = res * b2f(k/T == k%T)
		}
		for h := range heads {
			for k, v := range d[h*T*T : (h+1)*T*T] {
				a[k] += (1 - res) * float64(v) / float64(heads)
			}
		}
		clear(next)
		for p := range T { // next = Â_l · R
			for q := range T {
				if w := a[p*T+q]; w != 0 {
					for j := range T {
						next[p*T+j] += w * r[q*T+j]
					}
				}
			}
		}
		r, next = next, r
	}
	out := make([]float32, T)
	for p := range T {
		for j := range T {
			out[j] += float32(r[p*T+j] / float64(T))
		}
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
