"""The compiled program train() runs: its trace is reused only when nothing it reads changed."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from course_lib import data, nets, scan_chunk
from course_lib.train import TrainConfig, train

MOONS = data.get("moons")
CONFIG = TrainConfig(steps=60, batch_size=32, steps_per_call=30, progress=False)


@pytest.fixture
def builds(monkeypatch):
    """Counts the programs traced (built) from now on, starting from an empty cache."""
    monkeypatch.setattr(scan_chunk, "TRACES", type(scan_chunk.TRACES)())
    count = []
    build = scan_chunk._build

    def counting(*args):
        count.append(1)
        return build(*args)

    monkeypatch.setattr(scan_chunk, "_build", counting)
    return count


def student(seed=0):
    model = nets.MLP(2, [16], 2, rngs=nnx.Rngs(seed))
    return model, nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)


def params(model):
    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(model, nnx.Param))]


def imitation_step(teacher):
    """A step that reads another object: fit the student to a frozen teacher's outputs."""

    def step(model, opt, x, key):
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - teacher(x)) ** 2))(model)
        opt.update(model, grads)
        return {"loss": loss}

    return step


def test_a_second_call_reuses_the_trace_and_gives_the_same_bits(builds):
    teacher = nets.MLP(2, [16], 2, rngs=nnx.Rngs(9))
    step = imitation_step(teacher)
    runs = []
    for seed in (0, 0, 1):  # fresh objects each time: same structure, same settings
        model, opt = student()
        h = train(step, (model, opt), MOONS.sample, TrainConfig(**{**CONFIG.__dict__,
                                                                    "seed": seed}))
        runs.append((h["loss"], params(model)))
    assert len(builds) == 1
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    scan_chunk.TRACES.clear()  # the same run traced afresh: identical
    model, opt = student()
    h = train(step, (model, opt), MOONS.sample, TrainConfig(**{**CONFIG.__dict__, "seed": 1}))
    np.testing.assert_array_equal(h["loss"], runs[2][0])
    for a, b in zip(params(model), runs[2][1]):
        np.testing.assert_array_equal(a, b)


def test_a_step_reading_an_object_that_changed_is_traced_again(builds):
    """Train, change the teacher the step reads, train again: the second run must see the new
    teacher (a trace keyed on the step function alone would silently reuse the old one)."""
    teacher = nets.MLP(2, [16], 2, rngs=nnx.Rngs(9))
    step = imitation_step(teacher)
    train(step, student(), MOONS.sample, CONFIG)
    nnx.update(teacher, nnx.state(nets.MLP(2, [16], 2, rngs=nnx.Rngs(10))))
    model, opt = student()
    h = train(step, (model, opt), MOONS.sample, CONFIG)
    assert len(builds) == 2

    fresh = nets.MLP(2, [16], 2, rngs=nnx.Rngs(10))
    model_ref, opt_ref = student()
    ref = train(imitation_step(fresh), (model_ref, opt_ref), MOONS.sample, CONFIG)
    np.testing.assert_array_equal(h["loss"], ref["loss"])


def test_other_settings_are_another_program(builds):
    """The same step with another learning rate (held in the optimizer's static closure) or
    another batch size is not the cached program."""
    step = imitation_step(nets.MLP(2, [16], 2, rngs=nnx.Rngs(9)))
    train(step, student(), MOONS.sample, CONFIG)
    model = nets.MLP(2, [16], 2, rngs=nnx.Rngs(0))
    h_lr = train(step, (model, nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)),
                 MOONS.sample, CONFIG)
    train(step, student(), MOONS.sample, TrainConfig(**{**CONFIG.__dict__, "batch_size": 16}))
    assert len(builds) == 3
    scan_chunk.TRACES.clear()
    model = nets.MLP(2, [16], 2, rngs=nnx.Rngs(0))
    ref = train(step, (model, nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)),
                MOONS.sample, CONFIG)
    np.testing.assert_array_equal(h_lr["loss"], ref["loss"])
