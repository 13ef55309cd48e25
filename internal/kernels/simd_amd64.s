//go:build !purego

#include "textflag.h"

// Vector kernels with AVX2 and FMA; see simd_amd64.go for the contracts
// and simd_generic.go for the pure-Go twins. Lengths are checked by the
// callers: every slice is at least as long as the one giving n.

// axpyAVX2 sets y[i] += a·x[i] (fused) for i < len(x).
// func axpyAVX2(a float32, x, y []float32)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-56
	VBROADCASTSS a+0(FP), Y8
	MOVQ x_base+8(FP), SI
	MOVQ x_len+16(FP), CX
	MOVQ y_base+32(FP), DI
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
	JEQ tail8
loop32:
	VMOVUPS 0(SI)(AX*4), Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VFMADD213PS 0(DI)(AX*4), Y8, Y0
	VFMADD213PS 32(DI)(AX*4), Y8, Y1
	VFMADD213PS 64(DI)(AX*4), Y8, Y2
	VFMADD213PS 96(DI)(AX*4), Y8, Y3
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT loop32
tail8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JGE tail1
loop8:
	VMOVUPS (SI)(AX*4), Y0
	VFMADD213PS (DI)(AX*4), Y8, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail1:
	CMPQ AX, CX
	JGE done
loop1:
	VMOVSS (SI)(AX*4), X0
	VFMADD213SS (DI)(AX*4), X8, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	CMPQ AX, CX
	JLT loop1
done:
	VZEROUPPER
	RET

// scaleAVX2 sets x[i] *= a.
// func scaleAVX2(a float32, x []float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y8
	MOVQ x_base+8(FP), DI
	MOVQ x_len+16(FP), CX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
	JEQ tail8
loop32:
	VMULPS 0(DI)(AX*4), Y8, Y0
	VMULPS 32(DI)(AX*4), Y8, Y1
	VMULPS 64(DI)(AX*4), Y8, Y2
	VMULPS 96(DI)(AX*4), Y8, Y3
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT loop32
tail8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JGE tail1
loop8:
	VMULPS (DI)(AX*4), Y8, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail1:
	CMPQ AX, CX
	JGE done
loop1:
	VMULSS (DI)(AX*4), X8, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	CMPQ AX, CX
	JLT loop1
done:
	VZEROUPPER
	RET

