// Package memplan estimates the memory a model will need from its
// configuration, before the model is built at full size, so that a command
// can refuse a job larger than the machine (see internal/sysmem) instead of
// dying in the runtime's out-of-memory error.
package memplan

import (
	"fmt"
	"math/rand/v2"

	"github.com/strata-dl/strata/internal/sysmem"
	"github.com/strata-dl/strata/nn"
)

// ClassifierParams returns the parameter count of newModel(classes) built
// for inputs of shape input (without the batch), without building it at
// that size: it builds the model for 2 and for 3 classes and extends the
// difference, exact for every model whose class count only sizes its output
// layer (all the zoo's classifiers: P(k) = P(2) + (k − 2)·(P(3) − P(2))).
func ClassifierParams(newModel func(classes int) nn.Layer, input []int, classes int) (int64, error) {
	if classes < 2 {
		return 0, fmt.Errorf("memplan: %d classes, want at least 2", classes)
	}
	count := func(k int) (int64, error) {
		net := newModel(k)
		if _, err := nn.Build(net, input, rand.New(rand.NewPCG(1, 1))); err != nil {
			return 0, err
		}
		tr, non := nn.CountParams(net)
		return int64(tr + non), nil
	}
	p2, err := count(2)
	if err != nil {
		return 0, err
	}
	p3, err := count(3)
	if err != nil {
		return 0, err
	}
	return p2 + int64(classes-2)*(p3-p2), nil
}

// Training lists what training a model of params float32 parameters with an
// optimizer of slots state tensors per parameter (Adam 2, SGD with momentum
// 1) needs: the weights, their gradients and the optimizer state. Add the
// activations of a batch with Activations.
func Training(params int64, slots int) []sysmem.Need {
	b := uint64(params) * 4
	return []sysmem.Need{
		{What: fmt.Sprintf("%d parameters", params), Bytes: b},
		{What: "their gradients", Bytes: b},
		{What: fmt.Sprintf("optimizer state (%d per parameter)", slots), Bytes: b * uint64(slots)},
	}
}

// Activations is the memory of a batch of batch samples whose forward pass
// keeps perSample float32 values for the backward pass (the sum of the
// layers' output sizes, as nn.Summary lists them), counted twice: the
// values and their gradients.
func Activations(batch int, perSample int64) sysmem.Need {
	return sysmem.Need{What: fmt.Sprintf("activations at batch size %d", batch), Bytes: uint64(batch) * uint64(perSample) * 4 * 2}
}

// RecurrentLM lists what training a character language model needs: an
// embedding of vocab × embed, layers recurrent layers of units (gates = 4
// for an LSTM, 3 for a GRU) and a dense output over the vocabulary, with
// Adam (two slots), on batches of batch windows of seqLen characters. The
// activations count, per character, the embedding, each layer's gates and
// state, and three vocabulary-wide rows (logits, softmax, their gradient),
// which dominate for a large vocabulary.
func RecurrentLM(vocab, embed, units, layers, gates, seqLen, batch int) []sysmem.Need {
	v, e, u, l, g := int64(vocab), int64(embed), int64(units), int64(layers), int64(gates)
	params := v*e + g*u*(e+u+1) + (l-1)*g*u*(u+u+1) + u*v + v
	perChar := e + l*u*(g+2) + 3*v
	return append(Training(params, 2), Activations(batch, int64(seqLen)*perChar))
}
