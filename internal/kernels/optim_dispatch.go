package kernels

// optimImpl is one implementation of the serial optimizer updates, with the
// contracts of the reference loops in optim.go (adamSerial, sgdSerial,
// rmspropSerial, adagradSerial): same arguments, same length rules, and
// the same bits out for the same bits in. The exported updates call the
// first implementation in optimImpls, once per chunk of the worker pool's
// split; the tests run every implementation against the reference loops.
type optimImpl struct {
	name    string
	adam    func(p, g, m, v, vhat []float32, c AdamCoeffs)
	sgd     func(p, g, vel []float32, lr, momentum, decay float32, nesterov bool)
	rmsprop func(p, g, ms, mg, mom []float32, c RMSpropCoeffs)
	adagrad func(p, g, acc []float32, lr, eps float32)
}

// optimGo is the pure-Go implementation: the reference loops themselves.
var optimGo = &optimImpl{name: "go", adam: adamSerial, sgd: sgdSerial, rmsprop: rmspropSerial, adagrad: adagradSerial}

// optimImpls lists every implementation this build and CPU can run, best
// first (the AVX2 kernels of optim_amd64.s where the CPU has them).
var optimImpls = append(archOptimImpls(), optimGo)

// optimKernels is the implementation the updates use, chosen at start-up.
var optimKernels = optimImpls[0]
