#!/usr/bin/python3
"""Writes the PyTorch-exported fixtures of the onnx package's import tests.

Run with Debian's PyTorch and ONNX (python3-torch, python3-onnx):

    /usr/bin/python3 onnx/testdata/gen_torch.py

For each model it writes onnx/testdata/torch/NAME/model.onnx (exported by
torch.onnx.export, opset 17, dynamic batch), input_0.pb and output_0.pb
(TensorProtos: a fixed input and PyTorch's output in eval mode). The Go tests
need no Python.
"""
import os

import torch
import torch.nn as nn
from onnx import numpy_helper

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch")


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(),
                                 nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10), nn.Softmax(dim=1))

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    """The seed's CNNNet: conv 32 → pool → conv 64 → pool → dense 128 → 10."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.head(self.features(x))


class RNNClassifier(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y[:, -1])


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.c2, self.b2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        return torch.relu(x + self.b2(self.c2(y)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.block1, self.block2 = Block(8), Block(8)
        self.down = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.down(self.block2(self.block1(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class Generator(nn.Module):
    """A small DCGAN generator: z [N, 16, 1, 1] → image [N, 1, 16, 16]."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(16, 32, 4, 1, 0, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.net(z)


class Depthwise(nn.Module):
    """Grouped and depthwise convolutions (MobileNet's building block)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(4, 8, 3, padding=1, groups=4), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 8, 3, groups=8), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 6, 1, groups=2), nn.Flatten(), nn.Linear(6 * 2 * 2, 3))

    def forward(self, x):
        return self.net(x)


def randomize_bn(m, g):
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.weight.data.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.bias.data.copy_(torch.randn(mod.num_features, generator=g) * 0.1)


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    models = {
        "mlp": (MLP(), [3, 1, 28, 28]),
        "cnn": (CNN(), [3, 1, 28, 28]),
        "lstm": (RNNClassifier(nn.LSTM), [3, 5, 8]),
        "gru": (RNNClassifier(nn.GRU), [3, 5, 8]),
        "resnet": (ResNet(), [2, 3, 16, 16]),
        "dcgan": (Generator(), [2, 16, 1, 1]),
        "depthwise": (Depthwise(), [2, 4, 8, 8]),
    }
    for name, (m, shape) in models.items():
        with torch.no_grad():
            randomize_bn(m, g)
        m.eval()
        x = torch.rand(*shape, generator=g)
        with torch.no_grad():
            y = m(x)
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        torch.onnx.export(m, x, os.path.join(d, "model.onnx"), opset_version=17,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        for fn, t in (("input_0.pb", x), ("output_0.pb", y)):
            with open(os.path.join(d, fn), "wb") as f:
                f.write(numpy_helper.from_array(t.numpy()).SerializeToString())
        print(name, tuple(x.shape), "->", tuple(y.shape))


if __name__ == "__main__":
    main()
