//go:build !purego

#include "textflag.h"

// AVX2 optimizer updates, 8 elements per step; see optim_amd64.go for the
// reference loop of each. Every float32 operation of the reference is one
// vector instruction here, in the same order and with its left operand as
// the first source: VMULPS for a product (never an FMA, which would skip a
// rounding), VADDPS/VSUBPS, VSQRTPS and VDIVPS, all correctly rounded, so
// the results equal the reference loop's bits. n is a multiple of 8 (the Go
// wrappers leave the remainder to the reference loop); BX indexes elements.
// Each routine picks one loop for its variant before it starts, so the
// loops have no branches but their own.

// ---- Adam -----------------------------------------------------------------
// Registers: DI p, SI g, R8 m, R9 v, R10 vhat; Y8 β1, Y9 β2, Y10 C1, Y11 C2,
// Y12 α, Y13 ε, Y14 Decay.

// ADAM_MOMENTS: Y0 = g; Y1 = m' = β1·m + C1·g and Y4 = v' = β2·v + C2·(g·g),
// each flushed to +0 when |·| < 2⁻¹²⁶ (Y7 holds 2⁻¹²⁶, Y15 the abs mask;
// NaN compares false and stays), both stored.
#define ADAM_MOMENTS \
	VMOVUPS (SI)(BX*4), Y0; \
	VMULPS  (R8)(BX*4), Y8, Y1; \
	VMULPS  Y0, Y10, Y2; \
	VADDPS  Y2, Y1, Y1; \
	VMULPS  Y0, Y0, Y3; \
	VMULPS  Y3, Y11, Y3; \
	VMULPS  (R9)(BX*4), Y9, Y4; \
	VADDPS  Y3, Y4, Y4; \
	VANDPS  Y15, Y1, Y6; \
	VCMPPS  $1, Y7, Y6, Y6; \
	VANDNPS Y1, Y6, Y1; \
	VANDPS  Y15, Y4, Y6; \
	VCMPPS  $1, Y7, Y6, Y6; \
	VANDNPS Y4, Y6, Y4; \
	VMOVUPS Y1, (R8)(BX*4); \
	VMOVUPS Y4, (R9)(BX*4)

// ADAM_AMSGRAD: Y4 = vhat' = (v' > vhat || v' is NaN) ? v' : vhat, stored.
// VMAXPS gives v' > vhat ? v' : vhat (vhat also when either is NaN); the
// blend puts back a NaN v'.
#define ADAM_AMSGRAD \
	VMAXPS    (R10)(BX*4), Y4, Y5; \
	VCMPPS    $3, Y4, Y4, Y6; \
	VBLENDVPS Y6, Y4, Y5, Y4; \
	VMOVUPS   Y4, (R10)(BX*4)

// ADAM_STEP: Y1 = (α·m') / (√u + ε), u in Y4.
#define ADAM_STEP \
	VSQRTPS Y4, Y4; \
	VADDPS  Y13, Y4, Y4; \
	VMULPS  Y1, Y12, Y1; \
	VDIVPS  Y4, Y1, Y1

// ADAM_LOADP: Y5 = p.
#define ADAM_LOADP \
	VMOVUPS (DI)(BX*4), Y5

// ADAM_DECAY: Y5 = p − Decay·p.
#define ADAM_DECAY \
	VMULPS Y5, Y14, Y6; \
	VSUBPS Y6, Y5, Y5

// ADAM_STOREP: p = Y5 − Y1.
#define ADAM_STOREP \
	VSUBPS  Y1, Y5, Y5; \
	VMOVUPS Y5, (DI)(BX*4)

// func adamAVX2(p, grad, m, v, vhat *float32, n int, c AdamCoeffs, decay bool)
TEXT ·adamAVX2(SB), NOSPLIT, $0-77
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ vhat+32(FP), R10
	MOVQ n+40(FP), CX
	VBROADCASTSS c_Beta1+48(FP), Y8
	VBROADCASTSS c_Beta2+52(FP), Y9
	VBROADCASTSS c_C1+56(FP), Y10
	VBROADCASTSS c_C2+60(FP), Y11
	VBROADCASTSS c_Alpha+64(FP), Y12
	VBROADCASTSS c_Eps+68(FP), Y13
	VBROADCASTSS c_Decay+72(FP), Y14
	MOVL $0x00800000, DX
	VMOVD DX, X7
	VPBROADCASTD X7, Y7
	MOVL $0x7fffffff, DX
	VMOVD DX, X15
	VPBROADCASTD X15, Y15
	MOVBLZX decay+76(FP), AX
	ANDQ $-8, CX
	JLE  adamDone
	XORQ BX, BX
	TESTQ R10, R10
	JNE   adamAMS
	TESTQ AX, AX
	JNE   adamPlainDecay

