package data_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/strata-dl/strata/data"
)

// Only the t10k files are needed (and read) to evaluate on MNIST.
func ExampleLoadMNISTTest() {
	dir, _ := os.MkdirTemp("", "mnist")
	defer os.RemoveAll(dir)
	idx := func(name string, typ byte, dims []uint32, body []byte) {
		b := []byte{0, 0, 0x08, byte(len(dims))}
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, d)
		}
		os.WriteFile(filepath.Join(dir, name), append(b, body...), 0o644)
	}
	idx("t10k-images-idx3-ubyte", 3, []uint32{2, 28, 28}, make([]byte, 2*28*28))
	idx("t10k-labels-idx1-ubyte", 1, []uint32{2}, []byte{7, 3})
	test, err := data.LoadMNISTTest(dir) // no train-* files here
	if err != nil {
		panic(err)
	}
	fmt.Println(test.X.Shape(), test.Y.Data())
	// Output: [2 28 28 1] [7 3]
}
