"""FLOPs of one training or inference step, counted from what PyTorch dispatches.

Shared by bench/torch/twin.py and bench/torch_transformer.py, whose --flops give compare.py the
FLOPs per sample of every workload.
"""
import torch


def count_flops(step, samples):
    """FLOPs per sample of one call of step: 2·m·k·n per matrix product, 2·(outputs)·(inputs per
    output) per convolution and per gradient that convolution_backward computes."""
    from torch.utils._python_dispatch import TorchDispatchMode
    aten = torch.ops.aten

    def conv_flops(n, w):
        # PyTorch's weight is [Cout, Cin/groups, kh, kw] ([Cin, Cout/groups, kh, kw] transposed):
        # every output element reads Cin/groups·kh·kw inputs, every input element of a transposed
        # convolution feeds Cout/groups·kh·kw outputs; n counts those elements.
        return 2 * n * w[1] * w[2] * w[3]

    class Counter(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            f = func.overloadpacket
            if f in (aten.mm, aten.bmm):
                A, B = args[0].shape, args[1].shape
                Counter.total += 2 * A.numel() * B[-1]
            elif f in (aten.addmm, aten.baddbmm):
                A, B = args[1].shape, args[2].shape
                Counter.total += 2 * A.numel() * B[-1]
            elif f is aten.convolution:
                x, w, transposed = args[0], args[1], args[6]
                Counter.total += conv_flops((x if transposed else out).numel(), w.shape)
            elif f is aten.convolution_backward:
                g, x, w = args[0], args[1], args[2]
                transposed, mask = args[7], args[10]
                one = conv_flops((x if transposed else g).numel(), w.shape)
                Counter.total += one * (int(mask[0]) + int(mask[1]))
            return out

    with Counter():
        step()
    return Counter.total / samples
