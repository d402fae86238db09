"""The exact linear-Gaussian HVAE: its three ELBO estimators, Eq. 84 and the chain's bridge.

Each statistical check is tried against a planted bug (a wrong conditional, a wrong Eq. 84)
in the same test, so that a check which cannot fail is caught here.
"""

import numpy as np
import pytest

from course_lib.theory.hvae import LinearGaussianHVAE, normal_logpdf

ESTIMATORS = ("elbo_monte_carlo", "elbo_consistency", "elbo_denoising")


@pytest.fixture
def hvae():
    a = np.linspace(0.95, 0.6, 8)
    return LinearGaussianHVAE(a, np.sqrt(a) * 0.9, 1 - a * 0.8)


def z_score(values, exact):
    """(mean - exact) / standard error, over independent samples."""
    return (values.mean() - exact) / (values.std(ddof=1) / np.sqrt(len(values)))


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("x", [0.0, 1.3, 3.0])
def test_each_estimator_is_unbiased(hvae, name, x):
    # |z| < 4.5 fails by chance with probability 7e-6 for an unbiased estimator
    v = getattr(hvae, name)(x, 100_000, np.random.default_rng(7))
    assert abs(z_score(v, hvae.elbo(x))) < 4.5


@pytest.mark.parametrize("name", ESTIMATORS)
def test_z_scores_over_independent_batches_are_standard_normal(hvae, name):
    # also checks the standard error: a wrong one scales the spread of z away from 1
    x, batches = 1.3, 400
    z = np.array([z_score(getattr(hvae, name)(x, 2_000, np.random.default_rng(100 + k)),
                          hvae.elbo(x)) for k in range(batches)])
    assert abs(z.mean()) < 4.5 / np.sqrt(batches)
    assert abs(z.std() - 1) < 4.5 / np.sqrt(2 * batches)


def test_planted_bug_integrating_against_q_of_the_previous_step_is_caught(hvae, monkeypatch):
    # Luo's step to Eq. 45: q(x_t | x_{t-1}, x_{t+1}) replaced by q(x_t | x_{t-1})
    def forward_step(self, t, h_prev, h_next):
        return np.sqrt(self.a[t - 1]) * h_prev, 1 - self.a[t - 1]

    x = 1.3
    monkeypatch.setattr(LinearGaussianHVAE, "bridge", forward_step)
    wrong = hvae.elbo_consistency(x, 100_000, np.random.default_rng(7))
    assert abs(z_score(wrong, hvae.elbo(x))) > 20
    # and that planted bug is exactly the literal KL form of Eq. 45
    literal = hvae.consistency_kl_form(x, 100_000, np.random.default_rng(7))
    np.testing.assert_allclose(wrong, literal, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bug", ["swap_alphas", "no_sqrt"])
def test_planted_bug_in_eq84_is_caught(hvae, monkeypatch, bug):
    right = LinearGaussianHVAE.denoising_posterior

    def wrong(self, t, h_t, x):
        mean, var = right(self, t, h_t, x)
        a_t, ab_prev = self.a[t - 1], np.prod(self.a[:t - 1])
        ab_t = a_t * ab_prev
        if bug == "swap_alphas":
            mean = (np.sqrt(ab_prev) * (1 - a_t) * h_t
                    + np.sqrt(a_t) * (1 - ab_prev) * x) / (1 - ab_t)
        else:
            mean = (a_t * (1 - ab_prev) * h_t + ab_prev * (1 - a_t) * x) / (1 - ab_t)
        return mean, var

    x = 1.3
    monkeypatch.setattr(LinearGaussianHVAE, "denoising_posterior", wrong)
    v = hvae.elbo_denoising(x, 100_000, np.random.default_rng(7))
    assert abs(z_score(v, hvae.elbo(x))) > 10


def test_plain_estimator_is_the_log_ratio_and_consistency_terms_regroup_it(hvae):
    # evaluating each consistency term on the sampled x_t (no integration) gives the plain
    # estimator back, sample by sample: Eq. 45 regroups the log-ratio, nothing more
    x, rng = 1.3, np.random.default_rng(3)
    h = hvae.sample_encoder(x, 1000, rng)
    T, a = hvae.T, hvae.a
    regrouped = normal_logpdf(x, hvae.c[0] * h[:, 1], hvae.s2[0])
    regrouped += (normal_logpdf(h[:, T], 0, 1)
                  - normal_logpdf(h[:, T], np.sqrt(a[-1]) * h[:, T - 1], 1 - a[-1]))
    for t in range(1, T):
        regrouped += (normal_logpdf(h[:, t], hvae.c[t] * h[:, t + 1], hvae.s2[t])
                      - normal_logpdf(h[:, t], np.sqrt(a[t - 1]) * h[:, t - 1], 1 - a[t - 1]))
    plain = hvae.elbo_monte_carlo(x, 1000, np.random.default_rng(3))
    np.testing.assert_allclose(regrouped, plain, rtol=1e-10, atol=1e-10)


def test_eq84_is_the_exact_gaussian_posterior_of_the_chain(hvae):
    x = 1.3
    h = hvae.sample_encoder(x, 7, np.random.default_rng(0))
    for t in range(2, hvae.T + 1):
        mean, var = hvae.denoising_posterior(t, h[:, t], x)
        # conditioning on x_t alone, and on all of x_t..x_T (the Markov property)
        for given in ({t: h[:, t]}, {k: h[:, k] for k in range(t, hvae.T + 1)}):
            ref_mean, ref_var = hvae.encoder_conditional(x, t - 1, given)
            np.testing.assert_allclose(mean, ref_mean, atol=1e-12)
            assert var == pytest.approx(ref_var, abs=1e-12)
    # a planted bug: conditioning on x_{t+1} instead of x_t is not Eq. 84
    mean, _ = hvae.denoising_posterior(3, h[:, 3], x)
    ref_mean, _ = hvae.encoder_conditional(x, 2, {4: h[:, 4]})
    assert np.abs(mean - ref_mean).max() > 1e-3


def test_bridge_is_the_exact_conditional_of_the_chain(hvae):
    x = 1.3
    h = hvae.sample_encoder(x, 7, np.random.default_rng(1))
    for t in range(1, hvae.T):
        mean, var = hvae.bridge(t, h[:, t - 1], h[:, t + 1])
        given = {k: h[:, k] for k in range(1, hvae.T + 1) if k != t}  # all other latents
        ref_mean, ref_var = hvae.encoder_conditional(x, t, given)
        np.testing.assert_allclose(mean, ref_mean, atol=1e-12)
        assert var == pytest.approx(ref_var, abs=1e-12)
    # q(x_t | x_{t-1}) alone is a different distribution (the planted bug above)
    _, forward_var = hvae.encoder_conditional(x, 3, {2: h[:, 2]})
    assert forward_var == pytest.approx(1 - hvae.a[2], abs=1e-12)
    assert hvae.bridge(3, h[:, 2], h[:, 4])[1] < forward_var - 1e-2
