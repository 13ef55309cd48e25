//go:build !amd64 || purego

package kernels

// archRNNKernels returns the assembly gate loops of this build: none.
func archRNNKernels() rnnVecKernels { return rnnVecKernels{} }
