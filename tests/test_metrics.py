"""The metrics the GAN and diffusion notebooks report: 1D Wasserstein, MMD, mode coverage, bits."""

import jax
import numpy as np
import pytest

from course_lib import data, metrics


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


def test_mode_coverage_protocol():
    ring = data.get("ring")
    on_modes = np.repeat(ring.means, 10, axis=0)
    assert metrics.mode_coverage(on_modes, ring.means, ring.std) == (8, 1.0)
    half = np.repeat(ring.means[:4], 10, axis=0)
    assert metrics.mode_coverage(half, ring.means, ring.std) == (4, 1.0)
    far = on_modes + 0.05  # 5 std away in each coordinate: not high quality
    assert metrics.mode_coverage(far, ring.means, ring.std) == (0, 0.0)
    x = np.asarray(ring.sample(jax.random.key(0), 2500))
    modes, hq = metrics.mode_coverage(x, ring.means, ring.std)
    # the true data: all modes, and P(chi^2_2 < 9) = 1 - exp(-4.5) of samples within 3 std
    p = 1 - np.exp(-4.5)
    assert modes == 8 and abs(hq - p) < 5 * np.sqrt(p * (1 - p) / 2500)


def test_mmd_is_near_zero_for_the_same_distribution_and_not_otherwise():
    k = jax.random.split(jax.random.key(0), 3)
    same = [metrics.mmd(jax.random.normal(k[0], (500, 2)), jax.random.normal(k[1], (500, 2)))]
    other = metrics.mmd(jax.random.normal(k[0], (500, 2)),
                        0.5 + jax.random.normal(k[2], (500, 2)))
    assert abs(same[0]) < 0.01 < other


def test_bits_are_nats_over_ln2_per_dimension():
    assert metrics.nats_to_bits(np.log(8.0)) == pytest.approx(3.0)
    assert metrics.bits_per_dim(2 * np.log(2.0) * 10, 10) == pytest.approx(2.0)
