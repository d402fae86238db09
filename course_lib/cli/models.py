"""The models the command line trains, samples and evaluates: an explicit table.

Each :class:`ModelSpec` names a model family's config dataclass and functions; the command
line generates the model's options from the config (:mod:`course_lib.cli.options`). A
``recipe`` gives the model's defaults where they differ from the config's (shown by
``--help``); ``fixed`` fields are part of what the model is and are not options.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import baseline, gan, metrics
from course_lib import diffusion as dm
from course_lib.data import Dataset
from course_lib.diffusion import lattice


@dataclass(frozen=True)
class ModelSpec:
    """How the command line drives one model.

    config: the frozen config dataclass; init(config, seed) -> the NNX objects (models and
        optimizers) that train_step(*objects, batch, key) -> metrics updates.
    from_data(dataset, given) -> the config fields the data decide (data_dim, ...); raises
        ValueError for data the model cannot take. ``given``: the options the user gave.
    batches(dataset, config) -> sample_batch(key, n) (default: ``dataset.sample``).
    sample(objects, key, n) -> (n, data_dim) array; evaluate(objects, dataset, key) -> dict.
    """

    name: str
    description: str
    config: type
    init: Callable[[Any, int], tuple]
    train_step: Callable[..., dict]
    sample: Callable[[tuple, jax.Array, int], Any]
    evaluate: Callable[[tuple, Dataset, jax.Array], dict]
    from_data: Callable[[Dataset, dict], dict]
    recipe: dict[str, Any] = field(default_factory=dict)
    fixed: tuple[str, ...] = ()
    batches: Callable[[Dataset, Any], Callable] | None = None
    needs_labels: bool = False
    config_for: Callable[[dict], type] | None = None
    likelihood: bool = False

    def defaults(self, recipe: dict[str, Any] | None = None) -> dict[str, Any]:
        """The config's defaults, then the model's own recipe, then the data set's
        (:mod:`course_lib.cli.recipes`)."""
        return {f.name: f.default for f in dataclasses.fields(self.config)
                if f.default is not dataclasses.MISSING} | self.recipe | (recipe or {})

    def config_class(self, values: dict[str, Any]) -> type:
        """The config class these field values make (DDPM: LevelsDDPMConfig for levels)."""
        return self.config_for(values) if self.config_for else self.config

    def make_config(self, dataset: Dataset, given: dict[str, Any],
                    recipe: dict[str, Any] | None = None):
        values = self.defaults(recipe) | self.from_data(dataset, given) | given
        cls = self.config_class(values)
        names = {f.name for f in dataclasses.fields(cls)}
        unused = sorted(set(given) - names)
        if unused:
            raise ValueError(f"{', '.join('--' + k.replace('_', '-') for k in unused)} "
                             f"applies to {self.config.__name__} only, not to this data's "
                             f"{cls.__name__}")
        return cls(**{k: v for k, v in values.items() if k in names})


def _examples(dataset: Dataset, key, n: int) -> np.ndarray:
    """The data set's own examples, or n fresh draws from a generator."""
    x = dataset.data if dataset.data is not None else dataset.sample(key, n)
    return np.asarray(x).reshape(len(x), -1)


def _dim(dataset: Dataset) -> int:
    return int(np.prod(dataset.shape))


# ----------------------------------------------------------------------------- the baseline


def _gaussian_evaluate(objects, dataset, key):
    x = jnp.asarray(_examples(dataset, key, 10_000))
    bits = np.asarray(metrics.nats_to_bits(-objects[0].log_prob(x)), np.float64)
    nll = float(bits.mean() * metrics.LOG2)
    stderr = float(bits.std(ddof=1) / np.sqrt(len(bits)))  # over the examples
    return {"nll_nats": nll, "bits_per_dim": metrics.bits_per_dim(nll, x.shape[1]),
            "bits_per_example": float(bits.mean()), "stderr_bits_per_example": stderr,
            "stderr_bits_per_dim": stderr / x.shape[1], "n": int(x.shape[0]),
            "_per_example": bits}


