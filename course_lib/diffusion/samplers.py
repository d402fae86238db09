"""Samplers beyond the ancestral chain, for any denoiser x0_hat(x_t, t) on a discrete schedule.

Every sampler here takes ``predict_x0(x_t, t) -> x0_hat`` (t an integer array, 1..T) and the
schedule ``alpha_bar`` (alpha_bar_t for t = 1..T), so it runs on a trained :class:`DDPM`
(``model.predict_x0``, ``model.alpha_bar[...]``) or on an exact denoiser (the tests use
Gaussian data, where E[x_0 | x_t] is known in closed form). Each runs inside one ``lax.scan``.

- :func:`ddim_sample`: DDIM (Song, Meng and Ermon 2021), deterministic (eta = 0) on a grid of
  ``steps`` times, far fewer than T;
- :func:`score`: the score from the denoiser by Tweedie's formula,
  sqrt(alpha_bar_t) E[x_0 | x_t] = x_t + (1 - alpha_bar_t) grad log p_t(x_t);
- :func:`langevin_step` and :func:`pc_sample`: annealed Langevin dynamics and the
  predictor-corrector sampler of Song et al. (2021);
- :func:`inpaint`: Sohl-Dickstein et al.'s (2015) multiplying distributions with a delta
  function on the observed coordinates: every reverse step re-imposes them, noised to x_t.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

Denoiser = Callable[[jax.Array, jax.Array], jax.Array]


def time_grid(T: int, steps: int) -> jax.Array:
    """``steps`` integer times from T down to 1, evenly spaced (the DDIM sub-sequence tau)."""
    if not 1 <= steps <= T:
        raise ValueError(f"steps must lie in 1..T = {T}, got {steps}")
    return jnp.round(jnp.linspace(T, 1, steps)).astype(jnp.int32)


def _alpha_bar_at(alpha_bar, t):
    """alpha_bar_t for t in 0..T (alpha_bar_0 = 1)."""
    return jnp.concatenate([jnp.ones(1), jnp.asarray(alpha_bar)])[t]


def score(predict_x0: Denoiser, alpha_bar, x, t):
    """grad log p_t(x) from the denoiser by Tweedie's formula (Luo Eq. 133, read with
    E[x_0 | x_t] on the left): (sqrt(alpha_bar_t) x0_hat - x_t) / (1 - alpha_bar_t)."""
    ab = _alpha_bar_at(alpha_bar, t)
    return (jnp.sqrt(ab) * predict_x0(x, jnp.full(x.shape[:1], t)) - x) / (1 - ab)


def ddim_sample(predict_x0: Denoiser, alpha_bar, x_T, steps: int):
    """DDIM with eta = 0: from x_T through ``steps`` times t_k > t_{k+1} (Song et al. 2021,
    Eq. 12): x_s = sqrt(alpha_bar_s) x0_hat + sqrt(1 - alpha_bar_s) eps_hat, where eps_hat
    is the noise that x0_hat implies, eps_hat = (x_t - sqrt(alpha_bar_t) x0_hat) /
    sqrt(1 - alpha_bar_t). Deterministic: the sample is a function of x_T (the probability
    flow ODE, discretised); the last step (to s = 0) returns x0_hat itself."""
    ts = time_grid(len(alpha_bar), steps)
    t_next = jnp.concatenate([ts[1:], jnp.zeros(1, jnp.int32)])

    def step(x, ts_):
        t, s = ts_
        ab_t, ab_s = _alpha_bar_at(alpha_bar, t), _alpha_bar_at(alpha_bar, s)
        x0_hat = predict_x0(x, jnp.full(x.shape[:1], t))
        eps_hat = (x - jnp.sqrt(ab_t) * x0_hat) / jnp.sqrt(1 - ab_t)
        return jnp.sqrt(ab_s) * x0_hat + jnp.sqrt(1 - ab_s) * eps_hat, None

    x, _ = jax.lax.scan(step, x_T, (ts, t_next))
    return x


def langevin_step(score_fn, x, key, step_size):
    """One step of the unadjusted Langevin algorithm: x + h grad log p(x) + sqrt(2 h) z. On a
    Gaussian of variance v its stationary variance is v / (1 - h / (2 v)), not v: the bias of
    a finite step."""
    return x + step_size * score_fn(x) + jnp.sqrt(2 * step_size) * jax.random.normal(key, x.shape)


def pc_sample(predict_x0: Denoiser, alpha_bar, key, x_T, steps: int, corrector_steps: int = 1,
              snr: float = 0.1, predictor: str = "ddim"):
    """Predictor-corrector sampling (Song et al. 2021, Algorithm 2 with a VP process).

    At each of ``steps`` times t (from T down), ``corrector_steps`` Langevin steps on p_t with
    the step size of the signal-to-noise rule h = 2 snr^2 E||z||^2 / E||score||^2 (means over
    the batch; about 2 snr^2 times p_t's variance, so the step's bias is a factor 1 / (1 - snr^2)),
    then the predictor moves to the next time: "ddim" (the deterministic step above) or
    "none" (just carry x to the next level: annealed Langevin dynamics, Song and Ermon 2019).
    The last level is followed by Tweedie's denoising step, x0_hat(x_1, 1)."""
    if predictor not in ("ddim", "none"):
        raise ValueError(f"unknown predictor '{predictor}'; accepted: ddim, none")
    ts = time_grid(len(alpha_bar), steps)
    t_next = jnp.concatenate([ts[1:], jnp.zeros(1, jnp.int32)])

    def level(x, inputs):
        t, s, k = inputs

        def correct(x, j):
            g = score(predict_x0, alpha_bar, x, t)
            z = jax.random.normal(jax.random.fold_in(k, j), x.shape)
            # one step size for the batch: a step that depends on each example's own x makes
            # the chain's stationary law p(x) / h(x), not p(x) (per example, as in score_sde,
            # the variance came out 8 % too large in 64 dimensions, 4x in 4)
            h = 2 * snr**2 * jnp.mean(z**2) / jnp.maximum(jnp.mean(g**2), 1e-12)
            return x + h * g + jnp.sqrt(2 * h) * z, None

        x, _ = jax.lax.scan(correct, x, jnp.arange(corrector_steps))
        ab_t, ab_s = _alpha_bar_at(alpha_bar, t), _alpha_bar_at(alpha_bar, s)
        x0_hat = predict_x0(x, jnp.full(x.shape[:1], t))
        if predictor == "ddim":
            eps_hat = (x - jnp.sqrt(ab_t) * x0_hat) / jnp.sqrt(1 - ab_t)
            x_s = jnp.sqrt(ab_s) * x0_hat + jnp.sqrt(1 - ab_s) * eps_hat
        else:
            x_s = jnp.where(s > 0, x, x0_hat)
        return x_s, None

    keys = jax.random.split(key, steps)
    x, _ = jax.lax.scan(level, x_T, (ts, t_next, keys))
    return x


