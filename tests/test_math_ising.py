"""Ising observables against brute-force sums over sites and bonds, on random lattices that
are neither uniform nor square, so that an axis counted twice or a bond missed shows."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import ising


def random_lattice(shape, seed):
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=shape)


def energy_brute_force(s):
    """H = -sum over bonds <ij> s_i s_j, each nearest-neighbour bond of the periodic lattice
    once: the bond to the right and the bond below every site."""
    Ly, Lx = s.shape
    e = 0.0
    for i in range(Ly):
        for j in range(Lx):
            e -= s[i, j] * (s[i, (j + 1) % Lx] + s[(i + 1) % Ly, j])
    return e


def neighbours_brute_force(s):
    Ly, Lx = s.shape
    out = np.zeros_like(s)
    for i in range(Ly):
        for j in range(Lx):
            out[i, j] = (s[i, (j + 1) % Lx] + s[i, (j - 1) % Lx] + s[(i + 1) % Ly, j]
                         + s[(i - 1) % Ly, j])
    return out


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (6, 4), (8, 8)])
def test_energy_and_magnetization_against_brute_force(shape):
    for seed in range(5):
        s = random_lattice(shape, seed)
        n = s.size
        assert float(ising.energy_per_site(jnp.asarray(s))) == pytest.approx(
            energy_brute_force(s) / n, abs=1e-6)
        assert float(ising.magnetization_per_site(jnp.asarray(s))) == pytest.approx(
            s.mean(), abs=1e-6)
        np.testing.assert_array_equal(np.asarray(ising.neighbour_sum(jnp.asarray(s))),
                                      neighbours_brute_force(s))


def test_energy_of_stripes_counts_only_the_broken_bonds():
    """Vertical stripes on a 4x4 lattice: every horizontal bond broken (+1 each), every
    vertical one satisfied (-1 each): E = 16 - 16 = 0. A column stripe pattern of width 2:
    half the horizontal bonds broken: E = (8 - 8) - 16 = -16, E/N = -1."""
    stripes = np.tile([1.0, -1.0], (4, 2))
    assert float(ising.energy_per_site(jnp.asarray(stripes))) == pytest.approx(0.0)
    assert float(ising.energy_per_site(jnp.asarray(stripes.T))) == pytest.approx(0.0)
    wide = np.tile([1.0, 1.0, -1.0, -1.0], (4, 1))
    assert float(ising.energy_per_site(jnp.asarray(wide))) == pytest.approx(-1.0)
    assert float(ising.energy_per_site(jnp.asarray(wide.T))) == pytest.approx(-1.0)


def test_batched_energies_are_per_lattice():
    batch = np.stack([random_lattice((4, 6), seed) for seed in range(3)])
    np.testing.assert_allclose(np.asarray(ising.energy_per_site(jnp.asarray(batch))),
                               [energy_brute_force(s) / s.size for s in batch], atol=1e-6)


def test_flip_energy_change_is_two_s_times_the_neighbour_sum():
    """The Metropolis step uses dE = 2 s_i sum_j s_j for a single flip: against the brute-force
    energy before and after flipping each site of a random lattice."""
    s = random_lattice((4, 6), 9)
    nb = np.asarray(ising.neighbour_sum(jnp.asarray(s)))
    for i, j in itertools.product(range(4), range(6)):
        flipped = s.copy()
        flipped[i, j] *= -1
        assert energy_brute_force(flipped) - energy_brute_force(s) == 2 * s[i, j] * nb[i, j]


@pytest.mark.parametrize("T", [1.0, 2.269, 5.0])
def test_exact_enumeration_on_2x2_against_boltzmann_sum_written_out(T):
    """16 states of the 2x2 periodic lattice, weights exp(-H/T) with the brute-force H."""
    states = [np.array(c, float).reshape(2, 2) for c in itertools.product((-1, 1), repeat=4)]
    H = np.array([energy_brute_force(s) for s in states])
    w = np.exp(-(H - H.min()) / T)
    w /= w.sum()
    e = w @ (H / 4)
    m = w @ np.array([abs(s.mean()) for s in states])
    got = ising.exact_observables(2, T)
    assert got["energy"] == pytest.approx(e, rel=1e-10)
    assert got["abs_m"] == pytest.approx(m, rel=1e-10)


@pytest.mark.parametrize("L,T,message", [(3, 2.0, "even integer >= 2"), (0, 2.0, "even"),
                                         (2.0, 2.0, "even"), (4, 0.0, "temperature T must be"),
                                         (4, -1.0, "temperature T must be")])
def test_bad_lattices_and_temperatures_are_refused_at_the_boundary(L, T, message):
    """T = 0 and L = 0 sit exactly on the boundaries (T > 0, L >= 2): both refused."""
    with pytest.raises(ValueError, match=message):
        ising.exact_observables(L, T)


def test_mean_and_error_uses_chain_means():
    """Two chains of 3 measurements: means 1 and 3; the error is std(ddof=1)/sqrt(2) = 1."""
    x = np.array([[0.0, 1.0, 2.0], [3.0, 3.0, 3.0]])
    mean, err = ising.mean_and_error(x)
    assert mean == pytest.approx(2.0) and err == pytest.approx(1.0)
