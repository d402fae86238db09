"""Run folders: train a model into one, and sample or evaluate the model it holds.

A run folder holds ``config.json`` (the model's name, the data, the model's full config and
the training config), ``checkpoint.npz`` (rewritten atomically during training, so a crashed
run resumes with ``--resume``) and, when training finished, ``metrics.json``. The functions
raise ``ValueError`` with the one-line message the command line prints.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from course_lib import data as data_lib
from course_lib.checkpoint import (
    CHECKPOINT,
    TMP_PREFIX,
    CheckpointError,
    load_checkpoint,
)
from course_lib.cli import prepare as prep_lib
from course_lib.cli import report, validation
from course_lib.cli.limits import check_int, check_memory, check_seed, model_bytes
from course_lib.cli.lock import run_lock
from course_lib.cli.options import flag, option_fields
from course_lib.cli.run_folder import (
    CONFIG,
    MANIFEST,
    METRICS,
    check_owned,
    check_resumable,
    check_settings,
    dumps,
    json_safe,
    make_dirs,
    manifest_for,
    read_manifest,
    read_own,
    read_run_config,
    read_validation,
    remove_empty,
    write_bytes,
    write_json,
)
from course_lib.config import check as check_config
from course_lib.config import comparable, from_dict
from course_lib.families import get
from course_lib.family import Family, Recipe, examples
from course_lib.train import TrainConfig, train


def _data_spec(data: str) -> str:
    """Built-in names stay names; files are recorded by absolute path."""
    return data if data in data_lib.REGISTRY else str(Path(data).resolve())


def _check_options(spec: Family, options: dict[str, Any]) -> None:
    accepted = [f.name for f in option_fields(spec.config, spec.fixed)]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"model '{spec.name}' has no option "
                         f"{', '.join(flag(k) for k in unknown)}; accepted: "
                         f"{', '.join(flag(k) for k in accepted) or 'none'}")


def _identity(model: str, config) -> dict[str, Any]:
    return {"model": model, "config": json.loads(json.dumps(dataclasses.asdict(config)))}


def train_model(model: str, data: str, out: str | Path, train_config: TrainConfig | None = None,
                *, recipe: Recipe | None = None, resume: bool = False,
                quantized: int | None = None, standardize: bool | None = None,
                val_fraction: float = 0.1, patience: int | None = None,
                **options) -> dict[str, Any]:
    """Train ``model`` on ``data`` (a built-in name or a .npy/.npz path) into folder ``out``;
    ``options`` are fields of the model's config (``lr_g=1e-4``, ``hidden=(64, 64)``). What is
    not given comes from ``recipe``, the notebook's recipe for this model and data
    (:meth:`course_lib.family.Family.recipe`, looked up here when None), ``train_config``
    included.

    Data from a file are prepared (:mod:`course_lib.cli.prepare`): ``quantized`` bits read
    as integers or as [-1, 1]; continuous data standardised (``standardize`` None: when they
    are continuous); ``val_fraction`` of the rows held out and scored every ``steps_per_call``
    steps, the best model kept, the run stopped after ``patience`` checks in vain.

    Returns the contents of ``out/metrics.json``: the loss history and the final metrics.
    Everything is checked before anything is written; a new run refuses a folder that already
    holds one, a second writer is refused while the first holds the folder's lock, and a
    refused command changes nothing on disk. A start that fails before its first checkpoint
    removes what it created.
    """
    spec = get(model)
    _check_options(spec, options)
    prep_lib.check_options(quantized, standardize, val_fraction, patience)
    recipe = spec.recipe(data, quantized) if recipe is None else recipe
    train_config = TrainConfig(**recipe.train) if train_config is None else train_config
    if not isinstance(train_config, TrainConfig):
        raise TypeError(f"train_config must be a TrainConfig, got {type(train_config).__name__}")
    check_seed(train_config.seed)
    if not str(out).strip():
        raise ValueError("--out is empty; it names the run folder (new, or with --resume "
                         "an existing one)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out '{out}' is a file; --out names a run folder (new, or with "
                         "--resume an existing one)")
    dataset = data_lib.load(data)
    if spec.needs_labels and dataset.labels is None:
        raise ValueError(f"model '{model}' needs class labels: use digits or an .npz with "
                         "arrays 'x' and 'y'")
    dataset, held_out, prepared = prep_lib.prepare(
        dataset, continuous=spec.continuous, builtin=data in data_lib.REGISTRY, quantized=quantized,
        standardize=False if options.get("levels") and standardize is None else standardize,
        val_fraction=val_fraction, seed=train_config.seed)  # --levels: already in [-1, 1]
    if options.get("levels") and np.abs(examples(dataset, jax.random.key(0), 1000)).max() > 1:
        raise ValueError("--levels needs data scaled to [-1, 1] (e.g. 2 * uint8 / 255 - 1)")
    if patience is None:
        patience = spec.patience
    prepared["patience"] = patience
    try:
        config = spec.make_config(dataset, options, recipe.model)
    except TypeError as e:
        raise TypeError(f"model '{model}': {e}") from None
    check_config(config)
    pack = getattr(config, "pack", 1)
    if train_config.batch_size % pack:
        raise ValueError(f"--batch-size {train_config.batch_size} must be a multiple of --pack "
                         f"{pack} (the critic judges groups of {pack} examples)")
    sizes = [flag(k) for k in ("hidden", "batch_size")
             if k == "batch_size" or hasattr(config, k)]
    check_memory(f"model '{model}' with these options", model_bytes(config,
                 train_config.batch_size), f"choose smaller {' or '.join(sizes)}")
    identity = _identity(model, config)
    run_config = {"model": model, "data": _data_spec(data), "shape": list(dataset.shape),
                  "config": identity["config"], "train": dataclasses.asdict(train_config),
                  "prepare": prepared}
    objects = spec.init(config, train_config.seed)
    batches = spec.batches(dataset, config) if spec.batches else dataset.sample
    if jax.process_index() > 0:  # another process of a --distributed run: trains, writes nothing
        history = train(spec.train_step, objects, batches, train_config, checkpoint_dir=out,
                        resume=resume and (out / CHECKPOINT).is_file(), identity=identity)
        return {"final": spec.evaluate(objects, dataset, jax.random.key(train_config.seed + 1))}
    if resume and not out.is_dir():
        raise ValueError(f"cannot resume: '{out}' is not a run folder (no {CONFIG})")
    if out.is_dir():
        check_owned(out, resume=resume)
    created = make_dirs(out)
    config_bytes = dumps(run_config)
    wrote: list[str] = []
    try:
        if read_manifest(out) is None:  # a new or empty folder: it becomes a run's
            if resume:
                raise ValueError(f"cannot resume: '{out}' is not a run folder (no {CONFIG})")
            write_json(out / MANIFEST, manifest_for(None))
            wrote.append(MANIFEST)
        with run_lock(out, clean_prefix=TMP_PREFIX):
            manifest = check_owned(out, resume=resume)  # again, holding the lock
            has_checkpoint = os.path.lexists(out / CHECKPOINT)
            record = None
            if resume:
                if not os.path.lexists(out / CONFIG):
                    raise ValueError(f"cannot resume: '{out}' is not a run folder (no {CONFIG})")
                saved = read_run_config(out, manifest)
                same = {k: saved.get(k) for k in ("model", "data", "config", "prepare")
                        if k in saved}  # "prepare": the same split and transform
                if same != {k: run_config[k] for k in same}:
                    raise ValueError(f"cannot resume: '{out}' was trained with {same}")
                if has_checkpoint:
                    step = check_resumable(out / CHECKPOINT, objects, train_config, identity)
                    record = read_validation(out, step)
            elif has_checkpoint or os.path.lexists(out / METRICS):
                raise ValueError(f"'{out}' is not empty; choose a new --out or add --resume")
            # else: empty, or a start that died before its first checkpoint: start over
            if not (resume and read_own(out / CONFIG) == config_bytes):
                write_json(out / MANIFEST, manifest_for(config_bytes))  # first: its sha256
                write_bytes(out / CONFIG, config_bytes)
                wrote += [MANIFEST, CONFIG]
            history = _train_or_continue(spec, objects, batches, train_config, out, held_out,
                                         patience, identity, record, has_checkpoint)
            if os.path.lexists(out / validation.BEST):
                nnx.update(objects, load_checkpoint(out / validation.BEST,
                                                    nnx.state(objects))[0])
            final = report.evaluate(spec, objects, dataset, held_out, prepared,
                                    jax.random.key(train_config.seed + 1))
            metrics = {k: [float(x) for x in v] for k, v in history.items()}
            metrics["final"] = final
            metrics["data"] = prep_lib.describe(prepared)
            write_json(out / METRICS, json_safe(metrics)[0])
    except BaseException:
        if not resume and not os.path.lexists(out / CHECKPOINT):  # nothing worth resuming
            for name in (CONFIG, validation.VALIDATION, validation.BEST, MANIFEST):
                if name in wrote or (name != MANIFEST and MANIFEST in wrote):
                    (out / name).unlink(missing_ok=True)
            remove_empty(out, created)
        raise
    return metrics


def _train_or_continue(spec, objects, batches, train_config, out, held_out, patience,
                       identity, record, has_checkpoint):
    """train(), resumed where the checkpoint is; a run that stopped early stays stopped, and
    a checkpoint whose held-out check a kill prevented is scored first."""
    callback = None  # a family without a scorer (family.scorer None) gets none
    if held_out is not None:
        callback = validation.tracker(spec, objects, held_out, out, train_config.seed,
                                      patience, {"identity": identity}, record)
    resume = has_checkpoint
    try:
        if resume and callback is not None:
            state, step, history, _ = load_checkpoint(out / CHECKPOINT, nnx.state(objects))
            if record is not None and record.get("stopped") is not None:
                raise validation.EarlyStop(record["stopped"])  # finished: nothing to do
            scored = record["steps"] if record else []
            if step and step not in scored and (step % train_config.steps_per_call == 0
                                                or step == train_config.steps):
                nnx.update(objects, state)
                callback(step)  # the check a kill came between the checkpoint and
        return train(spec.train_step, objects, batches, train_config, checkpoint_dir=out,
                     resume=resume, identity=identity, callback=callback)
    except validation.EarlyStop:
        state, _, history, _ = load_checkpoint(out / CHECKPOINT, nnx.state(objects))
        nnx.update(objects, state)
        return {k: np.asarray(v) for k, v in history.items()}


def load_run(run_dir: str | Path, *, with_config: bool = False):
    """The model of a run folder, with its trained state: (spec, objects, example shape),
    and the run's config.json with ``with_config``. The best model on the held-out rows
    (``best.npz``) where training kept one, else the last checkpoint. A config.json or
    checkpoint that was altered, truncated or copied from another run is refused with one
    line."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file() or not (run_dir / CHECKPOINT).is_file():
        raise ValueError(f"'{run_dir}' is not a run folder (it needs {CONFIG} and {CHECKPOINT}; "
                         "make one with: python -m course_lib train ...)")
    saved = read_run_config(run_dir)
    spec = get(saved["model"])
    # fields added to a config after the run was trained take their defaults
    try:
        config = from_dict(spec.config_class(saved["config"]), saved["config"])
        check_config(config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"'{run_dir / CONFIG}': its config is not a valid {spec.name} config "
                         f"({e})") from None
    check_settings(run_dir, saved, config)
    identity = _identity(saved["model"], config)
    objects = spec.init(config, saved["train_config"].seed)
    best = run_dir / validation.BEST
    state, _, _, meta = load_checkpoint(best if best.is_file() else run_dir / CHECKPOINT,
                                        nnx.state(objects))
    if "identity" in meta and comparable(meta["identity"], config) != comparable(identity, config):
        theirs = meta["identity"].get("model") if isinstance(meta["identity"], dict) else "?"
        raise CheckpointError(f"'{run_dir / CHECKPOINT}' holds a '{theirs}' model whose config "
                              f"differs from {CONFIG} ('{saved['model']}'): a checkpoint or "
                              "config copied from another run; retrain, or restore the pair")
    nnx.update(objects, state)
    if with_config:
        return spec, objects, saved["shape"], saved
    return spec, objects, saved["shape"]


