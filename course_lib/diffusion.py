"""Diffusion models as the lecture builds them: a fixed Gaussian encoder that adds noise step
by step, and a learned decoder that removes it, trained and measured with the ELBO.

Equation numbers refer to Luo, "Understanding diffusion models: a unified perspective"
(arXiv 2208.11970). Time steps t = 1..T; ``alphas[t-1]`` is alpha_t, ``alpha_bar[t-1]`` is
alpha_bar_t = prod_{s<=t} alpha_s, and alpha_bar_0 = 1.

- schedules: :func:`linear_betas` (DDPM), :func:`cosine_betas`, SNR and gamma = -log SNR,
  :class:`LearnedGamma` (VDM's monotone learned schedule);
- the forward process: :func:`q_step` (Eq. 31), :func:`q_sample` (Eq. 69), the posterior
  :func:`q_posterior` (Eq. 84);
- :class:`DDPM`: discrete time, noise / x0 / score parameterisations, the full ELBO with
  its terms by name, ancestral sampling in ``lax.scan``;
- :class:`VDM`: continuous time (Kingma et al. 2021), learned schedule, antithetic times;
- :class:`BinomialDiffusion`: Sohl-Dickstein et al. (2015) on binary data.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.scipy.special import ndtr

from course_lib import nets
from course_lib.data import Dataset
from course_lib.models import ModelSpec, Option, RunInfo, bits_per_dim, register

LOG2 = float(np.log(2))

# ------------------------------------------------------------------------------ schedules


def check_betas(betas) -> np.ndarray:
    """Reject schedules that do not define a diffusion: each beta_t in (0, 1)."""
    betas = np.asarray(betas, np.float64)
    if betas.ndim != 1 or len(betas) < 1:
        raise ValueError(f"betas must be a 1D array of length T >= 1, got shape {betas.shape}")
    if not np.all((betas > 0) & (betas < 1)):
        raise ValueError(f"every beta_t must lie in (0, 1); got min {betas.min():.3g}, "
                         f"max {betas.max():.3g}")
    return betas


def linear_betas(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> np.ndarray:
    """DDPM (Ho et al. 2020): beta_t linear from 1e-4 to 0.02 over T = 1000 steps."""
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    return check_betas(np.linspace(beta_1, beta_T, T))


def cosine_betas(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Nichol and Dhariwal (2021): alpha_bar_t = cos^2((t/T + s)/(1 + s) pi/2) / (same at 0)."""
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
    return check_betas(np.clip(1 - f[1:] / f[:-1], 1e-8, max_beta))


def alpha_bar(betas) -> np.ndarray:
    """alpha_bar_t = prod_{s=1}^t (1 - beta_s), t = 1..T."""
    return np.cumprod(1 - check_betas(betas))


def snr(alpha_bar_t):
    """SNR(t) = alpha_bar_t / (1 - alpha_bar_t) (Eq. 108); it must fall with t."""
    return alpha_bar_t / (1 - alpha_bar_t)


def gamma_from_alpha_bar(alpha_bar_t):
    """gamma(t) = -log SNR(t) (VDM): sigma_t^2 = sigmoid(gamma), alpha_t^2 = sigmoid(-gamma)."""
    return np.log1p(-alpha_bar_t) - np.log(alpha_bar_t)


def check_snr_decreasing(alpha_bar_t) -> None:
    s = snr(np.asarray(alpha_bar_t))
    if not np.all(np.diff(s) < 0):
        raise ValueError("the signal-to-noise ratio must decrease strictly with t; "
                         f"it rises at t = {int(np.argmax(np.diff(s) >= 0)) + 2}")


class LearnedGamma(nnx.Module):
    """VDM's learned schedule: gamma(t) monotone increasing from gamma_min to gamma_max.

    gamma(t) = gamma_min + (gamma_max - gamma_min) (g(t) - g(0)) / (g(1) - g(0)), where g is
    a small network with positive weights (softplus) and monotone activations, so that g is
    increasing in t. The end points are trainable too (initialised at -13.3 and 5).
    """

    def __init__(self, hidden: int = 32, gamma_min: float = -13.3, gamma_max: float = 5.0, *,
                 rngs: nnx.Rngs):
        init = jax.nn.initializers.normal(1.0)
        self.w1 = nnx.Param(init(rngs.params(), (1,)))
        self.w2 = nnx.Param(init(rngs.params(), (1, hidden)))
        self.w3 = nnx.Param(init(rngs.params(), (hidden,)))
        self.b2 = nnx.Param(jnp.zeros(hidden))
        self.gamma_min = nnx.Param(jnp.array(gamma_min))
        self.gamma_max = nnx.Param(jnp.array(gamma_max))

    def _g(self, t):
        pos = jax.nn.softplus
        l1 = t * pos(self.w1[...])[0]
        l2 = jax.nn.sigmoid(l1[..., None] * pos(self.w2[...])[0] + self.b2[...])
        return l1 + l2 @ pos(self.w3[...]) / self.w3.shape[0]

    def __call__(self, t):
        g0, g1 = self._g(jnp.zeros(())), self._g(jnp.ones(()))
        return self.gamma_min[...] + (self.gamma_max[...] - self.gamma_min[...]) * (
            (self._g(t) - g0) / (g1 - g0))


