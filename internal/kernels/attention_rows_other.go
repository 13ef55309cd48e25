//go:build !amd64 || purego

package kernels

// archAttnRowImpls lists the assembly row kernels of this build: none.
func archAttnRowImpls() []*attnRowKernels { return nil }
