"""The forward process, posterior, parameterisations and decoders
(course_lib.diffusion.gaussian_diffusion) against exact algebra."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import diffusion as dm

KEY = jax.random.key(0)


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
