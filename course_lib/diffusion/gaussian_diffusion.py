"""The Gaussian forward process, its posterior, the three parameterisations and the decoders
p(x_0 | x_1) of quantized data.

Equation numbers refer to Luo (arXiv 2208.11970). The density and KL divergence themselves are
written once, in :mod:`course_lib.normal`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr

from course_lib.normal import gaussian_kl, normal_log_prob


def q_step(x_prev, alpha_t, eps):
    """x_t ~ q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, (1 - alpha_t) I) (Eq. 31)."""
    return jnp.sqrt(alpha_t) * x_prev + jnp.sqrt(1 - alpha_t) * eps


def q_sample(x0, alpha_bar_t, eps):
    """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (Eq. 69)."""
    return jnp.sqrt(alpha_bar_t) * x0 + jnp.sqrt(1 - alpha_bar_t) * eps


def q_posterior(x_t, x0, alpha_t, alpha_bar_t, alpha_bar_prev):
    """Mean and variance of q(x_{t-1} | x_t, x_0) (Eq. 84)."""
    mean = (jnp.sqrt(alpha_t) * (1 - alpha_bar_prev) * x_t
            + jnp.sqrt(alpha_bar_prev) * (1 - alpha_t) * x0) / (1 - alpha_bar_t)
    var = (1 - alpha_t) * (1 - alpha_bar_prev) / (1 - alpha_bar_t)
    return mean, var


def kl_to_standard_normal(x0, alpha_bar_T):
    """KL(q(x_T | x_0) || N(0, I)), summed over dimensions: the prior matching term of Eq. 58,
    with q(x_T | x_0) = N(sqrt(alpha_bar_T) x_0, (1 - alpha_bar_T) I) (Eq. 69)."""
    mean = jnp.sqrt(alpha_bar_T) * jnp.asarray(x0)
    kl = gaussian_kl(mean, 1 - alpha_bar_T, 0.0, 1.0)
    return jnp.sum(kl.reshape(mean.shape[0], -1), -1)


# ----------------------------------------------------------------- the three parameterisations


def x0_from_noise(x_t, eps_hat, alpha_bar_t):
    """Eq. 69 solved for x_0, with the predicted noise (the parameterisation of Eq. 130)."""
    return (x_t - jnp.sqrt(1 - alpha_bar_t) * eps_hat) / jnp.sqrt(alpha_bar_t)


def x0_from_score(x_t, score_hat, alpha_bar_t):
    """Tweedie (Eq. 133, read with the conditional mean on the left):
    sqrt(alpha_bar_t) E[x_0 | x_t] = x_t + (1 - alpha_bar_t) grad log p(x_t)."""
    return (x_t + (1 - alpha_bar_t) * score_hat) / jnp.sqrt(alpha_bar_t)


def score_from_noise(eps, alpha_bar_t):
    """grad log q(x_t | x_0) = -eps / sqrt(1 - alpha_bar_t) (Eq. 151)."""
    return -eps / jnp.sqrt(1 - alpha_bar_t)


# ------------------------------------------------------------------------ decoders p(x0|x1)


def bin_centres(levels: int, lo: float = -1.0, hi: float = 1.0) -> jax.Array:
    return jnp.linspace(lo, hi, levels)


def discretized_gaussian_log_prob(x0, mean, std, levels: int, lo=-1.0, hi=1.0):
    """log P(x_0) for data on ``levels`` evenly spaced values in [lo, hi]: the Gaussian's mass
    over the bin of x_0, the outer bins extended to infinity (Ho et al. 2020, Eq. 13)."""
    half = (hi - lo) / (levels - 1) / 2
    top, bottom = x0 >= hi - half, x0 <= lo + half
    # the edges' infinite bounds are applied after the cdf, so that no gradient sees inf
    cdf_upper = jnp.where(top, 1.0, ndtr((x0 + half - mean) / std))
    cdf_lower = jnp.where(bottom, 0.0, ndtr((x0 - half - mean) / std))
    return jnp.log(jnp.maximum(cdf_upper - cdf_lower, 1e-12))


def decoder_log_prob(x0, mean, std, levels: int = 0):
    """log p(x_0 | x_1) summed over dimensions: the discretized Gaussian for data on ``levels``
    values in [-1, 1], the Gaussian density N(mean, std^2) for continuous data (levels = 0)."""
    if levels:
        return jnp.sum(discretized_gaussian_log_prob(x0, mean, std, levels), -1)
    return jnp.sum(normal_log_prob(x0, mean, std**2), -1)


def level_log_prob(x0, z, alpha, sigma, levels: int):
    """log p(x_0 | z) for x_0 on ``levels`` values in [-1, 1], z = alpha x_0 + sigma eps: each
    level weighted by the Gaussian likelihood of z under it, normalised over the levels (VDM's
    decoder, Kingma et al. 2021, appendix A.2). It needs no network: it is the exact posterior
    of x_0 under a uniform prior over the levels, cheap once sigma is a fraction of the spacing."""
    v = bin_centres(levels)
    alpha, sigma = jnp.asarray(alpha)[..., None], jnp.asarray(sigma)[..., None]
    logits = -0.5 * ((z[..., None] - alpha * v) / sigma) ** 2
    index = jnp.round((x0 + 1) / 2 * (levels - 1)).astype(jnp.int32)
    return jnp.take_along_axis(jax.nn.log_softmax(logits), index[..., None], -1)[..., 0]
