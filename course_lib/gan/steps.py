"""One training step for every GAN of the lecture, the batches it eats, and D alone against a
fixed generator.

The step follows the game as stated: ``critic_steps`` updates of D (or a WGAN critic) on fresh
batches, then one update of G against the updated D. The losses are in :mod:`.losses`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from course_lib.data import Dataset
from course_lib.gan.losses import (
    critic_loss_wasserstein,
    discriminator_loss,
    generator_loss_minimax,
    generator_loss_non_saturating,
    gradient_penalty,
)
from course_lib.gan.models import GANConfig, generate, init, instance_noise_std, sample_latent
from course_lib.train import TrainConfig, train


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

    def critic_step(D, opt_D, x, y, key):
        x = x.reshape(x.shape[0], -1)
        kz, kgp = jax.random.split(key)
        fake = G(sample_latent(config, kz, x.shape[0]), y)
        x = seen_by_D(x, jax.random.fold_in(kz, 1))
        fake = seen_by_D(fake, jax.random.fold_in(kz, 2))
        (d_loss, (real_out, fake_out)), grads = nnx.value_and_grad(
            discriminator_objective, has_aux=True)(D, x, fake, y, kgp)
        opt_D.update(D, grads)
        if config.loss == "wgan_clip":
            params = nnx.state(D, nnx.Param)
            nnx.update(D, jax.tree.map(lambda p: jnp.clip(p, -config.clip, config.clip), params))
        return d_loss, real_out, fake_out

    # Traced once and called critic_steps times (jax.jit inside a trace is inlined): the
    # program is the unrolled loop it always was, bit for bit, without tracing the critic
    # step (the gradient penalty's double backward) five times. A lax.scan would trace it
    # once too, but XLA compiles a loop body into other code than the unrolled steps, which
    # changes results in the last bits (4e-9 in D's Adam moments after one step).
    graphdef, critic = nnx.split((D, opt_D))

    @jax.jit
    def one_critic_step(critic, x, y, key):
        D, opt_D = nnx.merge(graphdef, critic)
        out = critic_step(D, opt_D, x, y, key)
        return nnx.state((D, opt_D)), out

    for i in range(config.critic_steps):
        critic, (d_loss, real_out, fake_out) = one_critic_step(
            critic, reals[i], None if labels is None else labels[i], k_steps[i])
    nnx.update((D, opt_D), critic)

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




def classifier_loss(model, batch, key):
    """Cross-entropy of a classifier of flattened examples on a batch (x, y): week16_gans'
    digit judge, and the few-label baseline the semi-supervised GAN is compared with."""
    x, y = batch
    return optax.softmax_cross_entropy_with_integer_labels(model(x.reshape(len(x), -1)), y).mean()


def labelled_indices(dataset: Dataset, labels: int, seed: int = 0) -> np.ndarray:
    """The rows of ``dataset`` whose labels are kept: labels / K per class of the K classes,
    chosen by ``default_rng(seed)`` (one draw of the few labels)."""
    classes = int(dataset.labels.max()) + 1
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(dataset.labels == k), labels // classes,
                                      replace=False) for k in range(classes)])


def train_with_snapshots(objects, dataset: Dataset, train_config: TrainConfig, every: int):
    """:func:`train_step` training of ``objects`` = (G, D, opt_G, opt_D) that also keeps 2500
    samples G(z) (z from key 1000 + seed) every ``every`` steps: the history gains
    "snapshots" (steps / every, 2500, dim), for pictures across training."""
    G, config, kept = objects[0], objects[0].config, []

    def keep(step):
        if step % every == 0:
            kept.append(np.asarray(generate(G, jax.random.key(1000 + train_config.seed), 2500)))

    history = train(train_step, objects, batches(dataset, config),
                    replace(train_config, steps_per_call=every), callback=keep)
    return history | {"snapshots": np.stack(kept)}


def fit_discriminator(D, opt_D, real, fake, train_config: TrainConfig) -> dict:
    """Train D alone against a FIXED generator p_g: ``real(key, n)`` and ``fake(key, n)`` draw
    data and samples (``Dataset.sample``, or ``lambda k, n: generate(G, k, n)``).

    D minimises the objective of its config's loss (:func:`discriminator_objective`), so a
    WGAN critic is trained as a critic. Returns :func:`course_lib.train.train`'s history:
    "loss", and "w_estimate" = E C(x) - E C(G(z)) for a critic.
    """

    def step(D, opt_D, x, key):  # the step's key draws the samples; a fold of it the penalty's
        (loss, (real_out, fake_out)), grads = nnx.value_and_grad(
            discriminator_objective, has_aux=True)(D, x, fake(key, x.shape[0]), None,
                                                   jax.random.fold_in(key, 1))
        opt_D.update(D, grads)
        out = {"loss": loss}
        if D.config.loss.startswith("wgan"):
            out["w_estimate"] = jnp.mean(real_out) - jnp.mean(fake_out)
        return out

    return train(step, (D, opt_D), real, train_config)


def fit(config: GANConfig, dataset: Dataset, train_config: TrainConfig):
    """(G, D, history): a GAN of ``config`` trained on ``dataset``; both networks are
    initialised from ``train_config.seed``, as :func:`init` does. (A shipped generator is
    trained or loaded by :func:`course_lib.pretrained.fit`, which trains the same way.)"""
    G, D, opt_G, opt_D = init(config, train_config.seed)
    history = train(train_step, (G, D, opt_G, opt_D), batches(dataset, config), train_config)
    return G, D, history


# ------------------------------------------------------------------------------------------
# Diagnostics of week 16: D trained alone against a frozen generator (as a train_step; the
# twin of fit_discriminator above, which splits its key differently), and the size of the
# gradient G receives from a frozen D.
# ------------------------------------------------------------------------------------------


def discriminator_only_step(sample_fake):
    """A ``train_step`` for :func:`course_lib.train.train` that updates D (or a critic) alone
    against a frozen generator: the inner maximisation max_D L(G, D) with G held fixed.

    sample_fake: ``sample_fake(key, n) -> (n, data_dim)`` draws from p_g (e.g. a frozen
    generator, or a known density). Batches are the real data; the objective is D's own
    (:func:`discriminator_objective`, so a WGAN-GP critic gets its penalty).
    """

    def step(D, opt_D, x, key):
        k_fake, k_gp = jax.random.split(key)
        x = x.reshape(x.shape[0], -1)
        fake = sample_fake(k_fake, x.shape[0])
        (loss, (real_out, fake_out)), grads = nnx.value_and_grad(
            discriminator_objective, has_aux=True)(D, x, fake, None, k_gp)
        opt_D.update(D, grads)
        return {"loss": loss, "gap": jnp.mean(real_out) - jnp.mean(fake_out)}

    return step


def generator_gradient_norm(G, D, z, loss: str = "non_saturating") -> float:
    """||d loss / d theta_G||, the size of the signal G receives from a frozen D on noise z.

    loss: "minimax" (E log(1 - D(G(z))), which saturates as D(G(z)) -> 0), "non_saturating"
    (-E log D(G(z))) or "wasserstein" (-E C(G(z)) for a critic C).
    """
    if loss not in GENERATOR_LOSSES:
        raise ValueError(f"unknown generator loss '{loss}'; accepted: "
                         f"{', '.join(GENERATOR_LOSSES)}")
    return float(_gradient_norm(*nnx.split((G, D)), z, loss))


GENERATOR_LOSSES = {"minimax": generator_loss_minimax,
                    "non_saturating": generator_loss_non_saturating,
                    "wasserstein": lambda s: -jnp.mean(s)}


@partial(jax.jit, static_argnums=(0, 3))
def _gradient_norm(graphdef, state, z, loss):
    # one compiled program, where op by op each of ~40 operations was compiled on its own
    G, D = nnx.merge(graphdef, state)
    return optax.tree.norm(nnx.grad(lambda G: GENERATOR_LOSSES[loss](D(G(z))))(G))
