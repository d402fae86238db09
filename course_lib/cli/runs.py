"""Run folders: train a model into one, and sample or evaluate the model it holds.

A run folder holds ``config.json`` (the model's name, the data, the model's full config and
the training config), ``checkpoint.npz`` (rewritten atomically during training, so a crashed
run resumes with ``--resume``) and, when training finished, ``metrics.json``. The functions
raise ``ValueError`` with the one-line message the command line prints.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from course_lib import data as data_lib
from course_lib.checkpoint import CHECKPOINT, load_checkpoint, write_atomic
from course_lib.cli.models import ModelSpec, get
from course_lib.cli.options import flag, option_fields
from course_lib.config import from_dict
from course_lib.train import TrainConfig, train

CONFIG, METRICS = "config.json", "metrics.json"


def _write_json(path: Path, obj) -> None:
    write_atomic(path, lambda f: f.write((json.dumps(obj, indent=2) + "\n").encode()))


def _data_spec(data: str) -> str:
    """Built-in names stay names; files are recorded by absolute path."""
    return data if data in data_lib.REGISTRY else str(Path(data).resolve())


def _check_options(spec: ModelSpec, options: dict[str, Any]) -> None:
    accepted = [f.name for f in option_fields(spec.config, spec.fixed)]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"model '{spec.name}' has no option "
                         f"{', '.join(flag(k) for k in unknown)}; accepted: "
                         f"{', '.join(flag(k) for k in accepted) or 'none'}")


def train_model(model: str, data: str, out: str | Path, train_config: TrainConfig | None = None,
                *, resume: bool = False, **options) -> dict[str, Any]:
    """Train ``model`` on ``data`` (a built-in name or a .npy/.npz path) into folder ``out``;
    ``options`` are fields of the model's config (``lr_g=1e-4``, ``hidden=(64, 64)``).

    Returns the contents of ``out/metrics.json``: the loss history and the final metrics.
    Everything is checked before the folder is created; a new run refuses a folder that
    already holds one.
    """
    spec = get(model)
    _check_options(spec, options)
    train_config = train_config or TrainConfig()
    out = Path(out)
    if resume and not (out / CHECKPOINT).is_file():
        raise ValueError(f"cannot resume: '{out}' holds no {CHECKPOINT}")
    if not resume and out.exists() and any(out.iterdir()):
        raise ValueError(f"'{out}' is not empty; choose a new --out or add --resume")
    dataset = data_lib.load(data)
    if spec.needs_labels and dataset.labels is None:
        raise ValueError(f"model '{model}' needs class labels: use digits or an .npz with "
                         "arrays 'x' and 'y'")
    config = spec.make_config(dataset, options)
    run_config = {"model": model, "data": _data_spec(data), "shape": list(dataset.shape),
                  "config": dataclasses.asdict(config), "train": dataclasses.asdict(train_config)}
    if resume:
        saved = json.loads((out / CONFIG).read_text())
        same = {k: saved.get(k) for k in ("model", "data", "config")}
        if same != json.loads(json.dumps({k: run_config[k] for k in same})):
            raise ValueError(f"cannot resume: '{out}' was trained with {same}")

    objects = spec.init(config, train_config.seed)
    batches = spec.batches(dataset, config) if spec.batches else dataset.sample
    created = not out.exists()
    try:
        _write_json(out / CONFIG, run_config)
        history = train(spec.train_step, objects, batches, train_config, checkpoint_dir=out,
                        resume=resume)
    except BaseException:
        if created and not (out / CHECKPOINT).is_file():  # nothing worth resuming: leave no trace
            shutil.rmtree(out, ignore_errors=True)
        raise
    final = spec.evaluate(objects, dataset, jax.random.key(train_config.seed + 1))
    metrics = {k: [float(x) for x in v] for k, v in history.items()}
    metrics["final"] = final
    _write_json(out / METRICS, metrics)
    return metrics


def load_run(run_dir: str | Path) -> tuple[ModelSpec, tuple, list[int]]:
    """The model of a run folder, with its trained state: (spec, objects, example shape)."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file() or not (run_dir / CHECKPOINT).is_file():
        raise ValueError(f"'{run_dir}' is not a run folder (it needs {CONFIG} and {CHECKPOINT}; "
                         "make one with: python -m course_lib train ...)")
    saved = json.loads((run_dir / CONFIG).read_text())
    spec = get(saved["model"])
    # fields added to a config after the run was trained take their defaults
    objects = spec.init(from_dict(spec.config, saved["config"]), saved["train"]["seed"])
    state, *_ = load_checkpoint(run_dir / CHECKPOINT, nnx.state(objects))
    nnx.update(objects, state)
    return spec, objects, saved["shape"]


def sample_run(run_dir: str | Path, n: int, seed: int = 0) -> np.ndarray:
    """n samples of the run's model, each of the training data's shape."""
    if n <= 0:
        raise ValueError(f"--n must be a positive integer, got {n}")
    spec, objects, shape = load_run(run_dir)
    return np.asarray(spec.sample(objects, jax.random.key(seed), n)).reshape(n, *shape)


def evaluate_run(run_dir: str | Path, data: str, seed: int = 0, means: str | None = None,
                 std: float | None = None) -> dict[str, Any]:
    """The model's metrics on ``data``; ``means`` (a .npy of mode centres) and ``std`` give a
    user's mixture the mode metrics that the built-in ring and grid have."""
    spec, objects, shape = load_run(run_dir)
    dataset = data_lib.load(data)
    if (means is None) != (std is None):
        raise ValueError("--means and --std go together: the mode centres (.npy of shape "
                         "(modes, dim)) and their common standard deviation")
    if means is not None:
        if not Path(means).is_file():
            raise ValueError(f"--means file '{means}' does not exist")
        centres = np.load(means, allow_pickle=False)
        if centres.ndim != 2 or centres.shape[1] != int(np.prod(dataset.shape)):
            raise ValueError(f"--means must have shape (modes, {int(np.prod(dataset.shape))}), "
                             f"got {centres.shape}")
        if not std > 0:
            raise ValueError(f"--std must be > 0, got {std}")
        dataset = dataclasses.replace(dataset, means=centres.astype(np.float32), std=float(std))
    if tuple(dataset.shape) != tuple(shape):
        raise ValueError(f"data '{data}' has examples of shape {dataset.shape}, the model was "
                         f"trained on shape {tuple(shape)}")
    return spec.evaluate(objects, dataset, jax.random.key(seed))


def save_array(path: str | Path, x: np.ndarray) -> None:
    path = Path(path)
    if path.suffix != ".npy":
        raise ValueError(f"--out must name a .npy file, got '{path}'")
    write_atomic(path, lambda f: np.save(f, np.asarray(x)))
