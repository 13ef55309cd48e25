//go:build !purego

#include "textflag.h"

// Batch-normalization loops over a rows×cols block (cols a multiple of 8,
// rows ld elements apart), eight columns per instruction, each with the
// float32 operations of its reference loop in batchnorm.go; see
// batchnorm_amd64.go.

// func bnSqDevAVX2(acc, x, mean *float32, rows, cols, ld int)
TEXT ·bnSqDevAVX2(SB), NOSPLIT, $0-48
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ mean+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ cols+32(FP), CX
	MOVQ ld+40(FP), R9
	SHLQ $2, R9
	TESTQ R8, R8
	JLE sqdone
sqrow:
	XORQ AX, AX
sqcol:
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS (DX)(AX*4), Y0, Y0
	VMULPS Y0, Y0, Y0
	VADDPS (DI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT sqcol
	ADDQ R9, SI
	DECQ R8
	JNE sqrow
sqdone:
	VZEROUPPER
	RET

// func bnGradSumsAVX2(sumG, sumGX, grad, x, mean *float32, rows, cols, ld int)
TEXT ·bnGradSumsAVX2(SB), NOSPLIT, $0-64
	MOVQ sumG+0(FP), DI
	MOVQ sumGX+8(FP), R10
	MOVQ grad+16(FP), BX
	MOVQ x+24(FP), SI
	MOVQ mean+32(FP), DX
	MOVQ rows+40(FP), R8
	MOVQ cols+48(FP), CX
	MOVQ ld+56(FP), R9
	SHLQ $2, R9
	TESTQ R8, R8
	JLE gsdone
gsrow:
	XORQ AX, AX
gscol:
	VMOVUPS (BX)(AX*4), Y1
	VADDPS (DI)(AX*4), Y1, Y2
	VMOVUPS Y2, (DI)(AX*4)
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS (DX)(AX*4), Y0, Y0
	VMULPS Y1, Y0, Y0
	VADDPS (R10)(AX*4), Y0, Y0
	VMOVUPS Y0, (R10)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT gscol
	ADDQ R9, SI
	ADDQ R9, BX
	DECQ R8
	JNE gsrow
gsdone:
	VZEROUPPER
	RET

// func bnApplyAVX2(y, x, a, b *float32, rows, cols, ld int)
TEXT ·bnApplyAVX2(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ a+16(FP), R10
	MOVQ b+24(FP), DX
	MOVQ rows+32(FP), R8
	MOVQ cols+40(FP), CX
	MOVQ ld+48(FP), R9
	SHLQ $2, R9
	TESTQ R8, R8
	JLE apdone
aprow:
	XORQ AX, AX
apcol:
	VMOVUPS (SI)(AX*4), Y0
	VMULPS (R10)(AX*4), Y0, Y0
	VADDPS (DX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT apcol
	ADDQ R9, SI
	ADDQ R9, DI
	DECQ R8
	JNE aprow
apdone:
	VZEROUPPER
	RET

// func bnInputGradAVX2(gx, grad, x, c1, c2, c3 *float32, rows, cols, ld int, acc bool)
TEXT ·bnInputGradAVX2(SB), NOSPLIT, $0-73
	MOVQ gx+0(FP), DI
	MOVQ grad+8(FP), BX
	MOVQ x+16(FP), SI
	MOVQ c1+24(FP), R10
	MOVQ c2+32(FP), R11
	MOVQ c3+40(FP), R12
	MOVQ rows+48(FP), R8
	MOVQ cols+56(FP), CX
	MOVQ ld+64(FP), R9
	SHLQ $2, R9
	MOVBLZX acc+72(FP), DX
	TESTQ R8, R8
	JLE igdone
igrow:
	XORQ AX, AX
igcol:
	VMOVUPS (R12)(AX*4), Y0
	VMOVUPS (R11)(AX*4), Y1
	VFMADD231PS (SI)(AX*4), Y1, Y0
	VMOVUPS (R10)(AX*4), Y2
	VFMADD231PS (BX)(AX*4), Y2, Y0
	TESTQ DX, DX
	JEQ igstore
	VADDPS (DI)(AX*4), Y0, Y0
igstore:
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT igcol
	ADDQ R9, SI
	ADDQ R9, BX
	ADDQ R9, DI
	DECQ R8
	JNE igrow
igdone:
	VZEROUPPER
	RET