class LinearGamma(nnx.Module):
    """A fixed schedule linear in gamma = -log SNR, from gamma_min to gamma_max."""

    def __init__(self, gamma_min: float = -13.3, gamma_max: float = 5.0):
        self.gamma_min, self.gamma_max = gamma_min, gamma_max

    def __call__(self, t):
        return self.gamma_min + (self.gamma_max - self.gamma_min) * t


# ------------------------------------------------------------------------ forward process


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
    """KL(q(x_T | x_0) || N(0, I)), summed over dimensions: the prior matching term."""
    mean2, var = alpha_bar_T * x0**2, 1 - alpha_bar_T
    return 0.5 * jnp.sum((mean2 + var - 1 - jnp.log(var)).reshape(x0.shape[0], -1), -1)


def gaussian_kl(mean_q, var_q, mean_p, var_p):
    """KL(N(mean_q, var_q) || N(mean_p, var_p)), elementwise."""
    return 0.5 * (jnp.log(var_p / var_q) + (var_q + (mean_q - mean_p) ** 2) / var_p - 1)


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


def log_snr_betas(T: int, gamma_1: float, gamma_T: float) -> np.ndarray:
    """beta_t for gamma_t = -log SNR(t) linear from gamma_1 to gamma_T: alpha_bar_t =
    sigmoid(-gamma_t), beta_t = 1 - alpha_bar_t / alpha_bar_{t-1} (alpha_bar_0 = 1), so the
    first step's noise is sqrt(beta_1) = sqrt(sigmoid(gamma_1)). The discrete counterpart of
    VDM's schedule; equal steps in gamma make L_simple at uniform t the ELBO's own weighting."""
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    if not gamma_1 < gamma_T:
        raise ValueError(f"gamma_1 must be below gamma_T, got {gamma_1} and {gamma_T}")
    ab = 1 / (1 + np.exp(np.linspace(gamma_1, gamma_T, T)))
    return check_betas(1 - ab / np.concatenate([[1.0], ab[:-1]]))


# ---------------------------------------------------------------------- discrete-time DDPM


@dataclass(frozen=True)
class DDPMConfig:
    """A discrete-time Gaussian diffusion on vectors (images are flattened).

    parameterization: what the network predicts: "noise" (Eq. 130), "x0" (Eq. 109), "score"
                      (Eq. 148).
    loss:             "simple": ||eps - eps_hat||^2 at a uniform t (Ho et al.); "elbo": the
                      negative ELBO itself (Eq. 58 with the SNR weights of Eq. 110);
                      "hybrid": simple + 0.001 x ELBO with the mean's gradient stopped in the
                      ELBO part (Nichol and Dhariwal 2021), to learn the variances.
    learn_variance:   the reverse steps' variances are learned, log sigma_t^2 interpolating
                      between log beta_t and log beta_tilde_t (Nichol and Dhariwal); else
                      sigma_t^2 = beta_tilde_t, the posterior's. Sohl-Dickstein et al. learned
                      the variances too; with few steps (T = 40) it matters.
    levels:           number of values per dimension of quantized data (17 for the digits,
                      256 for 8-bit images; 0 = continuous data), in [-1, 1].
    """

    data_dim: int
    T: int = 1000
    schedule: str = "linear"
    beta_1: float = 1e-4
    beta_T: float = 0.02
    parameterization: str = "noise"
    loss: str = "simple"
    hidden: tuple[int, ...] = (256, 256, 256)
    levels: int = 0
    lr: float = 1e-3
    learn_variance: bool = False

    def __post_init__(self):
        for field, value, accepted in [("parameterization", self.parameterization,
                                        ("noise", "x0", "score")),
                                       ("loss", self.loss, ("simple", "elbo", "hybrid")),
                                       ("schedule", self.schedule, ("linear", "cosine"))]:
            if value not in accepted:
                raise ValueError(f"unknown {field} '{value}'; accepted: {', '.join(accepted)}")
        if self.levels == 1 or self.levels < 0:
            raise ValueError(f"levels must be 0 (continuous) or >= 2, got {self.levels}")

    def betas(self) -> np.ndarray:
        if self.schedule == "cosine":
            return cosine_betas(self.T)
        return linear_betas(self.T, self.beta_1, self.beta_T)


