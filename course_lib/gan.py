"""Generative adversarial networks: the losses of the lecture, one training step for all of them,
and the conditional and semi-supervised variants.

Notation follows the notebooks: the discriminator D(x) = sigmoid(d(x)) with logit d, the
generator G(z), data x ~ p_r, samples G(z) ~ p_g. The value function (Goodfellow et al. 2014)

    V(G, D) = E_{x~p_r} log D(x) + E_{z~p_z} log(1 - D(G(z)))

is maximised by D and minimised by G. Written with logits, log D = -softplus(-d) and
log(1 - D) = -softplus(d), which stays finite when D saturates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from course_lib import metrics, nets
from course_lib.data import Dataset
from course_lib.models import ModelSpec, Option, RunInfo, register

LOSSES = ("non_saturating", "minimax", "wgan_clip", "wgan_gp")


# ------------------------------------------------------------------------------- the losses


def value_function(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """V(G, D) = E log D(x) + E log(1 - D(G(z))), estimated on a batch (Goodfellow Eq. 1)."""
    return -jnp.mean(jax.nn.softplus(-real_logits)) - jnp.mean(jax.nn.softplus(fake_logits))


def discriminator_loss(real_logits, fake_logits):
    """-V(G, D): binary cross-entropy with labels 1 for data and 0 for samples."""
    return -value_function(real_logits, fake_logits)


def generator_loss_minimax(fake_logits):
    """E log(1 - D(G(z))): the generator's part of V, minimised as the game states.

    Its gradient vanishes when D confidently rejects the samples (D(G(z)) -> 0).
    """
    return -jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss_non_saturating(fake_logits):
    """-E log D(G(z)): the same fixed point, with strong gradients when D(G(z)) is small."""
    return jnp.mean(jax.nn.softplus(-fake_logits))


def critic_loss_wasserstein(real_scores, fake_scores):
    """-(E C(x) - E C(G(z))): the critic maximises the Kantorovich-Rubinstein dual of W1."""
    return jnp.mean(fake_scores) - jnp.mean(real_scores)


def gradient_penalty(critic, real, fake, key):
    """E (||grad C(x_hat)|| - 1)^2 at x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1]
    (Gulrajani et al. 2017). eps is uniform: drawing it from N(0, 1) is a known bug."""
    eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1))
    x_hat = eps * real + (1 - eps) * fake
    grads = jax.grad(lambda x: critic(x).sum())(x_hat)
    norms = jnp.sqrt(jnp.sum(grads.reshape(len(grads), -1) ** 2, axis=1) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)


# ------------------------------------------------------------------------------- the models


@dataclass(frozen=True)
class GANConfig:
    """A GAN on vectors of ``data_dim`` numbers (images are flattened).

    loss:          non_saturating | minimax | wgan_clip | wgan_gp
    critic_steps:  discriminator updates per generator update (5 for WGAN, Gulrajani et al.)
    gp_weight:     lambda of the gradient penalty (0.1 on the 2D toys, 10 on images)
    clip:          weight clipping range of the original WGAN
    latent:        "normal" or "uniform" on [-1, 1] (Raschka's GAN)
    pack:          PacGAN: the discriminator sees ``pack`` samples concatenated, all real
                   or all generated, which lets it notice a lack of diversity
    decay_start, decay_steps:  both learning rates stay constant for ``decay_start`` steps, then
                   follow a cosine to 0 over ``decay_steps`` (0: constant throughout). Small
                   final steps let the generator settle onto the modes instead of jittering
                   around them.
    instance_noise, noise_anneal_steps:  D sees data and samples through added Gaussian noise of
                   std ``instance_noise``, falling linearly to 0 over ``noise_anneal_steps``
                   (0: none). The blur makes the two distributions overlap, so D's gradient
                   reaches samples far from any data and pulls mass towards empty modes
                   (Arjovsky & Bottou 2017; Sonderby et al. 2016).
    """

    data_dim: int
    latent_dim: int = 2
    hidden: tuple[int, ...] = (128, 128)
    act: str = "relu"
    out_act: str | None = None
    d_dropout: float = 0.0
    loss: str = "non_saturating"
    critic_steps: int = 1
    gp_weight: float = 0.1
    clip: float = 0.01
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    b1: float = 0.5
    b2: float = 0.999
    latent: str = "normal"
    num_classes: int = 0  # > 0: a conditional GAN, labels one-hot into both networks
    pack: int = 1  # PacGAN (Lin et al. 2018): D judges `pack` samples at once
    decay_start: int = 0
    decay_steps: int = 0
    instance_noise: float = 0.0
    noise_anneal_steps: int = 0

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"unknown GAN loss '{self.loss}'; accepted: {', '.join(LOSSES)}")
        if self.latent not in ("normal", "uniform"):
            raise ValueError(f"latent must be 'normal' or 'uniform', got '{self.latent}'")
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


def _split(batch):
    return batch if isinstance(batch, tuple) else (batch, None)


def discriminator_objective(D, x, fake, labels, key):
    """The loss D minimises on one batch, with its outputs on data and samples."""
    config = D.config
    real_out, fake_out = D(x, labels), D(fake, labels)
    if not config.loss.startswith("wgan"):
        return discriminator_loss(real_out, fake_out), (real_out, fake_out)
    loss = critic_loss_wasserstein(real_out, fake_out)
    if config.loss == "wgan_gp":
        loss += config.gp_weight * gradient_penalty(lambda v: D(v, labels), x, fake, key)
    return loss, (real_out, fake_out)


def train_step(G, D, opt_G, opt_D, batch, key):
    """One generator update after ``critic_steps`` discriminator updates.

    ``batch`` holds ``critic_steps`` real batches stacked on axis 0 (see :func:`batches`),
    each optionally with labels. Returns the metrics the notebooks plot.
    """
    config = G.config
    reals, labels = _split(batch)
    k_steps = jax.random.split(key, config.critic_steps + 1)
    wasserstein = config.loss.startswith("wgan")

    def seen_by_D(x, key):  # instance noise; without it no extra random numbers are drawn
        if not config.instance_noise:
            return x
        return x + instance_noise_std(config, opt_G.step[...]) * jax.random.normal(key, x.shape)

    for i in range(config.critic_steps):
        x = reals[i].reshape(reals.shape[1], -1)
        y = None if labels is None else labels[i]
        kz, kgp = jax.random.split(k_steps[i])
        fake = G(sample_latent(config, kz, x.shape[0]), y)
        x = seen_by_D(x, jax.random.fold_in(kz, 1))
        fake = seen_by_D(fake, jax.random.fold_in(kz, 2))
        (d_loss, (real_out, fake_out)), grads = nnx.value_and_grad(
            discriminator_objective, has_aux=True)(D, x, fake, y, kgp)
        opt_D.update(D, grads)
        if config.loss == "wgan_clip":
            params = nnx.state(D, nnx.Param)
            nnx.update(D, jax.tree.map(lambda p: jnp.clip(p, -config.clip, config.clip), params))

    y = None if labels is None else labels[-1]
    z = sample_latent(config, k_steps[-1], reals.shape[1])

    def g_objective(G, D):  # D is an argument, not a closure: NNX may update its RNG state
        fake_out = D(seen_by_D(G(z, y), jax.random.fold_in(k_steps[-1], 1)), y)
        if wasserstein:
            return -jnp.mean(fake_out)
        if config.loss == "minimax":
            return generator_loss_minimax(fake_out)
        return generator_loss_non_saturating(fake_out)

    g_loss, g_grads = nnx.value_and_grad(g_objective)(G, D)
    opt_G.update(G, g_grads)
    out = {"d_loss": d_loss, "g_loss": g_loss,
           "g_grad_norm": optax.tree.norm(g_grads)}
    if not wasserstein:
        out |= {"d_real": jnp.mean(jax.nn.sigmoid(real_out)),
                "d_fake": jnp.mean(jax.nn.sigmoid(fake_out))}
    else:
        out |= {"w_estimate": jnp.mean(real_out) - jnp.mean(fake_out)}
    return out


def batches(dataset: Dataset, config: GANConfig):
    """sample_batch for :func:`train`: ``critic_steps`` fresh real batches per step."""
    k = config.critic_steps
    if config.num_classes:
        def sample(key, n):
            x, y = dataset.sample_with_labels(key, n * k)
            return x.reshape(k, n, *x.shape[1:]), y.reshape(k, n)
    else:
        def sample(key, n):
            x = dataset.sample(key, n * k)
            return x.reshape(k, n, *x.shape[1:])
    return sample


def generate(G: Generator, key, n, labels=None, shape=None):
    """n samples G(z), reshaped to ``shape`` per example if given."""
    kz, ky = jax.random.split(key)
    if G.config.num_classes and labels is None:
        labels = jax.random.randint(ky, (n,), 0, G.config.num_classes)
    x = G(sample_latent(G.config, kz, n), labels)
    return x.reshape(n, *shape) if shape is not None else x


# -------------------------------------------------------------- semi-supervised GAN (K + 1)


def semi_supervised_step(G, D, opt_G, opt_D, batch, key, *, unsup_weight=1.0):
    """Salimans et al. (2016): D has K logits l_k; class K+1 ("fake") has logit 0, so
    D(real) = Z/(Z+1) with Z = sum_k exp(l_k). Loss: cross-entropy on the few labeled
    examples + the GAN loss on unlabeled data and samples; G uses feature matching-free
    non-saturating loss on log D(real | G(z))."""
    (x_lab, y_lab), x_unl = batch
    config = G.config
    kz1, kz2 = jax.random.split(key)
    n = x_unl.shape[0]
    fake = G(sample_latent(config, kz1, n))

    def d_objective(D):
        logits_lab = D(x_lab)
        supervised = optax.softmax_cross_entropy_with_integer_labels(logits_lab, y_lab).mean()
        lse_real = jax.nn.logsumexp(D(x_unl), -1)  # log Z: the logit of "real"
        lse_fake = jax.nn.logsumexp(D(fake), -1)
        unsupervised = (jnp.mean(jax.nn.softplus(-lse_real)) + jnp.mean(jax.nn.softplus(lse_fake)))
        return supervised + unsup_weight * unsupervised, supervised

    (d_loss, sup), grads = nnx.value_and_grad(d_objective, has_aux=True)(D)
    opt_D.update(D, grads)

    def g_objective(G, D):
        logits = D(G(sample_latent(config, kz2, n)))
        return jnp.mean(jax.nn.softplus(-jax.nn.logsumexp(logits, -1)))

    g_loss, g_grads = nnx.value_and_grad(g_objective)(G, D)
    opt_G.update(G, g_grads)
    return {"d_loss": d_loss, "supervised": sup, "g_loss": g_loss}


def init_semi_supervised(config: GANConfig, num_classes: int, seed: int = 0):
    rngs = nnx.Rngs(seed)
    G = Generator(config, rngs=rngs)
    D = Discriminator(config, rngs=rngs, outputs=num_classes)
    tx = lambda lr: optax.adam(lr, b1=config.b1, b2=config.b2)
    return G, D, nnx.Optimizer(G, tx(config.lr_g), wrt=nnx.Param), nnx.Optimizer(
        D, tx(config.lr_d), wrt=nnx.Param)


# ------------------------------------------------------------------------- the command line


def _config_from(info: RunInfo, loss: str) -> GANConfig:
    o = info.options
    dim = int(np.prod(info.shape))
    wgan = loss.startswith("wgan")
    return GANConfig(
        data_dim=dim, latent_dim=o["latent_dim"], hidden=(o["width"],) * o["depth"],
        loss=loss, critic_steps=5 if wgan else 1, gp_weight=o.get("gp_weight", 0.1),
        lr_g=o["lr"], lr_d=o["lr"], b1=0.5, b2=0.9 if wgan else 0.999,
        num_classes=(info.num_classes or 0) if o.get("conditional") else 0,
        decay_start=o["decay_start"], decay_steps=o["decay_steps"],
        instance_noise=o["instance_noise"], noise_anneal_steps=o["noise_anneal_steps"],
        out_act="tanh" if info.data_stats.get("bounded") else None)


def _cli_spec(name, description, loss_of, extra=None, conditional=False):
    options = {"latent_dim": Option(int, 2, "dimension of z"),
               "width": Option(int, 256, "hidden units per layer"),
               "depth": Option(int, 3, "hidden layers"),
               "lr": Option(float, 1e-4, "Adam learning rate of both networks"),
               "decay_start": Option(int, 0, "steps at the constant learning rate"),
               "decay_steps": Option(int, 0, "then a cosine of both rates to 0 over this many "
                                             "steps (0: constant)"),
               "instance_noise": Option(float, 0.0, "std of the noise D sees on data and "
                                                     "samples (0: none)"),
               "noise_anneal_steps": Option(int, 0, "steps over which it falls to 0")
               } | (extra or {})

    def config(info):
        if conditional:
            info = replace(info, options=info.options | {"conditional": True})
        return _config_from(info, loss_of(info.options))

    def init_(info):
        return init(config(info), info.seed)

    def batches_(dataset, info):
        return batches(dataset, config(info))

    def sample(objects, key, n, info):
        return np.asarray(generate(objects[0], key, n, shape=info.shape))

    def evaluate(objects, dataset, key, info):
        k1, k2 = jax.random.split(key)
        fake = np.asarray(generate(objects[0], k1, 2500, shape=info.shape))
        real = (np.asarray(dataset.data) if dataset.data is not None
                else np.asarray(dataset.sample(k2, 2500)))
        real = real[:2500]
        out = {"mmd": float(metrics.mmd(fake.reshape(len(fake), -1),
                                        real.reshape(len(real), -1)))}
        if dataset.means is not None:  # the built-in mixtures, or --means/--std
            modes, hq = metrics.mode_coverage(fake, dataset.means, dataset.std)
            out |= {"modes": modes, "modes_total": len(dataset.means), "high_quality": hq}
        return out

    def stats(dataset, options):
        lo, hi = dataset.value_range or (None, None)
        return {"bounded": lo == -1.0 and hi == 1.0}

    return register(ModelSpec(name=name, description=description, init=init_,
                              train_step=train_step, sample=sample, evaluate=evaluate,
                              options=options, batches=batches_, needs_labels=conditional,
                              data_stats=stats))


_cli_spec("gan", "GAN, non-saturating generator loss (--loss minimax: the saturating one)",
          lambda o: o["loss"],
          {"loss": Option(str, "non_saturating", "generator loss",
                          choices=("non_saturating", "minimax"))})
_cli_spec("wgan-gp", "Wasserstein GAN with gradient penalty, 5 critic steps",
          lambda o: "wgan_gp", {"gp_weight": Option(float, 0.1, "lambda (0.1 toys, 10 images)")})
_cli_spec("cgan", "conditional GAN: class labels (from the data's 'y') into both networks",
          lambda o: o["loss"],
          {"loss": Option(str, "non_saturating", "generator loss",
                          choices=("non_saturating", "minimax"))}, conditional=True)

__all__ = ["GANConfig", "Generator", "Discriminator", "init", "train_step", "batches",
           "generate", "value_function", "discriminator_loss", "generator_loss_minimax",
           "generator_loss_non_saturating", "critic_loss_wasserstein", "gradient_penalty",
           "semi_supervised_step", "init_semi_supervised"]
