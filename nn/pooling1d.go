package nn

import "github.com/strata-dl/strata/autograd"

// GlobalAveragePooling1D averages a sequence over time: [B, T, C] →
// [B, C] (Keras's GlobalAveragePooling1D, channels last).
type GlobalAveragePooling1D struct {
	Name string `json:"name,omitempty"`
}

func (l *GlobalAveragePooling1D) layerName() string     { return l.Name }
func (l *GlobalAveragePooling1D) setLayerName(n string) { l.Name = n }

// Forward averages x over axis 1.
func (l *GlobalAveragePooling1D) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if x.Value.Rank() != 3 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1}, Got: x.Shape(), Msg: "GlobalAveragePooling1D needs [batch, time, channels]"})
	}
	y := autograd.Mean(x, false, 1)
	c.trace(l.Name, "GlobalAveragePooling1D", y, 0)
	return y
}

// GlobalMaxPooling1D takes the maximum over time: [B, T, C] → [B, C].
// The gradient goes to the (first) position of each maximum.
type GlobalMaxPooling1D struct {
	Name string `json:"name,omitempty"`
}

func (l *GlobalMaxPooling1D) layerName() string     { return l.Name }
func (l *GlobalMaxPooling1D) setLayerName(n string) { l.Name = n }

// Forward takes the maximum of x over axis 1.
func (l *GlobalMaxPooling1D) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if x.Value.Rank() != 3 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1}, Got: x.Shape(), Msg: "GlobalMaxPooling1D needs [batch, time, channels]"})
	}
	y := autograd.Max(x, false, 1)
	c.trace(l.Name, "GlobalMaxPooling1D", y, 0)
	return y
}

// GlobalMaxPooling2D takes the maximum over height and width:
// [B, H, W, C] → [B, C].
type GlobalMaxPooling2D struct {
	Name string `json:"name,omitempty"`
}

func (l *GlobalMaxPooling2D) layerName() string     { return l.Name }
func (l *GlobalMaxPooling2D) setLayerName(n string) { l.Name = n }

// Forward takes the maximum of x over axes 1 and 2.
func (l *GlobalMaxPooling2D) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if x.Value.Rank() != 4 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1, -1}, Got: x.Shape(), Msg: "GlobalMaxPooling2D needs [batch, height, width, channels]"})
	}
	y := autograd.Max(x, false, 1, 2)
	c.trace(l.Name, "GlobalMaxPooling2D", y, 0)
	return y
}
