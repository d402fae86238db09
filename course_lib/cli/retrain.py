"""``make retrain`` (``python -m course_lib pretrained retrain [PATTERN ...]``): rebuild the
shipped pretrained files from the commands their sidecars record, in a scratch folder, and
compare each with the shipped file. The shipped files are never written.

Each file is rebuilt by its own process (``<command> --out SCRATCH``), so its seconds include
starting JAX and compiling (the persistent compile cache helps on a second run). Then:

- the same kind of machine as the sidecar records (CPU model and vector instruction set, see
  :func:`course_lib.pretrained.cpu_kind`, and JAX version; a CPU-made file whose sidecar
  names no CPU model counts as the same kind): the rebuilt file must have the shipped sha256;
- another kind (another CPU or JAX, or a GPU-made file): the arrays must agree to float32
  rounding (every non-float array equal, the largest relative difference of the float
  arrays at most ``tolerance``); the largest relative difference is printed either way.

A file made on a GPU is not rebuilt on a machine without one: week 17's lattice models take
100 s on an H200 and hours on this 2-core CPU, and 4,000 steps of a CPU's float order would not
stay within float32 rounding of the GPU's. Its line says so, it counts as not checked (neither
pass nor mismatch), and ``make retrain`` on a machine with a GPU checks it.
"""

from __future__ import annotations

import fnmatch
import math
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np

from course_lib.cli.regenerate import names, read_sidecar
from course_lib.pretrained import PRETRAINED_DIR, cpu_kind, sha256

SCRATCH = Path("build/retrain")
TOLERANCE = 1e-5  # float32 rounding, grown by training: 1e-7 to 3e-6 was seen across CPUs


def select(patterns: list[str]) -> list[str]:
    """The shipped names matching any of the shell patterns, in the patterns' order (each name
    once); every name when none is given. A pattern that matches nothing is an error."""
    every, chosen = names(), []
    for pattern in patterns or ["*"]:
        matched = fnmatch.filter(every, pattern)
        if not matched:
            raise ValueError(f"no pretrained file matches '{pattern}'; `python -m course_lib "
                             f"pretrained list` shows them")
        chosen += [n for n in matched if n not in chosen]
    return chosen


def largest_relative_difference(rebuilt: Path, shipped: Path) -> tuple[dict, list[str]]:
    """({"parameters": ..., "history": ...}: the max over the model's float arrays, and over the
    rest (training history, stored samples), of max|a - b| / max|b|; the names of arrays that
    differ otherwise: another set of names, shape, dtype, or unequal non-float values)."""
    worst, other = {"parameters": 0.0, "history": 0.0}, []
    with np.load(rebuilt) as a, np.load(shipped) as b:
        other += sorted(set(a.files) ^ set(b.files))
        for key in sorted(set(a.files) & set(b.files)):
            x, y = a[key], b[key]
            if x.shape != y.shape or x.dtype != y.dtype:
                other.append(key)
            elif np.issubdtype(x.dtype, np.floating) and x.size:
                scale = float(np.max(np.abs(y.astype(np.float64))))
                diff = float(np.max(np.abs(x.astype(np.float64) - y)))
                part = "parameters" if key.startswith("state/") else "history"
                worst[part] = max(worst[part], diff / scale if scale else diff)
            elif not np.array_equal(x, y) and key != "manifest":  # the manifest holds a digest
                other.append(key)
    return worst, other


def rebuild(name: str, command: str, scratch: Path) -> float:
    """Run ``command``, the one ``name``'s sidecar records, writing into ``scratch``; its
    seconds."""
    words = shlex.split(command)
    if words[:5] != ["python", "-m", "course_lib", "pretrained", "regenerate"]:
        raise ValueError(f"'{name}' records {command!r}, which cannot write elsewhere")
    for suffix in (".npz", ".json"):
        (scratch / f"{name}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *words[1:], "--out", str(scratch)],
                          capture_output=True, text=True, env=os.environ | {"COURSE_RETRAIN": ""})
    seconds = time.perf_counter() - start
    if done.returncode:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"`{command}` failed (exit {done.returncode}): {tail}")
    return seconds


def kind(info: dict) -> str:
    """What made a file, from its sidecar: the platform and JAX version ("trained_on") and,
    on a CPU, its model and instruction set ("cpu"; sidecars older than that record none)."""
    made = info.get("trained_on", "cpu")
    if made.split(",")[0] != "cpu":
        return made  # a GPU: never the same kind as a CPU rebuild
    if "cpu" not in info:
        return f"{made}, an unrecorded CPU"
    return f"{info['cpu']}, {made.split(', ')[-1]}"


