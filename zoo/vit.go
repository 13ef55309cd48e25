package zoo

import (
	"fmt"

	"github.com/strata-dl/strata/tensor"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
)

// ViTOptions configure NewViT. Zero values mean the defaults in brackets,
// sized for MNIST.
type ViTOptions struct {
	Classes    int     `json:"classes"`           // output classes (required)
	PatchSize  int     `json:"patch_size"`        // square patches [4]
	DModel     int     `json:"d_model"`           // token width [64]
	Layers     int     `json:"layers"`            // encoder blocks [4]
	Heads      int     `json:"heads"`             // attention heads [4]
	FFDim      int     `json:"ff_dim"`            // feed-forward width [2·DModel]
	Dropout    float32 `json:"dropout,omitempty"` // in training [0]
	MaxPatches int     `json:"max_patches"`       // learned positions [64]
}

// WithDefaults returns o with its zero values replaced by the defaults.
func (o ViTOptions) WithDefaults() ViTOptions {
	o.PatchSize = orDefault(o.PatchSize, 4)
	o.DModel = orDefault(o.DModel, 64)
	o.Layers = orDefault(o.Layers, 4)
	o.Heads = orDefault(o.Heads, 4)
	o.FFDim = orDefault(o.FFDim, 2*o.DModel)
	o.MaxPatches = orDefault(o.MaxPatches, 64)
	return o
}

// ViT is a small Vision Transformer (Dosovitskiy et al. 2021) for NHWC
// images x [B, H, W, C]: non-overlapping P×P patches are embedded
// linearly (a stride-P convolution), learned position embeddings are
// added, pre-LN encoder blocks mix the patches, and the mean over the
// patches (instead of a class token) goes through a layer norm to a
// dense softmax:
//
//	z₀ = Patch(x) + P;  z_l = Block_l(z_{l−1});  y = softmax(LN(mean_t z_L)·W + b)
//
// output [B, classes]. H and W must be multiples of P with at most
// MaxPatches patches.
type ViT struct {
	Patch    *nn.Conv2D
	Position *nn.PositionEmbedding
	Blocks   []*nn.TransformerBlock
	Pool     *nn.GlobalAveragePooling1D
	Norm     *nn.LayerNormalization
	Head     *nn.Dense
	Options  ViTOptions
}

// NewViT returns an unbuilt ViT; see ViTOptions.
func NewViT(o ViTOptions) (*ViT, error) {
	if o.Classes < 1 {
		return nil, fmt.Errorf("vit: %d classes (want at least 1)", o.Classes)
	}
	o = o.WithDefaults()
	if o.PatchSize < 1 || o.DModel < 1 || o.Layers < 1 || o.Heads < 1 || o.DModel%o.Heads != 0 || !(o.Dropout >= 0 && o.Dropout < 1) {
		return nil, fmt.Errorf("vit: patch %d, d_model %d, layers %d, heads %d (must divide d_model), dropout %v in [0, 1): bad options", o.PatchSize, o.DModel, o.Layers, o.Heads, o.Dropout)
	}
	m := &ViT{
		Patch:    &nn.Conv2D{Name: "patch", Filters: o.DModel, KernelSize: [2]int{o.PatchSize, o.PatchSize}, Strides: [2]int{o.PatchSize, o.PatchSize}},
		Position: &nn.PositionEmbedding{Name: "position_embedding", MaxLength: o.MaxPatches},
		Pool:     &nn.GlobalAveragePooling1D{Name: "pool"},
		Norm:     &nn.LayerNormalization{Name: "norm", Epsilon: 1e-5},
		Head:     &nn.Dense{Name: "head", Units: o.Classes, Activation: "softmax"},
		Options:  o,
	}
	for i := range o.Layers {
		m.Blocks = append(m.Blocks, &nn.TransformerBlock{Name: fmt.Sprintf("block_%d", i), NumHeads: o.Heads, FFDim: o.FFDim, Dropout: o.Dropout})
	}
	return m, nil
}

// Children returns the layers in order with their names.
func (m *ViT) Children() []nn.Child {
	out := []nn.Child{{Name: "patch", Layer: m.Patch}, {Name: "position_embedding", Layer: m.Position}}
	for _, b := range m.Blocks {
		out = append(out, nn.Child{Name: b.Name, Layer: b})
	}
	return append(out, nn.Child{Name: "pool", Layer: m.Pool}, nn.Child{Name: "norm", Layer: m.Norm}, nn.Child{Name: "head", Layer: m.Head})
}

// Forward returns the class probabilities [B, classes].
func (m *ViT) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	return m.Head.Forward(c, m.Norm.Forward(c, m.Pool.Forward(c, m.Tokens(c, x))))
}

// Tokens returns the patch tokens after the last block [B, patches, d].
func (m *ViT) Tokens(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	s := x.Shape()
	p := m.Options.PatchSize
	if len(s) != 4 || s[1]%p != 0 || s[2]%p != 0 {
		panic(&nn.ShapeError{Layer: "vit", Got: s, Want: []int{-1, -1, -1, -1}, Msg: fmt.Sprintf("images must be [batch, height, width, channels] with height and width multiples of the patch size %d", p)})
	}
	z := m.Patch.Forward(c, x)
	zs := z.Shape()
	h := m.Position.Forward(c, autograd.Reshape(z, zs[0], zs[1]*zs[2], zs[3]))
	for _, b := range m.Blocks {
		h = b.Forward(c, h)
	}
	return h
}

// AttentionMaps runs images x [B, H, W, C] and returns each block's
// attention probabilities [B, heads, patches, patches] and the patch grid
// (rows, columns), for attention rollout (explain.AttentionRollout).
func (m *ViT) AttentionMaps(x *tensor.Tensor) (maps []*tensor.Tensor, rows, cols int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = nn.AsError(r)
		}
	}()
	c := &nn.Ctx{}
	z := m.Patch.Forward(c, autograd.Const(x))
	zs := z.Shape()
	h := m.Position.Forward(c, autograd.Reshape(z, zs[0], zs[1]*zs[2], zs[3]))
	for _, b := range m.Blocks {
		var s *autograd.Var
		h, s = b.ForwardScores(c, h)
		maps = append(maps, s.Value)
	}
	return maps, zs[1], zs[2], nil
}

func init() {
	nn.RegisterLayer("zoo.ViT", func() nn.Layer { return &ViT{} })
	nn.RegisterLayer("zoo.GPT", func() nn.Layer { return &GPT{} })
	modelfile.RegisterLegacy("vit", legacyClassifier) // the model.safetensors of strata train --model vit
	RegisterClassifier(Classifier{Name: "vit", Description: "ViT: 4×4 patches → 4 pre-LN encoder blocks (d 64, 4 heads) → mean → softmax",
		New: func(k int) nn.Layer {
			m, err := NewViT(ViTOptions{Classes: k})
			if err != nil {
				panic(err)
			}
			return m
		}, Input: []int{28, 28, 1}})
}

// Chain returns the layers of Forward in order (nn.Chained): the patch
// convolution, the reshape of its [B, H/P, W/P, d] grid to the tokens
// [B, patches, d], the position embedding, the blocks, the pooling, the
// norm and the head. The ONNX exporter flattens the model through it.
func (m *ViT) Chain() []nn.Layer {
	out := []nn.Layer{m.Patch, &nn.Reshape{Name: "tokens", Shape: []int{-1, m.Patch.Filters}}, m.Position}
	for _, b := range m.Blocks {
		out = append(out, b)
	}
	return append(out, m.Pool, m.Norm, m.Head)
}
