"""The PyTorch eager programs students would otherwise run, one training step at a time.

    python bench_torch.py {raschka_gan,ddpm,wgan_gp} SECONDS [THREADS]

Written in the usual PyTorch style (nn.Module, zero_grad / backward / step per batch, data in
a CPU tensor), with the sizes of REFERENCE.md and the architecture of the course_lib models
in bench_jax.py. THREADS: 0 (default) leaves torch at its own default thread count (one per
core); 1 runs single-threaded. Prints one JSON line: steps per second over about SECONDS
after a warm-up, and the cores the process kept busy (CPU time / wall time). Runs on the CPU
in a Python 3.11 venv with torch 2.13.0 (see the Makefile's bench target).
"""

import json
import math
import sys
import time

import torch
from torch import nn

torch.manual_seed(0)


class RaschkaGAN:
    """Raschka et al. ch. 17: z of 20 uniform on [-1, 1], 784-pixel images in [-1, 1], batch 64.

    D's first layer has a bias here (Raschka's has none) because course_lib's MLP always has
    one: 100 extra additions per example, so the two programs are the same network.
    """

    def __init__(self):
        self.G = nn.Sequential(nn.Linear(20, 100), nn.LeakyReLU(0.01), nn.Linear(100, 784),
                               nn.Tanh())
        self.D = nn.Sequential(nn.Linear(784, 100), nn.LeakyReLU(0.01),
                               nn.Dropout(0.5), nn.Linear(100, 1), nn.Sigmoid())
        self.opt_g = torch.optim.Adam(self.G.parameters(), 1e-3)
        self.opt_d = torch.optim.Adam(self.D.parameters(), 1e-3)
        self.loss = nn.BCELoss()
        self.data = torch.rand(60_000, 784) * 2 - 1  # MNIST-sized images, scaled to [-1, 1]

    def step(self):
        x = self.data[torch.randint(0, len(self.data), (64,))]
        ones, zeros = torch.ones(64, 1), torch.zeros(64, 1)
        z = torch.rand(64, 20) * 2 - 1
        self.opt_d.zero_grad()
        d_loss = self.loss(self.D(x), ones) + self.loss(self.D(self.G(z).detach()), zeros)
        d_loss.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        g_loss = self.loss(self.D(self.G(torch.rand(64, 20) * 2 - 1)), ones)
        g_loss.backward()
        self.opt_g.step()


class FourierMLP(nn.Module):
    """eps_hat(x_t, t): an MLP on [x, sin/cos Fourier features of t], as course_lib.nets.TimeMLP."""

    def __init__(self, dim=2, hidden=256, depth=3, features=32):
        super().__init__()
        self.w = nn.Parameter(4.0 * torch.randn(features // 2), requires_grad=False)
        layers, width = [], dim + features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, dim))

    def forward(self, x, t):
        angle = 2 * math.pi * t[:, None] * self.w
        return self.net(torch.cat([x, torch.sin(angle), torch.cos(angle)], -1))


class DDPM:
    """Ho et al. 2020 on 2D data: T = 1000, linear betas, noise prediction, batch 256."""

    def __init__(self):
        self.model = FourierMLP()
        self.opt = torch.optim.Adam(self.model.parameters(), 1e-3)
        self.alpha_bar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), 0)

    def step(self):
        x0 = torch.randn(256, 2)
        t = torch.randint(1, 1001, (256,))
        ab = self.alpha_bar[t - 1][:, None]
        eps = torch.randn_like(x0)
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        self.opt.zero_grad()
        loss = ((self.model(x_t, t / 1000) - eps) ** 2).sum(-1).mean()
        loss.backward()
        self.opt.step()


def mlp(d_in, d_out, act, width=512, depth=3):
    layers, w = [], d_in
    for _ in range(depth):
        layers += [nn.Linear(w, width), act()]
        w = width
    return nn.Sequential(*layers, nn.Linear(w, d_out))


class WGANGP:
    """Gulrajani et al. toy setup: 3x512 MLPs, 5 critic steps, batch 256, Adam 1e-4
    (0.5, 0.9), lambda 0.1, on the 8-Gaussian ring. The generator uses ReLU and the critic
    LeakyReLU(0.2), as course_lib.gan does."""

    def __init__(self):
        self.G, self.C = mlp(2, 2, nn.ReLU), mlp(2, 1, lambda: nn.LeakyReLU(0.2))
        self.opt_g = torch.optim.Adam(self.G.parameters(), 1e-4, betas=(0.5, 0.9))
        self.opt_c = torch.optim.Adam(self.C.parameters(), 1e-4, betas=(0.5, 0.9))
        angles = 2 * math.pi * torch.arange(8) / 8
        self.means = torch.stack([torch.cos(angles), torch.sin(angles)], 1)

    def real(self, n):
        return self.means[torch.randint(0, 8, (n,))] + 0.01 * torch.randn(n, 2)

    def step(self):
        for _ in range(5):
            x, fake = self.real(256), self.G(torch.randn(256, 2)).detach()
            eps = torch.rand(256, 1)
            x_hat = (eps * x + (1 - eps) * fake).requires_grad_(True)
            grad, = torch.autograd.grad(self.C(x_hat).sum(), x_hat, create_graph=True)
            gp = ((grad.norm(dim=1) - 1) ** 2).mean()
            self.opt_c.zero_grad()
            loss = self.C(fake).mean() - self.C(x).mean() + 0.1 * gp
            loss.backward()
            self.opt_c.step()
        self.opt_g.zero_grad()
        g_loss = -self.C(self.G(torch.randn(256, 2))).mean()
        g_loss.backward()
        self.opt_g.step()


MODELS = {"raschka_gan": RaschkaGAN, "ddpm": DDPM, "wgan_gp": WGANGP}
WARMUP = {"raschka_gan": 20, "ddpm": 20, "wgan_gp": 3}

if __name__ == "__main__":
    name, seconds = sys.argv[1], float(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if threads:
        torch.set_num_threads(threads)
    model = MODELS[name]()
    for _ in range(WARMUP[name]):
        model.step()
    n, t0, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        model.step()
        n += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(json.dumps({"steps_per_s": n / wall, "cores_busy": cpu / wall,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))
