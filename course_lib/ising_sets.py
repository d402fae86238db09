"""The Ising training sets of week 17's shipped models, as :class:`~course_lib.data.Deferred`
data sets: named by the arguments a sidecar records, made (a minute or more of Metropolis
sweeps) only when a model is retrained, never when its weights are loaded."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import ising as ising_mc
from course_lib.data import Dataset, Deferred, from_array, ising


def ising_bits(L: int = 16, T: float = 2.269, n: int = 2048, sweeps: int = 1000,
               seed: int = 0) -> Deferred:
    """:func:`ising`'s configurations flattened to L*L bits, (s + 1) / 2, for binomial
    diffusion, named by its arguments ("ising L=16 T=2.269 n=2048 sweeps=1000 seed=0")."""
    def make():
        spins = ising(L, T, n, sweeps, seed)
        return from_array(name, spins.description + ", as bits (s + 1) / 2",
                          (spins.data.reshape(n, L * L) + 1) / 2, levels=2,
                          value_range=(0.0, 1.0))

    name = f"ising L={L} T={T} n={n} sweeps={sweeps} seed={seed}"
    return Deferred(name, make)


def ising_at(*, with_temperatures: bool = False, **arguments) -> Deferred:
    """:func:`course_lib.ising.metropolis_at`'s configurations (``arguments`` are its:
    temperatures, seed, n_chains, and L, sweeps if not the default), ``n_chains`` per
    temperature; ``with_temperatures``: each example is a (configuration, its temperature)
    pair, for a conditional lattice model. A sidecar records ``arguments``."""
    temperatures, n_chains = arguments["temperatures"], arguments["n_chains"]

    def make():
        spins = ising_mc.metropolis_at(**arguments)
        x = jnp.asarray(spins, jnp.float32)
        temps = jnp.asarray(np.repeat(np.asarray(temperatures, np.float32), n_chains))

        def sample(key, n):
            i = jax.random.randint(key, (n,), 0, len(spins))
            return (x[i], temps[i]) if with_temperatures else x[i]

        return Dataset(name, f"2D Ising model, {n_chains} Metropolis chains at each of "
                       f"{len(temperatures)} temperatures", spins.shape[1:], sample, data=spins,
                       levels=2, value_range=(-1.0, 1.0))

    name = f"ising at T = {', '.join(map(str, temperatures))} (seed {arguments['seed']})"
    return Deferred(name, make, dict(arguments))
