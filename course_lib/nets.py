"""Flax NNX building blocks shared by the GANs and the diffusion models.

- :class:`MLP`: the workhorse for 1D/2D toys and flattened digits.
- :class:`TimeMLP`: an MLP that also sees a scalar t (time step or noise level) through
  random Fourier features, as the denoisers of DDPM/VDM need.
- :class:`ConvNet`: a small convolutional net for 8x8 and 16x16 images, either image -> image
  (a denoiser, optionally conditioned on t) or image -> vector (a discriminator or classifier).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

ACTIVATIONS: dict[str, Callable] = {
    "relu": nnx.relu,
    "leaky_relu": lambda x: nnx.leaky_relu(x, 0.01),  # the slope of Raschka's GAN
    "leaky_relu_0.2": lambda x: nnx.leaky_relu(x, 0.2),
    "swish": nnx.swish,
    "gelu": nnx.gelu,
    "tanh": jnp.tanh,
    "sigmoid": nnx.sigmoid,
}


def activation(name: str) -> Callable:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{name}'; accepted: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


class MLP(nnx.Module):
    """x -> Linear -> act -> ... -> Linear; ``hidden`` gives the widths of the hidden layers."""

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int, *,
                 act: str = "relu", out_act: str | None = None, dropout: float = 0.0,
                 rngs: nnx.Rngs):
        widths = [in_features, *hidden, out_features]
        self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(widths, widths[1:])])
        self.act = activation(act)
        self.out_act = activation(out_act) if out_act else None
        self.dropout = nnx.Dropout(dropout, rngs=rngs) if dropout else None

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = self.act(layer(x))
            if self.dropout is not None:
                x = self.dropout(x)
        x = self.layers[-1](x)
        return self.out_act(x) if self.out_act else x


class FourierFeatures(nnx.Module):
    """t -> [sin(2 pi w t), cos(2 pi w t)] with fixed random frequencies w ~ N(0, scale^2).

    Lets an MLP resolve fine differences in t (Tancik et al. 2020), which a raw scalar input
    does poorly. The frequencies are not trained.
    """

    def __init__(self, features: int, scale: float = 4.0, *, rngs: nnx.Rngs):
        if features % 2:
            raise ValueError(f"Fourier features must be even, got {features}")
        self.w = nnx.Variable(scale * jax.random.normal(rngs.params(), (features // 2,)))

    def __call__(self, t: jax.Array) -> jax.Array:
        angle = 2 * jnp.pi * jnp.asarray(t, jnp.float32)[..., None] * self.w[...]
        return jnp.concatenate([jnp.sin(angle), jnp.cos(angle)], -1)


class TimeMLP(nnx.Module):
    """(x, t) -> output: an MLP on [x, FourierFeatures(t)]; t is a scalar per example in [0, 1]."""

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int, *,
                 time_features: int = 32, act: str = "swish", rngs: nnx.Rngs):
        self.embed = FourierFeatures(time_features, rngs=rngs)
        self.mlp = MLP(in_features + time_features, hidden, out_features, act=act, rngs=rngs)

    def __call__(self, x: jax.Array, t: jax.Array) -> jax.Array:
        t = jnp.broadcast_to(t, x.shape[:-1])
        return self.mlp(jnp.concatenate([x, self.embed(t)], -1))


class ConvNet(nnx.Module):
    """A small conv net for (B, H, W) or (B, H, W, C) images, H, W in {8, 16}.

    ``out_features=None``: image -> image of the input's shape (a denoiser); with
    ``time_features > 0`` a scalar t per example is added, through Fourier features, to
    every hidden layer. ``out_features=k``: image -> (B, k) after global average pooling.
    ``padding="CIRCULAR"`` wraps around the edges: periodic lattices such as the Ising model.
    """

    def __init__(self, channels: int = 1, features: int = 32, depth: int = 3, *,
                 out_features: int | None = None, time_features: int = 0,
                 act: str = "swish", padding: str = "SAME", rngs: nnx.Rngs):
        self.channels, self.out_features = channels, out_features
        widths = [channels, *[features] * depth]
        self.convs = nnx.List([nnx.Conv(a, b, (3, 3), padding=padding, rngs=rngs)
                               for a, b in zip(widths, widths[1:])])
        self.act = activation(act)
        self.embed = FourierFeatures(time_features, rngs=rngs) if time_features else None
        self.time_proj = (nnx.List([nnx.Linear(time_features, features, rngs=rngs)
                                    for _ in range(depth)]) if time_features else None)
        self.head = (nnx.Linear(features, out_features, rngs=rngs) if out_features
                     else nnx.Conv(features, channels, (3, 3), padding=padding, rngs=rngs))

    def __call__(self, x: jax.Array, t: jax.Array | None = None) -> jax.Array:
        squeeze = x.ndim == 3
        h = x[..., None] if squeeze else x
        emb = self.embed(jnp.broadcast_to(t, h.shape[:1])) if self.embed is not None else None
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if emb is not None:
                h = h + self.time_proj[i](emb)[:, None, None, :]
            h = self.act(h)
        if self.out_features:
            return self.head(h.mean((1, 2)))
        out = self.head(h)
        return out[..., 0] if squeeze else out


class LevelLogitsConvNet(nnx.Module):
    """(noisy images z (B, H, W), t (B,)) -> (B, H, W, levels) logits over each pixel's levels.

    The denoiser of quantized images: a conv net with zero padding (an image has edges, unlike
    the Ising torus), residual blocks ``h <- h + act(conv_d(h) + W mean_pixels(h) + emb(t))``
    with dilations ``dilations`` (1 + 2 * sum(dilations) pixels across), whose output is read
    as log p(x_i = level | the other pixels), a per-pixel prior that the caller combines with
    the likelihood of z_i (:meth:`course_lib.diffusion.vdm.VDM.eps_hat`).
    """

    def __init__(self, levels: int, features: int = 64, dilations: Sequence[int] = (1, 2, 1, 2),
                 *, time_features: int = 32, act: str = "swish", rngs: nnx.Rngs):
        self.stem = nnx.Conv(1, features, (3, 3), padding="SAME", rngs=rngs)
        self.convs = nnx.List([nnx.Conv(features, features, (3, 3), kernel_dilation=d,
                                        padding="SAME", rngs=rngs) for d in dilations])
        self.pooled = nnx.List([nnx.Linear(features, features, use_bias=False, rngs=rngs)
                                for _ in dilations])
        self.embed = FourierFeatures(time_features, scale=2.0, rngs=rngs)
        self.time_proj = nnx.List([nnx.Linear(time_features, features, rngs=rngs)
                                   for _ in dilations])
        self.act = activation(act)
        self.head = nnx.Conv(features, levels, (1, 1), rngs=rngs)

    def __call__(self, z: jax.Array, t: jax.Array) -> jax.Array:
        h = self.stem(z[..., None])
        emb = self.embed(jnp.broadcast_to(t, z.shape[:1]))
        for conv, pooled, proj in zip(self.convs, self.pooled, self.time_proj):
            h = h + self.act(conv(h) + pooled(h.mean((1, 2)))[:, None, None]
                             + proj(emb)[:, None, None])
        return self.head(self.act(h))
