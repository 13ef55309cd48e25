package nn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/strata-dl/strata/autograd"
)

// LayerConfig is the serialized architecture of a layer (Keras's
// get_config/from_config idea): the name under which its type is
// registered and its configuration, one JSON value per exported field that
// is not a weight. A field holding a layer (or a slice of layers) holds
// that layer's LayerConfig; a field holding an interface value
// (Initializer, Regularizer, ...) holds {"type": name, "config": fields}
// of the registered type of its value. In JSON:
//
//	{"type": "Dense", "config": {"Units": 10, "Activation": "relu",
//	  "KernelInitializer": {"type": "HeNormal", "config": {}}, ...}}
type LayerConfig struct {
	Type   string                     `json:"type"`
	Config map[string]json.RawMessage `json:"config"`
}

// registry maps type names to types and back (layers and the values of
// interface fields alike).
var registry = struct {
	sync.RWMutex
	byName map[string]reflect.Type
	byType map[reflect.Type]string
}{byName: map[string]reflect.Type{}, byType: map[reflect.Type]string{}}

// RegisterLayer makes the layer type returned by factory serializable
// under name, as database/sql drivers register: call it from an init
// function of the package that defines the type. Every layer of nn is
// registered under its Go type name ("Dense", "Conv2D", "LSTM"); register
// a struct model under a qualified name ("zoo.CNNNet", "myapp.Net").
// factory returns a new zero (unconfigured) layer, normally a pointer to a
// struct. RegisterLayer panics if name or the type is registered twice, or
// if factory returns nil.
func RegisterLayer(name string, factory func() Layer) {
	l := factory()
	if l == nil {
		panic("nn: RegisterLayer " + name + ": factory returned nil")
	}
	register(name, reflect.TypeOf(l))
}

// RegisterInitializer makes the type of zero serializable in an
// Initializer field, under name. The initializers of nn are registered
// under their Go type names ("GlorotUniform", "VarianceScaling").
func RegisterInitializer(name string, zero Initializer) { register(name, reflect.TypeOf(zero)) }

// RegisterRegularizer makes the type of zero serializable in a
// Regularizer field, under name. L1, L2 and L1L2 are registered.
func RegisterRegularizer(name string, zero Regularizer) { register(name, reflect.TypeOf(zero)) }

func register(name string, t reflect.Type) {
	registry.Lock()
	defer registry.Unlock()
	if name == "" || t == nil {
		panic("nn: register: empty name or nil value")
	}
	if prev, ok := registry.byName[name]; ok {
		panic(fmt.Sprintf("nn: type name %q registered twice (%v and %v)", name, prev, t))
	}
	if prev, ok := registry.byType[t]; ok {
		panic(fmt.Sprintf("nn: type %v registered twice (%q and %q)", t, prev, name))
	}
	registry.byName[name] = t
	registry.byType[t] = name
}

// RegisteredName returns the name under which the type of v is registered.
func RegisteredName(v any) (string, bool) {
	registry.RLock()
	defer registry.RUnlock()
	n, ok := registry.byType[reflect.TypeOf(v)]
	return n, ok
}

func lookupType(name string) (reflect.Type, bool) {
	registry.RLock()
	defer registry.RUnlock()
	t, ok := registry.byName[name]
	return t, ok
}

func init() {
	for name, f := range map[string]func() Layer{
		"Dense": func() Layer { return &Dense{} }, "Activation": func() Layer { return &Activation{} },
		"Dropout": func() Layer { return &Dropout{} }, "Flatten": func() Layer { return &Flatten{} },
		"Reshape": func() Layer { return &Reshape{} }, "BatchNormalization": func() Layer { return &BatchNormalization{} },
		"LayerNormalization": func() Layer { return &LayerNormalization{} }, "Conv2D": func() Layer { return &Conv2D{} },
		"MaxPool2D": func() Layer { return &MaxPool2D{} }, "AveragePool2D": func() Layer { return &AveragePool2D{} },
		"GlobalAveragePool2D": func() Layer { return &GlobalAveragePool2D{} }, "ConvTranspose2D": func() Layer { return &ConvTranspose2D{} },
		"UpSampling2D": func() Layer { return &UpSampling2D{} }, "LeakyReLU": func() Layer { return &LeakyReLU{} },
		"SimpleRNN": func() Layer { return &SimpleRNN{} }, "LSTM": func() Layer { return &LSTM{} },
		"GRU": func() Layer { return &GRU{} }, "Bidirectional": func() Layer { return &Bidirectional{} },
		"TimeDistributed": func() Layer { return &TimeDistributed{} }, "Embedding": func() Layer { return &Embedding{} },
		"Sequential": func() Layer { return &Sequential{} },
	} {
		RegisterLayer(name, f)
	}
	for name, v := range map[string]Initializer{
		"GlorotUniform": GlorotUniform{}, "GlorotNormal": GlorotNormal{}, "HeNormal": HeNormal{}, "HeUniform": HeUniform{},
		"LecunNormal": LecunNormal{}, "LecunUniform": LecunUniform{}, "Zeros": Zeros{}, "Ones": Ones{},
		"Constant": Constant{}, "RandomNormal": RandomNormal{}, "RandomUniform": RandomUniform{},
		"Orthogonal": Orthogonal{}, "VarianceScaling": VarianceScaling{},
	} {
		RegisterInitializer(name, v)
	}
	RegisterRegularizer("L1", L1{})
	RegisterRegularizer("L2", L2{})
	RegisterRegularizer("L1L2", L1L2{})
}

