"""``python -m course_lib pretrained regenerate NAME``: rebuild one pretrained file alone.

Each recipe reads the file's sidecar (how the model was built and trained), calls the library
function the notebook calls (:func:`course_lib.diffusion.fit`, :func:`course_lib.gan.fit`)
with ``retrain=True``, and so rewrites the weights and the sidecar. JAX on a CPU is
bit-reproducible: a regenerated file has the sha256 it had (``pretrained check NAME`` says).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

from course_lib import data, gan
from course_lib import diffusion as dm
from course_lib.config import from_dict
from course_lib.data import Dataset
from course_lib.pretrained import PRETRAINED_DIR, sha256
from course_lib.train import TrainConfig

COMMAND = "python -m course_lib pretrained regenerate {name}"


def _diffusion(config_class: type, dataset: Callable[[], Dataset] | None = None):
    """A week17 model trained by dm.fit; the data set by its recorded name unless given."""

    def regenerate(name: str, saved: dict) -> None:
        train_config = from_dict(TrainConfig, saved["train"])
        ds = dataset() if dataset else data.get(saved["data"])
        if ds.name != saved["data"]:
            raise ValueError(f"'{name}' was trained on '{saved['data']}', the recipe gives "
                             f"'{ds.name}'")
        dm.fit(from_dict(config_class, saved["model"]), ds, train_config,
               seed=train_config.seed, name=name, retrain=True)

    return regenerate


def _gan(dataset: str):
    """A week16 mode-coverage generator trained by gan.fit on a built-in mixture."""

    def regenerate(name: str, saved: dict) -> None:
        gan.fit(from_dict(gan.GANConfig, saved["gan"]), data.get(dataset),
                from_dict(TrainConfig, saved["train"]), name=name, retrain=True)

    return regenerate


def _lattice(name: str, saved: dict) -> None:
    """A week17_ising model: lattice.fit on the Metropolis set its sidecar's ``data`` names
    (:func:`course_lib.ising.metropolis_at`), temperatures attached when conditional."""
    import numpy as np
    from flax import nnx

    from course_lib import ising
    from course_lib.diffusion import lattice
    from course_lib.pretrained import train_or_load

    config = from_dict(lattice.LatticeDiffusionConfig, saved["model"])
    train_config, spec = from_dict(TrainConfig, saved["train"]), saved["data"]
    model = lattice.LatticeDiffusion(config, rngs=nnx.Rngs(0))
    temperatures = (np.repeat(np.asarray(spec["temperatures"], np.float32), spec["n_chains"])
                    if config.conditional else None)
    train_or_load(name, (model,), lambda: lattice.fit(model, ising.metropolis_at(**spec),
                                                      train_config, temperatures),
                  retrain=True, config={"model": config, "train": train_config, "data": spec},
                  command=COMMAND.format(name=name))


RECIPES: dict[str, Callable[[str, dict], None]] = {
    "week17_ising/critical": _lattice,
    "week17_ising/conditional": _lattice,
    "week16_gans/grid_3k_pack4_seed0": _gan("grid"),
    **{f"week17_diffusion/moons_{p}": _diffusion(dm.DDPMConfig) for p in ("noise", "x0", "score")},
    "week17_diffusion/roll_ddpm": _diffusion(dm.DDPMConfig),
    "week17_diffusion/roll_ddpm_fixed_variance": _diffusion(dm.DDPMConfig),
    "week17_diffusion/roll_vdm": _diffusion(dm.VDMConfig),
    "week17_diffusion/heartbeat_binomial": _diffusion(dm.BinomialConfig),
    "week17_diffusion/heartbeat_binomial_T200": _diffusion(dm.BinomialConfig),
    "week17_diffusion/digits_ddpm": _diffusion(dm.DDPMConfig, lambda: data.digits("train")),
    "week17_diffusion/digits_vdm": _diffusion(dm.VDMConfig, lambda: data.digits("train")),
    **{f"week16_gans/{d}_{run}_seed{s}": _gan(d) for d in ("ring", "grid")
       for run in ("3k", "20k_decay", "20k_decay_noise") for s in range(5)},
}


def sidecar_path(name: str) -> Path:
    path = PRETRAINED_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"no pretrained file '{name}' (its sidecar {path} is missing)")
    return path


def sha256_of(name: str) -> str | None:
    """The sha256 of the weights of ``name`` now (None when missing)."""
    weights = PRETRAINED_DIR / f"{name}.npz"
    return sha256(weights) if weights.is_file() else None


def regenerate(name: str) -> str:
    """Retrain ``name`` with its recipe; returns the new sha256 of its weights."""
    if name not in RECIPES:
        raise ValueError(f"no recipe regenerates '{name}'; `python -m course_lib pretrained "
                         f"list` shows the command that rebuilds each file")
    RECIPES[name](name, json.loads(sidecar_path(name).read_text())["config"])
    return sha256(PRETRAINED_DIR / f"{name}.npz")


def check_command(command: str, parse: Callable[[list[str]], object]) -> None:
    """Raise ValueError unless ``command`` is one the project can run: a ``python -m
    course_lib ...`` line that ``parse`` (the CLI's parser) accepts, with a recipe for a
    ``pretrained regenerate NAME``, or ``COURSE_RETRAIN=1 make notebook NB=<an existing
    notebook>``."""
    words = shlex.split(command)
    if words[:3] == ["python", "-m", "course_lib"]:
        parse(words[3:])
        if words[3:5] == ["pretrained", "regenerate"] and words[5] not in RECIPES:
            raise ValueError(f"no recipe for '{words[5]}'")
        return
    root = PRETRAINED_DIR.parent.parent
    if (len(words) == 4 and words[:3] == ["COURSE_RETRAIN=1", "make", "notebook"]
            and words[3].startswith("NB=") and (root / words[3][3:]).is_file()):
        return
    raise ValueError(f"not a command the project can run: {command!r}")


def names() -> list[str]:
    """Every shipped pretrained file, as "<notebook>/<model>"."""
    return sorted(p.relative_to(PRETRAINED_DIR).with_suffix("").as_posix()
                  for p in Path(PRETRAINED_DIR).rglob("*.npz"))
