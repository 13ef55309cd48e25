//go:build !race

package kernels

const rnnRace = false