var (
	layerType = reflect.TypeFor[Layer]()
	varType   = reflect.TypeFor[*autograd.Var]()
	marshaler = reflect.TypeFor[json.Marshaler]()
)

// isLayerType reports whether a field of type t holds a layer: the Layer
// interface itself or a type implementing it.
func isLayerType(t reflect.Type) bool {
	return t == layerType || (t.Kind() != reflect.Interface && t.Implements(layerType))
}

// MarshalLayer returns the architecture of l as JSON (a LayerConfig tree).
// Weights are not included: they are the *autograd.Var fields, saved by
// path (see AllWeights). It returns an error naming the field when a type
// is not registered or a field does not marshal to JSON.
func MarshalLayer(l Layer) ([]byte, error) {
	c, err := ConfigOf(l)
	if err != nil {
		return nil, err
	}
	return json.Marshal(c)
}

// ConfigOf returns the LayerConfig of l; see MarshalLayer.
func ConfigOf(l Layer) (*LayerConfig, error) {
	if l == nil || isNil(l) {
		return nil, fmt.Errorf("nn: config of a nil layer")
	}
	name, ok := RegisteredName(l)
	if !ok {
		return nil, fmt.Errorf("nn: layer type %T is not registered (call nn.RegisterLayer in an init function)", l)
	}
	v := reflect.ValueOf(l)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("nn: layer type %T is not a struct", l)
	}
	cfg, err := structFields(v, name)
	if err != nil {
		return nil, err
	}
	return &LayerConfig{Type: name, Config: cfg}, nil
}

// structFields encodes the exported fields of the struct v but weights.
func structFields(v reflect.Value, where string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Type == varType || (f.Tag.Get("nn") == "-" && holdsLayers(f.Type)) {
			continue
		}
		raw, err := encodeValue(v.Field(i), where+"."+f.Name)
		if err != nil {
			return nil, err
		}
		out[f.Name] = raw
	}
	return out, nil
}

func holdsLayers(t reflect.Type) bool {
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	return isLayerType(t)
}

// encodeValue encodes one field value; where names it in errors.
func encodeValue(v reflect.Value, where string) (json.RawMessage, error) {
	t := v.Type()
	switch {
	case isLayerType(t):
		if k := v.Kind(); (k == reflect.Pointer || k == reflect.Interface) && v.IsNil() {
			return json.RawMessage("null"), nil
		}
		c, err := ConfigOf(v.Interface().(Layer))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return json.Marshal(c)
	case t.Kind() == reflect.Interface:
		if v.IsNil() {
			return json.RawMessage("null"), nil
		}
		e := v.Elem()
		name, ok := RegisteredName(e.Interface())
		if !ok {
			return nil, fmt.Errorf("nn: %s holds a %v, which is not registered (see nn.RegisterInitializer)", where, e.Type())
		}
		for e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		inner, err := encodeValue(e, where)
		if err != nil {
			return nil, err
		}
		return json.Marshal(struct {
			Type   string          `json:"type"`
			Config json.RawMessage `json:"config"`
		}{name, inner})
	case t.Implements(marshaler) || reflect.PointerTo(t).Implements(marshaler):
		break
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && isLayerType(t.Elem()):
		if t.Kind() == reflect.Slice && v.IsNil() {
			return json.RawMessage("null"), nil
		}
		parts := make([]json.RawMessage, v.Len())
		for i := range parts {
			raw, err := encodeValue(v.Index(i), fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			parts[i] = raw
		}
		return json.Marshal(parts)
	case t.Kind() == reflect.Struct:
		m, err := structFields(v, where)
		if err != nil {
			return nil, err
		}
		return json.Marshal(m) // keys sorted: the same layer gives the same bytes
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		if v.IsNil() {
			return json.RawMessage("null"), nil
		}
		return encodeValue(v.Elem(), where)
	}
	x := v.Interface()
	if v.CanAddr() && reflect.PointerTo(t).Implements(marshaler) {
		x = v.Addr().Interface()
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %v", where, err)
	}
	return b, nil
}

// UnmarshalLayer rebuilds an unbuilt layer from the JSON MarshalLayer
// wrote: every type in it must be registered (the layers of nn are). Build
// it (or let the first Forward build it) and then load its weights.
func UnmarshalLayer(data []byte) (Layer, error) {
	var c LayerConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("nn: layer config: %v", err)
	}
	return FromConfig(&c)
}

