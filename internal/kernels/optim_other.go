//go:build !amd64 || purego

package kernels

// archOptimImpls lists the assembly optimizer updates of this build: none,
// so the reference loops of optim.go do the work.
func archOptimImpls() []*optimImpl { return nil }
