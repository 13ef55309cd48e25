package onnx

import (
	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Import-time rewrites that make an imported graph run like a native
// Strata model:
//
//   - a weight used only as the kernel of Conv (or ConvTranspose) nodes is
//     held in Strata's layout [KH, KW, C, F] (ConvTranspose [KH, KW, F, C]),
//     and a weight used only as Gemm's B with transB = 1 (PyTorch's Linear)
//     as [in, out], so no op transposes weights at run time; the
//     parameters the optimizer updates are these, and Save writes them
//     back in ONNX's layout;
//   - Conv → Relu and Gemm → Relu run as one op with the activation fused,
//     and Conv → Relu → MaxPool as Strata's fused convolution-pooling op.

// Weight layouts (value.layout).
const (
	layoutFile   = iota // as in the file
	layoutKernel        // conv kernel permuted by (2, 3, 1, 0)
	layoutT             // matrix transposed
)

// fusion records what a node absorbed from the nodes after it.
type fusion struct {
	relu bool  // apply ReLU
	pool *node // a MaxPool fused after the ReLU
	skip bool  // this node was absorbed: its output aliases its input
}

// optimize rewrites weight layouts and marks fusions (after prepare).
func (m *Model) optimize(outputs map[string]bool) {
	users := map[string][]*node{}
	for _, n := range m.nodes {
		for _, in := range n.in {
			users[in] = append(users[in], n)
		}
	}
	// weight layouts
	for name, v := range m.consts {
		us := users[name]
		if len(us) == 0 || v.dt != tFloat || outputs[name] {
			continue
		}
		kernel, gemmT := true, true
		for _, u := range us {
			onlyW := len(u.in) > 1 && u.in[1] == name && (len(u.in) < 3 || u.in[2] != name) && u.in[0] != name
			kernel = kernel && onlyW && (u.op == "Conv" || u.op == "ConvTranspose") && v.v.Value.Rank() == 4
			gemmT = gemmT && onlyW && u.op == "Gemm" && attrInt(u, "transB") == 1 && v.v.Value.Rank() == 2
		}
		switch {
		case kernel:
			v.v.Value = tensor.Transpose(v.v.Value, 2, 3, 1, 0)
			v.layout = layoutKernel
		case gemmT:
			v.v.Value = tensor.Transpose(v.v.Value, 1, 0)
			v.layout = layoutT
		}
	}
	// fusions
	single := func(out string) *node {
		if outputs[out] || len(users[out]) != 1 {
			return nil
		}
		return users[out][0]
	}
	for _, n := range m.nodes {
		if (n.op != "Conv" && n.op != "Gemm") || len(n.out) != 1 || n.fuse.skip {
			continue
		}
		r := single(n.out[0])
		if r == nil || r.op != "Relu" {
			continue
		}
		n.fuse.relu = true
		r.fuse.skip = true
		if n.op != "Conv" {
			continue
		}
		if p := single(r.out[0]); p != nil && p.op == "MaxPool" && len(p.out) == 1 && attrInt(p, "ceil_mode") == 0 &&
			zeros(p.attrs["pads"].GetInts()) && autoPad(p) == "NOTSET" && len(p.attrs["dilations"].GetInts()) == 0 {
			n.fuse.pool = p
			p.fuse.skip = true
		}
	}
}

func attrInt(n *node, name string) int64 {
	if a, ok := n.attrs[name]; ok {
		return a.GetI()
	}
	return 0
}

func autoPad(n *node) string {
	if a, ok := n.attrs["auto_pad"]; ok && string(a.GetS()) != "" {
		return string(a.GetS())
	}
	return "NOTSET"
}

// kernelOf returns a Conv/ConvTranspose weight in Strata's layout.
func kernelOf(w *value) *autograd.Var {
	if w.layout == layoutKernel {
		return w.v
	}
	return autograd.Transpose(L(w), 2, 3, 1, 0)
}

// fusedAct is the activation a node absorbed.
func (c *opCtx) fusedAct() autograd.Activation {
	if c.n.fuse.relu {
		return autograd.Act(tensor.OpRelu, 0)
	}
	return autograd.Activation{}
}

// storedTensor returns an initializer's data in the file's layout.
func storedTensor(v *value) *tensor.Tensor {
	switch v.layout {
	case layoutKernel:
		return tensor.Transpose(v.v.Value, 3, 2, 0, 1)
	case layoutT:
		return tensor.Transpose(v.v.Value, 1, 0)
	}
	return v.v.Value
}

func zeros(v []int64) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
