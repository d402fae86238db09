"""The compiled program :func:`course_lib.train.train` runs: ``n`` training steps in one
``jax.lax.scan``, for one run or for an ensemble of runs side by side.

Tracing it (Python running the step once, autodiff, NNX's split and merge) takes 0.1-0.5 s;
:func:`make_chunk` keeps the traced program and hands it out again when nothing it reads has
changed: the step function, the sampler and the objects' structure are compared by
:func:`course_lib.fingerprint.fingerprint`, so a step that reads another object (a frozen
generator, a data set) is traced again once that object holds other arrays.
"""

from __future__ import annotations

from collections import OrderedDict

import jax
import jax.numpy as jnp
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from course_lib.fingerprint import fingerprint

TRACES = OrderedDict()  # fingerprint -> (the objects it holds by identity, chunk, data)
MAX_TRACES = 32


def make_chunk(train_step, graphdef, sample_batch, batch_size: int, mesh=None,
               ensemble: bool = False):
    """``(chunk, data)``: ``chunk(state, data, seed_key, start, n)`` runs steps ``start`` to
    ``start + n - 1`` and returns ``(state, metrics of every step)``; ``data`` is the large
    arrays the sampler reads (see :func:`data_as_argument`). The same jitted ``chunk`` is
    returned for calls that depend on nothing different, so its trace is reused."""
    held = []
    try:
        key = (fingerprint((train_step, sample_batch, graphdef), keep=held), batch_size,
               mesh, ensemble)
        hash(key)
    except Exception:  # something it cannot vouch for: trace afresh, as always safe
        return _build(train_step, graphdef, sample_batch, batch_size, mesh, ensemble)
    if key in TRACES:
        TRACES.move_to_end(key)
        return TRACES[key][1:]
    chunk, data = _build(train_step, graphdef, sample_batch, batch_size, mesh, ensemble)
    TRACES[key] = (held, chunk, data)  # held: ids in the key stay those objects' ids
    if len(TRACES) > MAX_TRACES:
        TRACES.popitem(last=False)
    return chunk, data


def stack(trees):
    """Pytrees of the same structure stacked leaf by leaf on a new leading axis."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


LARGE_CONSTANT = 1 << 20  # bytes: a data set, not a table of means


def data_as_argument(sample_batch, batch_size):
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


def _build(train_step, graphdef, sample_batch, batch_size, mesh, ensemble):
    """A jitted function running ``n`` steps from ``start`` in one lax.scan, and the data
    arrays it takes as its second argument.

    The seed's key is an argument, not a constant, so a new seed gives the same program and
    the persistent compile cache serves it instead of XLA compiling it again.

    With ``ensemble`` the chunk takes states and seed keys stacked on a leading member axis
    and runs each member's step side by side in one program, traced with the member's own
    shapes. Not ``jax.vmap``: XLA:CPU compiles a batched step into other code than the
    member's own (sums over a stacked axis are added in another order; the algebraic
    simplifier turns Adam's division by a per-member bias correction into a multiplication
    by its reciprocal, which it does not do for the scalar of a run alone), so each member
    would differ from its run alone in the last bit at step 1, and a GAN turns that into a
    difference of 0.7 in its loss within 300 steps. Side by side, the members' programs are
    the run alone's, bit for bit, and XLA runs the independent members concurrently.
    """
    batch_sharding = NamedSharding(mesh, P("data")) if mesh is not None else None
    sample, data = data_as_argument(sample_batch, batch_size)

    def one_step(state, data, seed_key, i):
        data_key, noise_key = jax.random.split(jax.random.fold_in(seed_key, i))  # step_key
        batch = sample(data, data_key)
        if batch_sharding is not None:  # split the batch across devices, not the parameters
            batch = jax.tree.map(
                lambda b: jax.lax.with_sharding_constraint(b, batch_sharding), batch)
        objects = nnx.merge(graphdef, state)
        metrics = train_step(*objects, batch, noise_key)
        return nnx.state(objects), {k: jnp.asarray(v, jnp.float32) for k, v in metrics.items()}

    def chunk(state, data, seed_key, start, n):
        return jax.lax.scan(lambda s, i: one_step(s, data, seed_key, i), state,
                            start + jnp.arange(n))

    def members(states, data, seed_keys, start, n):  # each member's step as if alone
        states = [jax.tree.map(lambda x, m=m: x[m], states) for m in range(len(seed_keys))]

        def steps(states, i):
            out = [one_step(s, data, k, i) for s, k in zip(states, seed_keys)]
            return [s for s, _ in out], stack([m for _, m in out])

        states, metrics = jax.lax.scan(steps, states, start + jnp.arange(n))
        return stack(states), jax.tree.map(lambda v: v.T, metrics)  # (member, step)

    return jax.jit(members if ensemble else chunk, static_argnums=4), data
