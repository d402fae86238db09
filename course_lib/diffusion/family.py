"""The diffusion families as the command line, validation and the reports see them
(:class:`course_lib.family.Family`), with the notebooks' recipes as their defaults."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from course_lib import ising
from course_lib.data import Dataset
from course_lib.diffusion import lattice
from course_lib.diffusion.binomial import BinomialConfig, BinomialDiffusion, binomial_train_step
from course_lib.diffusion.ddpm import DDPM, DDPMConfig, LevelsDDPMConfig, ddpm_train_step
from course_lib.diffusion.elbo import bits_draws, bits_summary
from course_lib.diffusion.vdm import VDM, VDMConfig, vdm_train_step
from course_lib.family import Family, Recipe, dim, examples, initializer


def evaluate(objects, dataset, key):
    """Held-out bits per example (the negative ELBO), with the draws per example kept."""
    x = examples(dataset, key, 2000)
    if getattr(objects[0].config, "levels", 0) and np.abs(x).max() > 1:
        raise ValueError("this model was trained on quantized data in [-1, 1]; the evaluation "
                         "data must be scaled the same way")
    # One draw of a continuous-time ELBO varies by tens of bits on 2-D data (the low-noise
    # end): draws enough that the error bar is the examples', not the Monte-Carlo's (on the
    # crescent, 10 draws: paired error 0.14 bits; 100: 0.05; 1000: 0.02); 10 to 100 per
    # example, up to 1000 on data of a few dimensions, where draws are cheap.
    scale = _low_dim_scale(x.shape[1])
    repeats = int(np.clip(200_000 * scale // len(x), 10, 100 * scale))
    draws = bits_draws(objects[0], x, key, repeats)  # evaluate_model_bits, keeping the draws
    return bits_summary(draws, x.shape[1]) | {"_per_example": draws.mean(0)}


def _low_dim_scale(dims: int) -> int:
    """How many times more ELBO draws per example data of ``dims`` numbers get: 10 for 2-D
    data (their draws cost little, and their Monte-Carlo noise dwarfs the differences that
    matter there), 1 from 20 dimensions up (digits: the figures stay what they were)."""
    return max(1, 20 // dims)


def elbo_scorer(objects, held_out: np.ndarray, seed: int):
    """Bits (negative ELBO) of each held-out row. A one-draw ELBO per example is noisy (its t
    and noise): enough draws that each check averages ~2000 (on 2-D data ~20,000: 100 rows x
    20 draws have a Monte-Carlo error of ~0.5 bits on a user's crescent, more than the later
    checkpoints of a decaying learning rate gain; 200,000 would cost as much as the
    training)."""
    x = jnp.asarray(held_out.reshape(len(held_out), -1), jnp.float32)
    scale = _low_dim_scale(x.shape[1])
    keys = jax.random.split(jax.random.key(seed),
                            int(np.clip(np.ceil(2000 * scale / len(held_out)), 1, 20 * scale)))
    return _bits_per_row(objects, x, keys)


def _bits_per_row(objects, x, keys):
    """(score, its name): each row's bits averaged over ``keys``, compiled once over the
    model's state (not a closure over it, which would freeze the weights), with the same keys
    at every check, else the best checkpoint would be the luckiest draw, not the best model."""
    graphdef, _ = nnx.split(objects[0])

    @jax.jit
    def bits(state):
        model = nnx.merge(graphdef, state)
        return jax.lax.map(lambda k: model.elbo_terms(x, k).bits(), keys).mean(0)

    return (lambda objs: np.asarray(bits(nnx.state(objs[0])))), "bits_per_example"


def _levels_from_data(dataset: Dataset) -> dict:
    """Quantized data in [-1, 1] give the decoder its levels (--levels says otherwise)."""
    bounded = dataset.value_range == (-1.0, 1.0)
    return {"data_dim": dim(dataset), "levels": dataset.levels if dataset.levels and bounded else 0}


def _binary_from_data(dataset: Dataset) -> dict:
    x = examples(dataset, jax.random.key(0), 1000)
    if not np.all((x == 0) | (x == 1)):
        raise ValueError(f"the binomial model needs binary data (0/1); '{dataset.name}' is not")
    return {"data_dim": dim(dataset)}


def _ddpm_class(values: dict) -> type:
    """Quantized data get the digits' fixed discretisation (LevelsDDPMConfig); a saved
    config without its gamma_1 (an older run) stays the plain DDPMConfig it was."""
    levels = values.get("levels", 0)
    quantized = isinstance(levels, int) and levels >= 2
    return LevelsDDPMConfig if quantized and "gamma_1" in values else DDPMConfig


def _diffusion(name, description, config, init, train_step, recipes,
               from_data=_levels_from_data, config_for=None, continuous=True):
    return Family(name=name, description=description, config=config, init=init,
                  train_step=train_step, sample=lambda objects, key, n: objects[0].sample(key, n),
                  evaluate=evaluate, scorer=elbo_scorer, from_data=from_data,
                  config_for=config_for, recipes=recipes, continuous=continuous)


# ------------------------------------------------------------------------------- lattices


def _spins_from_data(dataset: Dataset) -> dict:
    x = np.asarray(dataset.data if dataset.data is not None
                   else dataset.sample(jax.random.key(0), 1000))
    if x.ndim != 3 or x.shape[1] != x.shape[2] or not np.all(np.abs(x) == 1):
        raise ValueError(f"the lattice model needs square spin configurations, shape (n, L, L) "
                         f"with values -1/+1 (e.g. --data ising); '{dataset.name}' has examples "
                         f"of shape {x.shape[1:]}")
    return {"L": int(x.shape[1])}


def _lattice_evaluate(objects, dataset, key):
    """Held-out bits per spin, and E/N and <|m|> of 1000 samples next to the data's."""
    x = np.asarray(dataset.data if dataset.data is not None else dataset.sample(key, 2000))
    x = x[:2000].astype(np.float32)
    out = lattice.bits_per_spin(objects[0], x, key, repeats=4)
    generated = lattice.generate(objects[0], jax.random.fold_in(key, 1), 1000)
    for name, s in (("generated", generated), ("data", x)):
        thermo = ising.thermodynamics(s, 1.0)  # E/N and |m| do not depend on T
        out |= {f"{name}_energy": thermo["energy"][0], f"{name}_abs_m": thermo["abs_m"][0]}
    return out


