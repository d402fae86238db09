"""Binomial diffusion on binary data (Sohl-Dickstein et al. 2015): each bit keeps its value
with probability 1 - beta_t and is otherwise redrawn from Bernoulli(p_T)."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import nnx

from course_lib import nets
from course_lib.config import setting
from course_lib.diffusion.elbo import ELBOTerms, elbo_train_step


@dataclass(frozen=True)
class BinomialConfig:
    """Sohl-Dickstein et al. (2015), binary heartbeat: T = 2000, beta_t = 1/(T - t + 1),
    diffusing towards independent Bernoulli(p_T); an MLP with sigmoid hidden units. The
    optimizer is Adam(lr) (:mod:`course_lib.diffusion.family`)."""

    data_dim: int = setting(20, "bits per example", from_data=True)
    T: int = setting(2000, "diffusion steps")
    p_T: float = setting(0.2, "the bits' probability of being 1 at t = T")
    hidden: tuple[int, ...] = setting((50, 50, 50), "hidden units per layer (sigmoid)")
    lr: float = setting(1e-3, "Adam learning rate")

    def __post_init__(self):
        if isinstance(self.T, int | float) and self.T < 2:  # a wrong type: config.check
            raise ValueError(f"T must be an integer >= 2 (with T = 1 the single step forgets "
                             f"the data outright and the loss is undefined), got {self.T!r}")


class BinomialDiffusion(nnx.Module):
    """q(x_t = 1 | x_{t-1}) = x_{t-1} (1 - beta_t) + p_T beta_t, so that
    q(x_t = 1 | x_0) = abar_t x_0 + (1 - abar_t) p_T with abar_t = prod (1 - beta_s)
    = 1 - t/T for beta_t = 1/(T - t + 1); at t = T the data are forgotten exactly.
    The reverse kernel p(x_{t-1} = 1 | x_t) = sigmoid(f(x_t, t)) per bit."""

    def __init__(self, config: BinomialConfig, *, rngs: nnx.Rngs):
        self.config = config
        self.net = nets.TimeMLP(config.data_dim, config.hidden, config.data_dim,
                                act="sigmoid", rngs=rngs)

    def abar(self, t):
        return 1.0 - t / self.config.T

    def q_prob(self, x0, t):
        """q(x_t = 1 | x_0)."""
        ab = self.abar(t)[:, None]
        return ab * x0 + (1 - ab) * self.config.p_T

    def posterior_prob(self, x_t, x0, t):
        """q(x_{t-1} = 1 | x_t, x_0) by Bayes' rule."""
        beta = (1.0 / (self.config.T - t + 1))[:, None]
        prev = self.q_prob(x0, t - 1)  # q(x_{t-1} = 1 | x_0)
        lik1 = jnp.where(x_t == 1, 1 - beta + beta * self.config.p_T, beta * (1 - self.config.p_T))
        lik0 = jnp.where(x_t == 1, beta * self.config.p_T, 1 - beta * self.config.p_T)
        return prev * lik1 / (prev * lik1 + (1 - prev) * lik0)

    def x0_prob(self, x_t, t):
        """The network's belief pi = P(x_0 = 1 | x_t) for every bit."""
        return jax.nn.sigmoid(self.net(2 * x_t - 1, t / self.config.T))

    def p_prob(self, x_t, t):
        """p(x_{t-1} = 1 | x_t) = sum_{x_0} q(x_{t-1} = 1 | x_t, x_0) pi(x_0 | x_t).

        Predicting x_0 and reusing the exact posterior builds in what every reverse step
        mostly does (copy x_t), so the network only learns what the data look like."""
        pi = self.x0_prob(x_t, t)
        return (pi * self.posterior_prob(x_t, jnp.ones_like(x_t), t)
                + (1 - pi) * self.posterior_prob(x_t, jnp.zeros_like(x_t), t))

    def elbo_terms(self, x0, key) -> ELBOTerms:
        """Negative ELBO terms per example in nats; the prior term is exactly 0 here."""
        n, T = x0.shape[0], self.config.T
        k_t, k_x, k_1 = jax.random.split(key, 3)
        t = jax.random.randint(k_t, (n,), 2, T + 1).astype(jnp.float32)
        x_t = jax.random.bernoulli(k_x, self.q_prob(x0, t)).astype(jnp.float32)
        q1 = jnp.clip(self.posterior_prob(x_t, x0, t), 1e-7, 1 - 1e-7)
        p1 = jnp.clip(self.p_prob(x_t, t), 1e-7, 1 - 1e-7)
        kl = q1 * (jnp.log(q1) - jnp.log(p1)) + (1 - q1) * (jnp.log1p(-q1) - jnp.log1p(-p1))
        diffusion = (T - 1) * kl.sum(-1)
        ones = jnp.ones(n)
        x_1 = jax.random.bernoulli(k_1, self.q_prob(x0, ones)).astype(jnp.float32)
        pi = jnp.clip(self.x0_prob(x_1, ones), 1e-7, 1 - 1e-7)  # p(x_0 = 1 | x_1)
        reconstruction = -jnp.sum(x0 * jnp.log(pi) + (1 - x0) * jnp.log1p(-pi), -1)
        return ELBOTerms(reconstruction=reconstruction, prior=jnp.zeros(n), diffusion=diffusion)

    def sample(self, key, n):
        k_T, key = jax.random.split(key)
        x = jax.random.bernoulli(k_T, self.config.p_T, (n, self.config.data_dim)).astype(
            jnp.float32)

        def step(x, t):
            tt = jnp.full((n,), t, jnp.float32)
            p = jnp.where(t > 1, self.p_prob(x, tt), self.x0_prob(x, tt))
            return jax.random.bernoulli(jax.random.fold_in(key, t), p).astype(jnp.float32), None

        x, _ = jax.lax.scan(step, x, jnp.arange(self.config.T, 0, -1))
        return x


binomial_train_step = elbo_train_step  # so does binomial diffusion (Sohl-Dickstein et al.)
