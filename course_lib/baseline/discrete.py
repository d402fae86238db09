"""Baselines on quantized data: properly normalised distributions over a grid of values.

Every function takes the training rows and the rows to score (arrays of values on the grid
``(levels, low, high)``: ``levels`` evenly spaced values from ``low`` to ``high``) and returns
-log2 p(x) per scored row, so that two models can be compared row by row (paired
differences). Every choice a baseline makes (a bandwidth, a number of components) is made on
the training rows alone: a row's bits depend on the training rows and on that row only.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_ndtr, logsumexp

LOG2 = np.log(2.0)


def to_levels(x, grid) -> np.ndarray:
    """(n, D) integer level indices 0..levels-1 of the values ``x`` (any shape (n, ...))."""
    levels, low, high = grid
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    return np.clip(np.round((x - low) / (high - low) * (levels - 1)), 0, levels - 1).astype(int)


def _one_hot(idx, levels) -> np.ndarray:
    """(n, D * levels) one-hot codes of (n, D) level indices."""
    return (idx[..., None] == np.arange(levels)).reshape(len(idx), -1).astype(np.float64)


def bin_log_mass(mu, sigma, levels) -> np.ndarray:
    """(..., levels) log P(level k) under N(mu, sigma^2) on the level index axis: level k's bin
    is [k - 1/2, k + 1/2], the two outer bins open to infinity, so the masses sum to 1."""
    mu, sigma = np.asarray(mu, np.float64)[..., None], np.asarray(sigma, np.float64)[..., None]
    k = np.arange(levels)
    a = np.where(k == 0, -np.inf, (k - 0.5 - mu) / sigma)
    b = np.where(k == levels - 1, np.inf, (k + 0.5 - mu) / sigma)
    flip = a > 0  # log(Phi(b) - Phi(a)) on the side of 0 where the subtraction keeps digits
    a, b = np.where(flip, -b, a), np.where(flip, -a, b)
    lb, la = log_ndtr(b), log_ndtr(a)
    return lb + np.log1p(-np.exp(np.minimum(la - lb, -1e-300)))


def uniform_bits(train, test, grid) -> np.ndarray:
    """Every value of every dimension equally likely: D log2(levels) bits per row."""
    d = to_levels(test, grid).shape[1]
    return np.full(len(test), d * np.log2(grid[0]))


def categorical_bits(train, test, grid, pseudocount: float = 0.5) -> np.ndarray:
    """Independent categorical per dimension, the training counts plus ``pseudocount`` per
    level (add-1/2, the Krichevsky-Trofimov estimator: no level has probability 0)."""
    levels = grid[0]
    counts = _one_hot(to_levels(train, grid), levels).sum(0) + pseudocount
    log_p = np.log(counts.reshape(-1, levels) / counts.reshape(-1, levels).sum(1, keepdims=True))
    return -(_one_hot(to_levels(test, grid), levels) @ log_p.reshape(-1)) / LOG2


def discretised_gaussian_fit(train, grid):
    """(mu, sigma) per dimension, in level units, maximising the likelihood of the training
    levels under the bin masses of N(mu, sigma^2); sigma at least a quarter of a level, so a
    constant dimension gives its one value most of the mass but others a little."""
    levels = grid[0]
    counts = _one_hot(to_levels(train, grid), levels).reshape(len(train), -1, levels).sum(0)
    k = np.arange(levels)
    mus, sigmas = [], []
    for c in counts:
        m = (c * k).sum() / c.sum()
        s0 = max(np.sqrt((c * (k - m) ** 2).sum() / c.sum()), 0.25)
        res = minimize(lambda p, c=c: -(c * bin_log_mass(p[0], 0.25 + np.exp(p[1]), levels)).sum(),
                       [m, np.log(max(s0 - 0.25, 1e-3))], method="Nelder-Mead",
                       options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
        mus.append(res.x[0])
        sigmas.append(0.25 + np.exp(res.x[1]))
    return np.array(mus), np.array(sigmas)


def discretised_gaussian_bits(train, test, grid) -> np.ndarray:
    """Independent Gaussian per dimension, integrated over each level's bin, fitted by maximum
    likelihood of the binned training values (:func:`discretised_gaussian_fit`)."""
    mu, sigma = discretised_gaussian_fit(train, grid)
    log_p = bin_log_mass(mu, sigma, grid[0])  # (D, levels)
    return -(_one_hot(to_levels(test, grid), grid[0]) @ log_p.reshape(-1)) / LOG2


def _kde_log_kernels(rows, centres, bandwidth, levels) -> np.ndarray:
    """(n, m) log prod_d P(level of rows[n, d] | N(centres[m, d], h^2)): one matmul through the
    one-hot codes, the kernel of every pair of levels tabulated once (h in level units)."""
    table = bin_log_mass(np.arange(levels), bandwidth, levels)  # [centre, value]
    a, b = _one_hot(rows, levels), _one_hot(centres, levels)
    d = rows.shape[1]
    per_value = (b.reshape(len(b), d, levels) @ table).reshape(len(b), -1)  # [m, (d, value)]
    return a @ per_value.T


# bandwidths tried, in level units: from far below a level's width to the data's spread
BANDWIDTHS = tuple(np.geomspace(0.05, 4.0, 30))


def kde_bandwidth_loo(train, grid, candidates=BANDWIDTHS) -> float:
    """The bandwidth (in level units) of the discretised-Gaussian KDE that maximises the
    leave-one-out likelihood of the training rows: each row scored by the kernels of the
    others. Only training rows are used."""
    idx = to_levels(train, grid)
    n = len(idx)
    scores = []
    for h in candidates:
        log_k = _kde_log_kernels(idx, idx, h, grid[0])
        np.fill_diagonal(log_k, -np.inf)
        scores.append((logsumexp(log_k, axis=1) - np.log(n - 1)).mean())
    return float(candidates[int(np.argmax(scores))])


def kde_bits(train, test, grid, bandwidth: float | None = None) -> np.ndarray:
    """p(x) = mean_i prod_d P(level of x_d | N(train_i,d, h^2)) (a product of discretised
    Gaussian kernels), h by leave-one-out on the training rows unless given (level units)."""
    h = kde_bandwidth_loo(train, grid) if bandwidth is None else bandwidth
    log_k = _kde_log_kernels(to_levels(test, grid), to_levels(train, grid), h, grid[0])
    return -(logsumexp(log_k, axis=1) - np.log(len(train))) / LOG2


def categorical_mixture_fit(train, grid, k: int, *, iterations: int = 200, seed: int = 0,
                            pseudocount: float = 0.5):
    """(log weights (k,), log probabilities (k, D, levels)) of a mixture of ``k`` independent
    categoricals, by EM from responsibilities drawn at random (``seed``); the M step adds
    ``pseudocount`` per level (MAP under a Dirichlet prior), so no level gets probability 0."""
    levels = grid[0]
    a = _one_hot(to_levels(train, grid), levels)
    n, d = len(a), a.shape[1] // levels
    resp = np.random.default_rng(seed).dirichlet(np.ones(k), n)
    previous = -np.inf
    for _ in range(iterations):
        counts = (resp.T @ a).reshape(k, d, levels) + pseudocount
        log_theta = np.log(counts / counts.sum(-1, keepdims=True))
        log_w = np.log(resp.sum(0) + 1e-12) - np.log(n)
        joint = a @ log_theta.reshape(k, -1).T + log_w
        total = logsumexp(joint, axis=1, keepdims=True)
        resp = np.exp(joint - total)
        if total.mean() - previous < 1e-5:  # nats per row: converged to well below the
            break  # differences between models that matter (0.01 bits/dim = 0.4 nats per digit)
        previous = total.mean()
    return log_w, log_theta


def categorical_mixture_log_prob(x, grid, log_w, log_theta) -> np.ndarray:
    """log p(x) (nats) per row under a fitted mixture of independent categoricals."""
    a = _one_hot(to_levels(x, grid), grid[0])
    return logsumexp(a @ log_theta.reshape(len(log_w), -1).T + log_w, axis=1)


def categorical_mixture_k(train, grid, candidates=(1, 2, 5, 10, 20, 40), *, seed: int = 0,
                          held: float = 0.2) -> int:
    """The number of components whose mixture, fitted on a random 80 % of the training rows,
    gives the other 20 % the most likelihood. Only training rows are used."""
    perm = np.random.default_rng(seed).permutation(len(train))
    cut = int(len(train) * (1 - held))
    fit_rows, val_rows = np.asarray(train)[perm[:cut]], np.asarray(train)[perm[cut:]]
    scores = [categorical_mixture_log_prob(val_rows, grid,
                                           *categorical_mixture_fit(fit_rows, grid, k,
                                                                    seed=seed)).mean()
              for k in candidates]
    return int(candidates[int(np.argmax(scores))])


def categorical_mixture_bits(train, test, grid, k: int | None = None, seed: int = 0):
    """-log2 p(x) per test row under a mixture of independent categoricals fitted by EM on
    ``train``, with ``k`` components (chosen by :func:`categorical_mixture_k` unless given)."""
    k = categorical_mixture_k(train, grid, seed=seed) if k is None else k
    return -categorical_mixture_log_prob(test, grid, *categorical_mixture_fit(
        train, grid, k, seed=seed)) / LOG2


DISCRETE_BASELINES = {"uniform": uniform_bits, "categorical": categorical_bits,
                      "gaussian": discretised_gaussian_bits, "kde": kde_bits,
                      "mixture": categorical_mixture_bits}
