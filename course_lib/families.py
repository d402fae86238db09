"""The one registry of model families: every model the command line, validation, the reports
and the shipped files' recipes know, by name and by config. Nothing outside this module
tests a family's name (tests/test_families.py greps for it); code asks the family.

Adding a family: a module that defines its config, model, train step and
:class:`~course_lib.family.Family`, and one line in ``FAMILIES`` below.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from course_lib import baseline, metrics
from course_lib.diffusion.family import FAMILIES as DIFFUSION
from course_lib.diffusion.flowmatch import FLOW_MATCHING
from course_lib.family import Family, dim, examples
from course_lib.gan.family import FAMILIES as GANS


def _gaussian_evaluate(objects, dataset, key):
    x = jnp.asarray(examples(dataset, key, 10_000))
    bits = np.asarray(metrics.nats_to_bits(-objects[0].log_prob(x)), np.float64)
    nll = float(bits.mean() * metrics.LOG2)
    stderr = float(bits.std(ddof=1) / np.sqrt(len(bits)))  # over the examples
    return {"nll_nats": nll, "bits_per_dim": metrics.bits_per_dim(nll, x.shape[1]),
            "bits_per_example": float(bits.mean()), "stderr_bits_per_example": stderr,
            "stderr_bits_per_dim": stderr / x.shape[1], "n": int(x.shape[0]),
            "_per_example": bits}


def _gaussian_scorer(objects, held_out, seed):
    x = jnp.asarray(held_out.reshape(len(held_out), -1), jnp.float32)
    return (lambda objs: float(-objs[0].log_prob(x).mean() / np.log(2))), "bits_per_example"


# The baseline's family is written here, not in baseline.py, whose functions the reports use
# below every family (the baselines of `evaluate`).
GAUSSIAN = Family(
    name="gaussian",
    description="diagonal Gaussian fitted by maximum likelihood (the baseline for bits/dim)",
    config=baseline.GaussianConfig, init=baseline.init, train_step=baseline.train_step,
    sample=lambda objects, key, n: objects[0].sample(key, n), evaluate=_gaussian_evaluate,
    scorer=_gaussian_scorer, log_likelihood=lambda model, x, key: model.log_prob(x),
    from_data=lambda dataset: {"data_dim": dim(dataset)})

FAMILIES: dict[str, Family] = {f.name: f for f in (GAUSSIAN, *GANS, *DIFFUSION, FLOW_MATCHING)}


def get(name: str) -> Family:
    """The family called ``name``; ValueError naming the accepted ones otherwise."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model '{name}'; accepted: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]


def of_config(config) -> Family:
    """The family whose config ``config`` (an instance or a class) is: the first registered
    one whose config class it is, or a subclass or base of (DDPMConfig: ddpm's)."""
    cls = config if isinstance(config, type) else type(config)
    for family in FAMILIES.values():
        if issubclass(cls, family.config) or issubclass(family.config, cls):
            return family
    raise ValueError(f"not the config of a model family: {cls.__name__}; accepted: "
                     f"{', '.join(sorted({f.config.__name__ for f in FAMILIES.values()}))}")
