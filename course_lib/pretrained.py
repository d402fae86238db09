"""Pre-trained weights: notebooks load them in class and retrain with one flag.

Every model a lecture shows has its trained state in ``data/pretrained/<name>.npz`` (the
checkpoint format of :mod:`course_lib.train`, with the training history beside the weights)
and a sidecar ``<name>.json`` holding the file's sha256, its size, how it was trained and the
command that regenerates it. Names are ``"<notebook>/<model>"``. A notebook and the file's
``pretrained regenerate`` recipe make it with one call and the same arguments: :func:`fit` for
a family's model, :func:`fit_training` for another (a classifier), both loading or training
through :func:`train_or_load`.

In class this loads the file in a fraction of a second; with ``COURSE_RETRAIN=1`` in the
environment it calls ``fit()`` and rewrites both files. JAX on a CPU is bit-reproducible, so
the loaded model and a retrained one give the same numbers to the last bit (and a retrain that
reproduces a file exactly leaves it untouched).

Only the objects passed are stored: pass the models, not their optimizers (Adam keeps two
moments per parameter, which would triple the file), unless the notebook trains on after
loading.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import platform
import re
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from course_lib.checkpoint import load_checkpoint, save_checkpoint, write_atomic
from course_lib.data import DATA_DIR, Dataset, Deferred, made
from course_lib.families import of_config
from course_lib.train import TrainConfig, train, train_ensemble

PRETRAINED_DIR = DATA_DIR / "pretrained"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*")


def retrain_requested() -> bool:
    """``COURSE_RETRAIN=1`` in the environment now: the one flag, retrain instead of load. It is
    read when weights are loaded, not when the library is imported."""
    return os.environ.get("COURSE_RETRAIN", "") == "1"


def __getattr__(name: str):
    if name == "RETRAIN":  # ``from course_lib.pretrained import RETRAIN``: the flag as of now
        return retrain_requested()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def regenerate_command(name: str) -> str:
    """The command that rebuilds ``name`` = "<notebook>/<model>" alone: its recipe in
    :mod:`course_lib.cli.regenerate` calls the library function the notebook calls."""
    return f"python -m course_lib pretrained regenerate {name}"


def cpu_kind() -> str:
    """The CPU that computes here, as "<model name> (<widest vector instruction set>)", e.g.
    "AMD EPYC 7B13 (avx2)". XLA compiles for the host's instruction set, and float32 sums
    vectorised 8 or 16 wide round differently, so bit-identical rebuilds are promised only on
    the same kind of CPU (``make retrain`` compares against the sidecar's record)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags = set(value.split())
                break
    except OSError:  # not Linux: the model name alone
        pass
    isa = next((f for f in ("avx512f", "avx2", "avx", "sse4_2", "asimd") if f in flags), "")
    return f"{model} ({isa})" if isa else model


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _plain(config: Any) -> Any:
    """A JSON-comparable summary of ``config``: dataclasses (also inside dicts) become dicts,
    tuples lists, anything else without a JSON form its str."""

    def as_json(x):
        if not dataclasses.is_dataclass(x) or isinstance(x, type):
            return str(x)
        # a field added after files were shipped is recorded only when it differs from its
        # default (config.setting(added=True)): the older records stay valid
        return {f.name: getattr(x, f.name) for f in dataclasses.fields(x)
                if not (f.metadata.get("added") and getattr(x, f.name) == f.default)}

    return json.loads(json.dumps(config, sort_keys=True, default=as_json))


def _paths(state) -> list[str]:
    """The names of the state's arrays, e.g. "0/net/layers/0/kernel/value"."""
    return [jax.tree_util.keystr(p, simple=True, separator="/")
            for p, _ in jax.tree_util.tree_flatten_with_path(state)[0]]


def _difference(saved: Any, wanted: Any) -> str:
    """The first thing that differs between two JSON summaries, for an error message."""
    if isinstance(saved, dict) and isinstance(wanted, dict):
        k = sorted(k for k in saved.keys() | wanted.keys() if saved.get(k) != wanted.get(k))[0]
        return f"{k}={saved.get(k)!r} (this model: {wanted.get(k)!r})"
    if isinstance(saved, list) and isinstance(wanted, list) and len(saved) == len(wanted):
        i = next(i for i, (a, b) in enumerate(zip(saved, wanted)) if a != b)
        return f"array {i} is {saved[i]!r} (this model: {wanted[i]!r})"
    return f"{saved!r} (this model: {wanted!r})"


def _bits(tree) -> list[tuple[str, bytes]]:
    """Every array of ``tree`` as (dtype, raw bytes); PRNG keys as their key data."""
    leaves = [jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)
              else x for x in jax.tree.leaves(tree)]
    return [(str(x.dtype), x.tobytes()) for x in map(np.asarray, leaves)]


