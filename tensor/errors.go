package tensor

import "fmt"

// ShapeError reports an operation applied to tensors of incompatible shapes.
// Tensor and autograd operations panic with a *ShapeError; drivers that
// recover it (Fit, the CLI) turn it into an ordinary error.
type ShapeError struct {
	Op   string // operation, e.g. "MatMul"
	Got  []int  // the offending shape
	Want []int  // the expected shape, when one is known
	Msg  string // what is wrong, when the shapes alone do not say
}

func (e *ShapeError) Error() string {
	s := "tensor: " + e.Op
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Got != nil {
		s += fmt.Sprintf(": got %v", e.Got)
	}
	if e.Want != nil {
		s += fmt.Sprintf(", want %v", e.Want)
	}
	return s
}
