"""The exact GAN theory (course_lib.theory.gan) against closed forms."""


import numpy as np
import pytest

from course_lib import metrics
from course_lib.theory import gan as gan_theory

LOG2 = np.log(2.0)
X = np.linspace(-12, 12, 48_001)


def test_optimal_discriminator_and_the_minus_log4_optimum():
    p = gan_theory.gaussian_pdf(0, 1)
    D = gan_theory.optimal_discriminator(p, p)
    np.testing.assert_allclose(D(X), 0.5)
    assert abs(gan_theory.value(D, p, p, X) + np.log(4)) < 1e-9
    assert abs(gan_theory.js_divergence(p, p, X)) < 1e-12


@pytest.mark.parametrize("shift,std", [(1.0, 1.0), (3.0, 0.5), (0.0, 2.0)])
def test_value_at_d_star_is_minus_log4_plus_twice_js(shift, std):
    """Goodfellow et al., Theorem 1: C(G) = -log 4 + 2 JSD(p_r || p_g)."""
    p_r, p_g = gan_theory.gaussian_pdf(0, 1), gan_theory.gaussian_pdf(shift, std)
    D_star = gan_theory.optimal_discriminator(p_r, p_g)
    c = gan_theory.value(D_star, p_r, p_g, X)
    js = gan_theory.js_divergence(p_r, p_g, X)
    assert 0 < js < LOG2
    assert abs(c - (-np.log(4) + 2 * js)) < 1e-8
    # any other discriminator does worse (D* maximises V pointwise)
    for other in (lambda x: 0.5 + 0 * x, lambda x: np.clip(D_star(x) * 0.9, 0, 1)):
        assert gan_theory.value(other, p_r, p_g, X) < c


def test_js_divergence_of_disjoint_densities_is_log2():
    p, q = gan_theory.gaussian_pdf(-6, 0.3), gan_theory.gaussian_pdf(6, 0.3)
    assert abs(gan_theory.js_divergence(p, q, X) - LOG2) < 1e-9


def test_wasserstein_of_shifted_gaussians_is_the_shift():
    exact = gan_theory.wasserstein_1d_exact(gan_theory.gaussian_quantile(0, 1),
                                            gan_theory.gaussian_quantile(2, 1), n=20_001)
    assert abs(exact - 2.0) < 1e-9
    rng = np.random.default_rng(0)
    n = 20_000
    est = metrics.wasserstein_1d(rng.normal(0, 1, n), rng.normal(2, 1, n))
    # the sorted-sample estimate's error is O(1/sqrt(n)) here: allow 5 / sqrt(n)
    assert abs(est - 2.0) < 5 / np.sqrt(n)
    with pytest.raises(ValueError, match="equal sizes"):
        metrics.wasserstein_1d([1, 2], [1])


def test_simultaneous_gradient_game_spirals_out_at_the_predicted_rate():
    xy = gan_theory.simultaneous_gradient_game(1.0, 0.0, lr=0.1, steps=50)
    r = np.linalg.norm(xy, axis=1)
    np.testing.assert_allclose(r, np.sqrt(1 + 0.1**2) ** np.arange(51), rtol=1e-12)
