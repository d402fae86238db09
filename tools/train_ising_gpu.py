"""Train week 17's two Ising models (T_c and conditioned on T) on a GPU, and sample them.

One-off driver for a lent GPU (a 2-core CPU needs hours for these step counts). It picks the
number of steps that fits ``--budget`` seconds per model from a timed warm-up, then trains
exactly as ``python -m course_lib pretrained regenerate week17_ising/NAME`` does (same data,
config and seed: the sidecar records them), samples the generated sets and prints the
observables against Metropolis, so the run can be judged from its log alone.

    python tools/train_ising_gpu.py --budget 150 --out /tmp/out
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from dataclasses import asdict, replace

import jax
import numpy as np
from flax import nnx

from course_lib import ising
from course_lib.cli.regenerate import lattice_model
from course_lib.config import from_dict
from course_lib.data import made
from course_lib.diffusion import lattice
from course_lib.ising_sets import ising_at
from course_lib.pretrained import PRETRAINED_DIR, cached_spins, fit, train_or_load
from course_lib.train import TrainConfig

T_C = ising.T_CRITICAL
TEMPERATURES = [round(1.5 + 0.1 * i, 2) for i in range(21)]


def timed_steps(config, dataset, batch, budget):
    """Steps of ``batch`` that fit ``budget`` seconds, timed with the compile time taken out."""
    seconds = []
    for steps in (200, 1200):  # the same compiled 200-step scan, called 1 and 6 times
        start = time.perf_counter()
        fit(config, dataset, TrainConfig(steps=steps, batch_size=batch, progress=False,
                                         steps_per_call=200))
        seconds.append(time.perf_counter() - start)
    per_step = (seconds[1] - seconds[0]) / 1000
    steps = max(1000, int(budget / per_step) // 1000 * 1000)
    print(f"  {per_step * 1e3:.2f} ms/step at batch {batch}: {steps} steps in {budget} s",
          flush=True)
    return steps


def train(name, config, data, batch, budget):
    """Train week17_ising/NAME with the regenerate recipe itself (regenerate.
    lattice_model), for the number of steps that fits ``budget``; returns the loaded model."""
    dataset = made(ising_at(**data, with_temperatures=config.conditional))
    print(f"{name}: {len(dataset.data)} training configurations", flush=True)
    steps = timed_steps(config, dataset, batch, budget)
    saved = {"model": asdict(replace(config, decay_steps=steps)), "data": data,
             "train": asdict(TrainConfig(steps=steps, batch_size=batch, progress=False,
                                         steps_per_call=1000))}
    start = time.perf_counter()
    lattice_model(f"week17_ising/{name}", saved, None)
    seconds = time.perf_counter() - start
    model = lattice.LatticeDiffusion(from_dict(lattice.LatticeDiffusionConfig, saved["model"]),
                                     rngs=nnx.Rngs(0))
    history = train_or_load(f"week17_ising/{name}", (model,), lambda: {}, retrain=False,
                            config={"model": model.config, "data": data,
                                    "train": from_dict(TrainConfig, saved["train"])})
    loss = np.asarray(history["loss"])
    print(f"  trained in {seconds:.0f} s; loss (bits/spin) first 100 {loss[:100].mean():.4f}, "
          f"last 1000 {loss[-1000:].mean():.4f}", flush=True)
    print("  config " + json.dumps({k: saved[k] for k in ("model", "train")}))
    return model


def compare(label, generated, reference, T):
    g, r = ising.thermodynamics(generated, T), ising.thermodynamics(reference, T)
    for k in ("energy", "abs_m", "specific_heat", "susceptibility"):
        (a, ae), (b, be) = g[k], r[k]
        print(f"  {label} {k:15s} {a:8.4f} +- {ae:.4f}  Metropolis {b:8.4f} +- {be:.4f}  "
              f"z {(a - b) / math.hypot(ae, be):+5.1f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=150, help="training seconds per model")
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--T", type=int, default=200)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--chains", type=int, default=8192, help="training chains at T_c")
    parser.add_argument("--chains-per-T", type=int, default=1024)
    parser.add_argument("--only", choices=("critical", "conditional"))
    parser.add_argument("--out", default=None,
                        help="write week17_ising.tar.gz (data/pretrained/week17_ising) here")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()}", flush=True)
    folder = PRETRAINED_DIR / "week17_ising"
    base = lattice.LatticeDiffusionConfig(T=args.T, features=args.features,
                                          dilations=(1, 2, 4, 8, 1, 2, 4, 8), lr=1e-3)
    reference = cached_spins(folder / "metropolis_tc.npz", make=None)
    if args.only in (None, "critical"):
        data = {"temperatures": [T_C], "seed": 0, "n_chains": args.chains, "sweeps": 1000}
        model = train("critical", base, data, args.batch, args.budget)
        start = time.perf_counter()
        generated = cached_spins(
            folder / "generated_tc.npz", remake=True,
            make=lambda: lattice.generate(model, jax.random.key(10), 1000, chunk=500),
            description="1000 configurations from week17_ising/critical: "
                        "lattice.generate(model, key(10), 1000, chunk=500)")
        print(f"  sampled 1000 in {time.perf_counter() - start:.0f} s", flush=True)
        compare("T_c", generated, reference, T_C)
        bits = lattice.bits_per_spin(model, reference[:512], jax.random.key(3), repeats=20)
        print(f"  held-out {bits['bits_per_spin']:.4f} +- {bits['stderr']:.4f} bits/spin "
              f"(floor 0.4211)", flush=True)
        if args.out:  # one file: the device tool brings back at most 8
            shutil.make_archive(f"{args.out}/week17_ising", "gztar", folder)
    if args.only in (None, "conditional"):
        data = {"temperatures": TEMPERATURES, "seed": 100, "n_chains": args.chains_per_T,
                "sweeps": 1000}
        model = train("conditional", replace(base, conditional=True), data, args.batch,
                      args.budget)
        references = cached_spins(folder / "metropolis_temperatures.npz", make=None)
        references = references.reshape(len(TEMPERATURES), -1, 16, 16)
        per_t = 400
        start = time.perf_counter()
        sampler = jax.jit(model.sample, static_argnums=1)  # one compile for every T: what
        # lattice.generate(model, key(20 + i), per_t, T, chunk=per_t) draws, T by T
        generated = cached_spins(
            folder / "generated_temperatures.npz", remake=True,
            make=lambda: np.concatenate([
                np.asarray(sampler(jax.random.fold_in(jax.random.key(20 + i), 0), per_t,
                                   np.float32(T))) for i, T in enumerate(TEMPERATURES)]),
            description=f"{per_t} configurations at each of T = 1.5, 1.6, ..., 3.5 from "
                        f"week17_ising/conditional: lattice.generate(model, key(20 + i), "
                        f"{per_t}, T_i, chunk={per_t})")
        print(f"  sampled {per_t} x 21 in {time.perf_counter() - start:.0f} s", flush=True)
        generated = generated.reshape(len(TEMPERATURES), per_t, 16, 16)
        for i in (0, 5, 7, 8, 11, 15, 20):
            compare(f"T={TEMPERATURES[i]:.1f}", generated[i], references[i], TEMPERATURES[i])
        if args.out:  # one file: the device tool brings back at most 8
            shutil.make_archive(f"{args.out}/week17_ising", "gztar", folder)


if __name__ == "__main__":
    main()
