"""Execution time of each notebook, as a student's kernel runs it (pre-trained weights used
where a notebook has them), without writing anything back.

    python benchmarks/notebook_times.py [notebooks/weekNN_name.ipynb ...]

Runs the notebooks one after another in a fresh kernel each, from the notebooks folder, and
prints one markdown table row per notebook with its wall time and the load average before
and after (the machine may be shared: say what else ran when quoting a time).
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def time_notebook(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1200, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    return time.perf_counter() - t0


def main(paths):
    paths = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("week*.ipynb"))
    print("| notebook | seconds | load average before / after |\n| --- | --- | --- |")
    total = 0.0
    for path in paths:
        load0 = os.getloadavg()[0]
        seconds = time_notebook(path)
        total += seconds
        print(f"| {path.stem} | {seconds:.0f} | {load0:.1f} / {os.getloadavg()[0]:.1f} |",
              flush=True)
    print(f"| all | {total:.0f} | |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
