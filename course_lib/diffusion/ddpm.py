"""The discrete-time diffusion model, DDPM (Ho et al. 2020), with the ELBO of Luo Eq. 58.

Time steps t = 1..T; ``alphas[t-1]`` is alpha_t, ``alpha_bar[t-1]`` is alpha_bar_t and
alpha_bar_0 = 1. Equation numbers refer to Luo (arXiv 2208.11970).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from course_lib import nets
from course_lib.config import check_choices, setting
from course_lib.diffusion.elbo import ELBOTerms
from course_lib.diffusion.gaussian_diffusion import (
    bin_centres,
    decoder_log_prob,
    gaussian_kl,
    kl_to_standard_normal,
    level_log_prob,
    q_posterior,
    q_sample,
    x0_from_noise,
    x0_from_score,
)
from course_lib.diffusion.schedules import (
    alpha_bar,
    check_snr_decreasing,
    cosine_betas,
    linear_betas,
    log_snr_betas,
    snr,
)


@dataclass(frozen=True)
class DDPMConfig:
    """A discrete-time Gaussian diffusion on vectors (images are flattened). The optimizer is
    Adam(lr) (:mod:`course_lib.diffusion.family`)."""

    data_dim: int = setting(help="numbers per example", from_data=True)
    T: int = setting(1000, "diffusion steps")
    schedule: str = setting("linear", "beta_t: linear from beta_1 to beta_T (Ho et al.), or "
                            "cosine (Nichol and Dhariwal 2021)", choices=("linear", "cosine"))
    beta_1: float = setting(1e-4, "first beta of the linear schedule")
    beta_T: float = setting(0.02, "last beta of the linear schedule")
    parameterization: str = setting("noise", "what the network predicts: noise (Eq. 130), x0 "
                                    "(Eq. 109) or score (Eq. 148)",
                                    choices=("noise", "x0", "score"))
    loss: str = setting("simple", "what training minimises: simple = ||eps - eps_hat||^2 at a "
                        "uniform t (Ho et al.); elbo = the negative ELBO (Eq. 58, SNR weights "
                        "of Eq. 110); hybrid = simple + 0.001 ELBO with the mean's gradient "
                        "stopped in the ELBO part, to learn the variances (Nichol and "
                        "Dhariwal)", choices=("simple", "elbo", "hybrid"))
    hidden: tuple[int, ...] = setting((256, 256, 256), "hidden units per layer")
    levels: int = setting(0, "values per dimension of quantized data in [-1, 1] (17 for the "
                          "digits, 256 for 8-bit images; 0: continuous); the command line "
                          "takes the data set's own by default")
    lr: float = setting(1e-3, "Adam learning rate")
    learn_variance: bool = setting(False, "learn the reverse steps' variances, log sigma_t^2 "
                                   "between log beta_t and log beta_tilde_t (Nichol and "
                                   "Dhariwal); else sigma_t^2 = beta_tilde_t. With few steps "
                                   "(T = 40) it matters")
    decay_steps: int = setting(0, "> 0: the learning rate falls from lr to 0 along a cosine over "
                               "this many steps (then stays 0)", added=True)

    def __post_init__(self):
        check_choices(self)
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
                      first step's noise sqrt(sigmoid(gamma_1)) (0.024 for -7.5, where VDM's
                      learned gamma(0) ends up on the digits) is a fifth of the 17 levels'
                      spacing 0.125, not a tenth of it (linear betas: sqrt(1e-4) = 0.01).
    decoder p(x_0 | x_1): :func:`level_log_prob` over the levels, not a discretised Gaussian
                      around the network's x0_hat: no network has to learn to round.
    """

    gamma_1: float = setting(-7.5, "gamma = -log SNR at t = 1")
    gamma_T: float = setting(6.0, "gamma = -log SNR at t = T")

    def __post_init__(self):
        super().__post_init__()
        if self.levels < 2:
            raise ValueError("LevelsDDPMConfig needs quantized data (levels >= 2), "
                             f"got {self.levels}")

    def betas(self) -> np.ndarray:
        return log_snr_betas(self.T, self.gamma_1, self.gamma_T)


