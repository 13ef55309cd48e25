//go:build unix

package sysmem

import "syscall"

// addressSpaceLimit returns RLIMIT_AS's soft limit, 0 when unlimited.
func addressSpaceLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &r); err != nil || r.Cur >= 1<<62 { // RLIM_INFINITY
		return 0
	}
	return r.Cur
}
