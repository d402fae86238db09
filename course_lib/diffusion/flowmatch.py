"""Flow matching (Lipman et al. 2023, ICLR) on the straight path of rectified flow (Liu et
al. 2023): a whole model family in one file.

The path from data x_0 to noise eps ~ N(0, I) is x_t = (1 - t) x_0 + t eps, t in [0, 1], whose
velocity is dx_t/dt = eps - x_0. A network v(x_t, t) regressed on it,

    L = E_{t ~ U(0, 1), x_0, eps} || v(x_t, t) - (eps - x_0) ||^2,

learns the conditional mean E[eps - x_0 | x_t], the velocity field whose flow carries the data
distribution to N(0, I) with the path's marginals (Lipman et al., Theorem 1). Sampling runs
that ODE backwards from noise; the log-likelihood runs it forwards with the exact divergence
(:mod:`course_lib.diffusion.ode`): an exact density, not a bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from course_lib import metrics, nets
from course_lib.config import setting
from course_lib.diffusion import ode
from course_lib.family import Family, Recipe, dim, examples, initializer


@dataclass(frozen=True)
class FlowMatchingConfig:
    """A velocity MLP on [x, Fourier features of t]; the optimizer is Adam(lr)."""

    data_dim: int = setting(help="numbers per example", from_data=True)
    hidden: tuple[int, ...] = setting((256, 256, 256), "hidden units per layer")
    lr: float = setting(1e-3, "Adam learning rate")
    ode_steps: int = setting(64, "RK4 steps of the ODE, for sampling and the likelihood")


class FlowMatching(nnx.Module):
    def __init__(self, config: FlowMatchingConfig, *, rngs: nnx.Rngs):
        self.config = config
        self.net = nets.TimeMLP(config.data_dim, config.hidden, config.data_dim, rngs=rngs)

    def velocity(self, x, t):
        """v(x, t), t a scalar or one per example."""
        return self.net(x, jnp.broadcast_to(jnp.asarray(t, jnp.float32), x.shape[:1]))

    def loss(self, x0, key):
        """The flow-matching loss per example, ||v(x_t, t) - (eps - x_0)||^2."""
        x0 = x0.reshape(len(x0), -1)
        k_t, k_eps = jax.random.split(key)
        t = jax.random.uniform(k_t, (len(x0),))
        eps = jax.random.normal(k_eps, x0.shape)
        x_t = (1 - t[:, None]) * x0 + t[:, None] * eps
        return jnp.sum((self.velocity(x_t, t) - (eps - x0)) ** 2, -1)

    def sample(self, key, n: int):
        """n samples: noise at t = 1 carried back to t = 0 along the learned flow."""
        eps = jax.random.normal(key, (n, self.config.data_dim))
        return ode.integrate(self.velocity, eps, 1.0, 0.0, self.config.ode_steps)

    def log_prob(self, x):
        """log p(x) in nats per example, exact up to the ODE solver's error."""
        return ode.log_likelihood(self.velocity, x, steps=self.config.ode_steps)


init = initializer(FlowMatching)


def train_step(model, optimizer, x0, key):
    loss, grads = nnx.value_and_grad(lambda m: m.loss(x0, key).mean())(model)
    optimizer.update(model, grads)
    return {"loss": loss}


def bits_per_example(model, x, batch: int = 500) -> np.ndarray:
    """-log2 p(x) per example through the ODE, compiled once, ``batch`` rows at a time."""
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    graphdef, state = nnx.split(model)
    nll = jax.jit(lambda s, xb: -nnx.merge(graphdef, s).log_prob(xb) / metrics.LOG2)
    return np.concatenate([np.asarray(nll(state, x[i:i + batch]), np.float64)
                           for i in range(0, len(x), batch)])


def evaluate(objects, dataset, key):
    """Held-out bits per example (exact, through the ODE) with the error bar over examples."""
    bits = bits_per_example(objects[0], examples(dataset, key, 2000)[:2000])
    stderr = float(bits.std(ddof=1) / np.sqrt(len(bits)))
    d = bits.size // len(bits) if len(bits) else 1
    return {"bits_per_example": float(bits.mean()), "stderr_bits_per_example": stderr,
            "bits_per_dim": float(bits.mean()) / d, "stderr_bits_per_dim": stderr / d,
            "n": int(len(bits)), "_per_example": bits}


def scorer(objects, held_out, seed):
    """Held-out bits per example through the ODE on up to 500 rows (deterministic)."""
    x = jnp.asarray(held_out.reshape(len(held_out), -1)[:500], jnp.float32)
    graphdef, _ = nnx.split(objects[0])
    bits = jax.jit(lambda s: -nnx.merge(graphdef, s).log_prob(x).mean() / metrics.LOG2)
    return (lambda objs: float(bits(nnx.state(objs[0])))), "bits_per_example"


_WEEK17 = "notebooks/week17_diffusion.py, 'Flow matching'"
FLOW_MATCHING = Family(
    name="flowmatch", description="flow matching on the straight path (Lipman et al. 2023, "
                                  "rectified flow); exact likelihood through the ODE",
    config=FlowMatchingConfig, init=init, train_step=train_step,
    sample=lambda objects, key, n: objects[0].sample(key, n), evaluate=evaluate,
    scorer=scorer, log_likelihood=lambda model, x, key: model.log_prob(x),
    from_data=lambda dataset: {"data_dim": dim(dataset)},
    recipes={"moons": Recipe({"hidden": (128, 128, 128)}, {"steps": 4000, "batch_size": 256},
                             f"{_WEEK17} on the moons"),
             "swiss_roll": Recipe({"hidden": (128, 128, 128)}, {"steps": 8000,
                                                                 "batch_size": 256},
                                  f"{_WEEK17} on the swiss roll")})
