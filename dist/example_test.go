package dist_test

import (
	"fmt"

	"github.com/strata-dl/strata/dist"
)

// Init returns the MPI world under mpirun in a binary built with -tags mpi,
// and the single-process communicator otherwise; the same code sums over
// however many ranks there are.
func ExampleInit() {
	c, err := dist.Init(dist.Options{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	grad := []float32{0.5, -1}
	if err := c.AllReduce(grad); err != nil { // Σ over the ranks, in place
		panic(err)
	}
	for i := range grad {
		grad[i] /= float32(c.Size()) // the mean
	}
	fmt.Println(dist.Describe(c), grad)
	// Output: rank 0 of 1 [0.5 -1]
}
