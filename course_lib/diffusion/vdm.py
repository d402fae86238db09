"""The variational diffusion model (Kingma et al. 2021): continuous time, a learned schedule.

gamma(t) = -log SNR(t) on t in [0, 1]; sigma_t^2 = sigmoid(gamma(t)), alpha_t^2 =
sigmoid(-gamma(t)). Equation numbers refer to the VDM paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import nnx

from course_lib import nets
from course_lib.config import setting
from course_lib.diffusion.elbo import ELBOTerms, elbo_loss, elbo_train_step
from course_lib.diffusion.gaussian_diffusion import bin_centres, level_log_prob
from course_lib.diffusion.schedules import LearnedGamma, LinearGamma
from course_lib.normal import gaussian_kl, normal_log_prob


@dataclass(frozen=True)
class VDMConfig:
    """Continuous-time variational diffusion model (Kingma et al. 2021) on vectors. The
    optimizer is AdamW(lr), as in google-research/vdm (:mod:`course_lib.diffusion.family`)."""

    data_dim: int = setting(help="numbers per example", from_data=True)
    hidden: tuple[int, ...] = setting((256, 256, 256), "hidden units per layer")
    learned_schedule: bool = setting(True, "learn gamma(t) = -log SNR(t) (a monotone network); "
                                     "else linear from gamma_min to gamma_max")
    gamma_min: float = setting(-13.3, "gamma(0) at initialisation")
    gamma_max: float = setting(5.0, "gamma(1) at initialisation")
    levels: int = setting(0, "values per dimension of quantized data in [-1, 1] (0: "
                          "continuous); the command line takes the data set's own by default")
    lr: float = setting(1e-3, "AdamW learning rate")
    image_shape: tuple[int, int] | None = setting(None, "given: a periodic conv net on images "
                                                  "of this shape (Ising lattices)")
    conv_features: int = setting(32, "channels of the conv net")
    level_logits: bool = setting(False, "with image_shape and levels: a zero-padded conv net "
                                 "gives logits over each pixel's levels, combined with the "
                                 "likelihood of z_t into x_hat = E[x | z_t] (exact rounding at "
                                 "low noise)", added=True)
    dilations: tuple[int, ...] = setting((1, 2, 1, 2), "dilation of each residual 3x3 conv of "
                                         "the level-logits net", added=True)
    decay_steps: int = setting(0, "> 0: the learning rate falls from lr to 0 along a cosine over "
                               "this many steps (then stays 0)", added=True)


class VDM(nnx.Module):
    """gamma(t) (learned or linear), a network eps_hat(z_t, gamma_t), the continuous-time
    ELBO (VDM Eq. 11 and 17) and ancestral sampling."""

    def __init__(self, config: VDMConfig, *, rngs: nnx.Rngs):
        self.config = config
        self.gamma = (LearnedGamma(gamma_min=config.gamma_min, gamma_max=config.gamma_max,
                                   rngs=rngs) if config.learned_schedule
                      else LinearGamma(config.gamma_min, config.gamma_max))
        if config.level_logits:
            if config.image_shape is None or not config.levels:
                raise ValueError("level_logits needs image_shape and levels (quantized images)")
            self.net = nets.LevelLogitsConvNet(config.levels, config.conv_features,
                                               config.dilations, rngs=rngs)
        elif config.image_shape is None:
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
        if self.config.level_logits:
            return self._eps_from_level_logits(z, g, self.net(image, s))
        return self.net(image, s).reshape(z.shape)

    def _eps_from_level_logits(self, z, g, prior_logits):
        """eps_hat from x_hat = E[x_i | z]: p(x_i = v | z) is proportional to p(z_i | x_i = v)
        p(x_i = v | z_others), the network giving the second factor's logits. At low noise the
        likelihood alone rounds z_i / alpha to its level, which an eps network cannot learn
        (a sawtooth of slope 1 / sigma); eps_hat = (z - alpha x_hat) / sigma (VDM Eq. 3)."""
        v = bin_centres(self.config.levels)
        alpha = jnp.sqrt(jax.nn.sigmoid(-g))[:, None, None]
        sigma = jnp.sqrt(jax.nn.sigmoid(g))[:, None, None]
        log_lik = -0.5 * ((z[..., None] - alpha * v) / sigma) ** 2
        weights = jax.nn.softmax(prior_logits.reshape(log_lik.shape) + log_lik, -1)
        x_hat = weights @ v
        return (z - alpha[..., 0] * x_hat) / sigma[..., 0]

    def elbo_terms(self, x, key) -> ELBOTerms:
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
        prior = jnp.sum(gaussian_kl(jnp.sqrt(1 - var_1) * x, var_1, 0.0, 1.0), -1)

        g_0 = self.gamma(jnp.zeros(()))
        alpha_0, sigma_0 = jnp.sqrt(jax.nn.sigmoid(-g_0)), jnp.sqrt(jax.nn.sigmoid(g_0))
        z_0 = alpha_0 * x + sigma_0 * jax.random.normal(k_0, x.shape)
        if self.config.levels:
            log_p = level_log_prob(x, z_0, alpha_0, sigma_0, self.config.levels)
        else:
            log_p = normal_log_prob(x, z_0 / alpha_0, (sigma_0 / alpha_0) ** 2)
        reconstruction = -jnp.sum(log_p, -1)
        return ELBOTerms(reconstruction=reconstruction, prior=prior, diffusion=diffusion)

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


vdm_train_step = elbo_train_step  # VDM trains on its ELBO (Kingma et al. 2021)


def _is_schedule_interior(path) -> bool:
    """The parameters that shape gamma(t) between its end points (not gamma_min, gamma_max)."""
    names = jax.tree_util.keystr(path, simple=True, separator="/").split("/")
    return "gamma" in names and not {"gamma_min", "gamma_max"} & set(names)


def vdm_variance_loss(model, x, key):
    """Mean square of the diffusion loss per example, E[L_diff^2]: its mean E[L_diff] does not
    depend on the interior of the schedule, so minimising this over the interior minimises
    the estimator's variance (Kingma et al. 2021, sec. 5.3)."""
    return jnp.mean(model.elbo_terms(x, key).diffusion ** 2)


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
