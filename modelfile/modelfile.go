// Package modelfile saves a built model whole — architecture, weights and
// what a program needs to feed it — to one safetensors file, and loads it
// back into a runnable nn.Layer without the code that defined it:
//
//	err := modelfile.Save("model.safetensors", net, modelfile.Meta{InputShape: []int{4}, Classes: names})
//	...
//	m, err := modelfile.Load("model.safetensors") // in another program
//	probs, err := train.Predict(ctx, m.Net, x, 256)
//
// The file is a plain safetensors file (readable by PyTorch and Hugging
// Face tools): every weight is an F32 tensor under its dotted path
// ("conv1.kernel", see nn.AllWeights), and "__metadata__" holds
//
//   - "format": "strata.model.v1";
//   - "strata.model": the architecture, nn.MarshalLayer's JSON (a type
//     name and the configuration of every layer);
//   - "strata.meta": Meta as JSON (input shape, class names, a fitted
//     standardizer, a text vocabulary, the zoo family, user values).
//
// Any model made of nn layers (a Sequential, nested or not) saves with no
// more code. A struct model (a Go struct whose fields are layers) is
// rebuilt from its registered type, as database/sql drivers register:
//
//	func init() { nn.RegisterLayer("myapp.Net", func() nn.Layer { return &Net{} }) }
//
// (see nn's package doc for the rule its fields follow). A model with
// several inputs or a build of its own (a GAN builds its generator and
// its discriminator) implements Builder; any other is built for
// Meta.InputShape, which Save then requires.
//
// Files written before this format (a run's model.safetensors holding a
// zoo model's "strata.architecture") still load: the zoo registers a
// LegacyFunc per family with RegisterLegacy, so import
// github.com/strata-dl/strata/zoo (blank import is enough) to load them.
//
// Errors: nothing here panics on a bad file or model; Save and Load return
// errors naming the file and what was wrong (an unregistered type, a
// missing input shape, weights that do not match the architecture).
package modelfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// Metadata keys of a model file.
const (
	// Format is the value of the "format" key of a file Save writes.
	Format = "strata.model.v1"
	// KeyModel holds the architecture (nn.MarshalLayer's JSON).
	KeyModel = "strata.model"
	// KeyMeta holds Meta as JSON.
	KeyMeta = "strata.meta"
	// KeyLegacy holds the architecture of files from older builds.
	KeyLegacy = "strata.architecture"
)

// Meta is what travels with a model besides its architecture and weights:
// what a program needs to feed it and read its output. Every field is
// optional but InputShape, which Save needs unless the model is a Builder.
type Meta struct {
	// Family is the zoo name of the model ("cnn", "lstm", "dcgan",
	// "charlm"), empty for a user's model.
	Family string `json:"family,omitempty"`
	// InputShape is the shape of one sample without the batch axis
	// ([28, 28, 1] for MNIST images, [features] for tabular data).
	InputShape []int `json:"input_shape,omitempty"`
	// Classes names the output classes, in the order of the output's last
	// axis.
	Classes []string `json:"classes,omitempty"`
	// Preprocessing describes how raw inputs were scaled before the
	// standardizer: "x/255" (pixels to [0, 1]), "none" or empty.
	Preprocessing string `json:"preprocessing,omitempty"`
	// Standardizer is the standardizer fitted on the training data, to
	// apply to every input (see Model.Preprocess).
	Standardizer *data.Standardizer `json:"standardizer,omitempty"`
	// Vocab is the vocabulary of a text model (token id ↔ character).
	Vocab *data.Vocab `json:"vocab,omitempty"`
	// Logits says that a classifier's output is logits (it was trained
	// with a loss FromLogits: true), so that a softmax over the last axis
	// gives its probabilities; false: the output already is probabilities
	// (the network ends in a softmax, as the zoo's classifiers do) or the
	// model is not a classifier. strata predict, eval and serve read it.
	Logits bool `json:"logits,omitempty"`
	// Values holds free-form user key/values.
	Values map[string]string `json:"values,omitempty"`
}

