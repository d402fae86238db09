"""The simplest model of all: a diagonal Gaussian fitted by maximum likelihood, the baseline
every likelihood in the course is compared against."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from course_lib.config import setting
from course_lib.gaussian import normal_log_prob


@dataclass(frozen=True)
class GaussianConfig:
    """p(x) = prod_i N(x_i; mu_i, sigma_i^2) on vectors; the optimizer is Adam(lr)."""

    data_dim: int = setting(help="numbers per example", from_data=True)
    lr: float = setting(1e-2, "Adam learning rate")


class DiagonalGaussian(nnx.Module):
    """p(x) = prod_i N(x_i; mu_i, sigma_i^2), sigma = exp(log_sigma)."""

    def __init__(self, config: GaussianConfig):
        self.config = config
        self.mu = nnx.Param(jnp.zeros(config.data_dim))
        self.log_sigma = nnx.Param(jnp.zeros(config.data_dim))

    def log_prob(self, x: jax.Array) -> jax.Array:
        """log p(x) in nats, one value per example."""
        x = x.reshape(x.shape[0], -1)
        return normal_log_prob(x, self.mu[...], jnp.exp(2 * self.log_sigma[...])).sum(1)

    def sample(self, key, n: int) -> jax.Array:
        eps = jax.random.normal(key, (n, self.config.data_dim))
        return self.mu[...] + jnp.exp(self.log_sigma[...]) * eps


def init(config: GaussianConfig, seed: int = 0):
    """(model, optimizer); the model starts at N(0, I) whatever the seed."""
    model = DiagonalGaussian(config)
    return model, nnx.Optimizer(model, optax.adam(config.lr), wrt=nnx.Param)


def train_step(model, optimizer, x, key):
    """One Adam step on the negative log-likelihood of the batch."""
    loss, grads = nnx.value_and_grad(lambda m: -m.log_prob(x).mean())(model)
    optimizer.update(model, grads)
    return {"loss": loss}


# ------------------------------------------- the baselines `evaluate` prints beside a model
# Plain NumPy/SciPy, fitted in closed form: a Gaussian (maximum likelihood) and a kernel
# density estimate whose one bandwidth is chosen on held-out rows. On quantized data each is
# discretised as the model is: the probability of the value's bin, not a density.


def _log_bin_mass(x, centre, scale, grid):
    """log P(bin of x) per dimension under N(centre, scale^2): the bins of a grid of values
    ``grid = (levels, low, high)`` are [v - d/2, v + d/2], the outer two open to infinity."""
    from scipy.special import log_ndtr

    levels, low, high = grid
    half = (high - low) / (levels - 1) / 2
    a = np.where(x <= low + half / 2, -np.inf, (x - half - centre) / scale)
    b = np.where(x >= high - half / 2, np.inf, (x + half - centre) / scale)
    # log(Phi(b) - Phi(a)), on the side of 0 where the subtraction keeps its digits
    flip = a > 0
    a, b = np.where(flip, -b, a), np.where(flip, -a, b)
    lb, la = log_ndtr(b), log_ndtr(a)
    return lb + np.log1p(-np.exp(np.minimum(la - lb, -1e-300)))


def gaussian_bits(train, test, grid=None) -> np.ndarray:
    """-log2 p(x) per test example under the Gaussian fitted to ``train`` (full covariance;
    diagonal, integrated over each value's bin, on a ``grid`` of quantized values)."""
    train = np.asarray(train, np.float64).reshape(len(train), -1)
    test = np.asarray(test, np.float64).reshape(len(test), -1)
    mean = train.mean(0)
    if grid is not None:
        std = np.maximum(train.std(0), (grid[2] - grid[1]) / (grid[0] - 1) / 4)  # a constant
        # dimension: a quarter of a bin, so that another value is improbable, not impossible
        return -_log_bin_mass(test, mean, std, grid).sum(1) / np.log(2)
    cov = np.cov(train, rowvar=False).reshape(train.shape[1], -1)
    cov += 1e-9 * np.trace(cov) / len(cov) * np.eye(len(cov))
    _, logdet = np.linalg.slogdet(cov)
    d = test - mean
    maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
    return 0.5 * (maha + logdet + len(cov) * np.log(2 * np.pi)) / np.log(2)


def kde_bits(train, test, bandwidth: float, grid=None, chunk: int = 256) -> np.ndarray:
    """-log2 p(x) per test example under the Gaussian KDE on ``train`` with an isotropic
    ``bandwidth``: p(x) = mean_i N(x; x_i, h^2 I) (on a ``grid``: each kernel's bin mass)."""
    from scipy.special import logsumexp

    train = np.asarray(train, np.float64).reshape(len(train), -1)
    test = np.asarray(test, np.float64).reshape(len(test), -1)
    out = []
    if grid is not None:  # every (value, centre) pair is a pair of levels: tabulate them
        levels, low, high = grid
        values = np.linspace(low, high, levels)
        table = _log_bin_mass(values[:, None], values[None, :], bandwidth, grid)
        step = (high - low) / (levels - 1)
        test, train = (np.clip(np.round((a - low) / step), 0, levels - 1).astype(np.int32)
                       for a in (test, train))
        chunk = max(1, 2**22 // (len(train) * train.shape[1]))
    for i in range(0, len(test), chunk):
        x = test[i:i + chunk, None, :]
        if grid is not None:
            log_k = table[x, train[None]].sum(-1)
        else:
            d2 = ((x - train[None]) ** 2).sum(-1)
            log_k = -0.5 * d2 / bandwidth**2 - train.shape[1] * np.log(
                np.sqrt(2 * np.pi) * bandwidth)
        out.append(logsumexp(log_k, axis=1) - np.log(len(train)))
    return -np.concatenate(out) / np.log(2)


def kde_bandwidth(train, val, grid=None, candidates: int = 24) -> float:
    """The bandwidth, among ``candidates`` log-spaced from 1/1000 to 2 of the data's mean
    standard deviation, whose KDE on ``train`` gives ``val`` the fewest bits."""
    train = np.asarray(train, np.float64).reshape(len(train), -1)
    scale = float(np.mean(train.std(0))) or 1.0
    hs = scale * np.geomspace(1e-3, 2.0, candidates)
    bits = [kde_bits(train, val, h, grid).mean() for h in hs]
    return float(hs[int(np.nanargmin(bits))])


def baseline_bits(train, val, test, grid=None, model_bits=None) -> dict[str, float]:
    """Bits per example of ``test`` (mean and its error bar over the test examples) under the
    Gaussian and the KDE (bandwidth chosen on ``val``), both fitted to ``train``. Given the
    model's bits on each test example, ``{name}_minus_model`` and its error bar: the paired
    difference (positive: the model codes the data in fewer bits), whose error bar is far
    smaller than either figure's when the examples differ more than the models do."""
    h = kde_bandwidth(train, val, grid)
    out = {"kde_bandwidth": h}
    for name, bits in (("gaussian", gaussian_bits(train, test, grid)),
                       ("kde", kde_bits(train, test, h, grid))):
        out[f"{name}_bits_per_example"] = float(bits.mean())
        out[f"{name}_stderr_bits_per_example"] = float(bits.std(ddof=1) / np.sqrt(len(bits)))
        if model_bits is not None:
            diff = bits - np.asarray(model_bits, np.float64)
            out[f"{name}_minus_model"] = float(diff.mean())
            out[f"{name}_minus_model_stderr"] = float(diff.std(ddof=1) / np.sqrt(len(diff)))
    return out
