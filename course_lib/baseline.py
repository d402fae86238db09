"""The simplest model of all: a diagonal Gaussian fitted by maximum likelihood, the baseline
every likelihood in the course is compared against."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from course_lib.config import setting
from course_lib.gaussian import normal_log_prob


@dataclass(frozen=True)
class GaussianConfig:
    """p(x) = prod_i N(x_i; mu_i, sigma_i^2) on vectors; the optimizer is Adam(lr)."""

    data_dim: int = setting(help="numbers per example", from_data=True)
    lr: float = setting(1e-2, "Adam learning rate")


class DiagonalGaussian(nnx.Module):
    """p(x) = prod_i N(x_i; mu_i, sigma_i^2), sigma = exp(log_sigma)."""

    def __init__(self, config: GaussianConfig):
        self.config = config
        self.mu = nnx.Param(jnp.zeros(config.data_dim))
        self.log_sigma = nnx.Param(jnp.zeros(config.data_dim))

    def log_prob(self, x: jax.Array) -> jax.Array:
        """log p(x) in nats, one value per example."""
        x = x.reshape(x.shape[0], -1)
        return normal_log_prob(x, self.mu[...], jnp.exp(2 * self.log_sigma[...])).sum(1)

    def sample(self, key, n: int) -> jax.Array:
        eps = jax.random.normal(key, (n, self.config.data_dim))
        return self.mu[...] + jnp.exp(self.log_sigma[...]) * eps


def init(config: GaussianConfig, seed: int = 0):
    """(model, optimizer); the model starts at N(0, I) whatever the seed."""
    model = DiagonalGaussian(config)
    return model, nnx.Optimizer(model, optax.adam(config.lr), wrt=nnx.Param)


def train_step(model, optimizer, x, key):
    """One Adam step on the negative log-likelihood of the batch."""
    loss, grads = nnx.value_and_grad(lambda m: -m.log_prob(x).mean())(model)
    optimizer.update(model, grads)
    return {"loss": loss}
