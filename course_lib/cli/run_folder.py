"""What a run folder holds, and the checked reading of each of its files.

A run folder owns exactly the files its run writes (``OWNED``), listed in its ``manifest.json``
with the sha256 of its ``config.json``; the tool reads them without following symbolic links,
refuses a folder it did not make (entries and no manifest, or entries the manifest does not
list), and checks every field of ``config.json`` and ``validation.json`` before using it.
Everything raises ``ValueError`` with the one line the command line prints.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from flax import nnx

from course_lib import data as data_lib
from course_lib.checkpoint import (
    CHECKPOINT,
    TMP_PREFIX,
    CheckpointError,
    load_checkpoint,
    open_own,
    save_checkpoint,
    write_atomic,
)
from course_lib.cli import validation
from course_lib.cli.errors import oserror
from course_lib.cli.limits import check_seed
from course_lib.cli.lock import LOCK
from course_lib.families import of_config
from course_lib.train import TrainConfig

CONFIG, METRICS, MANIFEST = "config.json", "metrics.json", "manifest.json"
# what a run folder may hold: the files its run writes (listed in its manifest), the manifest,
# the lock, and write_atomic's temporary files; the tool writes and deletes nothing else
OWNED = (CONFIG, CHECKPOINT, validation.BEST, validation.VALIDATION, METRICS)


def json_safe(obj):
    """``obj`` with every NaN or infinite float replaced by None, and the list of the keys
    where that happened: JSON has no NaN or Infinity."""
    bad: list[str] = []

    def clean(x, where):
        if isinstance(x, dict):
            return {k: clean(v, f"{where}.{k}" if where else str(k)) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v, f"{where}[{i}]") for i, v in enumerate(x)]
        if isinstance(x, float | np.floating) and not np.isfinite(x):
            bad.append(f"{where} ({x})")
            return None
        if isinstance(x, np.generic):
            return x.item()
        return x

    return clean(obj, ""), bad


def dumps(obj) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode()


def write_bytes(path: Path, data: bytes) -> None:
    try:
        write_atomic(path, lambda f: f.write(data))
    except OSError as e:
        raise oserror(path, e, "write") from None


def write_json(path: Path, obj) -> None:
    write_bytes(path, dumps(obj))


def read_own(path: Path) -> bytes:
    """The bytes of a run folder's file, never through a symbolic link (one line if not)."""
    try:
        with open_own(path) as f:
            return f.read()
    except OSError as e:
        raise oserror(path, e, "read") from None


def json_of(path: Path, raw: bytes, what: str):
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ValueError(f"'{path}' is not {what}: not valid JSON "
                         f"({type(e).__name__}: {str(e)[:60]})") from None


def read_manifest(out: Path) -> dict | None:
    """The run folder's manifest (None when there is none): the files its run writes and the
    sha256 of its config.json. Anything else is refused with one line."""
    path = out / MANIFEST
    if not os.path.lexists(path):
        return None
    manifest = json_of(path, read_own(path), "a run's manifest")
    if not (isinstance(manifest, dict) and manifest.get("written_by") == "course_lib"
            and isinstance(manifest.get("files"), list)
            and all(isinstance(f, str) and f in OWNED for f in manifest["files"])
            and isinstance(manifest.get("sha256"), dict)
            and all(isinstance(k, str) and k in manifest["files"] and isinstance(v, str)
                    for k, v in manifest["sha256"].items())):
        raise ValueError(f"'{path}' is not a run's manifest (it needs written_by "
                         "'course_lib', the files the run writes and their sha256)")
    return manifest


def manifest_for(config_bytes: bytes | None) -> dict:
    return {"written_by": "course_lib", "files": list(OWNED),
            "sha256": {} if config_bytes is None else
            {CONFIG: hashlib.sha256(config_bytes).hexdigest()}}


def _foreign(out: Path, manifest: dict | None) -> list[str]:
    """Entries of ``out`` its run did not write (all of them when it has no manifest), and
    its own names that are not plain files (a planted link)."""
    own = set(manifest["files"]) | {MANIFEST, LOCK} if manifest else set()
    found = []
    with os.scandir(out) as entries:
        for e in entries:
            if manifest and e.name.startswith(TMP_PREFIX) and not e.is_symlink():
                continue
            if e.name not in own or not e.is_file(follow_symlinks=False):
                found.append(e.name)
    return sorted(found)


