"""One training loop for every model of the course.

You write the training step the way you would say it, with NNX objects that change in
place::

    def train_step(model, optimizer, batch, key):
        loss, grads = nnx.value_and_grad(loss_fn)(model, batch)
        optimizer.update(model, grads)
        return {"loss": loss}

    history = train(train_step, (model, optimizer), data.sample, TrainConfig(steps=10_000))

and :func:`train` turns it into fast code: the objects are split into a pure state, many
steps run inside one compiled ``jax.lax.scan`` (no Python between steps), a progress bar
moves between calls, the metrics of every step are kept, a non-finite metric stops the run
at the step it happened, checkpoints are written atomically, and a resumed run continues
bit for bit where the stopped one left off. With several devices each batch is split
across them (data parallel, parameters replicated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from course_lib.checkpoint import CHECKPOINT, load_checkpoint, save_checkpoint
from course_lib.config import setting
from course_lib.fingerprint import fingerprint
from course_lib.scan_chunk import make_chunk, stack


@dataclass(frozen=True)
class TrainConfig:
    """How long and how to train; the model's own settings live with the model."""

    steps: int = setting(1000, "training steps (batches)")
    batch_size: int = setting(128, "examples per step (the global batch, split across devices)")
    seed: int = setting(0, "step i draws its data and noise from fold_in(key(seed), i), so a "
                        "run is the same whatever the chunking, the resumption or the device "
                        "count")
    steps_per_call: int = setting(500, "steps compiled into one lax.scan; the progress bar, "
                                  "the NaN check and the checkpoint happen between calls")
    progress: bool = setting(True, "show a tqdm progress bar")

    def __post_init__(self):
        for name in ("steps", "batch_size", "steps_per_call"):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
            if v > 2**31 - 1:  # step counters and batch shapes are int32 inside the scan
                raise ValueError(f"{name} must be a positive integer up to 2147483647, "
                                 f"got {v}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise TypeError(f"seed must be a non-negative integer, got "
                            f"{type(self.seed).__name__} {self.seed!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")


class TrainingDiverged(RuntimeError):
    """A metric became NaN or infinite; the objects keep the state before that step."""

    def __init__(self, message: str, step: int, history: dict[str, np.ndarray]):
        super().__init__(message)
        self.step, self.history = step, history


def data_mesh() -> jax.sharding.Mesh | None:
    """A 1D mesh over all devices on the axis 'data', or None on a single device."""
    n = jax.device_count()
    if n == 1:
        return None
    return jax.make_mesh((n,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))


def step_key(seed: int, step: int | jax.Array) -> jax.Array:
    """The key of step ``step``: independent of how the steps are grouped into calls."""
    return jax.random.fold_in(jax.random.key(seed), step)


def train(train_step: Callable[..., dict], objects, sample_batch: Callable,
          config: TrainConfig = TrainConfig(), *, checkpoint_dir: str | Path | None = None,
          resume: bool = False, callback: Callable[[int], None] | None = None,
          identity: dict | None = None) -> dict[str, np.ndarray]:
    """Run ``config.steps`` steps of ``train_step`` on ``objects``; return the metric history.

    train_step:   ``train_step(*objects, batch, key) -> dict of scalar metrics``; it updates
                  the NNX objects in place (models, optimizers) and must be traceable by JAX.
    objects:      a tuple of NNX objects, e.g. ``(model, optimizer)`` or ``(G, D, opt_G, opt_D)``;
                  on return they hold the trained state.
    sample_batch: ``sample_batch(key, batch_size) -> batch`` (any pytree), pure, e.g.
                  ``Dataset.sample``.
    checkpoint_dir: if given, ``checkpoint.npz`` there is rewritten after every call.
    resume:       continue from the checkpoint in ``checkpoint_dir`` (same config needed).
    identity:     what the checkpoint holds (the model's name and config), recorded in it and
                  required to match on resume.
    callback:     called as ``callback(step)`` between calls, the objects up to date (for
                  sample grids across training); it may not change the objects.

    Returns a dict ``{metric name: np.ndarray of one value per step}``.
    Raises :class:`TrainingDiverged` if a metric becomes NaN or inf; the objects then hold
    the state before that step.
    """
    objects = objects if isinstance(objects, tuple) else (objects,)
    return _run(train_step, [objects], sample_batch, [config], False, checkpoint_dir, resume,
                callback, identity)[0]


