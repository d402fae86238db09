"""Checkpoints: a model's state, its training step and history in one ``.npz``, written atomically.

:func:`write_atomic` writes any file so that a crash leaves the old file or the new one, never
half of one; :func:`course_lib.train.train` saves through it, so a crashed run resumes bit for
bit from its last checkpoint, and the command line writes its run folders with it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

CHECKPOINT = "checkpoint.npz"
TMP_PREFIX = ".tmp-course_lib-"  # write_atomic's temporary files; nothing else is cleaned up


def _state_leaves(state) -> list[np.ndarray]:
    """State leaves as numpy arrays; PRNG keys as their raw key data."""
    out = []
    for x in jax.tree.leaves(state):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        out.append(np.asarray(x))
    return out


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over every array's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        x = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{x.dtype.str}|{x.shape}|".encode())
        h.update(x.tobytes())
    return h.hexdigest()


def save_checkpoint(path: str | Path, state, step: int, history: dict[str, np.ndarray],
                    meta: dict[str, Any]) -> None:
    """Save the state, the step and the history with :func:`write_atomic`, with a manifest:
    each array's name, shape and dtype and the sha256 of them all, checked on loading."""
    arrays = {f"state/{i}": x for i, x in enumerate(_state_leaves(state))}
    arrays |= {f"history/{k}": np.asarray(v) for k, v in history.items()}
    arrays["step"] = np.asarray(step)
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    manifest = {"arrays": {k: [list(v.shape), v.dtype.str] for k, v in arrays.items()},
                "sha256": _digest(arrays)}
    arrays["manifest"] = np.asarray(json.dumps(manifest, sort_keys=True))
    write_atomic(path, lambda f: np.savez(f, **arrays))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, write) -> None:
    """Call ``write(file)`` on a temporary file in the same folder, fsync it, then rename it
    over ``path``: a crash leaves the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX, suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o666 & ~_umask())  # mkstemp's 0600, as open() would give
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted: missing, truncated, altered or of another model."""


def open_own(path: str | Path):
    """``path`` opened for reading without following a symbolic link (a file of ours is never
    read through a link someone planted) and only when it is a regular file (a FIFO would
    block). Raises ValueError with one line, or OSError when the file system refuses."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ValueError(f"'{path}' is a symbolic link; the tool reads its own files only "
                             "as files (replace the link by the file)") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError(f"'{path}' is not a regular file (a folder, FIFO or device)")
    return os.fdopen(fd, "rb")


def read_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of the checkpoint at ``path``, verified against its manifest (names,
    shapes, dtypes, sha256). Raises :class:`CheckpointError` (a ValueError) with one line."""
    path = Path(path)
    if not os.path.lexists(path):
        raise CheckpointError(f"no checkpoint at '{path}'")
    damaged = f"checkpoint '{path}' is damaged or not a checkpoint"
    try:
        with open_own(path) as raw, np.load(raw, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as e:
        if "symbolic link" in str(e) or "regular file" in str(e):
            raise CheckpointError(str(e)) from None
        raise CheckpointError(f"{damaged} ({type(e).__name__}: {str(e)[:80]}); "
                              "retrain, or restore it from a copy") from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        raise CheckpointError(f"{damaged} ({type(e).__name__}: {str(e)[:80]}); "
                              "retrain, or restore it from a copy") from None
    if not isinstance(arrays.get("step"), np.ndarray) or "meta" not in arrays:
        raise CheckpointError(f"{damaged} (no step or meta); retrain it")
    if "manifest" not in arrays:  # an array could be altered unseen
        raise CheckpointError(f"checkpoint '{path}' has no manifest (the list and sha256 of "
                              "its arrays), so an altered array could not be seen; retrain it")
    try:
        manifest = json.loads(str(arrays.pop("manifest")))
        listed, digest = manifest["arrays"], manifest["sha256"]
        ok = (isinstance(listed, dict) and set(listed) == set(arrays)
              and all(list(arrays[k].shape) == v[0] and arrays[k].dtype.str == v[1]
                      for k, v in listed.items()))
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        ok, digest = False, None
    if not ok or digest != _digest(arrays):
        raise CheckpointError(f"checkpoint '{path}' does not match its own manifest (its "
                              "arrays or their sha256 were altered); retrain, or restore "
                              "it from a copy")
    return arrays


def load_checkpoint(path: str | Path, state_template):
    """(state, step, history, meta) from ``path``; the template gives the pytree structure."""
    path = Path(path)
    f = read_checkpoint(path)
    template = jax.tree.leaves(state_template)
    n = sum(k.startswith("state/") for k in f)
    if n != len(template):
        raise CheckpointError(f"checkpoint '{path}' holds {n} arrays but the model has "
                              f"{len(template)}: it was written for a different model")
    leaves = []
    for i, t in enumerate(template):
        x = f.get(f"state/{i}")
        if x is None:
            raise CheckpointError(f"checkpoint '{path}' lacks array state/{i}")
        if jnp.issubdtype(t.dtype, jax.dtypes.prng_key):
            want = jax.random.key_data(t).shape
            if x.shape != want or x.dtype != np.uint32:
                raise CheckpointError(f"checkpoint '{path}': array {i} is not a PRNG key")
            leaves.append(jax.random.wrap_key_data(x, impl=jax.random.key_impl(t)))
        else:
            if x.shape != t.shape:
                raise CheckpointError(f"checkpoint '{path}': array {i} has shape {x.shape}, "
                                      f"the model expects {t.shape}")
            if np.issubdtype(x.dtype, np.inexact) and not np.isfinite(x).all():
                raise CheckpointError(f"checkpoint '{path}': array {i} holds NaN or infinite "
                                      "values; retrain, or restore it from a copy")
            leaves.append(jnp.asarray(x, t.dtype))
    history = {k[len("history/"):]: v for k, v in f.items() if k.startswith("history/")}
    try:
        step, meta = int(f["step"]), json.loads(str(f["meta"]))
    except (TypeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"checkpoint '{path}': unreadable step or meta ({e})") from None
    if not isinstance(meta, dict) or step < 0:
        raise CheckpointError(f"checkpoint '{path}': its meta is not a record or step < 0")
    return jax.tree.unflatten(jax.tree.structure(state_template), leaves), step, history, meta
