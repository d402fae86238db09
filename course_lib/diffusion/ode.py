"""Exact log-likelihoods through an ODE: the probability flow of a diffusion model, or the
learned flow of flow matching.

A flow dx/dt = v(x, t) carries a density p_t with (the instantaneous change of variables,
Chen et al. 2018; Song et al. 2021, "Score-based generative modeling through SDEs", sec. 4.3
and appendix D, eq. 39)

    d log p_t(x(t)) / dt = -div v(x(t), t),   so   log p_0(x) = log p_1(x(1)) + int_0^1 div v dt.

:func:`log_likelihood` integrates x and the divergence together from the data (t0) to the
prior (t1) with fixed-step RK4 in one ``lax.scan``. The divergence is the exact trace of the
Jacobian (``jax.jacfwd``: d forward passes per example, fine in low dimensions; beyond, a
Hutchinson estimate would replace it). For a variance-preserving diffusion the flow with the
same marginals as the SDE is v = f - g^2 / 2 score (Song et al. eq. 13): :func:`vp_velocity`;
for a trained VDM, ``log_likelihood(vdm_velocity(model), x)`` is the log-density of z_0 (the
data with sigma_0 noise; the prior N(0, I) stands for the marginal at t = 1), beside its ELBO.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from course_lib.normal import normal_log_prob

Velocity = Callable[[jax.Array, jax.Array], jax.Array]  # v(x (n, d), t scalar) -> (n, d)


def standard_normal_log_prob(x: jax.Array) -> jax.Array:
    return normal_log_prob(x, 0.0, 1.0).sum(-1)


def value_and_divergence(velocity: Velocity, x: jax.Array, t) -> tuple[jax.Array, jax.Array]:
    """v(x, t) (n, d) and div v = tr dv/dx per example (n,), exactly. The rows are independent,
    so one forward-mode pass with the tangent e_i on every row gives column i of each row's
    Jacobian; the d passes share the forward pass that gives v itself."""
    def column(e):
        return jax.jvp(lambda y: velocity(y, t), (x,), (jnp.broadcast_to(e, x.shape),))
    v, columns = jax.vmap(column, out_axes=(None, 0))(jnp.eye(x.shape[-1], dtype=x.dtype))
    return v, jnp.einsum("ini->n", columns)  # column i's i-th entry, summed: the trace


def integrate(velocity: Velocity, x: jax.Array, t0: float, t1: float, steps: int,
              with_divergence: bool = False):
    """x(t1) from x(t0) = x by RK4 in ``steps`` equal steps (t1 < t0 runs backwards); with
    ``with_divergence`` also int_{t0}^{t1} div v(x(t), t) dt per example."""
    h = (t1 - t0) / steps

    def field(state, t):
        y, _ = state
        if with_divergence:
            return value_and_divergence(velocity, y, t)
        return velocity(y, t), jnp.zeros(len(y))

    def step(state, i):
        t = t0 + i * h
        k1 = field(state, t)
        k2 = field(jax.tree.map(lambda s, k: s + h / 2 * k, state, k1), t + h / 2)
        k3 = field(jax.tree.map(lambda s, k: s + h / 2 * k, state, k2), t + h / 2)
        k4 = field(jax.tree.map(lambda s, k: s + h * k, state, k3), t + h)
        return jax.tree.map(lambda s, a, b, c, d: s + h / 6 * (a + 2 * b + 2 * c + d),
                            state, k1, k2, k3, k4), None

    (y, div), _ = jax.lax.scan(step, (x, jnp.zeros(len(x))), jnp.arange(steps))
    return (y, div) if with_divergence else y


def log_likelihood(velocity: Velocity, x: jax.Array, *, t0: float = 0.0, t1: float = 1.0,
                   steps: int = 64, prior_log_prob=standard_normal_log_prob) -> jax.Array:
    """log p_{t0}(x) in nats per example: x carried by the flow to t1, where its density is
    ``prior_log_prob``, plus the integrated divergence (eq. 39 of Song et al. 2021)."""
    x = jnp.asarray(x, jnp.float32).reshape(len(x), -1)
    y, div = integrate(velocity, x, t0, t1, steps, with_divergence=True)
    return prior_log_prob(y) + div


def vp_velocity(score: Velocity, beta: Callable[[jax.Array], jax.Array]) -> Velocity:
    """The probability flow of the variance-preserving SDE dx = -beta/2 x dt + sqrt(beta) dW:
    v(x, t) = -beta(t) / 2 (x + score(x, t)) (f - g^2 / 2 score, f = -beta x / 2, g^2 = beta)."""

    def velocity(x, t):
        return -0.5 * beta(t) * (x + score(x, t))

    return velocity


def eps_velocity(gamma: Callable[[jax.Array], jax.Array],
                 eps_hat: Callable[[jax.Array, jax.Array], jax.Array]) -> Velocity:
    """The probability flow of a VP diffusion given by its schedule gamma(t) = -log SNR and its
    noise prediction eps_hat(z, gamma): alpha_t^2 = sigmoid(-gamma), the VP rate is
    beta = -d log alpha^2 / dt = sigma_t^2 gamma'(t), and the score is -eps_hat / sigma_t
    (Kingma et al. 2021, with Song et al. 2021 eq. 13)."""

    def velocity(x, t):
        g, g_dot = jax.value_and_grad(gamma)(jnp.asarray(t, jnp.float32))
        sigma = jnp.sqrt(jax.nn.sigmoid(g))
        eps = eps_hat(x, jnp.full((len(x),), g))
        return -0.5 * jax.nn.sigmoid(g) * g_dot * (x - eps / sigma)

    return velocity


def vdm_velocity(model) -> Velocity:
    """VDM's probability flow: its own gamma(t) and eps_hat (:func:`eps_velocity`)."""
    return eps_velocity(model.gamma, model.eps_hat)


def ddpm_velocity(model, gamma_0: float = -13.3) -> Velocity:
    """A discrete DDPM's probability flow, read in continuous time: gamma linear in t from
    ``gamma_0`` (the default is VDM's gamma_min, sigma_0 ~ 1e-3; a DDPM's first step, at
    sigma_1 = sqrt(beta_1), is too noisy to stand for the data) to its last step's
    ``model.gamma_T()``, and ``model.eps_hat(z, g)`` its network at that noise level. The
    time change is free (the flow's marginals do not depend on how fast gamma is swept); linear
    gamma keeps the velocity smooth where sigma -> 0, so RK4 converges."""
    g_T = model.gamma_T()
    return eps_velocity(lambda t: gamma_0 + t * (g_T - gamma_0), model.eps_hat)


def bits_per_example(velocity_of: Callable[[object], Velocity], model, x, *, steps: int = 64,
                     batch: int = 1000) -> np.ndarray:
    """-log2 p(x) per example through the flow ``velocity_of(model)`` (e.g. ``vdm_velocity``),
    compiled once, ``batch`` rows at a time."""
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    graphdef, state = nnx.split(model)
    nll = jax.jit(lambda s, xb: -log_likelihood(velocity_of(nnx.merge(graphdef, s)), xb,
                                                steps=steps) / np.log(2))
    return np.concatenate([np.asarray(nll(state, x[i:i + batch]), np.float64)
                           for i in range(0, len(x), batch)])
