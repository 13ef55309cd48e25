//go:build !purego

#include "textflag.h"

// LayerNorm rows with AVX-512, 16 features at a time; the last f mod 16
// through the lane mask K1. See layernorm.go for the formulas and the Go
// twins layerNormFwdGo and layerNormBwdGo, which these follow (with fused
// multiply-adds and sums in 16 lanes).

// HSUM reduces the 16 lanes of Z to its low lane, X (Z and Y are the Z
// and Y names of the same register, scratch: Z9).
#define HSUM(Z, Y, X) \
	VEXTRACTF64X4 $1, Z, Y9 \
	VADDPS Y9, Y, Y \
	VEXTRACTF128 $1, Y, X9 \
	VADDPS X9, X, X \
	VMOVHLPS X, X, X9 \
	VADDPS X9, X, X \
	VMOVSHDUP X, X9 \
	VADDSS X9, X, X

// ROWSETUP sets BX = f rounded down to 16, CX = f mod 16, K1 = its lanes,
// X14 = f as float32.
#define ROWSETUP \
	MOVQ DX, BX \
	ANDQ $-16, BX \
	MOVQ DX, CX \
	SUBQ BX, CX \
	MOVL $1, AX \
	SHLL CX, AX \
	DECL AX \
	KMOVW AX, K1 \
	VCVTSI2SSQ DX, X14, X14

// func layerNormFwdAVX512(y, x, gamma, beta, mean, rstd []float32, f int, eps float32)
TEXT ·layerNormFwdAVX512(SB), NOSPLIT, $0-156
	MOVQ y_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ gamma_base+48(FP), R8
	MOVQ beta_base+72(FP), R9
	MOVQ mean_base+96(FP), R10
	MOVQ mean_len+104(FP), R12
	MOVQ rstd_base+120(FP), R11
	MOVQ f+144(FP), DX
	VMOVSS eps+152(FP), X13
	TESTQ R12, R12
	JEQ fdone
	TESTQ DX, DX
	JEQ fdone
	ROWSETUP
	XORQ R13, R13
frow:
	// Pass 1: μ = Σ x / f.
	VPXORD Z0, Z0, Z0
	XORQ AX, AX
	CMPQ BX, $0
	JEQ f1tail
f1loop:
	VADDPS (SI)(AX*4), Z0, Z0
	ADDQ $16, AX
	CMPQ AX, BX
	JLT f1loop
f1tail:
	TESTQ CX, CX
	JEQ f1done
	VMOVUPS.Z (SI)(AX*4), K1, Z1
	VADDPS Z1, Z0, Z0
f1done:
	HSUM(Z0, Y0, X0)
	VDIVSS X14, X0, X0
	VMOVSS X0, (R10)(R13*4)
	VBROADCASTSS X0, Z2
	// Pass 2: σ² = Σ (x − μ)² / f, r = 1/√(σ² + ε).
	VPXORD Z0, Z0, Z0
	XORQ AX, AX
	CMPQ BX, $0
	JEQ f2tail
f2loop:
	VMOVUPS (SI)(AX*4), Z1
	VSUBPS Z2, Z1, Z1
	VFMADD231PS Z1, Z1, Z0
	ADDQ $16, AX
	CMPQ AX, BX
	JLT f2loop
f2tail:
	TESTQ CX, CX
	JEQ f2done
	VMOVUPS.Z (SI)(AX*4), K1, Z1
	VSUBPS.Z Z2, Z1, K1, Z1
	VFMADD231PS Z1, Z1, Z0
f2done:
	HSUM(Z0, Y0, X0)
	VDIVSS X14, X0, X0
	VADDSS X13, X0, X0
	VSQRTSS X0, X0, X0
	MOVL $0x3f800000, AX
	VMOVD AX, X1
	VDIVSS X0, X1, X0
	VMOVSS X0, (R11)(R13*4)
	VBROADCASTSS X0, Z3
	// Pass 3: y = γ·(x − μ)·r + β.
	XORQ AX, AX
	CMPQ BX, $0
	JEQ f3tail
f3loop:
	VMOVUPS (SI)(AX*4), Z1
	VSUBPS Z2, Z1, Z1
	VMULPS Z3, Z1, Z1
	VMOVUPS (R9)(AX*4), Z4
	VFMADD231PS (R8)(AX*4), Z1, Z4
	VMOVUPS Z4, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, BX
	JLT f3loop
f3tail:
	TESTQ CX, CX
	JEQ f3done
	VMOVUPS.Z (SI)(AX*4), K1, Z1
	VSUBPS Z2, Z1, Z1
	VMULPS Z3, Z1, Z1
	VMOVUPS.Z (R9)(AX*4), K1, Z4
	VMOVUPS.Z (R8)(AX*4), K1, Z5
	VFMADD231PS Z5, Z1, Z4
	VMOVUPS Z4, K1, (DI)(AX*4)
