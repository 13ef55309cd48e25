package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"unicode"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Layer is anything that maps an input to an output: a single layer, a
// Sequential, or a model written as a Go struct whose fields are layers.
//
// Forward builds the layer's weights on first use from the input's shape
// (call Build to do so explicitly and get errors instead of panics). It
// panics with a *tensor.ShapeError or *ShapeError on a mismatch.
type Layer interface {
	Forward(c *Ctx, x *autograd.Var) *autograd.Var
}

// Ctx carries what a forward pass needs besides its input: the mode
// (training enables dropout and batch statistics) and the random source for
// stochastic layers. The zero value is inference mode. A Ctx serves one
// forward pass at a time (it also records that pass's masks, see Mask):
// make one per call, as &nn.Ctx{} does.
type Ctx struct {
	Training bool
	RNG      *rand.Rand // dropout masks, noise; required when Training uses them

	build *builder
	masks map[*autograd.Var]*tensor.Tensor // see Mask
}

// builder records layer outputs while Build runs the dry forward pass.
type builder struct {
	rng  *rand.Rand
	rows []SummaryRow
	// limit bounds the weight values Build may allocate (0: none); used
	// counts those allocated so far.
	limit, used int64
}

// Weight is a named tensor of a layer: trainable (updated by the optimizer)
// or not (state such as BatchNormalization's moving statistics).
type Weight struct {
	Name      string // local name: "kernel", "bias", "moving_mean"
	Var       *autograd.Var
	Trainable bool
	Reg       Regularizer // may be nil
}

// Weighted is a layer that owns weights.
type Weighted interface {
	Weights() []Weight
}

// Container is a layer made of named sub-layers (Sequential). Models written
// as Go structs need not implement it: their exported fields that are
// layers are found by reflection.
type Container interface {
	Children() []Child
}

// Child is a named sub-layer.
type Child struct {
	Name  string
	Layer Layer
}

// namer is implemented by layers with a Name field.
type namer interface {
	layerName() string
	setLayerName(string)
}

// ShapeError reports an input shape a layer cannot take: which layer, the
// shape it expects (-1 for any size) and the shape it got.
type ShapeError struct {
	Layer string
	Want  []int
	Got   []int
	Msg   string
}

func (e *ShapeError) Error() string {
	s := fmt.Sprintf("layer %q", e.Layer)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Want != nil || e.Got != nil {
		s += fmt.Sprintf(": expected input shape %s, got %s", fmtShape(e.Want), fmtShape(e.Got))
	}
	return s
}

// ConfigError reports a layer configuration that cannot work, whatever
// the input: a bad hyperparameter (Units: 0, an unknown activation or
// padding, a dropout rate outside [0, 1)), a missing random source, a
// layer held where it cannot be found. Forward panics with it like with a
// *ShapeError; Build and the drivers return it.
type ConfigError struct {
	Layer string // the layer's name or path; may be empty
	Msg   string
}

func (e *ConfigError) Error() string {
	if e.Layer == "" {
		return "nn: " + e.Msg
	}
	return fmt.Sprintf("layer %q: %s", e.Layer, e.Msg)
}

