"""The GAN families as the command line, validation and the reports see them
(:class:`course_lib.family.Family`), with the notebooks' recipes as their defaults."""

from __future__ import annotations

from dataclasses import replace

import jax
import numpy as np
from flax import nnx

from course_lib import metrics
from course_lib.data import Dataset
from course_lib.family import Family, Recipe, dim, examples
from course_lib.gan.models import GANConfig, generate, init
from course_lib.gan.steps import batches, train_step


def evaluate(objects, dataset, key):
    """MMD to the data, and on mixtures (built in, or --means/--std) the mode metrics."""
    k1, k2 = jax.random.split(key)
    fake = np.asarray(generate(objects[0], k1, 2500))
    real = examples(dataset, k2, 2500)[:2500]
    out = {"mmd": float(metrics.mmd(fake, real))}
    if dataset.means is not None:
        modes, hq = metrics.mode_coverage(fake, dataset.means, dataset.std)
        out |= {"modes": modes, "modes_total": len(dataset.means), "high_quality": hq}
    return out


def scorer(objects, held_out: np.ndarray, seed: int):
    """MMD of up to 1000 samples to as many held-out rows, compiled once over G's state (a
    conditional generator draws its labels uniformly: the score is of the marginal)."""
    x = held_out.reshape(len(held_out), -1).astype(np.float32)
    n, key = min(len(held_out), 1000), jax.random.key(seed)
    graphdef, _ = nnx.split(objects[0])

    @jax.jit
    def draw(state):
        return generate(nnx.merge(graphdef, state), key, n)

    return (lambda objs: float(metrics.mmd(draw(nnx.state(objs[0])), x[:n]))), "mmd"


def _from_data(dataset: Dataset, conditional: bool = False) -> dict:
    bounded = (dataset.value_range or (None, None)) == (-1.0, 1.0)
    return {"data_dim": dim(dataset), "out_act": "tanh" if bounded else None,
            "num_classes": (dataset.num_classes or 0) if conditional else 0}


def _record(config, train_config, dataset) -> dict:
    return {"gan": config, "train": train_config}


def _family(name, description, recipes=None, own=None, fixed=(), conditional=False):
    return Family(
        name=name, description=description, config=GANConfig, init=init,
        train_step=train_step, batches=batches,
        sample=lambda objects, key, n: generate(objects[0], key, n), evaluate=evaluate,
        scorer=scorer, recipes=recipes or {}, own=own or {}, fixed=fixed,
        needs_labels=conditional, patience=0, run_record=_record,
        from_data=lambda dataset: _from_data(dataset, conditional))


# week16_gans, "GAN, 20k + decay + noise": 12,000 steps at 1e-3, then a cosine of both rates
# to 0 over 8,000 more; instance noise annealed to 0 over the first 10,000 steps.
_MODES = {"hidden": (128, 128, 128), "latent_dim": 2, "lr_g": 1e-3, "lr_d": 1e-3,
          "decay_start": 12_000, "decay_steps": 8_000, "noise_anneal_steps": 10_000}
_TRAIN = {"steps": 20_000, "batch_size": 512}
_WEEK16 = "notebooks/week16_gans.py, 'GAN, 20k + decay + noise' in the mode-coverage table"
_RING = Recipe(_MODES | {"instance_noise": 0.2}, _TRAIN,
               f"{_WEEK16}: 8/8 modes, 98.8% high quality (5 seeds)")
RECIPES = {
    "ring": _RING,
    "grid": Recipe(_MODES | {"instance_noise": 0.5}, _TRAIN,
                   f"{_WEEK16}: 25/25 modes, 96.9% high quality (5 seeds)"),
    None: replace(_RING, source=f"the ring's recipe ({_WEEK16}); the data are standardised "
                  "first, so the noise is in units of the data's standard deviation"),
}
# Gulrajani et al.'s toy recipe: 3 x 512 ReLU, 5 critic steps, Adam 1e-4 (0.5, 0.9), lambda 0.1
WGAN_GP = {"loss": "wgan_gp", "hidden": (512, 512, 512), "critic_steps": 5, "lr_g": 1e-4,
           "lr_d": 1e-4, "b1": 0.5, "b2": 0.9, "gp_weight": 0.1}

FAMILIES = (
    _family("gan", "GAN (Goodfellow et al. 2014); --loss picks the game, every other setting "
                   "stays as given", recipes=RECIPES),
    _family("wgan-gp", "Wasserstein GAN with gradient penalty, Gulrajani et al.'s toy recipe",
            own=WGAN_GP, fixed=("loss",)),
    _family("cgan", "conditional GAN: class labels (from the data's 'y') into both networks",
            conditional=True),
)