@dataclass(frozen=True)
class LevelsDDPMConfig(DDPMConfig):
    """A DDPM for data on ``levels`` grey levels with its discretisation fixed:

    gamma_1, gamma_T: the schedule is linear in gamma = -log SNR (:func:`log_snr_betas`); the
                      first step's noise sqrt(sigmoid(gamma_1)) (0.023 for -7.5, where VDM's
                      learned gamma(0) ends up on the digits) is a fifth of the 17 levels'
                      spacing 0.125, not a tenth of it (linear betas: sqrt(1e-4) = 0.01).
    decoder p(x_0 | x_1): :func:`level_log_prob` over the levels, not a discretised Gaussian
                      around the network's x0_hat: no network has to learn to round.
    """

    gamma_1: float = -7.5
    gamma_T: float = 6.0

    def __post_init__(self):
        super().__post_init__()
        if self.levels < 2:
            raise ValueError("LevelsDDPMConfig needs quantized data (levels >= 2), "
                             f"got {self.levels}")

    def betas(self) -> np.ndarray:
        return log_snr_betas(self.T, self.gamma_1, self.gamma_T)


class DDPM(nnx.Module):
    def __init__(self, config: DDPMConfig, *, rngs: nnx.Rngs):
        self.config = config
        betas = config.betas()
        ab = alpha_bar(betas)
        check_snr_decreasing(ab)
        # schedules as constants (floats), not parameters
        self.alphas = nnx.Variable(jnp.asarray(1 - betas, jnp.float32))
        self.alpha_bar = nnx.Variable(jnp.asarray(ab, jnp.float32))
        ab_prev = np.concatenate([[1.0], ab[:-1]])
        beta_tilde = betas * (1 - ab_prev) / (1 - ab)  # the posterior variance, Eq. 84
        beta_tilde[0] = beta_tilde[1] if len(betas) > 1 else betas[0]  # beta_tilde_1 = 0
        self.beta_tilde = nnx.Variable(jnp.asarray(beta_tilde, jnp.float32))
        outputs = config.data_dim * (2 if config.learn_variance else 1)
        self.net = nets.TimeMLP(config.data_dim, config.hidden, outputs, rngs=rngs)

    def _coefs(self, t):
        """alpha_t, alpha_bar_t, alpha_bar_{t-1} for integer t in 1..T (shape (B, 1))."""
        a, ab = self.alphas[...], self.alpha_bar[...]
        ab_ext = jnp.concatenate([jnp.ones(1), ab])
        return a[t - 1][:, None], ab[t - 1][:, None], ab_ext[t - 1][:, None]

    def predict(self, x_t, t):
        """(x0_hat, v) from the network, whatever it predicts; v in [0, 1] sets the variance
        (None unless the variances are learned)."""
        _, ab, _ = self._coefs(t)
        out = self.net(x_t, t / self.config.T)
        v = None
        if self.config.learn_variance:
            out, v = jnp.split(out, 2, axis=-1)
            v = jax.nn.sigmoid(v)
        if self.config.parameterization == "noise":
            return x0_from_noise(x_t, out, ab), v
        if self.config.parameterization == "score":
            return x0_from_score(x_t, out, ab), v
        return out, v

    def predict_x0(self, x_t, t):
        return self.predict(x_t, t)[0]

    def reverse_variance(self, t, v):
        """sigma_t^2 of p(x_{t-1} | x_t): beta_tilde_t, or learned between it and beta_t.
        At t = 1, where beta_tilde_1 = 0, beta_tilde_2 stands in (as in Ho et al.)."""
        beta = (1 - self.alphas[...])[t - 1][:, None]
        beta_tilde = self.beta_tilde[...][t - 1][:, None]
        if v is None:
            return beta_tilde
        return jnp.exp(v * jnp.log(beta) + (1 - v) * jnp.log(beta_tilde))

    def loss_terms(self, x0, key):
        """Per-example terms of the negative ELBO, in nats (Eq. 58), one t per example:

        reconstruction: -log p(x_0 | x_1)
        prior:          KL(q(x_T | x_0) || N(0, I))
        diffusion:      (T - 1) KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)), t ~ U{2..T};
                        with fixed variances = (T - 1) 1/2 (SNR(t-1) - SNR(t)) ||x_0 - x0_hat||^2
                        (Eq. 110),
        and ``simple``: ||eps - eps_hat||^2 at that t (what DDPM trains on).
        """
        T = self.config.T
        x0 = x0.reshape(x0.shape[0], -1)
        k_t, k_eps, k_eps1 = jax.random.split(key, 3)
        # diffusion term at a random t in 2..T
        t = jax.random.randint(k_t, (x0.shape[0],), 2, T + 1)
        eps = jax.random.normal(k_eps, x0.shape)
        a_t, ab_t, ab_prev = self._coefs(t)
        x_t = q_sample(x0, ab_t, eps)
        x0_hat, v = self.predict(x_t, t)
        eps_hat = (x_t - jnp.sqrt(ab_t) * x0_hat) / jnp.sqrt(1 - ab_t)
        simple = jnp.sum((eps - eps_hat) ** 2, -1)
        if self.config.loss == "hybrid":  # the ELBO part trains only the variances
            x0_hat = jax.lax.stop_gradient(x0_hat)
        if v is None:
            snr_drop = snr(ab_prev) - snr(ab_t)
            kl = 0.5 * snr_drop[:, 0] * jnp.sum((x0 - x0_hat) ** 2, -1)
        else:
            mean_q, var_q = q_posterior(x_t, x0, a_t, ab_t, ab_prev)
            mean_p, _ = q_posterior(x_t, x0_hat, a_t, ab_t, ab_prev)
            kl = jnp.sum(gaussian_kl(mean_q, var_q, mean_p, self.reverse_variance(t, v)), -1)
        diffusion = (T - 1) * kl
        # reconstruction at t = 1: p(x_0 | x_1) = N(x0_hat(x_1), sigma_1^2), discretized for
        # quantized data
        ones = jnp.ones(x0.shape[0], jnp.int32)
        _, ab_1, _ = self._coefs(ones)
        x_1 = q_sample(x0, ab_1, jax.random.normal(k_eps1, x0.shape))
        mean, v1 = self.predict(x_1, ones)
        if self.config.loss == "hybrid":
            mean = jax.lax.stop_gradient(mean)
        std = jnp.sqrt(self.reverse_variance(ones, v1) if v1 is not None else 1 - ab_1)
        if isinstance(self.config, LevelsDDPMConfig):
            log_p = level_log_prob(x0, x_1, jnp.sqrt(ab_1), jnp.sqrt(1 - ab_1), self.config.levels)
        elif self.config.levels:
            log_p = discretized_gaussian_log_prob(x0, mean, std, self.config.levels)
        else:
            log_p = -0.5 * ((x0 - mean) / std) ** 2 - jnp.log(std) - 0.5 * jnp.log(2 * jnp.pi)
        reconstruction = -jnp.sum(log_p, -1)
        prior = kl_to_standard_normal(x0, self.alpha_bar[-1])
        return {"reconstruction": reconstruction, "prior": prior, "diffusion": diffusion,
                "simple": simple}

    def p_mean_var(self, x_t, t):
        """The reverse step p(x_{t-1} | x_t): the posterior of Eq. 84 at x0 = x0_hat."""
        a_t, ab_t, ab_prev = self._coefs(t)
        x0_hat, v = self.predict(x_t, t)
        if self.config.levels:
            x0_hat = jnp.clip(x0_hat, -1, 1)
        mean, _ = q_posterior(x_t, x0_hat, a_t, ab_t, ab_prev)
        return mean, self.reverse_variance(t, v)

    def sample(self, key, n, return_chain: bool = False):
        """Ancestral sampling x_T -> ... -> x_0 in one lax.scan."""
        k_T, key = jax.random.split(key)
        x_T = jax.random.normal(k_T, (n, self.config.data_dim))

        def step(x, t):
            mean, var = self.p_mean_var(x, jnp.full((n,), t))
            z = jax.random.normal(jax.random.fold_in(key, t), x.shape)
            x = mean + jnp.where(t > 1, jnp.sqrt(var), 0.0) * z
            return x, (x if return_chain else None)

        if not isinstance(self.config, LevelsDDPMConfig):
            x0, chain = jax.lax.scan(step, x_T, jnp.arange(self.config.T, 0, -1))
        else:  # down to x_1, then the decoder's most likely level (the nearest to x_1 / alpha_1)
            x_1, chain = jax.lax.scan(step, x_T, jnp.arange(self.config.T, 1, -1))
            v = bin_centres(self.config.levels)
            x0 = v[jnp.argmin(jnp.abs(x_1[..., None] / jnp.sqrt(self.alpha_bar[0]) - v), -1)]
            chain = jnp.concatenate([chain, x0[None]]) if return_chain else None
        return (x0, jnp.concatenate([x_T[None], chain])) if return_chain else x0




