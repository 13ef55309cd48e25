//go:build !amd64 || purego

package kernels

// archLNImpls lists the assembly LayerNorm kernels of this build: none,
// so the Go twins do the work.
func archLNImpls() []*lnKernels { return nil }
