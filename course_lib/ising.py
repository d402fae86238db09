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


@partial(jax.jit, static_argnames=("L", "n_chains", "sweeps", "ordered"))
def _run(key, T, L, n_chains, sweeps, ordered=False):
    k0, key = jax.random.split(key)
    if ordered:  # all up, then a random global sign per chain (H(s) = H(-s))
        s = jnp.broadcast_to(jnp.where(jax.random.bernoulli(k0, 0.5, (n_chains, 1, 1)), 1.0, -1.0),
                             (n_chains, L, L))
    else:
        s = jnp.where(jax.random.bernoulli(k0, 0.5, (n_chains, L, L)), 1.0, -1.0)
    return jax.lax.fori_loop(0, sweeps, lambda i, s: _sweep(s, jax.random.fold_in(key, i), T), s)


def metropolis(key: jax.Array, L: int = 16, T: float = 2.269, n_chains: int = 1,
               sweeps: int = 1000, ordered: bool = False) -> jax.Array:
    """Final configurations (n_chains, L, L) of independent chains started at random, or
    with ``ordered=True`` from all spins aligned (with a random sign per chain).

    Below T_c start ordered: a random start quenched to T = 1.5 freezes into long-lived
    stripes (two domain walls across the torus) that a few thousand sweeps do not remove.
    """
    _check(L, T)
    if sweeps < 0 or n_chains < 1:
        raise ValueError(f"need sweeps >= 0 and n_chains >= 1, got {sweeps}, {n_chains}")
    return _run(key, jnp.float32(T), L=int(L), n_chains=int(n_chains), sweeps=int(sweeps),
                ordered=bool(ordered))


def metropolis_at(temperatures, seed: int, n_chains: int, L: int = 16,
                  sweeps: int = 1000) -> np.ndarray:
    """Training or reference sets: ``n_chains`` independent chains at each temperature, the
    i-th from ``key(seed + i)``, started ordered below T_c and at random from T_c up; as numpy
    (len(temperatures) * n_chains, L, L), grouped by temperature."""
    return np.concatenate([np.asarray(metropolis(jax.random.key(seed + i), L, float(T), n_chains,
                                                 sweeps, ordered=bool(T < T_CRITICAL)))
                           for i, T in enumerate(np.atleast_1d(temperatures))])


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


# ------------------------------------------------------------------ exact results (numpy only)


def _signed_logsumexp(logs, signs):
    """log|sum_i signs_i exp(logs_i)| and its sign."""
    logs, signs = np.asarray(logs, float), np.asarray(signs, float)
    top = np.max(np.where(signs != 0, logs, -np.inf))
    total = np.sum(signs * np.exp(logs - top))
    return top + np.log(abs(total)), np.sign(total)


def _log_prod_2cosh(x):
    x = np.abs(x)
    return np.sum(x + np.log1p(np.exp(-2 * x)))


def _log_prod_2sinh(x):
    """log|prod 2 sinh(x)| and the product's sign."""
    if np.any(x == 0):
        return -np.inf, 0.0
    a = np.abs(x)
    return np.sum(a + np.log(-np.expm1(-2 * a))), float(np.prod(np.sign(x)))


def log_partition_function(rows: int, cols: int, T: float) -> float:
    """ln Z of the rows x cols periodic lattice, exactly (Kaufman 1949, in Beale's 1996 form):

        Z = 1/2 (2 sinh 2K)^(mn/2) [prod_r 2cosh(m g_{2r+1}/2) + prod_r 2sinh(m g_{2r+1}/2)
                                     + prod_r 2cosh(m g_{2r}/2) + prod_r 2sinh(m g_{2r}/2)],

    r = 0..n-1, m = rows, n = cols, K = 1/T, cosh g_l = cosh 2K coth 2K - cos(pi l / n) for
    l > 0 and g_0 = 2K + ln tanh K (negative below T_c, which is what makes the last product
    change sign there).
    """
    if rows < 1 or cols < 1 or not T > 0:
        raise ValueError(f"need rows, cols >= 1 and T > 0, got {rows}, {cols}, {T}")
    K = 1.0 / T
    m, n = rows, cols
    l = np.arange(2 * n)
    g = np.arccosh(np.cosh(2 * K) / np.tanh(2 * K) - np.cos(np.pi * l / n))
    g[0] = 2 * K + np.log(np.tanh(K))
    odd, even = m * g[1::2] / 2, m * g[0::2] / 2
    s_odd, sign_odd = _log_prod_2sinh(odd)
    s_even, sign_even = _log_prod_2sinh(even)
    log_sum, _ = _signed_logsumexp(
        [_log_prod_2cosh(odd), s_odd, _log_prod_2cosh(even), s_even],
        [1.0, sign_odd, 1.0, sign_even])
    return float(np.log(0.5) + m * n / 2 * np.log(2 * np.sinh(2 * K)) + log_sum)


