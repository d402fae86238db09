"""Baselines on continuous data, and the trainable diagonal Gaussian of the command line.

Each ``*_bits`` function fits on the training rows alone (closed form or EM, every choice
made on training rows) and returns -log2 p(x) per scored row, for paired differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from course_lib.config import setting
from course_lib.normal import normal_log_prob


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


# ----------------------------------------------- closed-form baselines on continuous data


def _rows(x) -> np.ndarray:
    return np.asarray(x, np.float64).reshape(len(x), -1)


def gaussian_bits(train, test) -> np.ndarray:
    """-log2 N(x; mean, cov) per test row, mean and full covariance by maximum likelihood."""
    train, test = _rows(train), _rows(test)
    return -_gaussian_log_prob(test, train.mean(0), _covariance(train)) / np.log(2)


def _covariance(x, weights=None) -> np.ndarray:
    """The (weighted) maximum-likelihood covariance, with a ridge of 1e-9 of its mean variance
    (1e-6 of the data's for a mixture component) so that it can be inverted."""
    w = np.full(len(x), 1 / len(x)) if weights is None else weights / weights.sum()
    d = x - w @ x
    cov = (d * w[:, None]).T @ d
    return cov + 1e-9 * max(np.trace(cov) / len(cov), 1e-12) * np.eye(len(cov))


def _gaussian_log_prob(x, mean, cov) -> np.ndarray:
    chol = np.linalg.cholesky(cov)
    sol = np.linalg.solve(chol, (x - mean).T)
    return -0.5 * ((sol**2).sum(0) + len(cov) * np.log(2 * np.pi)) - np.log(np.diag(chol)).sum()


def _squared_distances(train, test, chunk=512):
    """Blocks of ||x - x_i||^2, ``chunk`` test rows at a time."""
    for i in range(0, len(test), chunk):
        yield i, ((test[i:i + chunk, None, :] - train[None]) ** 2).sum(-1)


def _kde_log_prob(train, test, h, leave_one_out=False, blocks=None) -> np.ndarray:
    """log mean_i N(x; x_i, h^2 I) per test row (nats); ``leave_one_out``: test is train and
    row i is scored without its own kernel. ``blocks``: the squared distances, if known."""
    from scipy.special import logsumexp

    n, d = train.shape
    out = []
    for i, d2 in blocks or _squared_distances(train, test):
        log_k = -0.5 * d2 / h**2 - d * np.log(np.sqrt(2 * np.pi) * h)
        if leave_one_out:
            log_k[np.arange(len(log_k)), i + np.arange(len(log_k))] = -np.inf
        out.append(logsumexp(log_k, axis=1) - np.log(n - leave_one_out))
    return np.concatenate(out)


def kde_bandwidth(train, candidates: int = 24) -> float:
    """The isotropic bandwidth, among ``candidates`` log-spaced from 1/1000 to 2 of the data's
    mean standard deviation, that maximises the leave-one-out likelihood of the training rows
    (each scored by the kernels of the others). Only training rows are used."""
    train = _rows(train)
    scale = float(np.mean(train.std(0))) or 1.0
    hs = scale * np.geomspace(1e-3, 2.0, candidates)
    # the distances once for every candidate, where they fit in 256 MB (2000 rows: 32 MB)
    blocks = list(_squared_distances(train, train)) if len(train) ** 2 <= 2**25 else None
    scores = [_kde_log_prob(train, train, h, leave_one_out=True, blocks=blocks).mean()
              for h in hs]
    return float(hs[int(np.nanargmax(scores))])


def kde_bits(train, test, bandwidth: float | None = None) -> np.ndarray:
    """-log2 p(x), p(x) = mean_i N(x; x_i, h^2 I), h by :func:`kde_bandwidth` unless given."""
    train, test = _rows(train), _rows(test)
    h = kde_bandwidth(train) if bandwidth is None else bandwidth
    return -_kde_log_prob(train, test, h) / np.log(2)


def gaussian_mixture_fit(train, k: int, *, iterations: int = 200, seed: int = 0):
    """(log weights, means, covariances) of a ``k``-component full-covariance Gaussian
    mixture fitted by EM from responsibilities drawn at random (``seed``); each covariance
    gets a ridge of 1e-6 of the data's mean variance, so no component collapses on a row."""
    from scipy.special import logsumexp

    x = _rows(train)
    ridge = 1e-6 * np.mean(x.var(0)) * np.eye(x.shape[1])
    resp = np.random.default_rng(seed).dirichlet(np.ones(k), len(x))
    previous = -np.inf
    for _ in range(iterations):
        w = resp.sum(0) + 1e-12
        means = (resp.T @ x) / w[:, None]
        covs = np.stack([_covariance(x, resp[:, j] + 1e-12) + ridge for j in range(k)])
        joint = np.stack([_gaussian_log_prob(x, means[j], covs[j]) for j in range(k)], 1)
        joint += np.log(w / len(x))
        total = logsumexp(joint, axis=1, keepdims=True)
        resp = np.exp(joint - total)
        if total.mean() - previous < 1e-6:
            break
        previous = total.mean()
    return np.log(w / len(x)), means, covs


def gaussian_mixture_bits(train, test, k: int | None = None, candidates=(1, 2, 4, 8, 16),
                          seed: int = 0) -> np.ndarray:
    """-log2 p(x) per test row under a Gaussian mixture fitted by EM on ``train``; ``k`` (if
    not given) is the candidate whose mixture fitted on a random 80 % of the training rows
    gives the other 20 % the most likelihood."""
    from scipy.special import logsumexp

    train, test = _rows(train), _rows(test)

    def log_prob(x, fitted):
        log_w, means, covs = fitted
        return logsumexp(np.stack([_gaussian_log_prob(x, m, c) for m, c in zip(means, covs)], 1)
                         + log_w, axis=1)

    if k is None:
        perm = np.random.default_rng(seed).permutation(len(train))
        cut = int(0.8 * len(train))
        fit_rows, val_rows = train[perm[:cut]], train[perm[cut:]]
        scores = [log_prob(val_rows, gaussian_mixture_fit(fit_rows, c, seed=seed)).mean()
                  for c in candidates]
        k = int(candidates[int(np.argmax(scores))])
    return -log_prob(test, gaussian_mixture_fit(train, k, seed=seed)) / np.log(2)


CONTINUOUS_BASELINES = {"gaussian": gaussian_bits, "kde": kde_bits,
                        "mixture": gaussian_mixture_bits}