adamPlain:
	ADAM_MOMENTS
	ADAM_STEP
	ADAM_LOADP
	ADAM_STOREP
	ADDQ $8, BX
	CMPQ BX, CX
	JLT  adamPlain
	JMP  adamDone

adamPlainDecay:
	ADAM_MOMENTS
	ADAM_STEP
	ADAM_LOADP
	ADAM_DECAY
	ADAM_STOREP
	ADDQ $8, BX
	CMPQ BX, CX
	JLT  adamPlainDecay
	JMP  adamDone

adamAMS:
	TESTQ AX, AX
	JNE   adamAMSDecay

adamAMSLoop:
	ADAM_MOMENTS
	ADAM_AMSGRAD
	ADAM_STEP
	ADAM_LOADP
	ADAM_STOREP
	ADDQ $8, BX
	CMPQ BX, CX
	JLT  adamAMSLoop
	JMP  adamDone

adamAMSDecay:
	ADAM_MOMENTS
	ADAM_AMSGRAD
	ADAM_STEP
	ADAM_LOADP
	ADAM_DECAY
	ADAM_STOREP
	ADDQ $8, BX
	CMPQ BX, CX
	JLT  adamAMSDecay

adamDone:
	VZEROUPPER
	RET

// ---- SGD ------------------------------------------------------------------
// Registers: DI p, SI g, R8 vel; Y8 lr, Y9 momentum, Y10 decay. Y0 holds p
// from SGD_LOADP to SGD_STOREP.

#define SGD_LOADP \
	VMOVUPS (DI)(BX*4), Y0

// SGD_DECAY: Y0 = p − decay·p.
#define SGD_DECAY \
	VMULPS Y0, Y10, Y1; \
	VSUBPS Y1, Y0, Y0

// SGD_PLAIN: Y0 = p − lr·g.
#define SGD_PLAIN \
	VMULPS (SI)(BX*4), Y8, Y2; \
	VSUBPS Y2, Y0, Y0

// SGD_FLUSH: Y3 = +0 where |Y3| < 2⁻¹²⁶ (Y11 holds 2⁻¹²⁶, Y12 the abs
// mask), as flushSubnormal.
#define SGD_FLUSH \
	VANDPS  Y12, Y3, Y5; \
	VCMPPS  $1, Y11, Y5, Y5; \
	VANDNPS Y3, Y5, Y3

// SGD_MOMENTUM: vel = momentum·vel − lr·g, flushed, stored; Y0 = p + vel.
#define SGD_MOMENTUM \
	VMULPS  (R8)(BX*4), Y9, Y3; \
	VMULPS  (SI)(BX*4), Y8, Y2; \
	VSUBPS  Y2, Y3, Y3; \
	SGD_FLUSH; \
	VMOVUPS Y3, (R8)(BX*4); \
	VADDPS  Y3, Y0, Y0

// SGD_NESTEROV: step = lr·g; vel = momentum·vel − step, flushed, stored;
// Y0 = p + (momentum·vel − step).
#define SGD_NESTEROV \
	VMULPS  (R8)(BX*4), Y9, Y3; \
	VMULPS  (SI)(BX*4), Y8, Y2; \
	VSUBPS  Y2, Y3, Y3; \
	SGD_FLUSH; \
	VMOVUPS Y3, (R8)(BX*4); \
	VMULPS  Y3, Y9, Y4; \
	VSUBPS  Y2, Y4, Y4; \
	VADDPS  Y4, Y0, Y0

#define SGD_STOREP \
	VMOVUPS Y0, (DI)(BX*4)

#define SGD_NEXT(loop) \
	ADDQ $8, BX; \
	CMPQ BX, CX; \
	JLT  loop

