"""Binomial diffusion of a periodic spin lattice (Sohl-Dickstein et al. 2015, binary data):
:class:`~course_lib.diffusion.binomial.BinomialDiffusion` towards fair coins (p_T = 1/2, so
the prior term of the ELBO is exactly zero) of the bits x = (s + 1) / 2, with a denoiser that
respects the lattice: every layer is a 3 x 3 convolution with periodic (circular) padding,
dilated 1, 2, 4, 8, ... so that a few layers see the whole 16 x 16 torus, plus the lattice
average of the features (a translation-invariant summary: "which way is the lattice
magnetised"). It is therefore exactly equivariant under translations of the torus, like the
Hamiltonian.

With ``conditional=True`` the network also sees the temperature, through the same kind of
per-layer embedding as the time step: one model for every T in [1.5, 3.5].
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from course_lib import nets
from course_lib.config import setting
from course_lib.diffusion.binomial import BinomialDiffusion

LOG2 = float(np.log(2.0))


@dataclass(frozen=True)
class LatticeDiffusionConfig:
    """Binomial diffusion of L x L spins towards fair coins, a periodic conv denoiser.

    T:            diffusion steps (also the number of network calls per sample).
    features:     channels of every hidden layer.
    dilations:    one 3 x 3 periodic conv per entry; the receptive field is
                  1 + 2 * sum(dilations) sites across (1 + 2 * 15 = 31 > 16 for 1, 2, 4, 8).
    conditional:  the network also sees the temperature (train on several T).

    The defaults are week17_ising's models, which train 4000 steps of 256 lattices with
    ``decay_steps=4000`` (about 100 s on an H200 GPU; hours on a 2-core CPU).
    """

    L: int = setting(16, "lattice side (the data's)", from_data=True)
    T: int = setting(200, "diffusion steps (network calls per sample)")
    features: int = setting(32, "channels of every periodic conv layer")
    dilations: tuple[int, ...] = setting((1, 2, 4, 8, 1, 2, 4, 8),
                                         "dilation of each 3x3 periodic conv")
    conditional: bool = setting(False, "the network also sees the temperature")
    lr: float = setting(1e-3, "Adam learning rate")
    decay_steps: int = setting(0, "> 0: the learning rate falls from lr to 0 along a cosine over "
                                  "this many steps (0: constant)")

    def __post_init__(self):
        if self.L < 2 or self.T < 2 or self.features < 1 or not self.dilations \
                or self.decay_steps < 0:
            raise ValueError(f"need L >= 2, T >= 2, features >= 1 and at least one dilation, "
                             f"got L={self.L}, T={self.T}, features={self.features}, "
                             f"dilations={self.dilations}, decay_steps={self.decay_steps}")


class PeriodicDenoiser(nnx.Module):
    """(spins x_t in {-1, +1}, t in [0, 1], temperature) -> logit P(x_0 = +1 | x_t) per site.

    Each layer: h <- act(conv_d(h) + W_g mean_sites(h) + embedding(t, T)). All three terms
    commute with translations of the torus, so the whole net does.
    """

    def __init__(self, config: LatticeDiffusionConfig, *, rngs: nnx.Rngs):
        f = config.features
        widths = [1, *[f] * len(config.dilations)]
        self.convs = nnx.List([
            nnx.Conv(a, b, (3, 3), kernel_dilation=d, padding="CIRCULAR", rngs=rngs)
            for a, b, d in zip(widths, widths[1:], config.dilations)])
        self.pooled = nnx.List([nnx.Linear(a, b, use_bias=False, rngs=rngs)
                                for a, b in zip(widths, widths[1:])])
        n_embed = 32 if config.conditional else 16
        self.embed_t = nets.FourierFeatures(16, scale=2.0, rngs=rngs)
        self.embed_temp = (nets.FourierFeatures(16, scale=0.5, rngs=rngs)
                           if config.conditional else None)
        self.time_proj = nnx.List([nnx.Linear(n_embed, f, rngs=rngs) for _ in widths[1:]])
        self.head = nnx.Conv(f, 1, (1, 1), rngs=rngs)

    def __call__(self, x, t, temperature=None):
        h = x[..., None]
        emb = self.embed_t(t)
        if self.embed_temp is not None:  # T in [1.5, 3.5] -> roughly [-1, 1]
            emb = jnp.concatenate([emb, self.embed_temp(temperature - 2.5)], -1)
        for conv, pooled, proj in zip(self.convs, self.pooled, self.time_proj):
            h = conv(h) + pooled(h.mean((1, 2)))[:, None, None] + proj(emb)[:, None, None]
            h = nnx.swish(h)
        return self.head(h)[..., 0]


class LatticeDiffusion(BinomialDiffusion):
    """Binomial diffusion (p_T = 1/2) of spin lattices (n, L, L) in {-1, +1}, the denoiser a
    :class:`PeriodicDenoiser`: the bits of :class:`BinomialDiffusion` are x = (s + 1) / 2, and
    the ``condition`` is the temperature of a conditional model."""

    p_T = 0.5

    def __init__(self, config: LatticeDiffusionConfig, *, rngs: nnx.Rngs):
        self.config = config
        self.net = PeriodicDenoiser(config, rngs=rngs)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.config.L, self.config.L)

    def to_bits(self, spins):
        return (spins + 1) / 2

    def from_bits(self, bits):
        return 2 * bits - 1

    def x0_logit(self, x_t, t, temperature=None):
        return self.net(2 * x_t - 1, t / self.config.T, temperature)


def _split(batch):
    """A batch is spins (n, L, L), or (spins, temperatures) for a conditional model."""
    return batch if isinstance(batch, tuple) else (batch, None)


def negative_elbo_nats(model: LatticeDiffusion, batch, key):
    """-ELBO per configuration in nats, of spins or (spins, temperatures)."""
    spins, temperature = _split(batch)
    return model.elbo_terms(spins, key, temperature).total()


def train_step(model: LatticeDiffusion, optimizer: nnx.Optimizer, batch, key):
    """One Adam step on the mean negative ELBO, in bits per spin."""
    spins = _split(batch)[0]
    scale = 1.0 / (LOG2 * spins.shape[-1] * spins.shape[-2])

    def loss_fn(model):
        return negative_elbo_nats(model, batch, key).mean() * scale

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return {"loss": loss}


def generate(model: LatticeDiffusion, key, n: int, temperature=None, chunk: int = 250):
    """n configurations (n, L, L) in {-1, +1} as numpy, sampled ``chunk`` at a time with one
    compiled sampler (chunk i from ``fold_in(key, i)``), at one ``temperature`` if given."""
    sampler = jax.jit(model.sample, static_argnums=1)
    temp = None if temperature is None else jnp.float32(temperature)
    return np.concatenate([np.asarray(sampler(jax.random.fold_in(key, i), min(chunk, n - start),
                                              temp))
                           for i, start in enumerate(range(0, n, chunk))])


def symmetrised(sample_batch):
    """A batch sampler that also flips every configuration's sign with probability 1/2:
    H(s) = H(-s), and the network is not built to know it."""

    def sample(key, n):
        k1, k2 = jax.random.split(key)
        spins, temperature = _split(sample_batch(k1, n))
        sign = jnp.where(jax.random.bernoulli(k2, 0.5, (n, 1, 1)), 1.0, -1.0)
        return spins * sign if temperature is None else (spins * sign, temperature)

    return sample


def bits_per_spin(model: LatticeDiffusion, spins, key, repeats: int = 10, temperature=None,
                  batch_size: int = 512) -> dict[str, float]:
    """Held-out negative ELBO in bits per spin (an upper bound on the cross-entropy, hence on
    the entropy of the data): mean and standard error over configurations x repeats."""
    spins = jnp.asarray(spins, jnp.float32)
    nelbo = jax.jit(lambda k, s, temp: model.elbo_terms(s, k, temp).total())
    values = []
    for r in range(repeats):
        for i in range(0, len(spins), batch_size):
            temp = None if temperature is None else jnp.asarray(temperature)[i:i + batch_size]
            values.append(np.asarray(nelbo(jax.random.fold_in(key, r * 100_000 + i),
                                           spins[i:i + batch_size], temp)))
    per_config = np.concatenate(values).reshape(repeats, -1).mean(0) / LOG2 / spins[0].size
    return {"bits_per_spin": float(per_config.mean()),
            "stderr": float(per_config.std(ddof=1) / np.sqrt(len(per_config))),
            "n": int(len(per_config))}
