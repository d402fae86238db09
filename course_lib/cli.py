"""The command line, ``python -m course_lib``, and the Python functions behind it.

    python -m course_lib data list
    python -m course_lib data sample ring --n 2500 --seed 0 --out ring.npy
    python -m course_lib train gan --data ring --out runs/ring --steps 5000
    python -m course_lib sample runs/ring --n 2500 --out samples.npy
    python -m course_lib evaluate runs/ring --data ring

A bad argument gives exit status 2 and one line on stderr starting ``error:``; the Python
functions raise ``ValueError`` with the same message. A run folder holds ``config.json``,
``checkpoint.npz`` (rewritten atomically during training, so a crashed run resumes with
``--resume``) and, when training finished, ``metrics.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import jax
import numpy as np

from course_lib import data as data_lib
from course_lib import models
from course_lib.train import (
    CHECKPOINT,
    TrainConfig,
    TrainingDiverged,
    load_checkpoint,
    train,
    write_atomic,
)

CONFIG, METRICS = "config.json", "metrics.json"


def _write_json(path: Path, obj) -> None:
    write_atomic(path, lambda f: f.write((json.dumps(obj, indent=2) + "\n").encode()))


def _data_spec(data: str) -> str:
    """Built-in names stay names; files are recorded by absolute path."""
    return data if data in data_lib.REGISTRY else str(Path(data).resolve())


def _check_options(spec: models.ModelSpec, options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options) - set(spec.options)
    if unknown:
        accepted = ", ".join(f"--{k.replace('_', '-')}" for k in spec.options) or "none"
        raise ValueError(f"model '{spec.name}' has no option "
                         f"{', '.join('--' + k.replace('_', '-') for k in sorted(unknown))}; "
                         f"accepted: {accepted}")
    out = {}
    for k, opt in spec.options.items():
        v = options.get(k, opt.default)
        if v is not None:
            try:
                v = opt.type(v)
            except (TypeError, ValueError):
                raise ValueError(f"--{k.replace('_', '-')} must be a {opt.type.__name__}, "
                                 f"got {v!r}") from None
        if opt.choices and v not in opt.choices:
            raise ValueError(f"--{k.replace('_', '-')} must be one of "
                             f"{', '.join(map(str, opt.choices))}, got {v!r}")
        out[k] = v
    return out


def train_model(model: str, data: str, out: str | Path, *, steps: int = 2000,
                batch_size: int = 128, seed: int = 0, resume: bool = False,
                progress: bool = True, **options) -> dict[str, Any]:
    """Train ``model`` on ``data`` (a built-in name or a .npy/.npz path) into folder ``out``.

    Returns the contents of ``out/metrics.json``: the loss history and the final metrics.
    Everything is checked before the folder is created; a new run refuses a folder that
    already holds one.
    """
    spec = models.get(model)
    options = _check_options(spec, options)
    config = TrainConfig(steps=steps, batch_size=batch_size, seed=seed, progress=progress)
    out = Path(out)
    if resume and not (out / CHECKPOINT).is_file():
        raise ValueError(f"cannot resume: '{out}' holds no {CHECKPOINT}")
    if not resume and out.exists() and any(out.iterdir()):
        raise ValueError(f"'{out}' is not empty; choose a new --out or add --resume")
    dataset = data_lib.load(data)
    if spec.needs_labels and dataset.labels is None:
        raise ValueError(f"model '{model}' needs class labels: use digits or an .npz with "
                         "arrays 'x' and 'y'")
    info = models.RunInfo(shape=dataset.shape, options=options, seed=seed,
                          num_classes=dataset.num_classes,
                          data_stats=spec.data_stats(dataset, options) if spec.data_stats else {})
    run_config = {"model": model, "data": _data_spec(data), "shape": list(dataset.shape),
                  "num_classes": dataset.num_classes, "options": options,
                  "data_stats": info.data_stats, "train": {"steps": steps,
                                                           "batch_size": batch_size,
                                                           "seed": seed}}
    if resume:
        saved = json.loads((out / CONFIG).read_text())
        same = {k: saved.get(k) for k in ("model", "data", "options")}
        if same != {k: run_config[k] for k in same}:
            raise ValueError(f"cannot resume: '{out}' was trained with {same}")

    objects = spec.init(info)
    batches = spec.batches(dataset, info) if spec.batches else dataset.sample
    created = not out.exists()
    try:
        _write_json(out / CONFIG, run_config)
        history = train(spec.train_step, objects, batches, config, checkpoint_dir=out,
                        resume=resume)
    except BaseException:
        if created and not (out / CHECKPOINT).is_file():  # nothing worth resuming: leave no trace
            shutil.rmtree(out, ignore_errors=True)
        raise
    final = spec.evaluate(objects, dataset, jax.random.key(seed + 1), info)
    metrics = {k: [float(x) for x in v] for k, v in history.items()}
    metrics["final"] = final
    _write_json(out / METRICS, metrics)
    return metrics


def load_run(run_dir: str | Path) -> tuple[models.ModelSpec, tuple, models.RunInfo]:
    """The model of a run folder, with its trained state: (spec, objects, info)."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file() or not (run_dir / CHECKPOINT).is_file():
        raise ValueError(f"'{run_dir}' is not a run folder (it needs {CONFIG} and {CHECKPOINT}; "
                         "make one with: python -m course_lib train ...)")
    cfg = json.loads((run_dir / CONFIG).read_text())
    spec = models.get(cfg["model"])
    # options added to a model after the run was trained take their defaults
    options = {k: opt.default for k, opt in spec.options.items()} | cfg["options"]
    info = models.RunInfo(shape=tuple(cfg["shape"]), options=options,
                          seed=cfg["train"]["seed"], num_classes=cfg.get("num_classes"),
                          data_stats=cfg.get("data_stats", {}))
    objects = spec.init(info)
    from flax import nnx

    state, *_ = load_checkpoint(run_dir / CHECKPOINT, nnx.state(objects))
    nnx.update(objects, state)
    return spec, objects, info


