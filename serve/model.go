package serve

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// Model describes a network to serve: what it takes and what its outputs
// mean. The server does not care how the network was built or loaded.
type Model struct {
	// Name is the model's name in URLs: letters, digits, '.', '_' and '-'.
	Name string
	// Version is reported in metadata and accepted in
	// /v2/models/{name}/versions/{version}/... ("" means "1").
	Version string
	// Net is a built network; it must not be trained or changed while
	// served. Its Forward runs in inference mode from several goroutines.
	Net nn.Layer
	// InputShape is the shape of one sample, without the batch dimension
	// (e.g. [28, 28, 1]); requests send [n, InputShape...].
	InputShape []int
	// InputName is the name of the model's only input ("" means "input").
	InputName string
	// Datatype is the input's datatype: "FP32" (the default), or an
	// integer type ("INT32", "INT64", "UINT8", ...) for token ids or raw
	// pixels. Integer data is checked to be whole and in range, then fed
	// to the network as float32.
	Datatype string
	// Classes names the classes of a classifier whose output is
	// [n, len(Classes)]; nil for other models.
	Classes []string
	// Logits says that a classifier's network outputs logits, so the
	// server applies a softmax to get probabilities (false: the network
	// already ends in a softmax, as the zoo classifiers do).
	Logits bool
	// Preprocess, if not nil, transforms a request's input [n,
	// InputShape...] in place before it is batched (e.g. a fitted
	// standardizer). An error is reported to the client as a bad request.
	Preprocess func(x *tensor.Tensor) error
	// Parameters are extra strings reported in the model's metadata
	// (e.g. {"preprocessing": "x/255 by the client"}).
	Parameters map[string]string
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// check validates the description and fills in its defaults.
func (m *Model) check() error {
	if !nameRE.MatchString(m.Name) {
		return fmt.Errorf("serve: model name %q: use letters, digits, '.', '_' and '-' (at most 128)", m.Name)
	}
	if m.Net == nil {
		return fmt.Errorf("serve: model %q has no network", m.Name)
	}
	if len(m.InputShape) == 0 || slices.ContainsFunc(m.InputShape, func(d int) bool { return d <= 0 }) {
		return fmt.Errorf("serve: model %q: input shape %v must be positive dimensions", m.Name, m.InputShape)
	}
	if m.Version == "" {
		m.Version = "1"
	}
	if m.InputName == "" {
		m.InputName = "input"
	}
	if m.Datatype == "" {
		m.Datatype = "FP32"
	}
	if dt, ok := datatypes[m.Datatype]; !ok || dt.name == "BYTES" || dt.name == "BOOL" || dt.name == "FP16" {
		return fmt.Errorf("serve: model %q: input datatype %q is not FP32, FP64 or an integer type", m.Name, m.Datatype)
	}
	return nil
}

// outputNames lists the model's outputs in metadata order.
func (m *Model) outputNames() []string {
	if len(m.Classes) > 0 {
		return []string{"probabilities", "class"}
	}
	return []string{"output"}
}

// tensorMeta is a tensor's metadata in the protocol.
type tensorMeta struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

// modelMetadata is the answer to GET /v2/models/{name}.
type modelMetadata struct {
	Name       string         `json:"name"`
	Versions   []string       `json:"versions"`
	Platform   string         `json:"platform"`
	Inputs     []tensorMeta   `json:"inputs"`
	Outputs    []tensorMeta   `json:"outputs"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

func (m *Model) metadata(outShape []int) modelMetadata {
	md := modelMetadata{
		Name:     m.Name,
		Versions: []string{m.Version},
		Platform: "strata",
		Inputs:   []tensorMeta{{m.InputName, m.Datatype, append([]int{-1}, m.InputShape...)}},
	}
	if len(m.Classes) > 0 {
		md.Outputs = []tensorMeta{{"probabilities", "FP32", []int{-1, len(m.Classes)}}, {"class", "INT64", []int{-1}}}
	} else {
		md.Outputs = []tensorMeta{{"output", "FP32", append([]int{-1}, outShape...)}}
	}
	if len(m.Classes) > 0 || len(m.Parameters) > 0 {
		md.Parameters = map[string]any{}
		for k, v := range m.Parameters {
			md.Parameters[k] = v
		}
		if len(m.Classes) > 0 {
			md.Parameters["classes"] = m.Classes
		}
	}
	return md
}
