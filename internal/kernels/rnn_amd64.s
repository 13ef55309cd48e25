//go:build !purego

#include "textflag.h"

// AVX2/FMA versions of the inner loops of the recurrent gate kernels; see
// rnn_amd64.go for the contracts and rnn.go for the pure-Go twins. n is a
// positive multiple of 8; the gates of one row lie u floats apart.

// func lstmBackwardAVX2(n, u int, gates, dg, cp, tc, dh, dc *float32)
TEXT ·lstmBackwardAVX2(SB), NOSPLIT, $0-64
	MOVQ n+0(FP), CX
	MOVQ u+8(FP), DX
	SHLQ $2, DX                 // DX = u floats in bytes
	LEAQ (DX)(DX*2), R12        // R12 = 3u floats in bytes
	MOVQ gates+16(FP), SI
	MOVQ dg+24(FP), DI
	MOVQ cp+32(FP), R8
	MOVQ tc+40(FP), R9
	MOVQ dh+48(FP), R10
	MOVQ dc+56(FP), R11
	MOVL $0x3f800000, AX
	VMOVQ AX, X15
	VBROADCASTSS X15, Y15       // 1.0
loop:
	VMOVUPS (SI), Y0            // i
	VMOVUPS (SI)(DX*1), Y1      // f
	VMOVUPS (SI)(DX*2), Y2      // c̃
	VMOVUPS (SI)(R12*1), Y3     // o
	VMOVUPS (R9), Y4            // y = tanh(c)
	VMOVUPS (R10), Y5           // dh
	VMOVUPS (R8), Y6            // cPrev
	VMOVUPS (R11), Y7           // dc
	VMULPS Y4, Y4, Y8
	VSUBPS Y8, Y15, Y8          // 1 − y²
	VMULPS Y3, Y5, Y9           // dh·o
	VFMADD231PS Y9, Y8, Y7      // d = dc + dh·o·(1 − y²)
	VSUBPS Y3, Y15, Y10
	VMULPS Y10, Y9, Y10
	VMULPS Y4, Y10, Y10         // do = dh·o·(1 − o)·y
	VMOVUPS Y10, (DI)(R12*1)
	VSUBPS Y0, Y15, Y11
	VMULPS Y0, Y11, Y11
	VMULPS Y2, Y11, Y11
	VMULPS Y7, Y11, Y11         // di = d·c̃·i·(1 − i)
	VMOVUPS Y11, (DI)
	VSUBPS Y1, Y15, Y12
	VMULPS Y1, Y12, Y12
	VMULPS Y6, Y12, Y12
	VMULPS Y7, Y12, Y12         // df = d·cPrev·f·(1 − f)
	VMOVUPS Y12, (DI)(DX*1)
	VMULPS Y2, Y2, Y13
	VSUBPS Y13, Y15, Y13
	VMULPS Y0, Y13, Y13
	VMULPS Y7, Y13, Y13         // dc̃ = d·i·(1 − c̃²)
	VMOVUPS Y13, (DI)(DX*2)
	VMULPS Y1, Y7, Y14          // dc = d·f
	VMOVUPS Y14, (R11)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $8, CX
	JNZ loop
	VZEROUPPER
	RET

// func gruBackwardAVX2(n, u int, gates, rs, hp, dh, dgx, dgr, dhp *float32)
TEXT ·gruBackwardAVX2(SB), NOSPLIT, $0-72
	MOVQ n+0(FP), CX
	MOVQ u+8(FP), DX
	SHLQ $2, DX                 // DX = u floats in bytes
	MOVQ gates+16(FP), SI
	MOVQ rs+24(FP), R8
	MOVQ hp+32(FP), R9
	MOVQ dh+40(FP), R10
	MOVQ dgx+48(FP), DI
	MOVQ dgr+56(FP), BX
	MOVQ dhp+64(FP), R11
	MOVL $0x3f800000, AX
	VMOVQ AX, X15
	VBROADCASTSS X15, Y15       // 1.0
loop:
	VMOVUPS (SI), Y0            // z
	VMOVUPS (SI)(DX*1), Y1      // r
	VMOVUPS (SI)(DX*2), Y2      // ĥ
	VMOVUPS (R10), Y3           // dh
	VMOVUPS (R9), Y4            // hPrev
	VMOVUPS (R8), Y5            // rhSave
	VSUBPS Y0, Y15, Y6          // 1 − z
	VSUBPS Y2, Y4, Y7           // hPrev − ĥ
	VMULPS Y3, Y7, Y7
	VMULPS Y0, Y7, Y7
	VMULPS Y6, Y7, Y7           // dz = dh·(hPrev − ĥ)·z·(1 − z)
	VMOVUPS Y7, (DI)
	VMOVUPS Y7, (BX)
	VMULPS Y2, Y2, Y8
	VSUBPS Y8, Y15, Y8
	VMULPS Y6, Y8, Y8
	VMULPS Y3, Y8, Y8           // dĥ = dh·(1 − z)·(1 − ĥ²)
	VMOVUPS Y8, (DI)(DX*2)
	VMULPS Y1, Y8, Y9
	VMOVUPS Y9, (BX)(DX*2)      // dĥ·r
	VSUBPS Y1, Y15, Y10
	VMULPS Y1, Y10, Y10
	VMULPS Y5, Y10, Y10
	VMULPS Y8, Y10, Y10         // dr = dĥ·rhSave·r·(1 − r)
	VMOVUPS Y10, (DI)(DX*1)
	VMOVUPS Y10, (BX)(DX*1)
	VMULPS Y0, Y3, Y11          // dhPrev = dh·z
	VMOVUPS Y11, (R11)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $32, R11
	SUBQ $8, CX
	JNZ loop
	VZEROUPPER
	RET
