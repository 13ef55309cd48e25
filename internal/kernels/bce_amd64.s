//go:build !purego

#include "textflag.h"

// bceAVX2 runs bceRow over n elements (n a multiple of 8), eight lanes at
// a time; see bce_amd64.go. Per lane, with v = z[i]:
//   x = max(−|v|, lo); k = ⌊x·log2e + ½⌋; r = x − k·C1 − k·C2
//   e = (1 + r + r²·P(r))·2ᵏ, 0 where −|v| < lo          (e^−|v|, Exp's steps)
//   l = max(v, 0) − v·y + e·L(e)                          (L: log1pUnit's polynomial)
//   s += l, in float64 (four lanes for the low half, four for the high)
//   sig = 1/(1 + e) where v ≥ 0, e/(1 + e) where v < 0 (by v's sign bit)
// func bceAVX2(sig, z, y *float32, n int) float64
TEXT ·bceAVX2(SB), NOSPLIT, $0-40
	MOVQ sig+0(FP), DI
	MOVQ z+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	VMOVUPS ·avx2ExpLo(SB), Y15
	VXORPS Y9, Y9, Y9
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	XORQ AX, AX
	CMPQ CX, $0
	JLE done
loop8:
	VMOVUPS (SI)(AX*4), Y0
	VANDPS ·avx2Abs(SB), Y0, Y1
	VXORPS ·avx2Sign(SB), Y1, Y1
	VMOVAPS Y1, Y4
	VMAXPS Y1, Y15, Y1
	VMULPS ·avx2Log2e(SB), Y1, Y2
	VADDPS ·avx2Half(SB), Y2, Y2
	VROUNDPS $1, Y2, Y2
	VFNMADD231PS ·avx2C1(SB), Y2, Y1
	VFNMADD231PS ·avx2C2(SB), Y2, Y1
	VMULPS Y1, Y1, Y3
	VMOVUPS ·avx2P0(SB), Y5
	VFMADD213PS ·avx2P1(SB), Y1, Y5
	VFMADD213PS ·avx2P2(SB), Y1, Y5
	VFMADD213PS ·avx2P3(SB), Y1, Y5
	VFMADD213PS ·avx2P4(SB), Y1, Y5
	VFMADD213PS ·avx2P5(SB), Y1, Y5
	VFMADD213PS Y1, Y3, Y5
	VADDPS ·avx2One(SB), Y5, Y5
	VCVTPS2DQ Y2, Y2
	VPADDD ·avx2I127(SB), Y2, Y2
	VPSLLD $23, Y2, Y2
	VMULPS Y2, Y5, Y5
	VCMPPS $1, Y15, Y4, Y6
	VANDNPS Y5, Y6, Y5
	// log(1 + e) = e·L(e)
	VMOVUPS ·bceL0(SB), Y7
	VFMADD213PS ·bceL1(SB), Y5, Y7
	VFMADD213PS ·bceL2(SB), Y5, Y7
	VFMADD213PS ·bceL3(SB), Y5, Y7
	VFMADD213PS ·bceL4(SB), Y5, Y7
	VFMADD213PS ·bceL5(SB), Y5, Y7
	VFMADD213PS ·bceL6(SB), Y5, Y7
	VFMADD213PS ·bceL7(SB), Y5, Y7
	VFMADD213PS ·bceL8(SB), Y5, Y7
	VMULPS Y5, Y7, Y7
	// l = max(v, 0) − v·y + log(1 + e)
	VMOVUPS (DX)(AX*4), Y8
	VMAXPS Y0, Y9, Y10
	VFNMADD231PS Y8, Y0, Y10
	VADDPS Y7, Y10, Y10
	VCVTPS2PD X10, Y11
	VADDPD Y11, Y12, Y12
	VEXTRACTF128 $1, Y10, X11
	VCVTPS2PD X11, Y11
	VADDPD Y11, Y13, Y13
	TESTQ DI, DI
	JEQ next
	VADDPS ·avx2One(SB), Y5, Y6
	VMOVUPS ·avx2One(SB), Y11
	VDIVPS Y6, Y11, Y11
	VMULPS Y5, Y11, Y6
	VBLENDVPS Y0, Y6, Y11, Y11
	VMOVUPS Y11, (DI)(AX*4)
next:
	ADDQ $8, AX
	CMPQ AX, CX
	JLT loop8
done:
	VADDPD Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPD X13, X12, X12
	VUNPCKHPD X12, X12, X13
	VADDSD X13, X12, X12
	VMOVSD X12, ret+32(FP)
	VZEROUPPER
	RET

// bceGradAVX2 runs bceGradRow over n elements (n a multiple of 8):
// dst[i] = gr·(sig[i] − y[i]), plus dst[i] when acc (a rounded multiply,
// then the add: the reference loop's bits).
// func bceGradAVX2(dst, sig, y *float32, n int, gr float32, acc bool)
TEXT ·bceGradAVX2(SB), NOSPLIT, $0-37
	MOVQ dst+0(FP), DI
	MOVQ sig+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS gr+32(FP), Y8
	MOVBLZX acc+36(FP), BX
	XORQ AX, AX
	CMPQ CX, $0
	JLE gdone
	TESTQ BX, BX
	JNE gacc
gset:
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS (DX)(AX*4), Y0, Y0
	VMULPS Y8, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT gset
	JMP gdone