def check_owned(out: Path, *, resume: bool) -> dict | None:
    """Refuse a folder this tool did not make: one with entries and no manifest, or with
    entries its manifest does not list. Returns the manifest (None for an empty folder)."""
    manifest = read_manifest(out)
    foreign = _foreign(out, manifest)
    if foreign:
        listed = ", ".join(foreign[:4]) + (f" and {len(foreign) - 4} more" if len(foreign) > 4
                                           else "")
        why = ("it has no manifest.json, so it is not a run folder this tool made"
               if manifest is None else "its manifest.json does not list them")
        raise ValueError(f"{'cannot resume: ' if resume else ''}'{out}' holds {listed}, "
                         f"and {why}; the tool writes only into a new or empty folder or a "
                         "run it made: choose another --out")
    return manifest


def read_run_config(run_dir: Path, manifest: dict | None = None) -> dict[str, Any]:
    """``config.json`` of a run folder, checked against the sha256 its manifest records and
    field by field (a hand-edited or foreign file is refused with one line, not a KeyError)."""
    path = run_dir / CONFIG
    bad = f"'{path}' is not a run's config"
    manifest = read_manifest(run_dir) if manifest is None else manifest
    if manifest is None:
        raise ValueError(f"'{run_dir}' is not a run folder this tool made (no {MANIFEST}); "
                         "make one with: python -m course_lib train ...")
    raw = read_own(path)
    if hashlib.sha256(raw).hexdigest() != manifest["sha256"].get(CONFIG):
        raise ValueError(f"'{path}' is not the config its run wrote (its sha256 differs from "
                         f"the one {MANIFEST} records): restore it, or retrain")
    saved = json_of(path, raw, "a run's config")
    if not isinstance(saved, dict):
        raise ValueError(f"{bad}: it holds a {type(saved).__name__}, not a record")
    kinds = {"model": str, "data": str, "shape": list, "config": dict, "train": dict}
    wrong = [k for k, t in kinds.items() if not isinstance(saved.get(k), t)]
    if wrong:
        raise ValueError(f"{bad}: {', '.join(wrong)} missing or of the wrong type (it needs "
                         "model, data, shape, config and train, as `train` writes them)")
    if not saved["shape"] or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1
                                     for d in saved["shape"]):
        raise ValueError(f"{bad}: shape must be positive integers, got {saved['shape']}")
    try:
        saved["train_config"] = TrainConfig(**saved["train"])
        check_seed(saved["train_config"].seed, "its train seed")
    except (TypeError, ValueError) as e:
        raise ValueError(f"{bad}: its train block is invalid ({e})") from None
    return saved


def make_dirs(out: Path) -> Path | None:
    """Create ``out`` and its missing parents; return the topmost folder created (or None)."""
    top, p = None, out
    while not p.exists():
        top, p = p, p.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise oserror(out, e, "create the run folder") from None
    return top


def remove_empty(out: Path, created: Path | None) -> None:
    """Remove the folders this call created, from ``out`` up to ``created``, if empty."""
    if created is None:
        return
    p = out
    while True:
        try:
            p.rmdir()
        except OSError:
            return
        if p == created:
            return
        p = p.parent


def read_validation(out: Path, step: int) -> dict | None:
    """The run's validation record (``validation.json``), checked field by field before
    anything is rewritten; None when there is none."""
    path = out / validation.VALIDATION
    if not os.path.lexists(path):
        return None
    record = json_of(path, read_own(path), "a run's validation record")
    ints = lambda v: all(isinstance(x, int) and not isinstance(x, bool) for x in v)  # noqa: E731
    num = lambda x: x is None or (isinstance(x, int | float) and not isinstance(x, bool)  # noqa: E731
                                  and math.isfinite(x))
    ok = (isinstance(record, dict) and isinstance(record.get("metric"), str)
          and isinstance(record.get("steps"), list) and isinstance(record.get("values"), list)
          and ints(record["steps"]) and len(record["steps"]) == len(record["values"])
          and record["steps"] == sorted(set(record["steps"]))
          and all(0 < s <= step for s in record["steps"])
          and all(num(v) for v in record["values"]) and num(record.get("best"))
          and (record.get("best_step") is None or (ints([record["best_step"]])
                                                   and record["best_step"] in record["steps"]))
          and (record.get("stopped") is None or record.get("stopped") in record["steps"]))
    if not ok:
        raise ValueError(f"cannot resume: '{path}' is not the validation record its run wrote "
                         f"(it needs metric, steps and values of equal length, up to the "
                         f"checkpoint's step {step}, best and best_step); restore it, or "
                         "start a new run")
    return record


def _finite_list(v, n: int, positive: bool = False) -> bool:
    return (isinstance(v, list) and len(v) == n
            and all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
                    and (x > 0 or not positive) for x in v))


