"""The command line's defaults: the recipes the notebooks show working, per model and data set.

A user who types ``train MODEL --data NAME`` gets the notebook's result without tuning: the
training length, batch size, widths, learning-rate schedule and noise of the notebook's own
run are the defaults, and ``train MODEL --data NAME --help`` shows them with where the
notebook shows the result. Any option given on the command line overrides its recipe value.

``RECIPES[model][data]`` holds the built-in data sets' recipes; ``RECIPES[model][None]`` is
the recipe for any other data (a user's file), the nearest the notebooks come to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from course_lib import data as data_lib


@dataclass(frozen=True)
class Recipe:
    """model: fields of the model's config; train: fields of TrainConfig; source: where a
    notebook shows the recipe working, and what it reaches there."""

    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    source: str = ""


# week16_gans, "GAN, 20k + decay + noise": 12,000 steps at 1e-3, then a cosine of both rates
# to 0 over 8,000 more; instance noise annealed to 0 over the first 10,000 steps.
_GAN_MODES = {"hidden": (128, 128, 128), "latent_dim": 2, "lr_g": 1e-3, "lr_d": 1e-3,
              "decay_start": 12_000, "decay_steps": 8_000, "noise_anneal_steps": 10_000}
_GAN_TRAIN = {"steps": 20_000, "batch_size": 512}
_WEEK16 = "notebooks/week16_gans.py, 'GAN, 20k + decay + noise' in the mode-coverage table"
_WEEK17 = "notebooks/week17_diffusion.py"
# week17_diffusion, "DDPM, discretisation fixed" on the digits (LevelsDDPMConfig)
_LEVELS_DDPM = {"hidden": (512, 512, 512), "loss": "hybrid", "learn_variance": True,
                "gamma_1": -7.5, "gamma_T": 6.0}

_MOONS_DDPM = {"T": 100, "beta_1": 1e-3, "beta_T": 0.2, "loss": "elbo", "hidden": (128, 128, 128)}
_DIGITS_VDM = {"hidden": (512, 512, 512), "lr": 1e-3}
_ROLL_VDM = {"hidden": (256, 256, 256), "lr": 3e-3}

_RING_RECIPE = Recipe(_GAN_MODES | {"instance_noise": 0.2}, _GAN_TRAIN,
                      f"{_WEEK16}: 8/8 modes, 98.8% high quality (5 seeds)")
_DIGITS_DDPM_RECIPE = Recipe(_LEVELS_DDPM, {"steps": 6000, "batch_size": 128},
                             f"{_WEEK17}, 'Digits, in bits per dimension': 'DDPM, "
                             "discretisation fixed' (LevelsDDPMConfig)")
_MOONS_DDPM_RECIPE = Recipe(_MOONS_DDPM, {"steps": 4000, "batch_size": 256},
                            f"{_WEEK17}, 'the three parameterisations' on the moons")
_DIGITS_VDM_RECIPE = Recipe(_DIGITS_VDM, {"steps": 6000, "batch_size": 128},
                            f"{_WEEK17}, the digits' VDM")
_ROLL_VDM_RECIPE = Recipe(_ROLL_VDM, {"steps": 8000, "batch_size": 256},
                          f"{_WEEK17}, 'Continuous time': the swiss roll's VDM")

# Quantized and user data take a named data set's recipe, with a note saying whose (one copy
# of the numbers, so the two cannot drift apart).
RECIPES: dict[str, dict[str | None, Recipe]] = {
    "gan": {
        "ring": _RING_RECIPE,
        "grid": Recipe(_GAN_MODES | {"instance_noise": 0.5}, _GAN_TRAIN,
                       f"{_WEEK16}: 25/25 modes, 96.9% high quality (5 seeds)"),
        None: replace(_RING_RECIPE, source=f"the ring's recipe ({_WEEK16}); the data are "
                      "standardised first, so the noise is in units of the data's standard "
                      "deviation"),
    },
    "binomial": {
        "heartbeat": Recipe({"T": 2000, "hidden": (50, 50, 50), "lr": 1e-3, "p_T": 0.2},
                            {"steps": 12_000, "batch_size": 256},
                            f"{_WEEK17}, 'Binary data: the heartbeat': bound -2.362 bits per "
                            "sequence (paper -2.414, true -2.322)"),
        None: Recipe({"T": 2000}, {"steps": 12_000, "batch_size": 256},
                     f"the heartbeat's recipe ({_WEEK17})"),
    },
    "ddpm": {
        "digits": _DIGITS_DDPM_RECIPE,
        "quantized": replace(_DIGITS_DDPM_RECIPE,
                             source=f"the digits' recipe ({_WEEK17}, LevelsDDPMConfig)"),
        "moons": _MOONS_DDPM_RECIPE,
        None: replace(_MOONS_DDPM_RECIPE, source=f"the moons' recipe ({_WEEK17}); the data are "
                      "standardised first"),
    },
    "vdm": {
        "digits": _DIGITS_VDM_RECIPE,
        "quantized": replace(_DIGITS_VDM_RECIPE, source=f"the digits' VDM ({_WEEK17})"),
        "swiss_roll": _ROLL_VDM_RECIPE,
        None: replace(_ROLL_VDM_RECIPE, source=f"the swiss roll's VDM ({_WEEK17}); the data are "
                      "standardised first"),
    },
}

def recipe(model: str, data: str | None, quantized: bool = False) -> Recipe:
    """The recipe of ``model`` on ``data`` (a built-in name, or None / a path for user data);
    an empty recipe for a model without one (its config's defaults then apply)."""
    table = RECIPES.get(model, {})
    if data in table:
        return table[data]
    if quantized and "quantized" in table:
        return table["quantized"]
    return table.get(None, Recipe())


def recipe_of(model: str, data: str, quantized: int | None = None) -> Recipe:
    """The notebook recipe that gives ``model`` on ``data`` its defaults."""
    builtin = isinstance(data, str) and data in data_lib.REGISTRY
    return recipe(model, data if builtin else None, quantized=bool(quantized))


def describe(model: str) -> str:
    """The recipes of ``model``, for ``train MODEL --help``."""
    table = RECIPES.get(model)
    if not table:
        return "Defaults: the config's own (no notebook recipe for this model)."
    lines = ["Defaults are the notebooks' recipes, by data set (explicit options override "
             "them; `--data NAME --help` shows NAME's defaults above; without --data, "
             "those of other data):"]
    for data, r in table.items():
        settings = ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}"
                             for k, v in (r.train | r.model).items())
        lines.append(f"  {data or 'other data'}: {settings}. From {r.source}.")
    return "\n".join(lines)
