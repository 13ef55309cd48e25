//go:build unix

package kernels

import "syscall"

// processCPUSeconds returns the user and system CPU time of the process so
// far, for benchmarks that report work per CPU second (a figure that a
// busy machine's descheduling does not depress at one thread).
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
