"""The training loop: determinism, resume, the NaN guard, checkpoints, the callback."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from course_lib import data, nets
from course_lib.train import (
    CHECKPOINT,
    TrainConfig,
    TrainingDiverged,
    load_checkpoint,
    step_from_loss,
    step_key,
    train,
    train_ensemble,
)

MOONS = data.get("moons")


def denoise_loss(model, x, key):
    """Predict x from a noisy copy: a real regression with noise drawn from the step's key."""
    noisy = x + 0.3 * jax.random.normal(key, x.shape)
    return jnp.mean((model(noisy) - x) ** 2)


def make(seed=0, lr=1e-3, dropout=0.0):
    model = nets.MLP(2, [32, 32], 2, dropout=dropout, rngs=nnx.Rngs(seed))
    return model, nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)


def params(model):
    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(model, nnx.Param))]


def cfg(**kw):
    return TrainConfig(**{"steps": 300, "batch_size": 64, "steps_per_call": 100,
                          "progress": False, **kw})


def test_training_reduces_the_loss():
    model, opt = make()
    h = train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg(steps=1000))
    assert h["loss"].shape == (1000,)
    # The loss of a 2-layer denoiser on moons falls well below the noise variance 0.09 of
    # the identity map: compare the first and last 100 steps' means.
    assert h["loss"][-100:].mean() < 0.5 * h["loss"][:100].mean()


def test_same_seed_same_numbers_and_chunking_does_not_matter():
    runs = []
    for spc in (100, 300, 7):
        model, opt = make()
        h = train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg(steps_per_call=spc))
        runs.append((h["loss"], params(model)))
    for loss, p in runs[1:]:
        np.testing.assert_array_equal(loss, runs[0][0])
        for a, b in zip(p, runs[0][1]):
            np.testing.assert_array_equal(a, b)
    model, opt = make()
    h = train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg(seed=1))
    assert not np.array_equal(h["loss"], runs[0][0])  # the seed matters


def test_resume_is_bit_identical(tmp_path):
    """Stop at step 200 of 300 (a crash), resume: the same parameters as one uninterrupted run.

    Dropout makes the model's own RNG state part of what must be restored.
    """
    model, opt = make(dropout=0.1)
    full = train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg())
    reference = params(model)

    model, opt = make(dropout=0.1)
    train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg(steps=200),
          checkpoint_dir=tmp_path)
    model, opt = make(dropout=0.1)  # a fresh process would start from a fresh model
    resumed = train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg(),
                    checkpoint_dir=tmp_path, resume=True)
    for a, b in zip(params(model), reference):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(resumed["loss"], full["loss"])
    _, step, history, _ = load_checkpoint(tmp_path / CHECKPOINT, nnx.state((model, opt)))
    assert step == 300 and history["loss"].shape == (300,)


def test_resume_refuses_a_different_config(tmp_path):
    model, opt = make()
    train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg(steps=100),
          checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="cannot resume"):
        train(step_from_loss(denoise_loss), make(), MOONS.sample, cfg(batch_size=32),
              checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="no checkpoint"):
        train(step_from_loss(denoise_loss), make(), MOONS.sample, cfg(),
              checkpoint_dir=tmp_path / "empty", resume=True)


def test_nan_guard_names_the_step_and_keeps_the_last_finite_state():
    """Data that turns to NaN at step 137: the run stops there, the state is that after 136."""

    bad_step = 137  # 1-based: the step whose batch is NaN
    bad_key = jax.random.split(step_key(0, bad_step - 1))[0]  # that step's data key

    def sample(key, n):
        is_bad = jnp.all(jax.random.key_data(key) == jax.random.key_data(bad_key))
        return jnp.where(is_bad, jnp.nan, MOONS.sample(key, n))

    step = step_from_loss(denoise_loss)
    model, opt = make()
    with pytest.raises(TrainingDiverged, match=f"at step {bad_step} of 300") as err:
        train(step, (model, opt), sample, cfg())
    assert err.value.step == bad_step - 1
    assert np.isnan(err.value.history["loss"][-1]) and len(err.value.history["loss"]) == bad_step
    assert all(np.isfinite(p).all() for p in params(model))

    clean, clean_opt = make()
    train(step, (clean, clean_opt), MOONS.sample, cfg(steps=bad_step - 1))
    for a, b in zip(params(model), params(clean)):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_is_written_atomically(tmp_path, monkeypatch):
    """A crash while writing leaves the previous checkpoint intact and no temporary file."""
    model, opt = make()
    train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg(steps=100),
          checkpoint_dir=tmp_path)
    before = (tmp_path / CHECKPOINT).read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg(steps=200),
              checkpoint_dir=tmp_path, resume=True)
    assert (tmp_path / CHECKPOINT).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT]


