"""A user's data made ready for a model, and the transform recorded so it can be undone.

Three steps, each recorded in the run's ``config.json`` under ``"prepare"``:

- ``--quantized BITS``: integer data in [0, 2^BITS) are mapped to x = 2 v / (2^BITS - 1) - 1;
  data already on that grid in [-1, 1] are taken as they are. Either way the model is told
  the data's 2^BITS levels, and the command says which reading it took.
- continuous data from a file are standardised, x = (v - mean) / std per dimension, with the
  mean and std of the training rows; ``sample`` undoes it, ``evaluate`` applies it to the
  evaluation data and reports bits in the data's own units (the log-Jacobian added back).
- arrays are split: a fraction (``--val-fraction``, default 10 %) of the rows, chosen by the
  seed, is held out for validation and for ``evaluate``'s held-out figures.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from course_lib import data as data_lib
from course_lib.data import Dataset

MIN_VAL = 2  # held-out rows below which a split is not made (an error bar needs two)


def _scaled_grid(x: np.ndarray, levels: int) -> bool:
    """Whether x lies on the grid 2 k / (levels - 1) - 1, k = 0..levels-1 (to float32)."""
    k = (x.astype(np.float64) + 1) * (levels - 1) / 2
    return bool(np.all(np.abs(k - np.round(k)) < 1e-3) and x.min() >= -1 and x.max() <= 1)


def check_options(quantized, standardize, val_fraction, patience) -> None:
    if quantized is not None and (isinstance(quantized, bool) or not isinstance(quantized, int)
                                  or not 1 <= quantized <= 16):
        raise ValueError(f"--quantized must be an integer number of bits in 1..16, got "
                         f"{quantized!r}")
    if standardize is not None and not isinstance(standardize, bool):
        raise TypeError(f"standardize must be True, False or None, got {standardize!r}")
    if (isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float)
            or not 0 <= val_fraction <= 0.5):
        raise ValueError(f"--val-fraction must be a number in 0..0.5, got {val_fraction!r}")
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int)
                                 or not 0 <= patience <= 1_000_000):
        raise ValueError(f"--patience must be a non-negative integer (0: never stop early), "
                         f"got {patience!r}")


def quantize(x: np.ndarray, bits: int) -> tuple[np.ndarray, str]:
    """(x in [-1, 1] on 2^bits levels, "integers" or "scaled": the reading taken)."""
    levels = 2 ** bits
    v = np.asarray(x, np.float64)
    is_int = bool(np.all(v == np.round(v)))
    # integers 0..levels-1 unless the data sit on the scaled grid (non-negative integers can
    # only do so when every value is 1): 0/1 with --quantized 1 are integers
    if is_int and v.min() >= 0 and v.max() <= levels - 1 and not _scaled_grid(v, levels):
        return (2 * v / (levels - 1) - 1).astype(np.float32), "integers"
    if _scaled_grid(v, levels):
        return v.astype(np.float32), "scaled"
    raise ValueError(f"--quantized {bits} needs integers in 0..{levels - 1} or data scaled to "
                     f"[-1, 1] on its {levels} levels (2 v / {levels - 1} - 1); the data span "
                     f"{v.min():.4g}..{v.max():.4g}" + ("" if is_int else " and are not integers"))


def dequantize(x: np.ndarray, prepare: dict) -> np.ndarray:
    """Samples back in the data's own units."""
    if prepare.get("standardize"):
        return x * np.asarray(prepare["std"], np.float32) + np.asarray(prepare["mean"], np.float32)
    if prepare.get("quantized") and prepare.get("reading") == "integers":
        levels = 2 ** prepare["quantized"]
        return np.clip(np.round((x + 1) * (levels - 1) / 2), 0, levels - 1)
    return x


def apply(x: np.ndarray, prepare: dict) -> np.ndarray:
    """The run's transform applied to new data in the user's units (for evaluate)."""
    if prepare.get("quantized"):
        return quantize(x, prepare["quantized"])[0]
    if prepare.get("standardize"):
        shape = x.shape
        flat = x.reshape(len(x), -1)
        return ((flat - np.asarray(prepare["mean"])) / np.asarray(prepare["std"])
                ).astype(np.float32).reshape(shape)
    return x


def log_jacobian_bits(prepare: dict) -> float:
    """Bits per example to add to a density's -log2 p of standardised data to express it in
    the data's own units: sum_d log2 std_d (p_v(v) = p_x(x) / prod std)."""
    if not prepare.get("standardize"):
        return 0.0
    return float(np.sum(np.log2(np.asarray(prepare["std"], np.float64))))