def simple_loss(model: DDPM, x0, key):
    """Ho et al.'s L_simple: ||eps - eps_hat(x_t, t)||^2 at t ~ U{1..T}, nothing else."""
    x0 = x0.reshape(x0.shape[0], -1)
    k_t, k_eps = jax.random.split(key)
    t = jax.random.randint(k_t, (x0.shape[0],), 1, model.config.T + 1)
    eps = jax.random.normal(k_eps, x0.shape)
    _, ab_t, _ = model._coefs(t)
    x_t = q_sample(x0, ab_t, eps)
    eps_hat = (x_t - jnp.sqrt(ab_t) * model.predict_x0(x_t, t)) / jnp.sqrt(1 - ab_t)
    return jnp.sum((eps - eps_hat) ** 2, -1).mean()


def ddpm_loss(model: DDPM, x0, key):
    """What training minimises, and the ELBO's terms (batch means, nats) as metrics.

    With ``loss="simple"`` only L_simple is computed (the ELBO costs a second network pass);
    use :func:`evaluate_model_bits` for the bound."""
    if model.config.loss == "simple" and not model.config.learn_variance:
        return simple_loss(model, x0, key), {}
    terms = model.loss_terms(x0, key)
    nelbo = terms["reconstruction"] + terms["prior"] + terms["diffusion"]
    loss = {"simple": terms["simple"].mean(), "elbo": nelbo.mean(),
            "hybrid": terms["simple"].mean() + 1e-3 * nelbo.mean()}[model.config.loss]
    return loss, {"nelbo": nelbo.mean(), **{k: v.mean() for k, v in terms.items()}}