def _holds(weights: Path, state, history: dict, meta: dict) -> bool:
    """Whether ``weights`` already holds exactly this state, history and meta, bit for bit."""
    try:
        saved_state, _, saved_history, saved_meta = load_checkpoint(weights, state)
    except (ValueError, OSError):  # missing, unreadable or of another shape
        return False
    return (saved_meta == meta and saved_history.keys() == history.keys()
            and _bits(saved_state) == _bits(state) and _bits(saved_history) == _bits(history))


def train_or_load(name: str, objects, train_fn: Callable[[], dict], *, retrain: bool | None = None,
                  config: Any = None, command: str | None = None,
                  directory: str | Path | None = None,
                  keep_history: Collection[str] | None = None) -> dict[str, np.ndarray]:
    """Load the pre-trained state of ``objects`` from ``data/pretrained/<name>.npz`` or, when
    retraining, call ``train_fn()`` and save what it trained.

    name:      "<notebook>/<model>", e.g. "week17_diffusion/roll_ddpm".
    objects:   a tuple of NNX objects (as :func:`course_lib.train.train` takes) whose whole
               state is stored and restored; usually just the model(s).
    train_fn:  ``train_fn() -> history``: trains ``objects`` in place and returns the history
               dict of :func:`course_lib.train.train`.
    retrain:   train instead of loading; default: ``COURSE_RETRAIN=1`` in the environment.
    config:    how the model is built and trained (a dataclass or a dict of seed, steps, ...):
               recorded in the sidecar, and a file trained with another config is refused.
    command:   the command that regenerates the file; default: its `pretrained regenerate` line.
    directory: where the files live; default ``data/pretrained``.
    keep_history: the history entries stored in the file (default: all); a notebook that
               never reads the per-step losses passes ``()`` and the file holds the weights.

    Returns the training history either way (it is stored with the weights, so a notebook
    can plot its training curves in class too; only ``keep_history``'s entries of it). Raises
    a one-line ValueError when the file is missing, does not match its sha256, or was written
    for another model.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"pretrained name must be '<notebook>/<model>' (letters, digits, _ . -; "
                         f"no leading . or -), e.g. 'week17_diffusion/roll_ddpm'; got {name!r}")
    objects = objects if isinstance(objects, tuple) else (objects,)
    retrain = retrain_requested() if retrain is None else retrain
    weights = Path(directory or PRETRAINED_DIR) / f"{name}.npz"
    sidecar = weights.with_suffix(".json")
    command = command or regenerate_command(name)
    state = nnx.state(objects)
    meta = {"name": name, "config": _plain(config), "arrays": _paths(state)}

    if retrain:
        history = train_fn()
        if not isinstance(history, dict):
            raise ValueError(f"train_fn must return the history dict of course_lib.train.train, "
                             f"got {type(history).__name__}")
        history = {k: np.asarray(v) for k, v in history.items()}
        state = nnx.state(objects)
        steps = max((len(v) for v in history.values()), default=0)
        if keep_history is not None:
            history = {k: v for k, v in history.items() if k in keep_history}
        if not _holds(weights, state, history, meta):  # a bit-identical retrain changes no file
            save_checkpoint(weights, state, steps, history, meta)
        leaves = jax.tree.leaves(state)
        info = {"name": name, "file": weights.name, "sha256": sha256(weights),
                "bytes": weights.stat().st_size, "command": command, "config": meta["config"],
                "steps": steps, "parameters": int(sum(x.size for x in leaves)),
                "trained_on": f"{jax.devices()[0].platform}, jax {jax.__version__}",
                "cpu": cpu_kind()}
        write_atomic(sidecar, lambda f: f.write((json.dumps(info, indent=1) + "\n").encode()))
        return history

    how = f"regenerate with `{command}` or set COURSE_RETRAIN=1"
    if not weights.is_file():
        raise ValueError(f"pre-trained weights '{weights}' are missing; {how}")
    if not sidecar.is_file():
        raise ValueError(f"'{sidecar}' (the sha256 of '{weights.name}') is missing; {how}")
    try:  # a hand-edited sidecar: one line, not a KeyError or TypeError
        expected = json.loads(sidecar.read_text())["sha256"]
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError):
        raise ValueError(f"'{sidecar}' is not a sidecar: it holds no sha256 of "
                         f"'{weights.name}'; {how}") from None
    got = sha256(weights)
    if got != expected:
        raise ValueError(f"'{weights}' sha256 mismatch: expected {expected}, got {got} "
                         f"(damaged or replaced); {how}")
    try:
        loaded, _, history, saved = load_checkpoint(weights, state)
    except ValueError as e:  # a different number of arrays or other shapes
        raise ValueError(f"{e}; {how}") from None
    for key in ("arrays", "config"):
        if saved.get(key) != meta[key]:
            raise ValueError(f"'{weights}' was written for another model: in its {key}, "
                             f"{_difference(saved.get(key), meta[key])}; {how}")
    nnx.update(objects, loaded)
    return history


def cached_spins(path, make, remake: bool = False, description: str = "",
                 root: str | Path | None = None) -> np.ndarray:
    """Spin configurations (n, L, L) in {-1, +1} from ``path`` (a .npz of packed bits, 32 times
    smaller than float32), or made by ``make()`` and written there when the file is missing or
    ``remake`` is set. For Metropolis references that take longer to sample than a lecture has.

    Under ``data/pretrained`` the file gets a sidecar ``.json`` like the weights there (sha256,
    size, ``description``, the command that regenerates it), and is refused if it changed;
    ``root`` stands for data/pretrained where a rebuild writes elsewhere (``make retrain``)."""
    path, root = Path(path).resolve(), Path(root or PRETRAINED_DIR).resolve()
    sidecar = path.with_suffix(".json")
    inside = path.is_relative_to(root)
    name = path.relative_to(root).with_suffix("").as_posix() if inside else ""
    if path.is_file() and not remake:
        if inside and json.loads(sidecar.read_text())["sha256"] != sha256(path):
            raise ValueError(f"'{path}' does not match its sidecar's sha256; regenerate with "
                             f"`{regenerate_command(name)}`")
        with np.load(path, allow_pickle=False) as f:
            bits = np.unpackbits(f["bits"], axis=-1, count=int(np.prod(f["shape"][1:])))
            return (2.0 * bits.reshape(tuple(f["shape"])) - 1).astype(np.float32)
    spins = np.asarray(make(), np.float32)
    if spins.ndim != 3 or not np.all(np.abs(spins) == 1):
        raise ValueError(f"make() must return spins (n, L, L) in {{-1, +1}}, got {spins.shape}")
    bits = np.packbits((spins > 0).reshape(len(spins), -1), axis=-1)
    write_atomic(path, lambda f: np.savez(f, bits=bits, shape=np.asarray(spins.shape)))
    if inside:
        info = {"name": name, "file": path.name, "sha256": sha256(path),
                "bytes": path.stat().st_size, "command": regenerate_command(name),
                "config": {"data": description, "shape": list(spins.shape)}, "cpu": cpu_kind()}
        write_atomic(sidecar, lambda f: f.write((json.dumps(info, indent=1) + "\n").encode()))
    return spins


def fit(config, dataset: Dataset | Deferred, train_config: TrainConfig, *,
        name: str | None = None, seed: int | None = None, retrain: bool | None = None,
        directory=None, keep_history: Collection[str] | None = None,
        train_step: Callable | None = None, record: dict | None = None,
        held_out: dict[str, np.ndarray] | None = None):
    """(objects, history): the model of ``config`` (any family's) initialised from ``seed``
    (default ``train_config.seed``) with its family's optimizer and trained on its family's
    batches of ``dataset``. The one training path of a shipped model: its notebook and its
    ``pretrained regenerate`` recipe both call this, with the same arguments.

    With ``name`` ("<notebook>/<model>") it goes through :func:`train_or_load`: in class the
    weights (the family's first object, the model or generator) are loaded, with
    COURSE_RETRAIN=1 or ``retrain=True`` trained and written (into ``directory``, default
    data/pretrained), the sidecar recording what the family records of the run and
    ``record``. ``train_step``: another objective for the same objects than the family's
    (VDM's schedule trained on the loss's variance). A :class:`~course_lib.data.Deferred`
    data set is made only when the model is trained, not when its weights are loaded.

    ``held_out``: {"train": rows, "test": rows, ...}, each set scored by the family's
    :attr:`~course_lib.family.Family.scorer` (same keys each time) at step 0 and after every
    call, into the history's "scored_step", "<set>_<metric>" (mean over rows) and
    "<set>_<metric>_stderr": under- or overfitting, and when. The weights stay bit for bit.
    """
    family = of_config(config)
    objects = family.init(config, train_config.seed if seed is None else seed)

    def run():
        scorers = {k: family.scorer(objects, np.asarray(rows), train_config.seed)
                   for k, rows in (held_out or {}).items()}
        scores: dict[str, list] = {}

        def score(step: int) -> None:
            scores.setdefault("scored_step", []).append(step)
            for k, (scorer, metric) in scorers.items():
                v = np.atleast_1d(np.asarray(scorer(objects), np.float64))
                scores.setdefault(f"{k}_{metric}", []).append(v.mean())
                scores.setdefault(f"{k}_{metric}_stderr", []).append(
                    v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else np.nan)

        if scorers:
            score(0)
        history = train(train_step or family.train_step, objects,
                        family.batches_of(made(dataset), config), train_config,
                        callback=score if scorers else None)
        return history | {k: np.asarray(v) for k, v in scores.items()}

    return objects, _shipped(name, objects[:1], run, family.run_record(
        config, train_config, dataset) | (record or {}), retrain=retrain, directory=directory,
        keep_history=keep_history)


def _shipped(name: str | None, stored, run: Callable[[], dict], record, **options) -> dict:
    """``run()``'s history; with ``name``, through :func:`train_or_load` (``options``), which
    stores the objects ``stored`` and records ``record`` in the sidecar."""
    return run() if name is None else train_or_load(name, stored, run, config=record, **options)


def fit_training(training, *, name: str | None = None, retrain: bool | None = None, directory=None):
    """(model, history) of ``training`` = (model, train, record), e.g. a classifier's: trained,
    or with ``name`` loaded or trained by :func:`train_or_load`, ``record`` in the sidecar. The
    one training path of a shipped model that is no family's, for notebook and recipe alike."""
    model, train_fn, record = training
    return model, _shipped(name, (model,), train_fn, record, retrain=retrain, directory=directory)


def fit_seeds(config, dataset: Dataset | Deferred, train_config: TrainConfig, seeds, *,
              name: str | None = None, retrain: bool | None = None, directory=None,
              keep_history: Collection[str] | None = None) -> list[tuple]:
    """``[fit(config, dataset, replace(train_config, seed=s), name=member_name(name, s)) for s
    in seeds]``, bit for bit, but trained together as one compiled program
    (:func:`course_lib.train.train_ensemble`): the mode table's five seeds at once. ``name``
    is the run's, without the seed ("week16_gans/ring_3k"); each member's sidecar records the
    command that rebuilds the whole ensemble, :func:`ensemble_name`."""
    family = of_config(config)
    configs = [dataclasses.replace(train_config, seed=s) for s in seeds]
    members = [family.init(config, c.seed) for c in configs]
    trained = functools.cache(lambda: train_ensemble(  # by the first member that needs it
        family.train_step, members, family.batches_of(made(dataset), config), configs))
    command = name and regenerate_command(ensemble_name(name))
    return [(m, _shipped(name and member_name(name, c.seed), m[:1], lambda i=i: trained()[i],
                         family.run_record(config, c, dataset), retrain=retrain,
                         command=command, directory=directory, keep_history=keep_history))
            for i, (m, c) in enumerate(zip(members, configs))]


def member_name(run: str, seed: int) -> str:
    """The file of one seed of ``run``, "week16_gans/ring_3k", 0 -> "..._3k_seed0": with
    :func:`ensemble_name`, the one place that spells how seeds are named."""
    return f"{run}_seed{seed}"


def ensemble_name(run: str) -> str:
    """The name that rebuilds every seed of ``run`` as one program: "..._3k" -> "..._3k_seeds"."""
    return f"{run}_seeds"
