"""The PyTorch eager programs students would otherwise run, one training step at a time.

    python bench_torch.py MODEL SECONDS [THREADS]   (MODEL: the names of bench_jax.py)

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


class Ring:
    """The 8-Gaussian ring: means on the unit circle at angles 2 pi k / 8, std 0.01."""

    def __init__(self):
        angles = 2 * math.pi * torch.arange(8) / 8
        self.means = torch.stack([torch.cos(angles), torch.sin(angles)], 1)

    def sample(self, n):
        return self.means[torch.randint(0, 8, (n,))] + 0.01 * torch.randn(n, 2)


class ModeGAN:
    """Week 16's mode table, five seeds: for each seed its own G and D (3x128; G ReLU, D
    LeakyReLU 0.2), Adam 1e-3 (0.5, 0.999), batch 512, the non-saturating loss. A student
    loops over the seeds; one step here is one step of every seed, as in bench_jax.py."""

    def __init__(self, seeds=5):
        self.ring, self.runs = Ring(), []
        for seed in range(seeds):
            torch.manual_seed(seed)
            G, D = mlp(2, 2, nn.ReLU, width=128), mlp(2, 1, lambda: nn.LeakyReLU(0.2), width=128)
            self.runs.append((G, D, torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999)),
                              torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999))))
        self.bce = nn.BCEWithLogitsLoss()

    def step(self):
        ones, zeros = torch.ones(512, 1), torch.zeros(512, 1)
        for G, D, opt_g, opt_d in self.runs:
            x, fake = self.ring.sample(512), G(torch.randn(512, 2)).detach()
            opt_d.zero_grad()
            d_loss = self.bce(D(x), ones) + self.bce(D(fake), zeros)
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            g_loss = self.bce(D(G(torch.randn(512, 2))), ones)
            g_loss.backward()
            opt_g.step()


class DStar:
    """Week 16's D* check: D (1-64-64-1, LeakyReLU 0.2) alone, data N(2, 0.5^2) against a
    frozen p_g = N(0, 1), batch 512, Adam 3e-3 (0.5, 0.999)."""

    def __init__(self):
        self.D = mlp(1, 1, lambda: nn.LeakyReLU(0.2), width=64, depth=2)
        self.opt = torch.optim.Adam(self.D.parameters(), 3e-3, betas=(0.5, 0.999))
        self.bce = nn.BCEWithLogitsLoss()

    def step(self):
        x, fake = 2.0 + 0.5 * torch.randn(512, 1), torch.randn(512, 1)
        self.opt.zero_grad()
        loss = self.bce(self.D(x), torch.ones(512, 1)) + self.bce(self.D(fake), torch.zeros(512, 1))
        loss.backward()
        self.opt.step()


def moons(n, noise=0.05):
    """Two interleaving half circles (sklearn's make_moons), shifted and scaled as
    course_lib.data's."""
    t = math.pi * torch.rand(n)
    upper = torch.rand(n) < 0.5
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    return torch.stack([x, y], 1) + noise * torch.randn(n, 2)


class MoonsDDPM:
    """Week 17's moons DDPM: T = 100, betas linear 1e-3 to 0.2, eps-prediction by a 3x128
    SiLU MLP on [x, 32 Fourier features of t], trained on the negative ELBO (the diffusion
    term at one t ~ U{2..T} with SNR weights, the reconstruction at t = 1, the prior KL),
    batch 256, Adam 1e-3: course_lib.diffusion.DDPM with loss="elbo"."""

    def __init__(self, T=100):
        self.T, self.model = T, FourierMLP(hidden=128)
        self.opt = torch.optim.Adam(self.model.parameters(), 1e-3)
        self.ab = torch.cumprod(1 - torch.linspace(1e-3, 0.2, T), 0)
        self.ab_prev = torch.cat([torch.ones(1), self.ab[:-1]])

    def x0_hat(self, x_t, t, ab):
        eps_hat = self.model(x_t, t / self.T)
        return (x_t - (1 - ab).sqrt() * eps_hat) / ab.sqrt()

    def step(self):
        x0, n = moons(256), 256
        t = torch.randint(2, self.T + 1, (n,))
        ab, ab_prev = self.ab[t - 1][:, None], self.ab_prev[t - 1][:, None]
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * torch.randn(n, 2)
        snr_drop = ab_prev / (1 - ab_prev) - ab / (1 - ab)
        error = ((x0 - self.x0_hat(x_t, t, ab)) ** 2).sum(-1)
        diffusion = (self.T - 1) * 0.5 * snr_drop[:, 0] * error
        ab1, ones = self.ab[0], torch.ones(n, dtype=torch.long)
        x_1 = ab1.sqrt() * x0 + (1 - ab1).sqrt() * torch.randn(n, 2)
        mean, std = self.x0_hat(x_1, ones, ab1), (1 - ab1).sqrt()
        reconstruction = -torch.distributions.Normal(mean, std).log_prob(x0).sum(-1)
        abT = self.ab[-1]
        prior = 0.5 * (abT * x0 ** 2 + (1 - abT) - 1 - torch.log(1 - abT)).sum(-1)
        self.opt.zero_grad()
        loss = (diffusion + reconstruction + prior).mean()
        loss.backward()
        self.opt.step()


MODELS = {"raschka_gan": RaschkaGAN, "ddpm": DDPM, "wgan_gp": WGANGP, "mode_gan": ModeGAN,
          "d_star": DStar, "moons_ddpm": MoonsDDPM}
WARMUP = {"raschka_gan": 20, "ddpm": 20, "wgan_gp": 3, "mode_gan": 5, "d_star": 50,
          "moons_ddpm": 50}

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