def _lattice_scorer(objects, held_out: np.ndarray, seed: int):
    """Bits per configuration (negative ELBO) of up to 1000 held-out lattices, 4 draws each
    (the command line's lattices are unconditional)."""
    return _bits_per_row(objects, jnp.asarray(held_out[:1000], jnp.float32),
                         jax.random.split(jax.random.key(seed), 4))


LATTICE = Family(
    name="lattice", description="binomial diffusion of spin lattices (n, L, L) with a periodic "
                                "conv denoiser (the Ising model)",
    config=lattice.LatticeDiffusionConfig, init=initializer(lattice.LatticeDiffusion),
    train_step=lattice.train_step,
    sample=lambda objects, key, n: lattice.generate(objects[0], key, n),
    sample_at=lambda objects, key, n, temperature: lattice.generate(objects[0], key, n,
                                                                    temperature),
    conditional=lambda config: config.conditional, evaluate=_lattice_evaluate,
    scorer=_lattice_scorer, from_data=_spins_from_data, fixed=("conditional",),
    continuous=False, batches=lambda dataset, config: lattice.symmetrised(dataset.sample))


# ------------------------------------------------------------------- the notebooks' recipes

_WEEK17 = "notebooks/week17_diffusion.py"
_DIGITS_DDPM = Recipe({"hidden": (512, 512, 512), "loss": "hybrid", "learn_variance": True,
                       "gamma_1": -7.5, "gamma_T": 6.0}, {"steps": 6000, "batch_size": 128},
                      f"{_WEEK17}, 'Digits, in bits per dimension': 'DDPM, discretisation "
                      "fixed' (LevelsDDPMConfig)")
_MOONS_DDPM = Recipe({"T": 100, "beta_1": 1e-3, "beta_T": 0.2, "loss": "elbo",
                      "hidden": (128, 128, 128)}, {"steps": 4000, "batch_size": 256},
                     f"{_WEEK17}, 'the three parameterisations' on the moons")
