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


def evaluate_model_bits(model, x, key, repeats=10):
    """The negative ELBO on ``x`` in bits per dimension and per example, with the standard
    error of bits/dim over the ``repeats x len(x)`` draws (each example drawn ``repeats``
    times with independent t and noise)."""
    x = jnp.asarray(x).reshape(len(x), -1)
    bits = jax.jit(lambda k, xb: model.elbo_terms(xb, k).bits())
    v = np.concatenate([np.asarray(bits(jax.random.fold_in(key, r), x)) for r in range(repeats)])
    D = x.shape[1]
    return {"bits_per_dim": float(v.mean() / D), "bits_per_example": float(v.mean()),
            "stderr_bits_per_dim": float(v.std(ddof=1) / np.sqrt(len(v)) / D), "n": int(len(x))}
