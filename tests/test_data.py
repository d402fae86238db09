"""The data sets: shapes, the published configurations, moments against their exact values,
purity under jit, the Ising sampler against exact enumeration, and user files."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data, ising

KEY = jax.random.key(0)


@pytest.mark.parametrize("name", [n for n in data.REGISTRY if n != "ising"])
def test_every_sampler_is_pure_jittable_and_seeded(name):
    ds = data.get(name)
    x = ds.sample(KEY, 64)
    assert x.shape == (64, *ds.shape) and x.dtype == jnp.float32
    # under jit XLA may fuse the arithmetic differently: equal to float32 rounding
    np.testing.assert_allclose(x, jax.jit(ds.sample, static_argnums=1)(KEY, 64), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_array_equal(x, ds.sample(KEY, 64))
    assert not np.array_equal(x, ds.sample(jax.random.key(1), 64))


def test_ring_has_eight_distinct_modes_at_the_published_angles():
    ds = data.get("ring")
    assert ds.means.shape == (8, 2) and ds.std == 0.01
    angles = np.sort(np.mod(np.arctan2(ds.means[:, 1], ds.means[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ds.means, axis=1), 1.0, atol=1e-6)


def test_grid_is_the_5x5_grid_with_std_005():
    ds = data.get("grid")
    assert ds.std == 0.05
    assert sorted(map(tuple, ds.means.tolist())) == [
        (float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)]


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_mixture_samples_sit_on_their_modes_with_the_stated_std(name):
    ds = data.get(name)
    x = np.asarray(ds.sample(KEY, 20_000))
    d = np.linalg.norm(x[:, None] - ds.means[None], axis=-1)
    nearest = d.argmin(1)
    counts = np.bincount(nearest, minlength=len(ds.means))
    # multinomial counts: each within 5 standard deviations of n/k
    n, k = len(x), len(ds.means)
    assert np.all(np.abs(counts - n / k) < 5 * np.sqrt(n / k * (1 - 1 / k)))
    resid = x - ds.means[nearest]
    # the sample std of 40,000 normal coordinates has relative error 1/sqrt(2 * 40,000)
    assert abs(resid.std() / ds.std - 1) < 5 / np.sqrt(2 * resid.size)


def test_gaussian_and_mixture_1d_moments():
    n = 50_000
    x = np.asarray(data.gaussian_1d(1.5, 2.0).sample(KEY, n))
    assert abs(x.mean() - 1.5) < 5 * 2.0 / np.sqrt(n)
    m = data.mixture_1d(means=(-2.0, 2.0), std=0.5, weights=(0.25, 0.75))
    y = np.asarray(m.sample(KEY, n))[:, 0]
    # mean = 0.25 (-2) + 0.75 (2) = 1; the fraction above 0 is the weight 0.75 (tails negligible)
    frac = (y > 0).mean()
    assert abs(frac - 0.75) < 5 * np.sqrt(0.75 * 0.25 / n)
    with pytest.raises(ValueError, match="weights"):
        data.mixture_1d(weights=(0.5, 0.6))
    with pytest.raises(ValueError, match="std"):
        data.gaussian_1d(std=0)


def test_swiss_roll_is_scaled_to_unit_variance_and_moons_are_centred():
    n = 50_000
    x = np.asarray(data.get("swiss_roll").sample(KEY, n))
    # the sample variance has sd sqrt((mu4 - 1) / n); the roll's coordinates have kurtosis
    # mu4 < 5 (a bound, not a fit), so 5 such sd is 5 sqrt(4 / n)
    np.testing.assert_allclose(x.var(0), 1.0, atol=5 * np.sqrt(4 / n))
    np.testing.assert_allclose(x.mean(0), 0.0, atol=6 / np.sqrt(n))
    m = np.asarray(data.get("moons", noise=0.0).sample(KEY, n))
    # noiseless moons: points above y = 0.5 belong to the upper moon, on the unit circle
    np.testing.assert_allclose(np.linalg.norm(m[m[:, 1] > 0.5], axis=1), 1.0, atol=1e-5)
    upper = np.abs(np.linalg.norm(m, axis=1) - 1) < 1e-5
    assert abs(upper.mean() - 0.5) < 5 * np.sqrt(0.25 / n)


def test_heartbeat_has_exactly_five_equally_likely_sequences():
    n = 20_000
    x = np.asarray(data.get("heartbeat").sample(KEY, n))
    assert x.shape == (n, 20) and set(np.unique(x)) == {0.0, 1.0}
    seqs, counts = np.unique(x, axis=0, return_counts=True)
    assert len(seqs) == 5
    assert np.all(seqs.sum(1) == 4)  # a pulse every 5th bin of 20
    for s in seqs:
        first = int(np.argmax(s))
        assert first < 5 and np.all(s[first::5] == 1)
    p = 1 / 5
    assert np.all(np.abs(counts / n - p) < 5 * np.sqrt(p * (1 - p) / n))


def test_digits_ship_with_labels_splits_and_17_levels():
    ds = data.digits()
    assert ds.data.shape == (1797, 8, 8) and ds.num_classes == 10 and ds.levels == 17
    levels = np.unique(np.round((ds.data + 1) * 8).astype(int))
    assert levels.min() == 0 and levels.max() == 16
    np.testing.assert_allclose((levels / 8 - 1), np.unique(ds.data), atol=1e-6)
    train, test = data.digits("train"), data.digits("test")
    assert len(train.data) == 1497 and len(test.data) == 300
    both = np.concatenate([train.data, test.data]).reshape(1797, -1)
    assert len(np.unique(both, axis=0)) == len(np.unique(ds.data.reshape(1797, -1), axis=0))
    x, y = ds.sample_with_labels(KEY, 16)
    assert x.shape == (16, 8, 8) and y.shape == (16,) and y.dtype == jnp.int32
    with pytest.raises(ValueError, match="unknown split"):
        data.digits("validation")


@pytest.mark.parametrize("T", [1.5, ising.T_CRITICAL, 3.5])
def test_ising_metropolis_matches_exact_enumeration_on_4x4(T):
    """<E>/N and <|m|> from 256 independent chains within 4 standard errors of the exact sum
    over all 2^16 states."""
    exact = ising.exact_observables(4, T)
    obs = ising.observables(jax.random.key(1), 4, T, n_chains=256, burn_in=200,
                            measurements=200, thin=2)
    for name in ("energy", "abs_m"):
        mean, err = ising.mean_and_error(obs[name])
        assert abs(mean - exact[name]) < 4 * err, (name, mean, exact[name], err)


def test_ising_observables_on_known_configurations():
    up = jnp.ones((1, 4, 4))
    assert float(ising.energy_per_site(up)[0]) == -2.0  # 2 bonds per site, all aligned
    assert float(ising.magnetization_per_site(up)[0]) == 1.0
    checker = jnp.where((jnp.arange(4)[:, None] + jnp.arange(4)) % 2 == 0, 1.0, -1.0)[None]
    assert float(ising.energy_per_site(checker)[0]) == 2.0
    assert float(ising.magnetization_per_site(checker)[0]) == 0.0


def test_ising_dataset_orders_below_and_disorders_above_tc():
    cold = data.ising(L=8, T=1.5, n=64, sweeps=300)
    hot = data.ising(L=8, T=3.5, n=64, sweeps=300)
    assert cold.shape == (8, 8) and set(np.unique(cold.data)) <= {-1.0, 1.0}
    assert np.abs(cold.data.mean((1, 2))).mean() > 0.9
    assert np.abs(hot.data.mean((1, 2))).mean() < 0.4
    with pytest.raises(ValueError, match="even integer"):
        data.ising(L=5)
    with pytest.raises(ValueError, match="T must be a finite number > 0"):
        data.ising(T=0)


def test_user_files(tmp_path):
    x = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    ds = data.load(tmp_path / "x.npy")
    assert ds.shape == (3,) and ds.sample(KEY, 5).shape == (5, 3)
    np.savez(tmp_path / "xy.npz", x=x, y=np.arange(10) % 2)
    ds = data.load(str(tmp_path / "xy.npz"))
    assert ds.num_classes == 2 and ds.sample_with_labels(KEY, 4)[1].shape == (4,)

    bad = x.copy()
    bad[3, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    np.save(tmp_path / "flat.npy", x[0])
    np.savez(tmp_path / "noх.npz", z=x)
    np.savez(tmp_path / "badlabels.npz", x=x, y=np.arange(9))
    (tmp_path / "x.csv").write_text("1,2\n")
    for path, message in [("nan.npy", "NaN"), ("flat.npy", "shape"), ("noх.npz", "named 'x'"),
                          ("badlabels.npz", "labels"), ("x.csv", ".npy or .npz"),
                          ("missing.npy", "does not exist")]:
        with pytest.raises(ValueError, match=message):
            data.load(tmp_path / path)
    with pytest.raises(ValueError, match="unknown data set 'rings'; accepted: gaussian_1d"):
        data.load("rings")


def test_swiss_roll_exact_density_integrates_to_one_and_scores_its_own_samples_best():
    xs = np.linspace(-3.5, 3.5, 281)
    grid = np.stack(np.meshgrid(xs, xs, indexing="ij"), -1).reshape(-1, 2)
    p = np.exp(data.swiss_roll_log_prob(grid, points=5000))
    mass = p.sum() * (xs[1] - xs[0]) ** 2
    assert abs(mass - 1) < 0.01  # the roll's tails beyond +-3.5 hold almost nothing
    x = np.asarray(data.get("swiss_roll").sample(KEY, 2000))
    own = data.swiss_roll_log_prob(x).mean()
    shifted = data.swiss_roll_log_prob(x + 0.1).mean()
    assert own > shifted
