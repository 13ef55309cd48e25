package explain

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// GradCAM is the gradient-weighted class activation map of a convolutional
// layer (Selvaraju et al. 2017). With A [n, h′, w′, K] the layer's output
// (after its activation) and F_c the explained score,
//
//	α_k = (1/(h′w′)) Σ_ij ∂F_c/∂A_ijk,   L = ReLU(Σ_k α_k A_··k),
//
// then L is upsampled bilinearly to the input's height and width and
// scaled to [0, 1] per sample: the map is [n, h, w, 1].
//
// Layer names the layer by its dotted path from the model ("conv2",
// "encoder.conv1") or, when unambiguous, by its own name; empty means the
// last nn.Conv2D of the model (the usual choice: the deepest features that
// still have a spatial layout).
//
// To read the layer's output, GradCAM puts a recording layer in its place
// for the forward pass and restores the model afterwards: the layer must
// sit in an nn.Sequential, in a struct field or slice element of interface
// type (nn.Layer), or — for a struct model whose Forward applies its
// fields in order, such as zoo.CNNNet — be a direct field of the model;
// that order is checked against the model's own output. Otherwise
// Attribute returns an error saying so.
type GradCAM struct {
	Layer  string `json:"layer,omitempty"`
	Target Target `json:"target"`
}

// Name returns "gradcam".
func (GradCAM) Name() string { return "gradcam" }

// Attribute returns the Grad-CAM map [n, h, w, 1] in [0, 1] for images
// x [n, h, w, c]; Attribution.Layer holds the layer's path.
func (m GradCAM) Attribute(ctx context.Context, net nn.Layer, x *tensor.Tensor, class int) (a *Attribution, err error) {
	defer guard(m.Name(), &err)
	if x != nil && x.Rank() != 4 {
		return nil, fmt.Errorf("explain: %s: %w, got %v", m.Name(), errNoRank4, x.Shape())
	}
	s, err := start(ctx, m.Name(), net, x, class, m.Target)
	if err != nil {
		return nil, err
	}
	site, err := findLayer(net, m.Layer)
	if err != nil {
		return nil, fmt.Errorf("explain: %s: %w", m.Name(), err)
	}
	rec := &recorder{inner: site.layer}
	run, restore, err := hook(net, site, rec, x, s.out)
	if err != nil {
		return nil, fmt.Errorf("explain: %s: %w", m.Name(), err)
	}
	defer restore()

	tape := autograd.NewTape(nil)
	defer tape.Release()
	xv := autograd.NewParam("input", x)
	tape.Watch(xv)
	rec.calls, rec.out = 0, nil
	y := run.Forward(&nn.Ctx{}, xv)
	switch {
	case rec.calls == 0:
		return nil, fmt.Errorf("explain: %s: layer %q was not used by the forward pass", m.Name(), site.path)
	case rec.calls > 1:
		return nil, fmt.Errorf("explain: %s: layer %q is applied %d times in one forward pass; choose a layer used once", m.Name(), site.path, rec.calls)
	}
	act := rec.out
	if act.Value.Rank() != 4 || act.Value.Dim(0) != x.Dim(0) {
		return nil, fmt.Errorf("explain: %s: layer %q has output shape %v, want a feature map [n, h, w, channels]", m.Name(), site.path, act.Value.Shape())
	}
	f := s.score(y)
	total := autograd.Sum(autograd.Mul(f, autograd.Const(s.mask(s.a.Classes))), false)
	gs, err := tape.Gradients(total, act)
	if err != nil {
		return nil, fmt.Errorf("explain: %s: %w", m.Name(), err)
	}
	alpha := tensor.Mean(gs[0], true, 1, 2)                                // [n, 1, 1, K]
	cam := tensor.Relu(tensor.Sum(tensor.Mul(act.Value, alpha), false, 3)) // [n, h′, w′]
	cam = resizeBilinear(cam, x.Dim(1), x.Dim(2))
	lo := tensor.Min(cam, true, 1, 2)
	span := tensor.Maximum(tensor.Sub(tensor.Max(cam, true, 1, 2), lo), tensor.Scalar(1e-12))
	cam = tensor.Div(tensor.Sub(cam, lo), span)
	s.a.Map = cam.Reshape(x.Dim(0), x.Dim(1), x.Dim(2), 1)
	s.a.Layer = site.path
	return s.a, nil
}

