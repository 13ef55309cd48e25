package nn

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/strata-dl/strata/autograd"
)

// Sequential applies layers in order. Unnamed layers are named as Keras
// names them: the snake-case type name, with _1, _2... for repeats
// ("dense", "dense_1", "conv2d").
type Sequential struct {
	Name   string
	Layers []Layer
}

// NewSequential returns a Sequential of the layers.
func NewSequential(layers ...Layer) *Sequential { return &Sequential{Layers: layers} }

func (s *Sequential) layerName() string     { return s.Name }
func (s *Sequential) setLayerName(n string) { s.Name = n }

// Add appends a layer.
func (s *Sequential) Add(l Layer) { s.Layers = append(s.Layers, l) }

// Children returns the layers with their names, naming unnamed ones.
func (s *Sequential) Children() []Child {
	out := make([]Child, len(s.Layers))
	seen := map[string]int{}
	for i, l := range s.Layers {
		name := ""
		n, named := l.(namer)
		if named {
			name = n.layerName()
		}
		if name == "" {
			base := kerasTypeName(l)
			k := seen[base]
			seen[base]++
			name = base
			if k > 0 {
				name = fmt.Sprintf("%s_%d", base, k)
			}
			if named {
				n.setLayerName(name)
			}
		}
		out[i] = Child{Name: name, Layer: l}
	}
	return out
}

// kerasTypeName is the default name of a layer type: Conv2D → conv2d,
// MaxPool2D → max_pooling2d, as Keras names them.
func kerasTypeName(l Layer) string {
	t := reflect.TypeOf(l)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Name() {
	case "Conv2D":
		return "conv2d"
	case "MaxPool2D":
		return "max_pooling2d"
	case "AveragePool2D":
		return "average_pooling2d"
	case "GlobalAveragePool2D":
		return "global_average_pooling2d"
	case "BatchNormalization":
		return "batch_normalization"
	case "LayerNormalization":
		return "layer_normalization"
	case "ConvTranspose2D":
		return "conv2d_transpose"
	case "UpSampling2D":
		return "up_sampling2d"
	}
	return snake(t.Name())
}

// Forward applies each layer in turn (a Conv2D directly followed by a
// MaxPool2D through ConvPool, fused).
func (s *Sequential) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if len(s.Layers) > 0 {
		s.Children() // names the layers before they build
	}
	for i := 0; i < len(s.Layers); i++ {
		if conv, ok := s.Layers[i].(*Conv2D); ok && i+1 < len(s.Layers) {
			if pool, ok := s.Layers[i+1].(*MaxPool2D); ok { // fused: see ConvPool
				x = ConvPool(c, conv, pool, x)
				i++
				continue
			}
		}
		x = s.Layers[i].Forward(c, x)
	}
	return x
}

// SummaryRow is one line of a model summary.
type SummaryRow struct {
	Name   string
	Type   string
	Output []int // -1 for the batch axis
	Params int
}

// Summary returns the Keras-style summary of l for inputs [batch, in...]:
// each layer's name, type, output shape and parameter count, then the
// totals of trainable and non-trainable parameters. It has no side
// effects: a built l is traced with one inference pass on a zero batch
// (no weight changes); an unbuilt l is left unbuilt and a copy made from
// its config (see MarshalLayer) is built instead, so a model whose type is
// not registered must be built first.
func Summary(l Layer, in []int) (string, error) {
	if CheckBuilt(l) != nil {
		js, err := MarshalLayer(l)
		if err != nil {
			return "", fmt.Errorf("nn: Summary of an unbuilt model builds a copy, which failed (%v): call Build first", err)
		}
		if l, err = UnmarshalLayer(js); err != nil {
			return "", err
		}
	}
	rows, _, err := build(l, in, newRNG(0), 0)
	if err != nil {
		return "", err
	}
	var trainable, frozen int
	for _, w := range AllWeights(l) {
		if w.Trainable {
			trainable += w.Var.Value.Len()
		} else {
			frozen += w.Var.Value.Len()
		}
	}
	name := "model"
	if n, ok := l.(namer); ok && n.layerName() != "" {
		name = n.layerName()
	}
	var b strings.Builder
	const w1, w2, w3 = 34, 26, 12
	line := func(ch string) { b.WriteString(strings.Repeat(ch, w1+w2+w3) + "\n") }
	fmt.Fprintf(&b, "Model: %q\n", name)
	line("=")
	fmt.Fprintf(&b, "%-*s%-*s%*s\n", w1, "Layer (type)", w2, "Output Shape", w3, "Param #")
	line("=")
	for i, r := range rows {
		fmt.Fprintf(&b, "%-*s%-*s%*s\n", w1, fmt.Sprintf("%s (%s)", r.Name, r.Type), w2, fmtShape(r.Output), w3, commas(r.Params))
		if i < len(rows)-1 {
			line("-")
		}
	}
	line("=")
	fmt.Fprintf(&b, "Total params: %s (%s)\n", commas(trainable+frozen), bytesize(4*(trainable+frozen)))
	fmt.Fprintf(&b, "Trainable params: %s (%s)\n", commas(trainable), bytesize(4*trainable))
	fmt.Fprintf(&b, "Non-trainable params: %s (%s)\n", commas(frozen), bytesize(4*frozen))
	return b.String(), nil
}

// CountParams returns the numbers of trainable and non-trainable values.
func CountParams(l Layer) (trainable, nonTrainable int) {
	for _, w := range AllWeights(l) {
		if w.Trainable {
			trainable += w.Var.Value.Len()
		} else {
			nonTrainable += w.Var.Value.Len()
		}
	}
	return
}

func commas(n int) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func bytesize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d.00 B", n)
}