gacc:
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS (DX)(AX*4), Y0, Y0
	VMULPS Y8, Y0, Y0
	VADDPS (DI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT gacc
gdone:
	VZEROUPPER
	RET

// The coefficients of log1pUnit's polynomial, highest first, each in the
// eight lanes of a YMM register.
DATA ·bceL0+0(SB)/4, $0x3b75ee96
DATA ·bceL0+4(SB)/4, $0x3b75ee96
DATA ·bceL0+8(SB)/4, $0x3b75ee96
DATA ·bceL0+12(SB)/4, $0x3b75ee96
DATA ·bceL0+16(SB)/4, $0x3b75ee96
DATA ·bceL0+20(SB)/4, $0x3b75ee96
DATA ·bceL0+24(SB)/4, $0x3b75ee96
DATA ·bceL0+28(SB)/4, $0x3b75ee96
GLOBL ·bceL0(SB), RODATA|NOPTR, $32
DATA ·bceL1+0(SB)/4, $0xbcbcbac6
DATA ·bceL1+4(SB)/4, $0xbcbcbac6
DATA ·bceL1+8(SB)/4, $0xbcbcbac6
DATA ·bceL1+12(SB)/4, $0xbcbcbac6
DATA ·bceL1+16(SB)/4, $0xbcbcbac6
DATA ·bceL1+20(SB)/4, $0xbcbcbac6
DATA ·bceL1+24(SB)/4, $0xbcbcbac6
DATA ·bceL1+28(SB)/4, $0xbcbcbac6
GLOBL ·bceL1(SB), RODATA|NOPTR, $32
DATA ·bceL2+0(SB)/4, $0x3d8837b2
DATA ·bceL2+4(SB)/4, $0x3d8837b2
DATA ·bceL2+8(SB)/4, $0x3d8837b2
DATA ·bceL2+12(SB)/4, $0x3d8837b2
DATA ·bceL2+16(SB)/4, $0x3d8837b2
DATA ·bceL2+20(SB)/4, $0x3d8837b2
DATA ·bceL2+24(SB)/4, $0x3d8837b2
DATA ·bceL2+28(SB)/4, $0x3d8837b2
GLOBL ·bceL2(SB), RODATA|NOPTR, $32
DATA ·bceL3+0(SB)/4, $0xbe0045e4
DATA ·bceL3+4(SB)/4, $0xbe0045e4
DATA ·bceL3+8(SB)/4, $0xbe0045e4
DATA ·bceL3+12(SB)/4, $0xbe0045e4
DATA ·bceL3+16(SB)/4, $0xbe0045e4
DATA ·bceL3+20(SB)/4, $0xbe0045e4
DATA ·bceL3+24(SB)/4, $0xbe0045e4
DATA ·bceL3+28(SB)/4, $0xbe0045e4
GLOBL ·bceL3(SB), RODATA|NOPTR, $32
DATA ·bceL4+0(SB)/4, $0x3e3d1efa
DATA ·bceL4+4(SB)/4, $0x3e3d1efa
DATA ·bceL4+8(SB)/4, $0x3e3d1efa
DATA ·bceL4+12(SB)/4, $0x3e3d1efa
DATA ·bceL4+16(SB)/4, $0x3e3d1efa
DATA ·bceL4+20(SB)/4, $0x3e3d1efa
DATA ·bceL4+24(SB)/4, $0x3e3d1efa
DATA ·bceL4+28(SB)/4, $0x3e3d1efa
GLOBL ·bceL4(SB), RODATA|NOPTR, $32
DATA ·bceL5+0(SB)/4, $0xbe7c44e8
DATA ·bceL5+4(SB)/4, $0xbe7c44e8
DATA ·bceL5+8(SB)/4, $0xbe7c44e8
DATA ·bceL5+12(SB)/4, $0xbe7c44e8
DATA ·bceL5+16(SB)/4, $0xbe7c44e8
DATA ·bceL5+20(SB)/4, $0xbe7c44e8
DATA ·bceL5+24(SB)/4, $0xbe7c44e8
DATA ·bceL5+28(SB)/4, $0xbe7c44e8
GLOBL ·bceL5(SB), RODATA|NOPTR, $32
DATA ·bceL6+0(SB)/4, $0x3eaa672d
DATA ·bceL6+4(SB)/4, $0x3eaa672d
DATA ·bceL6+8(SB)/4, $0x3eaa672d
DATA ·bceL6+12(SB)/4, $0x3eaa672d
DATA ·bceL6+16(SB)/4, $0x3eaa672d
DATA ·bceL6+20(SB)/4, $0x3eaa672d
DATA ·bceL6+24(SB)/4, $0x3eaa672d
DATA ·bceL6+28(SB)/4, $0x3eaa672d
GLOBL ·bceL6(SB), RODATA|NOPTR, $32
DATA ·bceL7+0(SB)/4, $0xbefffb0d
DATA ·bceL7+4(SB)/4, $0xbefffb0d
DATA ·bceL7+8(SB)/4, $0xbefffb0d
DATA ·bceL7+12(SB)/4, $0xbefffb0d
DATA ·bceL7+16(SB)/4, $0xbefffb0d
DATA ·bceL7+20(SB)/4, $0xbefffb0d
DATA ·bceL7+24(SB)/4, $0xbefffb0d
DATA ·bceL7+28(SB)/4, $0xbefffb0d
GLOBL ·bceL7(SB), RODATA|NOPTR, $32
DATA ·bceL8+0(SB)/4, $0x3f7fffee
DATA ·bceL8+4(SB)/4, $0x3f7fffee
DATA ·bceL8+8(SB)/4, $0x3f7fffee
DATA ·bceL8+12(SB)/4, $0x3f7fffee
DATA ·bceL8+16(SB)/4, $0x3f7fffee
DATA ·bceL8+20(SB)/4, $0x3f7fffee
DATA ·bceL8+24(SB)/4, $0x3f7fffee
DATA ·bceL8+28(SB)/4, $0x3f7fffee
GLOBL ·bceL8(SB), RODATA|NOPTR, $32