_DIGITS_VDM = Recipe({"hidden": (512, 512, 512), "lr": 1e-3}, {"steps": 6000, "batch_size": 128},
                     f"{_WEEK17}, the digits' VDM")
_ROLL_VDM = Recipe({"hidden": (256, 256, 256), "lr": 3e-3}, {"steps": 8000, "batch_size": 256},
                   f"{_WEEK17}, 'Continuous time': the swiss roll's VDM")
# chosen by validation on a user's 1000-row crescent (tools/user_data.py, 100 held-out rows x
# 100 ELBO draws): the moons' recipe (T = 100, fixed variances) 3.79 +- 0.60 bits, T = 1000
# alone 2.78 +- 1.02, with Nichol & Dhariwal's hybrid loss and learned variances 1.18 +- 0.74.
# Then (the same rows, 4000 draws each, paired against that recipe's 0.593): its learning rate
# falling along a cosine to 0 over its 4000 steps -0.022 +- 0.042, over 8000 -0.087 +- 0.034,
# 16000 -0.134 +- 0.028, 32000 -0.142 +- 0.035 (twice the time for -0.007 +- 0.017 more);
# 16000 at lr 3e-3 +0.029 +- 0.034 against 1e-3; 8000 with 256 units -0.108 +- 0.029 (3 times
# the time); the cosine beta schedule (8000, decayed) +1.101 +- 0.135; 16000 decayed on the
# ELBO (variances learned) -0.014 +- 0.012 against the hybrid loss (-0.023 +- 0.004 on the
# 8-bit spiral, below): the ELBO for both. On 2000 fresh rows (make recipes) KDE - model:
# crescent +0.002 +- 0.051, clusters +0.014 +- 0.050 (was -0.104, -0.344): a tie, not a win
_USER_DDPM = Recipe({"T": 1000, "beta_1": 1e-4, "beta_T": 0.02, "loss": "elbo",
                     "learn_variance": True, "hidden": (128, 128, 128), "decay_steps": 16_000},
                    {"steps": 16_000, "batch_size": 256},
                    f"the moons' network ({_WEEK17}) with Ho et al.'s T = 1000 schedule, "
                    "learned variances (Nichol & Dhariwal 2021), trained on the ELBO with the "
                    "learning rate falling along a cosine to 0 over 16000 steps, chosen by "
                    "validation on a user's 2-D crescent; the data are standardised first")
