"""Validation during training: the held-out metric, the best checkpoint, early stopping.

Between two compiled calls of the training loop (every ``steps_per_call`` steps) the model is
scored on the held-out rows by the family's scorer (:attr:`course_lib.family.Family.scorer`):
bits per example for a likelihood model (the negative ELBO with the same keys at every check,
so two checks differ by the model only; a flow's exact likelihood), MMD to the held-out rows
for a GAN. A better score rewrites ``best.npz`` (the model ``sample`` and
``evaluate`` then use); ``patience`` checks in a row without one stop the run. The scores go
to ``validation.json``, which a resumed run reads back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from flax import nnx

from course_lib.checkpoint import save_checkpoint, write_atomic
from course_lib.family import Family

BEST, VALIDATION = "best.npz", "validation.json"


class EarlyStop(Exception):  # noqa: N818 -- a signal from the callback, not an error
    """``patience`` validation checks without improvement; the run stops at ``step``."""

    def __init__(self, step: int):
        super().__init__(f"early stop at step {step}")
        self.step = step


def tracker(family: Family, objects, held_out, out: Path, seed: int, patience: int,
            meta: dict, record: dict | None = None):
    """The training loop's callback(step): score with the family's scorer, keep the best,
    stop when it stalls (None for a family without a scorer); a resumed run passes the
    ``record`` its validation.json holds (checked by the caller)."""
    if family.scorer is None:
        return None
    score, name = family.scorer(objects, held_out, seed)
    record = record or {"metric": name, "steps": [], "values": [], "best_step": None,
                        "best": None, "patience": patience}

    def callback(step: int) -> None:
        value = float(np.mean(score(objects)))
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
