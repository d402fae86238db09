"""The baselines `evaluate` prints: on quantized data each is a distribution over the grid."""

import itertools

import numpy as np
import pytest

from course_lib import baseline


@pytest.mark.parametrize("levels,low,high,dims", [(5, -1.0, 1.0, 2), (2, 0.0, 1.0, 3)])
def test_discretised_baselines_sum_to_one_over_the_grid(levels, low, high, dims):
    """Bin masses with the outer bins open to infinity: the probabilities of every point of
    the grid add up to 1 (an inner-bins-only version loses the tails and sums to < 1)."""
    rng = np.random.default_rng(0)
    values = np.linspace(low, high, levels)
    grid = np.array(list(itertools.product(values, repeat=dims)))
    train = values[rng.integers(0, levels, (40, dims))]
    for h in (0.01, 0.3, 2.0):
        p = 2.0 ** -baseline.kde_bits(train, grid, h, (levels, low, high))
        assert abs(p.sum() - 1) < 1e-9, h
    p = 2.0 ** -baseline.gaussian_bits(train, grid, (levels, low, high))
    assert abs(p.sum() - 1) < 1e-9


def test_continuous_baselines_on_a_gaussian_reach_its_entropy():
    """On N(0, I) in 2D the fitted Gaussian's bits on fresh data are the entropy,
    log2(2 pi e) = 4.094 bits, within the error bar; the KDE pays a little for its blur."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 2))
    r = baseline.baseline_bits(x[:2000], x[2000:2500], x[2500:])
    entropy = np.log2(2 * np.pi * np.e)
    assert abs(r["gaussian_bits_per_example"] - entropy) < 3 * r[
        "gaussian_stderr_bits_per_example"]
    assert r["kde_bits_per_example"] > r["gaussian_bits_per_example"]