// FromConfig returns a new unbuilt layer made from c; see UnmarshalLayer.
func FromConfig(c *LayerConfig) (Layer, error) {
	if c == nil || c.Type == "" {
		return nil, fmt.Errorf("nn: layer config without a type")
	}
	t, ok := lookupType(c.Type)
	if !ok {
		return nil, fmt.Errorf("nn: unknown layer type %q (is the package that registers it imported?)", c.Type)
	}
	if !isLayerType(t) {
		return nil, fmt.Errorf("nn: type %q is not a layer", c.Type)
	}
	p := newOf(t)
	s := p
	for s.Kind() == reflect.Pointer {
		s = s.Elem()
	}
	if s.Kind() != reflect.Struct {
		return nil, fmt.Errorf("nn: layer type %q is not a struct", c.Type)
	}
	if err := decodeFields(c.Config, s, c.Type); err != nil {
		return nil, err
	}
	return p.Interface().(Layer), nil
}

// newOf returns a new zero value of the registered type t (a pointer type
// gives a pointer to a new zero struct).
func newOf(t reflect.Type) reflect.Value {
	if t.Kind() == reflect.Pointer {
		return reflect.New(t.Elem())
	}
	return reflect.New(t).Elem()
}

// decodeFields sets the fields of the struct s from m.
func decodeFields(m map[string]json.RawMessage, s reflect.Value, where string) error {
	t := s.Type()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := t.FieldByName(k)
		if !ok || !f.IsExported() || len(f.Index) != 1 || f.Type == varType {
			return fmt.Errorf("nn: %s has no configurable field %q", where, k)
		}
		if err := decodeValue(m[k], s.Field(f.Index[0]), where+"."+k); err != nil {
			return err
		}
	}
	return nil
}

// decodeValue sets the settable dst from raw, the inverse of encodeValue.
func decodeValue(raw json.RawMessage, dst reflect.Value, where string) error {
	t := dst.Type()
	null := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	switch {
	case isLayerType(t):
		if null {
			dst.SetZero()
			return nil
		}
		var c LayerConfig
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("nn: %s: %v", where, err)
		}
		l, err := FromConfig(&c)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if lt := reflect.TypeOf(l); !lt.AssignableTo(t) {
			if lt.Kind() == reflect.Pointer && lt.Elem().AssignableTo(t) { // a layer held by value
				dst.Set(reflect.ValueOf(l).Elem())
				return nil
			}
			return fmt.Errorf("nn: %s: a %T does not fit a field of type %v", where, l, t)
		}
		dst.Set(reflect.ValueOf(l))
		return nil
	case t.Kind() == reflect.Interface:
		if null {
			dst.SetZero()
			return nil
		}
		var tv struct {
			Type   string          `json:"type"`
			Config json.RawMessage `json:"config"`
		}
		if err := json.Unmarshal(raw, &tv); err != nil {
			return fmt.Errorf("nn: %s: %v", where, err)
		}
		vt, ok := lookupType(tv.Type)
		if !ok {
			return fmt.Errorf("nn: %s: unknown type %q", where, tv.Type)
		}
		if !vt.AssignableTo(t) {
			return fmt.Errorf("nn: %s: type %q does not fit a field of type %v", where, tv.Type, t)
		}
		v := newOf(vt)
		e := v
		for e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		if err := decodeValue(tv.Config, e, where); err != nil {
			return err
		}
		dst.Set(v)
		return nil
	case t.Implements(marshaler) || reflect.PointerTo(t).Implements(marshaler):
		break
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && isLayerType(t.Elem()):
		if null {
			dst.SetZero()
			return nil
		}
		var parts []json.RawMessage
		if err := json.Unmarshal(raw, &parts); err != nil {
			return fmt.Errorf("nn: %s: %v", where, err)
		}
		if t.Kind() == reflect.Slice {
			dst.Set(reflect.MakeSlice(t, len(parts), len(parts)))
		} else if len(parts) != t.Len() {
			return fmt.Errorf("nn: %s: %d layers for an array of %d", where, len(parts), t.Len())
		}
		for i, p := range parts {
			if err := decodeValue(p, dst.Index(i), fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Struct:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("nn: %s: %v", where, err)
		}
		return decodeFields(m, dst, where)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		if null {
			dst.SetZero()
			return nil
		}
		p := reflect.New(t.Elem())
		if err := decodeValue(raw, p.Elem(), where); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	}
	if err := json.Unmarshal(raw, dst.Addr().Interface()); err != nil {
		return fmt.Errorf("nn: %s: %v", where, err)
	}
	return nil
}
