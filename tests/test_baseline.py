"""The baselines: normalised, equal to brute force, and fitted on training rows only."""

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

from course_lib import baseline
from course_lib.baseline import continuous, discrete

GRID = (4, -1.0, 1.0)


def _rows(rng, n, dims=3, grid=GRID):
    """Rows on the grid, correlated across dimensions so that a mixture has something to do."""
    levels, low, high = grid
    base = rng.integers(0, levels, (n, 1))
    idx = np.clip(base + rng.integers(-1, 2, (n, dims)), 0, levels - 1)
    return low + idx * (high - low) / (levels - 1)


@pytest.mark.parametrize("name", list(discrete.DISCRETE_BASELINES))
def test_discrete_baselines_sum_to_one_over_the_grid(name):
    """Every point of a 4^3 grid scored: the probabilities add up to 1 (a KDE with inner bins
    only, or a Gaussian density read at the grid points, would not)."""
    rng = np.random.default_rng(0)
    values = np.linspace(GRID[1], GRID[2], GRID[0])
    grid_points = np.array(list(itertools.product(values, repeat=3)))
    p = 2.0 ** -discrete.DISCRETE_BASELINES[name](_rows(rng, 60), grid_points, GRID)
    assert abs(p.sum() - 1) < 1e-9, p.sum()


def test_discrete_kde_and_categorical_agree_with_brute_force():
    """The one-hot matmuls against loops over rows and dimensions with scipy's normal cdf."""
    rng = np.random.default_rng(1)
    train, test = _rows(rng, 30), _rows(rng, 7)
    spacing = (GRID[2] - GRID[1]) / (GRID[0] - 1)
    h = 0.7  # level units
    expect = []
    for x in test:
        log_k = []
        for c in train:
            lo = np.where(x <= GRID[1], -np.inf, (x - spacing / 2 - c) / (h * spacing))
            hi = np.where(x >= GRID[2], np.inf, (x + spacing / 2 - c) / (h * spacing))
            log_k.append(np.log(norm.cdf(hi) - norm.cdf(lo)).sum())
        expect.append(-(logsumexp(log_k) - np.log(len(train))) / np.log(2))
    np.testing.assert_allclose(discrete.kde_bits(train, test, GRID, bandwidth=h), expect,
                               rtol=1e-9)
    idx_train, idx_test = discrete.to_levels(train, GRID), discrete.to_levels(test, GRID)
    counts = np.stack([(idx_train == k).sum(0) for k in range(GRID[0])]) + 0.5
    p = counts / counts.sum(0)
    expect = [-np.log2(p[row, np.arange(3)]).sum() for row in idx_test]
    np.testing.assert_allclose(discrete.categorical_bits(train, test, GRID), expect, rtol=1e-12)


def test_leave_one_out_bandwidth_is_the_brute_force_maximum():
    rng = np.random.default_rng(2)
    train = _rows(rng, 25)
    hs = np.array([0.2, 0.5, 1.0, 2.0])
    scores = [np.mean([-discrete.kde_bits(np.delete(train, i, 0), train[i:i + 1], GRID, h)[0]
                       for i in range(len(train))]) for h in hs]
    assert discrete.kde_bandwidth_loo(train, GRID, hs) == hs[int(np.argmax(scores))]


def test_mixture_of_categoricals_agrees_with_brute_force():
    rng = np.random.default_rng(3)
    train, test = _rows(rng, 80), _rows(rng, 5)
    log_w, log_theta = discrete.categorical_mixture_fit(train, GRID, 3)
    assert abs(logsumexp(log_w)) < 1e-9
    idx = discrete.to_levels(test, GRID)
    expect = [logsumexp([log_w[k] + log_theta[k, np.arange(3), row].sum() for k in range(3)])
              for row in idx]
    np.testing.assert_allclose(discrete.categorical_mixture_log_prob(test, GRID, log_w,
                                                                     log_theta), expect)


def test_continuous_baselines_on_a_gaussian_reach_its_entropy():
    """On N(0, I) in 2D the fitted Gaussian's bits on fresh data are the entropy,
    log2(2 pi e) = 4.094 bits, within 3 error bars; KDE and mixture pay a little more."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2500, 2))
    r = baseline.baseline_bits(x[:2000], x[2000:])
    entropy = np.log2(2 * np.pi * np.e)
    assert abs(r["gaussian_bits_per_example"] - entropy) < 3 * r[
        "gaussian_stderr_bits_per_example"]
    assert r["kde_bits_per_example"] > r["gaussian_bits_per_example"]


def test_continuous_densities_integrate_to_one_and_agree_with_scipy():
    rng = np.random.default_rng(4)
    train = np.concatenate([rng.normal(-2, 0.5, 60), rng.normal(1, 1.0, 60)])[:, None]
    grid = np.linspace(-12, 12, 20001)[:, None]
    dx = grid[1, 0] - grid[0, 0]
    for name, bits in continuous.CONTINUOUS_BASELINES.items():
        assert abs((2.0 ** -bits(train, grid)).sum() * dx - 1) < 1e-6, name
    log_w, means, covs = continuous.gaussian_mixture_fit(train, 2)
    test = rng.normal(size=(5, 1))
    expect = -np.log2(sum(np.exp(w) * multivariate_normal(m, c).pdf(test[:, 0])
                          for w, m, c in zip(log_w, means, covs)))
    np.testing.assert_allclose(continuous.gaussian_mixture_bits(train, test, k=2), expect,
                               rtol=1e-9)


@pytest.mark.parametrize("grid,name", [(GRID, n) for n in discrete.DISCRETE_BASELINES]
                         + [(None, n) for n in continuous.CONTINUOUS_BASELINES])
def test_a_rows_bits_do_not_depend_on_the_other_scored_rows(grid, name):
    """Choices are made on training rows only: scoring a row beside other rows, or alone,
    gives it the same bits. A bandwidth or a K chosen on the scored rows fails this (and
    flatters the baseline on them)."""
    rng = np.random.default_rng(5)
    if grid is None:
        train, test = rng.normal(size=(200, 2)), rng.normal(size=(40, 2)) * 3
    else:
        train, test = _rows(rng, 200), _rows(rng, 40)
    bits = baseline.all_bits(train, test, grid, [name])[name]
    alone = baseline.all_bits(train, test[:3], grid, [name])[name]
    np.testing.assert_allclose(bits[:3], alone, rtol=1e-10)