def test_callback_sees_the_current_state():
    seen = []
    model, opt = make()
    train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg(),
          callback=lambda step: seen.append((step, params(model)[0].copy())))
    assert [s for s, _ in seen] == [100, 200, 300]
    assert not np.array_equal(seen[0][1], seen[1][1])
    np.testing.assert_array_equal(seen[-1][1], params(model)[0])


@pytest.mark.parametrize("bad", [{"steps": 0}, {"batch_size": -1}, {"steps_per_call": 1.5},
                                 {"seed": -3}, {"steps": True}])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="must be"):
        TrainConfig(**bad)


def test_write_atomic_gives_the_permissions_open_would(tmp_path):
    """mkstemp creates 0600 files; a checkpoint or weight file must be readable like any other."""
    import os
    import stat

    from course_lib.checkpoint import write_atomic

    mask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "w.npz", lambda f: f.write(b"x"))
        assert stat.S_IMODE((tmp_path / "w.npz").stat().st_mode) == 0o644
    finally:
        os.umask(mask)


# ------------------------------------------------------------------ ensembles (vmapped runs)


def test_ensemble_members_are_bit_identical_to_runs_alone():
    """Three seeds in one program end exactly where three separate train() calls end: every
    loss of every step and every parameter, to the last bit (dropout included: its RNG state
    is stacked with the rest)."""
    seeds = (0, 3, 7)
    alone = []
    for s in seeds:
        model, opt = make(seed=s, dropout=0.1)
        h = train(step_from_loss(denoise_loss), (model, opt), MOONS.sample, cfg(seed=s))
        alone.append((h, params(model)))
    members = [make(seed=s, dropout=0.1) for s in seeds]
    hs = train_ensemble(step_from_loss(denoise_loss), members, MOONS.sample,
                        [cfg(seed=s) for s in seeds])
    for (h_alone, p_alone), h, (model, _) in zip(alone, hs, members):
        assert h.keys() == h_alone.keys() and h["loss"].shape == (300,)
        np.testing.assert_array_equal(h["loss"], h_alone["loss"])
        for a, b in zip(params(model), p_alone):
            np.testing.assert_array_equal(a, b)
    # the members really differ (a shared key or state would make them equal)
    assert not np.array_equal(hs[0]["loss"], hs[1]["loss"])


def test_ensemble_resumes_bit_identically(tmp_path):
    seeds = (1, 2)
    step = step_from_loss(denoise_loss)
    full = [make(seed=s) for s in seeds]
    h_full = train_ensemble(step, full, MOONS.sample, [cfg(seed=s) for s in seeds])
    part = [make(seed=s) for s in seeds]
    train_ensemble(step, part, MOONS.sample, [cfg(seed=s, steps=200) for s in seeds],
                   checkpoint_dir=tmp_path)
    resumed = [make(seed=s) for s in seeds]
    h = train_ensemble(step, resumed, MOONS.sample, [cfg(seed=s) for s in seeds],
                       checkpoint_dir=tmp_path, resume=True)
    for a, b, (m, _), (m_full, _) in zip(h, h_full, resumed, full):
        np.testing.assert_array_equal(a["loss"], b["loss"])
        for x, y in zip(params(m), params(m_full)):
            np.testing.assert_array_equal(x, y)


def test_ensemble_refuses_members_that_do_not_stack():
    step = step_from_loss(denoise_loss)
    with pytest.raises(ValueError, match="equal but for the seed"):
        train_ensemble(step, [make(0), make(1)], MOONS.sample, [cfg(seed=0), cfg(steps=10)])
    with pytest.raises(ValueError, match="one TrainConfig per member"):
        train_ensemble(step, [make(0), make(1)], MOONS.sample, [cfg()])
    wide = nets.MLP(2, [32, 33], 2, rngs=nnx.Rngs(1))
    with pytest.raises(ValueError, match="same shapes"):
        train_ensemble(step, [make(0), (wide, nnx.Optimizer(wide, optax.adam(1e-3),
                                                              wrt=nnx.Param))],
                       MOONS.sample, [cfg(), cfg(seed=1)])


def test_ensemble_nan_guard_names_the_member():
    bad_key = jax.random.split(step_key(5, 40))[0]  # seed 5's data key of step 41

    def sample(key, n):
        is_bad = jnp.all(jax.random.key_data(key) == jax.random.key_data(bad_key))
        return jnp.where(is_bad, jnp.nan, MOONS.sample(key, n))

    with pytest.raises(TrainingDiverged, match="in member.s. 1 at step 41 of 300") as err:
        train_ensemble(step_from_loss(denoise_loss), [make(0), make(5)], sample,
                       [cfg(seed=0), cfg(seed=5)])
    assert err.value.history["loss"].shape == (2, 41)
