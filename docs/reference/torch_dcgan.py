# Reference, not part of Strata: the PyTorch twin used to check the DCGAN score (see README).
# /usr/bin/python3 docs/reference/torch_dcgan.py MNIST_DIR 10 1 samples.npy
# strata score --images samples.npy --classifier runs/cnn-…
# PyTorch twin of `strata train --model dcgan`: the architecture, N(0, 0.02) init
# (BN weight N(1, 0.02) as in the PyTorch DCGAN tutorial), Adam 2e-4 beta1 0.5, batch 64,
# one D step and one G step per batch; saves 10,000 samples (G in eval mode) as .npy [n,28,28,1] in [0,1].
import gzip, sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
d, epochs, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(seed); torch.set_num_threads(2)
x = torch.tensor(np.frombuffer(gzip.open(d + '/train-images-idx3-ubyte.gz').read()[16:], np.uint8).reshape(-1, 1, 28, 28).astype(np.float32) / 255 * 2 - 1)
G = nn.Sequential(nn.Linear(100, 7 * 7 * 128, bias=False), nn.Unflatten(1, (128, 7, 7)), nn.BatchNorm2d(128), nn.ReLU(),
                  nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                  nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
                  nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
                  nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
def init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0, 0.02)
        if m.bias is not None: nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1, 0.02); nn.init.zeros_(m.bias)
G.apply(init); D.apply(init)
og = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
od = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
bs = 64; t = time.time()
for e in range(epochs):
    perm = torch.randperm(len(x)); sr = sf = n = 0
    for i in range(0, len(x), bs):
        real = x[perm[i:i+bs]]; b = len(real)
        ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)
        fake = G(torch.randn(b, 100))
        od.zero_grad(set_to_none=True)
        lr_, lf = D(real), D(fake.detach())
        (F.binary_cross_entropy_with_logits(lr_, ones) + F.binary_cross_entropy_with_logits(lf, zeros)).backward(); od.step()
        og.zero_grad(set_to_none=True)
        F.binary_cross_entropy_with_logits(D(fake), ones).backward(); og.step()
        sr += torch.sigmoid(lr_).sum().item(); sf += torch.sigmoid(lf).sum().item(); n += b
    print(f"epoch {e+1} D(x)={sr/n:.3f} D(G(z))={sf/n:.3f} {time.time()-t:.0f}s", flush=True)
G.eval()
with torch.no_grad():
    s = torch.cat([G(torch.randn(500, 100)) for _ in range(20)])
np.save(out, ((s + 1) / 2).permute(0, 2, 3, 1).numpy().astype(np.float32))
print("saved", out, s.shape)
