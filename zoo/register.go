package zoo

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
)

// The zoo's struct models are registered with nn.RegisterLayer, so that a
// model file (see package modelfile) rebuilds them without a switch on
// model names, and every zoo family is registered with
// modelfile.RegisterLegacy, so that the model.safetensors files of runs
// written before model files existed still load.
func init() {
	nn.RegisterLayer("zoo.SimpleNet", func() nn.Layer { return &SimpleNet{} })
	nn.RegisterLayer("zoo.CNNNet", func() nn.Layer { return &CNNNet{} })
	nn.RegisterLayer("zoo.RowRNN", func() nn.Layer { return &RowRNN{} })
	nn.RegisterLayer("zoo.GAN", func() nn.Layer { return &GAN{} })
	nn.RegisterLayer("zoo.VAE", func() nn.Layer { return &VAE{} })
	nn.RegisterLayer("zoo.CharLM", func() nn.Layer { return &CharLM{} })

	for _, name := range []string{"mlp", "cnn", "lenet", "lstm", "gru", "rnn"} {
		modelfile.RegisterLegacy(name, legacyClassifier)
	}
	for _, name := range []string{"dcgan", "gan", "vae", "cvae"} {
		modelfile.RegisterLegacy(name, legacyGenerative)
	}
	modelfile.RegisterLegacy("charlm", legacyCharLM)
}

// legacyClassifier rebuilds a classifier from the architecture an older
// strata train wrote: {"model", "classes", "input_shape",
// "preprocessing"}, with MNIST's 10 classes and 28×28×1 inputs when
// absent (the oldest runs).
func legacyClassifier(arch []byte) (nn.Layer, modelfile.Meta, error) {
	var a struct {
		Model         string `json:"model"`
		Classes       int    `json:"classes"`
		InputShape    []int  `json:"input_shape"`
		Preprocessing string `json:"preprocessing"`
	}
	if err := json.Unmarshal(arch, &a); err != nil {
		return nil, modelfile.Meta{}, err
	}
	spec, err := LookupClassifier(a.Model)
	if err != nil {
		return nil, modelfile.Meta{}, err
	}
	if a.Classes <= 0 {
		a.Classes = 10
	}
	if a.Classes > data.MaxClasses {
		return nil, modelfile.Meta{}, fmt.Errorf("the metadata gives %d classes, more than the %d a classifier may have", a.Classes, data.MaxClasses)
	}
	if a.InputShape == nil {
		a.InputShape = spec.Input
	}
	meta := modelfile.Meta{Family: a.Model, InputShape: a.InputShape, Preprocessing: a.Preprocessing, Classes: classNames(a.Classes)}
	return spec.New(a.Classes), meta, nil
}

// classNames returns "0", "1", ..., the names of k numbered classes.
func classNames(k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// legacyGenerative rebuilds a GAN or VAE from {"model", "gan", "vae"}.
func legacyGenerative(arch []byte) (nn.Layer, modelfile.Meta, error) {
	var a struct {
		Model string    `json:"model"`
		GAN   GANConfig `json:"gan"`
		VAE   VAEConfig `json:"vae"`
	}
	if err := json.Unmarshal(arch, &a); err != nil {
		return nil, modelfile.Meta{}, err
	}
	switch a.Model {
	case "dcgan", "gan":
		m, err := NewGANModel(a.Model, a.GAN)
		if err != nil {
			return nil, modelfile.Meta{}, err
		}
		return m, modelfile.Meta{Family: a.Model, InputShape: []int{m.Latent()}}, nil
	}
	m, err := NewVAEModel(a.Model, a.VAE)
	if err != nil {
		return nil, modelfile.Meta{}, err
	}
	return m, modelfile.Meta{Family: a.Model, InputShape: ImageShape(), Preprocessing: "x/255"}, nil
}

// legacyCharLM rebuilds a char LM from {"model", "net", "seq_len",
// "vocabulary"}.
func legacyCharLM(arch []byte) (nn.Layer, modelfile.Meta, error) {
	var a struct {
		Net    CharLMOptions `json:"net"`
		SeqLen int           `json:"seq_len"`
		Vocab  *data.Vocab   `json:"vocabulary"`
	}
	if err := json.Unmarshal(arch, &a); err != nil {
		return nil, modelfile.Meta{}, err
	}
	if a.Vocab == nil || a.Vocab.Len() != a.Net.Vocab {
		return nil, modelfile.Meta{}, fmt.Errorf("the vocabulary in the metadata does not match the model's %d characters", a.Net.Vocab)
	}
	m, err := NewCharLM(a.Net)
	if err != nil {
		return nil, modelfile.Meta{}, err
	}
	return m, modelfile.Meta{Family: "charlm", InputShape: []int{max(a.SeqLen, 1)}, Vocab: a.Vocab,
		Values: map[string]string{"seq_len": strconv.Itoa(a.SeqLen)}}, nil
}
