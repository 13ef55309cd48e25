//go:build !amd64 || purego

package kernels

// archSIMDImpls lists the assembly vector kernels of this build: none.
func archSIMDImpls() []*simdImpl { return nil }
