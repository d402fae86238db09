"""What ``evaluate`` prints: the model's held-out figure with its error bar, and beside it the
figures that say whether it is any good.

- A likelihood model's bits per example come with baselines fitted to the same training
  rows alone and measured on the same examples (the first 2000 of them), with the paired
  differences: a Gaussian, a kernel density estimate (bandwidth by leave-one-out on the
  training rows) and a mixture (:mod:`course_lib.baseline`), discrete on quantized data.
  On standardised data every figure is in the data's own units (log-Jacobian added back).
- A GAN on data without known modes: MMD of its samples to the evaluation data, next to
  ``mmd_data``, the MMD of a second sample of the data itself (what a perfect generator
  would score, up to noise).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np

from course_lib import baseline, metrics
from course_lib import data as data_lib
from course_lib.cli import prepare as prep_lib
from course_lib.data import Dataset
from course_lib.family import Family
from course_lib.family import examples as _examples

FRESH = 2000  # examples drawn from a generator for the baselines' training and evaluation


def verdict(out: dict, discrete: bool) -> str | None:
    """One sentence on the model against the strongest baseline (the one whose paired
    difference ``{name}_minus_model`` is lowest): which wins and by how much, with the paired
    standard error and the z-score; None without paired differences."""
    names = {k.removesuffix("_minus_model"): v for k, v in out.items()
             if k.endswith("_minus_model")}
    if not names:
        return None
    name = min(names, key=names.get)
    diff, err = names[name], out[f"{name}_minus_model_stderr"]
    what = (baseline.DESCRIPTIONS if discrete else baseline.CONTINUOUS_DESCRIPTIONS).get(name,
                                                                                      name)
    z = abs(diff) / err if err > 0 else float("inf")
    by = f"{abs(diff):.3f} +- {err:.3f} bits per example ({z:.1f} paired standard errors)"
    within = " (within the error)" if z < 2 else ""
    if diff < 0:
        return f"The model loses to the baseline {what}: it needs {by} more{within}."
    return f"The model beats every baseline; the strongest, {what}, by {by}{within}."


def _like(dataset: Dataset, x: np.ndarray, name: str) -> Dataset:
    """An array data set with ``dataset``'s levels, range and modes."""
    out = data_lib.from_array(dataset.name, name, x, levels=dataset.levels,
                               value_range=dataset.value_range)
    return dataclasses.replace(out, means=dataset.means, std=dataset.std)


def _grid(spec: Family, objects, reference: np.ndarray):
    """(levels, low, high) of quantized data as the model codes them, else None. A family of
    discrete data (bits, spins) takes two levels: the lowest and highest training value."""
    levels = getattr(getattr(objects[0], "config", None), "levels", 0)
    if levels and levels >= 2:
        return (levels, -1.0, 1.0)
    if not spec.continuous:
        return (2, float(reference.min()), float(reference.max()))
    return None


def evaluate(spec: Family, objects, train: Dataset, eval_x: np.ndarray | None,
             prepared: dict, key, val_x: np.ndarray | None = None) -> dict:
    """The report on ``eval_x`` (rows in the model's units; None: ``train`` itself, a
    generator's fresh draws); ``train`` gives the baselines their training rows and
    ``val_x`` is not used: the baselines choose their bandwidth and K on ``train``."""
    target = train if eval_x is None else _like(train, eval_x, "held-out rows")
    out = spec.evaluate(objects, target, key)
    per_example = out.pop("_per_example", None)  # the model's bits on each example
    out["evaluated_on"] = ("fresh draws of the generator" if eval_x is None and train.data is None
                           else f"{len(_examples(target, key, FRESH)[:FRESH])} rows")
    k_train, k_val = jax.random.split(jax.random.fold_in(key, 7))
    reference = _examples(train, k_train, FRESH)
    if "bits_per_example" in out:
        n = FRESH if per_example is None else len(per_example)
        test = _examples(target, key, n)[:FRESH]  # the rows the model was scored on (the
        per_example = None if per_example is None else per_example[:FRESH]  # first 2000)
        grid = _grid(spec, objects, reference)
        out |= baseline.baseline_bits(reference, test, grid, per_example)
        if (words := verdict(out, grid is not None)) is not None:
            out["verdict"] = words
        jac = prep_lib.log_jacobian_bits(prepared)
        if jac:
            dims = test.shape[1]
            for k in [k for k in out if k.endswith("bits_per_example") and "stderr" not in k]:
                out[k] += jac
            out["bits_per_dim"] = out["bits_per_example"] / dims
            if "nll_nats" in out:
                out["nll_nats"] += jac * metrics.LOG2
            out["units"] = "the data's own: standardisation undone (log-Jacobian added)"
    if "mmd" in out and train.means is None:
        other = (np.asarray(train.sample(k_val, 2500)) if train.data is None else reference)
        test = _examples(target, key, 2500)[:2500]
        out["mmd_data"] = float(metrics.mmd(other.reshape(len(other), -1)[:2500], test))
    return out


def evaluate_saved(spec: Family, objects, dataset: Dataset, saved: dict, data: str,
                   key) -> dict:
    """``evaluate RUN --data DATA``: on the run's own data, its held-out rows; on other data
    (a file of fresh samples), all of it, with the run's transform applied."""
    prepared = saved.get("prepare", {})
    seed = saved["train_config"].seed
    same = (data if data in data_lib.REGISTRY else str(Path(data).resolve())) == saved["data"]
    rows = prep_lib.held_out_rows(dataset, prepared, seed) if same else None
    if dataset.data is None:
        return evaluate(spec, objects, dataset, None, prepared, key)
    if rows is not None:
        x = prep_lib.apply(dataset.data, prepared)
        keep = np.setdiff1d(np.arange(len(x)), rows)
        train = _like(dataset, x[keep], "training rows")
        return evaluate(spec, objects, train, x[rows], prepared, key)
    eval_x = prep_lib.apply(dataset.data, prepared)
    if same or saved["data"] in data_lib.REGISTRY or not Path(saved["data"]).is_file():
        # no held-out rows to tell apart (or the training file is gone): score all of it
        return evaluate(spec, objects, _like(dataset, eval_x, "data"), eval_x, prepared, key)
    trained_on = data_lib.load(saved["data"])
    x = prep_lib.apply(trained_on.data, prepared)
    rows = prep_lib.held_out_rows(trained_on, prepared, seed)
    keep = np.setdiff1d(np.arange(len(x)), rows if rows is not None else [])
    train = _like(dataset, x[keep], "training rows")
    return evaluate(spec, objects, train, eval_x, prepared, key,
                    val_x=x[rows] if rows is not None else None)
