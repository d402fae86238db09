"""The ELBO as a typed result: its terms by name, their sum, and bits.

Every diffusion model here (DDPM, VDM, binomial) returns :class:`ELBOTerms` from
``model.elbo_terms(x, key)``: the three terms of the negative ELBO (Luo Eq. 58; VDM Eq. 11),
per example, in nats, from one Monte-Carlo draw. Their sum is the bound and nothing else: a
training-only loss such as DDPM's L_simple is returned beside it, never inside it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx, struct

from course_lib.metrics import nats_to_bits


@struct.dataclass
class ELBOTerms:
    """-ELBO = reconstruction + prior + diffusion, per example, in nats.

    reconstruction: -log p(x_0 | x_1) (VDM: -log p(x | z_0))
    prior:          KL(q(x_T | x_0) || p(x_T)), the prior matching term
    diffusion:      the denoising matching terms,
                    sum_{t>=2} KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)),
                    estimated at one random t (VDM: its continuous-time limit)
    """

    reconstruction: jax.Array
    prior: jax.Array
    diffusion: jax.Array

    def total(self) -> jax.Array:
        """The negative ELBO per example, in nats: an upper bound on -log p(x)."""
        return self.reconstruction + self.prior + self.diffusion

    def bits(self) -> jax.Array:
        """The negative ELBO per example, in bits."""
        return nats_to_bits(self.total())

    def batch_means(self) -> dict[str, jax.Array]:
        """Each term's batch mean (nats), the metrics a training step reports."""
        return {"reconstruction": self.reconstruction.mean(), "prior": self.prior.mean(),
                "diffusion": self.diffusion.mean()}


def negative_elbo(model, x0, key) -> jax.Array:
    """-ELBO per example in nats (one Monte-Carlo draw), for DDPM, VDM and binomial models."""
    return model.elbo_terms(x0, key).total()


def elbo_loss(model, x, key):
    """The batch mean of -ELBO, with its terms (batch means, nats) as metrics."""
    terms = model.elbo_terms(x, key)
    return terms.total().mean(), terms.batch_means()


def elbo_train_step(model, optimizer, x, key):
    """One optimizer step on the negative ELBO (VDM and binomial diffusion train on it)."""
    (loss, metrics), grads = nnx.value_and_grad(elbo_loss, has_aux=True)(model, x, key)
    optimizer.update(model, grads)
    return {"loss": loss, **metrics}


def bits_draws(model, x, key, repeats=10) -> np.ndarray:
    """(repeats, n) Monte-Carlo draws of each example's negative ELBO in bits; draw r uses
    ``fold_in(key, r)``, so two models given the same key see the same t and noise (paired)."""
    x = jnp.asarray(x).reshape(len(x), -1)
    bits = jax.jit(lambda k, xb: model.elbo_terms(xb, k).bits())
    return np.stack([np.asarray(bits(jax.random.fold_in(key, r), x), np.float64)
                     for r in range(repeats)])


def evaluate_model_bits(model, x, key, repeats=10):
    """Bits per dimension / example of the negative ELBO for DDPM, VDM or binomial models.

    Each example's bound is the mean of ``repeats`` Monte-Carlo draws (its own t, noise); the
    error bar is over the n *examples*: std of those per-example means / sqrt(n). (Treating
    the repeats x n draws as independent, std / sqrt(repeats x n), understates it by up to
    sqrt(repeats) when the examples differ more than the draws.) ``stderr_mc`` is the part of
    the error bar from the Monte-Carlo draws alone, sqrt(mean within-example var / (repeats n)).
    """
    return bits_summary(bits_draws(model, x, key, repeats), int(np.prod(np.shape(x)[1:])))


def bits_summary(draws, dims):
    """:func:`evaluate_model_bits` from (repeats, n) draws already made by :func:`bits_draws`
    (examples of ``dims`` dimensions), so a notebook that also needs the draws themselves
    (paired differences) does not evaluate the model twice."""
    draws = np.asarray(draws)
    repeats = len(draws)
    per_example = draws.mean(0)
    n, D = len(per_example), int(dims)
    stderr = per_example.std(ddof=1) / np.sqrt(n)
    stderr_mc = (np.sqrt(draws.var(0, ddof=1).mean() / (repeats * n)) if repeats > 1
                 else float("nan"))
    return {"bits_per_dim": float(per_example.mean() / D),
            "bits_per_example": float(per_example.mean()),
            "stderr_bits_per_dim": float(stderr / D), "stderr_bits_per_example": float(stderr),
            "stderr_mc_bits_per_example": float(stderr_mc), "n": int(n), "repeats": int(repeats)}
