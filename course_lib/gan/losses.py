"""Generative adversarial networks: the losses of the lecture, one training step for all of them,
and the conditional and semi-supervised variants.

Notation follows the notebooks: the discriminator D(x) = sigmoid(d(x)) with logit d, the
generator G(z), data x ~ p_r, samples G(z) ~ p_g. The value function (Goodfellow et al. 2014)

    V(G, D) = E_{x~p_r} log D(x) + E_{z~p_z} log(1 - D(G(z)))

is maximised by D and minimised by G. Written with logits, log D = -softplus(-d) and
log(1 - D) = -softplus(d), which stays finite when D saturates.

The losses, with the logits of D (or the scores of a WGAN critic) as inputs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def value_function(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """V(G, D) = E log D(x) + E log(1 - D(G(z))), estimated on a batch (Goodfellow Eq. 1)."""
    return -jnp.mean(jax.nn.softplus(-real_logits)) - jnp.mean(jax.nn.softplus(fake_logits))


def discriminator_loss(real_logits, fake_logits):
    """-V(G, D): binary cross-entropy with labels 1 for data and 0 for samples."""
    return -value_function(real_logits, fake_logits)


def generator_loss_minimax(fake_logits):
    """E log(1 - D(G(z))): the generator's part of V, minimised as the game states.

    Its gradient vanishes when D confidently rejects the samples (D(G(z)) -> 0).
    """
    return -jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss_non_saturating(fake_logits):
    """-E log D(G(z)): the same fixed point, with strong gradients when D(G(z)) is small."""
    return jnp.mean(jax.nn.softplus(-fake_logits))


def critic_loss_wasserstein(real_scores, fake_scores):
    """-(E C(x) - E C(G(z))): the critic maximises the Kantorovich-Rubinstein dual of W1."""
    return jnp.mean(fake_scores) - jnp.mean(real_scores)


def gradient_penalty(critic, real, fake, key):
    """E (||grad C(x_hat)|| - 1)^2 at x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1]
    (Gulrajani et al. 2017). eps is uniform: drawing it from N(0, 1) is a known bug."""
    eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1))
    x_hat = eps * real + (1 - eps) * fake
    grads = jax.grad(lambda x: critic(x).sum())(x_hat)
    norms = jnp.sqrt(jnp.sum(grads.reshape(len(grads), -1) ** 2, axis=1) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)
