"""The Gaussian algebra of the diffusion chapter, pinned against independent computations:
KL divergences against their closed form with unequal variances and against Monte Carlo, the
prior-matching KL, and the posterior q(x_{t-1} | x_t, x_0) (Luo Eq. 84) against Bayes' rule
evaluated by quadrature at several t of the DDPM schedule.

Each test here was watched failing on a planted bug (see the module docstrings of the
functions it protects): the KL's log-variance term flipped, the prior KL doubled, the
posterior variance written with alpha_bar_t for alpha_bar_{t-1}.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import diffusion as dm
from course_lib.normal import gaussian_kl

RNG_SEED = 20

# (mean_q, var_q, mean_p, var_p): unequal variances both ways, so that a flipped
# log(var_q / var_p) changes the value (it is invariant only when var_q = var_p)
CASES = [(1.0, 0.5, -0.3, 2.0), (0.2, 3.0, 0.0, 0.4), (-1.5, 0.01, 0.5, 1.0),
         (0.0, 1.0, 0.0, 1.0)]


def kl_by_hand(mq, vq, mp, vp):
    """KL(N(mq, vq) || N(mp, vp)) = 1/2 [log(vp/vq) + (vq + (mq - mp)^2)/vp - 1], written out
    in plain Python from the definition E_q[log q - log p]."""
    return 0.5 * (math.log(vp) - math.log(vq)) + (vq + (mq - mp) ** 2) / (2 * vp) - 0.5


# the KL is written once and runs on JAX arrays (float32, the models) or on floats and numpy
# arrays (float64, the exact references of course_lib.theory): both paths are checked
@pytest.mark.parametrize("as_array", [jnp.float32, float], ids=["jax", "numpy"])
@pytest.mark.parametrize("case", CASES)
def test_gaussian_kl_closed_form_with_unequal_variances(as_array, case):
    got = float(gaussian_kl(*(as_array(c) for c in case)))
    # float32 evaluation of O(1) terms: relative error ~1e-7 each, 1e-5 absolute is generous
    assert got == pytest.approx(kl_by_hand(*case), abs=1e-5)
    if case[1] != case[3]:  # the flipped log term gives log(vp/vq) with the wrong sign
        mq, vq, mp, vp = case
        flipped = 0.5 * math.log(vq / vp) + (vq + (mq - mp) ** 2) / (2 * vp) - 0.5
        assert abs(got - flipped) > 0.1


@pytest.mark.parametrize("as_array", [jnp.float32, float], ids=["jax", "numpy"])
def test_gaussian_kl_against_monte_carlo(as_array):
    """E_q[log q(x) - log p(x)] from n = 400k draws of q; the estimator's standard error is
    the sample std of log q - log p over sqrt(n): 5 standard errors is the tolerance."""
    rng = np.random.default_rng(RNG_SEED)
    n = 400_000
    for mq, vq, mp, vp in CASES[:3]:
        x = mq + np.sqrt(vq) * rng.standard_normal(n)
        log_ratio = (-0.5 * np.log(vq) - (x - mq) ** 2 / (2 * vq)
                     + 0.5 * np.log(vp) + (x - mp) ** 2 / (2 * vp))
        se = log_ratio.std() / np.sqrt(n)
        got = float(gaussian_kl(*(as_array(c) for c in (mq, vq, mp, vp))))
        assert abs(got - log_ratio.mean()) < 5 * se + 1e-5, (mq, vq, mp, vp)


def test_kl_is_zero_only_for_equal_distributions_and_positive_otherwise():
    assert float(gaussian_kl(jnp.float32(0.3), 0.7, 0.3, 0.7)) == pytest.approx(0.0, abs=1e-7)
    for mq, vq, mp, vp in CASES[:3]:
        assert float(gaussian_kl(jnp.float32(mq), vq, mp, vp)) > 0
        assert gaussian_kl(mq, vq, mp, vp) > 0


@pytest.mark.parametrize("alpha_bar_T", [0.5, 0.1, 0.9])
def test_prior_kl_is_the_closed_form_summed_over_dimensions(alpha_bar_T):
    """KL(q(x_T | x_0) || N(0, I)) with q(x_T | x_0) = N(sqrt(abar) x_0, (1 - abar) I)
    (Eq. 69), per example summed over the D dimensions; at abar = 0.5 the value is O(1), so
    doubling it (or dropping the 1/2) is an O(1) error, not one hidden under 3e-3."""
    x0 = jnp.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]])
    got = np.asarray(dm.kl_to_standard_normal(x0, alpha_bar_T))
    expected = [sum(kl_by_hand(math.sqrt(alpha_bar_T) * float(v), 1 - alpha_bar_T, 0.0, 1.0)
                    for v in row) for row in np.asarray(x0)]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # the same number from the general KL: two routes through the library agree
    general = dm.gaussian_kl(jnp.sqrt(alpha_bar_T) * x0, 1 - alpha_bar_T, 0.0, 1.0).sum(-1)
    np.testing.assert_allclose(got, np.asarray(general), rtol=1e-5, atol=1e-6)
    # images: the sum runs over every pixel of every channel
    img = jnp.broadcast_to(x0[:, :, None, None], (2, 3, 4, 5))
    np.testing.assert_allclose(np.asarray(dm.kl_to_standard_normal(img, alpha_bar_T)),
                               20 * np.asarray(expected), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------- the posterior by quadrature


def posterior_by_quadrature(x_t, x0, alpha_t, alpha_bar_prev):
    """Mean and variance of q(x_{t-1} | x_t, x_0) from Bayes' rule,
    q(x_{t-1} | x_t, x_0) propto q(x_t | x_{t-1}) q(x_{t-1} | x_0), normalised numerically on
    a grid (trapezoid rule). The grid's spacing 2e-5 is below a tenth of the narrowest
    posterior std tested (sqrt(beta_tilde_2) = 7e-3), where the trapezoid rule on a Gaussian
    is exact to far below float32 rounding."""
    x = np.linspace(-8, 8, 800_001)
    log_w = (-(x_t - np.sqrt(alpha_t) * x) ** 2 / (2 * (1 - alpha_t))
             - (x - np.sqrt(alpha_bar_prev) * x0) ** 2 / (2 * (1 - alpha_bar_prev)))
    w = np.exp(log_w - log_w.max())
    z = np.trapezoid(w, x)
    mean = np.trapezoid(w * x, x) / z
    return mean, np.trapezoid(w * (x - mean) ** 2, x) / z


@pytest.mark.parametrize("t", [2, 3, 10, 100, 500, 1000])
def test_posterior_is_bayes_rule_by_quadrature(t):
    betas = dm.linear_betas(1000)
    alpha_bar = np.cumprod(1 - betas)  # computed here, not by the library
    a_t, ab_t, ab_prev = 1 - betas[t - 1], alpha_bar[t - 1], alpha_bar[t - 2]
    x0, x_t = 0.7, np.sqrt(ab_t) * 0.7 + np.sqrt(1 - ab_t) * 0.8  # a typical x_t given x0
    mean_ref, var_ref = posterior_by_quadrature(x_t, x0, a_t, ab_prev)
    mean, var = dm.q_posterior(x_t, x0, a_t, ab_t, ab_prev)
    # float32: relative rounding ~1e-7 per operation, and 1 - alpha_bar loses up to
    # eps32 / (1 - abar) relative (at t = 2: 6e-8 / 3e-4 = 2e-4); rtol 1e-3 at t <= 3
    rtol = 1e-3 if t <= 3 else 1e-5
    assert float(var) == pytest.approx(var_ref, rel=rtol)
    assert float(mean) == pytest.approx(mean_ref, rel=rtol, abs=1e-5)


def test_posterior_broadcasts_per_example():
    """Eq. 84 elementwise: a batch of different t gives each example its own coefficients."""
    betas = dm.linear_betas(100, 1e-3, 0.2)
    ab = np.cumprod(1 - betas)
    t = np.array([2, 50, 100])
    a_t, ab_t, ab_prev = 1 - betas[t - 1], ab[t - 1], ab[t - 2]
    x_t, x0 = jnp.array([[0.1], [0.5], [-1.0]]), jnp.array([[0.3], [-0.2], [0.9]])
    mean, var = dm.q_posterior(x_t, x0, a_t[:, None], ab_t[:, None], ab_prev[:, None])
    for i in range(3):
        m, v = posterior_by_quadrature(float(x_t[i, 0]), float(x0[i, 0]), a_t[i], ab_prev[i])
        assert float(mean[i, 0]) == pytest.approx(m, rel=1e-3, abs=1e-5)
        assert float(var[i, 0]) == pytest.approx(v, rel=1e-3)

