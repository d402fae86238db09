"""Validation during training: the held-out metric, the best checkpoint, early stopping.

Between two compiled calls of the training loop (every ``steps_per_call`` steps) the model is
scored on the held-out rows: bits per example for a likelihood model (the negative ELBO, ~2000
draws in all, the same keys at every check so two checks differ by the model only), MMD
to the held-out rows for a GAN. A better score rewrites ``best.npz`` (the model ``sample`` and
``evaluate`` then use); ``patience`` checks in a row without one stop the run. The scores go
to ``validation.json``, which a resumed run reads back.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from course_lib import gan, metrics
from course_lib.checkpoint import save_checkpoint, write_atomic

BEST, VALIDATION = "best.npz", "validation.json"
SCORED = ("gan", "wgan-gp", "gaussian", "ddpm", "vdm", "binomial")  # models with a scorer


class EarlyStop(Exception):  # noqa: N818 -- a signal from the callback, not an error
    """``patience`` validation checks without improvement; the run stops at ``step``."""

    def __init__(self, step: int):
        super().__init__(f"early stop at step {step}")
        self.step = step


def scorer(model: str, objects, held_out: np.ndarray, seed: int):
    """score(objects) -> the validation metric (lower is better) and its name, compiled once
    over the objects' state (not a closure over them, which would freeze the weights)."""
    x = jnp.asarray(held_out.reshape(len(held_out), -1), jnp.float32)
    key = jax.random.key(seed)
    first = objects[0]
    graphdef, _ = nnx.split(first)
    if model in ("gan", "wgan-gp"):
        n = min(len(held_out), 1000)

        @jax.jit
        def draw(state):
            return gan.generate(nnx.merge(graphdef, state), key, n)

        return (lambda objs: metrics.mmd(draw(nnx.state(objs[0])), x[:n])), "mmd"
    if model == "gaussian":
        return (lambda objs: float(-objs[0].log_prob(x).mean() / np.log(2))), "bits_per_example"

    # a one-draw ELBO per example is noisy (its t and noise): enough draws that each check
    # averages ~2000, else the best checkpoint would be the luckiest draw, not the best model
    keys = jax.random.split(key, int(np.clip(np.ceil(2000 / len(held_out)), 1, 20)))

    @jax.jit
    def bits(state):
        model = nnx.merge(graphdef, state)
        return jax.lax.map(lambda k: model.elbo_terms(x, k).bits().mean(), keys).mean()

    return (lambda objs: float(bits(nnx.state(objs[0])))), "bits_per_example"


def tracker(model: str, objects, held_out, out: Path, seed: int, patience: int, meta: dict,
            record: dict | None = None):
    """The training loop's callback(step): score, keep the best, stop when it stalls; a
    resumed run passes the ``record`` its validation.json holds (checked by the caller)."""
    score, name = scorer(model, objects, held_out, seed)
    record = record or {"metric": name, "steps": [], "values": [], "best_step": None,
                        "best": None, "patience": patience}

    def callback(step: int) -> None:
        value = score(objects)
        record["steps"].append(int(step))
        record["values"].append(float(value) if np.isfinite(value) else None)
        if np.isfinite(value) and (record["best"] is None or value < record["best"]):
            record["best"], record["best_step"] = float(value), int(step)
            save_checkpoint(out / BEST, nnx.state(objects), step, {}, meta)
        since = [s for s in record["steps"] if s > (record["best_step"] or 0)]
        stop = bool(patience and len(since) >= patience)
        if stop:  # recorded, so that a resumed run stays stopped
            record["stopped"] = int(step)
        write_atomic(out / VALIDATION,
                     lambda f: f.write((json.dumps(record, indent=2) + "\n").encode()))
        if stop:
            raise EarlyStop(step)

    return callback
