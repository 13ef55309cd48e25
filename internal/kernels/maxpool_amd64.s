//go:build !purego

#include "textflag.h"

// Lane numbers 0…7 of a YMM register of int32.
DATA lanes8<>+0(SB)/4, $0
DATA lanes8<>+4(SB)/4, $1
DATA lanes8<>+8(SB)/4, $2
DATA lanes8<>+12(SB)/4, $3
DATA lanes8<>+16(SB)/4, $4
DATA lanes8<>+20(SB)/4, $5
DATA lanes8<>+24(SB)/4, $6
DATA lanes8<>+28(SB)/4, $7
GLOBL lanes8<>(SB), RODATA|NOPTR, $32

DATA eight<>+0(SB)/4, $8
GLOBL eight<>(SB), RODATA|NOPTR, $4

// maxOf4AVX2 is maxOf4 for n elements (a multiple of 8) of the four rows
// x, x+c, x+rs, x+rs+c (offsets in elements), whose first elements have
// the flat indices base, base+c, base+rs, base+rs+c. A later row wins only
// when strictly greater (ordered: a NaN never wins), so ties go to the
// earliest row, as in maxOf4.
// func maxOf4AVX2(d *float32, a *int32, x *float32, c, rs, base, n int)
TEXT ·maxOf4AVX2(SB), NOSPLIT, $0-56
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ c+24(FP), R8
	MOVQ rs+32(FP), R9
	MOVQ n+48(FP), CX
	VPBROADCASTD c+24(FP), Y14
	VPBROADCASTD rs+32(FP), Y13
	VPBROADCASTD base+40(FP), Y15
	VPADDD lanes8<>(SB), Y15, Y15 // indices of row 0's lanes
	VPBROADCASTD eight<>(SB), Y12 // (a legacy-SSE move here would stall on the dirty upper halves)
	LEAQ (SI)(R8*4), R11 // row 1
	LEAQ (SI)(R9*4), R10 // row 2
	LEAQ (R10)(R8*4), R12 // row 3
	XORQ AX, AX
	TESTQ CX, CX
	JEQ done
loop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVDQU Y15, Y1
	VMOVUPS (R11)(AX*4), Y2
	VCMPPS $0x1e, Y0, Y2, Y3
	VBLENDVPS Y3, Y2, Y0, Y0
	VPADDD Y14, Y15, Y4
	VBLENDVPS Y3, Y4, Y1, Y1
	VMOVUPS (R10)(AX*4), Y2
	VCMPPS $0x1e, Y0, Y2, Y3
	VBLENDVPS Y3, Y2, Y0, Y0
	VPADDD Y13, Y15, Y5
	VBLENDVPS Y3, Y5, Y1, Y1
	VMOVUPS (R12)(AX*4), Y2
	VCMPPS $0x1e, Y0, Y2, Y3
	VBLENDVPS Y3, Y2, Y0, Y0
	VPADDD Y14, Y5, Y4
	VBLENDVPS Y3, Y4, Y1, Y1
	VMOVUPS Y0, (DI)(AX*4)
	VMOVDQU Y1, (DX)(AX*4)
	VPADDD Y12, Y15, Y15
	ADDQ $8, AX
	CMPQ AX, CX
	JLT loop
done:
	VZEROUPPER
	RET

// maxOf4ValuesAVX2 is maxOf4AVX2 without the indices.
// func maxOf4ValuesAVX2(d *float32, x *float32, c, rs, n int)
TEXT ·maxOf4ValuesAVX2(SB), NOSPLIT, $0-40
	MOVQ d+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ c+16(FP), R8
	MOVQ rs+24(FP), R9
	MOVQ n+32(FP), CX
	LEAQ (SI)(R8*4), R11
	LEAQ (SI)(R9*4), R10
	LEAQ (R10)(R8*4), R12
	XORQ AX, AX
	TESTQ CX, CX
	JEQ vdone
vloop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (R11)(AX*4), Y2
	VCMPPS $0x1e, Y0, Y2, Y3
	VBLENDVPS Y3, Y2, Y0, Y0
	VMOVUPS (R10)(AX*4), Y2
	VCMPPS $0x1e, Y0, Y2, Y3
	VBLENDVPS Y3, Y2, Y0, Y0
	VMOVUPS (R12)(AX*4), Y2
	VCMPPS $0x1e, Y0, Y2, Y3
	VBLENDVPS Y3, Y2, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT vloop
vdone:
	VZEROUPPER
	RET

// maxPoolGrad2x2AVX2 writes the gradient of one 2×2 window for n channels
// (a multiple of 8): each of the four rows gx, gx+c, gx+rs, gx+rs+c
// (offsets in elements; flat indices base, base+c, base+rs, base+rs+c)
// gets gy where it is the winner a names, else 0.
// func maxPoolGrad2x2AVX2(gx *float32, gy *float32, a *int32, c, rs, base, n int)
TEXT ·maxPoolGrad2x2AVX2(SB), NOSPLIT, $0-56
	MOVQ gx+0(FP), DI
	MOVQ gy+8(FP), SI
	MOVQ a+16(FP), DX
	MOVQ c+24(FP), R8
	MOVQ rs+32(FP), R9
	MOVQ n+48(FP), CX
	VPBROADCASTD c+24(FP), Y14
	VPBROADCASTD rs+32(FP), Y13
	VPBROADCASTD base+40(FP), Y15
	VPADDD lanes8<>(SB), Y15, Y15
	VPBROADCASTD eight<>(SB), Y12
	LEAQ (DI)(R8*4), R11
	LEAQ (DI)(R9*4), R10
	LEAQ (R10)(R8*4), R12
	XORQ AX, AX
	TESTQ CX, CX
	JEQ gdone
gloop:
	VMOVDQU (DX)(AX*4), Y0
	VMOVUPS (SI)(AX*4), Y1
	VPCMPEQD Y15, Y0, Y2
	VANDPS Y1, Y2, Y3
	VMOVUPS Y3, (DI)(AX*4)
	VPADDD Y14, Y15, Y4
	VPCMPEQD Y4, Y0, Y2
	VANDPS Y1, Y2, Y3
	VMOVUPS Y3, (R11)(AX*4)
	VPADDD Y13, Y15, Y5
	VPCMPEQD Y5, Y0, Y2
	VANDPS Y1, Y2, Y3
	VMOVUPS Y3, (R10)(AX*4)
	VPADDD Y14, Y5, Y4
	VPCMPEQD Y4, Y0, Y2
	VANDPS Y1, Y2, Y3
	VMOVUPS Y3, (R12)(AX*4)
	VPADDD Y12, Y15, Y15
	ADDQ $8, AX
	CMPQ AX, CX
	JLT gloop
gdone:
	VZEROUPPER
	RET