# the conditional lattice model's training temperatures (course_lib.diffusion.lattice: one
# model for every T in [1.5, 3.5]); outside, its samples are an extrapolation
TEMPERATURES = (1.5, 3.5)


def sample_run(run_dir: str | Path, n: int, seed: int = 0,
               temperature: float | None = None, extrapolate: bool = False) -> np.ndarray:
    """n samples of the run's model, each of the training data's shape; a lattice model
    conditioned on the temperature samples at ``temperature`` (and needs one), inside its
    training range unless told to ``extrapolate``."""
    n = check_int(n, "--n", 1, None, "a positive integer")
    seed = check_seed(seed)
    spec, objects, shape, saved = load_run(run_dir, with_config=True)
    config = objects[0].config if hasattr(objects[0], "config") else None
    conditional = spec.conditional(config)
    if conditional and temperature is None:
        raise ValueError(f"'{run_dir}' holds a lattice model conditioned on the temperature: "
                         "give --temperature T (it was trained on 1.5 <= T <= 3.5)")
    if temperature is not None and not conditional:
        raise ValueError(f"--temperature is for a lattice model conditioned on the temperature; "
                         f"'{run_dir}' holds a{' n' if spec.name[0] in 'aeiou' else ''} "
                         f"{spec.name} model that is not")
    if temperature is not None and not (isinstance(temperature, int | float | np.floating)
                                        and np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"--temperature must be a positive number, got {temperature}")
    low, high = TEMPERATURES
    if temperature is not None and not low <= temperature <= high and not extrapolate:
        raise ValueError(f"--temperature {temperature} is outside the temperatures the model "
                         f"was trained on ({low} <= T <= {high}); its samples there are not "
                         "checked against the physics: add --extrapolate to sample anyway")
    width = max([int(np.prod(shape)), *getattr(config, "hidden", ())])
    check_memory(f"--n {n}", 4.0 * 8 * n * width, "draw fewer samples per call")
    key = jax.random.key(seed)
    if conditional:
        return spec.sample_at(objects, key, n, temperature)
    x = np.asarray(spec.sample(objects, key, n)).reshape(n, -1)
    return prep_lib.dequantize(x, saved.get("prepare", {})).reshape(n, *shape)


