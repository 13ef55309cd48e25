package bench_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/strata-dl/strata/bench"
	"github.com/strata-dl/strata/nn"
)

// The CIFAR-shaped VGG of the vgg_train and vgg_infer workloads, built for
// 32×32 RGB images and 10 classes.
func ExampleNewVGG() {
	net := bench.NewVGG(10)
	out, err := nn.Build(net, []int{32, 32, 3}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	trainable, _ := nn.CountParams(net)
	fmt.Println(out, trainable)
	// Output: [10] 1606730
}