def sample_run(run_dir: str | Path, n: int, seed: int = 0) -> np.ndarray:
    if n <= 0:
        raise ValueError(f"--n must be a positive integer, got {n}")
    spec, objects, info = load_run(run_dir)
    return spec.sample(objects, jax.random.key(seed), n, info)


def evaluate_run(run_dir: str | Path, data: str, seed: int = 0, means: str | None = None,
                 std: float | None = None) -> dict[str, Any]:
    """The model's metrics on ``data``; ``means`` (a .npy of mode centres) and ``std`` give a
    user's mixture the mode metrics that the built-in ring and grid have."""
    spec, objects, info = load_run(run_dir)
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
    if tuple(dataset.shape) != tuple(info.shape):
        raise ValueError(f"data '{data}' has examples of shape {dataset.shape}, the model was "
                         f"trained on shape {tuple(info.shape)}")
    return spec.evaluate(objects, dataset, jax.random.key(seed), info)


def save_array(path: str | Path, x: np.ndarray) -> None:
    path = Path(path)
    if path.suffix != ".npy":
        raise ValueError(f"--out must name a .npy file, got '{path}'")
    write_atomic(path, lambda f: np.save(f, np.asarray(x)))


# ------------------------------------------------------------------------- argument parsing


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr: ``error: ...``, exit status 2."""

    def error(self, message):
        raise ValueError(f"{message} (see: python -m course_lib {self.prog.split(' ', 1)[-1]} -h)"
                         .replace(" (see: python -m course_lib course_lib -h)",
                                  " (see: python -m course_lib -h)"))


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got '{s}'") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {v}")
    return v


def _seed(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got '{s}'") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {v}")
    return v


def _parser(model: models.ModelSpec | None = None) -> argparse.ArgumentParser:
    """The command line; with ``model``, `train`'s help also lists that model's options."""
    p = _Parser(prog="course_lib", description="Train, sample and evaluate the course's models.")
    verbs = p.add_subparsers(dest="verb", metavar="{data,train,sample,evaluate}",
                             parser_class=_Parser)
    verbs.required = True
    d = verbs.add_parser("data", help="list or sample the built-in data sets")
    dverbs = d.add_subparsers(dest="data_verb", metavar="{list,sample}", parser_class=_Parser)
    dverbs.required = True
    dverbs.add_parser("list", help="the built-in data sets")
    ds = dverbs.add_parser("sample", help="draw examples from a data set into a .npy file")
    ds.add_argument("name")
    ds.add_argument("--n", type=_positive_int, required=True)
    ds.add_argument("--seed", type=_seed, default=0)
    ds.add_argument("--out", required=True)

    t = verbs.add_parser("train", help="train a model; the model's own options follow it")
    t.add_argument("model", help="gaussian, gan, wgan-gp, cgan, ddpm, vdm, binomial, ...")
    t.add_argument("--data", required=True, help="a built-in data set or a .npy/.npz file")
    t.add_argument("--out", required=True, help="the run folder")
    t.add_argument("--steps", type=_positive_int, default=2000)
    t.add_argument("--batch-size", type=_positive_int, default=128)
    t.add_argument("--seed", type=_seed, default=0)
    t.add_argument("--resume", action="store_true")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--distributed", action="store_true",
                   help="several hosts: call jax.distributed.initialize() first (it reads "
                        "JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID, or finds "
                        "them itself on Cloud TPU and SLURM)")
    if model is not None:
        group = t.add_argument_group(f"options of {model.name}")
        for k, opt in model.options.items():
            choices = f"; one of {', '.join(map(str, opt.choices))}" if opt.choices else ""
            group.add_argument(f"--{k.replace('_', '-')}", metavar=opt.type.__name__.upper(),
                               help=f"{opt.help} (default {opt.default}{choices})")

    s = verbs.add_parser("sample", help="draw samples from a trained model")
    s.add_argument("run_dir")
    s.add_argument("--n", type=_positive_int, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=_seed, default=0)

    e = verbs.add_parser("evaluate", help="print a trained model's metrics on data, as JSON")
    e.add_argument("run_dir")
    e.add_argument("--data", required=True)
    e.add_argument("--seed", type=_seed, default=0)
    e.add_argument("--means", help="a .npy of mode centres, for the mode metrics on user data")
    e.add_argument("--std", type=float, help="the modes' standard deviation, with --means")
    return p


def _model_options(spec: models.ModelSpec, argv: list[str]) -> dict[str, Any]:
    p = _Parser(prog=f"course_lib train {spec.name}", add_help=False)
    for k, opt in spec.options.items():
        p.add_argument(f"--{k.replace('_', '-')}", dest=k, type=str, default=None, help=opt.help)
    try:
        ns, rest = p.parse_known_args(argv)
    except ValueError:
        raise
    if rest:
        accepted = ", ".join(f"--{k.replace('_', '-')}" for k in spec.options) or "none"
        raise ValueError(f"model '{spec.name}' does not take {' '.join(rest)}; its options: "
                         f"{accepted}")
    return {k: v for k, v in vars(ns).items() if v is not None}


def _help_model(argv: list[str]) -> models.ModelSpec | None:
    """The model of `train MODEL ... -h`, whose options the help then lists."""
    if argv[:1] != ["train"] or not {"-h", "--help"} & set(argv):
        return None
    names = [a for a in argv[1:] if a in models.all_models()]
    return models.get(names[0]) if names else None


def run(argv: list[str]) -> int:
    args, rest = _parser(_help_model(argv)).parse_known_args(argv)
    if rest and args.verb != "train":
        raise ValueError(f"unrecognized arguments: {' '.join(rest)}")
    if args.verb == "data" and args.data_verb == "list":
        for name, line in data_lib.describe().items():
            print(f"{name:12s} {line}")
    elif args.verb == "data":
        if not args.out.endswith(".npy"):
            raise ValueError(f"--out must name a .npy file, got '{args.out}'")
        x = data_lib.get(args.name).sample(jax.random.key(args.seed), args.n)
        save_array(args.out, np.asarray(x))
        print(f"wrote {args.out}: {args.n} examples of shape {tuple(x.shape[1:])}")
    elif args.verb == "train":
        if args.distributed:
            jax.distributed.initialize()
        spec = models.get(args.model)
        options = _model_options(spec, rest)
        metrics = train_model(args.model, args.data, args.out, steps=args.steps,
                              batch_size=args.batch_size, seed=args.seed, resume=args.resume,
                              progress=not args.no_progress, **options)
        print(json.dumps({"out": args.out, "final": metrics["final"]}))
    elif args.verb == "sample":
        if not args.out.endswith(".npy"):
            raise ValueError(f"--out must name a .npy file, got '{args.out}'")
        x = sample_run(args.run_dir, args.n, args.seed)
        save_array(args.out, x)
        print(f"wrote {args.out}: {x.shape[0]} samples of shape {tuple(x.shape[1:])}")
    elif args.verb == "evaluate":
        print(json.dumps(evaluate_run(args.run_dir, args.data, args.seed, args.means,
                                      args.std)))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except ValueError as e:
        print(f"error: {str(e).splitlines()[0] if str(e) else 'invalid argument'}",
              file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; resume with --resume", file=sys.stderr)
        return 130
