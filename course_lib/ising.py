"""The 2D Ising model: a checkerboard Metropolis sampler and exact enumeration for small L.

H(s) = -J sum_<ij> s_i s_j on an L x L periodic lattice, J = 1, k_B = 1. Onsager's critical
temperature is T_c = 2 / ln(1 + sqrt 2) = 2.269.

Checkerboard updates: the sites of one colour have all their neighbours on the other
colour, so half the lattice can be updated at once without changing the Markov chain's
stationary distribution. One sweep = both colours once.
"""

from __future__ import annotations

import itertools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

T_CRITICAL = 2 / np.log(1 + np.sqrt(2))  # 2.269185...


def _check(L: int, T: float) -> None:
    if not (isinstance(L, int | np.integer) and L >= 2 and L % 2 == 0):
        raise ValueError(f"lattice size L must be an even integer >= 2 (checkerboard), got {L}")
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T}")


def neighbour_sum(s: jax.Array) -> jax.Array:
    """Sum of the four nearest neighbours of every site, periodic boundaries; s: (..., L, L)."""
    return (jnp.roll(s, 1, -1) + jnp.roll(s, -1, -1) + jnp.roll(s, 1, -2) + jnp.roll(s, -1, -2))


def energy_per_site(s: jax.Array) -> jax.Array:
    """E / L^2 = -(1/L^2) sum_<ij> s_i s_j, each bond counted once (right and down)."""
    bonds = s * (jnp.roll(s, 1, -1) + jnp.roll(s, 1, -2))
    return -bonds.sum((-1, -2)) / (s.shape[-1] * s.shape[-2])


def magnetization_per_site(s: jax.Array) -> jax.Array:
    """m = (1/L^2) sum_i s_i."""
    return s.mean((-1, -2))


def _sweep(s, key, T):
    """One checkerboard sweep of Metropolis updates on a batch of lattices (n, L, L)."""
    L = s.shape[-1]
    colour = (jnp.arange(L)[:, None] + jnp.arange(L)[None, :]) % 2
    for c, k in zip((0, 1), jax.random.split(key)):
        dE = 2 * s * neighbour_sum(s)  # energy change of flipping each spin
        accept = jax.random.uniform(k, s.shape) < jnp.exp(-dE / T)
        s = jnp.where((colour == c) & accept, -s, s)
    return s


@partial(jax.jit, static_argnames=("L", "n_chains", "sweeps"))
def _run(key, T, L, n_chains, sweeps):
    k0, key = jax.random.split(key)
    s = jnp.where(jax.random.bernoulli(k0, 0.5, (n_chains, L, L)), 1.0, -1.0)
    return jax.lax.fori_loop(0, sweeps, lambda i, s: _sweep(s, jax.random.fold_in(key, i), T), s)


def metropolis(key: jax.Array, L: int = 16, T: float = 2.269, n_chains: int = 1,
               sweeps: int = 1000) -> jax.Array:
    """Final configurations (n_chains, L, L) of independent chains started at random."""
    _check(L, T)
    if sweeps < 0 or n_chains < 1:
        raise ValueError(f"need sweeps >= 0 and n_chains >= 1, got {sweeps}, {n_chains}")
    return _run(key, jnp.float32(T), L=int(L), n_chains=int(n_chains), sweeps=int(sweeps))


@partial(jax.jit, static_argnames=("L", "n_chains", "burn_in", "measurements", "thin"))
def _measure(key, T, L, n_chains, burn_in, measurements, thin):
    s = _run(key, T, L, n_chains, burn_in)

    def measure(s, i):
        k = jax.random.fold_in(jax.random.fold_in(key, 1 << 20), i)
        s = jax.lax.fori_loop(0, thin, lambda j, s: _sweep(s, jax.random.fold_in(k, j), T), s)
        return s, (energy_per_site(s), jnp.abs(magnetization_per_site(s)))

    _, (e, m) = jax.lax.scan(measure, s, jnp.arange(measurements))
    return e.T, m.T  # (n_chains, measurements)


def observables(key: jax.Array, L: int, T: float, n_chains: int = 64, burn_in: int = 500,
                measurements: int = 200, thin: int = 5) -> dict[str, np.ndarray]:
    """Energy per site and |m| along each chain after burn-in: arrays (n_chains, measurements).

    The chains are independent, so the standard error of a mean is the spread of the
    per-chain means over sqrt(n_chains); see :func:`mean_and_error`.
    """
    _check(L, T)
    e, m = _measure(key, jnp.float32(T), L=int(L), n_chains=int(n_chains), burn_in=int(burn_in),
                    measurements=int(measurements), thin=int(thin))
    return {"energy": np.asarray(e), "abs_m": np.asarray(m)}


def mean_and_error(x: np.ndarray) -> tuple[float, float]:
    """Mean over all entries of (n_chains, measurements), standard error from chain means."""
    chain_means = np.asarray(x).mean(1)
    return float(chain_means.mean()), float(chain_means.std(ddof=1) / np.sqrt(len(chain_means)))


def exact_observables(L: int, T: float) -> dict[str, float]:
    """<E>/L^2 and <|m|> by summing over all 2^(L^2) states (L <= 4)."""
    _check(L, T)
    if L > 4:
        raise ValueError(f"exact enumeration needs L <= 4 (2^(L^2) states), got {L}")
    s = np.array(list(itertools.product((-1.0, 1.0), repeat=L * L))).reshape(-1, L, L)
    e = -(s * (np.roll(s, 1, -1) + np.roll(s, 1, -2))).sum((1, 2)) / L**2
    m = np.abs(s.mean((1, 2)))
    logw = -e * L**2 / T
    w = np.exp(logw - logw.max())
    w /= w.sum()
    return {"energy": float(w @ e), "abs_m": float(w @ m)}
