//go:build !amd64 || purego

package kernels

// archBNImpls lists the assembly batch-normalization loops of this build:
// none, so the reference loops of batchnorm.go do the work.
func archBNImpls() []*bnImpl { return nil }