// resizeBilinear resizes maps [n, h, w] to [n, oh, ow] by bilinear
// interpolation with half-pixel centres (as OpenCV's resize and PyTorch's
// align_corners=False): two matrix products, R_h · M · R_wᵀ.
func resizeBilinear(maps *tensor.Tensor, oh, ow int) *tensor.Tensor {
	n, h, w := maps.Dim(0), maps.Dim(1), maps.Dim(2)
	cols := tensor.MatMulT(maps.Reshape(n*h, w), interpolation(ow, w), false, true) // [n·h, ow]
	return tensor.MatMul(interpolation(oh, h), cols.Reshape(n, h, ow))              // [n, oh, ow]
}

// interpolation returns the [out, in] matrix of 1-D linear interpolation
// from in samples to out: row i weighs the two inputs around
// (i + ½)·in/out − ½, clamped to the edges.
func interpolation(out, in int) *tensor.Tensor {
	r := tensor.Zeros(out, in)
	d := r.Data()
	scale := float64(in) / float64(out)
	for i := 0; i < out; i++ {
		src := math.Min(math.Max((float64(i)+0.5)*scale-0.5, 0), float64(in-1))
		i0 := int(src)
		i1 := min(i0+1, in-1)
		f := float32(src - float64(i0))
		d[i*in+i0] += 1 - f
		d[i*in+i1] += f
	}
	return r
}

// recorder is the layer GradCAM puts in place of the chosen one: it runs
// the original and keeps its output.
type recorder struct {
	inner nn.Layer
	out   *autograd.Var
	calls int
}

// Forward applies the original layer and records its output.
func (r *recorder) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	y := r.inner.Forward(c, x)
	r.out = y
	r.calls++
	return y
}

// site is a layer of a model: its dotted path, its parent (nil for the
// model itself) and its index among the parent's children.
type site struct {
	path   string
	layer  nn.Layer
	parent nn.Layer
	index  int
}

// sites lists the layers of net depth-first (parents before children) in
// nn.Children order, with their paths.
func sites(net nn.Layer) []site {
	var out []site
	var walk func(prefix string, l nn.Layer, depth int)
	walk = func(prefix string, l nn.Layer, depth int) {
		if depth > 64 {
			return // a cycle; nn.AllWeights would not terminate either
		}
		for i, c := range nn.Children(l) {
			path := c.Name
			if prefix != "" {
				path = prefix + "." + c.Name
			}
			out = append(out, site{path: path, layer: c.Layer, parent: l, index: i})
			walk(path, c.Layer, depth+1)
		}
	}
	walk("", net, 0)
	return out
}