def ddpm_train_step(model, optimizer, x0, key):
    (loss, metrics), grads = nnx.value_and_grad(ddpm_loss, has_aux=True)(model, x0, key)
    optimizer.update(model, grads)
    return {"loss": loss, **metrics}


# --------------------------------------------------------------------- continuous-time VDM


@dataclass(frozen=True)
class VDMConfig:
    """Continuous-time variational diffusion model (Kingma et al. 2021) on vectors."""

    data_dim: int
    hidden: tuple[int, ...] = (256, 256, 256)
    learned_schedule: bool = True
    gamma_min: float = -13.3
    gamma_max: float = 5.0
    levels: int = 0
    lr: float = 1e-3
    image_shape: tuple[int, int] | None = None  # given: a periodic conv net (Ising lattices)
    conv_features: int = 32


class VDM(nnx.Module):
    def __init__(self, config: VDMConfig, *, rngs: nnx.Rngs):
        self.config = config
        self.gamma = (LearnedGamma(gamma_min=config.gamma_min, gamma_max=config.gamma_max,
                                   rngs=rngs) if config.learned_schedule
                      else LinearGamma(config.gamma_min, config.gamma_max))
        if config.image_shape is None:
            self.net = nets.TimeMLP(config.data_dim, config.hidden, config.data_dim, rngs=rngs)
        else:
            self.net = nets.ConvNet(1, config.conv_features, len(config.hidden),
                                    time_features=32, padding="CIRCULAR", rngs=rngs)

    def eps_hat(self, z, g):
        # the network sees the normalised log-SNR, so it works with any learned end points
        s = (g - self.config.gamma_min) / (self.config.gamma_max - self.config.gamma_min)
        if self.config.image_shape is None:
            return self.net(z, s)
        image = z.reshape(z.shape[0], *self.config.image_shape)
        return self.net(image, s).reshape(z.shape)

    def loss_terms(self, x, key):
        """Per-example terms of the negative ELBO in nats (VDM, Eq. 11 and 17):

        diffusion:      1/2 gamma'(t) ||eps - eps_hat(z_t, t)||^2, t antithetic-uniform
        prior:          KL(q(z_1 | x) || N(0, I))
        reconstruction: -log p(x | z_0), categorical over the levels of quantized data or
                        Gaussian with variance sigma_0^2 / alpha_0^2 for continuous data
        """
        x = x.reshape(x.shape[0], -1)
        n = x.shape[0]
        k_t, k_eps, k_0 = jax.random.split(key, 3)
        # antithetic sampling: n evenly spaced times with one random offset
        t = jnp.mod(jax.random.uniform(k_t) + jnp.arange(n) / n, 1.0)
        g_t, g_grad = jax.vmap(jax.value_and_grad(lambda s: self.gamma(s)))(t)
        alpha = jnp.sqrt(jax.nn.sigmoid(-g_t))[:, None]
        sigma = jnp.sqrt(jax.nn.sigmoid(g_t))[:, None]
        eps = jax.random.normal(k_eps, x.shape)
        z_t = alpha * x + sigma * eps
        diffusion = 0.5 * g_grad * jnp.sum((eps - self.eps_hat(z_t, g_t)) ** 2, -1)

        g_1 = self.gamma(jnp.ones(()))
        var_1 = jax.nn.sigmoid(g_1)
        prior = 0.5 * jnp.sum((1 - var_1) * x**2 + var_1 - 1 - jnp.log(var_1), -1)

        g_0 = self.gamma(jnp.zeros(()))
        alpha_0, sigma_0 = jnp.sqrt(jax.nn.sigmoid(-g_0)), jnp.sqrt(jax.nn.sigmoid(g_0))
        z_0 = alpha_0 * x + sigma_0 * jax.random.normal(k_0, x.shape)
        if self.config.levels:
            log_p = level_log_prob(x, z_0, alpha_0, sigma_0, self.config.levels)
        else:
            std = sigma_0 / alpha_0
            log_p = -0.5 * ((x - z_0 / alpha_0) / std) ** 2 - jnp.log(std) - 0.5 * jnp.log(
                2 * jnp.pi)
        reconstruction = -jnp.sum(log_p, -1)
        return {"reconstruction": reconstruction, "prior": prior, "diffusion": diffusion}

    def sample(self, key, n, steps: int = 200, return_chain: bool = False):
        """Ancestral sampling on a grid of ``steps`` times from t = 1 to 0 (VDM Appendix A.4)."""
        k_T, key = jax.random.split(key)
        z = jax.random.normal(k_T, (n, self.config.data_dim))

        def step(z, i):
            t, s = (steps - i) / steps, (steps - i - 1) / steps
            g_t, g_s = self.gamma(jnp.asarray(t)), self.gamma(jnp.asarray(s))
            eps_hat = self.eps_hat(z, jnp.full((n,), g_t))
            a_t2, a_s2 = jax.nn.sigmoid(-g_t), jax.nn.sigmoid(-g_s)
            s_t2, s_s2 = jax.nn.sigmoid(g_t), jax.nn.sigmoid(g_s)
            # q(z_s | z_t, x) with x = (z_t - sigma_t eps_hat) / alpha_t
            x_hat = (z - jnp.sqrt(s_t2) * eps_hat) / jnp.sqrt(a_t2)
            if self.config.levels:
                x_hat = jnp.clip(x_hat, -1, 1)
            a_ts2 = a_t2 / a_s2
            s_ts2 = s_t2 - a_ts2 * s_s2
            mean = (jnp.sqrt(a_ts2) * s_s2 / s_t2) * z + (jnp.sqrt(a_s2) * s_ts2 / s_t2) * x_hat
            var = s_ts2 * s_s2 / s_t2
            z = mean + jnp.sqrt(var) * jax.random.normal(jax.random.fold_in(key, i), z.shape)
            return z, (z if return_chain else None)

        z, chain = jax.lax.scan(step, z, jnp.arange(steps))
        g_0 = self.gamma(jnp.zeros(()))
        x = z / jnp.sqrt(jax.nn.sigmoid(-g_0))
        if self.config.levels:
            v = bin_centres(self.config.levels)
            x = v[jnp.argmin(jnp.abs(x[..., None] - v), -1)]
        return (x, chain) if return_chain else x


