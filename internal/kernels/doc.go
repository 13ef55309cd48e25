// Package kernels holds every loop over tensor elements in Strata: GEMM,
// elementwise math, reductions and the convolution helpers. Hot kernels have
// an AVX2/FMA assembly version on amd64 and a pure-Go twin (build tag purego
// forces the twin everywhere); the implementation is chosen once at start-up
// with golang.org/x/sys/cpu. Work is split over one worker pool sized by
// GOMAXPROCS (see Parallel).
//
// Kernels take slices and sizes, never tensors: shape checking is the
// caller's job, and kernels may panic with an index error on bad sizes.
package kernels
