//go:build !amd64 || purego

package kernels

// archFMALoop: no vector FMA probe in this build.
func archFMALoop() (loop func(n int), flopsPerIter int, isa string) { return nil, 0, "generic" }