def negative_elbo(model, x0, key):
    """-ELBO per example in nats: reconstruction + prior + diffusion (one Monte-Carlo draw),
    for any of the models here (DDPM, VDM, binomial)."""
    terms = model.loss_terms(x0, key)
    return terms["reconstruction"] + terms["prior"] + terms["diffusion"]


def elbo_loss(model, x, key):
    """The batch mean of -ELBO, with its terms (batch means, nats) as metrics."""
    terms = model.loss_terms(x, key)
    nelbo = terms["reconstruction"] + terms["prior"] + terms["diffusion"]
    return nelbo.mean(), {k: v.mean() for k, v in terms.items()}


def elbo_train_step(model, optimizer, x, key):
    (loss, metrics), grads = nnx.value_and_grad(elbo_loss, has_aux=True)(model, x, key)
    optimizer.update(model, grads)
    return {"loss": loss, **metrics}


vdm_train_step = elbo_train_step  # VDM trains on its ELBO (Kingma et al. 2021)


def _is_schedule_interior(path) -> bool:
    """The parameters that shape gamma(t) between its end points (not gamma_min, gamma_max)."""
    names = jax.tree_util.keystr(path, simple=True, separator="/").split("/")
    return "gamma" in names and not {"gamma_min", "gamma_max"} & set(names)