f3done:
	LEAQ (SI)(DX*4), SI
	LEAQ (DI)(DX*4), DI
	INCQ R13
	CMPQ R13, R12
	JLT frow
fdone:
	VZEROUPPER
	RET

// LOADB sets, for the 16 features at AX (masked by K when tail), Z1 = x̂ =
// (x − μ)·r, Z4 = g = γ·dy and Z5 = dy.
#define LOADB \
	VMOVUPS (SI)(AX*4), Z1 \
	VSUBPS Z2, Z1, Z1 \
	VMULPS Z3, Z1, Z1 \
	VMOVUPS (R15)(AX*4), Z5 \
	VMULPS (R8)(AX*4), Z5, Z4

#define LOADBTAIL \
	VMOVUPS.Z (SI)(AX*4), K1, Z1 \
	VSUBPS.Z Z2, Z1, K1, Z1 \
	VMULPS Z3, Z1, Z1 \
	VMOVUPS.Z (R15)(AX*4), K1, Z5 \
	VMOVUPS.Z (R8)(AX*4), K1, Z4 \
	VMULPS Z5, Z4, Z4

// func layerNormBwdAVX512(dx, dgamma, dbeta, dy, x, gamma, mean, rstd []float32, f int)
TEXT ·layerNormBwdAVX512(SB), NOSPLIT, $0-200
	MOVQ dx_base+0(FP), DI
	MOVQ dgamma_base+24(FP), R9
	MOVQ dbeta_base+48(FP), R12
	MOVQ dy_base+72(FP), R15
	MOVQ x_base+96(FP), SI
	MOVQ gamma_base+120(FP), R8
	MOVQ mean_base+144(FP), R10
	MOVQ rstd_base+168(FP), R11
	MOVQ f+192(FP), DX
	MOVQ mean_len+152(FP), R13
	TESTQ R13, R13
	JEQ bdone
	TESTQ DX, DX
	JEQ bdone
	ROWSETUP
brow:
	VBROADCASTSS (R10), Z2
	VBROADCASTSS (R11), Z3
	// Pass 1: sg = Σ g, sgx = Σ g·x̂; dγ += dy·x̂, dβ += dy.
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX
	CMPQ BX, $0
	JEQ b1tail
b1loop:
	LOADB
	VADDPS Z4, Z6, Z6
	VFMADD231PS Z4, Z1, Z7
	VMOVUPS (R9)(AX*4), Z8
	VFMADD231PS Z5, Z1, Z8
	VMOVUPS Z8, (R9)(AX*4)
	VADDPS (R12)(AX*4), Z5, Z8
	VMOVUPS Z8, (R12)(AX*4)
	ADDQ $16, AX
	CMPQ AX, BX
	JLT b1loop
b1tail:
	TESTQ CX, CX
	JEQ b1done
	LOADBTAIL
	VADDPS Z4, Z6, Z6
	VFMADD231PS Z4, Z1, Z7
	VMOVUPS.Z (R9)(AX*4), K1, Z8
	VFMADD231PS Z5, Z1, Z8
	VMOVUPS Z8, K1, (R9)(AX*4)
	VMOVUPS.Z (R12)(AX*4), K1, Z8
	VADDPS Z5, Z8, Z8
	VMOVUPS Z8, K1, (R12)(AX*4)
b1done:
	HSUM(Z6, Y6, X6)
	HSUM(Z7, Y7, X7)
	VDIVSS X14, X6, X6
	VDIVSS X14, X7, X7
	VBROADCASTSS X6, Z6
	VBROADCASTSS X7, Z7
	// Pass 2: dx += r·(g − sg/f − x̂·sgx/f).
	XORQ AX, AX
	CMPQ BX, $0
	JEQ b2tail
b2loop:
	LOADB
	VSUBPS Z6, Z4, Z4
	VFNMADD231PS Z7, Z1, Z4
	VMOVUPS (DI)(AX*4), Z8
	VFMADD231PS Z4, Z3, Z8
	VMOVUPS Z8, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, BX
	JLT b2loop
b2tail:
	TESTQ CX, CX
	JEQ b2done
	LOADBTAIL
	VSUBPS Z6, Z4, Z4
	VFNMADD231PS Z7, Z1, Z4
	VMOVUPS.Z (DI)(AX*4), K1, Z8
	VFMADD231PS Z4, Z3, Z8
	VMOVUPS Z8, K1, (DI)(AX*4)
b2done:
	LEAQ (SI)(DX*4), SI
	LEAQ (DI)(DX*4), DI
	LEAQ (R15)(DX*4), R15
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ R13
	JNZ brow
bdone:
	VZEROUPPER
	RET
