"""The contract of a model family: all that the command line, validation, the reports and the
shipped files' recipes may ask of a model, so that none of them tests a model's name.

A family package exports its :class:`Family` objects (``gan.FAMILIES``, ``dm.FAMILIES``);
:mod:`course_lib.families` is the one registry of them. A new family is one module that
defines its config, model, train step and ``Family``, plus its line in that registry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optax
from flax import nnx

from course_lib import data as data_lib
from course_lib.data import Dataset, Deferred


@dataclass(frozen=True)
class Recipe:
    """The defaults a notebook shows working: model: fields of the family's config; train:
    fields of TrainConfig; source: where a notebook shows it, and what it reaches there."""

    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def examples(dataset: Dataset, key, n: int) -> np.ndarray:
    """The data set's own examples (flattened), or n fresh draws from a generator."""
    x = dataset.data if dataset.data is not None else dataset.sample(key, n)
    return np.asarray(x).reshape(len(x), -1)


def dim(dataset: Dataset) -> int:
    return int(np.prod(dataset.shape))


def optimizer_for(model, transform=optax.adam) -> nnx.Optimizer:
    """``transform`` (an optax optimizer) at ``model.config.lr``, falling along a cosine to 0
    over ``config.decay_steps`` where the config has them and they are > 0: the one place a
    model's learning rate is read."""
    c = model.config
    decay = getattr(c, "decay_steps", 0)
    lr = optax.cosine_decay_schedule(c.lr, decay) if decay else c.lr
    return nnx.Optimizer(model, transform(lr), wrt=nnx.Param)


def initializer(model_class, transform=optax.adam):
    """init(config, seed) -> (model, :func:`optimizer_for` it), the network from
    ``nnx.Rngs(seed)``."""

    def init(config, seed: int = 0):
        model = model_class(config, rngs=nnx.Rngs(seed))
        return model, optimizer_for(model, transform)

    return init


def _sidecar(config, train_config, dataset: Dataset | Deferred) -> dict:
    return {"model": config, "train": train_config, "data": data_lib.recorded(dataset)}


@dataclass(frozen=True)
class Family:
    """What one model family offers.

    config: its frozen config dataclass; init(config, seed) -> the NNX objects (models first,
        then their optimizers, built from the config's learning rates) that
        train_step(*objects, batch, key) -> metrics updates.
    batches(dataset, config) -> sample_batch(key, n) (None: ``dataset.sample``).
    from_data(dataset) -> the config fields the data decide (raises ValueError for data the
        family cannot take); an option the user gives overrides them.
    sample(objects, key, n) -> (n, ...) samples; evaluate(objects, dataset, key) -> the
        report's figures (``bits_per_example`` for a likelihood, ``mmd`` for a sampler).
    scorer(objects, held_out, seed) -> (score(objects) -> a float, or one per held-out row,
        its name): the validation metric, lower (mean) is better (None: the family has none,
        and says why in ``unscored``).
    log_likelihood(model, x, key) -> log p(x) per example in nats where the family has an
        exact one (a flow's ODE); None otherwise.
    recipes: the notebooks' defaults by data set name, "quantized" for quantized user data,
        None for any other data; ``own``: settings that make the family what it is, over its
        config's defaults (wgan-gp: Gulrajani et al.'s recipe). ``fixed`` fields are what
        the family is, not options.
    conditional(config) -> whether ``sample_at(objects, key, n, temperature)`` is needed.
    continuous: data of real values (a user's file may be standardised for it).
    patience: validation checks without improvement before stopping (0: never).
    run_record(config, train_config, dataset) -> what a shipped file's sidecar records.
    """

    name: str
    description: str
    config: type
    init: Callable[[Any, int], tuple]
    train_step: Callable[..., dict]
    sample: Callable
    evaluate: Callable[[tuple, Dataset, Any], dict]
    from_data: Callable[[Dataset], dict]
    batches: Callable[[Dataset, Any], Callable] | None = None
    scorer: Callable | None = None
    unscored: str = ""
    log_likelihood: Callable | None = None
    recipes: dict[str | None, Recipe] = field(default_factory=dict)
    own: dict[str, Any] = field(default_factory=dict)
    fixed: tuple[str, ...] = ()
    needs_labels: bool = False
    config_for: Callable[[dict], type] | None = None
    conditional: Callable[[Any], bool] = lambda config: False
    sample_at: Callable | None = None
    continuous: bool = True
    patience: int = 10
    run_record: Callable[[Any, Any, Dataset], dict] = _sidecar

    def batches_of(self, dataset: Dataset, config) -> Callable:
        return self.batches(dataset, config) if self.batches else dataset.sample

    def recipe(self, data: str | None, quantized: int | None = None) -> Recipe:
        """The recipe for ``data`` (a built-in name, or a path / None for a user's data)."""
        builtin = isinstance(data, str) and data in data_lib.REGISTRY
        if builtin and data in self.recipes:
            return self.recipes[data]
        if quantized and "quantized" in self.recipes:
            return self.recipes["quantized"]
        return self.recipes.get(None, Recipe())

    def describe_recipes(self) -> str:
        """The recipes, for ``train NAME --help``."""
        if not self.recipes:
            return "Defaults: the config's own (no notebook recipe for this model)."
        lines = ["Defaults are the notebooks' recipes, by data set (explicit options override "
                 "them; `--data NAME --help` shows NAME's defaults above; without --data, "
                 "those of other data):"]
        for data, r in self.recipes.items():
            settings = ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}"
                                 for k, v in (r.train | r.model).items())
            lines.append(f"  {data or 'other data'}: {settings}. From {r.source}.")
        return "\n".join(lines)

    def defaults(self, recipe: dict[str, Any] | None = None) -> dict[str, Any]:
        """The config's defaults, then the family's own settings, then the recipe's."""
        return {f.name: f.default for f in dataclasses.fields(self.config)
                if f.default is not dataclasses.MISSING} | self.own | (recipe or {})

    def config_class(self, values: dict[str, Any]) -> type:
        """The config class these field values make (DDPM: LevelsDDPMConfig for levels)."""
        return self.config_for(values) if self.config_for else self.config

    def make_config(self, dataset: Dataset, given: dict[str, Any],
                    recipe: dict[str, Any] | None = None):
        """The config: defaults, the recipe, what the data decide, then what was given."""
        values = self.defaults(recipe) | self.from_data(dataset) | given
        cls = self.config_class(values)
        names = {f.name for f in dataclasses.fields(cls)}
        unused = sorted(set(given) - names)
        if unused:
            raise ValueError(f"{', '.join('--' + k.replace('_', '-') for k in unused)} "
                             f"applies to {self.config.__name__} only, not to this data's "
                             f"{cls.__name__}")
        return cls(**{k: v for k, v in values.items() if k in names})
