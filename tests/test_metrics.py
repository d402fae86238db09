"""The metrics the GAN and diffusion notebooks report (more in tests/test_gan.py)."""

import numpy as np

from course_lib import metrics


def test_wasserstein_1d_is_the_mean_sorted_difference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    # shifting every sample by c moves all mass by exactly c; order of samples is irrelevant
    assert np.isclose(metrics.wasserstein_1d(x, x + 0.7), 0.7, atol=1e-6)
    assert np.isclose(metrics.wasserstein_1d(rng.permutation(x), x + 0.7), 0.7, atol=1e-6)
    # two points each: mass moves 0 -> 2 and 1 -> 5, mean distance 3
    assert np.isclose(metrics.wasserstein_1d(np.array([1.0, 0.0]), np.array([5.0, 2.0])), 3.0)


def test_mmd_is_symmetric():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 2)), rng.normal(1.0, 1.0, size=(300, 2))
    assert np.isclose(metrics.mmd(x, y), metrics.mmd(y, x), rtol=1e-4)
