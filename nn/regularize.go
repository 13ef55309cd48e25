package nn

import "github.com/strata-dl/strata/autograd"

// Regularizer adds a penalty on a weight to the training loss.
type Regularizer interface {
	Penalty(w *autograd.Var) *autograd.Var
}

// L1 is the penalty L·Σ|w|.
type L1 struct{ L float32 }

// L2 is the penalty L·Σw² (Keras's convention: no factor ½).
type L2 struct{ L float32 }

// L1L2 is the penalty L1·Σ|w| + L2·Σw².
type L1L2 struct{ L1, L2 float32 }

func (r L1) Penalty(w *autograd.Var) *autograd.Var {
	return autograd.Scale(autograd.Sum(autograd.Abs(w), false), r.L)
}

func (r L2) Penalty(w *autograd.Var) *autograd.Var {
	return autograd.Scale(autograd.Sum(autograd.Square(w), false), r.L)
}

func (r L1L2) Penalty(w *autograd.Var) *autograd.Var {
	return autograd.Add(L1{r.L1}.Penalty(w), L2{r.L2}.Penalty(w))
}

// Penalty returns the sum of the regularization penalties of l's weights,
// or nil when none is regularized. Add it to the training loss.
func Penalty(l Layer) *autograd.Var {
	var total *autograd.Var
	for _, w := range AllWeights(l) {
		if w.Reg == nil || !w.Trainable {
			continue
		}
		p := w.Reg.Penalty(w.Var)
		if total == nil {
			total = p
		} else {
			total = autograd.Add(total, p)
		}
	}
	return total
}