GAUSSIAN = ModelSpec(
    name="gaussian",
    description="diagonal Gaussian fitted by maximum likelihood (the baseline for bits/dim)",
    config=baseline.GaussianConfig, init=baseline.init, train_step=baseline.train_step,
    sample=lambda objects, key, n: objects[0].sample(key, n), evaluate=_gaussian_evaluate,
    from_data=lambda dataset, given: {"data_dim": _dim(dataset)})


# -------------------------------------------------------------------------------------- GANs


def _gan_evaluate(objects, dataset, key):
    """MMD to the data, and on mixtures (built in, or --means/--std) the mode metrics."""
    k1, k2 = jax.random.split(key)
    fake = np.asarray(gan.generate(objects[0], k1, 2500))
    real = _examples(dataset, k2, 2500)[:2500]
    out = {"mmd": float(metrics.mmd(fake, real))}
    if dataset.means is not None:
        modes, hq = metrics.mode_coverage(fake, dataset.means, dataset.std)
        out |= {"modes": modes, "modes_total": len(dataset.means), "high_quality": hq}
    return out


def _gan_from_data(dataset: Dataset, given: dict, conditional: bool = False) -> dict:
    bounded = (dataset.value_range or (None, None)) == (-1.0, 1.0)
    return {"data_dim": _dim(dataset), "out_act": "tanh" if bounded else None,
            "num_classes": (dataset.num_classes or 0) if conditional else 0}


def _gan(name, description, recipe=None, fixed=(), conditional=False):
    return ModelSpec(
        name=name, description=description, config=gan.GANConfig,
        init=gan.init, train_step=gan.train_step, batches=gan.batches,
        sample=lambda objects, key, n: gan.generate(objects[0], key, n),
        evaluate=_gan_evaluate, recipe=recipe or {}, fixed=fixed, needs_labels=conditional,
        from_data=lambda dataset, given: _gan_from_data(dataset, given, conditional))


# Gulrajani et al.'s toy recipe: 3 x 512 ReLU, 5 critic steps, Adam 1e-4 (0.5, 0.9), lambda 0.1
WGAN_GP = {"loss": "wgan_gp", "hidden": (512, 512, 512), "critic_steps": 5, "lr_g": 1e-4,
           "lr_d": 1e-4, "b1": 0.5, "b2": 0.9, "gp_weight": 0.1}


# --------------------------------------------------------------------------------- diffusion


def _levels_from_data(dataset: Dataset, given: dict) -> dict:
    """Quantized data in [-1, 1] give the decoder its levels, unless --levels says otherwise."""
    out = {"data_dim": _dim(dataset)}
    bounded = dataset.value_range == (-1.0, 1.0)
    if given.get("levels"):
        x = _examples(dataset, jax.random.key(0), 1000)
        if np.abs(x).max() > 1:
            raise ValueError("--levels needs data scaled to [-1, 1] (e.g. 2 * uint8 / 255 - 1)")
    else:
        out["levels"] = dataset.levels if (dataset.levels and bounded) else 0
    return out


def _binary_from_data(dataset: Dataset, given: dict) -> dict:
    x = _examples(dataset, jax.random.key(0), 1000)
    if not np.all((x == 0) | (x == 1)):
        raise ValueError(f"the binomial model needs binary data (0/1); '{dataset.name}' is not")
    return {"data_dim": _dim(dataset)}


def _diffusion_evaluate(objects, dataset, key):
    x = _examples(dataset, key, 2000)
    if getattr(objects[0].config, "levels", 0) and np.abs(x).max() > 1:
        raise ValueError("this model was trained on quantized data in [-1, 1]; the evaluation "
                         "data must be scaled the same way")
    draws = dm.bits_draws(objects[0], x, key)  # what dm.evaluate_model_bits does, keeping
    return dm.bits_summary(draws, x.shape[1]) | {"_per_example": draws.mean(0)}  # the draws


