package overlay_test

import (
	"context"
	"fmt"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/strata-dl/strata/explain"
	"github.com/strata-dl/strata/explain/overlay"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// A saliency map of one 8×8 image, drawn over the image as a PNG.
func ExampleSave() {
	net := nn.NewSequential(&nn.Flatten{}, &nn.Dense{Units: 3, Activation: "softmax"})
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, []int{8, 8, 1}, rng); err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.RandUniform(rng, 0, 1, 1, 8, 8, 1) // [n, h, w, c]
	a, err := explain.Saliency{}.Attribute(context.Background(), net, x, explain.Predicted)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "overlay")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "saliency.png")
	if err := overlay.Save(path, x, a, 0); err != nil {
		fmt.Println(err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	if _, err := png.DecodeConfig(f); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("wrote a PNG overlay of sample 0")
	// Output: wrote a PNG overlay of sample 0
}
