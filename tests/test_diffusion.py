"""Diffusion: schedules, the forward process and posterior against exact algebra, the ELBO's
pieces, the exact linear-Gaussian HVAE, training, and the diffusion command line."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from course_lib import cli, data
from course_lib import diffusion as dm
from course_lib.hvae import LinearGaussianHVAE
from course_lib.train import TrainConfig, train

KEY = jax.random.key(0)

# ------------------------------------------------------------------------------ schedules


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


# ------------------------------------------------------------------------ forward process


def test_iterated_encoder_matches_the_closed_form():
    """Eq. 31 applied t times has the moments of Eq. 69: mean sqrt(abar) x0, var 1 - abar."""
    betas = dm.linear_betas(200, 1e-3, 0.05)
    x0, n = 1.5, 100_000
    x = jnp.full((n,), x0)
    for t, beta in enumerate(betas):
        x = dm.q_step(x, 1 - beta, jax.random.normal(jax.random.fold_in(KEY, t), (n,)))
    ab = dm.alpha_bar(betas)[-1]
    var = 1 - ab
    assert abs(float(x.mean()) - np.sqrt(ab) * x0) < 5 * np.sqrt(var / n)
    assert abs(float(x.var()) / var - 1) < 5 * np.sqrt(2 / n)


def test_posterior_is_bayes_rule_for_gaussians():
    """q(x_{t-1} | x_t, x0) from Eq. 84 against conditioning the joint Gaussian directly."""
    a_t, ab_prev = 0.9, 0.6
    ab_t = a_t * ab_prev
    x0, x_t = 0.7, -0.4
    # the joint of (x_{t-1}, x_t) given x0, from Eq. 69 and Eq. 31
    v_prev = 1 - ab_prev
    cov = np.array([[v_prev, np.sqrt(a_t) * v_prev],
                    [np.sqrt(a_t) * v_prev, a_t * v_prev + 1 - a_t]])
    mu = np.array([np.sqrt(ab_prev) * x0, np.sqrt(ab_t) * x0])
    mean_exact = mu[0] + cov[0, 1] / cov[1, 1] * (x_t - mu[1])
    var_exact = cov[0, 0] - cov[0, 1] ** 2 / cov[1, 1]
    mean, var = dm.q_posterior(x_t, x0, a_t, ab_t, ab_prev)
    assert float(mean) == pytest.approx(mean_exact, rel=1e-6)
    assert float(var) == pytest.approx(var_exact, rel=1e-6)


def test_denoising_kl_is_the_snr_weighted_error():
    """Eq. 110: the KL between the posteriors at x0 and at x0_hat is
    1/2 (SNR(t-1) - SNR(t)) ||x0 - x0_hat||^2."""
    a_t, ab_prev = 0.95, 0.5
    ab_t = a_t * ab_prev
    x0, x0_hat, x_t = jnp.array([0.3, -1.0]), jnp.array([0.1, -0.7]), jnp.array([0.2, 0.4])
    m_q, v = dm.q_posterior(x_t, x0, a_t, ab_t, ab_prev)
    m_p, _ = dm.q_posterior(x_t, x0_hat, a_t, ab_t, ab_prev)
    kl = float(dm.gaussian_kl(m_q, v, m_p, v).sum())
    expected = 0.5 * (dm.snr(ab_prev) - dm.snr(ab_t)) * float(jnp.sum((x0 - x0_hat) ** 2))
    assert kl == pytest.approx(expected, rel=1e-5)


def test_the_three_parameterisations_agree():
    ab, x0 = 0.3, jnp.array([[0.5, -1.2]])
    eps = jax.random.normal(KEY, x0.shape)
    x_t = dm.q_sample(x0, ab, eps)
    np.testing.assert_allclose(dm.x0_from_noise(x_t, eps, ab), x0, atol=1e-6)
    np.testing.assert_allclose(dm.x0_from_score(x_t, dm.score_from_noise(eps, ab), ab), x0,
                               atol=1e-6)


def test_prior_kl_vanishes_for_the_ddpm_schedule():
    ab = dm.alpha_bar(dm.linear_betas(1000))
    x0 = jnp.ones((1, 64))
    kls = [float(dm.kl_to_standard_normal(x0, ab[t - 1])[0]) for t in (10, 100, 500, 1000)]
    # exact at t = T: 32 (abar_T - log(1 - abar_T)) = 64 abar_T = 2.6e-3 nats for abar_T = 4e-5
    assert kls[0] > kls[1] > kls[2] > kls[3] and kls[3] < 3e-3


def test_discretized_decoder_is_a_distribution_over_the_levels():
    levels = 17
    v = jnp.linspace(-1, 1, levels)
    for mean, std in [(0.1, 0.05), (-0.95, 0.3), (2.0, 1.0)]:
        p = jnp.exp(dm.discretized_gaussian_log_prob(v, mean, std, levels))
        assert float(p.sum()) == pytest.approx(1.0, abs=1e-5)


# ------------------------------------------------------------------------ the exact HVAE


@pytest.fixture
def hvae():
    a = np.linspace(0.95, 0.6, 8)
    return LinearGaussianHVAE(a, np.sqrt(a) * 0.9, 1 - a * 0.8)


def test_elbo_equals_log_likelihood_minus_posterior_kl(hvae):
    for x in (-2.0, 0.0, 1.3):
        gap = hvae.log_px(x) - hvae.elbo(x)
        assert gap > 0
        assert gap == pytest.approx(hvae.posterior_kl(x), abs=1e-10)
    matched = LinearGaussianHVAE.matched(np.linspace(0.95, 0.6, 8))
    # a decoder that retraces the encoder has q(h|x) = p(h|x) when x ~ N(0, 1) marginally
    assert matched.posterior_kl(0.7) == pytest.approx(0.0, abs=1e-10)


def test_monte_carlo_estimators_are_unbiased_and_denoising_has_less_variance(hvae):
    x, n = 1.3, 100_000
    exact = hvae.elbo(x)
    est = {f.__name__: f(x, n, np.random.default_rng(0)) for f in
           (hvae.elbo_monte_carlo, hvae.elbo_consistency, hvae.elbo_denoising)}
    for name, v in est.items():
        assert abs(v.mean() - exact) < 5 * v.std() / np.sqrt(n), name
    assert est["elbo_denoising"].var() < 0.5 * est["elbo_monte_carlo"].var()
    literal = hvae.consistency_kl_form(x, n, np.random.default_rng(1))
    assert abs(literal.mean() - exact) > 20 * literal.std() / np.sqrt(n)


# ------------------------------------------------------------------------------ models


def small_train(model, step, sampler, steps=300, lr=1e-3):
    opt = nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)
    return train(step, (model, opt), sampler, TrainConfig(steps=steps, batch_size=128,
                                                          progress=False))


@pytest.mark.parametrize("parameterization", ["noise", "x0", "score"])
def test_ddpm_trains_and_samples(parameterization):
    model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=100, hidden=(64, 64), loss="elbo",
                                  parameterization=parameterization), rngs=nnx.Rngs(0))
    h = small_train(model, dm.ddpm_train_step, data.get("moons").sample)
    assert h["nelbo"][-50:].mean() < h["nelbo"][:50].mean()
    assert {"reconstruction", "prior", "diffusion", "simple"} <= set(h)
    x = model.sample(jax.random.key(1), 64)
    assert x.shape == (64, 2) and np.isfinite(np.asarray(x)).all()


def test_simple_loss_trains_and_matches_the_elbo_terms_simple():
    model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=100, hidden=(64, 64)), rngs=nnx.Rngs(0))
    h = small_train(model, dm.ddpm_train_step, data.get("moons").sample)
    assert set(h) == {"loss"} and h["loss"][-50:].mean() < h["loss"][:50].mean()
    x = data.get("moons").sample(KEY, 20_000)
    # the same quantity, two estimators: L_simple at t ~ U{1..T} vs the ELBO's simple term
    # at t ~ U{2..T}; they agree to within their Monte-Carlo error (one t of 100 excluded)
    a = float(dm.simple_loss(model, x, KEY))
    per_example = np.asarray(model.loss_terms(x, jax.random.key(1))["simple"])
    b, se = per_example.mean(), per_example.std() / np.sqrt(len(per_example))
    # two independent means (5 standard errors of their difference), plus up to 2% for the
    # t = 1 term that one estimator leaves out (1 of T = 100 steps, at most twice the mean)
    assert abs(a - b) < 5 * np.sqrt(2) * se + 0.02 * b


def test_vdm_and_binomial_train():
    vdm = dm.VDM(dm.VDMConfig(data_dim=2, hidden=(64,)), rngs=nnx.Rngs(0))
    h = small_train(vdm, dm.vdm_train_step, data.get("moons").sample)
    assert h["loss"][-50:].mean() < h["loss"][:50].mean()
    assert vdm.sample(jax.random.key(0), 8, steps=20).shape == (8, 2)
    b = dm.BinomialDiffusion(dm.BinomialConfig(T=100), rngs=nnx.Rngs(0))
    h = small_train(b, dm.binomial_train_step, data.get("heartbeat").sample)
    assert np.all(h["prior"] == 0) and h["loss"][-50:].mean() < h["loss"][:50].mean()
    s = np.asarray(b.sample(jax.random.key(0), 16))
    assert set(np.unique(s)) <= {0.0, 1.0}


def test_binomial_kernel_forgets_linearly_and_its_posterior_is_bayes():
    b = dm.BinomialDiffusion(dm.BinomialConfig(T=50), rngs=nnx.Rngs(0))
    betas = 1 / (50 - np.arange(1, 51) + 1)
    np.testing.assert_allclose(np.cumprod(1 - betas), 1 - np.arange(1, 51) / 50, atol=1e-12)
    # brute force Bayes for one bit at t = 10
    t, p = 10, 0.2
    beta = betas[t - 1]
    for x0 in (0.0, 1.0):
        prev1 = float(b.q_prob(jnp.array([[x0]]), jnp.array([t - 1.0]))[0, 0])
        for xt in (0.0, 1.0):
            trans = {1: (1 - beta + beta * p) if xt else (beta * (1 - p)),
                     0: (beta * p) if xt else (1 - beta * p)}
            bayes = prev1 * trans[1] / (prev1 * trans[1] + (1 - prev1) * trans[0])
            got = float(b.posterior_prob(jnp.array([[xt]]), jnp.array([[x0]]),
                                         jnp.array([float(t)]))[0, 0])
            assert got == pytest.approx(bayes, rel=1e-5)


# ------------------------------------------------------------------------- command line


def test_cli_diffusion_models(tmp_path, capsys):
    held_out = np.asarray(data.get("moons").sample(jax.random.key(9), 300))
    np.save(tmp_path / "held_out.npy", held_out)
    uint8 = np.random.default_rng(0).integers(0, 256, (300, 4))
    np.save(tmp_path / "bytes.npy", 2 * uint8 / 255 - 1)
    runs = [("ddpm", "moons", ["--T", "50", "--width", "32"]),
            ("ddpm", "digits", ["--T", "50", "--width", "32"]),
            ("ddpm", str(tmp_path / "bytes.npy"), ["--T", "50", "--quantized", "8"]),
            ("vdm", "moons", ["--width", "32"]),
            ("binomial", "heartbeat", ["--T", "100"])]
    for i, (model, dataset, extra) in enumerate(runs):
        out = tmp_path / f"r{i}"
        assert cli.main(["train", model, "--data", dataset, "--out", str(out), "--steps", "20",
                         "--batch-size", "32", "--no-progress", *extra]) == 0, capsys.readouterr()
        capsys.readouterr()
        assert cli.main(["sample", str(out), "--n", "4", "--out", str(tmp_path / "s.npy")]) == 0
        capsys.readouterr()
        evaluate_on = str(tmp_path / "held_out.npy") if dataset == "moons" else dataset
        assert cli.main(["evaluate", str(out), "--data", evaluate_on]) == 0
        result = json.loads(capsys.readouterr().out)
        assert np.isfinite(result["bits_per_dim"]) and np.isfinite(result["bits_per_example"])
    assert cli.main(["train", "binomial", "--data", "moons", "--out", str(tmp_path / "x")]) == 2
    assert "binary data" in capsys.readouterr().err
    assert cli.main(["train", "ddpm", "--data", "moons", "--out", str(tmp_path / "x"),
                     "--quantized", "8"]) == 2
    assert "scaled to [-1, 1]" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("loss", ["elbo", "hybrid"])
def test_learned_variances_train_and_stay_between_their_bounds(loss):
    cfg = dm.DDPMConfig(data_dim=2, T=40, beta_1=1e-3, beta_T=0.3, hidden=(64, 64),
                        learn_variance=True, loss=loss)
    model = dm.DDPM(cfg, rngs=nnx.Rngs(0))
    h = small_train(model, dm.ddpm_train_step, data.get("moons").sample)
    assert np.isfinite(h["nelbo"]).all() and h["nelbo"][-50:].mean() < h["nelbo"][:50].mean()
    t = jnp.arange(2, 41)
    _, var = model.p_mean_var(jnp.zeros((39, 2)), t)
    betas = cfg.betas()[1:, None]
    assert np.all(np.asarray(var) <= betas * (1 + 1e-5))
    assert np.all(np.asarray(var) >= np.asarray(model.beta_tilde[...])[1:, None] * (1 - 1e-5))


def test_vdm_with_a_periodic_conv_net_on_lattices():
    cfg = dm.VDMConfig(data_dim=64, levels=2, hidden=(0, 0), image_shape=(8, 8),
                       conv_features=8)
    model = dm.VDM(cfg, rngs=nnx.Rngs(0))
    lattice = data.ising(L=8, T=2.269, n=64, sweeps=50)
    h = small_train(model, dm.vdm_train_step, lattice.sample, steps=30)
    assert np.isfinite(h["loss"]).all()
    # circular padding: shifting the lattice shifts the prediction (translation equivariance)
    z = jax.random.normal(KEY, (2, 64))
    g = jnp.full((2,), -2.0)
    shifted = jnp.roll(z.reshape(2, 8, 8), 3, axis=2).reshape(2, 64)
    np.testing.assert_allclose(jnp.roll(model.eps_hat(z, g).reshape(2, 8, 8), 3, axis=2),
                               model.eps_hat(shifted, g).reshape(2, 8, 8), atol=1e-5)
    s = np.asarray(model.sample(KEY, 4, steps=10))
    assert set(np.unique(s)) <= {-1.0, 1.0}


def test_bits_are_the_negative_elbo_and_nothing_else():
    """evaluate_model_bits = (reconstruction + prior + diffusion) / (D ln 2): the training-only
    ``simple`` term must not leak into the bound."""
    model = dm.DDPM(dm.DDPMConfig(data_dim=2, T=50, hidden=(16,)), rngs=nnx.Rngs(0))
    x = data.get("moons").sample(KEY, 500)
    bits = dm.evaluate_model_bits(model, x, KEY, repeats=1)
    terms = jax.jit(lambda k, xb: model.loss_terms(xb, k))(jax.random.fold_in(KEY, 0), x)
    nats = float((terms["reconstruction"] + terms["prior"] + terms["diffusion"]).mean())
    assert bits["bits_per_example"] == pytest.approx(nats / np.log(2), rel=1e-5)
    assert bits["bits_per_dim"] == pytest.approx(nats / np.log(2) / 2, rel=1e-5)