def train_ensemble(train_step: Callable[..., dict], members, sample_batch: Callable,
                   configs, *, checkpoint_dir: str | Path | None = None, resume: bool = False,
                   callback: Callable[[int], None] | None = None,
                   identity: dict | None = None) -> list[dict[str, np.ndarray]]:
    """Several independent training runs in one compiled program: member ``i`` ends exactly
    (bit for bit) as ``train(train_step, members[i], sample_batch, configs[i])`` would leave
    it, but all members take each step together, in one ``lax.scan`` (their states stacked
    along a leading axis; see :func:`course_lib.scan_chunk.make_chunk` for why the members'
    steps run side by side rather than through ``jax.vmap``).

    members: object tuples of the same structure and shapes, e.g. ``[gan.init(cfg, s) for s
             in seeds]``; settings that differ between members must live in arrays (NNX
             variables), not in a model's static config.
    configs: one :class:`TrainConfig` per member, equal but for the seed.
    The other arguments are :func:`train`'s; a checkpoint holds the stacked states.

    Returns one history per member. A non-finite metric in any member stops every member
    at that step (:class:`TrainingDiverged` names the members; its history is stacked).
    """
    members = [m if isinstance(m, tuple) else (m,) for m in members]
    configs = list(configs)
    if not members or len(configs) != len(members):
        raise ValueError(f"train_ensemble needs one TrainConfig per member, got "
                         f"{len(configs)} for {len(members)} members")
    if len({replace(c, seed=0, progress=False) for c in configs}) > 1:
        raise ValueError("the members' TrainConfigs must be equal but for the seed, got "
                         f"{configs}")
    return _run(train_step, members, sample_batch, configs, True, checkpoint_dir, resume,
                callback, identity)