func fmtShape(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "None"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Children returns the named sub-layers of l: a Container's children, or
// the exported fields of a struct (or pointer to struct) that hold layers,
// named by the layer's Name or else by the field name in snake case
// (Conv1 → "conv1", OutputLayer → "output_layer"). Fields tagged `nn:"-"`
// are skipped; a tag `nn:"name"` sets the name.
func Children(l Layer) []Child {
	if c, ok := l.(Container); ok {
		return c.Children()
	}
	v := reflect.ValueOf(l)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	var out []Child
	typ := v.Type()
	for _, i := range layerFields(typ) {
		f := typ.Field(i)
		if !f.IsExported() || f.Tag.Get("nn") == "-" {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Struct:
		case reflect.Slice, reflect.Array:
			for j := 0; j < fv.Len(); j++ {
				if sl, ok := fv.Index(j).Interface().(Layer); ok && !isNil(sl) {
					out = append(out, Child{Name: fmt.Sprintf("%s_%d", fieldName(f), j), Layer: sl})
				}
			}
			continue
		default:
			continue
		}
		if !fv.CanInterface() {
			continue
		}
		sub, ok := fv.Interface().(Layer)
		if !ok && fv.CanAddr() {
			sub, ok = fv.Addr().Interface().(Layer)
		}
		if !ok || isNil(sub) {
			continue
		}
		name := fieldName(f)
		if n, ok := sub.(namer); ok && n.layerName() != "" && f.Tag.Get("nn") == "" {
			name = n.layerName()
		}
		out = append(out, Child{Name: name, Layer: sub})
	}
	return out
}

// layerFieldCache maps a struct type to the indices of its fields that
// may hold layers (see layerFields).
var layerFieldCache sync.Map

// layerFields returns the indices of the fields of the struct type t whose
// type can hold a layer: a layer type, an interface that includes Layer, a
// struct whose pointer is a layer, or a slice or array of those. Weights,
// initializers and plain values are skipped, so that walking a leaf layer
// costs one cached lookup.
func layerFields(t reflect.Type) []int {
	if c, ok := layerFieldCache.Load(t); ok {
		return c.([]int)
	}
	var out []int
	for i := 0; i < t.NumField(); i++ {
		if mayHoldLayer(t.Field(i).Type) {
			out = append(out, i)
		}
	}
	layerFieldCache.Store(t, out)
	return out
}

func mayHoldLayer(t reflect.Type) bool {
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	return t.Implements(layerType) || (t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(layerType))
}

// checkFields returns a *ConfigError when a struct model (one that does
// not list its children itself) keeps a layer in an unexported field,
// where Children cannot see it, or, not being Weighted, holds a weight in
// an exported *autograd.Var field, which AllWeights cannot see: either
// way those weights would be neither trained nor saved. A field tagged
// `nn:"-"` is left alone.
func checkFields(l Layer, path string) error {
	if err := checkVarFields(l, path); err != nil {
		return err
	}
	if _, ok := l.(Container); !ok {
		v := reflect.ValueOf(l)
		for v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct {
			t := v.Type()
			for _, i := range layerFields(t) {
				f := t.Field(i)
				if f.IsExported() || f.Tag.Get("nn") == "-" || v.Field(i).IsZero() {
					continue
				}
				return &ConfigError{Layer: path, Msg: fmt.Sprintf("field %s of %v holds a layer but is unexported, so its weights would be neither trained nor saved: export it (or tag it `nn:\"-\"` if it is not part of the model)", f.Name, t)}
			}
		}
	}
	for _, c := range Children(l) {
		if err := checkFields(c.Layer, join(path, c.Name)); err != nil {
			return err
		}
	}
	return nil
}

// checkVarFields reports an exported, non-nil *autograd.Var field of a
// struct layer that is not Weighted (see checkFields).
func checkVarFields(l Layer, path string) error {
	if _, ok := l.(Weighted); ok {
		return nil
	}
	v := reflect.ValueOf(l)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type != varType || !f.IsExported() || f.Tag.Get("nn") == "-" || v.Field(i).IsNil() {
			continue
		}
		return &ConfigError{Layer: path, Msg: fmt.Sprintf("field %s of %v holds an *autograd.Var but %v has no Weights method (nn.Weighted), so that weight would be neither trained nor saved: add a Weights method listing it (or tag the field `nn:\"-\"` if it is not a weight)", f.Name, t, t)}
	}
	return nil
}

// CheckBuilt returns a *ConfigError naming the first layer of l that owns
// no weight yet (it was never built: call Build, or run one Forward),
// or nil. Load weights only into a built network. It also returns the
// errors of Build's check of a struct model's fields (a layer in an
// unexported field, a weight the walk cannot see), so that a model whose
// weights would not all be saved is not saved.
func CheckBuilt(l Layer) error {
	if err := checkFields(l, ""); err != nil {
		return err
	}
	var walk func(path string, l Layer) error
	walk = func(path string, l Layer) error {
		if w, ok := l.(Weighted); ok {
			built := false
			for _, wt := range w.Weights() {
				built = built || wt.Var != nil
			}
			if !built && len(w.Weights()) > 0 {
				name := path
				if name == "" {
					name = fmt.Sprintf("%T", l)
				}
				return &ConfigError{Layer: name, Msg: fmt.Sprintf("%T is not built (call nn.Build with the input shape before loading or reading weights)", l)}
			}
		}
		for _, c := range Children(l) {
			if err := walk(join(path, c.Name), c.Layer); err != nil {
				return err
			}
		}
		return nil
	}
	return walk("", l)
}

func isNil(l Layer) bool {
	v := reflect.ValueOf(l)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

func fieldName(f reflect.StructField) string {
	if tag := f.Tag.Get("nn"); tag != "" {
		return tag
	}
	return snake(f.Name)
}

// snake converts a Go identifier to snake case: Conv1 → conv1,
// DenseOut → dense_out, VAEEncoder → vae_encoder.
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1]))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// NamedWeight is a weight with its full dotted path ("conv1.kernel").
type NamedWeight struct {
	Path string
	Weight
}