class DDPM(nnx.Module):
    """Discrete-time diffusion (Ho et al. 2020): the schedule as constants, one network that
    predicts noise, x_0 or the score, and the reverse steps built from the posterior (Eq. 84)."""

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

    def log_snr_between_steps(self, g):
        """The continuous time tau in [0, T] (in steps) at which gamma = -log SNR equals ``g``:
        -log alpha_bar = softplus(gamma) interpolated linearly between the steps (tau = 0:
        alpha_bar = 1), so that the discrete chain is the continuous one read at integer tau."""
        nodes = jnp.concatenate([jnp.zeros(1), -jnp.log(self.alpha_bar[...])])
        return jnp.interp(jax.nn.softplus(g), nodes, jnp.arange(self.config.T + 1.0))

    def gamma_T(self) -> jax.Array:
        """-log SNR at the last step: log((1 - alpha_bar_T) / alpha_bar_T)."""
        ab = self.alpha_bar[...][-1]
        return jnp.log1p(-ab) - jnp.log(ab)

    def eps_hat(self, z, g):
        """The network's noise prediction at -log SNR ``g`` (shape (B,)), in continuous time
        (the network's time input t / T is continuous; between the trained integer steps it
        interpolates, below t = 1 it extrapolates): the contract of VDM.eps_hat, so the
        probability-flow ODE (course_lib.diffusion.ode) treats both alike. Each
        parameterisation converted to the noise by Eq. 69, and Eq. 151 for the score."""
        out = self.net(z, self.log_snr_between_steps(g) / self.config.T)
        if self.config.learn_variance:
            out = jnp.split(out, 2, axis=-1)[0]
        ab, s2 = jax.nn.sigmoid(-g)[:, None], jax.nn.sigmoid(g)[:, None]
        if self.config.parameterization == "noise":
            return out
        if self.config.parameterization == "score":
            return -jnp.sqrt(s2) * out
        return (z - jnp.sqrt(ab) * out) / jnp.sqrt(s2)

    def reverse_variance(self, t, v):
        """sigma_t^2 of p(x_{t-1} | x_t): beta_tilde_t, or learned between it and beta_t.
        At t = 1, where beta_tilde_1 = 0, beta_tilde_2 stands in (as in Ho et al.)."""
        beta = (1 - self.alphas[...])[t - 1][:, None]
        beta_tilde = self.beta_tilde[...][t - 1][:, None]
        if v is None:
            return beta_tilde
        return jnp.exp(v * jnp.log(beta) + (1 - v) * jnp.log(beta_tilde))

    def simple_and_elbo_terms(self, x0, key) -> tuple[jax.Array, ELBOTerms]:
        """Ho et al.'s training loss L_simple and the negative ELBO's terms (Eq. 58), per
        example in nats, from one draw: one t ~ U{2..T} per example for both.

        simple:         ||eps - eps_hat||^2 at that t (training only: not part of the bound)
        reconstruction: -log p(x_0 | x_1)
        prior:          KL(q(x_T | x_0) || N(0, I))
        diffusion:      (T - 1) KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)); with fixed
                        variances = (T - 1) 1/2 (SNR(t-1) - SNR(t)) ||x_0 - x0_hat||^2 (Eq. 110)
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
            reconstruction = -jnp.sum(level_log_prob(x0, x_1, jnp.sqrt(ab_1), jnp.sqrt(1 - ab_1),
                                                     self.config.levels), -1)
        else:
            reconstruction = -decoder_log_prob(x0, mean, std, self.config.levels)
        terms = ELBOTerms(reconstruction=reconstruction,
                          prior=kl_to_standard_normal(x0, self.alpha_bar[-1]),
                          diffusion=(T - 1) * kl)
        return simple, terms

    def elbo_terms(self, x0, key) -> ELBOTerms:
        """The negative ELBO's terms per example, in nats (Eq. 58)."""
        return self.simple_and_elbo_terms(x0, key)[1]

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
    use :func:`course_lib.diffusion.elbo.evaluate_model_bits` for the bound."""
    if model.config.loss == "simple" and not model.config.learn_variance:
        return simple_loss(model, x0, key), {}
    simple, terms = model.simple_and_elbo_terms(x0, key)
    nelbo = terms.total().mean()
    loss = {"simple": simple.mean(), "elbo": nelbo,
            "hybrid": simple.mean() + 1e-3 * nelbo}[model.config.loss]
    return loss, {"nelbo": nelbo, **terms.batch_means(), "simple": simple.mean()}


def ddpm_train_step(model, optimizer, x0, key):
    (loss, metrics), grads = nnx.value_and_grad(ddpm_loss, has_aux=True)(model, x0, key)
    optimizer.update(model, grads)
    return {"loss": loss, **metrics}
