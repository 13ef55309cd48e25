//go:build !purego

#include "textflag.h"

// func transpose8AVX2(dst *float32, ldd int, src *float32, lds int, n8 int)
//
// Transposes n8 consecutive 8×8 blocks: for q < 8·n8 and r < 8,
// dst[q*ldd + r] = src[r*lds + q]. Each block is loaded as 128-bit halves
// (row r in the low lane, row r+4 in the high lane) and finished with two
// in-lane 4×4 transposes, 16 shuffles per 64 elements.
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	SHLQ $2, R8
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	SHLQ $2, R9
	MOVQ n8+32(FP), CX
	LEAQ (R9)(R9*2), R10   // 3·lds
	LEAQ (SI)(R9*4), DX    // row 4
	LEAQ (R8)(R8*2), R11   // 3·ldd
	TESTQ CX, CX
	JEQ done

loop:
	VMOVUPS (SI), X0
	VINSERTF128 $1, (DX), Y0, Y0
	VMOVUPS (SI)(R9*1), X1
	VINSERTF128 $1, (DX)(R9*1), Y1, Y1
	VMOVUPS (SI)(R9*2), X2
	VINSERTF128 $1, (DX)(R9*2), Y2, Y2
	VMOVUPS (SI)(R10*1), X3
	VINSERTF128 $1, (DX)(R10*1), Y3, Y3
	VMOVUPS 16(SI), X4
	VINSERTF128 $1, 16(DX), Y4, Y4
	VMOVUPS 16(SI)(R9*1), X5
	VINSERTF128 $1, 16(DX)(R9*1), Y5, Y5
	VMOVUPS 16(SI)(R9*2), X6
	VINSERTF128 $1, 16(DX)(R9*2), Y6, Y6
	VMOVUPS 16(SI)(R10*1), X7
	VINSERTF128 $1, 16(DX)(R10*1), Y7, Y7

	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, (DI)(R8*1)
	VMOVUPS Y2, (DI)(R8*2)
	VMOVUPS Y3, (DI)(R11*1)
	LEAQ (DI)(R8*4), DI

	VUNPCKLPS Y5, Y4, Y8
	VUNPCKHPS Y5, Y4, Y9
	VUNPCKLPS Y7, Y6, Y10
	VUNPCKHPS Y7, Y6, Y11
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, (DI)(R8*1)
	VMOVUPS Y2, (DI)(R8*2)
	VMOVUPS Y3, (DI)(R11*1)
	LEAQ (DI)(R8*4), DI

	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNE loop

done:
	VZEROUPPER
	RET
