"""The GAN's two networks, their settings and their optimizers.

Notation follows the notebooks: the generator G(z) maps a latent z ~ p_z to a sample, the
discriminator D(x) = sigmoid(d(x)) returns a logit d (a WGAN critic: a score). A conditional
GAN feeds a one-hot label into both; PacGAN shows D ``pack`` samples at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from course_lib import nets
from course_lib.config import check_choices, setting

LOSSES = ("non_saturating", "minimax", "wgan_clip", "wgan_gp")


@dataclass(frozen=True)
class GANConfig:
    """A GAN on vectors of ``data_dim`` numbers (images are flattened); the defaults are the
    2D toys' recipe. The optimizers are Adam(lr, b1, b2) (RMSProp for ``wgan_clip``)."""

    data_dim: int = setting(help="numbers per example", from_data=True)
    latent_dim: int = setting(2, "dimension of z")
    hidden: tuple[int, ...] = setting((128, 128), "hidden units per layer, of both networks")
    act: str = setting("relu", "hidden activation of G (D uses leaky_relu_0.2 in its place)")
    out_act: str | None = setting(None, "G's output activation: tanh for data in [-1, 1]",
                                  from_data=True)
    d_dropout: float = setting(0.0, "dropout rate in D")
    loss: str = setting("non_saturating", "the game: non_saturating or minimax generator loss, "
                        "or a Wasserstein critic with weight clipping or gradient penalty",
                        choices=LOSSES)
    critic_steps: int = setting(1, "D updates per G update (5 for WGAN, Gulrajani et al.)")
    gp_weight: float = setting(0.1, "lambda of the gradient penalty (0.1 on 2D toys, 10 on "
                               "images)")
    clip: float = setting(0.01, "weight clipping range of the original WGAN")
    lr_g: float = setting(1e-3, "learning rate of G")
    lr_d: float = setting(1e-3, "learning rate of D")
    b1: float = setting(0.5, "Adam beta_1 of both networks")
    b2: float = setting(0.999, "Adam beta_2 of both networks (0.9 for WGAN-GP)")
    latent: str = setting("normal", "distribution of z: normal, or uniform on [-1, 1] "
                          "(Raschka's GAN)", choices=("normal", "uniform"))
    num_classes: int = setting(0, "> 0: a conditional GAN, one-hot labels into both networks",
                               from_data=True)
    pack: int = setting(1, "PacGAN (Lin et al. 2018): D judges `pack` samples at once, all real "
                        "or all generated, which lets it notice a lack of diversity")
    decay_start: int = setting(0, "steps at constant learning rates")
    decay_steps: int = setting(0, "then a cosine of both rates to 0 over this many steps "
                               "(0: constant throughout); small final steps let G settle onto "
                               "the modes")
    instance_noise: float = setting(0.0, "std of Gaussian noise added to what D sees, data and "
                                    "samples (0: none); the blur makes the two distributions "
                                    "overlap (Arjovsky & Bottou 2017; Sonderby et al. 2016)")
    noise_anneal_steps: int = setting(0, "steps over which the instance noise falls linearly "
                                      "to 0")

    def __post_init__(self):
        check_choices(self)
        if self.critic_steps < 1:
            raise ValueError(f"critic_steps must be >= 1, got {self.critic_steps}")
        if self.decay_start < 0 or self.decay_steps < 0:
            raise ValueError(f"decay_start and decay_steps must be >= 0, got "
                             f"{self.decay_start} and {self.decay_steps}")
        if self.instance_noise < 0 or (self.instance_noise and self.noise_anneal_steps <= 0):
            raise ValueError(f"instance_noise must be >= 0 and, when > 0, noise_anneal_steps "
                             f"> 0; got {self.instance_noise} and {self.noise_anneal_steps}")


