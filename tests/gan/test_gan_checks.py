"""The helpers behind the weeks 15-16 checks (issue 12): the sample-based JSD, the alternating
and simultaneous games, the Dirac GAN, D trained alone against a frozen generator, and the
generator's gradient norm. Each test names the bug it is there to catch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data, gan
from course_lib.theory import gan as gan_theory
from course_lib.train import TrainConfig, train

X = np.linspace(-15, 15, 60_001)


@pytest.mark.parametrize("mu", [0.5, 1.0, 2.0, 4.0])
def test_sample_jsd_matches_the_quadrature_on_known_gaussians(mu):
    """Catches a wrong normalisation, a missing 1/2 or a log base: estimate vs exact integral."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 1, 200_000), rng.normal(mu, 1, 200_000)
    p, q = gan_theory.gaussian_pdf(0, 1), gan_theory.gaussian_pdf(mu, 1)
    exact = gan_theory.js_divergence(p, q, X)
    estimate = gan_theory.js_divergence_samples(x, y)
    assert abs(estimate - exact) < 2e-3 + 0.01 * exact


def test_sample_jsd_floor_of_one_distribution_is_small_and_positive():
    """Two samples of one density: the plug-in bias, about (bins - 1) / (8 n), not 0."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, 200_000), rng.normal(0, 1, 200_000)
    floor = gan_theory.js_divergence_samples(x, y, bins=200)
    assert 0 < floor < 4 * 199 / (8 * 200_000)
    assert gan_theory.js_divergence_samples(x, x + 100.0) == pytest.approx(np.log(2))


def test_alternating_game_circles_and_simultaneous_spirals_out():
    """Catches the alternating step using the old x (which is the simultaneous step)."""
    lr, steps = 0.1, 500
    alt = gan_theory.alternating_gradient_game(1.0, 0.0, lr, steps)
    sim = gan_theory.simultaneous_gradient_game(1.0, 0.0, lr, steps)
    conserved = alt[:, 0] ** 2 + alt[:, 1] ** 2 - lr * alt[:, 0] * alt[:, 1]
    np.testing.assert_allclose(conserved, 1.0, atol=1e-12)
    assert np.linalg.norm(sim[-1]) == pytest.approx((1 + lr**2) ** (steps / 2), rel=1e-9)
    step = np.array([[1, -lr], [lr, 1 - lr**2]])
    np.testing.assert_allclose(alt[1:], alt[:-1] @ step.T, atol=1e-12)


def test_dirac_gan_gradients_and_its_two_behaviours():
    """One step equals a finite-difference gradient step on L = -log 2 - softplus(psi theta);
    simultaneous steps escape the equilibrium, alternating ones stay near radius 1."""
    L = lambda th, ps: -np.log(2) - np.logaddexp(0.0, ps * th)
    th, ps, lr, h = 0.7, -0.3, 0.05, 1e-6
    d_th = (L(th + h, ps) - L(th - h, ps)) / (2 * h)
    d_ps = (L(th, ps + h) - L(th, ps - h)) / (2 * h)
    sim = gan_theory.dirac_gan(th, ps, lr, 1, alternating=False)
    np.testing.assert_allclose(sim[1], [th - lr * d_th, ps + lr * d_ps], atol=1e-8)
    far = gan_theory.dirac_gan(1.0, 0.0, 0.1, 2000, alternating=False)
    circ = gan_theory.dirac_gan(1.0, 0.0, 0.1, 2000, alternating=True)
    assert np.linalg.norm(far[-1]) > 2.0
    assert 0.9 < np.linalg.norm(circ, axis=1).min() and np.linalg.norm(circ, axis=1).max() < 1.1


def test_discriminator_only_step_learns_d_star():
    """D trained alone against p_g = N(0, 1) follows D* = p_r / (p_r + p_g) where there is mass
    (catches fake and real swapped, or the generator's samples not used)."""
    config = gan.GANConfig(data_dim=1, latent_dim=1, hidden=(32, 32), lr_d=3e-3)
    _, D, _, opt_D = gan.init(config, seed=0)
    step = gan.discriminator_only_step(lambda key, n: jax.random.normal(key, (n, 1)))
    train(step, (D, opt_D), data.gaussian_1d(2.0, 0.5).sample,
          TrainConfig(steps=1000, batch_size=256, progress=False))
    xs = np.linspace(-1.0, 3.0, 81)
    d = np.asarray(jax.nn.sigmoid(D(jnp.asarray(xs)[:, None])))
    d_star = gan_theory.optimal_discriminator(gan_theory.gaussian_pdf(2.0, 0.5),
                                              gan_theory.gaussian_pdf(0.0, 1.0))(xs)
    assert np.abs(d - d_star).mean() < 0.05


def test_generator_gradient_norm_saturates_only_for_minimax():
    """Against a D that rejects every sample (logit -8), the minimax gradient is e^-8 times
    smaller than the non-saturating one; an unknown loss is refused."""
    config = gan.GANConfig(data_dim=1, latent_dim=1, hidden=(8,))
    G, D, _, _ = gan.init(config, seed=0)
    slope = 2.0
    reject = lambda x: slope * x[:, 0] - 8.0  # a logit; G(z) sits near 0, so D(G(z)) ~ e^-8
    z = jax.random.normal(jax.random.key(0), (512, 1)) * 0.01
    mm = gan.generator_gradient_norm(G, reject, z, "minimax")
    ns = gan.generator_gradient_norm(G, reject, z, "non_saturating")
    assert mm / ns == pytest.approx(np.exp(-8.0), rel=0.05)
    with pytest.raises(ValueError, match="accepted"):
        gan.generator_gradient_norm(G, reject, z, "hinge")