// Model is a loaded model: a built, runnable network with its Meta.
type Model struct {
	Net  nn.Layer
	Meta Meta
	// Output is the shape of one output sample without the batch axis
	// (for a model built for Meta.InputShape; nil for a Builder).
	Output []int
}

// Builder is a model that builds itself (several sub-networks, or inputs
// that are not one tensor): Load calls Build instead of nn.Build, and its
// weights are then overwritten by the file's.
type Builder interface {
	Build(rng *rand.Rand) error
}

// Preprocess applies the model's standardizer, if any, to x [n,
// InputShape...] in place. (Scaling such as "x/255" is the data loaders'
// job and is not repeated here.)
func (m *Model) Preprocess(x *tensor.Tensor) error {
	if m.Meta.Standardizer == nil {
		return nil
	}
	return m.Meta.Standardizer.Apply(x)
}

// Save writes net (built) with its architecture, weights and meta to path
// as one safetensors file, atomically (see checkpoint.WriteFileAtomic).
// It returns an error when net is not built, a type in it is not
// registered (nn.RegisterLayer), or meta.InputShape is empty and net is
// not a Builder.
func Save(path string, net nn.Layer, meta Meta) error {
	md, err := Metadata(net, meta)
	if err != nil {
		return fmt.Errorf("modelfile: save %s: %w", path, err)
	}
	return checkpoint.SaveSafetensors(path, Tensors(net), md)
}

// Metadata returns the "__metadata__" map Save writes for net and meta
// (for a program that writes the safetensors file itself).
func Metadata(net nn.Layer, meta Meta) (map[string]string, error) {
	if err := nn.CheckBuilt(net); err != nil {
		return nil, err
	}
	if _, ok := net.(Builder); !ok && len(meta.InputShape) == 0 {
		return nil, fmt.Errorf("Meta.InputShape is empty: a %T is rebuilt for the input shape it was built for (one sample, without the batch axis)", net)
	}
	arch, err := nn.MarshalLayer(net)
	if err != nil {
		return nil, err
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("meta: %v", err)
	}
	return map[string]string{"format": Format, KeyModel: string(arch), KeyMeta: string(mj)}, nil
}

// Tensors returns the weights of net as checkpoint tensors under their
// dotted paths, the tensors of a model file.
func Tensors(net nn.Layer) []checkpoint.Named {
	var out []checkpoint.Named
	for _, w := range nn.AllWeights(net) {
		out = append(out, checkpoint.Named{Name: w.Path, Tensor: w.Var.Value})
	}
	return out
}

// Load reads the model file at path (written by Save, or a run's
// model.safetensors from an older build, see RegisterLegacy) and returns
// the model, built and holding the file's weights, ready for inference
// (Forward with a zero nn.Ctx, train.Predict).
func Load(path string) (*Model, error) {
	f, err := checkpoint.LoadSafetensors(path)
	if err != nil {
		return nil, err
	}
	m, err := FromFile(f)
	if err != nil {
		return nil, fmt.Errorf("modelfile: %s: %w", path, err)
	}
	return m, nil
}

// ErrNoArchitecture is returned (wrapped) by FromFile for a safetensors
// file that holds weights only.
var ErrNoArchitecture = errors.New("the file holds weights but no architecture (rebuild the model in Go and load the weights into it)")

// FromFile rebuilds the model held by a safetensors file already read.
func FromFile(f *checkpoint.File) (*Model, error) {
	var (
		m   = &Model{}
		err error
	)
	switch arch, legacy := f.Metadata[KeyModel], f.Metadata[KeyLegacy]; {
	case arch != "":
		if m.Net, err = nn.UnmarshalLayer([]byte(arch)); err != nil {
			return nil, err
		}
		if s := f.Metadata[KeyMeta]; s != "" {
			if err := json.Unmarshal([]byte(s), &m.Meta); err != nil {
				return nil, fmt.Errorf("bad %s metadata: %v", KeyMeta, err)
			}
		}
	case legacy != "":
		if m.Net, m.Meta, err = fromLegacy([]byte(legacy)); err != nil {
			return nil, err
		}
	default:
		return nil, ErrNoArchitecture
	}
	// The file's values bound the weights the architecture may allocate
	// (twice them, plus 2²⁰ for slack): an edited layer (Units: 1e8) is
	// refused, naming the layer, before its kernel is made; a smaller
	// mismatch is listed weight by weight by Assign below.
	var held int64
	for _, n := range f.Names {
		held += int64(f.Tensors[n].Len())
	}
	if err := m.build(2*held + 1<<20); err != nil {
		return nil, err
	}
	if err := checkpoint.Assign(Tensors(m.Net), f); err != nil {
		return nil, fmt.Errorf("the weights do not fit the architecture in the file: %w", err)
	}
	return m, nil
}

