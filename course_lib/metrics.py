"""Metrics: mode coverage on the mixtures, MMD, the exact 1D Wasserstein-1, and nats to bits."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


def mode_coverage(samples, means, std: float, n_std: float = 3.0) -> tuple[int, float]:
    """(modes captured, high-quality fraction): the VEEGAN/PacGAN protocol.

    A sample is high quality if it lies within ``n_std`` standard deviations of its nearest
    mixture mean; a mode is captured if it is the nearest mean of at least one high-quality
    sample. The papers draw 2500 samples.
    """
    x = np.asarray(samples, np.float64).reshape(len(samples), -1)
    means = np.asarray(means, np.float64).reshape(len(means), -1)
    if x.shape[1] != means.shape[1]:
        raise ValueError(f"samples have dimension {x.shape[1]}, the means {means.shape[1]}")
    d = np.linalg.norm(x[:, None, :] - means[None], axis=-1)
    nearest, dist = d.argmin(1), d.min(1)
    good = np.isfinite(dist) & (dist < n_std * std)
    return int(len(np.unique(nearest[good]))), float(good.mean())


def mmd(x, y, bandwidths=(0.1, 0.5, 1.0, 2.0, 5.0)) -> float:
    """Unbiased squared maximum mean discrepancy with a sum of Gaussian kernels
    k(a, b) = sum_s exp(-|a - b|^2 / (2 s^2)) (Gretton et al. 2012, Eq. 3)."""
    x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    return float(_mmd(x.reshape(len(x), -1), y.reshape(len(y), -1), tuple(bandwidths)))


@partial(jax.jit, static_argnames="bandwidths")
def _mmd(x, y, bandwidths):
    # one program per shape: op by op, each of its ~20 operations compiled for every new
    # shape (150 of week16_gans' 559 compilations)
    def kernel(a, b):
        d2 = jnp.sum(a**2, 1)[:, None] + jnp.sum(b**2, 1)[None] - 2 * a @ b.T
        return sum(jnp.exp(-jnp.maximum(d2, 0) / (2 * s**2)) for s in bandwidths)

    n, m = len(x), len(y)
    kxx = (kernel(x, x).sum() - jnp.trace(kernel(x, x))) / (n * (n - 1))
    kyy = (kernel(y, y).sum() - jnp.trace(kernel(y, y))) / (m * (m - 1))
    return kxx + kyy - 2 * kernel(x, y).mean()


def wasserstein_1d(x, y) -> float:
    """W1 between two equal-size 1D samples: the mean |difference| of the sorted samples.

    (In 1D the optimal transport plan pairs the i-th smallest with the i-th smallest.)
    """
    x, y = np.sort(np.ravel(x)), np.sort(np.ravel(y))
    if len(x) != len(y):
        raise ValueError(f"samples must have equal sizes, got {len(x)} and {len(y)}")
    return float(np.mean(np.abs(x - y)))


LOG2 = float(np.log(2))


def nats_to_bits(nats):
    """nats / ln 2: the one conversion from nats to bits in the library."""
    return nats / LOG2


def bits_per_dim(nll_nats: float, dims: int) -> float:
    """Negative log-likelihood per example in nats -> bits per dimension: nats / (D ln 2)."""
    return float(nats_to_bits(nll_nats) / dims)
