"""The Ising physics the week-17 Ising notebook measures with, and its lattice diffusion model.

Exact references first (Kaufman's finite-lattice partition function, Onsager's infinite
lattice, brute-force enumeration), then the observables computed from configurations, then
the model: translation equivariance, the posterior, and its ELBO against an exact computation
on a 2 x 2 lattice.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from course_lib import ising
from course_lib.cli.run_folder import write_run_folder
from course_lib.diffusion import lattice
from course_lib.pretrained import cached_spins


def brute_force_log_z(rows, cols, T):
    s = np.array(list(itertools.product((-1.0, 1.0), repeat=rows * cols))).reshape(-1, rows, cols)
    bonds = (s * (np.roll(s, 1, 1) + np.roll(s, 1, 2))).sum((1, 2))
    a = bonds / T
    return a.max() + np.log(np.exp(a - a.max()).sum())


def boltzmann_states(L, T):
    """All 2^(L^2) states of an L x L lattice and their Boltzmann probabilities."""
    s = np.array(list(itertools.product((-1.0, 1.0), repeat=L * L))).reshape(-1, L, L)
    e = -(s * (np.roll(s, 1, -1) + np.roll(s, 1, -2))).sum((1, 2))
    w = np.exp(-(e - e.min()) / T)
    return s, w / w.sum()


@pytest.mark.parametrize("shape", [(2, 2), (3, 3), (2, 4), (4, 2), (3, 4), (4, 4)])
@pytest.mark.parametrize("T", [1.0, 2.0, ising.T_CRITICAL, 3.5])
def test_kaufman_partition_function_equals_enumeration(shape, T):
    assert ising.log_partition_function(*shape, T) == pytest.approx(
        brute_force_log_z(*shape, T), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("T", [1.5, ising.T_CRITICAL, 3.0])
def test_exact_finite_lattice_energy_heat_entropy_against_enumeration(T):
    s, p = boltzmann_states(4, T)
    e = -(s * (np.roll(s, 1, -1) + np.roll(s, 1, -2))).sum((1, 2)) / 16
    exact = ising.exact_finite_lattice(4, T)
    assert exact["energy"] == pytest.approx(p @ e, abs=1e-7)
    assert exact["specific_heat"] == pytest.approx(16 * (p @ e**2 - (p @ e) ** 2) / T**2,
                                                   abs=1e-5)
    assert exact["entropy_nats"] == pytest.approx(-(p @ np.log(p)) / 16, abs=1e-7)
    assert ising.exact_observables(4, T)["energy"] == pytest.approx(p @ e, abs=1e-12)


def test_onsager_limits():
    assert ising.onsager_energy(ising.T_CRITICAL) == pytest.approx(-np.sqrt(2), abs=1e-12)
    # a large periodic lattice converges to the infinite one away from T_c
    for T in (1.8, 3.0):
        assert ising.exact_finite_lattice(256, T)["energy"] == pytest.approx(
            float(ising.onsager_energy(T)), abs=1e-6)
    # at T_c the entropy per spin converges to Onsager's like 1/L (so does E/N)
    gap = [ising.ENTROPY_TC_NATS - ising.exact_finite_lattice(L, ising.T_CRITICAL)["entropy_nats"]
           for L in (256, 1024)]
    assert 0 < gap[1] < 5e-4 and 3.5 < gap[0] / gap[1] < 4.5
    assert ising.ENTROPY_TC_BITS == pytest.approx(0.442, abs=5e-4)
    assert ising.onsager_magnetization(3.0) == 0.0
    assert ising.onsager_magnetization(1.0) == pytest.approx(1.0, abs=1e-3)
    assert ising.onsager_magnetization(2.0) == pytest.approx(0.9113, abs=1e-4)


def test_energy_per_site_equals_brute_force_neighbour_sum():
    rng = np.random.default_rng(0)
    for L in (2, 3, 5, 8):
        s = rng.choice([-1.0, 1.0], (4, L, L))
        brute = np.zeros(4)
        for i, j in itertools.product(range(L), range(L)):
            brute -= s[:, i, j] * (s[:, (i + 1) % L, j] + s[:, i, (j + 1) % L])
        assert np.allclose(np.asarray(ising.energy_per_site(jnp.asarray(s))), brute / L**2)
        thermo = ising.thermodynamics(s, 2.0)
        assert thermo["energy"][0] == pytest.approx(brute.mean() / L**2)


def test_correlation_function_on_known_configurations():
    up = np.ones((3, 8, 8))
    c, err = ising.correlation_function(up)
    assert np.allclose(c, 1) and np.allclose(err, 0)
    checker = np.where((np.arange(8)[:, None] + np.arange(8)) % 2, 1.0, -1.0)[None]
    c, _ = ising.correlation_function(np.concatenate([checker, -checker]))
    assert np.allclose(c, (-1.0) ** np.arange(5))
    stripes = np.where(np.arange(8) < 4, 1.0, -1.0)[None, None, :].repeat(8, 1)  # along x only
    c, _ = ising.correlation_function(np.concatenate([stripes, stripes]))
    assert np.allclose(c, [1, 0.75, 0.5, 0.25, 0])  # (C_y = 1 + C_x = 1 - r/2) / 2


@pytest.mark.parametrize("T", [1.8, 3.0])
def test_fluctuation_observables_agree_with_exact_enumeration_within_errors(T):
    s, p = boltzmann_states(3, T)
    idx = np.random.default_rng(1).choice(len(s), 20_000, p=p)
    thermo = ising.thermodynamics(s[idx], T)
    e = -(s * (np.roll(s, 1, -1) + np.roll(s, 1, -2))).sum((1, 2)) / 9
    m = np.abs(s.mean((1, 2)))
    exact = {"energy": p @ e, "abs_m": p @ m,
             "specific_heat": 9 * (p @ e**2 - (p @ e) ** 2) / T**2,
             "susceptibility": 9 * (p @ m**2 - (p @ m) ** 2) / T}
    for name, value in exact.items():
        mean, err = thermo[name]
        assert 0 < err < 0.1 * abs(value) + 0.01
        assert abs(mean - value) < 4 * err, (name, mean, err, value)


def test_metropolis_matches_kaufman_energy_and_onsager_magnetisation():
    cold = ising.metropolis(jax.random.key(0), L=16, T=1.5, n_chains=64, sweeps=300, ordered=True)
    thermo = ising.thermodynamics(np.asarray(cold), 1.5)
    exact = ising.exact_finite_lattice(16, 1.5)["energy"]
    assert abs(thermo["energy"][0] - exact) < 4 * thermo["energy"][1] + 1e-3
    assert thermo["abs_m"][0] == pytest.approx(float(ising.onsager_magnetization(1.5)), abs=0.01)


# ------------------------------------------------------------------------------ the model


def small_model(conditional=False, L=8, dilations=(1, 2, 4), T=10):
    config = lattice.LatticeDiffusionConfig(L=L, T=T, features=8, dilations=dilations,
                                        conditional=conditional)
    return lattice.LatticeDiffusion(config, rngs=nnx.Rngs(0))


@pytest.mark.parametrize("conditional", [False, True])
def test_denoiser_is_translation_equivariant_on_the_torus(conditional):
    model = small_model(conditional)
    x = jax.random.bernoulli(jax.random.key(0), 0.5, (3, 8, 8)).astype(jnp.float32)
    t = jnp.array([1.0, 4.0, 9.0])
    temp = jnp.array([1.5, 2.3, 3.5]) if conditional else None
    out = model.x0_logit(x, t, temp)
    shifted = model.x0_logit(jnp.roll(x, (3, 5), (1, 2)), t, temp)
    assert jnp.allclose(shifted, jnp.roll(out, (3, 5), (1, 2)), atol=1e-5)
    assert not jnp.allclose(out[0], out[1])  # the time step matters


def test_posterior_is_bayes_rule_on_the_forward_chain():
    model = small_model(T=7)
    x0 = jnp.array([[[0.0, 1.0], [1.0, 0.0]]])
    for t in range(2, 8):
        tt = jnp.array([float(t)])
        beta = 1 / (7 - t + 1)
        for xt in (0.0, 1.0):
            prior1 = float(model.q_prob(x0, tt - 1)[0, 0, 1])  # x0 = 1 at that site
            like1, like0 = ((1 - beta / 2, beta / 2) if xt == 1 else (beta / 2, 1 - beta / 2))
            expected = prior1 * like1 / (prior1 * like1 + (1 - prior1) * like0)
            got = model.posterior_prob(jnp.full((1, 2, 2), xt), x0, tt)[0, 0, 1]
            assert float(got) == pytest.approx(expected, rel=1e-6)
    assert jnp.allclose(model.q_prob(x0, jnp.array([7.0])), 0.5)


def test_elbo_estimator_equals_exact_elbo_and_bounds_the_likelihood_on_2x2():
    """On 2 x 2 spins (16 states) every term of the ELBO can be summed exactly, and the
    model's own likelihood p(x_0) follows from multiplying its 16 x 16 reverse kernels.
    Catches a wrong forward posterior q(x_{t-1} | x_t, x_0) in binomial.py (e.g. the t-step
    q(x_t | x_0) in place of the one-step kernel): the exact sum computes it here."""
    T = 4
    model = small_model(L=2, dilations=(1,), T=T)
    states = jnp.array(list(itertools.product((0.0, 1.0), repeat=4))).reshape(16, 2, 2)

    def kernel(t, x_prev_is_x0):  # P[x_t, x_prev] of p(x_{t-1}|x_t), or of p(x_0|x_1)
        tt = jnp.full((16,), float(t))
        p1 = (jax.nn.sigmoid(model.x0_logit(states, tt)) if x_prev_is_x0
              else model.p_prob(states, tt))
        return jnp.prod(jnp.where(states[None] == 1, p1[:, None], 1 - p1[:, None]), (2, 3))

    p_x0 = jnp.full(16, 1 / 16)  # x_T: fair coins
    for t in range(T, 0, -1):
        p_x0 = p_x0 @ kernel(t, t == 1)
    x0 = states[6]
    nll = -np.log(float(p_x0[6]))

    def q_states(probs):  # q over the 16 states, product of per-site Bernoullis
        return jnp.prod(jnp.where(states == 1, probs, 1 - probs), (1, 2))

    # The forward process written out here, not taken from the model (whose posterior the
    # estimator and p share, so a bug in it would cancel): step t keeps each bit with
    # probability 1 - beta_t, else redraws it from Bernoulli(p_T), beta_t = 1 / (T - t + 1).
    p_T = 0.5  # lattice diffusion forgets towards fair coins
    assert model.p_T == p_T
    beta = {t: 1 / (T - t + 1) for t in range(1, T + 1)}

    def step1(x_prev, t):  # q(x_t = 1 | x_{t-1}), the one-step kernel
        return (1 - beta[t]) * x_prev + beta[t] * p_T

    def marginal1(t):  # q(x_t = 1 | x_0): the bit survives all t steps, or it was redrawn
        kept = np.prod([1 - beta[s] for s in range(1, t + 1)])
        return kept * x0 + (1 - kept) * p_T

    exact = 0.0
    for t in range(2, T + 1):
        # q(x_{t-1} = 1 | x_t, x_0) by Bayes' rule over the two values v of x_{t-1}, per site
        like = {v: jnp.where(states == 1, step1(v, t), 1 - step1(v, t)) for v in (0.0, 1.0)}
        prior1 = marginal1(t - 1)
        q1 = prior1 * like[1.0] / (prior1 * like[1.0] + (1 - prior1) * like[0.0])
        p1 = model.p_prob(states, jnp.full((16,), float(t)))
        kl = (q1 * jnp.log(q1 / p1) + (1 - q1) * jnp.log((1 - q1) / (1 - p1))).sum((1, 2))
        exact += float(q_states(marginal1(t)) @ kl)
    exact += float(q_states(marginal1(1)) @ -jnp.log(kernel(1, True)[:, 6]))

    spins = jnp.broadcast_to(2 * x0 - 1, (200_000, 2, 2))
    terms = model.elbo_terms(spins, jax.random.key(0))
    total = np.asarray(terms.total())
    err = total.std() / np.sqrt(len(total))
    assert abs(total.mean() - exact) < 4 * err
    assert exact >= nll - 1e-6  # the ELBO bounds the model's own likelihood
    assert np.all(np.asarray(terms.prior) == 0)


def test_sampling_gives_spins_and_conditional_training_runs():
    model = small_model(conditional=True)
    s = model.sample(jax.random.key(0), 5, 2.0)
    assert s.shape == (5, 8, 8) and set(np.unique(np.asarray(s))) <= {-1.0, 1.0}
    import optax
    opt = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)
    batch = (s, jnp.full((5,), 2.0))
    metrics = lattice.train_step(model, opt, batch, jax.random.key(1))
    assert np.isfinite(float(metrics["loss"]))
    bits = lattice.bits_per_spin(model, s, jax.random.key(2), repeats=2,
                                 temperature=jnp.full(5, 2.0))
    assert 0 < bits["bits_per_spin"] < 5


def test_command_line_trains_samples_and_refuses_non_spin_data(tmp_path, capsys):
    from course_lib import cli

    spins = np.asarray(ising.metropolis(jax.random.key(0), L=8, T=2.5, n_chains=64, sweeps=20))
    np.save(tmp_path / "spins.npy", spins)
    out = tmp_path / "run"
    assert cli.main(["train", "lattice", "--data", str(tmp_path / "spins.npy"), "--out", str(out),
                     "--steps", "3", "--batch-size", "8", "--T", "4", "--features", "4",
                     "--dilations", "1,2", "--no-progress"]) == 0
    assert cli.main(["sample", str(out), "--n", "5", "--out", str(tmp_path / "s.npy")]) == 0
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (5, 8, 8) and set(np.unique(s)) <= {-1.0, 1.0}

    # a model trained in Python, written as a run folder, samples the same way
    model = small_model(L=8, T=4, dilations=(1, 2))
    from course_lib.train import TrainConfig
    spins_file = str(tmp_path / "spins.npy")
    write_run_folder(model, tmp_path / "shipped", TrainConfig(steps=1), spins_file, [8, 8])
    assert cli.main(["sample", str(tmp_path / "shipped"), "--n", "3", "--out",
                     str(tmp_path / "t.npy"), "--seed", "4"]) == 0
    assert np.array_equal(np.load(tmp_path / "t.npy"),
                          lattice.generate(model, jax.random.key(4), 3))

    # a conditional model samples at the --temperature asked, and only with one
    hot = lattice.LatticeDiffusion(lattice.LatticeDiffusionConfig(
        L=8, T=4, features=4, dilations=(1, 2), conditional=True), rngs=nnx.Rngs(0))
    write_run_folder(hot, tmp_path / "hot", TrainConfig(steps=1), spins_file, [8, 8])
    assert cli.main(["sample", str(tmp_path / "hot"), "--n", "3", "--out",
                     str(tmp_path / "h.npy"), "--temperature", "3.0"]) == 0
    assert np.array_equal(np.load(tmp_path / "h.npy"),
                          lattice.generate(hot, jax.random.key(0), 3, 3.0))
    assert not np.array_equal(np.load(tmp_path / "h.npy"),
                              lattice.generate(hot, jax.random.key(0), 3, 1.5))
    capsys.readouterr()
    for run, extra, message in (("hot", [], "give --temperature T"),
                                ("hot", ["--temperature", "nan"], "positive number"),
                                ("shipped", ["--temperature", "2"], "is not")):
        assert cli.main(["sample", str(tmp_path / run), "--n", "3", "--out",
                         str(tmp_path / "bad.npy"), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "bad.npy").exists()

    capsys.readouterr()
    assert cli.main(["train", "lattice", "--data", "ring", "--out", str(tmp_path / "bad"),
                     "--steps", "1", "--no-progress"]) == 2
    assert "square spin configurations" in capsys.readouterr().err
    assert cli.main(["train", "lattice", "--data", str(tmp_path / "spins.npy"), "--out",
                     str(tmp_path / "bad2"), "--dilations", "1,x", "--no-progress"]) == 2
    assert "must be integers separated by commas" in capsys.readouterr().err


def test_cached_spins_round_trip_and_refuse_non_spins(tmp_path):
    spins = np.where(np.random.default_rng(0).random((200, 6, 6)) < 0.5, -1.0, 1.0)
    made = cached_spins(tmp_path / "s.npz", lambda: spins)
    loaded = cached_spins(tmp_path / "s.npz", lambda: pytest.fail("should load"))
    assert np.array_equal(made, spins) and np.array_equal(loaded, spins)
    assert (tmp_path / "s.npz").stat().st_size < spins.size / 4  # packed: 1 bit per spin
    with pytest.raises(ValueError, match="spins"):
        cached_spins(tmp_path / "t.npz", lambda: spins * 0.5)
    assert not (tmp_path / "t.npz").exists()
