package zoo

import (
	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
)

// RowRNN classifies an image by reading it row by row: an image [batch,
// rows, cols, channels] becomes the sequence [batch, rows, cols·channels]
// (28 steps of 28 features for MNIST), a recurrent layer reads it, and a
// dense softmax classifies its last output:
//
//	h_T = RNN(x_1, …, x_T);  y = softmax(h_T·W + b)
//
// A sequence [batch, time, features] is taken as it is. Weights are named
// after the recurrent layer's Keras type (lstm.kernel, gru.kernel,
// simple_rnn.kernel, with recurrent_kernel and bias) and dense.kernel,
// dense.bias.
type RowRNN struct {
	RNN   nn.Layer // *nn.LSTM, *nn.GRU or *nn.SimpleRNN
	Dense *nn.Dense
}

// NewRowLSTM returns an unbuilt LSTM(units) → dense softmax classifier
// (LSTM 128 on 28×28 MNIST: 80,384 + 1,290 = 81,674 parameters).
func NewRowLSTM(units, classes int) *RowRNN {
	return &RowRNN{RNN: &nn.LSTM{Name: "lstm", Units: units}, Dense: &nn.Dense{Name: "dense", Units: classes, Activation: "softmax"}}
}

// NewRowGRU returns an unbuilt GRU(units) → dense softmax classifier (GRU
// 128 on 28×28 MNIST, reset_after: 60,672 + 1,290 = 61,962 parameters).
func NewRowGRU(units, classes int) *RowRNN {
	return &RowRNN{RNN: &nn.GRU{Name: "gru", Units: units}, Dense: &nn.Dense{Name: "dense", Units: classes, Activation: "softmax"}}
}

// NewRowSimpleRNN returns an unbuilt SimpleRNN(units) → dense softmax
// classifier (SimpleRNN 128 on 28×28 MNIST: 20,096 + 1,290 = 21,386
// parameters).
func NewRowSimpleRNN(units, classes int) *RowRNN {
	return &RowRNN{RNN: &nn.SimpleRNN{Name: "simple_rnn", Units: units}, Dense: &nn.Dense{Name: "dense", Units: classes, Activation: "softmax"}}
}

// Forward reads x [batch, rows, cols, channels] (or [batch, time,
// features]) as a sequence and returns class probabilities [batch,
// classes].
func (m *RowRNN) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	if s := x.Shape(); len(s) == 4 {
		x = autograd.Reshape(x, s[0], s[1], s[2]*s[3])
	}
	return m.Dense.Forward(c, m.RNN.Forward(c, x))
}

func init() {
	mnist := []int{28, 28, 1}
	RegisterClassifier(Classifier{"lstm", "LSTM 128 over the image rows (28 steps of 28 pixels) → softmax",
		func(k int) nn.Layer { return NewRowLSTM(128, k) }, mnist})
	RegisterClassifier(Classifier{"gru", "GRU 128 over the image rows (28 steps of 28 pixels) → softmax",
		func(k int) nn.Layer { return NewRowGRU(128, k) }, mnist})
	RegisterClassifier(Classifier{"rnn", "SimpleRNN 128 over the image rows (28 steps of 28 pixels) → softmax",
		func(k int) nn.Layer { return NewRowSimpleRNN(128, k) }, mnist})
}
