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
from dataclasses import asdict, dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from course_lib.checkpoint import CHECKPOINT, load_checkpoint, save_checkpoint
from course_lib.config import setting


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
        if not isinstance(self.seed, int | np.integer) or self.seed < 0:
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


LARGE_CONSTANT = 1 << 20  # bytes: a data set, not a table of means


def _with_data_as_argument(sample_batch, batch_size):
    """``(sample(data, key), data)``: the arrays of 1 MiB or more that ``sample_batch`` closes
    over (a data set) taken out as an argument of the compiled chunk. Left inside, XLA would
    bake them into every program as constants: slow to compile, and stored again with each
    program in the persistent cache."""
    closed, shape = jax.make_jaxpr(sample_batch, static_argnums=1, return_shape=True)(
        jax.random.key(0), batch_size)
    large = [i for i, c in enumerate(closed.consts)
             if getattr(c, "nbytes", 0) >= LARGE_CONSTANT]
    if not large:
        return (lambda data, key: sample_batch(key, batch_size)), ()

    def sample(data, key):
        consts = list(closed.consts)
        for i, x in zip(large, data):
            consts[i] = x
        return jax.tree.unflatten(jax.tree.structure(shape),
                                  jax.core.eval_jaxpr(closed.jaxpr, consts, key))

    return sample, tuple(closed.consts[i] for i in large)


def _make_chunk(train_step, graphdef, sample_batch, batch_size, mesh):
    """A jitted function running ``n`` steps from ``start`` in one lax.scan, and the data
    arrays it takes as its second argument.

    Built afresh (traced) on every :func:`train` call, because a step function may read
    other objects that changed since the last call (a fixed G while training D, say); the
    seed's key is an argument, not a constant, so a new seed gives the same program and the
    persistent compile cache serves it instead of XLA compiling it again.
    """
    batch_sharding = NamedSharding(mesh, P("data")) if mesh is not None else None
    sample, data = _with_data_as_argument(sample_batch, batch_size)

    def chunk(state, data, seed_key, start, n):
        def one_step(state, i):
            data_key, noise_key = jax.random.split(jax.random.fold_in(seed_key, i))  # step_key
            batch = sample(data, data_key)
            if batch_sharding is not None:  # split the batch across devices, not the parameters
                batch = jax.tree.map(
                    lambda b: jax.lax.with_sharding_constraint(b, batch_sharding), batch)
            objects = nnx.merge(graphdef, state)
            metrics = train_step(*objects, batch, noise_key)
            return nnx.state(objects), {k: jnp.asarray(v, jnp.float32)
                                        for k, v in metrics.items()}

        return jax.lax.scan(one_step, state, start + jnp.arange(n))

    return jax.jit(chunk, static_argnums=4), data


def train(train_step: Callable[..., dict], objects, sample_batch: Callable,
          config: TrainConfig = TrainConfig(), *, checkpoint_dir: str | Path | None = None,
          resume: bool = False, callback: Callable[[int], None] | None = None
          ) -> dict[str, np.ndarray]:
    """Run ``config.steps`` steps of ``train_step`` on ``objects``; return the metric history.

    train_step:   ``train_step(*objects, batch, key) -> dict of scalar metrics``; it updates
                  the NNX objects in place (models, optimizers) and must be traceable by JAX.
    objects:      a tuple of NNX objects, e.g. ``(model, optimizer)`` or ``(G, D, opt_G, opt_D)``;
                  on return they hold the trained state.
    sample_batch: ``sample_batch(key, batch_size) -> batch`` (any pytree), pure, e.g.
                  ``Dataset.sample``.
    checkpoint_dir: if given, ``checkpoint.npz`` there is rewritten after every call.
    resume:       continue from the checkpoint in ``checkpoint_dir`` (same config needed).
    callback:     called as ``callback(step)`` between calls, the objects up to date (for
                  sample grids across training); it may not change the objects.

    Returns a dict ``{metric name: np.ndarray of one value per step}``.
    Raises :class:`TrainingDiverged` if a metric becomes NaN or inf; the objects then hold
    the state before that step.
    """
    if not isinstance(objects, tuple):
        objects = (objects,)
    meta = {k: v for k, v in asdict(config).items() if k not in ("progress", "steps")}
    graphdef, state = nnx.split(objects)
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

    chunk, data = _make_chunk(train_step, graphdef, sample_batch, config.batch_size, mesh)
    seed_key = jax.random.key(config.seed)
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
            finite = np.all([np.isfinite(v) for v in metrics.values()], axis=0)
            if not finite.all():
                bad = int(np.argmin(finite))
                if bad:  # re-run the finite steps of this call to recover their state
                    state, _ = chunk(state, data, seed_key, step, bad)
                for k, v in metrics.items():
                    history.setdefault(k, []).append(v[:bad + 1])
                nnx.update(objects, state)
                which = [k for k, v in metrics.items() if not np.isfinite(v[bad])]
                hist = {k: np.concatenate(v) for k, v in history.items()}
                if ckpt is not None:
                    save_checkpoint(ckpt, state, step + bad, {k: v[:-1] for k, v in hist.items()},
                                    meta)
                raise TrainingDiverged(
                    f"training stopped: {', '.join(which)} became "
                    f"{'nan' if np.isnan(metrics[which[0]][bad]) else 'inf'} at step "
                    f"{step + bad + 1} of {config.steps}; the model keeps its state after step "
                    f"{step + bad} (lower the learning rate or check the data)",
                    step + bad, hist)
            state, step = new_state, step + n
            for k, v in metrics.items():
                history.setdefault(k, []).append(v)
            if ckpt is not None:
                save_checkpoint(ckpt, state, step,
                                {k: np.concatenate(v) for k, v in history.items()}, meta)
            if bar is not None:
                bar.update(n)
                bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in list(metrics.items())[:3]})
            if callback is not None:
                nnx.update(objects, state)
                callback(step)
    finally:
        if bar is not None:
            bar.close()
    nnx.update(objects, state)
    return {k: np.concatenate(v) for k, v in history.items()}


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
