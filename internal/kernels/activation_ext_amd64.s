//go:build !purego

#include "textflag.h"

// Exact GELU and its gradient with AVX-512, 16 lanes at a time; see
// activation_ext.go for the method (GeluErf) and the Go twins geluErfGo
// and geluErfGradAccGo that these follow step by step. R8 points at
// geluTab; the offsets below are its gt* indexes × 4.
//
// Registers: Z8…Z31 hold constants, Z0…Z7 are scratch; the tail of fewer
// than 16 elements runs through the lane mask K1.

// GELUCONSTS loads the constants: Z31 = 0x7fffffff (|·| mask), Z30 = 1/√2,
// Z29 = ½, Z28 = 1, Z27…Z19 = c₉…c₁, Z18 = c₀, Z17 = lo, Z16 = log₂e,
// Z15, Z14 = ln2 (high, low), Z13…Z8 = P0…P5.
#define GELUCONSTS \
	VPTERNLOGD $0xff, Z31, Z31, Z31 \
	VPSRLD $1, Z31, Z31 \
	VBROADCASTSS 0(R8), Z30 \
	VBROADCASTSS 4(R8), Z29 \
	VBROADCASTSS 8(R8), Z28 \
	VBROADCASTSS 12(R8), Z27 \
	VBROADCASTSS 16(R8), Z26 \
	VBROADCASTSS 20(R8), Z25 \
	VBROADCASTSS 24(R8), Z24 \
	VBROADCASTSS 28(R8), Z23 \
	VBROADCASTSS 32(R8), Z22 \
	VBROADCASTSS 36(R8), Z21 \
	VBROADCASTSS 40(R8), Z20 \
	VBROADCASTSS 44(R8), Z19 \
	VBROADCASTSS 48(R8), Z18 \
	VBROADCASTSS 52(R8), Z17 \
	VBROADCASTSS 56(R8), Z16 \
	VBROADCASTSS 60(R8), Z15 \
	VBROADCASTSS 64(R8), Z14 \
	VBROADCASTSS 68(R8), Z13 \
	VBROADCASTSS 72(R8), Z12 \
	VBROADCASTSS 76(R8), Z11 \
	VBROADCASTSS 80(R8), Z10 \
	VBROADCASTSS 84(R8), Z9 \
	VBROADCASTSS 88(R8), Z8

// GELUT sets, from x in Z0: Z1 = z = |x|/√2, Z2 = t = 1/(1 + z/2) and
// Z3 = c₀ + t·(c₁ + … + t·c₉).
#define GELUT \
	VPANDD Z31, Z0, Z1 \
	VMULPS Z30, Z1, Z1 \
	VMOVAPS Z28, Z2 \
	VFMADD231PS Z29, Z1, Z2 \
	VDIVPS Z2, Z28, Z2 \
	VMOVAPS Z27, Z3 \
	VFMADD213PS Z26, Z2, Z3 \
	VFMADD213PS Z25, Z2, Z3 \
	VFMADD213PS Z24, Z2, Z3 \
	VFMADD213PS Z23, Z2, Z3 \
	VFMADD213PS Z22, Z2, Z3 \
	VFMADD213PS Z21, Z2, Z3 \
	VFMADD213PS Z20, Z2, Z3 \
	VFMADD213PS Z19, Z2, Z3 \
	VFMADD213PS Z18, Z2, Z3

// EXP sets y = e^a for a ≥ lo (a is clobbered, n and r2 are scratch):
// n = round(a·log₂e), r = a − n·ln2, e^r ≈ 1 + r + r²·P(r), times 2ⁿ.
#define EXP(a, n, r2, y) \
	VMULPS Z16, a, n \
	VRNDSCALEPS $0, n, n \
	VFNMADD231PS Z15, n, a \
	VFNMADD231PS Z14, n, a \
	VMULPS a, a, r2 \
	VMOVAPS Z13, y \
	VFMADD213PS Z12, a, y \
	VFMADD213PS Z11, a, y \
	VFMADD213PS Z10, a, y \
	VFMADD213PS Z9, a, y \
	VFMADD213PS Z8, a, y \
	VFMADD213PS a, r2, y \
	VADDPS Z28, y, y \
	VSCALEFPS n, y, y

