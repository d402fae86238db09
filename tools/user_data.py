"""A user's own 2-D data, as a new user would save them, with fresh samples of the same
distribution for ``evaluate``: the sets ``make recipes`` trains the command line's defaults on.

- crescent: a half ring of radius 1, radial noise 0.1 and a little along it (continuous);
- clusters: four Gaussian clusters of unequal weight and width (continuous);
- spiral8: a two-turn spiral quantized to 8 bits per coordinate (integers 0..255, to be read
  with ``--quantized 8``).

``python tools/user_data.py DIR [--rows N] [--fresh M]`` writes NAME.npy (N rows, to train
on) and NAME_fresh.npy (M rows from other seeds, to evaluate on) for each set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def crescent(rng: np.random.Generator, n: int) -> np.ndarray:
    theta = rng.uniform(0.0, np.pi, n)
    r = 1.0 + 0.1 * rng.standard_normal(n)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], 1).astype(np.float32)


def clusters(rng: np.random.Generator, n: int) -> np.ndarray:
    centres = np.array([[-2.0, 0.0], [0.0, 2.0], [2.0, 0.5], [0.5, -1.5]])
    widths = np.array([0.3, 0.15, 0.5, 0.2])
    k = rng.choice(4, n, p=[0.4, 0.2, 0.25, 0.15])
    return (centres[k] + widths[k, None] * rng.standard_normal((n, 2))).astype(np.float32)


def spiral8(rng: np.random.Generator, n: int) -> np.ndarray:
    """Integers 0..255: a spiral r = t / (4 pi), t in [pi/2, 4 pi], noise 0.03, on the grid."""
    t = rng.uniform(0.5 * np.pi, 4.0 * np.pi, n)
    r = t / (4.0 * np.pi)
    x = np.stack([r * np.cos(t), r * np.sin(t)], 1) + 0.03 * rng.standard_normal((n, 2))
    return np.clip(np.round((x + 1.1) / 2.2 * 255), 0, 255).astype(np.uint8)


SETS = {"crescent": (crescent, ""), "clusters": (clusters, ""), "spiral8": (spiral8, "8")}


def write(folder: Path, rows: int = 1000, fresh: int = 2000, seed: int = 0) -> dict:
    """{name: (train file, fresh file, --quantized bits or "")} written under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, (name, (make, bits)) in enumerate(SETS.items()):
        train, test = folder / f"{name}.npy", folder / f"{name}_fresh.npy"
        np.save(train, make(np.random.default_rng([seed, i, 0]), rows))
        np.save(test, make(np.random.default_rng([seed, i, 1]), fresh))
        out[name] = (train, test, bits)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--fresh", type=int, default=2000)
    args = parser.parse_args()
    for name, (train, test, bits) in write(args.folder, args.rows, args.fresh).items():
        print(name, train, test, f"--quantized {bits}" if bits else "")