def _ddpm_class(values: dict) -> type:
    """Quantized data get the digits' fixed discretisation (LevelsDDPMConfig); a saved
    config without its gamma_1 (an older run) stays the plain DDPMConfig it was."""
    levels = values.get("levels", 0)
    quantized = isinstance(levels, int) and levels >= 2
    return dm.LevelsDDPMConfig if quantized and "gamma_1" in values else dm.DDPMConfig


def _diffusion(name, description, config, from_data=_levels_from_data, config_for=None):
    return ModelSpec(name=name, description=description, config=config, init=dm.init,
                     train_step=dm.train_step_of(config),
                     sample=lambda objects, key, n: objects[0].sample(key, n),
                     evaluate=_diffusion_evaluate, from_data=from_data, config_for=config_for,
                     likelihood=True)


def _spins_from_data(dataset: Dataset, given: dict) -> dict:
    x = np.asarray(dataset.data if dataset.data is not None
                   else dataset.sample(jax.random.key(0), 1000))
    if x.ndim != 3 or x.shape[1] != x.shape[2] or not np.all(np.abs(x) == 1):
        raise ValueError(f"the lattice model needs square spin configurations, shape (n, L, L) "
                         f"with values -1/+1 (e.g. --data ising); '{dataset.name}' has examples "
                         f"of shape {x.shape[1:]}")
    return {"L": int(x.shape[1])}


def _lattice_evaluate(objects, dataset, key):
    """Held-out bits per spin, and E/N and <|m|> of 1000 samples next to the data's."""
    from course_lib import ising

    x = np.asarray(dataset.data if dataset.data is not None else dataset.sample(key, 2000))
    x = x[:2000].astype(np.float32)
    out = lattice.bits_per_spin(objects[0], x, key, repeats=4)
    generated = lattice.generate(objects[0], jax.random.fold_in(key, 1), 1000)
    for name, s in (("generated", generated), ("data", x)):
        thermo = ising.thermodynamics(s, 1.0)  # E/N and |m| do not depend on T
        out |= {f"{name}_energy": thermo["energy"][0], f"{name}_abs_m": thermo["abs_m"][0]}
    return out


LATTICE = ModelSpec(
    name="lattice", description="binomial diffusion of spin lattices (n, L, L) with a periodic "
                                "conv denoiser (the Ising model)",
    config=lattice.LatticeDiffusionConfig, init=lattice.init, train_step=lattice.train_step,
    sample=lambda objects, key, n: lattice.generate(objects[0], key, n),
    evaluate=_lattice_evaluate, from_data=_spins_from_data, fixed=("conditional",),
    batches=lambda dataset, config: lattice.symmetrised(dataset.sample))


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in [
    GAUSSIAN,
    _gan("gan", "GAN (Goodfellow et al. 2014); --loss picks the game, every other setting "
                "stays as given"),
    _gan("wgan-gp", "Wasserstein GAN with gradient penalty, Gulrajani et al.'s toy recipe",
         recipe=WGAN_GP, fixed=("loss",)),
    _gan("cgan", "conditional GAN: class labels (from the data's 'y') into both networks",
         conditional=True),
    _diffusion("ddpm", "discrete-time Gaussian diffusion (Ho et al. 2020), ELBO in bits; on "
                       "quantized data with the digits' fixed discretisation "
                       "(LevelsDDPMConfig: --gamma-1, --gamma-T)",
               dm.LevelsDDPMConfig, config_for=_ddpm_class),
    _diffusion("vdm", "continuous-time variational diffusion (Kingma et al. 2021), learned "
                      "schedule", dm.VDMConfig),
    _diffusion("binomial", "binomial diffusion on binary data (Sohl-Dickstein et al. 2015)",
               dm.BinomialConfig, from_data=_binary_from_data),
    LATTICE,
]}


def get(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ValueError(f"unknown model '{name}'; accepted: {', '.join(sorted(MODELS))}")
    return MODELS[name]