# Quantized and user data take a named data set's recipe, with a note saying whose (one copy
# of the numbers, so the two cannot drift apart).
DDPM_RECIPES = {
    "digits": _DIGITS_DDPM,
    # chosen by validation on a user's 1000-row 8-bit spiral (tools/user_data.py, 100 held-out
    # rows x 4000 ELBO draws): the digits' recipe 15.199 bits; the user recipe above (network,
    # steps, decay) with the digits' level decoder: on the hybrid loss 14.999, on the ELBO
    # 14.976 (-0.023 +- 0.004), gamma_1 = -9.2 or -11 (hybrid) +0.077 +- 0.011, +0.126 +- 0.021;
    # the linear betas' discretised Gaussian decoder (DDPMConfig, hybrid) +0.092 +- 0.126. With
    # the swiss roll VDM's network and rate (256 units, lr 3e-3), on the ELBO: gamma_1 = -9.2
    # 13.584, -11 13.524 (-0.060 +- 0.021), -13 14.283. At -7.5 the level decoder alone pays
    # 0.411 bits above the exact pmf on fresh rows, at -9.2 0.093, at -11 0.016 (user_data.py
    # --decoder-excess), the KDE 0.185 (--truth): a smaller gamma_1 leaves the room. On 2000
    # fresh rows KDE - model +0.026 +- 0.018 (was -1.841). The betas are left out: the levels'
    # schedule is linear in gamma (LevelsDDPMConfig)
    "quantized": Recipe({k: v for k, v in _USER_DDPM.model.items() if k[:4] != "beta"}
                        | {"hidden": (256, 256, 256), "lr": 3e-3, "gamma_1": -11.0,
                           "gamma_T": 6.0},
                        _USER_DDPM.train,
                        "the user recipe (other data) with the swiss roll VDM's network "
                        f"and learning rate ({_WEEK17}) and the digits' fixed discretisation "
                        "(LevelsDDPMConfig) from gamma_1 = -11, chosen over the digits' recipe "
                        "by validation on a user's 8-bit 2-D spiral"),
    "moons": _MOONS_DDPM,
    None: _USER_DDPM,
}
VDM_RECIPES = {
    "digits": _DIGITS_VDM,
    # chosen by validation between the notebook's two VDM recipes on the 8-bit spiral of
    # tools/user_data.py (held-out bits 14.357 against the digits' 15.608); then, on its 100
    # held-out rows with 4000 ELBO draws each, the learning rate falling along a cosine to 0
    # over 16000 steps 13.484 against 13.539 over 8000 (paired -0.055 +- 0.041); on 2000 fresh
    # rows 13.293 and 13.425 bits, the 8000 steps without the decay 13.831 (KDE 13.339)
    "quantized": Recipe(_ROLL_VDM.model | {"decay_steps": 16_000},
                        _ROLL_VDM.train | {"steps": 16_000},
                        f"the swiss roll's VDM ({_WEEK17}), chosen over the digits' by "
                        "validation on a user's 8-bit 2-D spiral (1000 rows), trained twice as "
                        "long with its learning rate falling along a cosine to 0 (validation "
                        "again)"),
    "swiss_roll": _ROLL_VDM,
    # chosen by validation on a user's 1000-row crescent (tools/user_data.py; the 100 held-out
    # rows, 4000 ELBO draws each): the swiss roll's recipe 0.727 bits, with its learning rate
    # falling along a cosine to 0 0.589 (paired -0.138 +- 0.026), 16000 steps so 0.650,
    # with the variance-trained schedule 0.731 (0.585 with the decay over 16000 steps, twice
    # the time). On 2000 fresh rows KDE - model: crescent 0.054 +- 0.020, clusters
    # 0.074 +- 0.021 bits per example (the exact density beats the KDE by 0.089 and 0.123)
    None: Recipe(_ROLL_VDM.model | {"decay_steps": 8000}, _ROLL_VDM.train,
                 f"the swiss roll's VDM ({_WEEK17}) with its learning rate falling along a "
                 "cosine to 0 over the 8000 steps, chosen by validation on a user's 2-D "
                 "crescent; the data are standardised first"),
}

BINOMIAL_RECIPES = {
    "heartbeat": Recipe({"T": 2000, "hidden": (50, 50, 50), "lr": 1e-3, "p_T": 0.2},
                        {"steps": 12_000, "batch_size": 256},
                        f"{_WEEK17}, 'Binary data: the heartbeat': bound -2.362 bits per "
                        "sequence (paper -2.414, true -2.322)"),
    None: Recipe({"T": 2000}, {"steps": 12_000, "batch_size": 256},
                 f"the heartbeat's recipe ({_WEEK17})"),
}

# Adam as in Ho et al.; AdamW for VDM as in google-research/vdm
FAMILIES = (
    _diffusion("ddpm", "discrete-time Gaussian diffusion (Ho et al. 2020), ELBO in bits; on "
                       "quantized data with the digits' fixed discretisation "
                       "(LevelsDDPMConfig: --gamma-1, --gamma-T)", LevelsDDPMConfig,
               initializer(DDPM, optax.adam), ddpm_train_step, DDPM_RECIPES,
               config_for=_ddpm_class),
    _diffusion("vdm", "continuous-time variational diffusion (Kingma et al. 2021), learned "
                      "schedule", VDMConfig, initializer(VDM, optax.adamw), vdm_train_step,
               VDM_RECIPES),
    _diffusion("binomial", "binomial diffusion on binary data (Sohl-Dickstein et al. 2015)",
               BinomialConfig, initializer(BinomialDiffusion, optax.adam), binomial_train_step,
               BINOMIAL_RECIPES, from_data=_binary_from_data, continuous=False),
    LATTICE,
)
