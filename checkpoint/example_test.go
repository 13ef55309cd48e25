package checkpoint_test

import (
	"bytes"
	"fmt"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/tensor"
)

func ExampleWriteSafetensors() {
	params := []checkpoint.Named{
		{Name: "dense.kernel", Tensor: tensor.New([]int{2, 2}, []float32{1, 2, 3, 4})},
		{Name: "dense.bias", Tensor: tensor.New([]int{2}, []float32{0.5, -0.5})},
	}
	var buf bytes.Buffer
	if err := checkpoint.WriteSafetensors(&buf, params, map[string]string{"format": "pt"}); err != nil {
		panic(err)
	}
	f, err := checkpoint.ReadSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Names, f.Tensors["dense.bias"].Data(), f.Metadata["format"])

	// Load into a model whose parameters have the same names and shapes.
	model := []checkpoint.Named{
		{Name: "dense.kernel", Tensor: tensor.Zeros(2, 2)},
		{Name: "dense.bias", Tensor: tensor.Zeros(2)},
	}
	fmt.Println(checkpoint.Assign(model, f), model[0].Tensor.Data())

	// A model that differs is refused with every difference listed.
	other := []checkpoint.Named{{Name: "dense.kernel", Tensor: tensor.Zeros(2, 3)}}
	fmt.Println(checkpoint.Match(other, f))
	// Output:
	// [dense.kernel dense.bias] [0.5 -0.5] pt
	// <nil> [1 2 3 4]
	// checkpoint: weights do not match the model; unexpected 1: "dense.bias"; wrong shape 1: "dense.kernel" model [2 3] file [2 2]
}