def check_settings(run_dir: Path, saved: dict, config) -> None:
    """Every setting of a run's config.json that sampling and evaluation use, checked against
    the others before use: the example shape against the model's own dimensions and a
    built-in data set's, the data transform's lengths and values (a mean of the wrong
    length would be broadcast, a NaN std would give NaN samples)."""
    bad = f"'{run_dir / CONFIG}' is not consistent"
    shape, dim = saved["shape"], int(np.prod(saved["shape"]))
    if getattr(config, "data_dim", dim) != dim:
        raise ValueError(f"{bad}: shape {shape} holds {dim} numbers, the model "
                         f"{config.data_dim}")
    if hasattr(config, "L") and shape != [config.L, config.L]:
        raise ValueError(f"{bad}: shape {shape}, the model's lattices are {config.L} x "
                         f"{config.L}")
    # a built-in set's examples: made to read their shape, except where the lattice's L has
    # just fixed it (making the Ising set runs 2048 Metropolis chains: 20 s at every load)
    if saved["data"] in data_lib.REGISTRY and not hasattr(config, "L"):
        want = list(data_lib.get(saved["data"]).shape)
        if shape != want:
            raise ValueError(f"{bad}: shape {shape}, the data set '{saved['data']}' has "
                             f"examples of shape {want}")
    prepare = saved.get("prepare", {})
    if not isinstance(prepare, dict):
        raise ValueError(f"{bad}: prepare must be a record, got {type(prepare).__name__}")
    standardize, quantized = prepare.get("standardize", False), prepare.get("quantized")
    if not isinstance(standardize, bool):
        raise ValueError(f"{bad}: prepare.standardize must be true or false")
    if standardize and not (_finite_list(prepare.get("mean"), dim)
                            and _finite_list(prepare.get("std"), dim, positive=True)):
        raise ValueError(f"{bad}: prepare.mean and prepare.std must be {dim} finite numbers "
                         "each (std > 0), one per number of an example")
    if quantized is not None and (
            isinstance(quantized, bool) or not isinstance(quantized, int)
            or not 1 <= quantized <= 16 or prepare.get("reading") not in ("integers", "scaled")
            or standardize):
        raise ValueError(f"{bad}: prepare.quantized must be 1..16 bits with reading "
                         "'integers' or 'scaled', and not standardised")
    for key in ("val_rows", "patience"):
        v = prepare.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{bad}: prepare.{key} must be a non-negative integer")
    v = prepare.get("val_fraction", 0.0)
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 0.5:
        raise ValueError(f"{bad}: prepare.val_fraction must be a number in 0..0.5")


def check_resumable(path: Path, objects, train_config: TrainConfig, identity) -> int:
    """Everything train(resume=True) will check, checked before anything is written."""
    _, step, _, saved = load_checkpoint(path, nnx.state(objects))
    if "identity" in saved and saved["identity"] != identity:
        raise CheckpointError(f"cannot resume: '{path}' holds model "
                              f"'{saved['identity'].get('model')}' with another config than "
                              f"{CONFIG} says (a checkpoint copied from another run?)")
    meta = {k: v for k, v in dataclasses.asdict(train_config).items()
            if k not in ("progress", "steps")} | {"identity": identity}
    if {k: v for k, v in saved.items() if k != "identity"} != {
            k: v for k, v in meta.items() if k != "identity"}:
        raise ValueError(f"cannot resume: the checkpoint was written with "
                         f"{ {k: v for k, v in saved.items() if k != 'identity'} }, this run "
                         f"asks for { {k: v for k, v in meta.items() if k != 'identity'} }")
    if "identity" not in saved:
        raise CheckpointError(f"cannot resume: '{path}' was written before checkpoints "
                              "recorded their model; start a new run")
    if step > train_config.steps:
        raise ValueError(f"cannot resume: the checkpoint is at step {step}, past the "
                         f"requested steps={train_config.steps}")
    return step


def write_run_folder(model, folder, train_config: TrainConfig, data: str,
                     shape: list[int]) -> None:
    """A run folder of the command line holding ``model`` (any family's, trained elsewhere,
    e.g. in a notebook), so that ``python -m course_lib sample FOLDER ...`` samples it: its
    config.json, its manifest (with the config's sha256) and a checkpoint of the family's
    objects with the model's weights (the optimizer's state fresh: the weights are what
    matter). The folder must be new or one this tool made."""
    config, folder = model.config, Path(folder)
    family = of_config(config)
    folder.mkdir(parents=True, exist_ok=True)
    check_owned(folder, resume=True)
    objects = family.init(config, train_config.seed)
    nnx.update(objects[0], nnx.state(model))
    run = {"model": family.name, "data": data, "shape": list(shape),
           "config": json.loads(json.dumps(dataclasses.asdict(config))),
           "train": dataclasses.asdict(train_config)}
    config_bytes = dumps(run)
    write_json(folder / MANIFEST, manifest_for(config_bytes))
    write_bytes(folder / CONFIG, config_bytes)
    save_checkpoint(folder / CHECKPOINT, nnx.state(objects), train_config.steps, {}, {})
