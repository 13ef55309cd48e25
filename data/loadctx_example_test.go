package data_test

import (
	"context"
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

// A cancelled context (Ctrl-C) stops reading a text tree at the next file.
func ExampleReadTextContext() {
	dir, _ := os.MkdirTemp("", "texts")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello"), 0o644)
	text, info, err := data.ReadTextContext(context.Background(), dir, data.TextOptions{})
	fmt.Printf("%q %d %v\n", text, info.Files, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = data.ReadTextContext(ctx, dir, data.TextOptions{})
	fmt.Println(err)
	// Output:
	// "hello\n" 1 <nil>
	// context canceled
}

// A cancelled context stops loading an image folder, as LoadCSVContext
// stops a CSV file.
func ExampleLoadImageFolderContext() {
	dir, _ := os.MkdirTemp("", "images")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "cat"), 0o755)
	os.WriteFile(filepath.Join(dir, "cat", "1.png"), nil, 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := data.LoadImageFolderContext(ctx, dir, data.ImageFolderOptions{})
	fmt.Println(err)
	// Output: context canceled
}
