"""The baselines every likelihood in the course is compared against: what a student could
write in ten lines, each properly normalised and fitted on training rows only.

- :mod:`.discrete`: on quantized data (a grid of ``levels`` values per dimension): uniform,
  a categorical per dimension (add-1/2), a discretised Gaussian per dimension (maximum
  likelihood of the binned values), a KDE of discretised Gaussian kernels (bandwidth by
  leave-one-out on the training rows), a mixture of independent categoricals (EM, K on a
  split of the training rows).
- :mod:`.continuous`: a Gaussian (full covariance), a KDE (bandwidth by leave-one-out), a
  Gaussian mixture (EM, K on a split); and the trainable :class:`DiagonalGaussian` of the
  command line.

Each returns -log2 p(x) per scored row, so that a model and a baseline can be compared on
the same rows (:func:`paired`), and a row's bits never depend on the other scored rows.
"""

from __future__ import annotations

import numpy as np

from course_lib.baseline.continuous import (
    CONTINUOUS_BASELINES,
    DiagonalGaussian,
    GaussianConfig,
    gaussian_mixture_bits,
    init,
    kde_bandwidth,
    train_step,
)
from course_lib.baseline.discrete import DISCRETE_BASELINES

DESCRIPTIONS = {
    "uniform": "uniform over the levels",
    "categorical": "categorical per dimension (add-1/2)",
    "gaussian": "Gaussian per dimension (discretised, max. likelihood)",
    "kde": "KDE (discretised kernels, h by leave-one-out on train)",
    "mixture": "mixture of categoricals (EM, K on a split of train)",
}
CONTINUOUS_DESCRIPTIONS = {"gaussian": "Gaussian (full covariance, max. likelihood)",
                           "kde": "KDE (h by leave-one-out on train)",
                           "mixture": "Gaussian mixture (EM, K on a split of train)"}


def all_bits(train, test, grid=None, names=None) -> dict[str, np.ndarray]:
    """{name: bits per test row} of every baseline (or those ``names``) fitted on ``train``:
    the discrete ones on a ``grid`` = (levels, low, high) of quantized values, else the
    continuous ones."""
    table = DISCRETE_BASELINES if grid is not None else CONTINUOUS_BASELINES
    names = list(table) if names is None else names
    if grid is not None:
        return {n: table[n](train, test, grid) for n in names}
    return {n: table[n](train, test) for n in names}


def paired(bits_a, bits_b) -> tuple[float, float]:
    """(mean, standard error) over rows of bits_a - bits_b, the two scored on the same rows:
    the error bar of a comparison, far smaller than either figure's own when rows differ
    more than the models do."""
    diff = np.asarray(bits_a, np.float64) - np.asarray(bits_b, np.float64)
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


def baseline_bits(train, test, grid=None, model_bits=None,
                  names=("gaussian", "kde", "mixture")) -> dict[str, float]:
    """What ``evaluate`` prints: bits per example of ``test`` (mean and error bar over the
    test rows) under each baseline ``names`` fitted on ``train`` alone; given the model's bits
    on each test row, ``{name}_minus_model`` and its error bar (positive: the model codes
    the data in fewer bits)."""
    out = {}
    for name, bits in all_bits(train, test, grid, names).items():
        out[f"{name}_bits_per_example"] = float(bits.mean())
        out[f"{name}_stderr_bits_per_example"] = float(bits.std(ddof=1) / np.sqrt(len(bits)))
        if model_bits is not None:
            out[f"{name}_minus_model"], out[f"{name}_minus_model_stderr"] = paired(
                bits, model_bits)
    return out


__all__ = ["GaussianConfig", "DiagonalGaussian", "init", "train_step", "kde_bandwidth",
           "gaussian_mixture_bits", "all_bits", "paired", "baseline_bits", "DESCRIPTIONS",
           "CONTINUOUS_DESCRIPTIONS", "DISCRETE_BASELINES", "CONTINUOUS_BASELINES"]
