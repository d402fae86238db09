"""The network arithmetic behind week17_ising's two slowest cells, timed alone.

    .venv/bin/python benchmarks/ising_cells.py

The notebook's second run (its programs read from the compile cache) spends most of its time
in two cells: exercise 1's solution, 400 lattices sampled in 50, 20 and 10 jumps (80 calls of
the denoiser on 400 lattices), and the held-out bound, ``lattice.bits_per_spin`` with 20
repeats over 512 lattices (20 calls of the -ELBO, two denoiser passes each). This times those
calls on the shipped critical model, compiled and warm, with nothing else in the process: what
the two cells cost with no Python, plotting or compilation around them. With the same
arithmetic (and so the same printed numbers) no notebook run can take less. Also prints the
denoiser's GFLOP/s (XLA's cost analysis) beside the 1024 x 1024 matmul rate, and the load.
"""

import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from course_lib.cli.regenerate import load_lattice_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_jax import matmul  # noqa: E402

NAME = "week17_ising/critical"


def seconds_per_call(f, *args, calls: int) -> float:
    jax.block_until_ready(f(*args))  # compiled and warm before the clock starts
    start = time.perf_counter()
    for _ in range(calls):
        jax.block_until_ready(f(*args))
    return (time.perf_counter() - start) / calls


def main():
    load = os.getloadavg()[0]
    model = load_lattice_model(NAME)  # the shipped weights, sha256-checked
    denoiser = jax.jit(model.x0_logit)
    x, t = jnp.zeros((400, 16, 16)), jnp.full(400, 50.0)
    jump = seconds_per_call(denoiser, x, t, calls=20)
    nelbo = jax.jit(lambda k, s: model.elbo_terms(s, k).total())
    bound = seconds_per_call(nelbo, jax.random.key(0), jnp.ones((512, 16, 16)), calls=5)
    cost = denoiser.lower(x, t).compile().cost_analysis()
    flops = (cost[0] if isinstance(cost, list) else cost)["flops"]
    print(f"denoiser on 400 lattices: {1e3 * jump:.0f} ms, {flops / jump / 1e9:.0f} GFLOP/s "
          f"(matmul {matmul(4.0)['gflops']:.0f}); exercise 1's 80 calls: {80 * jump:.1f} s")
    print(f"-ELBO of 512 lattices: {1e3 * bound:.0f} ms; bits_per_spin's 20 repeats: "
          f"{20 * bound:.1f} s")
    print(f"the two cells' arithmetic: {80 * jump + 20 * bound:.1f} s "
          f"(load {load:.1f} -> {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
