"""Checkpoints: a model's state, its training step and history in one ``.npz``, written atomically.

:func:`write_atomic` writes any file so that a crash leaves the old file or the new one, never
half of one; :func:`course_lib.train.train` saves through it, so a crashed run resumes bit for
bit from its last checkpoint, and the command line writes its run folders with it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

CHECKPOINT = "checkpoint.npz"


def _state_leaves(state) -> list[np.ndarray]:
    """State leaves as numpy arrays; PRNG keys as their raw key data."""
    out = []
    for x in jax.tree.leaves(state):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        out.append(np.asarray(x))
    return out


def save_checkpoint(path: str | Path, state, step: int, history: dict[str, np.ndarray],
                    meta: dict[str, Any]) -> None:
    """Save the state, the step and the history with :func:`write_atomic`."""
    arrays = {f"state/{i}": x for i, x in enumerate(_state_leaves(state))}
    arrays |= {f"history/{k}": v for k, v in history.items()}
    arrays["step"] = np.asarray(step)
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
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


def load_checkpoint(path: str | Path, state_template):
    """(state, step, history, meta) from ``path``; the template gives the pytree structure."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint at '{path}'")
    with np.load(path, allow_pickle=False) as f:
        template = jax.tree.leaves(state_template)
        n = sum(k.startswith("state/") for k in f.files)
        if n != len(template):
            raise ValueError(f"checkpoint '{path}' holds {n} arrays but the model has "
                             f"{len(template)}: it was written for a different model")
        leaves = []
        for i, t in enumerate(template):
            x = f[f"state/{i}"]
            if jnp.issubdtype(t.dtype, jax.dtypes.prng_key):
                leaves.append(jax.random.wrap_key_data(x, impl=jax.random.key_impl(t)))
            else:
                if x.shape != t.shape:
                    raise ValueError(f"checkpoint '{path}': array {i} has shape {x.shape}, "
                                     f"the model expects {t.shape}")
                leaves.append(jnp.asarray(x, t.dtype))
        history = {k[len("history/"):]: f[k] for k in f.files if k.startswith("history/")}
        step, meta = int(f["step"]), json.loads(str(f["meta"]))
    return jax.tree.unflatten(jax.tree.structure(state_template), leaves), step, history, meta