// addAVX2 sets dst[i] = a[i] + b[i] for i < len(dst).
// func addAVX2(dst, a, b []float32)
TEXT ·addAVX2(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ a_base+24(FP), SI
	MOVQ b_base+48(FP), DX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
	JEQ tail8
loop32:
	VMOVUPS 0(SI)(AX*4), Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VADDPS 0(DX)(AX*4), Y0, Y0
	VADDPS 32(DX)(AX*4), Y1, Y1
	VADDPS 64(DX)(AX*4), Y2, Y2
	VADDPS 96(DX)(AX*4), Y3, Y3
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT loop32
tail8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JGE tail1
loop8:
	VMOVUPS (SI)(AX*4), Y0
	VADDPS (DX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail1:
	CMPQ AX, CX
	JGE done
loop1:
	VMOVSS (SI)(AX*4), X0
	VADDSS (DX)(AX*4), X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	CMPQ AX, CX
	JLT loop1
done:
	VZEROUPPER
	RET

// mulAVX2 sets dst[i] = a[i] · b[i] for i < len(dst).
// func mulAVX2(dst, a, b []float32)
TEXT ·mulAVX2(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ a_base+24(FP), SI
	MOVQ b_base+48(FP), DX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
	JEQ tail8
loop32:
	VMOVUPS 0(SI)(AX*4), Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VMULPS 0(DX)(AX*4), Y0, Y0
	VMULPS 32(DX)(AX*4), Y1, Y1
	VMULPS 64(DX)(AX*4), Y2, Y2
	VMULPS 96(DX)(AX*4), Y3, Y3
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT loop32
tail8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JGE tail1
loop8:
	VMOVUPS (SI)(AX*4), Y0
	VMULPS (DX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail1:
	CMPQ AX, CX
	JGE done
loop1:
	VMOVSS (SI)(AX*4), X0
	VMULSS (DX)(AX*4), X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	CMPQ AX, CX
	JLT loop1
done:
	VZEROUPPER
	RET

// reluAVX2 sets dst[i] = max(0, x[i]); VMAXPS returns its second operand, x, when
// either is NaN, so NaN passes through.
// func reluAVX2(dst, x []float32)
TEXT ·reluAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
	JEQ tail8
loop32:
	VMAXPS 0(SI)(AX*4), Y7, Y0
	VMAXPS 32(SI)(AX*4), Y7, Y1
	VMAXPS 64(SI)(AX*4), Y7, Y2
	VMAXPS 96(SI)(AX*4), Y7, Y3
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT loop32
tail8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JGE tail1
loop8:
	VMAXPS (SI)(AX*4), Y7, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail1:
	CMPQ AX, CX
	JGE done
loop1:
	VMAXSS (SI)(AX*4), X7, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	CMPQ AX, CX
	JLT loop1
done:
	VZEROUPPER
	RET

// reluGradAVX2 sets dst[i] = g[i] where x[i] > 0 (ordered: NaN is not), else 0.
// func reluGradAVX2(dst, x, g []float32)
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ g_base+48(FP), DX
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
	JEQ tail8
loop32:
	VMOVUPS 0(SI)(AX*4), Y0
	VCMPPS $0x1e, Y7, Y0, Y0
	VANDPS 0(DX)(AX*4), Y0, Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VCMPPS $0x1e, Y7, Y1, Y1
	VANDPS 32(DX)(AX*4), Y1, Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VCMPPS $0x1e, Y7, Y2, Y2
	VANDPS 64(DX)(AX*4), Y2, Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VCMPPS $0x1e, Y7, Y3, Y3
	VANDPS 96(DX)(AX*4), Y3, Y3
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT loop32
tail8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JGE tail1
loop8:
	VMOVUPS (SI)(AX*4), Y0
	VCMPPS $0x1e, Y7, Y0, Y0
	VANDPS (DX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail1:
	CMPQ AX, CX
	JGE done
loop1:
	VMOVSS (SI)(AX*4), X0
	VCMPSS $0x1e, X7, X0, X0
	VMOVSS (DX)(AX*4), X1
	VANDPS X1, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	CMPQ AX, CX
	JLT loop1
done:
	VZEROUPPER
	RET

// leakyReluAVX2 sets dst[i] = max(0, x) + p·min(0, x) (SIMDKernels.LeakyRelu):
// VMAXPS and VMINPS return their second source, x, when either is NaN or
// both are zeros, so NaN and −0 pass through.
// func leakyReluAVX2(dst, x []float32, p float32)
TEXT ·leakyReluAVX2(SB), NOSPLIT, $0-52
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VBROADCASTSS p+48(FP), Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX
	JEQ tail1
loop16:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS 32(SI)(AX*4), Y3
	VMAXPS Y0, Y7, Y1
	VMINPS Y0, Y7, Y2
	VMAXPS Y3, Y7, Y4
	VMINPS Y3, Y7, Y5
	VFMADD231PS Y2, Y6, Y1
	VFMADD231PS Y5, Y6, Y4
	VMOVUPS Y1, (DI)(AX*4)
	VMOVUPS Y4, 32(DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, BX
	JLT loop16
tail1:
	CMPQ AX, CX
	JGE lrdone
loop1:
	VMOVSS (SI)(AX*4), X0
	VMAXSS X0, X7, X1
	VMINSS X0, X7, X2
	VFMADD231SS X2, X6, X1
	VMOVSS X1, (DI)(AX*4)
	INCQ AX
	CMPQ AX, CX
	JLT loop1
lrdone:
	VZEROUPPER
	RET

// leakyReluGradAVX2 sets dst[i] = g[i] where x[i] > 0 (ordered: NaN is not),
// else p·g[i] (SIMDKernels.LeakyReluGrad).
// func leakyReluGradAVX2(dst, x, g []float32, p float32)
TEXT ·leakyReluGradAVX2(SB), NOSPLIT, $0-76
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ g_base+48(FP), DX
	VBROADCASTSS p+72(FP), Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-16, BX
	JEQ tail1
loop16:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS 32(SI)(AX*4), Y3
	VCMPPS $0x1e, Y7, Y0, Y0
	VCMPPS $0x1e, Y7, Y3, Y3
	VMOVUPS (DX)(AX*4), Y1
	VMOVUPS 32(DX)(AX*4), Y4
	VMULPS Y1, Y6, Y2
	VMULPS Y4, Y6, Y5
	VBLENDVPS Y0, Y1, Y2, Y2
	VBLENDVPS Y3, Y4, Y5, Y5
	VMOVUPS Y2, (DI)(AX*4)
	VMOVUPS Y5, 32(DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, BX
	JLT loop16
tail1:
	CMPQ AX, CX
	JGE lgdone
loop1:
	VMOVSS (SI)(AX*4), X0
	VCMPSS $0x1e, X7, X0, X0
	VMOVSS (DX)(AX*4), X1
	VMULSS X1, X6, X2
	VBLENDVPS X0, X1, X2, X2
	VMOVSS X2, (DI)(AX*4)
	INCQ AX
	CMPQ AX, CX
	JLT loop1
lgdone:
	VZEROUPPER
	RET

// affine2AVX2 sets dst[i] = fma(a, x, fma(b, y, c)) (SIMDKernels.Affine2),
// plus dst[i] when acc.
// func affine2AVX2(dst, a, x, b, y, c []float32, acc bool)
TEXT ·affine2AVX2(SB), NOSPLIT, $0-145
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ a_base+24(FP), R8
	MOVQ x_base+48(FP), R9
	MOVQ b_base+72(FP), R10
	MOVQ y_base+96(FP), R11
	MOVQ c_base+120(FP), R12
	MOVBLZX acc+144(FP), DX
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
	JEQ tail1
	TESTQ DX, DX
	JNE loop8acc
loop8:
	VMOVUPS (R12)(AX*4), Y0
	VMOVUPS (R10)(AX*4), Y1
	VFMADD231PS (R11)(AX*4), Y1, Y0
	VMOVUPS (R8)(AX*4), Y2
	VFMADD231PS (R9)(AX*4), Y2, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
	JMP tail1
loop8acc:
	VMOVUPS (R12)(AX*4), Y0
	VMOVUPS (R10)(AX*4), Y1
	VFMADD231PS (R11)(AX*4), Y1, Y0
	VMOVUPS (R8)(AX*4), Y2
	VFMADD231PS (R9)(AX*4), Y2, Y0
	VADDPS (DI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8acc
tail1:
	CMPQ AX, CX
	JGE afdone
loop1:
	VMOVSS (R12)(AX*4), X0
	VMOVSS (R10)(AX*4), X1
	VFMADD231SS (R11)(AX*4), X1, X0
	VMOVSS (R8)(AX*4), X2
	VFMADD231SS (R9)(AX*4), X2, X0
	TESTQ DX, DX
	JEQ store1
	VADDSS (DI)(AX*4), X0, X0
store1:
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	CMPQ AX, CX
	JLT loop1
afdone:
	VZEROUPPER
	RET

// expAVX2 sets dst[i] = e^x[i] (see SIMDKernels.Exp).
// x = min(hi, x), max(lo, x): NaN passes (the second operand wins)
// n = floor(x·log2e + 1/2), r = x - n·C1 - n·C2, z = r², y = (1 + r + z·P(r))·2ⁿ, 0 where x < lo
// func expAVX2(dst, x []float32)
TEXT ·expAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VMOVUPS ·avx2ExpHi(SB), Y14
	VMOVUPS ·avx2ExpLo(SB), Y15
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
	JEQ tail
loop8:
	VMOVUPS (SI)(AX*4), Y0
	VMOVAPS Y0, Y4
	VMINPS Y0, Y14, Y0
	VMAXPS Y0, Y15, Y0
	VMULPS ·avx2Log2e(SB), Y0, Y1
	VADDPS ·avx2Half(SB), Y1, Y1
	VROUNDPS $1, Y1, Y1
	VFNMADD231PS ·avx2C1(SB), Y1, Y0
	VFNMADD231PS ·avx2C2(SB), Y1, Y0
	VMULPS Y0, Y0, Y2
	VMOVUPS ·avx2P0(SB), Y3
	VFMADD213PS ·avx2P1(SB), Y0, Y3
	VFMADD213PS ·avx2P2(SB), Y0, Y3
	VFMADD213PS ·avx2P3(SB), Y0, Y3
	VFMADD213PS ·avx2P4(SB), Y0, Y3
	VFMADD213PS ·avx2P5(SB), Y0, Y3
	VFMADD213PS Y0, Y2, Y3
	VADDPS ·avx2One(SB), Y3, Y3
	VCVTPS2DQ Y1, Y1
	VPADDD ·avx2I127(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y3, Y0
	VCMPPS $1, Y15, Y4, Y2
	VANDNPS Y0, Y2, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail:
	MOVQ CX, R9
	SUBQ AX, R9
	JEQ done
	// The last r < 8 elements, through a mask of r lanes.
	LEAQ ·avx2TailMask(SB), R8
	NEGQ R9
	ADDQ $8, R9
	VMOVUPS (R8)(R9*4), Y8
	VMASKMOVPS (SI)(AX*4), Y8, Y0
	VMOVAPS Y0, Y4
	VMINPS Y0, Y14, Y0
	VMAXPS Y0, Y15, Y0
	VMULPS ·avx2Log2e(SB), Y0, Y1
	VADDPS ·avx2Half(SB), Y1, Y1
	VROUNDPS $1, Y1, Y1
	VFNMADD231PS ·avx2C1(SB), Y1, Y0
	VFNMADD231PS ·avx2C2(SB), Y1, Y0
	VMULPS Y0, Y0, Y2
	VMOVUPS ·avx2P0(SB), Y3
	VFMADD213PS ·avx2P1(SB), Y0, Y3
	VFMADD213PS ·avx2P2(SB), Y0, Y3
	VFMADD213PS ·avx2P3(SB), Y0, Y3
	VFMADD213PS ·avx2P4(SB), Y0, Y3
	VFMADD213PS ·avx2P5(SB), Y0, Y3
	VFMADD213PS Y0, Y2, Y3
	VADDPS ·avx2One(SB), Y3, Y3
	VCVTPS2DQ Y1, Y1
	VPADDD ·avx2I127(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y3, Y0
	VCMPPS $1, Y15, Y4, Y2
	VANDNPS Y0, Y2, Y0
	VMASKMOVPS Y0, Y8, (DI)(AX*4)
done:
	VZEROUPPER
	RET

// tanhAVX2 sets dst[i] = tanh(x[i]) (see SIMDKernels.Tanh).
// small = x + x·z·Q(z), z = x²; large = copysign(1 - 2/(e^{2|x|} + 1), x); blend on |x| < 0.625
// func tanhAVX2(dst, x []float32)
TEXT ·tanhAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VMOVUPS ·avx2ExpHi(SB), Y14
	VMOVUPS ·avx2ExpLo(SB), Y15
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
	JEQ tail
loop8:
	VMOVUPS (SI)(AX*4), Y0
	VMOVAPS Y0, Y5
	VANDPS ·avx2Abs(SB), Y0, Y6
	VMULPS Y5, Y5, Y2
	VMOVUPS ·avx2Q0(SB), Y3
	VFMADD213PS ·avx2Q1(SB), Y2, Y3
	VFMADD213PS ·avx2Q2(SB), Y2, Y3
	VFMADD213PS ·avx2Q3(SB), Y2, Y3
	VFMADD213PS ·avx2Q4(SB), Y2, Y3
	VMULPS Y2, Y3, Y3
	VFMADD213PS Y5, Y5, Y3
	VMOVAPS Y3, Y7
	VADDPS Y6, Y6, Y0
	VMOVAPS Y0, Y4
	VMINPS Y0, Y14, Y0
	VMAXPS Y0, Y15, Y0
	VMULPS ·avx2Log2e(SB), Y0, Y1
	VADDPS ·avx2Half(SB), Y1, Y1
	VROUNDPS $1, Y1, Y1
	VFNMADD231PS ·avx2C1(SB), Y1, Y0
	VFNMADD231PS ·avx2C2(SB), Y1, Y0
	VMULPS Y0, Y0, Y2
	VMOVUPS ·avx2P0(SB), Y3
	VFMADD213PS ·avx2P1(SB), Y0, Y3
	VFMADD213PS ·avx2P2(SB), Y0, Y3
	VFMADD213PS ·avx2P3(SB), Y0, Y3
	VFMADD213PS ·avx2P4(SB), Y0, Y3
	VFMADD213PS ·avx2P5(SB), Y0, Y3
	VFMADD213PS Y0, Y2, Y3
	VADDPS ·avx2One(SB), Y3, Y3
	VCVTPS2DQ Y1, Y1
	VPADDD ·avx2I127(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y3, Y0
	VCMPPS $1, Y15, Y4, Y2
	VANDNPS Y0, Y2, Y0
	VADDPS ·avx2One(SB), Y0, Y0
	VMOVUPS ·avx2Two(SB), Y1
	VDIVPS Y0, Y1, Y1
	VMOVUPS ·avx2One(SB), Y0
	VSUBPS Y1, Y0, Y0
	VANDPS ·avx2Sign(SB), Y5, Y1
	VORPS Y1, Y0, Y0
	VCMPPS $1, ·avx2TanhSmall(SB), Y6, Y2
	VBLENDVPS Y2, Y7, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail:
	MOVQ CX, R9
	SUBQ AX, R9
	JEQ done
	// The last r < 8 elements, through a mask of r lanes.
	LEAQ ·avx2TailMask(SB), R8
	NEGQ R9
	ADDQ $8, R9
	VMOVUPS (R8)(R9*4), Y8
	VMASKMOVPS (SI)(AX*4), Y8, Y0
	VMOVAPS Y0, Y5
	VANDPS ·avx2Abs(SB), Y0, Y6
	VMULPS Y5, Y5, Y2
	VMOVUPS ·avx2Q0(SB), Y3
	VFMADD213PS ·avx2Q1(SB), Y2, Y3
	VFMADD213PS ·avx2Q2(SB), Y2, Y3
	VFMADD213PS ·avx2Q3(SB), Y2, Y3
	VFMADD213PS ·avx2Q4(SB), Y2, Y3
	VMULPS Y2, Y3, Y3
	VFMADD213PS Y5, Y5, Y3
	VMOVAPS Y3, Y7
	VADDPS Y6, Y6, Y0
	VMOVAPS Y0, Y4
	VMINPS Y0, Y14, Y0
	VMAXPS Y0, Y15, Y0
	VMULPS ·avx2Log2e(SB), Y0, Y1
	VADDPS ·avx2Half(SB), Y1, Y1
	VROUNDPS $1, Y1, Y1
	VFNMADD231PS ·avx2C1(SB), Y1, Y0
	VFNMADD231PS ·avx2C2(SB), Y1, Y0
	VMULPS Y0, Y0, Y2
	VMOVUPS ·avx2P0(SB), Y3
	VFMADD213PS ·avx2P1(SB), Y0, Y3
	VFMADD213PS ·avx2P2(SB), Y0, Y3
	VFMADD213PS ·avx2P3(SB), Y0, Y3
	VFMADD213PS ·avx2P4(SB), Y0, Y3
	VFMADD213PS ·avx2P5(SB), Y0, Y3
	VFMADD213PS Y0, Y2, Y3
	VADDPS ·avx2One(SB), Y3, Y3
	VCVTPS2DQ Y1, Y1
	VPADDD ·avx2I127(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y3, Y0
	VCMPPS $1, Y15, Y4, Y2
	VANDNPS Y0, Y2, Y0
	VADDPS ·avx2One(SB), Y0, Y0
	VMOVUPS ·avx2Two(SB), Y1
	VDIVPS Y0, Y1, Y1
	VMOVUPS ·avx2One(SB), Y0
	VSUBPS Y1, Y0, Y0
	VANDPS ·avx2Sign(SB), Y5, Y1
	VORPS Y1, Y0, Y0
	VCMPPS $1, ·avx2TanhSmall(SB), Y6, Y2
	VBLENDVPS Y2, Y7, Y0, Y0
	VMASKMOVPS Y0, Y8, (DI)(AX*4)
done:
	VZEROUPPER
	RET

// sigmoidAVX2 sets dst[i] = 1/(1 + e^{-x[i]}).
// func sigmoidAVX2(dst, x []float32)
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VMOVUPS ·avx2ExpHi(SB), Y14
	VMOVUPS ·avx2ExpLo(SB), Y15
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-8, BX
	JEQ tail
loop8:
	VMOVUPS (SI)(AX*4), Y0
	VXORPS ·avx2Sign(SB), Y0, Y0
	VMOVAPS Y0, Y4
	VMINPS Y0, Y14, Y0
	VMAXPS Y0, Y15, Y0
	VMULPS ·avx2Log2e(SB), Y0, Y1
	VADDPS ·avx2Half(SB), Y1, Y1
	VROUNDPS $1, Y1, Y1
	VFNMADD231PS ·avx2C1(SB), Y1, Y0
	VFNMADD231PS ·avx2C2(SB), Y1, Y0
	VMULPS Y0, Y0, Y2
	VMOVUPS ·avx2P0(SB), Y3
	VFMADD213PS ·avx2P1(SB), Y0, Y3
	VFMADD213PS ·avx2P2(SB), Y0, Y3
	VFMADD213PS ·avx2P3(SB), Y0, Y3
	VFMADD213PS ·avx2P4(SB), Y0, Y3
	VFMADD213PS ·avx2P5(SB), Y0, Y3
	VFMADD213PS Y0, Y2, Y3
	VADDPS ·avx2One(SB), Y3, Y3
	VCVTPS2DQ Y1, Y1
	VPADDD ·avx2I127(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y3, Y0
	VCMPPS $1, Y15, Y4, Y2
	VANDNPS Y0, Y2, Y0
	VADDPS ·avx2One(SB), Y0, Y0
	VMOVUPS ·avx2One(SB), Y1
	VDIVPS Y0, Y1, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail:
	MOVQ CX, R9
	SUBQ AX, R9
	JEQ done
	// The last r < 8 elements, through a mask of r lanes.
	LEAQ ·avx2TailMask(SB), R8
	NEGQ R9
	ADDQ $8, R9
	VMOVUPS (R8)(R9*4), Y8
	VMASKMOVPS (SI)(AX*4), Y8, Y0
	VXORPS ·avx2Sign(SB), Y0, Y0
	VMOVAPS Y0, Y4
	VMINPS Y0, Y14, Y0
	VMAXPS Y0, Y15, Y0
	VMULPS ·avx2Log2e(SB), Y0, Y1
	VADDPS ·avx2Half(SB), Y1, Y1
	VROUNDPS $1, Y1, Y1
	VFNMADD231PS ·avx2C1(SB), Y1, Y0
	VFNMADD231PS ·avx2C2(SB), Y1, Y0
	VMULPS Y0, Y0, Y2
	VMOVUPS ·avx2P0(SB), Y3
	VFMADD213PS ·avx2P1(SB), Y0, Y3
	VFMADD213PS ·avx2P2(SB), Y0, Y3
	VFMADD213PS ·avx2P3(SB), Y0, Y3
	VFMADD213PS ·avx2P4(SB), Y0, Y3
	VFMADD213PS ·avx2P5(SB), Y0, Y3
	VFMADD213PS Y0, Y2, Y3
	VADDPS ·avx2One(SB), Y3, Y3
	VCVTPS2DQ Y1, Y1
	VPADDD ·avx2I127(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y3, Y0
	VCMPPS $1, Y15, Y4, Y2
	VANDNPS Y0, Y2, Y0
	VADDPS ·avx2One(SB), Y0, Y0
	VMOVUPS ·avx2One(SB), Y1
	VDIVPS Y0, Y1, Y0
	VMASKMOVPS Y0, Y8, (DI)(AX*4)
done:
	VZEROUPPER
	RET

// sumAVX2 returns Σ x[i]: 32 lanes of partial sums, then a fixed pairwise reduction,
// then the sum of the last len(x) mod 8 elements.
// func sumAVX2(x []float32) float32
TEXT ·sumAVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS X9, X9, X9
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
	JEQ tail8
loop32:
	VADDPS 0(SI)(AX*4), Y0, Y0
	VADDPS 32(SI)(AX*4), Y1, Y1
	VADDPS 64(SI)(AX*4), Y2, Y2
	VADDPS 96(SI)(AX*4), Y3, Y3
	ADDQ $32, AX
	CMPQ AX, BX
	JLT loop32
tail8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JGE tail1
loop8:
	VADDPS (SI)(AX*4), Y0, Y0
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail1:
	CMPQ AX, CX
	JGE reduce
loop1:
	VADDSS (SI)(AX*4), X9, X9
	INCQ AX
	CMPQ AX, CX
	JLT loop1
reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDSS X1, X0, X0
	VADDSS X9, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// dotAVX2 returns Σ x[i]·y[i] with sumAVX2's order, fused.
// func dotAVX2(x, y []float32) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-52
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ y_base+24(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS X9, X9, X9
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
	JEQ tail8
loop32:
	VMOVUPS 0(SI)(AX*4), Y4
	VFMADD231PS 0(DX)(AX*4), Y4, Y0
	VMOVUPS 32(SI)(AX*4), Y5
	VFMADD231PS 32(DX)(AX*4), Y5, Y1
	VMOVUPS 64(SI)(AX*4), Y6
	VFMADD231PS 64(DX)(AX*4), Y6, Y2
	VMOVUPS 96(SI)(AX*4), Y7
	VFMADD231PS 96(DX)(AX*4), Y7, Y3
	ADDQ $32, AX
	CMPQ AX, BX
	JLT loop32
tail8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JGE tail1
loop8:
	VMOVUPS (SI)(AX*4), Y4
	VFMADD231PS (DX)(AX*4), Y4, Y0
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail1:
	CMPQ AX, CX
	JGE reduce
loop1:
	VMOVSS (SI)(AX*4), X4
	VFMADD231SS (DX)(AX*4), X4, X9
	INCQ AX
	CMPQ AX, CX
	JLT loop1
reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDSS X1, X0, X0
	VADDSS X9, X0, X0
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// maxAVX2 returns the largest x[i], NaN if any is NaN (tracked apart, as
// VMAXPS drops NaNs), -Inf for an empty x.
// func maxAVX2(x []float32) float32
TEXT ·maxAVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VMOVUPS ·avx2NegInf(SB), Y0
	VMOVUPS ·avx2NegInf(SB), Y1
	VMOVUPS ·avx2NegInf(SB), Y2
	VMOVUPS ·avx2NegInf(SB), Y3
	VXORPS Y8, Y8, Y8
	VMOVSS ·avx2NegInf(SB), X5
	XORQ AX, AX
	MOVQ CX, BX
	ANDQ $-32, BX
	JEQ tail8
loop32:
	VMOVUPS 0(SI)(AX*4), Y4
	VCMPPS $3, Y4, Y4, Y9
	VORPS Y9, Y8, Y8
	VMAXPS Y4, Y0, Y0
	VMOVUPS 32(SI)(AX*4), Y5
	VCMPPS $3, Y5, Y5, Y9
	VORPS Y9, Y8, Y8
	VMAXPS Y5, Y1, Y1
	VMOVUPS 64(SI)(AX*4), Y6
	VCMPPS $3, Y6, Y6, Y9
	VORPS Y9, Y8, Y8
	VMAXPS Y6, Y2, Y2
	VMOVUPS 96(SI)(AX*4), Y7
	VCMPPS $3, Y7, Y7, Y9
	VORPS Y9, Y8, Y8
	VMAXPS Y7, Y3, Y3
	ADDQ $32, AX
	CMPQ AX, BX
	JLT loop32
tail8:
	MOVQ CX, BX
	ANDQ $-8, BX
	CMPQ AX, BX
	JGE tail1
loop8:
	VMOVUPS (SI)(AX*4), Y4
	VCMPPS $3, Y4, Y4, Y9
	VORPS Y9, Y8, Y8
	VMAXPS Y4, Y0, Y0
	ADDQ $8, AX
	CMPQ AX, BX
	JLT loop8
tail1:
	CMPQ AX, CX
	JGE reduce
loop1:
	VMOVSS (SI)(AX*4), X4
	VCMPSS $3, X4, X4, X9
	VORPS Y9, Y8, Y8
	VMAXSS X4, X5, X5
	INCQ AX
	CMPQ AX, CX
	JLT loop1
reduce:
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXSS X1, X0, X0
	VMAXSS X5, X0, X0
	VMOVMSKPS Y8, AX
	TESTL AX, AX
	JEQ out
	VMOVSS ·avx2NaN(SB), X0
out:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// Constants, each repeated in the eight lanes of a YMM register.
DATA ·avx2Log2e+0(SB)/4, $0x3fb8aa3b
DATA ·avx2Log2e+4(SB)/4, $0x3fb8aa3b
DATA ·avx2Log2e+8(SB)/4, $0x3fb8aa3b
DATA ·avx2Log2e+12(SB)/4, $0x3fb8aa3b
DATA ·avx2Log2e+16(SB)/4, $0x3fb8aa3b
DATA ·avx2Log2e+20(SB)/4, $0x3fb8aa3b
DATA ·avx2Log2e+24(SB)/4, $0x3fb8aa3b
DATA ·avx2Log2e+28(SB)/4, $0x3fb8aa3b
GLOBL ·avx2Log2e(SB), RODATA|NOPTR, $32
DATA ·avx2Half+0(SB)/4, $0x3f000000
DATA ·avx2Half+4(SB)/4, $0x3f000000
DATA ·avx2Half+8(SB)/4, $0x3f000000
DATA ·avx2Half+12(SB)/4, $0x3f000000
DATA ·avx2Half+16(SB)/4, $0x3f000000
DATA ·avx2Half+20(SB)/4, $0x3f000000
DATA ·avx2Half+24(SB)/4, $0x3f000000
DATA ·avx2Half+28(SB)/4, $0x3f000000
GLOBL ·avx2Half(SB), RODATA|NOPTR, $32
DATA ·avx2One+0(SB)/4, $0x3f800000
DATA ·avx2One+4(SB)/4, $0x3f800000
DATA ·avx2One+8(SB)/4, $0x3f800000
DATA ·avx2One+12(SB)/4, $0x3f800000
DATA ·avx2One+16(SB)/4, $0x3f800000
DATA ·avx2One+20(SB)/4, $0x3f800000
DATA ·avx2One+24(SB)/4, $0x3f800000
DATA ·avx2One+28(SB)/4, $0x3f800000
GLOBL ·avx2One(SB), RODATA|NOPTR, $32
DATA ·avx2Two+0(SB)/4, $0x40000000
DATA ·avx2Two+4(SB)/4, $0x40000000
DATA ·avx2Two+8(SB)/4, $0x40000000
DATA ·avx2Two+12(SB)/4, $0x40000000
DATA ·avx2Two+16(SB)/4, $0x40000000
DATA ·avx2Two+20(SB)/4, $0x40000000
DATA ·avx2Two+24(SB)/4, $0x40000000
DATA ·avx2Two+28(SB)/4, $0x40000000
GLOBL ·avx2Two(SB), RODATA|NOPTR, $32
DATA ·avx2ExpHi+0(SB)/4, $0x42b0c083
DATA ·avx2ExpHi+4(SB)/4, $0x42b0c083
DATA ·avx2ExpHi+8(SB)/4, $0x42b0c083
DATA ·avx2ExpHi+12(SB)/4, $0x42b0c083
DATA ·avx2ExpHi+16(SB)/4, $0x42b0c083
DATA ·avx2ExpHi+20(SB)/4, $0x42b0c083
DATA ·avx2ExpHi+24(SB)/4, $0x42b0c083
DATA ·avx2ExpHi+28(SB)/4, $0x42b0c083
GLOBL ·avx2ExpHi(SB), RODATA|NOPTR, $32
DATA ·avx2ExpLo+0(SB)/4, $0xc2aeac4f
DATA ·avx2ExpLo+4(SB)/4, $0xc2aeac4f
DATA ·avx2ExpLo+8(SB)/4, $0xc2aeac4f
DATA ·avx2ExpLo+12(SB)/4, $0xc2aeac4f
DATA ·avx2ExpLo+16(SB)/4, $0xc2aeac4f
DATA ·avx2ExpLo+20(SB)/4, $0xc2aeac4f
DATA ·avx2ExpLo+24(SB)/4, $0xc2aeac4f
DATA ·avx2ExpLo+28(SB)/4, $0xc2aeac4f
GLOBL ·avx2ExpLo(SB), RODATA|NOPTR, $32
DATA ·avx2C1+0(SB)/4, $0x3f318000
DATA ·avx2C1+4(SB)/4, $0x3f318000
DATA ·avx2C1+8(SB)/4, $0x3f318000
DATA ·avx2C1+12(SB)/4, $0x3f318000
DATA ·avx2C1+16(SB)/4, $0x3f318000
DATA ·avx2C1+20(SB)/4, $0x3f318000
DATA ·avx2C1+24(SB)/4, $0x3f318000
DATA ·avx2C1+28(SB)/4, $0x3f318000
GLOBL ·avx2C1(SB), RODATA|NOPTR, $32
DATA ·avx2C2+0(SB)/4, $0xb95e8083
DATA ·avx2C2+4(SB)/4, $0xb95e8083
DATA ·avx2C2+8(SB)/4, $0xb95e8083
DATA ·avx2C2+12(SB)/4, $0xb95e8083
DATA ·avx2C2+16(SB)/4, $0xb95e8083
DATA ·avx2C2+20(SB)/4, $0xb95e8083
DATA ·avx2C2+24(SB)/4, $0xb95e8083
DATA ·avx2C2+28(SB)/4, $0xb95e8083
GLOBL ·avx2C2(SB), RODATA|NOPTR, $32
DATA ·avx2P0+0(SB)/4, $0x39506967
DATA ·avx2P0+4(SB)/4, $0x39506967
DATA ·avx2P0+8(SB)/4, $0x39506967
DATA ·avx2P0+12(SB)/4, $0x39506967
DATA ·avx2P0+16(SB)/4, $0x39506967
DATA ·avx2P0+20(SB)/4, $0x39506967
DATA ·avx2P0+24(SB)/4, $0x39506967
DATA ·avx2P0+28(SB)/4, $0x39506967
GLOBL ·avx2P0(SB), RODATA|NOPTR, $32
DATA ·avx2P1+0(SB)/4, $0x3ab743ce
DATA ·avx2P1+4(SB)/4, $0x3ab743ce
DATA ·avx2P1+8(SB)/4, $0x3ab743ce
DATA ·avx2P1+12(SB)/4, $0x3ab743ce
DATA ·avx2P1+16(SB)/4, $0x3ab743ce
DATA ·avx2P1+20(SB)/4, $0x3ab743ce
DATA ·avx2P1+24(SB)/4, $0x3ab743ce
DATA ·avx2P1+28(SB)/4, $0x3ab743ce
GLOBL ·avx2P1(SB), RODATA|NOPTR, $32
DATA ·avx2P2+0(SB)/4, $0x3c088908
DATA ·avx2P2+4(SB)/4, $0x3c088908
DATA ·avx2P2+8(SB)/4, $0x3c088908
DATA ·avx2P2+12(SB)/4, $0x3c088908
DATA ·avx2P2+16(SB)/4, $0x3c088908
DATA ·avx2P2+20(SB)/4, $0x3c088908
DATA ·avx2P2+24(SB)/4, $0x3c088908
DATA ·avx2P2+28(SB)/4, $0x3c088908
GLOBL ·avx2P2(SB), RODATA|NOPTR, $32
DATA ·avx2P3+0(SB)/4, $0x3d2aa9c1
DATA ·avx2P3+4(SB)/4, $0x3d2aa9c1
DATA ·avx2P3+8(SB)/4, $0x3d2aa9c1
DATA ·avx2P3+12(SB)/4, $0x3d2aa9c1
DATA ·avx2P3+16(SB)/4, $0x3d2aa9c1
DATA ·avx2P3+20(SB)/4, $0x3d2aa9c1
DATA ·avx2P3+24(SB)/4, $0x3d2aa9c1
DATA ·avx2P3+28(SB)/4, $0x3d2aa9c1
GLOBL ·avx2P3(SB), RODATA|NOPTR, $32
DATA ·avx2P4+0(SB)/4, $0x3e2aaaaa
DATA ·avx2P4+4(SB)/4, $0x3e2aaaaa
DATA ·avx2P4+8(SB)/4, $0x3e2aaaaa
DATA ·avx2P4+12(SB)/4, $0x3e2aaaaa
DATA ·avx2P4+16(SB)/4, $0x3e2aaaaa
DATA ·avx2P4+20(SB)/4, $0x3e2aaaaa
DATA ·avx2P4+24(SB)/4, $0x3e2aaaaa
DATA ·avx2P4+28(SB)/4, $0x3e2aaaaa
GLOBL ·avx2P4(SB), RODATA|NOPTR, $32
DATA ·avx2P5+0(SB)/4, $0x3f000000
DATA ·avx2P5+4(SB)/4, $0x3f000000
DATA ·avx2P5+8(SB)/4, $0x3f000000
DATA ·avx2P5+12(SB)/4, $0x3f000000
DATA ·avx2P5+16(SB)/4, $0x3f000000
DATA ·avx2P5+20(SB)/4, $0x3f000000
DATA ·avx2P5+24(SB)/4, $0x3f000000
DATA ·avx2P5+28(SB)/4, $0x3f000000
GLOBL ·avx2P5(SB), RODATA|NOPTR, $32
DATA ·avx2Q0+0(SB)/4, $0xbbbaf0ea
DATA ·avx2Q0+4(SB)/4, $0xbbbaf0ea
DATA ·avx2Q0+8(SB)/4, $0xbbbaf0ea
DATA ·avx2Q0+12(SB)/4, $0xbbbaf0ea
DATA ·avx2Q0+16(SB)/4, $0xbbbaf0ea
DATA ·avx2Q0+20(SB)/4, $0xbbbaf0ea
DATA ·avx2Q0+24(SB)/4, $0xbbbaf0ea
DATA ·avx2Q0+28(SB)/4, $0xbbbaf0ea
GLOBL ·avx2Q0(SB), RODATA|NOPTR, $32
DATA ·avx2Q1+0(SB)/4, $0x3ca9134e
DATA ·avx2Q1+4(SB)/4, $0x3ca9134e
DATA ·avx2Q1+8(SB)/4, $0x3ca9134e
DATA ·avx2Q1+12(SB)/4, $0x3ca9134e
DATA ·avx2Q1+16(SB)/4, $0x3ca9134e
DATA ·avx2Q1+20(SB)/4, $0x3ca9134e
DATA ·avx2Q1+24(SB)/4, $0x3ca9134e
DATA ·avx2Q1+28(SB)/4, $0x3ca9134e
GLOBL ·avx2Q1(SB), RODATA|NOPTR, $32
DATA ·avx2Q2+0(SB)/4, $0xbd5c1e2d
DATA ·avx2Q2+4(SB)/4, $0xbd5c1e2d
DATA ·avx2Q2+8(SB)/4, $0xbd5c1e2d
DATA ·avx2Q2+12(SB)/4, $0xbd5c1e2d
DATA ·avx2Q2+16(SB)/4, $0xbd5c1e2d
DATA ·avx2Q2+20(SB)/4, $0xbd5c1e2d
DATA ·avx2Q2+24(SB)/4, $0xbd5c1e2d
DATA ·avx2Q2+28(SB)/4, $0xbd5c1e2d
GLOBL ·avx2Q2(SB), RODATA|NOPTR, $32
DATA ·avx2Q3+0(SB)/4, $0x3e088393
DATA ·avx2Q3+4(SB)/4, $0x3e088393
DATA ·avx2Q3+8(SB)/4, $0x3e088393
DATA ·avx2Q3+12(SB)/4, $0x3e088393
DATA ·avx2Q3+16(SB)/4, $0x3e088393
DATA ·avx2Q3+20(SB)/4, $0x3e088393
DATA ·avx2Q3+24(SB)/4, $0x3e088393
DATA ·avx2Q3+28(SB)/4, $0x3e088393
GLOBL ·avx2Q3(SB), RODATA|NOPTR, $32
DATA ·avx2Q4+0(SB)/4, $0xbeaaaa99
DATA ·avx2Q4+4(SB)/4, $0xbeaaaa99
DATA ·avx2Q4+8(SB)/4, $0xbeaaaa99
DATA ·avx2Q4+12(SB)/4, $0xbeaaaa99
DATA ·avx2Q4+16(SB)/4, $0xbeaaaa99
DATA ·avx2Q4+20(SB)/4, $0xbeaaaa99
DATA ·avx2Q4+24(SB)/4, $0xbeaaaa99
DATA ·avx2Q4+28(SB)/4, $0xbeaaaa99
GLOBL ·avx2Q4(SB), RODATA|NOPTR, $32
DATA ·avx2TanhSmall+0(SB)/4, $0x3f200000
DATA ·avx2TanhSmall+4(SB)/4, $0x3f200000
DATA ·avx2TanhSmall+8(SB)/4, $0x3f200000
DATA ·avx2TanhSmall+12(SB)/4, $0x3f200000
DATA ·avx2TanhSmall+16(SB)/4, $0x3f200000
DATA ·avx2TanhSmall+20(SB)/4, $0x3f200000
DATA ·avx2TanhSmall+24(SB)/4, $0x3f200000
DATA ·avx2TanhSmall+28(SB)/4, $0x3f200000
GLOBL ·avx2TanhSmall(SB), RODATA|NOPTR, $32
DATA ·avx2Abs+0(SB)/4, $0x7fffffff
DATA ·avx2Abs+4(SB)/4, $0x7fffffff
DATA ·avx2Abs+8(SB)/4, $0x7fffffff
DATA ·avx2Abs+12(SB)/4, $0x7fffffff
DATA ·avx2Abs+16(SB)/4, $0x7fffffff
DATA ·avx2Abs+20(SB)/4, $0x7fffffff
DATA ·avx2Abs+24(SB)/4, $0x7fffffff
DATA ·avx2Abs+28(SB)/4, $0x7fffffff
GLOBL ·avx2Abs(SB), RODATA|NOPTR, $32
DATA ·avx2Sign+0(SB)/4, $0x80000000
DATA ·avx2Sign+4(SB)/4, $0x80000000
DATA ·avx2Sign+8(SB)/4, $0x80000000
DATA ·avx2Sign+12(SB)/4, $0x80000000
DATA ·avx2Sign+16(SB)/4, $0x80000000
DATA ·avx2Sign+20(SB)/4, $0x80000000
DATA ·avx2Sign+24(SB)/4, $0x80000000
DATA ·avx2Sign+28(SB)/4, $0x80000000
GLOBL ·avx2Sign(SB), RODATA|NOPTR, $32
DATA ·avx2I127+0(SB)/4, $0x0000007f
DATA ·avx2I127+4(SB)/4, $0x0000007f
DATA ·avx2I127+8(SB)/4, $0x0000007f
DATA ·avx2I127+12(SB)/4, $0x0000007f
DATA ·avx2I127+16(SB)/4, $0x0000007f
DATA ·avx2I127+20(SB)/4, $0x0000007f
DATA ·avx2I127+24(SB)/4, $0x0000007f
DATA ·avx2I127+28(SB)/4, $0x0000007f
GLOBL ·avx2I127(SB), RODATA|NOPTR, $32
DATA ·avx2NegInf+0(SB)/4, $0xff800000
DATA ·avx2NegInf+4(SB)/4, $0xff800000
DATA ·avx2NegInf+8(SB)/4, $0xff800000
DATA ·avx2NegInf+12(SB)/4, $0xff800000
DATA ·avx2NegInf+16(SB)/4, $0xff800000
DATA ·avx2NegInf+20(SB)/4, $0xff800000
DATA ·avx2NegInf+24(SB)/4, $0xff800000
DATA ·avx2NegInf+28(SB)/4, $0xff800000
GLOBL ·avx2NegInf(SB), RODATA|NOPTR, $32

// simdTailMask+4·(8-r) holds a VMASKMOVPS mask for the first r lanes.
DATA ·avx2TailMask+0(SB)/4, $0xffffffff
DATA ·avx2TailMask+4(SB)/4, $0xffffffff
DATA ·avx2TailMask+8(SB)/4, $0xffffffff
DATA ·avx2TailMask+12(SB)/4, $0xffffffff
DATA ·avx2TailMask+16(SB)/4, $0xffffffff
DATA ·avx2TailMask+20(SB)/4, $0xffffffff
DATA ·avx2TailMask+24(SB)/4, $0xffffffff
DATA ·avx2TailMask+28(SB)/4, $0xffffffff
DATA ·avx2TailMask+32(SB)/4, $0x00000000
DATA ·avx2TailMask+36(SB)/4, $0x00000000
DATA ·avx2TailMask+40(SB)/4, $0x00000000
DATA ·avx2TailMask+44(SB)/4, $0x00000000
DATA ·avx2TailMask+48(SB)/4, $0x00000000
DATA ·avx2TailMask+52(SB)/4, $0x00000000
DATA ·avx2TailMask+56(SB)/4, $0x00000000
DATA ·avx2TailMask+60(SB)/4, $0x00000000
GLOBL ·avx2TailMask(SB), RODATA|NOPTR, $64

DATA ·avx2NaN+0(SB)/4, $0x7fc00000
GLOBL ·avx2NaN(SB), RODATA|NOPTR, $4
