//go:build !amd64 || purego

package kernels

// archGeluImpls lists the assembly exact-GELU kernels of this build:
// none, so the Go twins do the work.
func archGeluImpls() []*geluKernels { return nil }
