//go:build !unix

package kernels

// processCPUSeconds is unknown here: 0, and no CPU-time metric.
func processCPUSeconds() float64 { return 0 }
