//go:build !amd64 || purego

package kernels

// archBCEImpls lists the assembly row loops of this build: none, so the
// reference loops of bce.go do the work.
func archBCEImpls() []*bceImpl { return nil }
