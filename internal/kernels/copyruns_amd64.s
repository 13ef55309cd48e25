//go:build !purego

#include "textflag.h"

// copyRunsAVX2 copies runs runs of n float32 values (n a positive
// multiple of 8) from src to dst, src advancing ss and dst ds elements
// from one run to the next: copyRunsGo for a vector length.
// func copyRunsAVX2(dst *float32, ds int, src *float32, ss, runs, n int)
TEXT ·copyRunsAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ds+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ ss+24(FP), R9
	MOVQ runs+32(FP), CX
	MOVQ n+40(FP), DX
	SHLQ $2, R8
	SHLQ $2, R9
	TESTQ CX, CX
	JEQ done
run:
	XORQ AX, AX
copy8:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, DX
	JLT copy8
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ CX
	JNE run
done:
	VZEROUPPER
	RET