def split_rows(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, held-out rows) of an array of n rows: a seeded permutation."""
    n_val = int(n * fraction)
    if n_val < MIN_VAL or n - n_val < 2:
        return np.arange(n), np.arange(0)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def prepare(dataset: Dataset, *, continuous: bool, builtin: bool, quantized: int | None,
            standardize: bool | None, val_fraction: float, seed: int
            ) -> tuple[Dataset, np.ndarray | None, dict]:
    """(the training data set, the held-out rows or None, the record of what was done).

    ``standardize`` None: automatic (continuous data from a file, for a family of
    continuous data: ``continuous``). Built-in data sets and quantized data are never
    standardised.
    """
    record: dict = {"val_fraction": val_fraction, "standardize": False}
    if dataset.data is None:  # a generator: fresh data every step, nothing to hold out
        if quantized:
            raise ValueError(f"--quantized applies to data from a file; '{dataset.name}' is "
                             "a built-in generator")
        if standardize:
            raise ValueError(f"--standardize applies to data from a file; '{dataset.name}' "
                             "is a built-in data set on its own scale")
        record["val_rows"] = 0
        return dataset, None, record
    x = dataset.data
    extra = {}
    if quantized:
        if builtin:
            raise ValueError(f"--quantized applies to data from a file; '{dataset.name}' "
                             "knows its own levels")
        x, reading = quantize(x, quantized)
        record |= {"quantized": quantized, "reading": reading}
        extra = {"levels": 2 ** quantized, "value_range": (-1.0, 1.0)}
    train_rows, val_rows = split_rows(len(x), val_fraction, seed)
    binary = bool(np.all((x == 0) | (x == 1)))
    auto = (not builtin and not quantized and not binary
            and continuous)
    if standardize and (quantized or binary or not continuous):
        raise ValueError("--standardize applies to continuous data; these data are "
                         + ("quantized" if quantized else "binary"))
    if auto if standardize is None else standardize:
        flat = x.reshape(len(x), -1)[train_rows].astype(np.float64)
        mean, std = flat.mean(0), flat.std(0)
        std = np.where(std > 0, std, 1.0)
        record |= {"standardize": True, "mean": mean.tolist(), "std": std.tolist()}
        x = apply(x, record)
    record["val_rows"] = int(len(val_rows))
    labels = dataset.labels
    out = data_lib.from_array(
        dataset.name, dataset.description, x[train_rows],
        None if labels is None else labels[train_rows],
        **({"levels": dataset.levels, "value_range": dataset.value_range} | extra))
    out = dataclasses.replace(out, means=dataset.means, std=dataset.std,
                              num_classes=dataset.num_classes)
    held_out = x[val_rows] if len(val_rows) else None
    return out, held_out, record


def held_out_rows(dataset: Dataset, record: dict, seed: int) -> np.ndarray | None:
    """The rows of ``dataset`` (the run's own data, reloaded) that its training held out."""
    if not record.get("val_rows") or dataset.data is None:
        return None
    _, val_rows = split_rows(len(dataset.data), record["val_fraction"], seed)
    return val_rows


def describe(record: dict) -> str:
    """One sentence: what was done to the data before training."""
    parts = []
    if record.get("quantized"):
        levels = 2 ** record["quantized"]
        parts.append(f"--quantized {record['quantized']}: read as integers 0..{levels - 1}, "
                     f"mapped to [-1, 1]" if record["reading"] == "integers" else
                     f"--quantized {record['quantized']}: read as already scaled to [-1, 1] "
                     f"({levels} levels)")
    if record.get("standardize"):
        parts.append("standardised per dimension (mean and std of the training rows; "
                     "sample undoes it)")
    parts.append(f"{record['val_rows']} rows held out for validation" if record.get("val_rows")
                 else "no rows held out (a generator, or too few rows)")
    return "; ".join(parts)


def load_means(means: str, dim: int) -> np.ndarray:
    if Path(means).suffix != ".npy":
        raise ValueError(f"--means must name a .npy file of shape (modes, {dim}), "
                         f"got '{means}'")
    centres = data_lib.read_arrays(means, "--means")["x"]
    if (not isinstance(centres, np.ndarray) or centres.ndim != 2 or centres.shape[1] != dim
            or centres.shape[0] < 1):
        raise ValueError(f"--means must have shape (modes, {dim}), got "
                         f"{getattr(centres, 'shape', type(centres).__name__)}")
    if not np.issubdtype(centres.dtype, np.number) or np.iscomplexobj(centres):
        raise ValueError(f"--means must be real numbers, got dtype {centres.dtype}")
    with np.errstate(over="ignore"):
        c32 = centres.astype(np.float32)
    if not np.all(np.isfinite(c32)):
        raise ValueError("--means must be finite numbers that fit a float32")
    return c32