// MaxInputValues bounds the values of one input sample that a file's
// metadata may give (16.7 million, a 2364×2364×3 image).
const MaxInputValues = 1 << 24

// build builds m.Net for m.Meta.InputShape, or by its own Build, allowing
// at most maxParams weight values (nn.BuildLimit; a Builder is not
// bounded). The weights drawn here are overwritten by the file's. The
// configuration came from a file, so any panic while building is returned
// as an error.
func (m *Model) build(maxParams int64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the architecture in the file cannot be built: %v", r)
		}
	}()
	rng := rand.New(rand.NewPCG(0, 0))
	if b, ok := m.Net.(Builder); ok {
		return b.Build(rng)
	}
	if len(m.Meta.InputShape) == 0 {
		return errors.New("the metadata gives no input shape to build the model for")
	}
	// Bounded before anything is allocated for it: a file claiming a
	// 100000×100000 input would otherwise size its first layer from it.
	n := 1
	for _, d := range m.Meta.InputShape {
		if d <= 0 {
			return fmt.Errorf("the metadata gives input shape %v, with a dimension of %d", m.Meta.InputShape, d)
		}
		if n *= d; n > MaxInputValues {
			return fmt.Errorf("the metadata gives input shape %v, more than %d values per sample", m.Meta.InputShape, MaxInputValues)
		}
	}
	out, err := nn.BuildLimit(m.Net, m.Meta.InputShape, rng, maxParams)
	if err != nil {
		return fmt.Errorf("building the model for inputs %v (the file's weights bound it to %d values): %w", m.Meta.InputShape, maxParams, err)
	}
	m.Output = out
	return nil
}

// LegacyFunc rebuilds an unbuilt model and its Meta from the
// "strata.architecture" metadata of a file written by an older build
// (for the zoo's classifiers {"model": "cnn", "classes": 10, ...}).
type LegacyFunc func(arch []byte) (nn.Layer, Meta, error)

var legacy = struct {
	sync.RWMutex
	m map[string]LegacyFunc
}{m: map[string]LegacyFunc{}}

// RegisterLegacy registers how files of an older build whose architecture
// names the model family are rebuilt. The zoo registers its families
// (mlp, cnn, lenet, lstm, gru, rnn, dcgan, gan, vae, cvae, charlm). It
// panics if family is registered twice.
func RegisterLegacy(family string, rebuild LegacyFunc) {
	legacy.Lock()
	defer legacy.Unlock()
	if _, dup := legacy.m[family]; dup {
		panic("modelfile: legacy family " + family + " registered twice")
	}
	legacy.m[family] = rebuild
}

// Families returns the legacy families registered, sorted.
func Families() []string {
	legacy.RLock()
	defer legacy.RUnlock()
	var out []string
	for k := range legacy.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func fromLegacy(arch []byte) (nn.Layer, Meta, error) {
	var head struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(arch, &head); err != nil {
		return nil, Meta{}, fmt.Errorf("bad %s metadata: %v", KeyLegacy, err)
	}
	legacy.RLock()
	f, ok := legacy.m[head.Model]
	legacy.RUnlock()
	if !ok {
		return nil, Meta{}, fmt.Errorf("a %q model from an older build, and no loader for it is registered (import github.com/strata-dl/strata/zoo; known: %v)", head.Model, Families())
	}
	net, meta, err := f(arch)
	if err != nil {
		return nil, Meta{}, fmt.Errorf("%s model: %w", head.Model, err)
	}
	if meta.Family == "" {
		meta.Family = head.Model
	}
	return net, meta, nil
}
