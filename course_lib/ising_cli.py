"""The command line's ``lattice`` model: binomial diffusion of spin lattices
(:mod:`course_lib.ising_diffusion`), trained with ``python -m course_lib train lattice --data
ising`` and sampled with ``python -m course_lib sample RUN --n N --out FILE.npy``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from course_lib.ising_diffusion import (
    LatticeDiffusion,
    LatticeDiffusionConfig,
    bits_per_spin,
    symmetrised,
    train_step,
)
from course_lib.models import ModelSpec, Option, RunInfo, register


def _spin_stats(dataset, options: dict) -> dict:
    x = dataset.data if dataset.data is not None else np.asarray(
        dataset.sample(jax.random.key(0), 1000))
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] != x.shape[2] or not np.all(np.abs(x) == 1):
        raise ValueError(f"the lattice model needs square spin configurations, shape (n, L, L) "
                         f"with values -1/+1 (e.g. --data ising); '{dataset.name}' has shape "
                         f"{x.shape[1:]} and values {np.unique(x)[:4]}")
    return {}


def _dilations(text: str) -> tuple[int, ...]:
    try:
        d = tuple(int(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"--dilations must be comma-separated integers, got {text!r}") from None
    if not d or min(d) < 1:
        raise ValueError(f"--dilations must be positive integers, got {text!r}")
    return d


def _config(info: RunInfo) -> LatticeDiffusionConfig:
    o = info.options
    return LatticeDiffusionConfig(L=int(info.shape[-1]), T=o["T"], features=o["features"],
                                  dilations=_dilations(o["dilations"]), lr=o["lr"])


def _lattice_init(info: RunInfo):
    import optax

    model = LatticeDiffusion(_config(info), rngs=nnx.Rngs(info.seed))
    return model, nnx.Optimizer(model, optax.adam(info.options["lr"]), wrt=nnx.Param)


def _lattice_sample(objects, key, n, info):
    return np.asarray(jax.jit(objects[0].sample, static_argnums=1)(key, n))


def _lattice_evaluate(objects, dataset, key, info):
    from course_lib import ising

    x = dataset.data if dataset.data is not None else np.asarray(dataset.sample(key, 2000))
    x = np.asarray(x[:2000], np.float32)
    out = bits_per_spin(objects[0], x, key, repeats=4)
    generated = _lattice_sample(objects, jax.random.fold_in(key, 1), 1000, info)
    for name, s in (("generated", generated), ("data", x)):
        e = np.asarray(ising.energy_per_site(jnp.asarray(s)))
        m = np.abs(s.mean((1, 2)))
        out |= {f"{name}_energy": float(e.mean()), f"{name}_abs_m": float(m.mean())}
    return out


_DEFAULTS = LatticeDiffusionConfig()
register(ModelSpec(
    name="lattice",
    description="binomial diffusion of spin lattices (n, L, L) with a periodic conv denoiser",
    init=_lattice_init, train_step=train_step, sample=_lattice_sample,
    evaluate=_lattice_evaluate,
    options={"T": Option(int, _DEFAULTS.T, "diffusion steps (network calls per sample)"),
             "features": Option(int, _DEFAULTS.features, "channels per conv layer"),
             "dilations": Option(str, ",".join(map(str, _DEFAULTS.dilations)),
                                 "dilation of each 3x3 periodic conv layer"),
             "lr": Option(float, _DEFAULTS.lr, "Adam learning rate")},
    batches=lambda dataset, info: symmetrised(dataset.sample),
    data_stats=_spin_stats))
