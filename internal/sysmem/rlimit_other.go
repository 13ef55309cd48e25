//go:build !unix

package sysmem

func addressSpaceLimit() uint64 { return 0 }
