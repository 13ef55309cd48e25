//go:build !purego

package kernels

// AVX2 optimizer updates (optim_amd64.s), 8 elements per instruction. Each
// assembly routine runs its reference loop over the first n elements, n a
// multiple of 8, with the same float32 operations in the same order: a
// rounded multiply (VMULPS) for every float32(x·y) of the reference, never
// a fused multiply-add; VSQRTPS and VDIVPS, correctly rounded like the
// scalar float32(math.Sqrt(float64(x))) and the scalar divide. So their
// results equal the reference loops' bit for bit, NaN and Inf included
// (only the payload of a NaN made from two NaNs may differ). The Go
// wrappers below check the lengths, hand the multiple-of-8 head to the
// assembly and the remainder to the reference loop.
//
// Pointers may be nil only where the loop does not touch them (vhat without
// AMSGrad, vel without momentum, mg and mom when absent). The gradient,
// g in the loops, is the argument grad, because g names a register in Go
// assembly.

// adamAVX2 is the loop of adamSerial over n elements (n a multiple of 8):
//
//	for i := 0; i < n; i++ {
//		if decay {
//			p[i] = p[i] - float32(c.Decay*p[i])
//		}
//		mi := float32(c.Beta1*m[i]) + float32(c.C1*g[i])
//		vi := float32(c.Beta2*v[i]) + float32(c.C2*float32(g[i]*g[i]))
//		mi, vi = flushSubnormal(mi), flushSubnormal(vi)
//		m[i], v[i] = mi, vi
//		u := vi
//		if vhat != nil {
//			u = vhat[i]
//			if vi > u || vi != vi {
//				u = vi
//			}
//			vhat[i] = u
//		}
//		p[i] -= float32(c.Alpha*mi) / (float32(math.Sqrt(float64(u))) + c.Eps)
//	}
//
//go:noescape
func adamAVX2(p, grad, m, v, vhat *float32, n int, c AdamCoeffs, decay bool)

// sgdAVX2 is the loop of sgdSerial over n elements (n a multiple of 8);
// mode is sgdPlain, sgdMomentum or sgdNesterov, plus sgdDecay to apply the
// decay:
//
//	for i := 0; i < n; i++ {
//		if mode&sgdDecay != 0 {
//			p[i] = p[i] - float32(decay*p[i])
//		}
//		switch mode &^ sgdDecay {
//		case sgdPlain:
//			p[i] -= float32(lr * g[i])
//		case sgdMomentum:
//			vi := flushSubnormal(float32(momentum*vel[i]) - float32(lr*g[i]))
//			vel[i] = vi
//			p[i] += vi
//		case sgdNesterov:
//			step := float32(lr * g[i])
//			vi := flushSubnormal(float32(momentum*vel[i]) - step)
//			vel[i] = vi
//			p[i] += float32(momentum*vi) - step
//		}
//	}
//
//go:noescape
func sgdAVX2(p, grad, vel *float32, n int, lr, momentum, decay float32, mode int)

// The modes of sgdAVX2 (the numbers are written into optim_amd64.s).
const (
	sgdPlain    = 0
	sgdMomentum = 2
	sgdNesterov = 4
	sgdDecay    = 1
)

// rmspropAVX2 is the loop of rmspropSerial over n elements (n a multiple
// of 8):
//
//	for i := 0; i < n; i++ {
//		s := float32(c.Rho*ms[i]) + float32(c.C*float32(g[i]*g[i]))
//		ms[i] = s
//		var d float32
//		if mg != nil {
//			a := float32(c.Rho*mg[i]) + float32(c.C*g[i])
//			mg[i] = a
//			d = s - float32(a*a) + c.Eps
//		} else {
//			d = s + c.Eps
//		}
//		inc := float32(c.LR*g[i]) / float32(math.Sqrt(float64(d)))
//		if mom != nil {
//			inc = float32(c.Momentum*mom[i]) + inc
//			mom[i] = inc
//		}
//		p[i] -= inc
//	}
//
//go:noescape
func rmspropAVX2(p, grad, ms, mg, mom *float32, n int, c RMSpropCoeffs)

// adagradAVX2 is the loop of adagradSerial over n elements (n a multiple
// of 8):
//
//	for i := 0; i < n; i++ {
//		a := acc[i] + float32(g[i]*g[i])
//		acc[i] = a
//		p[i] -= float32(lr*g[i]) / float32(math.Sqrt(float64(a+eps)))
//	}
//
//go:noescape
func adagradAVX2(p, grad, acc *float32, n int, lr, eps float32)

// archOptimImpls lists the assembly optimizer updates this CPU runs.
func archOptimImpls() []*optimImpl {
	if !hasAVX2FMA {
		return nil
	}
	return []*optimImpl{{name: "avx2", adam: adamVec, sgd: sgdVec, rmsprop: rmspropVec, adagrad: adagradVec}}
}

// optimPtr returns &x[0], or nil for an empty or nil x.
func optimPtr(x []float32) *float32 {
	if len(x) == 0 {
		return nil
	}
	return &x[0]
}

// adamVec is adamSerial with the assembly doing all but the last n%8
// elements.
func adamVec(p, g, m, v, vhat []float32, c AdamCoeffs) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	if vhat != nil {
		vhat = vhat[:n]
	}
	k := n &^ 7
	if k > 0 {
		adamAVX2(&p[0], &g[0], &m[0], &v[0], optimPtr(vhat), k, c, c.Decay != 0)
	}
	if k < n {
		adamSerial(p[k:], g[k:], m[k:], v[k:], optimSub(vhat, k, n), c)
	}
}

// sgdVec is sgdSerial with the assembly doing all but the last n%8
// elements.
func sgdVec(p, g, vel []float32, lr, momentum, decay float32, nesterov bool) {
	n := len(p)
	g = g[:n]
	mode := sgdPlain
	if vel != nil {
		vel = vel[:n]
		mode = sgdMomentum
		if nesterov {
			mode = sgdNesterov
		}
	}
	if decay != 0 {
		mode |= sgdDecay
	}
	k := n &^ 7
	if k > 0 {
		sgdAVX2(&p[0], &g[0], optimPtr(vel), k, lr, momentum, decay, mode)
	}
	if k < n {
		sgdSerial(p[k:], g[k:], optimSub(vel, k, n), lr, momentum, decay, nesterov)
	}
}

// rmspropVec is rmspropSerial with the assembly doing all but the last
// n%8 elements.
func rmspropVec(p, g, ms, mg, mom []float32, c RMSpropCoeffs) {
	n := len(p)
	g, ms = g[:n], ms[:n]
	if mg != nil {
		mg = mg[:n]
	}
	if mom != nil {
		mom = mom[:n]
	}
	k := n &^ 7
	if k > 0 {
		rmspropAVX2(&p[0], &g[0], &ms[0], optimPtr(mg), optimPtr(mom), k, c)
	}
	if k < n {
		rmspropSerial(p[k:], g[k:], ms[k:], optimSub(mg, k, n), optimSub(mom, k, n), c)
	}
}

// adagradVec is adagradSerial with the assembly doing all but the last
// n%8 elements.
func adagradVec(p, g, acc []float32, lr, eps float32) {
	n := len(p)
	g, acc = g[:n], acc[:n]
	k := n &^ 7
	if k > 0 {
		adagradAVX2(&p[0], &g[0], &acc[0], k, lr, eps)
	}
	if k < n {
		adagradSerial(p[k:], g[k:], acc[k:], lr, eps)
	}
}
