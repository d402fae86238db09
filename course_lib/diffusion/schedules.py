"""Noise schedules: beta_t, alpha_bar_t, SNR(t) and gamma(t) = -log SNR(t).

Time steps t = 1..T; ``betas[t-1]`` is beta_t, ``alpha_bar(betas)[t-1]`` is
alpha_bar_t = prod_{s<=t} (1 - beta_s), and alpha_bar_0 = 1. Equation numbers refer to Luo,
"Understanding diffusion models: a unified perspective" (arXiv 2208.11970).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx


def check_betas(betas) -> np.ndarray:
    """Reject schedules that do not define a diffusion: each beta_t in (0, 1)."""
    betas = np.asarray(betas, np.float64)
    if betas.ndim != 1 or len(betas) < 1:
        raise ValueError(f"betas must be a 1D array of length T >= 1, got shape {betas.shape}")
    if not np.all((betas > 0) & (betas < 1)):
        raise ValueError(f"every beta_t must lie in (0, 1); got min {betas.min():.3g}, "
                         f"max {betas.max():.3g}")
    return betas


def linear_betas(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> np.ndarray:
    """DDPM (Ho et al. 2020): beta_t linear from 1e-4 to 0.02 over T = 1000 steps."""
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    return check_betas(np.linspace(beta_1, beta_T, T))


def cosine_betas(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Nichol and Dhariwal (2021): alpha_bar_t = cos^2((t/T + s)/(1 + s) pi/2) / (same at 0)."""
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
    return check_betas(np.clip(1 - f[1:] / f[:-1], 1e-8, max_beta))


def alpha_bar(betas) -> np.ndarray:
    """alpha_bar_t = prod_{s=1}^t (1 - beta_s), t = 1..T."""
    return np.cumprod(1 - check_betas(betas))


def snr(alpha_bar_t):
    """SNR(t) = alpha_bar_t / (1 - alpha_bar_t) (Eq. 108); it must fall with t."""
    return alpha_bar_t / (1 - alpha_bar_t)


def gamma_from_alpha_bar(alpha_bar_t):
    """gamma(t) = -log SNR(t) (VDM): sigma_t^2 = sigmoid(gamma), alpha_t^2 = sigmoid(-gamma)."""
    return np.log1p(-alpha_bar_t) - np.log(alpha_bar_t)


def check_snr_decreasing(alpha_bar_t) -> None:
    s = snr(np.asarray(alpha_bar_t))
    if not np.all(np.diff(s) < 0):
        raise ValueError("the signal-to-noise ratio must decrease strictly with t; "
                         f"it rises at t = {int(np.argmax(np.diff(s) >= 0)) + 2}")


class LearnedGamma(nnx.Module):
    """VDM's learned schedule: gamma(t) monotone increasing from gamma_min to gamma_max.

    gamma(t) = gamma_min + (gamma_max - gamma_min) (g(t) - g(0)) / (g(1) - g(0)), where g is
    a small network with positive weights (softplus) and monotone activations, so that g is
    increasing in t. The end points are trainable too (initialised at -13.3 and 5).
    """

    def __init__(self, hidden: int = 32, gamma_min: float = -13.3, gamma_max: float = 5.0, *,
                 rngs: nnx.Rngs):
        init = jax.nn.initializers.normal(1.0)
        self.w1 = nnx.Param(init(rngs.params(), (1,)))
        self.w2 = nnx.Param(init(rngs.params(), (1, hidden)))
        self.w3 = nnx.Param(init(rngs.params(), (hidden,)))
        self.b2 = nnx.Param(jnp.zeros(hidden))
        self.gamma_min = nnx.Param(jnp.array(gamma_min))
        self.gamma_max = nnx.Param(jnp.array(gamma_max))

    def _g(self, t):
        pos = jax.nn.softplus
        l1 = t * pos(self.w1[...])[0]
        l2 = jax.nn.sigmoid(l1[..., None] * pos(self.w2[...])[0] + self.b2[...])
        return l1 + l2 @ pos(self.w3[...]) / self.w3.shape[0]

    def __call__(self, t):
        g0, g1 = self._g(jnp.zeros(())), self._g(jnp.ones(()))
        return self.gamma_min[...] + (self.gamma_max[...] - self.gamma_min[...]) * (
            (self._g(t) - g0) / (g1 - g0))


class LinearGamma(nnx.Module):
    """A fixed schedule linear in gamma = -log SNR, from gamma_min to gamma_max."""

    def __init__(self, gamma_min: float = -13.3, gamma_max: float = 5.0):
        self.gamma_min, self.gamma_max = gamma_min, gamma_max

    def __call__(self, t):
        return self.gamma_min + (self.gamma_max - self.gamma_min) * t


def log_snr_betas(T: int, gamma_1: float, gamma_T: float) -> np.ndarray:
    """beta_t for gamma_t = -log SNR(t) linear from gamma_1 to gamma_T: alpha_bar_t =
    sigmoid(-gamma_t), beta_t = 1 - alpha_bar_t / alpha_bar_{t-1} (alpha_bar_0 = 1), so the
    first step's noise is sqrt(beta_1) = sqrt(sigmoid(gamma_1)). The discrete counterpart of
    VDM's schedule; equal steps in gamma make L_simple at uniform t the ELBO's own weighting."""
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    if not gamma_1 < gamma_T:
        raise ValueError(f"gamma_1 must be below gamma_T, got {gamma_1} and {gamma_T}")
    ab = 1 / (1 + np.exp(np.linspace(gamma_1, gamma_T, T)))
    return check_betas(1 - ab / np.concatenate([[1.0], ab[:-1]]))
