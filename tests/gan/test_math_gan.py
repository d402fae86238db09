"""The GAN's gradient penalty and instance noise, pinned against independent computations.

The penalty E (||grad C(x_hat)|| - 1)^2 at x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1]
(Gulrajani et al. 2017) is checked on a non-linear critic, whose gradient changes along the
segment, against central finite differences: pointwise (x = G(z), where eps plays no part),
and in expectation over eps by quadrature (which fails if eps is drawn from N(0, 1)).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import course_lib.gan as gan
from course_lib import data
from course_lib.train import TrainConfig, train

W = jnp.array([[1.5, -0.5], [0.3, 2.0], [-1.0, 0.7]])  # 3 hidden "units" on 2D inputs


def critic(x):
    """A non-linear critic C(x) = sum_j sin(w_j . x) + 0.3 ||x||^2 (gradient varies with x)."""
    return jnp.sum(jnp.sin(x @ W.T), -1) + 0.3 * jnp.sum(x**2, -1)


def grad_norm_fd(x, h=1e-4):
    """||grad C(x)|| by central differences in float64 numpy (error O(h^2) ~ 1e-8)."""
    w = np.asarray(W, np.float64)
    c = lambda v: np.sum(np.sin(v @ w.T), -1) + 0.3 * np.sum(v**2, -1)
    g = np.stack([(c(x + h * e) - c(x - h * e)) / (2 * h) for e in np.eye(x.shape[-1])], -1)
    return np.linalg.norm(g, axis=-1)


def test_penalty_on_a_nonlinear_critic_where_data_and_samples_coincide():
    """real = fake: x_hat = x whatever eps is, so the penalty is the mean over the batch of
    (||grad C(x)|| - 1)^2, computed here by finite differences."""
    x = np.asarray(jax.random.normal(jax.random.key(0), (64, 2)), np.float64)
    gp = float(gan.gradient_penalty(critic, jnp.asarray(x, jnp.float32),
                                    jnp.asarray(x, jnp.float32), jax.random.key(1)))
    expected = np.mean((grad_norm_fd(x) - 1) ** 2)
    # float32 gradients of O(1) values: relative error ~1e-6; the norm's +1e-12 is negligible
    assert gp == pytest.approx(expected, rel=1e-4)


def test_penalty_interpolates_uniformly_between_data_and_samples():
    """Every pair is (r, f) = ((1, 0.5), (-1, -0.5)), so x_hat = (2 eps - 1) r: the penalty's
    mean is int_0^1 (||grad C((2e - 1) r)|| - 1)^2 de (Gauss-Legendre, 200 nodes, exact to
    1e-12 for this smooth integrand). Over n = 200k pairs its Monte-Carlo standard error is
    sd / sqrt(n) with sd from the same quadrature; 5 of them is the tolerance. eps ~ N(0, 1)
    instead puts x_hat outside the segment a third of the time and moves the mean by ~100 se."""
    r = np.array([1.0, 0.5])
    n = 200_000
    real = jnp.broadcast_to(jnp.asarray(r, jnp.float32), (n, 2))
    gp = float(gan.gradient_penalty(critic, real, -real, jax.random.key(2)))
    nodes, weights = np.polynomial.legendre.leggauss(200)
    e, w = (nodes + 1) / 2, weights / 2  # on [0, 1]
    f = (grad_norm_fd((2 * e - 1)[:, None] * r) - 1) ** 2
    mean, sd = w @ f, np.sqrt(w @ f**2 - (w @ f) ** 2)
    assert abs(gp - mean) < 5 * sd / np.sqrt(n), (gp, mean, sd / np.sqrt(n))


def test_penalty_of_images_uses_the_norm_over_all_pixels():
    """(n, 2, 2) inputs: eps per example broadcasts over the pixels, the norm runs over all."""
    x = jax.random.normal(jax.random.key(3), (16, 2, 2))
    lin = jnp.array([[0.6, 0.0], [0.0, 0.8]])  # ||grad|| = 1: zero penalty
    assert float(gan.gradient_penalty(lambda v: jnp.sum(v * lin, (1, 2)), x, -x,
                                      jax.random.key(4))) == pytest.approx(0.0, abs=1e-6)
    assert float(gan.gradient_penalty(lambda v: jnp.sum(v * 3 * lin, (1, 2)), x, -x,
                                      jax.random.key(4))) == pytest.approx(4.0, rel=1e-5)


# ------------------------------------------------------------------------ instance noise


def one_step(cfg, seed=7, steps_before=0):
    """The metrics of one train_step after ``steps_before`` generator steps have been
    counted (the networks themselves unchanged: only the step counter moves)."""
    G, D, opt_G, opt_D = gan.init(cfg, 0)
    opt_G.step[...] = jnp.asarray(steps_before, opt_G.step[...].dtype)
    batch = gan.batches(data.get("ring"), cfg)(jax.random.key(11), 64)
    metrics = gan.train_step(G, D, opt_G, opt_D, batch, jax.random.key(seed))
    return {k: float(v) for k, v in metrics.items()}


def test_instance_noise_reaches_the_discriminator_and_vanishes_after_annealing():
    """With noise std 3 on a ring of radius 1, D's loss on the first step differs from the
    noiseless one; once annealed (step >= noise_anneal_steps) the step is the noiseless one
    bit for bit (the noise is drawn but multiplied by 0)."""
    base = dict(data_dim=2, hidden=(16,), lr_g=1e-3, lr_d=1e-3)
    plain = one_step(gan.GANConfig(**base))
    noisy_cfg = gan.GANConfig(**base, instance_noise=3.0, noise_anneal_steps=100)
    noisy = one_step(noisy_cfg)
    assert abs(noisy["d_loss"] - plain["d_loss"]) > 1e-2
    assert abs(noisy["g_loss"] - plain["g_loss"]) > 1e-3  # G's objective sees the noise too
    # after the annealing the std stays 0 (a negative std would be noise again, of flipped sign)
    assert [float(gan.instance_noise_std(noisy_cfg, t)) for t in (100, 150, 10_000)] == [0.0] * 3
    annealed = one_step(noisy_cfg, steps_before=100)
    assert annealed == one_step(gan.GANConfig(**base), steps_before=100)
    # half-way, the std is 1.5: the loss differs from both ends
    half = one_step(noisy_cfg, steps_before=50)
    assert half["d_loss"] != pytest.approx(noisy["d_loss"], abs=1e-3)
    assert half["d_loss"] != pytest.approx(plain["d_loss"], abs=1e-3)


def test_instance_noise_blurs_what_the_discriminator_learns():
    """D trained 300 steps against a generator frozen at its initial blob (lr_g = 0): without
    noise it separates the ring from the blob; with strong noise (std 2) on both inputs the
    two overlap and D's outputs stay near each other: the noise really reaches D's training."""
    gaps = {}
    for noise in (0.0, 2.0):
        cfg = gan.GANConfig(data_dim=2, hidden=(32, 32), lr_g=0.0, lr_d=3e-3,
                            instance_noise=noise, noise_anneal_steps=10_000 if noise else 0)
        objects = gan.init(cfg, 0)
        h = train(gan.train_step, objects, gan.batches(data.get("ring"), cfg),
                  TrainConfig(steps=300, batch_size=128, progress=False))
        gaps[noise] = float(np.mean(h["d_real"][-50:] - h["d_fake"][-50:]))
    # without noise D separates the ring from G's initial blob almost perfectly (gap near 1);
    # with std 2 the blurred distributions overlap and the gap is far smaller
    assert gaps[0.0] > 0.5 and gaps[2.0] < 0.5 * gaps[0.0], gaps


# ------------------------------------------------------------------------ the losses


def test_losses_against_their_definitions_at_decided_logits():
    """At logits other than 0 (where D = 1/2 hides a sign error: softplus(l) = softplus(-l)
    only there): V = E log D(x) + E log(1 - D(G(z))) with D = sigmoid, written in float64."""
    real, fake = jnp.array([2.0, -0.5, 1.0]), jnp.array([-1.5, 0.3])
    sig = lambda v: 1 / (1 + np.exp(-np.asarray(v, np.float64)))
    V = np.mean(np.log(sig(real))) + np.mean(np.log(1 - sig(fake)))
    assert float(gan.value_function(real, fake)) == pytest.approx(V, rel=1e-6)
    assert float(gan.discriminator_loss(real, fake)) == pytest.approx(-V, rel=1e-6)
    assert float(gan.generator_loss_minimax(fake)) == pytest.approx(
        np.mean(np.log(1 - sig(fake))), rel=1e-6)
    assert float(gan.generator_loss_non_saturating(fake)) == pytest.approx(
        -np.mean(np.log(sig(fake))), rel=1e-6)
    # the critic maximises E C(x) - E C(G(z)); its loss is the negative
    assert float(gan.critic_loss_wasserstein(real, fake)) == pytest.approx(
        np.mean(np.asarray(fake)) - np.mean(np.asarray(real)), rel=1e-6)
