"""The Gaussian density and KL divergence, written once for the whole library.

They work on NumPy arrays and floats (in float64, for the exact references of
:mod:`course_lib.theory`) and on JAX arrays (inside ``jit`` and ``grad``) alike: the array
module is picked from the arguments. Nothing here imports JAX.
"""

from __future__ import annotations

import sys

import numpy as np

LOG2PI = np.log(2 * np.pi)


def _xp(*arrays):
    """jax.numpy if any argument is a JAX array (or tracer), else numpy."""
    jax = sys.modules.get("jax")  # no JAX array can exist unless JAX was imported
    if jax is not None and any(isinstance(a, jax.Array) for a in arrays):
        return jax.numpy
    return np


def normal_log_prob(x, mean, var):
    """log N(x; mean, var), elementwise."""
    xp = _xp(x, mean, var)
    return -0.5 * (LOG2PI + xp.log(var) + (x - mean) ** 2 / var)


def gaussian_kl(mean_q, var_q, mean_p, var_p):
    """KL(N(mean_q, var_q) || N(mean_p, var_p)), elementwise."""
    xp = _xp(mean_q, var_q, mean_p, var_p)
    return 0.5 * (xp.log(var_p / var_q) + (var_q + (mean_q - mean_p) ** 2) / var_p - 1)