def vdm_variance_loss(model, x, key):
    """Mean square of the diffusion loss per example, E[L_diff^2]: its mean E[L_diff] does not
    depend on the interior of the schedule, so minimising this over the interior minimises
    the estimator's variance (Kingma et al. 2021, sec. 5.3)."""
    return jnp.mean(model.loss_terms(x, key)["diffusion"] ** 2)


def vdm_variance_train_step(model, optimizer, x, key):
    """VDM's schedule objective (Kingma et al. 2021, sec. 5.3): the denoiser and the end points
    gamma(0), gamma(1) descend the negative ELBO; the interior of gamma descends the variance
    of the diffusion-loss estimator instead (on the ELBO it only gets zero-mean gradients).
    Two backward passes (google-research/vdm folds them into one with a custom gradient)."""
    (loss, metrics), grads = nnx.value_and_grad(elbo_loss, has_aux=True)(model, x, key)
    variance_grads = nnx.grad(vdm_variance_loss)(model, x, key)
    grads = jax.tree_util.tree_map_with_path(
        lambda path, g, v: v if _is_schedule_interior(path) else g, grads, variance_grads)
    optimizer.update(model, grads)
    return {"loss": loss, **metrics}


# ---------------------------------------------------------------- binomial diffusion (2015)


@dataclass(frozen=True)
class BinomialConfig:
    """Sohl-Dickstein et al. (2015), binary heartbeat: T = 2000, beta_t = 1/(T - t + 1),
    diffusing towards independent Bernoulli(p_T); an MLP with sigmoid hidden units."""

    data_dim: int = 20
    T: int = 2000
    p_T: float = 0.2
    hidden: tuple[int, ...] = (50, 50, 50)
    lr: float = 1e-3


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

    def loss_terms(self, x0, key):
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
        return {"reconstruction": reconstruction, "prior": jnp.zeros(n), "diffusion": diffusion}

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


def bits_draws(model, x, key, repeats=10) -> np.ndarray:
    """(repeats, n) Monte-Carlo draws of each example's negative ELBO in bits; draw r uses
    ``fold_in(key, r)``, so two models given the same key see the same t and noise (paired)."""
    x = jnp.asarray(x).reshape(len(x), -1)
    nelbo = jax.jit(lambda k, xb: negative_elbo(model, xb, k))
    return np.stack([np.asarray(nelbo(jax.random.fold_in(key, r), x), np.float64)
                     for r in range(repeats)]) / LOG2


def evaluate_model_bits(model, x, key, repeats=10):
    """Bits per dimension / example of the negative ELBO for DDPM, VDM or binomial models.

    Each example's bound is the mean of ``repeats`` Monte-Carlo draws (its own t, noise); the
    error bar is over the n *examples*: std of those per-example means / sqrt(n). (Treating
    the repeats x n draws as independent, std / sqrt(repeats x n), understates it by up to
    sqrt(repeats) when the examples differ more than the draws.) ``stderr_mc`` is the part of
    the error bar from the Monte-Carlo draws alone, sqrt(mean within-example var / (repeats n)).
    """
    draws = bits_draws(model, x, key, repeats)
    per_example = draws.mean(0)
    n, D = len(per_example), int(np.prod(np.shape(x)[1:]))
    stderr = per_example.std(ddof=1) / np.sqrt(n)
    stderr_mc = (np.sqrt(draws.var(0, ddof=1).mean() / (repeats * n)) if repeats > 1
                 else float("nan"))
    return {"bits_per_dim": float(per_example.mean() / D),
            "bits_per_example": float(per_example.mean()),
            "stderr_bits_per_dim": float(stderr / D), "stderr_bits_per_example": float(stderr),
            "stderr_mc_bits_per_example": float(stderr_mc), "n": int(n), "repeats": int(repeats)}


