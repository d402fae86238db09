"""``python -m course_lib pretrained regenerate NAME``: rebuild one shipped file alone, with
its recipe; and ``pretrained list``, which shows each file's command.

Each recipe calls the library functions the file's notebook calls, with the arguments its
sidecar recorded (``saved``: the sidecar's "config") and the data the notebook gives them, and
writes the file with :func:`course_lib.pretrained.train_or_load` into ``directory`` (default
data/pretrained; ``make retrain`` gives a scratch folder). A recipe that finds a sidecar
recording other data than it would use refuses, in one line, instead of training on it. JAX on
a CPU is bit-reproducible on one kind of CPU: there a regenerated file has the sha256 it had.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from course_lib import data, gan, ising, ising_sets, pretrained
from course_lib import diffusion as dm
from course_lib.config import from_dict
from course_lib.diffusion import flowmatch, lattice
from course_lib.pretrained import PRETRAINED_DIR, cached_spins, fit, sha256, train_or_load
from course_lib.train import TrainConfig

Recipe = Callable[[str, dict, object], None]  # (name, the sidecar's config, directory)


def sidecar_path(name: str) -> Path:
    path = PRETRAINED_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"no pretrained file '{name}' (its sidecar {path} is missing)")
    return path


def read_sidecar(name: str, *keys: str) -> dict:
    """The sidecar of ``name`` as a record holding ``keys``; one line when it is not JSON,
    not a record, too deep, or lacks one of them."""
    path = sidecar_path(name)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as e:
        raise ValueError(f"the sidecar {path} is not valid JSON ({type(e).__name__}); restore "
                         f"it: git checkout -- {path}") from None
    missing = [k for k in keys if not isinstance(info, dict) or k not in info]
    if missing:
        raise ValueError(f"the sidecar {path} lacks {', '.join(missing)}; restore it: git "
                         f"checkout -- {path}")
    return info


def regenerate(name: str, directory: str | Path | None = None
               ) -> list[tuple[str, str | None, str]]:
    """Retrain ``name`` (a file, or an ensemble of files trained together) with its recipe,
    writing to ``directory`` (default: over the shipped files in data/pretrained); returns,
    per file, its name and the sha256 of its shipped weights before (None when missing) and
    of the new ones."""
    for ensemble, e in ENSEMBLES.items():
        if name in e.members:
            raise ValueError(f"'{name}' is trained with its seeds as one program: "
                             f"`python -m course_lib pretrained regenerate {ensemble}`")
    if name not in RECIPES:
        raise ValueError(f"no recipe regenerates '{name}'; `python -m course_lib pretrained "
                         f"list` shows the command that rebuilds each file")
    if directory is not None and not str(directory).strip():
        raise ValueError("--out is empty; give a folder, or no --out to rewrite the shipped file")
    directory = Path(directory).resolve() if directory else None
    if directory and directory == PRETRAINED_DIR.resolve():
        directory = None
    if directory and PRETRAINED_DIR.resolve() in directory.parents:  # `list` would ship it
        raise ValueError(f"--out '{directory}' is inside the shipped files' folder; give no "
                         "--out to rewrite the shipped file, or a folder outside it")
    files = files_of(name)
    before = [sha256(PRETRAINED_DIR / f"{f}.npz") if (PRETRAINED_DIR / f"{f}.npz").is_file()
              else None for f in files]
    RECIPES[name](name, read_sidecar(files[0], "config")["config"], directory)
    return [(f, b, sha256((directory or PRETRAINED_DIR) / f"{f}.npz"))
            for f, b in zip(files, before)]


def check_command(command: str, parse: Callable[[list[str]], object]) -> None:
    """Raise ValueError unless ``command`` rebuilds one file alone: a ``python -m course_lib
    ...`` line that ``parse`` (the CLI's parser) accepts, with a recipe for a ``pretrained
    regenerate NAME``. (Re-running a whole notebook is not such a command.)"""
    words = shlex.split(command)
    if words[:3] != ["python", "-m", "course_lib"]:
        raise ValueError(f"not a `python -m course_lib ...` command: {command!r}")
    parse(words[3:])
    if words[3:5] == ["pretrained", "regenerate"] and words[5] not in RECIPES:
        raise ValueError(f"no recipe for '{words[5]}'")


def names() -> list[str]:
    """Every shipped pretrained file, as "<notebook>/<model>"."""
    return sorted(p.relative_to(PRETRAINED_DIR).with_suffix("").as_posix()
                  for p in Path(PRETRAINED_DIR).rglob("*.npz"))


# ------------------------------------------------------------- the recipes, one per file


def _same(name: str, recorded, given) -> None:
    if recorded != given:
        raise ValueError(f"'{name}' was trained on {recorded!r}, its recipe uses {given!r}")


def _fit(config_class: type, dataset: Callable[[], data.Dataset] | None = None, *,
         record: str = "model", keep_history=None,
         held_out: Callable[[], dict] | None = None) -> Recipe:
    """A model trained by :func:`course_lib.pretrained.fit`, the notebooks' training path, with
    the config the sidecar recorded under ``record`` ("gan" for the week16 generators), on
    ``dataset()`` or else the data set the sidecar names; storing the history entries
    ``keep_history`` (default all) and the scores of the sets ``held_out()`` along training."""

    def regenerate(name, saved, directory):
        train_config = from_dict(TrainConfig, saved["train"])
        ds = dataset() if dataset else data.get(saved["data"])
        if "data" in saved:
            _same(name, saved["data"], ds.name)
        fit(from_dict(config_class, saved[record]), ds, train_config, name=name, retrain=True,
            directory=directory, keep_history=keep_history,
            held_out=held_out() if held_out else None)

    return regenerate


def _gan(dataset: Callable[[], data.Dataset], keep_history=None) -> Recipe:
    return _fit(gan.GANConfig, dataset, record="gan", keep_history=keep_history)


def gan_seeds(name, saved, directory):
    """The seeds of one GAN run (an entry of ENSEMBLES, with the config its first member's
    sidecar records) trained as one program; the notebook reads their weights, not their
    losses."""
    ensemble = ENSEMBLES[name]
    pretrained.fit_seeds(from_dict(gan.GANConfig, saved["gan"]), data.get(ensemble.data),
                         from_dict(TrainConfig, saved["train"]), ensemble.seeds,
                         name=ensemble.run, retrain=True, directory=directory, keep_history=())


def _snapshots(dataset: Callable[[], data.Dataset]) -> Recipe:
    """week16_gans' pictures across training: gan.train_with_snapshots on the table's run."""

    def regenerate(name, saved, directory):
        config, run = from_dict(gan.GANConfig, saved["gan"]), from_dict(TrainConfig, saved["train"])
        objects = gan.init(config, run.seed)
        train_or_load(name, objects[:1], lambda: gan.train_with_snapshots(
            objects, dataset(), run, saved["every"]), retrain=True, directory=directory,
            keep_history=("snapshots",), config={"gan": config, "train": run,
                                                 "every": saved["every"]})

    return regenerate


def digits_classifier(name, saved, directory):
    pretrained.fit_training(gan.classifier_training(
        saved["mlp"], saved["lr"], data.digits("train"), from_dict(TrainConfig, saved["train"])),
        name=name, retrain=True, directory=directory)


def _few_labels(arm: str) -> Recipe:
    """One arm of the semi-supervised comparison's single run (:func:`gan.few_labels_training`)."""

    def regenerate(name, saved, directory):
        pretrained.fit_training(gan.few_labels_training(
            arm, from_dict(gan.GANConfig, saved["gan"]), data.digits("train"), saved["labels"],
            from_dict(TrainConfig, saved["train"])), name=name, retrain=True, directory=directory)

    return regenerate


def digits_sgan_label_draws(name, saved, directory):
    """Both arms of the semi-supervised comparison, over the sidecar's label draws."""
    config, run = from_dict(gan.GANConfig, saved["gan"]), from_dict(TrainConfig, saved["train"])
    digits, test, seeds = data.digits("train"), data.digits("test"), saved["seeds"]
    results = gan.LabelDraws(len(seeds), saved["labels"], len(test.labels))
    train_or_load(name, (results,), lambda: gan.label_draws(
        results, config, digits, test, saved["labels"], run, seeds), retrain=True,
        directory=directory, config={"gan": config, "labels": saved["labels"], "train": run,
                                     "seeds": seeds})


def digits_vdm_variance(name, saved, directory):
    """VDM with its schedule's interior trained on the diffusion loss's variance."""
    run, digits = from_dict(TrainConfig, saved["train"]), data.digits("train")
    _same(name, saved["data"], digits.name)
    fit(from_dict(dm.VDMConfig, saved["model"]), digits, run, name=name, retrain=True,
        directory=directory, train_step=dm.vdm_variance_train_step,
        record={k: v for k, v in saved.items() if k not in ("model", "train", "data")})


def ising_binomial(name, saved, directory):
    """Binomial diffusion of flattened Ising lattices; the sidecar's data
    "ising L=16 T=2.269 n=2048 sweeps=1000 seed=0" are :func:`ising_sets.ising_bits`'s arguments."""
    words = saved["data"].split()
    _same(name, words[0], "ising")
    options = {k: float(v) if k == "T" else int(v) for k, v in (w.split("=") for w in words[1:])}
    bits = ising_sets.ising_bits(**options)
    _same(name, saved["data"], bits.name)
    fit(from_dict(dm.BinomialConfig, saved["model"]), bits, from_dict(TrainConfig, saved["train"]),
        name=name, retrain=True, directory=directory)


# ----------------------------------------------- week17_ising: lattice models and their data

# week17_ising's temperature grid, written as the notebook writes it
TEMPERATURES = np.array([round(1.5 + 0.1 * i, 2) for i in range(21)])


def lattice_model(name, saved, directory):
    """Any lattice diffusion model: :func:`fit` with the sidecar's model and training configs
    on the Metropolis set its ``data`` names (the arguments of :func:`ising.metropolis_at`),
    each configuration with its temperature when the model is conditional."""
    config = from_dict(lattice.LatticeDiffusionConfig, saved["model"])
    spec = saved["data"]
    if not isinstance(spec, dict):
        raise ValueError(f"'{name}' records its data as {spec!r}, not as the arguments of "
                         f"ising.metropolis_at")
    fit(config, ising_sets.ising_at(**spec, with_temperatures=config.conditional),
        from_dict(TrainConfig, saved["train"]), name=name, retrain=True, directory=directory)


def load_lattice_model(name: str, directory=None):
    """The lattice model ``name``, loaded from ``directory`` when rebuilt there, else shipped."""
    root = directory if (directory and (directory / f"{name}.npz").is_file()) else PRETRAINED_DIR
    saved = json.loads((root / f"{name}.json").read_text())["config"]
    model = lattice.LatticeDiffusion(from_dict(lattice.LatticeDiffusionConfig, saved["model"]),
                                     rngs=nnx.Rngs(0))
    train_or_load(name, (model,), lambda: {}, retrain=False, directory=root, config={
        "model": model.config, "train": from_dict(TrainConfig, saved["train"]),
        "data": saved["data"]})
    return model


def _generated_temperatures(directory):
    model = load_lattice_model("week17_ising/conditional", directory)
    return np.concatenate([lattice.generate(model, jax.random.key(20 + i), 400, T, chunk=400)
                           for i, T in enumerate(TEMPERATURES)])


SPINS = {  # week17_ising's stored configurations: how the notebook makes each
    "week17_ising/metropolis_tc": lambda directory: ising.metropolis(
        jax.random.key(1), L=16, T=ising.T_CRITICAL, n_chains=2048, sweeps=1000),
    "week17_ising/metropolis_temperatures": lambda directory: ising.metropolis_at(
        TEMPERATURES, seed=200, n_chains=256),
    "week17_ising/generated_tc": lambda directory: lattice.generate(
        load_lattice_model("week17_ising/critical", directory), jax.random.key(10), 1000,
        chunk=500),
    "week17_ising/generated_temperatures": _generated_temperatures,
}


def stored_spins(name, saved, directory):
    root = directory or PRETRAINED_DIR
    cached_spins(root / f"{name}.npz", lambda: SPINS[name](directory), remake=True,
                 description=saved["data"], root=root)


@dataclasses.dataclass(frozen=True)
class Ensemble:
    """The seeds of one run ("week16_gans/ring_3k"), trained as one program on the data set
    named ``data``: one name, :func:`pretrained.ensemble_name`, rebuilds all their files."""
    run: str
    data: str
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # the mode table's five

    @property
    def members(self) -> list[str]:
        return [pretrained.member_name(self.run, s) for s in self.seeds]


ENSEMBLES = {pretrained.ensemble_name(e.run): e for e in [
    *(Ensemble(f"week16_gans/{d}_{run}", d)  # the mode table
      for d in ("ring", "grid") for run in ("3k", "20k_decay", "20k_decay_noise")),
    *(Ensemble(f"week16_gans/grid_{run}_pack4", "grid")  # packing against them (exercise 4)
      for run in ("3k", "20k_decay"))]}


def files_of(name: str) -> list[str]:
    """The files the recipe ``name`` writes: an ensemble's members, else the file ``name``."""
    return ENSEMBLES[name].members if name in ENSEMBLES else [name]


RECIPES: dict[str, Recipe] = {
    **{f"week17_diffusion/moons_{p}": _fit(dm.DDPMConfig) for p in ("noise", "x0", "score")},
    "week17_diffusion/roll_ddpm": _fit(dm.DDPMConfig),
    "week17_diffusion/roll_ddpm_fixed_variance": _fit(dm.DDPMConfig),
    "week17_diffusion/roll_vdm": _fit(dm.VDMConfig),
    "week17_diffusion/moons_flowmatch": _fit(flowmatch.FlowMatchingConfig),
    "week17_diffusion/roll_flowmatch": _fit(flowmatch.FlowMatchingConfig),
    "week17_diffusion/heartbeat_binomial": _fit(dm.BinomialConfig),
    "week17_diffusion/heartbeat_binomial_T200": _fit(dm.BinomialConfig),
    "week17_diffusion/digits_ddpm": _fit(dm.DDPMConfig, lambda: data.digits("train")),
    "week17_diffusion/digits_ddpm_levels": _fit(dm.LevelsDDPMConfig,
                                                      lambda: data.digits("train")),
    "week17_diffusion/digits_vdm": _fit(dm.VDMConfig, lambda: data.digits("train")),
    "week17_diffusion/digits_vdm_variance": digits_vdm_variance,
    "week17_diffusion/digits_vdm_conv": _fit(  # the bound on train and test digits along training
        dm.VDMConfig, lambda: data.digits("train"), held_out=lambda: {
            "train": data.digits("train").data[:300], "test": data.digits("test").data}),
    "week17_diffusion/ising_binomial": ising_binomial,
    # the mode table and the packed runs: each setting's five generators trained together
    **dict.fromkeys(ENSEMBLES, gan_seeds),
    **{f"week16_gans/{d}_{run}_snapshots": _snapshots(lambda d=d: data.get(d))
       for d, run in (("ring", "3k_seed1"), ("ring", "20k_decay_noise_seed1"),
                      ("grid", "20k_decay_seed3"), ("grid", "20k_decay_noise_seed3"))},
    **{f"week16_gans/gaussian_1d_{run}": _gan(lambda: data.gaussian_1d(2.0, 0.5))
       for run in ("8k", "20k_decay_z8")},
    "week16_gans/digits_cgan": _gan(lambda: data.digits("train")),
    "week16_gans/digits_classifier": digits_classifier,
    "week16_gans/digits_sgan_discriminator": _few_labels("sgan"),
    "week16_gans/digits_100_labels_classifier": _few_labels("classifier"),
    "week16_gans/digits_sgan_label_draws": digits_sgan_label_draws,
    "week17_ising/critical": lattice_model,
    "week17_ising/conditional": lattice_model,
    **{name: stored_spins for name in SPINS},
}
