"""The metrics the GAN and diffusion notebooks report: mode coverage against hand-placed samples
at known distances and on the data, MMD against a brute-force double sum, 1D Wasserstein, bits."""

import itertools

import jax
import numpy as np
import pytest

from course_lib import data, metrics

MEANS = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
STD = 0.01  # high quality: Euclidean distance < 3 std = 0.03


def at(mode, distance, angle_deg):
    """A sample ``distance`` from mode ``mode`` in direction ``angle_deg``."""
    a = np.deg2rad(angle_deg)
    return MEANS[mode] + distance * np.array([np.cos(a), np.sin(a)])


@pytest.mark.parametrize("angle", [0, 45, 135, 210])
def test_high_quality_is_the_euclidean_distance_below_three_std(angle):
    """At 45 degrees the max-norm is 0.71 and the L1 norm 1.41 times the Euclidean distance:
    0.029 from a mode is high quality (max-norm would agree, L1 0.041 would not) and 0.035 is
    not (max-norm 0.025 would call it high quality). At 0 degrees all norms agree."""
    assert metrics.mode_coverage(at(0, 0.029, angle)[None], MEANS, STD) == (1, 1.0)
    assert metrics.mode_coverage(at(0, 0.035, angle)[None], MEANS, STD) == (0, 0.0)


def test_modes_counted_once_and_fractions_over_all_samples():
    samples = np.stack([at(0, 0.01, 10), at(0, 0.02, 100), at(1, 0.025, 45),  # 2 modes HQ
                        at(1, 0.04, 45), at(2, 0.5, 0)])  # 2 low quality
    assert metrics.mode_coverage(samples, MEANS, STD) == (2, pytest.approx(3 / 5))
    # n_std moves the threshold: at 5 std (0.05) the sample 0.04 from mode 1 counts
    assert metrics.mode_coverage(samples, MEANS, STD, n_std=5) == (2, pytest.approx(4 / 5))
    # the threshold is strict: exactly 3 std is not inside
    assert metrics.mode_coverage(np.array([[0.03, 0.0]]), MEANS, STD) == (0, 0.0)


def test_a_sample_counts_for_its_nearest_mode_only():
    """(0.49, 0.49) is nearer mode 0 (0.693) than modes 1, 2 (0.707): with std 0.3 (3 std
    = 0.9) it is high quality and captures mode 0, not the others."""
    assert metrics.mode_coverage(np.array([[0.49, 0.49]]), MEANS, 0.3) == (1, 1.0)
    # and the index is the nearest one: moved towards mode 2 it captures mode 2
    got = metrics.mode_coverage(np.array([[0.1, 0.95], [0.1, 0.96]]), MEANS, 0.1)
    assert got == (1, 1.0)


def test_mode_coverage_checks_dimensions():
    with pytest.raises(ValueError, match="dimension 3, the means 2"):
        metrics.mode_coverage(np.zeros((4, 3)), MEANS, STD)


def mmd_brute_force(x, y, bandwidths=(0.1, 0.5, 1.0, 2.0, 5.0)):
    """Gretton et al. (2012) Eq. 3, the unbiased MMD^2, with explicit loops over pairs."""
    k = lambda a, b: sum(np.exp(-np.sum((a - b) ** 2) / (2 * s**2)) for s in bandwidths)
    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    kxy = sum(k(a, b) for a in x for b in y) / (n * m)
    return kxx + kyy - 2 * kxy


def test_mmd_against_a_brute_force_double_sum():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 2)), rng.normal(0.7, 1.3, size=(9, 2))
    # float32 kernel sums of O(1) terms: ~1e-6 absolute
    assert metrics.mmd(x, y) == pytest.approx(mmd_brute_force(x, y), abs=2e-5)
    assert metrics.mmd(x, y, bandwidths=(0.3,)) == pytest.approx(
        mmd_brute_force(x, y, (0.3,)), abs=2e-5)


def test_wasserstein_1d_is_the_mean_sorted_difference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    # shifting every sample by c moves all mass by exactly c; order of samples is irrelevant
    assert np.isclose(metrics.wasserstein_1d(x, x + 0.7), 0.7, atol=1e-6)
    assert np.isclose(metrics.wasserstein_1d(rng.permutation(x), x + 0.7), 0.7, atol=1e-6)
    # two points each: mass moves 0 -> 2 and 1 -> 5, mean distance 3
    assert np.isclose(metrics.wasserstein_1d(np.array([1.0, 0.0]), np.array([5.0, 2.0])), 3.0)


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