def learning_rate(config: GANConfig, lr: float, updates_per_step: int = 1):
    """``lr``, or the schedule: constant for ``decay_start`` steps, then a cosine to 0 over
    ``decay_steps``, both counted in generator steps. An optimizer that makes
    ``updates_per_step`` updates per generator step (D: ``critic_steps``) counts its own
    updates, so its count is divided back into generator steps; otherwise a WGAN critic's
    rate would reach 0 after a fifth of the schedule and stay frozen while G trains."""
    if not config.decay_steps:
        return lr
    schedule = optax.join_schedules(
        [optax.constant_schedule(lr), optax.cosine_decay_schedule(lr, config.decay_steps)],
        [config.decay_start])
    if updates_per_step == 1:
        return schedule
    return lambda count: schedule(count // updates_per_step)


def instance_noise_std(config: GANConfig, step) -> jax.Array:
    """sigma_t = instance_noise * max(0, 1 - t / noise_anneal_steps) at generator step t."""
    return config.instance_noise * jnp.clip(1.0 - step / config.noise_anneal_steps, 0.0, 1.0)


def sample_latent(config: GANConfig, key, n):
    if config.latent == "uniform":
        return jax.random.uniform(key, (n, config.latent_dim), minval=-1.0, maxval=1.0)
    return jax.random.normal(key, (n, config.latent_dim))


class Generator(nnx.Module):
    """z (and a one-hot label for a conditional GAN) -> x."""

    def __init__(self, config: GANConfig, *, rngs: nnx.Rngs):
        self.config = config
        self.net = nets.MLP(config.latent_dim + config.num_classes, config.hidden,
                            config.data_dim, act=config.act, out_act=config.out_act, rngs=rngs)

    def __call__(self, z, labels=None):
        if self.config.num_classes:
            z = jnp.concatenate([z, jax.nn.one_hot(labels, self.config.num_classes)], -1)
        return self.net(z)


class Discriminator(nnx.Module):
    """x (and a one-hot label) -> a logit d(x), D(x) = sigmoid(d(x)); a WGAN critic's score."""

    def __init__(self, config: GANConfig, *, rngs: nnx.Rngs, outputs: int = 1):
        self.config = config
        self.net = nets.MLP((config.data_dim + config.num_classes) * config.pack, config.hidden,
                            outputs,
                            act="leaky_relu_0.2" if config.act == "relu" else config.act,
                            dropout=config.d_dropout, rngs=rngs)

    def __call__(self, x, labels=None):
        x = x.reshape(x.shape[0], -1)
        if self.config.num_classes:
            x = jnp.concatenate([x, jax.nn.one_hot(labels, self.config.num_classes)], -1)
        x = x.reshape(x.shape[0] // self.config.pack, -1)  # PacGAN: groups of `pack`
        out = self.net(x)
        return out[:, 0] if out.shape[-1] == 1 else out


def init(config: GANConfig, seed: int = 0):
    """(G, D, opt_G, opt_D): the objects that :func:`course_lib.train.train` trains."""
    rngs = nnx.Rngs(seed)
    G, D = Generator(config, rngs=rngs), Discriminator(config, rngs=rngs)
    # WGAN with clipping used RMSProp (Arjovsky et al.); the others Adam.
    if config.loss == "wgan_clip":
        tx_g, tx_d = optax.rmsprop(config.lr_g), optax.rmsprop(config.lr_d)
    else:
        tx_g = optax.adam(learning_rate(config, config.lr_g), b1=config.b1, b2=config.b2)
        tx_d = optax.adam(learning_rate(config, config.lr_d, config.critic_steps),
                          b1=config.b1, b2=config.b2)
    return G, D, nnx.Optimizer(G, tx_g, wrt=nnx.Param), nnx.Optimizer(D, tx_d, wrt=nnx.Param)


def generate(G: Generator, key, n, labels=None, shape=None):
    """n samples G(z), reshaped to ``shape`` per example if given."""
    c = G.config  # of it G(z) reads only these: generators trained otherwise share a program
    view = nnx.merge(*nnx.split(G))
    view.config = GANConfig(c.data_dim, c.latent_dim, c.hidden, c.act, c.out_act,
                            latent=c.latent, num_classes=c.num_classes)
    graphdef, state = nnx.split(view)
    return _generate(graphdef, state, key, n, labels, shape)


@partial(jax.jit, static_argnums=(0, 3, 5))
def _generate(graphdef, state, key, n, labels, shape):
    # one compiled program per generator's structure and n, the same numbers as op by op,
    # whose compilations (one per operation and shape) were a tenth of week16_gans' first run
    G = nnx.merge(graphdef, state)
    kz, ky = jax.random.split(key)
    if G.config.num_classes and labels is None:
        labels = jax.random.randint(ky, (n,), 0, G.config.num_classes)
    x = G(sample_latent(G.config, kz, n), labels)
    return x.reshape(n, *shape) if shape is not None else x


def init_semi_supervised(config: GANConfig, num_classes: int, seed: int = 0):
    rngs = nnx.Rngs(seed)
    G = Generator(config, rngs=rngs)
    D = Discriminator(config, rngs=rngs, outputs=num_classes)
    tx = lambda lr: optax.adam(lr, b1=config.b1, b2=config.b2)
    return G, D, nnx.Optimizer(G, tx(config.lr_g), wrt=nnx.Param), nnx.Optimizer(
        D, tx(config.lr_d), wrt=nnx.Param)


