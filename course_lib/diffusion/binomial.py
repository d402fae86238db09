"""Binomial diffusion on binary data (Sohl-Dickstein et al. 2015): each bit keeps its value
with probability 1 - beta_t and is otherwise redrawn from Bernoulli(p_T).

The forward process, its posterior, the reverse kernel and the ELBO are written here once;
a model is this class with its own denoiser (:meth:`BinomialDiffusion.x0_logit`) and its
data's coding as bits (:mod:`course_lib.diffusion.lattice`: spins, a periodic conv net)."""

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


def _per_example(t, x):
    """(n,) -> (n, 1, ..., 1), broadcasting one value per example over x's other axes."""
    return t.reshape(t.shape + (1,) * (x.ndim - 1))


class BinomialDiffusion(nnx.Module):
    """q(x_t = 1 | x_{t-1}) = x_{t-1} (1 - beta_t) + p_T beta_t, so that
    q(x_t = 1 | x_0) = abar_t x_0 + (1 - abar_t) p_T with abar_t = prod (1 - beta_s)
    = 1 - t/T for beta_t = 1/(T - t + 1); at t = T the data are forgotten exactly.
    The reverse kernel p(x_{t-1} = 1 | x_t) = sum_{x_0} q(x_{t-1} = 1 | x_t, x_0) pi(x_0 | x_t)
    per bit, pi from the denoiser; examples of any shape (n, ...), ``condition`` (n,) for a
    denoiser that takes one (None otherwise)."""

    def __init__(self, config: BinomialConfig, *, rngs: nnx.Rngs):
        self.config = config
        self.net = nets.TimeMLP(config.data_dim, config.hidden, config.data_dim,
                                act="sigmoid", rngs=rngs)

    @property
    def p_T(self) -> float:
        return self.config.p_T

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one example."""
        return (self.config.data_dim,)

    def to_bits(self, x):
        """The data's coding -> bits in {0, 1} (binary data are bits already)."""
        return x

    def from_bits(self, bits):
        return bits

    def abar(self, t):
        return 1.0 - t / self.config.T

    def q_prob(self, x0, t):
        """q(x_t = 1 | x_0)."""
        ab = _per_example(self.abar(t), x0)
        return ab * x0 + (1 - ab) * self.p_T

    def posterior_prob(self, x_t, x0, t):
        """q(x_{t-1} = 1 | x_t, x_0) by Bayes' rule: q(x_t | x_{t-1}) q(x_{t-1} | x_0) / norm."""
        beta = _per_example(1.0 / (self.config.T - t + 1), x_t)
        prev = self.q_prob(x0, t - 1)  # q(x_{t-1} = 1 | x_0)
        # q(x_t | x_{t-1} = 1): a 1 stays unless redrawn as a 0, with probability beta (1 - p_T)
        lik1 = jnp.where(x_t == 1, 1 - beta * (1 - self.p_T), beta * (1 - self.p_T))
        lik0 = jnp.where(x_t == 1, beta * self.p_T, 1 - beta * self.p_T)  # x_{t-1} = 0
        return prev * lik1 / (prev * lik1 + (1 - prev) * lik0)

    def x0_logit(self, x_t, t, condition=None):
        """The denoiser: logit P(x_0 = 1 | x_t) for every bit (x_t given as +-1)."""
        return self.net(2 * x_t - 1, t / self.config.T)

    def x0_prob(self, x_t, t, condition=None):
        """The network's belief pi = P(x_0 = 1 | x_t) for every bit."""
        return jax.nn.sigmoid(self.x0_logit(x_t, t, condition))

    def p_prob(self, x_t, t, condition=None):
        """p(x_{t-1} = 1 | x_t) = sum_{x_0} q(x_{t-1} = 1 | x_t, x_0) pi(x_0 | x_t).

        Predicting x_0 and reusing the exact posterior builds in what every reverse step
        mostly does (copy x_t), so the network only learns what the data look like."""
        pi = self.x0_prob(x_t, t, condition)
        return (pi * self.posterior_prob(x_t, jnp.ones_like(x_t), t)
                + (1 - pi) * self.posterior_prob(x_t, jnp.zeros_like(x_t), t))

    def elbo_terms(self, x, key, condition=None) -> ELBOTerms:
        """Negative ELBO terms per example in nats (Sohl-Dickstein et al. 2015 eq. 14):
        (T - 1) KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)) at one t in 2..T, the
        reconstruction -log p(x_0 | x_1), and the prior KL, exactly 0 here."""
        x0 = self.to_bits(x)
        n, T = x0.shape[0], self.config.T
        axes = tuple(range(1, x0.ndim))
        k_t, k_x, k_1 = jax.random.split(key, 3)
        t = jax.random.randint(k_t, (n,), 2, T + 1).astype(jnp.float32)
        x_t = jax.random.bernoulli(k_x, self.q_prob(x0, t)).astype(jnp.float32)
        q1 = jnp.clip(self.posterior_prob(x_t, x0, t), 1e-7, 1 - 1e-7)
        p1 = jnp.clip(self.p_prob(x_t, t, condition), 1e-7, 1 - 1e-7)
        kl = q1 * (jnp.log(q1) - jnp.log(p1)) + (1 - q1) * (jnp.log1p(-q1) - jnp.log1p(-p1))
        diffusion = (T - 1) * kl.sum(axes)
        ones = jnp.ones(n)
        x_1 = jax.random.bernoulli(k_1, self.q_prob(x0, ones)).astype(jnp.float32)
        logit = self.x0_logit(x_1, ones, condition)  # of p(x_0 = 1 | x_1); -log sigmoid(+-logit):
        reconstruction = jnp.sum(jnp.logaddexp(0.0, -jnp.where(x0 == 1, logit, -logit)), axes)
        return ELBOTerms(reconstruction=reconstruction, prior=jnp.zeros(n), diffusion=diffusion)

    def sample(self, key, n, condition=None):
        """n examples: T reverse steps from Bernoulli(p_T), at one ``condition`` if given."""
        k_T, key = jax.random.split(key)
        x = jax.random.bernoulli(k_T, self.p_T, (n, *self.shape)).astype(jnp.float32)
        if condition is not None:
            condition = jnp.broadcast_to(jnp.asarray(condition, jnp.float32), (n,))

        def step(x, t):
            tt = jnp.full((n,), t, jnp.float32)
            p = jnp.where(t > 1, self.p_prob(x, tt, condition), self.x0_prob(x, tt, condition))
            return jax.random.bernoulli(jax.random.fold_in(key, t), p).astype(jnp.float32), None

        x, _ = jax.lax.scan(step, x, jnp.arange(self.config.T, 0, -1))
        return self.from_bits(x)


binomial_train_step = elbo_train_step  # so does binomial diffusion (Sohl-Dickstein et al.)
