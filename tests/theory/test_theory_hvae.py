"""The exact linear-Gaussian HVAE (course_lib.theory.hvae): ELBO = log p(x) - KL, and the
three Monte-Carlo estimators of Luo Eq. 45 and 58."""


import jax
import numpy as np
import pytest

from course_lib.theory.hvae import LinearGaussianHVAE

KEY = jax.random.key(0)


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
