"""python -m course_lib doctor: is this installation ready for the course? One line per check.

    ok    python 3.12.3
    FAIL  jax: not installed -> pip install -e ".[notebooks]" in the repository

Checks, in order: the Python version, the pinned packages, JAX's devices (and that a jitted
function runs), the compile cache folder, the shipped data, and every pretrained weight file's
sha256 against its sidecar. Exit status 0 when nothing failed ("warn" lines do not fail).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import Requirement

OK, WARN, FAIL = "ok", "warn", "FAIL"
MIN_PYTHON = (3, 12)
INSTALL = 'pip install -e ".[notebooks]" in the repository'

Check = tuple[str, str, str]  # (status, what, what to fix or "")


def check_python(version=sys.version_info) -> Iterator[Check]:
    shown = ".".join(map(str, version[:3]))
    if tuple(version[:2]) < MIN_PYTHON:
        yield FAIL, f"python {shown}", ("jax >= 0.11 needs Python >= 3.12: install Python 3.12 "
                                         "(python.org, pyenv or your package manager) and make "
                                         "a new virtual environment with it")
    else:
        yield OK, f"python {shown}", ""


def check_packages() -> Iterator[Check]:
    """Each pinned core dependency installed at its pinned version."""
    try:
        pins = [Requirement(r) for r in importlib.metadata.requires("course-lib") or []]
    except importlib.metadata.PackageNotFoundError:
        yield FAIL, "course-lib is not installed", INSTALL
        return
    for req in pins:
        if req.marker is not None:  # the extras (notebooks, dev, cuda, tpu)
            continue
        try:
            have = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            yield FAIL, f"{req.name}: not installed", INSTALL
            continue
        if req.specifier and have not in req.specifier:
            yield WARN, f"{req.name} {have} (tested with {req.specifier})", INSTALL
        else:
            yield OK, f"{req.name} {have}", ""


def check_jax() -> Iterator[Check]:
    try:
        import jax
        import jax.numpy as jnp
    except Exception as error:  # an ImportError, or a broken jaxlib
        yield FAIL, f"jax does not import: {error}", INSTALL
        return
    try:
        devices = jax.devices()
    except RuntimeError as error:  # JAX_PLATFORMS names a backend this machine lacks
        yield FAIL, (f"jax cannot start the backend JAX_PLATFORMS="
                     f"{os.environ.get('JAX_PLATFORMS', '')!r} asks for: "
                     f"{str(error).splitlines()[0][:120]}"), "unset JAX_PLATFORMS, or set it to cpu"
        return
    kinds = sorted({f"{d.platform}" for d in devices})
    try:
        two = float(jax.jit(lambda x: x + 1)(jnp.float32(1)))
    except Exception as error:
        yield FAIL, f"jax {jax.__version__} on {kinds}: a jitted function failed: {error}", (
            "reinstall jax and jaxlib at the pinned versions: " + INSTALL)
        return
    if two != 2.0:
        yield FAIL, f"jax computes 1 + 1 = {two}", "reinstall jax: " + INSTALL
        return
    line = f"jax {jax.__version__}, {len(devices)} device(s): {', '.join(map(str, devices))}"
    yield OK, line, ""


def check_cache() -> Iterator[Check]:
    import jax

    import course_lib

    # what the CLI and `make` use: the folder course_lib configures (on import, or by
    # enable_compile_cache() where the library no longer touches JAX's config on import)
    if hasattr(course_lib, "enable_compile_cache"):
        course_lib.enable_compile_cache()
    folder = jax.config.jax_compilation_cache_dir
    if not folder:
        yield WARN, "no compile cache: every run compiles again", (
            "set JAX_COMPILATION_CACHE_DIR to a writable folder")
        return
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as error:
        yield FAIL, f"compile cache {path} is not writable ({error.strerror})", (
            "set JAX_COMPILATION_CACHE_DIR to a writable folder")
        return
    entries = sum(1 for _ in path.iterdir())
    yield OK, f"compile cache {path} ({entries} entries)", ""


def check_data() -> Iterator[Check]:
    from course_lib import data

    digits = Path(data.DATA_DIR) / "digits.npz"
    if not digits.is_file():
        yield FAIL, f"{digits} is missing", ("the shipped data live in the repository: use a "
                                              "git clone and pip install -e, not a wheel")
        return
    try:
        import jax
        jax.devices()
    except RuntimeError:  # the backend's fault (check_jax names it), not the file's
        yield WARN, f"data: {digits.name} not checked (JAX has no backend)", ""
        return
    try:
        images = data.digits().data
    except Exception as error:
        yield FAIL, f"{digits} does not load: {error}", f"git checkout -- {digits}"
        return
    if images.shape[0] != 1797:
        yield FAIL, f"{digits} has {images.shape[0]} images, expected 1797", (
            f"git checkout -- {digits}")
    else:
        yield OK, f"data: {digits.name} ({images.shape[0]} digits)", ""


def check_pretrained(folder: Path | None = None) -> Iterator[Check]:
    """Every weight file against the sha256 in its sidecar <name>.json."""
    from course_lib import pretrained

    folder = Path(folder or pretrained.PRETRAINED_DIR)
    sidecars = sorted(folder.rglob("*.json"))
    if not sidecars:
        yield WARN, f"no pretrained weights under {folder}", (
            "the notebooks will train from scratch (minutes); git checkout -- data/pretrained")
        return
    good = 0
    for sidecar in sidecars:
        name = f"{sidecar.parent.name}/{sidecar.stem}"
        try:
            info = json.loads(sidecar.read_text())
            if not isinstance(info, dict):
                raise TypeError(f"a JSON {type(info).__name__}, not a record")
            if not isinstance(info.get("file"), str) or not isinstance(info.get("sha256"), str):
                raise KeyError("it lacks the strings 'file' and 'sha256'")
            weights = sidecar.with_name(info["file"])
            expected = info["sha256"]
        except (ValueError, KeyError, TypeError, OSError, RecursionError) as error:
            # one bad sidecar is one finding; the other files are still checked
            why = ("not JSON" if isinstance(error, ValueError) and not isinstance(error, KeyError)
                   else str(error).strip("'\"") or type(error).__name__)
            yield FAIL, f"pretrained {name}: sidecar {sidecar.name} unreadable ({why})", (
                f"git checkout -- {sidecar}")
            continue
        fix = f"git checkout -- {weights}, or retrain: {pretrained.regenerate_command(name)}"
        if not weights.is_file():
            yield FAIL, f"pretrained {name}: {weights.name} is missing", fix
        elif (got := pretrained.sha256(weights)) != expected:
            yield FAIL, f"pretrained {name}: sha256 {got[:12]}... != {expected[:12]}...", fix
        else:
            good += 1
    if good:
        yield OK, f"pretrained: {good} of {len(sidecars)} weight files match their sha256", ""


CHECKS = (check_python, check_packages, check_jax, check_cache, check_data, check_pretrained)


def main(argv: list[str] | None = None) -> int:
    """Print one line per check; 1 if any failed."""
    if argv:
        print(f"doctor takes no arguments, got {' '.join(argv)}", file=sys.stderr)
        return 2
    failed = 0
    for check in CHECKS:
        try:
            results = list(check())
        except Exception as error:  # a check that crashes is itself a finding
            results = [(FAIL, f"{check.__name__} crashed: {type(error).__name__}: {error}",
                        INSTALL)]
        for status, what, fix in results:
            failed += status == FAIL
            print(f"{status:5s} {what}" + (f" -> {fix}" if fix else ""))
    print("all good" if not failed else f"{failed} problem(s): fix the FAIL lines above",
          flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
