package kernels

import "golang.org/x/sys/cpu"

// CPU features the kernels dispatch on, read once at start-up. x/sys/cpu
// reports AVX2 and AVX-512 only when the operating system saves the wide
// registers, so these are safe to act on as they are.
var (
	hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512  = hasAVX2FMA && cpu.X86.HasAVX512F
)