// func sgdAVX2(p, grad, vel *float32, n int, lr, momentum, decay float32, mode int)
TEXT ·sgdAVX2(SB), NOSPLIT, $0-56
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ vel+16(FP), R8
	MOVQ n+24(FP), CX
	VBROADCASTSS lr+32(FP), Y8
	VBROADCASTSS momentum+36(FP), Y9
	VBROADCASTSS decay+40(FP), Y10
	MOVL $0x00800000, DX
	VMOVD DX, X11
	VPBROADCASTD X11, Y11
	MOVL $0x7fffffff, DX
	VMOVD DX, X12
	VPBROADCASTD X12, Y12
	MOVQ mode+48(FP), AX
	ANDQ $-8, CX
	JLE  sgdDone
	XORQ BX, BX
	CMPQ AX, $1 // sgdPlain|sgdDecay
	JEQ  sgdPlainDecay
	CMPQ AX, $2 // sgdMomentum
	JEQ  sgdMomentum
	CMPQ AX, $3 // sgdMomentum|sgdDecay
	JEQ  sgdMomentumDecay
	CMPQ AX, $4 // sgdNesterov
	JEQ  sgdNesterov
	CMPQ AX, $5 // sgdNesterov|sgdDecay
	JEQ  sgdNesterovDecay

sgdPlain:
	SGD_LOADP
	SGD_PLAIN
	SGD_STOREP
	SGD_NEXT(sgdPlain)
	JMP sgdDone

sgdPlainDecay:
	SGD_LOADP
	SGD_DECAY
	SGD_PLAIN
	SGD_STOREP
	SGD_NEXT(sgdPlainDecay)
	JMP sgdDone

sgdMomentum:
	SGD_LOADP
	SGD_MOMENTUM
	SGD_STOREP
	SGD_NEXT(sgdMomentum)
	JMP sgdDone

sgdMomentumDecay:
	SGD_LOADP
	SGD_DECAY
	SGD_MOMENTUM
	SGD_STOREP
	SGD_NEXT(sgdMomentumDecay)
	JMP sgdDone

sgdNesterov:
	SGD_LOADP
	SGD_NESTEROV
	SGD_STOREP
	SGD_NEXT(sgdNesterov)
	JMP sgdDone

sgdNesterovDecay:
	SGD_LOADP
	SGD_DECAY
	SGD_NESTEROV
	SGD_STOREP
	SGD_NEXT(sgdNesterovDecay)

sgdDone:
	VZEROUPPER
	RET

// ---- RMSprop --------------------------------------------------------------
// Registers: DI p, SI g, R8 ms, R9 mg, R10 mom; Y8 ρ, Y9 C, Y10 LR, Y11 Eps,
// Y12 Momentum, Y13 2⁻¹²⁶, Y14 the abs mask.

// RMS_FLUSH(x, tmp): x = +0 where |x| < 2⁻¹²⁶ (NaN compares false and stays).
#define RMS_FLUSH(x, tmp) \
	VANDPS  Y14, x, tmp; \
	VCMPPS  $1, Y13, tmp, tmp; \
	VANDNPS x, tmp, x

// RMS_MS: Y0 = g; Y1 = s = ρ·ms + C·(g·g), flushed, stored.
#define RMS_MS \
	VMOVUPS (SI)(BX*4), Y0; \
	VMULPS  (R8)(BX*4), Y8, Y1; \
	VMULPS  Y0, Y0, Y2; \
	VMULPS  Y2, Y9, Y2; \
	VADDPS  Y2, Y1, Y1; \
	RMS_FLUSH(Y1, Y3); \
	VMOVUPS Y1, (R8)(BX*4)

// RMS_CENTERED: a = ρ·mg + C·g, flushed, stored; Y1 = d = (s − a·a) + Eps.
#define RMS_CENTERED \
	VMULPS  (R9)(BX*4), Y8, Y2; \
	VMULPS  Y0, Y9, Y3; \
	VADDPS  Y3, Y2, Y2; \
	RMS_FLUSH(Y2, Y3); \
	VMOVUPS Y2, (R9)(BX*4); \
	VMULPS  Y2, Y2, Y2; \
	VSUBPS  Y2, Y1, Y1; \
	VADDPS  Y11, Y1, Y1

// RMS_UNCENTERED: Y1 = d = s + Eps.
#define RMS_UNCENTERED \
	VADDPS Y11, Y1, Y1