def exact_finite_lattice(L: int, T: float, dK: float = 1e-4) -> dict[str, float]:
    """Exact per-spin energy, specific heat and entropy of the L x L periodic lattice, from
    derivatives of ln Z in K = 1/T (central differences of Kaufman's closed form):
    E/N = -(1/N) d lnZ/dK,  C/N = (K^2/N) d^2 lnZ/dK^2,  S/N = lnZ/N + (E/N)/T (nats)."""
    N, K = L * L, 1.0 / T
    f = [log_partition_function(L, L, 1.0 / k) for k in (K - dK, K, K + dK)]
    energy = -(f[2] - f[0]) / (2 * dK) / N
    entropy = f[1] / N + energy / T
    heat = K**2 * (f[2] - 2 * f[1] + f[0]) / dK**2 / N
    return {"energy": float(energy), "specific_heat": float(heat),
            "entropy_nats": float(entropy), "entropy_bits": float(entropy / np.log(2)),
            "log_z": float(f[1])}


def _complete_elliptic_k(k):
    """K(k) = pi / (2 AGM(1, sqrt(1 - k^2))), the complete elliptic integral of the first kind."""
    a, b = np.ones_like(k), np.sqrt(1 - k**2)
    for _ in range(40):
        a, b = (a + b) / 2, np.sqrt(a * b)
    return np.pi / (2 * a)


def onsager_energy(T) -> np.ndarray:
    """Onsager's infinite-lattice energy per spin:
    E/N = -coth 2K [1 + (2/pi)(2 tanh^2 2K - 1) K(k)],  k = 2 sinh 2K / cosh^2 2K;
    exactly -sqrt 2 at T_c, where K(k) diverges but its prefactor vanishes."""
    K = 1.0 / np.asarray(T, float)
    k = np.minimum(2 * np.sinh(2 * K) / np.cosh(2 * K) ** 2, 1 - 1e-16)
    e = -(1 + 2 / np.pi * (2 * np.tanh(2 * K) ** 2 - 1) * _complete_elliptic_k(k))
    at_tc = np.isclose(np.asarray(T, float), T_CRITICAL, rtol=0, atol=1e-12)
    return np.where(at_tc, -np.sqrt(2), e / np.tanh(2 * K))


def onsager_magnetization(T) -> np.ndarray:
    """Spontaneous magnetisation of the infinite lattice (Onsager, Yang 1952):
    (1 - sinh(2/T)^-4)^(1/8) below T_c, 0 above."""
    T = np.asarray(T, float)
    return np.where(T < T_CRITICAL, np.abs(1 - np.sinh(2 / T) ** -4.0) ** 0.125, 0.0)


CATALAN = 0.915965594177219015
ENTROPY_TC_NATS = np.log(2) / 2 + 2 * CATALAN / np.pi - np.sqrt(2) / T_CRITICAL  # 0.3065
ENTROPY_TC_BITS = ENTROPY_TC_NATS / np.log(2)  # 0.442


# -------------------------------------------------- observables of a set of configurations


def correlation_function(spins) -> tuple[np.ndarray, np.ndarray]:
    """C(r) = <s_i s_{i+r}> along the lattice axes, r = 0..L/2, averaged over sites and both
    axes within each configuration: the mean over configurations and its standard error."""
    s = np.asarray(spins, np.float64)
    L = s.shape[-1]
    per_config = np.stack([(s * np.roll(s, -r, -1)).mean((-1, -2)) / 2
                           + (s * np.roll(s, -r, -2)).mean((-1, -2)) / 2
                           for r in range(L // 2 + 1)], -1)
    return per_config.mean(0), per_config.std(0, ddof=1) / np.sqrt(len(s))


def _jackknife(estimator, columns, blocks: int = 20) -> tuple[float, float]:
    """estimator(*column_means) and its jackknife error over ``blocks`` groups of the
    (independent) configurations."""
    blocks = min(blocks, len(columns[0]))
    n = len(columns[0]) // blocks * blocks
    grouped = [np.asarray(c[:n], np.float64).reshape(blocks, -1).mean(1) for c in columns]
    totals = [g.sum() for g in grouped]
    full = estimator(*[t / blocks for t in totals])
    leave_one = np.array([estimator(*[(t - g[b]) / (blocks - 1) for t, g in zip(totals, grouped)])
                          for b in range(blocks)])
    return float(full), float(np.sqrt((blocks - 1) * np.mean((leave_one - leave_one.mean()) ** 2)))


def thermodynamics(spins, T: float) -> dict[str, tuple[float, float]]:
    """Per-spin observables of independent configurations (n, L, L) at temperature T, each as
    (value, standard error):

    energy        <E>/N
    abs_m         <|m|>
    specific_heat C/N = N (<e^2> - <e>^2) / T^2       (e = E/N of one configuration)
    susceptibility chi/N = N (<m^2> - <|m|>^2) / T    (|m|: the finite lattice has <m> = 0)

    Errors of the means are std/sqrt(n); those of the fluctuations by the jackknife.
    """
    s = np.asarray(spins, np.float64)
    N = s.shape[-1] * s.shape[-2]
    e = np.asarray(energy_per_site(s)) if isinstance(s, jax.Array) else \
        -(s * (np.roll(s, 1, -1) + np.roll(s, 1, -2))).sum((-1, -2)) / N
    m = np.abs(s.mean((-1, -2)))
    sem = lambda x: float(x.std(ddof=1) / np.sqrt(len(x)))  # noqa: E731
    return {"energy": (float(e.mean()), sem(e)), "abs_m": (float(m.mean()), sem(m)),
            "specific_heat": _jackknife(lambda a, b: N * (b - a * a) / T**2, [e, e * e]),
            "susceptibility": _jackknife(lambda a, b: N * (b - a * a) / T, [m, m * m])}

