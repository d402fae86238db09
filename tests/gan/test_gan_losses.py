"""The GAN losses (course_lib.gan.losses) at values known by hand."""


import jax
import jax.numpy as jnp
import numpy as np

from course_lib import gan

LOG2 = np.log(2.0)
X = np.linspace(-12, 12, 48_001)


def test_losses_at_an_undecided_discriminator():
    zero = jnp.zeros(8)
    assert abs(float(gan.discriminator_loss(zero, zero)) - 2 * LOG2) < 1e-6
    assert abs(float(gan.generator_loss_minimax(zero)) + LOG2) < 1e-6
    assert abs(float(gan.generator_loss_non_saturating(zero)) - LOG2) < 1e-6
    assert abs(float(gan.value_function(zero, zero)) + 2 * LOG2) < 1e-6


def test_saturating_loss_gradient_vanishes_when_d_rejects_samples():
    """d/dl log(1 - sigmoid(l)) = -sigmoid(l) -> 0 as l -> -inf; -log sigmoid(l) -> -1."""
    logit = jnp.array([-10.0])
    g_mm = jax.grad(lambda l: gan.generator_loss_minimax(l))(logit)
    g_ns = jax.grad(lambda l: gan.generator_loss_non_saturating(l))(logit)
    assert abs(float(g_mm[0])) < 1e-4 and abs(float(g_ns[0]) + 1) < 1e-4


def test_gradient_penalty_of_linear_critics():
    key = jax.random.key(0)
    real, fake = jax.random.normal(key, (64, 3)), jax.random.normal(jax.random.key(1), (64, 3))
    for w_norm, expected in [(1.0, 0.0), (2.0, 1.0), (0.5, 0.25)]:
        w = w_norm * jnp.array([0.6, 0.8, 0.0])
        gp = gan.gradient_penalty(lambda x, w=w: x @ w, real, fake, key)
        assert abs(float(gp) - expected) < 1e-5
