"""``python -m course_lib pretrained regenerate NAME``: rebuild one pretrained file alone.

Each recipe (:mod:`course_lib.cli.regenerate_recipes`) reads the file's sidecar (how the
model was built and trained), calls the library functions the notebook calls with
``retrain=True``, and so rewrites the weights and the sidecar (or writes them to ``--out
DIR``). JAX on a CPU is bit-reproducible on one kind of CPU: there a regenerated file has the
sha256 it had.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

from course_lib.cli.regenerate_recipes import RECIPES
from course_lib.pretrained import PRETRAINED_DIR, sha256


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


def sha256_of(name: str) -> str | None:
    """The sha256 of the weights of ``name`` now (None when missing)."""
    weights = PRETRAINED_DIR / f"{name}.npz"
    return sha256(weights) if weights.is_file() else None


def regenerate(name: str, directory: str | Path | None = None) -> str:
    """Retrain ``name`` with its recipe, writing it to ``directory`` (default: over the
    shipped file in data/pretrained); returns the new sha256 of its weights."""
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
    RECIPES[name](name, read_sidecar(name, "config")["config"], directory)
    return sha256((directory or PRETRAINED_DIR) / f"{name}.npz")


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