def evaluate_run(run_dir: str | Path, data: str, seed: int = 0, means: str | None = None,
                 std: float | None = None) -> dict[str, Any]:
    """The model's metrics on ``data``; ``means`` (a .npy of mode centres) and ``std`` give a
    user's mixture the mode metrics that the built-in ring and grid have."""
    seed = check_seed(seed)
    if (means is None) != (std is None):
        raise ValueError("--means and --std go together: the mode centres (.npy of shape "
                         "(modes, dim)) and their common standard deviation")
    if std is not None and not (isinstance(std, int | float | np.integer | np.floating)
                            and not isinstance(std, bool) and math.isfinite(std) and std > 0):
        raise ValueError(f"--std must be a finite number > 0, got {std}")
    spec, objects, shape, saved = load_run(run_dir, with_config=True)
    dataset = data_lib.load(data)
    if means is not None:
        centres = prep_lib.load_means(means, int(np.prod(dataset.shape)))
        dataset = dataclasses.replace(dataset, means=centres, std=float(std))
    if tuple(dataset.shape) != tuple(shape):
        raise ValueError(f"data '{data}' has examples of shape {dataset.shape}, the model was "
                         f"trained on shape {tuple(shape)}")
    return report.evaluate_saved(spec, objects, dataset, saved, data, jax.random.key(seed))
