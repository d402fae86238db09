"""What a student waits for: each notebook's first run with an empty compile cache, then its
second run with the cache that first run filled, and what JAX compiled in each.

    python benchmarks/notebook_times.py [notebooks/weekNN_name.ipynb ...]

Each notebook runs twice, each time in a fresh kernel from the notebooks folder (pre-trained
weights used where the notebook has them; nothing is written back). The kernel gets a new,
empty cache folder in ``JAX_COMPILATION_CACHE_DIR`` and none of the Makefile's other JAX
settings: the notebook's first cell turns the cache on itself (``course_lib.
enable_compile_cache()``), as it does for a student who runs it from JupyterLab. A listener
registered before the first cell counts JAX's backend compilations and their seconds
(``/jax/core/compile/backend_compile_duration``) and the programs read from the cache.

Prints one markdown table row per notebook: wall seconds cold and warm, compilations and their
seconds in each, the second run's three slowest cells (where a warm run's time goes: with
nothing left to compile, what remains is the notebook's own arithmetic), and the load average
before and after (the machine may be shared: say what else ran when quoting a time).
"""

import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
MAKE_VARIABLES = ("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
                  "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "COURSE_LIB_NO_CACHE")

# Runs in the kernel before the notebook's first cell, and after its last.
COUNT = """
import jax as _jax
_compiles = []
_cache_hits = []
def _on_duration(name, seconds, **kwargs):
    if name == "/jax/core/compile/backend_compile_duration":
        _compiles.append(seconds)
def _on_event(name, **kwargs):
    if name == "/jax/compilation_cache/cache_hits":
        _cache_hits.append(1)
_jax.monitoring.register_event_duration_secs_listener(_on_duration)
_jax.monitoring.register_event_listener(_on_event)
"""
REPORT = ("import json as _json\n"
          "print('COMPILES', _json.dumps([len(_compiles), sum(_compiles), len(_cache_hits)]))")


def cell_seconds(cell) -> float:
    """A code cell's wall time, from the execution timestamps nbclient records."""
    times = cell.metadata.get("execution", {})
    start, end = times.get("iopub.execute_input"), times.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def run_notebook(path: Path, cache: str) -> tuple[float, int, float, int, list]:
    """(wall seconds, compilations, their seconds, cache hits, [(seconds, cell number, its
    first line)] slowest first) of one fresh-kernel run."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(COUNT))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES}
    env["JAX_COMPILATION_CACHE_DIR"] = cache
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client = NotebookClient(nb, timeout=1200, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        t0 = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - t0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    line = next(line for out in nb.cells[-1].outputs for line in out.get("text", "").splitlines()
                if line.startswith("COMPILES "))
    count, compile_seconds, hits = json.loads(line.removeprefix("COMPILES "))
    cells = sorted(((cell_seconds(c), i, c.source.split("\n")[0][:40].replace("|", "/"))
                    for i, c in enumerate(nb.cells[1:-1]) if c.cell_type == "code"), reverse=True)
    return seconds, count, compile_seconds, hits, cells


def main(paths):
    paths = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("week*.ipynb"))
    print("| notebook | first run, empty cache: s (compiles, compile s) "
          "| second run: s (compiles, compile s, cache hits) | second run's slowest cells: s, "
          "cell number, first line | load before / after |\n| --- | --- | --- | --- | --- |")
    for path in paths:
        load0 = os.getloadavg()[0]
        with tempfile.TemporaryDirectory(prefix="jax-cache-") as cache:
            cold, n_cold, c_cold, _, _ = run_notebook(path, cache)
            warm, n_warm, c_warm, hits, cells = run_notebook(path, cache)
        slowest = "; ".join(f"{s:.0f} s, {i}, `{first}`" for s, i, first in cells[:3])
        print(f"| {path.stem} | {cold:.0f} ({n_cold}, {c_cold:.0f}) "
              f"| {warm:.0f} ({n_warm}, {c_warm:.0f}, {hits}) | {slowest} "
              f"| {load0:.1f} / {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
