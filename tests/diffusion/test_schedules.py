"""Noise schedules (course_lib.diffusion.schedules) and their validation."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from course_lib import diffusion as dm

KEY = jax.random.key(0)


def test_schedules_and_their_validation():
    b = dm.linear_betas(1000)
    assert b[0] == pytest.approx(1e-4) and b[-1] == pytest.approx(0.02)
    ab = dm.alpha_bar(b)
    assert np.all(np.diff(ab) < 0) and ab[-1] < 1e-4
    np.testing.assert_allclose(dm.gamma_from_alpha_bar(ab), -np.log(dm.snr(ab)), rtol=1e-10)
    c = dm.alpha_bar(dm.cosine_betas(1000))
    assert abs(c[499] - np.cos((0.5 + 0.008) / 1.008 * np.pi / 2) ** 2
               / np.cos(0.008 / 1.008 * np.pi / 2) ** 2) < 1e-6
    for bad, msg in [([0.1, 1.2], r"in \(0, 1\)"), ([0.0, 0.1], r"in \(0, 1\)"),
                     ([[0.1]], "1D array")]:
        with pytest.raises(ValueError, match=msg):
            dm.check_betas(bad)
    with pytest.raises(ValueError, match="T must be a positive integer"):
        dm.linear_betas(0)
    with pytest.raises(ValueError, match="must decrease"):
        dm.check_snr_decreasing(np.array([0.9, 0.5, 0.6]))


def test_learned_schedule_is_monotone_with_its_end_points():
    g = dm.LearnedGamma(rngs=nnx.Rngs(0))
    t = jnp.linspace(0, 1, 101)
    values = jax.vmap(g)(t)
    assert float(values[0]) == pytest.approx(-13.3, abs=1e-4)
    assert float(values[-1]) == pytest.approx(5.0, abs=1e-4)
    assert np.all(np.diff(np.asarray(values)) > 0)