// RMS_INC: Y2 = inc = (LR·g) / √d.
#define RMS_INC \
	VSQRTPS Y1, Y1; \
	VMULPS  Y0, Y10, Y2; \
	VDIVPS  Y1, Y2, Y2

// RMS_MOMENTUM: Y2 = inc = Momentum·mom + inc, flushed, stored in mom.
#define RMS_MOMENTUM \
	VMULPS  (R10)(BX*4), Y12, Y3; \
	VADDPS  Y2, Y3, Y2; \
	RMS_FLUSH(Y2, Y3); \
	VMOVUPS Y2, (R10)(BX*4)

// RMS_STOREP: p = p − inc.
#define RMS_STOREP \
	VMOVUPS (DI)(BX*4), Y3; \
	VSUBPS  Y2, Y3, Y3; \
	VMOVUPS Y3, (DI)(BX*4)

#define RMS_NEXT(loop) \
	ADDQ $8, BX; \
	CMPQ BX, CX; \
	JLT  loop

// func rmspropAVX2(p, grad, ms, mg, mom *float32, n int, c RMSpropCoeffs)
TEXT ·rmspropAVX2(SB), NOSPLIT, $0-68
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ ms+16(FP), R8
	MOVQ mg+24(FP), R9
	MOVQ mom+32(FP), R10
	MOVQ n+40(FP), CX
	VBROADCASTSS c_Rho+48(FP), Y8
	VBROADCASTSS c_C+52(FP), Y9
	VBROADCASTSS c_LR+56(FP), Y10
	VBROADCASTSS c_Eps+60(FP), Y11
	VBROADCASTSS c_Momentum+64(FP), Y12
	MOVL $0x00800000, DX
	VMOVD DX, X13
	VPBROADCASTD X13, Y13
	MOVL $0x7fffffff, DX
	VMOVD DX, X14
	VPBROADCASTD X14, Y14
	ANDQ $-8, CX
	JLE  rmsDone
	XORQ BX, BX
	TESTQ R9, R9
	JNE   rmsCentered
	TESTQ R10, R10
	JNE   rmsMomentum

rmsPlain:
	RMS_MS
	RMS_UNCENTERED
	RMS_INC
	RMS_STOREP
	RMS_NEXT(rmsPlain)
	JMP rmsDone

rmsMomentum:
	RMS_MS
	RMS_UNCENTERED
	RMS_INC
	RMS_MOMENTUM
	RMS_STOREP
	RMS_NEXT(rmsMomentum)
	JMP rmsDone

rmsCentered:
	TESTQ R10, R10
	JNE   rmsCenteredMomentum

rmsCenteredLoop:
	RMS_MS
	RMS_CENTERED
	RMS_INC
	RMS_STOREP
	RMS_NEXT(rmsCenteredLoop)
	JMP rmsDone

rmsCenteredMomentum:
	RMS_MS
	RMS_CENTERED
	RMS_INC
	RMS_MOMENTUM
	RMS_STOREP
	RMS_NEXT(rmsCenteredMomentum)

rmsDone:
	VZEROUPPER
	RET

// ---- Adagrad --------------------------------------------------------------

// func adagradAVX2(p, grad, acc *float32, n int, lr, eps float32)
TEXT ·adagradAVX2(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ acc+16(FP), R8
	MOVQ n+24(FP), CX
	VBROADCASTSS lr+32(FP), Y8
	VBROADCASTSS eps+36(FP), Y9
	ANDQ $-8, CX
	JLE  adagradDone
	XORQ BX, BX

adagradLoop:
	VMOVUPS (SI)(BX*4), Y0     // g
	VMOVUPS (R8)(BX*4), Y1     // acc
	VMULPS  Y0, Y0, Y2         // g·g
	VADDPS  Y2, Y1, Y1         // a = acc + g·g
	VMOVUPS Y1, (R8)(BX*4)
	VADDPS  Y9, Y1, Y1         // a + eps
	VSQRTPS Y1, Y1
	VMULPS  Y0, Y8, Y2         // lr·g
	VDIVPS  Y1, Y2, Y2
	VMOVUPS (DI)(BX*4), Y3
	VSUBPS  Y2, Y3, Y3
	VMOVUPS Y3, (DI)(BX*4)
	ADDQ $8, BX
	CMPQ BX, CX
	JLT  adagradLoop

adagradDone:
	VZEROUPPER
	RET