// findLayer returns the layer named by path or unique name, or the last
// nn.Conv2D when name is empty.
func findLayer(net nn.Layer, name string) (site, error) {
	all := sites(net)
	if name == "" {
		for i := len(all) - 1; i >= 0; i-- {
			if _, ok := all[i].layer.(*nn.Conv2D); ok {
				return all[i], nil
			}
		}
		return site{}, fmt.Errorf("model has no Conv2D layer; name the layer to use (layers: %s)", pathList(all))
	}
	var byName []site
	for _, s := range all {
		if s.path == name {
			return s, nil
		}
		if s.path[strings.LastIndex(s.path, ".")+1:] == name {
			byName = append(byName, s)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
		return site{}, fmt.Errorf("no layer %q in the model (layers: %s)", name, pathList(all))
	}
	paths := make([]string, len(byName))
	for i, s := range byName {
		paths[i] = s.path
	}
	return site{}, fmt.Errorf("layer name %q is ambiguous: use one of the paths %s", name, strings.Join(paths, ", "))
}

func pathList(all []site) string {
	paths := make([]string, len(all))
	for i, s := range all {
		paths[i] = s.path
	}
	if len(paths) == 0 {
		return "none"
	}
	return strings.Join(paths, ", ")
}

// hook puts rec in the place of s.layer and returns the model to run and
// a function that undoes the change. It tries, in order: the slot of an
// nn.Sequential; a struct field or slice element of a type rec can be
// assigned to; and, for a direct child of a struct model whose field has
// a concrete type, running the model's children in order — accepted only
// if that reproduces the model's output want on x.
func hook(net nn.Layer, s site, rec *recorder, x, want *tensor.Tensor) (run nn.Layer, restore func(), err error) {
	if s.parent == nil {
		return rec, func() {}, nil
	}
	if seq, ok := s.parent.(*nn.Sequential); ok && s.index < len(seq.Layers) && sameLayer(seq.Layers[s.index], s.layer) {
		seq.Layers[s.index] = rec
		return net, func() { seq.Layers[s.index] = s.layer }, nil
	}
	if slot, ok := assignableSlot(s.parent, s.layer); ok {
		old := reflect.ValueOf(s.layer)
		slot.Set(reflect.ValueOf(rec))
		return net, func() { slot.Set(old) }, nil
	}
	if s.parent == net {
		kids := nn.Children(net)
		ch := chain(make([]nn.Layer, len(kids)))
		for i, c := range kids {
			ch[i] = c.Layer
		}
		if sameOutput(ch, x, want) {
			ch[s.index] = rec
			return ch, func() {}, nil
		}
	}
	return nil, nil, fmt.Errorf("cannot record the output of layer %q: its field in %T has a concrete type and the model does not apply its layers in field order; "+
		"declare the field as nn.Layer or build the model as an nn.Sequential", s.path, s.parent)
}

// assignableSlot finds the exported struct field (or slice element) of
// parent that holds l and can hold a *recorder instead.
func assignableSlot(parent, l nn.Layer) (reflect.Value, bool) {
	v := reflect.ValueOf(parent)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || !v.CanAddr() {
		return reflect.Value{}, false
	}
	recT := reflect.TypeOf(&recorder{})
	holds := func(f reflect.Value) bool {
		return f.CanInterface() && f.CanSet() && recT.AssignableTo(f.Type()) && !f.IsNil() && sameLayer(f.Interface(), l)
	}
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Interface:
			if holds(f) {
				return f, true
			}
		case reflect.Slice:
			for j := 0; j < f.Len(); j++ {
				if e := f.Index(j); e.Kind() == reflect.Interface && holds(e) {
					return e, true
				}
			}
		}
	}
	return reflect.Value{}, false
}

// sameLayer reports whether a and b are the same layer: the same pointer,
// or equal comparable values.
func sameLayer(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !va.IsValid() || !vb.IsValid() || va.Type() != vb.Type() {
		return false
	}
	if va.Kind() == reflect.Pointer {
		return va.Pointer() == vb.Pointer()
	}
	return va.Comparable() && a == b
}

// chain applies layers in order.
type chain []nn.Layer

// Forward applies each layer in turn.
func (c chain) Forward(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	for _, l := range c {
		x = l.Forward(ctx, x)
	}
	return x
}

// sameOutput reports whether the chain maps x to want (up to rounding); a
// shape panic on the way means no.
func sameOutput(c chain, x, want *tensor.Tensor) (same bool) {
	defer func() {
		if r := recover(); r != nil {
			_ = nn.AsError(r) // re-panics anything but a shape error
			same = false
		}
	}()
	got := c.Forward(&nn.Ctx{}, autograd.Const(x)).Value
	if !tensor.SameShape(got, want) {
		return false
	}
	diff := tensor.Max(tensor.Abs(tensor.Sub(got, want)), false).Item()
	scale := tensor.Max(tensor.Abs(want), false).Item()
	return diff <= 1e-5*(1+scale)
}