def inpaint(predict_x0: Denoiser, alpha_bar, key, x_T, observed, mask):
    """Conditional sampling by multiplying distributions (Sohl-Dickstein et al. 2015, sec. 2.5):
    the reverse chain p(x_{t-1} | x_t) times r(x) = a delta function on the observed values.

    Ancestral sampling with the posterior's variances (Eq. 84 at x_0 = x0_hat), where after
    every step the observed coordinates (``mask`` = 1) are replaced by a draw from
    q(x_{t-1} | x_0 = observed), so they carry the noise level of their step; the unobserved
    ones follow the model. At t = 1 the observed values are returned exactly. This is the
    replacement method: the unobserved coordinates see the observed ones only through the
    denoiser, so the conditional is approximate where the two are strongly coupled."""
    T = len(alpha_bar)
    mask = jnp.asarray(mask, x_T.dtype)

    def step(x, inputs):
        t, k = inputs
        k_z, k_obs = jax.random.split(k)
        ab_t, ab_s = _alpha_bar_at(alpha_bar, t), _alpha_bar_at(alpha_bar, t - 1)
        a_t = ab_t / ab_s
        x0_hat = predict_x0(x, jnp.full(x.shape[:1], t))
        mean = (jnp.sqrt(a_t) * (1 - ab_s) * x + jnp.sqrt(ab_s) * (1 - a_t) * x0_hat) / (1 - ab_t)
        var = (1 - a_t) * (1 - ab_s) / (1 - ab_t)
        x = mean + jnp.sqrt(var) * jax.random.normal(k_z, x.shape)
        known = jnp.sqrt(ab_s) * observed + jnp.sqrt(1 - ab_s) * jax.random.normal(k_obs, x.shape)
        return mask * known + (1 - mask) * x, None

    ts = jnp.arange(T, 0, -1)
    x, _ = jax.lax.scan(step, x_T, (ts, jax.random.split(key, T)))
    return x