// AllWeights returns every weight of l in a stable order (depth-first in
// field/child order, each layer's weights in its own order), with dotted
// paths. The paths are the checkpoint format.
func AllWeights(l Layer) []NamedWeight {
	var out []NamedWeight
	var walk func(prefix string, l Layer)
	walk = func(prefix string, l Layer) {
		if w, ok := l.(Weighted); ok {
			for _, wt := range w.Weights() {
				if wt.Var == nil {
					continue
				}
				out = append(out, NamedWeight{Path: join(prefix, wt.Name), Weight: wt})
			}
		}
		for _, c := range Children(l) {
			walk(join(prefix, c.Name), c.Layer)
		}
	}
	walk("", l)
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Trainable returns the trainable weights of l as Vars in stable order
// (what an optimizer updates).
func Trainable(l Layer) []*autograd.Var {
	var out []*autograd.Var
	for _, w := range AllWeights(l) {
		if w.Trainable {
			out = append(out, w.Var)
		}
	}
	return out
}

// nameLayers gives every unnamed layer the name of its place, so that
// error messages and the summary can refer to it.
func nameLayers(l Layer) {
	for _, c := range Children(l) {
		if n, ok := c.Layer.(namer); ok && n.layerName() == "" {
			n.setLayerName(c.Name)
		}
		nameLayers(c.Layer)
	}
}

// Build creates and initializes the weights of l for inputs of shape
// [batch, in...] (in excludes the batch axis) by running one forward pass
// on a zero batch of one sample, and checks every layer's shapes on the
// way. It returns an error naming the layer and the expected and actual
// shapes on a mismatch. Weight paths are fixed from here on.
func Build(l Layer, in []int, rng *rand.Rand) (out []int, err error) {
	_, out, err = build(l, in, rng, 0)
	return out, err
}

// BuildLimit is Build that refuses, before allocating it, the weight that
// would take the weights of l above maxParams float32 values in all
// (maxParams ≤ 0: no limit), with a *ConfigError naming the layer, the
// weight's shape and the limit. A program that rebuilds an architecture
// read from a file passes the number of values the file holds, so that an
// edited configuration (a Dense of 10⁸ units) is refused in one line
// instead of allocating a model of its size.
func BuildLimit(l Layer, in []int, rng *rand.Rand, maxParams int64) (out []int, err error) {
	_, out, err = build(l, in, rng, maxParams)
	return out, err
}

func build(l Layer, in []int, rng *rand.Rand, limit int64) (rows []SummaryRow, out []int, err error) {
	if rng == nil {
		return nil, nil, errors.New("nn: Build needs a random source for initialization")
	}
	if err := checkFields(l, ""); err != nil {
		return nil, nil, err
	}
	nameLayers(l)
	b := &builder{rng: rng, limit: limit}
	defer func() {
		if r := recover(); r != nil {
			err = AsError(r)
		}
	}()
	x := autograd.Const(tensor.Zeros(append([]int{1}, in...)...))
	y := l.Forward(&Ctx{build: b, RNG: rng}, x)
	if err := checkFields(l, ""); err != nil { // weights created by the pass
		return nil, nil, err
	}
	for _, w := range AllWeights(l) {
		w.Var.SetName(w.Path)
	}
	return b.rows, y.Value.Shape()[1:], nil
}

// AsError converts a recovered panic value from a forward pass into an
// error when it is one of the project's shape errors, and re-panics
// anything else (a bug must not be disguised as bad input).
func AsError(r any) error {
	switch e := r.(type) {
	case *ShapeError:
		return e
	case *tensor.ShapeError:
		return e
	case *ConfigError:
		return e
	}
	panic(r)
}

// buildRNG returns the random source for initializing the weights of the
// layer named name: the Build source, else the context's. A layer built
// lazily by a Forward whose Ctx has no RNG panics with a *ConfigError
// rather than drawing its weights from a hidden fixed seed.
func (c *Ctx) buildRNG(name string) *rand.Rand {
	switch {
	case c != nil && c.build != nil:
		return c.build.rng
	case c != nil && c.RNG != nil:
		return c.RNG
	}
	panic(&ConfigError{Layer: name, Msg: "the layer is not built and the Ctx has no RNG to initialize its weights: call nn.Build (or set Ctx.RNG) first"})
}

// weight returns a zero tensor of shape for a weight of the layer named
// name, after checking it against the parameter limit of the Build in
// progress (see BuildLimit): a weight above it panics with a *ConfigError
// before anything is allocated.
func (c *Ctx) weight(name string, shape ...int) *tensor.Tensor {
	if c != nil && c.build != nil && c.build.limit > 0 {
		n := int64(1)
		for _, d := range shape {
			if d <= 0 {
				n = 0
				break // tensor.Zeros reports it
			}
			if n > (1<<62)/int64(d) {
				n = 1 << 62
				break
			}
			n *= int64(d)
		}
		if c.build.used+n > c.build.limit {
			panic(&ConfigError{Layer: name, Msg: fmt.Sprintf("a weight of shape %v would take the model to %d parameters or more, over the limit of %d", shape, c.build.used+n, c.build.limit)})
		}
		c.build.used += n
	}
	return tensor.Zeros(shape...)
}

// trace records a layer's output during Build (for Summary).
func (c *Ctx) trace(name, kind string, y *autograd.Var, params int) {
	if c == nil || c.build == nil {
		return
	}
	c.build.rows = append(c.build.rows, SummaryRow{Name: name, Type: kind, Output: append([]int{-1}, y.Value.Shape()[1:]...), Params: params})
}

func numel(vs ...*autograd.Var) int {
	n := 0
	for _, v := range vs {
		if v != nil {
			n += v.Value.Len()
		}
	}
	return n
}

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }
