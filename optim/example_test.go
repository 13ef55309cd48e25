package optim_test

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
)

// Fit w in y = w·x to data from y = 3x with Adam: the loop that Fit stands
// for, written out.
func Example() {
	x := tensor.New([]int{4, 1}, []float32{1, 2, 3, 4})
	y := tensor.New([]int{4, 1}, []float32{3, 6, 9, 12})
	w := autograd.NewParam("w", tensor.Zeros(1, 1))
	opt := &optim.Adam{Base: optim.Base{LearningRate: 0.1}}
	pool := autograd.NewPool()
	for range 300 {
		tape := autograd.NewTape(pool)
		tape.Watch(w)
		r := autograd.Sub(autograd.MatMul(autograd.Const(x), w, false, false), autograd.Const(y))
		loss := autograd.Mean(autograd.Square(r), false)
		grads, err := tape.Gradients(loss, w)
		if err == nil {
			err = opt.Step([]*autograd.Var{w}, grads)
		}
		tape.Release()
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("w = %.2f after %d steps\n", w.Value.Item(), opt.Iterations())
	for _, s := range opt.State() {
		fmt.Println(s.Name, s.Tensor.Shape())
	}
	// Output:
	// w = 3.00 after 300 steps
	// adam.step [1]
	// adam.m.w [1 1]
	// adam.v.w [1 1]
}

func ExampleWarmup() {
	s := optim.Warmup{Steps: 3, Then: optim.CosineDecay{Initial: 0.3, DecaySteps: 4}}
	for step := range 8 {
		fmt.Printf("%.4f ", s.LR(step))
	}
	fmt.Println()
	// Output:
	// 0.1000 0.2000 0.3000 0.3000 0.2561 0.1500 0.0439 0.0000
}

func ExampleScheduleByName() {
	opt, _ := optim.ByName("adam", 0.01)
	s, err := optim.ScheduleByName("cosine", opt.LR(), 1000)
	if err != nil {
		panic(err)
	}
	opt.SetSchedule(s)
	if err := optim.SetClip(opt, "global_norm", 1); err != nil {
		panic(err)
	}
	fmt.Printf("%.4f %.4f %v\n", s.LR(0), s.LR(500), opt.Config()["global_clipnorm"])
	// Output: 0.0100 0.0050 1
}