def here() -> str:
    """This machine's kind, in the sidecars' terms (JAX's platform and version, the CPU)."""
    return kind({"trained_on": f"{jax.default_backend()}, jax {jax.__version__}",
                 "cpu": cpu_kind()})


def made_on_absent_device(name: str) -> str | None:
    """What made ``name`` (its :func:`kind`, e.g. "gpu, jax 0.11.2") when that was a device
    this machine lacks, else None."""
    info = read_sidecar(name)
    platform = info.get("trained_on", "cpu").split(",")[0]
    return None if platform in ("cpu", jax.default_backend()) else kind(info)


def compare(name: str, scratch: Path, tolerance: float = TOLERANCE) -> tuple[bool, str]:
    """(passes, verdict) for the rebuilt ``scratch/<name>.npz`` against the shipped file."""
    shipped_info = read_sidecar(name, "sha256")
    rebuilt, shipped = scratch / f"{name}.npz", PRETRAINED_DIR / f"{name}.npz"
    if sha256(rebuilt) == shipped_info["sha256"] == sha256(shipped):
        return True, "identical"
    made_on = kind(shipped_info)
    worst, other = largest_relative_difference(rebuilt, shipped)
    detail = (f"max rel diff {worst['parameters']:.1e} in the parameters, "
              f"{worst['history']:.1e} in the rest"
              + (f"; differ: {', '.join(other[:4])}" if other else ""))
    if made_on == here() or made_on.endswith("an unrecorded CPU"):
        on = f"made on {made_on}"
        return False, f"NOT identical ({detail}; {on}, rebuilt on the same kind)"
    passes = not other and max(worst.values()) <= tolerance
    verdict = "equal to float32 rounding" if passes else "NOT equal"
    return passes, f"{verdict} ({detail}; made on {made_on}, rebuilt on {here()})"


def retrain(patterns: list[str], scratch: str | Path = SCRATCH,
            tolerance: float = TOLERANCE, out=None) -> int:
    """Rebuild and compare the selected files, one line each; 0 when every file checked here
    passes (files made on a device this machine lacks are listed, not rebuilt)."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not (
            math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"--tolerance must be a finite number >= 0 (a relative difference), "
                         f"got {tolerance}")
    if not str(scratch).strip():
        raise ValueError("--scratch is empty; it names the folder the rebuilt files go to")
    chosen, scratch, out = select(patterns), Path(scratch).resolve(), out or sys.stdout
    shipped = PRETRAINED_DIR.resolve()
    if scratch == shipped or shipped in scratch.parents or scratch in shipped.parents:
        raise ValueError(f"--scratch '{scratch}' is in or above the shipped files' folder "
                         f"{shipped}, which only `pretrained regenerate` writes; choose a "
                         "folder outside it (default build/retrain)")
    print(f"rebuilding {len(chosen)} pretrained files in {scratch} on {cpu_kind()}", file=out,
          flush=True)
    times, failed, unchecked, start = {}, [], [], time.perf_counter()
    ran: dict[str, str] = {}  # command -> the file it was run for: an ensemble runs once
    for name in chosen:
        if made := made_on_absent_device(name):
            unchecked.append(name)
            print(f"{name:52s} {'-':>8s}    not checked: made on a {made.split(',')[0].upper()} "
                  f"({made}), and this machine has none; run make retrain on one", file=out,
                  flush=True)
            continue
        try:
            command = read_sidecar(name, "command")["command"]
            times[name] = 0.0 if command in ran else rebuild(name, command, scratch)
            passes, verdict = compare(name, scratch, tolerance)
            verdict += f" (rebuilt with {ran[command]})" if command in ran else ""
            ran.setdefault(command, name)
        except (RuntimeError, ValueError, OSError) as e:
            times.setdefault(name, float("nan"))
            passes, verdict = False, f"FAILED: {e}"
        failed += [] if passes else [name]
        print(f"{name:52s} {times[name]:8.1f} s  {verdict}", file=out, flush=True)
    slowest = sorted((t, n) for n, t in times.items() if t == t)[::-1][:5]
    print(f"total {time.perf_counter() - start:.0f} s for {len(times)} files; slowest: "
          + ", ".join(f"{n} {t:.0f} s" for t, n in slowest), file=out)
    checked = len(chosen) - len(unchecked)
    print(f"{checked - len(failed)} of {checked} pass"
          + (f"; failing: {' '.join(failed)}" if failed else "")
          + (f"; {len(unchecked)} made on another device, not checked here: {' '.join(unchecked)}"
             if unchecked else ""), file=out, flush=True)
    return 1 if failed else 0