# ------------------------------------------------------------------------- the command line


def _levels(info: RunInfo) -> int:
    q = info.options.get("quantized") or 0
    if q:
        return 2**q
    return int(info.data_stats.get("levels") or 0)


def _stats(dataset: Dataset, options: dict) -> dict:
    if options.get("quantized"):
        x = dataset.data if dataset.data is not None else np.asarray(
            dataset.sample(jax.random.key(0), 1000))
        if np.abs(np.asarray(x)).max() > 1:
            raise ValueError("--quantized needs data scaled to [-1, 1] (e.g. 2 * uint8 / 255 - 1)")
    bounded = dataset.value_range == (-1.0, 1.0)
    return {"levels": dataset.levels if (dataset.levels and bounded) else 0}


def _ddpm_init(info: RunInfo):
    o = info.options
    model = DDPM(DDPMConfig(data_dim=int(np.prod(info.shape)), T=o["T"],
                            hidden=(o["width"],) * o["depth"], levels=_levels(info),
                            parameterization=o["parameterization"]), rngs=nnx.Rngs(info.seed))
    return model, nnx.Optimizer(model, optax.adam(o["lr"]), wrt=nnx.Param)


def _vdm_init(info: RunInfo):
    o = info.options
    model = VDM(VDMConfig(data_dim=int(np.prod(info.shape)), hidden=(o["width"],) * o["depth"],
                          levels=_levels(info)), rngs=nnx.Rngs(info.seed))
    return model, nnx.Optimizer(model, optax.adamw(o["lr"]), wrt=nnx.Param)


def _binomial_init(info: RunInfo):
    o = info.options
    model = BinomialDiffusion(BinomialConfig(data_dim=int(np.prod(info.shape)), T=o["T"]),
                              rngs=nnx.Rngs(info.seed))
    return model, nnx.Optimizer(model, optax.adam(o["lr"]), wrt=nnx.Param)


def _sample(objects, key, n, info):
    return np.asarray(objects[0].sample(key, n)).reshape(n, *info.shape)


def _evaluate(objects, dataset, key, info):
    x = dataset.data if dataset.data is not None else np.asarray(dataset.sample(key, 2000))
    if _levels(info) and np.abs(np.asarray(x)).max() > 1:
        raise ValueError("this model was trained on quantized data in [-1, 1]; the evaluation "
                         "data must be scaled the same way")
    return evaluate_model_bits(objects[0], x, key)


def _binary_stats(dataset: Dataset, options: dict) -> dict:
    x = dataset.data if dataset.data is not None else np.asarray(
        dataset.sample(jax.random.key(0), 1000))
    if not np.all((np.asarray(x) == 0) | (np.asarray(x) == 1)):
        raise ValueError(f"the binomial model needs binary data (0/1); '{dataset.name}' is not")
    return {}


_common = {"width": Option(int, 256, "hidden units per layer"),
           "depth": Option(int, 3, "hidden layers"),
           "lr": Option(float, 1e-3, "learning rate")}

register(ModelSpec(
    name="ddpm", description="discrete-time Gaussian diffusion (Ho et al. 2020), ELBO in bits",
    init=_ddpm_init, train_step=ddpm_train_step, sample=_sample, evaluate=_evaluate,
    options=_common | {"T": Option(int, 1000, "diffusion steps"),
                       "parameterization": Option(str, "noise", "what the network predicts",
                                                  choices=("noise", "x0", "score")),
                       "quantized": Option(int, 0, "BITS: data quantized to 2^BITS levels in "
                                                   "[-1, 1] (8 for uint8 images); 0: "
                                                   "continuous, or the data set's own levels")},
    data_stats=_stats))
register(ModelSpec(
    name="vdm", description="continuous-time variational diffusion (Kingma et al. 2021), "
                            "learned schedule",
    init=_vdm_init, train_step=vdm_train_step, sample=_sample, evaluate=_evaluate,
    options=_common | {"quantized": Option(int, 0, "BITS, as for ddpm")}, data_stats=_stats))
register(ModelSpec(
    name="binomial", description="binomial diffusion on binary data (Sohl-Dickstein et al. 2015)",
    init=_binomial_init, train_step=binomial_train_step, sample=_sample, evaluate=_evaluate,
    options={"T": Option(int, 2000, "diffusion steps"), "lr": Option(float, 1e-3, "Adam lr")},
    data_stats=_binary_stats))

__all__ = ["bits_per_dim"]