// PHI sets phi = Φ(x) for x in Z0 from q = erfc(z)/2: q where x < 0,
// 1 − q elsewhere (scratch: Z7, K2).
#define PHI(q, phi) \
	VSUBPS q, Z28, phi \
	VPXORD Z7, Z7, Z7 \
	VCMPPS $1, Z7, Z0, K2 \
	VMOVAPS q, K2, phi

// GELUFWD sets Z6 = x·Φ(x) for x in Z0.
#define GELUFWD \
	GELUT \
	VFNMADD231PS Z1, Z1, Z3 \
	VMAXPS Z17, Z3, Z3 \
	EXP(Z3, Z4, Z5, Z1) \
	VMULPS Z2, Z1, Z1 \
	VMULPS Z29, Z1, Z1 \
	PHI(Z1, Z6) \
	VMULPS Z6, Z0, Z6

// GELUGRAD sets Z3 = Φ(x) + x·φ(x) for x in Z0.
#define GELUGRAD \
	GELUT \
	VMULPS Z1, Z1, Z1 \
	VPXORD Z7, Z7, Z7 \
	VSUBPS Z1, Z7, Z1 \
	VMAXPS Z17, Z1, Z1 \
	EXP(Z1, Z4, Z5, Z6) \
	EXP(Z3, Z4, Z5, Z1) \
	VMULPS Z2, Z1, Z1 \
	VMULPS Z6, Z1, Z1 \
	VMULPS Z29, Z1, Z1 \
	PHI(Z1, Z3) \
	VMULPS Z6, Z0, Z4 \
	VBROADCASTSS 92(R8), Z5 \
	VFMADD231PS Z5, Z4, Z3

// TAILMASK sets K1 to the low R9 lanes (1 ≤ R9 < 16); clobbers CX, R10.
#define TAILMASK \
	MOVQ R9, CX \
	MOVL $1, R10 \
	SHLL CX, R10 \
	DECL R10 \
	KMOVW R10, K1

// func geluErfAVX512(dst, x []float32, tab *[geluTabLen]float32)
TEXT ·geluErfAVX512(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ tab+48(FP), R8
	GELUCONSTS
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX
	JEQ ftail
floop:
	VMOVUPS (SI)(AX*4), Z0
	GELUFWD
	VMOVUPS Z6, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, BX
	JLT floop
ftail:
	MOVQ CX, R9
	SUBQ AX, R9
	JEQ fdone
	TAILMASK
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	GELUFWD
	VMOVUPS Z6, K1, (DI)(AX*4)
fdone:
	VZEROUPPER
	RET

// func geluErfGradAVX512(gx, x, gy []float32, tab *[geluTabLen]float32, acc bool)
TEXT ·geluErfGradAVX512(SB), NOSPLIT, $0-81
	MOVQ gx_base+0(FP), DI
	MOVQ gx_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ gy_base+48(FP), DX
	MOVQ tab+72(FP), R8
	MOVBQZX acc+80(FP), R11
	GELUCONSTS
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX
	JEQ gtail
gloop:
	VMOVUPS (SI)(AX*4), Z0
	GELUGRAD
	VPXORD Z4, Z4, Z4
	TESTQ R11, R11
	JEQ gset
	VMOVUPS (DI)(AX*4), Z4
gset:
	VFMADD231PS (DX)(AX*4), Z3, Z4
	VMOVUPS Z4, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, BX
	JLT gloop
gtail:
	MOVQ CX, R9
	SUBQ AX, R9
	JEQ gdone
	TAILMASK
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	GELUGRAD
	VPXORD Z4, Z4, Z4
	TESTQ R11, R11
	JEQ gtset
	VMOVUPS.Z (DI)(AX*4), K1, Z4
gtset:
	VMOVUPS.Z (DX)(AX*4), K1, Z5
	VFMADD231PS Z5, Z3, Z4
	VMOVUPS Z4, K1, (DI)(AX*4)
gdone:
	VZEROUPPER
	RET
