package tensor_test

import (
	"fmt"

	"github.com/strata-dl/strata/tensor"
)

func ExampleAdd() {
	a := tensor.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	b := tensor.New([]int{3}, []float32{10, 20, 30}) // broadcast over rows
	fmt.Println(tensor.Add(a, b))
	// Output: Tensor[2 3][11 22 33 14 25 36]
}

func ExampleMatMul() {
	a := tensor.New([]int{2, 2}, []float32{1, 2, 3, 4})
	fmt.Println(tensor.MatMul(a, tensor.Eye(2)), tensor.MatMulT(a, a, false, true))
	// Output: Tensor[2 2][1 2 3 4] Tensor[2 2][5 11 11 25]
}

func ExampleSum() {
	x := tensor.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	fmt.Println(tensor.Sum(x, false, 1), tensor.Sum(x, true, 0), tensor.Softmax(tensor.New([]int{2}, []float32{0, 0}), -1))
	// Output: Tensor[2][6 15] Tensor[1 3][5 7 9] Tensor[2][0.5 0.5]
}

func ExampleShapeError() {
	defer func() { fmt.Println(recover()) }()
	tensor.MatMul(tensor.Zeros(2, 3), tensor.Zeros(4, 5))
	// Output: tensor: MatMul: inner dimensions differ: got [4 5], want [2 3]
}

func ExampleReduceInto() {
	x := tensor.New([]int{2, 3}, []float32{1, 5, 2, 4, 3, 6})
	fmt.Println(tensor.ReduceInto(nil, tensor.ReduceMax, x, []int{1}, false).Data())
	// Output: [5 6]
}

// ViewOf points a recycled header at another tensor's storage, as Reshape
// would return it, without allocating a new header.
func ExampleTensor_ViewOf() {
	x := tensor.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	var v tensor.Tensor // kept, for instance, from one step to the next
	v.ViewOf(x, 3, -1)
	fmt.Println(v.Shape(), v.Data())
	// Output: [3 2] [1 2 3 4 5 6]
}

// NormAxis turns a negative axis into its position from the front.
func ExampleNormAxis() {
	fmt.Println(tensor.NormAxis("Softmax", 3, -1), tensor.NormAxis("Softmax", 3, 1))
	// Output: 2 1
}
