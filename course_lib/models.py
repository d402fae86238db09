"""The models the command line can train, sample and evaluate, by name.

Each model family (``course_lib.gan``, ``course_lib.diffusion``) describes its models with a
:class:`ModelSpec` and registers them with :func:`register` when imported. This module also
holds the simplest model of all, ``gaussian``: a diagonal Gaussian fitted by maximum
likelihood, the baseline every likelihood in the course is compared against.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from course_lib.data import Dataset


@dataclass(frozen=True)
class Option:
    """A model setting the command line accepts as ``--name VALUE``."""

    type: type
    default: Any
    help: str
    choices: tuple | None = None


@dataclass(frozen=True)
class RunInfo:
    """What a model needs to be rebuilt: the data's shape and classes, and its settings."""

    shape: tuple[int, ...]
    options: dict[str, Any]
    seed: int = 0
    num_classes: int | None = None
    data_stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    """How the command line drives one model.

    init(info) -> tuple of NNX objects (models and optimizers), the ``objects`` of
        :func:`course_lib.train.train`.
    train_step(*objects, batch, key) -> metrics, as :func:`course_lib.train.train` takes it.
    batches(dataset, info) -> sample_batch(key, n): what one training batch is (default:
        ``dataset.sample``; a conditional model draws (x, y) pairs).
    sample(objects, key, n, info) -> np.ndarray (n, *shape).
    evaluate(objects, dataset, key, info) -> dict of JSON numbers.
    needs_labels: the data must carry class labels (an .npz with 'y', or digits).
    data_stats(dataset, options) -> dict: what the model must remember of the training data
        (stored in the run's config); it raises ValueError for data the model cannot take.
    """

    name: str
    description: str
    init: Callable[[RunInfo], tuple]
    train_step: Callable[..., dict]
    sample: Callable[..., np.ndarray]
    evaluate: Callable[..., dict]
    options: dict[str, Option] = field(default_factory=dict)
    batches: Callable[[Dataset, RunInfo], Callable] | None = None
    needs_labels: bool = False
    data_stats: Callable[[Dataset, dict], dict] | None = None


MODELS: dict[str, ModelSpec] = {}
FAMILIES = ("course_lib.gan", "course_lib.diffusion", "course_lib.ising_cli")


def register(spec: ModelSpec) -> ModelSpec:
    MODELS[spec.name] = spec
    return spec


def all_models() -> dict[str, ModelSpec]:
    """Every registered model; importing the families registers theirs."""
    for module in FAMILIES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:  # a family that exists but fails to import is a real error
                raise
    return MODELS


def get(name: str) -> ModelSpec:
    models = all_models()
    if name not in models:
        raise ValueError(f"unknown model '{name}'; accepted: {', '.join(sorted(models))}")
    return models[name]


# ----------------------------------------------------------- the baseline: a diagonal Gaussian


class DiagonalGaussian(nnx.Module):
    """p(x) = prod_i N(x_i; mu_i, sigma_i^2), sigma = exp(log_sigma)."""

    def __init__(self, shape: tuple[int, ...]):
        self.mu = nnx.Param(jnp.zeros(shape))
        self.log_sigma = nnx.Param(jnp.zeros(shape))

    def log_prob(self, x: jax.Array) -> jax.Array:
        """log p(x) in nats, one value per example."""
        z = (x - self.mu[...]) * jnp.exp(-self.log_sigma[...])
        per_dim = -0.5 * z**2 - self.log_sigma[...] - 0.5 * jnp.log(2 * jnp.pi)
        return per_dim.reshape(x.shape[0], -1).sum(1)


def _gaussian_init(info: RunInfo):
    model = DiagonalGaussian(info.shape)
    return model, nnx.Optimizer(model, optax.adam(info.options["lr"]), wrt=nnx.Param)


def _gaussian_step(model, optimizer, x, key):
    loss, grads = nnx.value_and_grad(lambda m: -m.log_prob(x).mean())(model)
    optimizer.update(model, grads)
    return {"loss": loss}


def _gaussian_sample(objects, key, n, info):
    model = objects[0]
    eps = jax.random.normal(key, (n, *info.shape))
    return np.asarray(model.mu[...] + jnp.exp(model.log_sigma[...]) * eps)


def bits_per_dim(nll_nats: float, dims: int) -> float:
    """Negative log-likelihood per example in nats -> bits per dimension: nats / (D ln 2)."""
    return float(nll_nats / (dims * np.log(2)))


def _gaussian_evaluate(objects, dataset, key, info):
    x = jnp.asarray(dataset.data) if dataset.data is not None else dataset.sample(key, 10_000)
    nll = float(-objects[0].log_prob(x).mean())
    dims = int(np.prod(info.shape))
    return {"nll_nats": nll, "bits_per_dim": bits_per_dim(nll, dims),
            "bits_per_example": nll / np.log(2), "n": int(x.shape[0])}


register(ModelSpec(
    name="gaussian",
    description="diagonal Gaussian fitted by maximum likelihood (the baseline for bits/dim)",
    init=_gaussian_init, train_step=_gaussian_step, sample=_gaussian_sample,
    evaluate=_gaussian_evaluate,
    options={"lr": Option(float, 1e-2, "Adam learning rate")},
))