def _run(train_step, members, sample_batch, configs, ensemble, checkpoint_dir, resume,
         callback, identity):
    """The loop of :func:`train` (one member) and :func:`train_ensemble` (stacked members,
    whose metrics then have a leading member axis)."""
    config = configs[0]
    meta = {k: v for k, v in asdict(config).items() if k not in ("progress", "steps")}
    if ensemble:
        meta["seed"] = [c.seed for c in configs]
    if identity is not None:
        meta["identity"] = identity
    splits = [nnx.split(objects) for objects in members]
    graphdef, state = splits[0]
    if ensemble:
        # the program is traced with the first member's objects: the others may differ
        # from them in their arrays' values only (not a config, not a learning rate)
        shapes = [fingerprint(objects, arrays="shape") for objects in members]
        if any(s != shapes[0] for s in shapes):
            raise ValueError("ensemble members must be the same objects with the same shapes "
                             "and settings, differing only in their arrays' values (the same "
                             "model and optimizer built with different seeds)")
        state = stack([s for _, s in splits])
        seed_key = jnp.stack([jax.random.key(c.seed) for c in configs])
    else:
        seed_key = jax.random.key(config.seed)

    def update_objects(state):
        if not ensemble:
            return nnx.update(members[0], state)
        for i, objects in enumerate(members):
            nnx.update(objects, jax.tree.map(lambda x, i=i: x[i], state))

    mesh = data_mesh()
    if mesh is not None:
        n_dev = mesh.devices.size
        if config.batch_size % n_dev:
            raise ValueError(f"batch_size {config.batch_size} does not divide across "
                             f"{n_dev} devices; use a multiple of {n_dev}")
        state = jax.device_put(state, NamedSharding(mesh, P()))  # replicate the parameters

    start, history = 0, {}
    ckpt = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir is not None else None
    if resume:
        if ckpt is None or not ckpt.is_file():
            raise ValueError(f"cannot resume: no checkpoint in '{checkpoint_dir}'")
        state, start, history, saved = load_checkpoint(ckpt, state)
        if saved != meta:
            raise ValueError(f"cannot resume: the checkpoint was written with {saved}, "
                             f"this run asks for {meta}")
        if start > config.steps:
            raise ValueError(f"cannot resume: the checkpoint is at step {start}, past the "
                             f"requested steps={config.steps}")
        if mesh is not None:
            state = jax.device_put(state, NamedSharding(mesh, P()))
    history = {k: [v] for k, v in history.items()}  # one array per call, joined at the end
    joined = lambda: {k: np.concatenate(v, axis=-1) for k, v in history.items()}  # noqa: E731
    writer = jax.process_index() == 0  # several processes (jax.distributed): one writes

    chunk, data = make_chunk(train_step, graphdef, sample_batch, config.batch_size, mesh,
                             ensemble)
    bar = None
    if config.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, initial=start, unit="step", dynamic_ncols=True)
    step = start
    try:
        while step < config.steps:
            # Calls end on multiples of steps_per_call, so a resumed run compiles and runs
            # exactly the programs of an uninterrupted one.
            n = min(config.steps, (step // config.steps_per_call + 1) * config.steps_per_call)
            n -= step
            new_state, metrics = chunk(state, data, seed_key, step, n)
            metrics = jax.device_get(metrics)
            finite = np.all([np.isfinite(v).reshape(-1, n).all(0) for v in metrics.values()],
                            axis=0)
            if not finite.all():
                bad = int(np.argmin(finite))
                if bad:  # re-run the finite steps of this call to recover their state
                    state, _ = chunk(state, data, seed_key, step, bad)
                for k, v in metrics.items():
                    history.setdefault(k, []).append(v[..., :bad + 1])
                update_objects(state)
                which = [k for k, v in metrics.items() if not np.isfinite(v[..., bad]).all()]
                hist = joined()
                if ckpt is not None and writer:
                    save_checkpoint(ckpt, state, step + bad,
                                    {k: v[..., :-1] for k, v in hist.items()}, meta)
                first = metrics[which[0]][..., bad]
                members_note = ""
                if ensemble:
                    bad_members = np.flatnonzero(~np.all([np.isfinite(metrics[k][:, bad])
                                                          for k in which], axis=0))
                    members_note = f" in member(s) {', '.join(map(str, bad_members))}"
                raise TrainingDiverged(
                    f"training stopped: {', '.join(which)} became "
                    f"{'nan' if np.isnan(first).any() else 'inf'}{members_note} at step "
                    f"{step + bad + 1} of {config.steps}; the model keeps its state after step "
                    f"{step + bad} (lower the learning rate or check the data)",
                    step + bad, hist)
            state, step = new_state, step + n
            for k, v in metrics.items():
                history.setdefault(k, []).append(v)
            if ckpt is not None and writer:
                save_checkpoint(ckpt, state, step, joined(), meta)
            if bar is not None:
                bar.update(n)
                bar.set_postfix({k: f"{np.mean(v[..., -1]):.4g}"
                                 for k, v in list(metrics.items())[:3]})
            if callback is not None:
                update_objects(state)
                callback(step)
    finally:
        if bar is not None:
            bar.close()
    update_objects(state)
    hist = joined()
    if ensemble:
        return [{k: v[i] for k, v in hist.items()} for i in range(len(members))]
    return [hist]


def step_from_loss(loss_fn: Callable) -> Callable:
    """The standard step for one model and one optimizer, from ``loss_fn(model, batch, key)``.

    ``loss_fn`` returns a scalar loss, or ``(loss, dict of extra metrics)``.
    """

    def train_step(model, optimizer, batch, key):
        def objective(model):
            out = loss_fn(model, batch, key)
            return out if isinstance(out, tuple) else (out, {})

        (loss, extra), grads = nnx.value_and_grad(objective, has_aux=True)(model)
        optimizer.update(model, grads)
        return {"loss": loss, **extra}

    return train_step
