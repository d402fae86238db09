"""Pre-trained weights: a bit-identical round trip, clear errors, the retrain flag, atomicity,
and the shipped files in data/pretrained against their sidecars."""

import importlib
import json
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from course_lib import data, nets, pretrained, train
from course_lib.baseline import GaussianConfig
from course_lib.pretrained import PRETRAINED_DIR, regenerate_command, sha256, train_or_load
from course_lib.train import TrainConfig, step_from_loss

NAME = "week99_test/denoiser"
COMMAND = "python -m course_lib pretrained regenerate week99_test/denoiser"
MOONS = data.get("moons")


def denoise_loss(model, x, key):
    noisy = x + 0.3 * jax.random.normal(key, x.shape)
    return jnp.mean((model(noisy) - x) ** 2)


def make(seed=0, hidden=(16, 16)):
    """A model and the function that trains it in place, counting its calls."""
    model = nets.MLP(2, list(hidden), 2, rngs=nnx.Rngs(seed))
    calls = []

    def fit():
        calls.append(1)
        optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
        return train.train(step_from_loss(denoise_loss), (model, optimizer), MOONS.sample,
                           TrainConfig(steps=200, batch_size=64, progress=False))

    return model, fit, calls


def leaves(model):
    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(model))]


def save(tmp_path, seed=0, config=None):
    model, fit, _ = make(seed)
    history = train_or_load(NAME, (model,), fit, retrain=True, config=config, directory=tmp_path)
    return model, history


def test_round_trip_is_bit_identical(tmp_path):
    trained, history = save(tmp_path, config={"seed": 0, "steps": 200})
    fresh, fit, calls = make(seed=1)  # different initial weights, overwritten by the load
    assert any((a != b).any() for a, b in zip(leaves(fresh), leaves(trained)))
    loaded = train_or_load(NAME, (fresh,), fit, retrain=False, config={"seed": 0, "steps": 200},
                           directory=tmp_path)
    assert not calls  # loading does not train
    for a, b in zip(leaves(fresh), leaves(trained), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    x = MOONS.sample(jax.random.key(5), 500)
    assert np.array_equal(np.asarray(fresh(x)), np.asarray(trained(x)))
    assert loaded.keys() == history.keys() == {"loss"}
    assert np.array_equal(loaded["loss"], history["loss"]) and len(loaded["loss"]) == 200
    assert history["loss"][-20:].mean() < history["loss"][:20].mean()  # it did train


def test_sidecar_records_hash_size_command_and_config(tmp_path):
    save(tmp_path, config={"seed": 0, "hidden": (16, 16)})
    weights = tmp_path / f"{NAME}.npz"
    info = json.loads((tmp_path / f"{NAME}.json").read_text())
    assert info["sha256"] == sha256(weights) and info["bytes"] == weights.stat().st_size
    assert info["command"] == COMMAND == regenerate_command(NAME)
    assert info["config"] == {"seed": 0, "hidden": [16, 16]} and info["steps"] == 200
    assert info["parameters"] == sum(x.size for x in leaves(make()[0]))


def test_a_bit_identical_retrain_changes_no_file(tmp_path):
    """A retrain that reproduces the weights leaves the file alone (the same inode: nothing
    rewritten), and other weights give a new file and a new sha256."""
    save(tmp_path)
    weights, sidecar = tmp_path / f"{NAME}.npz", tmp_path / f"{NAME}.json"
    inode, text = weights.stat().st_ino, sidecar.read_text()
    save(tmp_path)
    assert weights.stat().st_ino == inode and sidecar.read_text() == text
    save(tmp_path, seed=1)  # other weights: a new file and a new sha256
    assert weights.stat().st_ino != inode
    new_sha = json.loads(sidecar.read_text())["sha256"]
    assert new_sha == sha256(weights) != json.loads(text)["sha256"]


def test_rng_state_is_stored(tmp_path):
    """A model with dropout carries a PRNG key and a counter; both come back."""
    model = nets.MLP(2, [8], 2, dropout=0.5, rngs=nnx.Rngs(0))
    model(jnp.ones((4, 2)))  # advance the dropout counter
    train_or_load(NAME, (model,), lambda: {}, retrain=True, directory=tmp_path)
    train_or_load(NAME, (model,), lambda: {}, retrain=True, directory=tmp_path)  # unchanged
    fresh = nets.MLP(2, [8], 2, dropout=0.5, rngs=nnx.Rngs(1))
    train_or_load(NAME, (fresh,), lambda: {}, retrain=False, directory=tmp_path)
    x = jnp.ones((4, 2))
    assert np.array_equal(np.asarray(fresh(x)), np.asarray(model(x)))  # same dropout masks


def test_missing_file_says_how_to_regenerate(tmp_path):
    model, fit, calls = make()
    with pytest.raises(ValueError, match=r"week99_test/denoiser.npz' are missing; regenerate "
                       r"with `python -m course_lib pretrained regenerate week99_test/denoiser` "
                       r"or set COURSE_RETRAIN=1"):
        train_or_load(NAME, (model,), fit, retrain=False, directory=tmp_path)
    save(tmp_path)
    (tmp_path / f"{NAME}.json").unlink()
    with pytest.raises(ValueError, match=r"denoiser.json' \(the sha256 of 'denoiser.npz'\) is "
                       "missing; regenerate"):
        train_or_load(NAME, (model,), fit, retrain=False, directory=tmp_path)
    assert not calls


def test_hash_mismatch_is_refused(tmp_path):
    save(tmp_path)
    weights = tmp_path / f"{NAME}.npz"
    expected = sha256(weights)
    raw = bytearray(weights.read_bytes())
    raw[len(raw) // 2] ^= 1  # one flipped bit
    weights.write_bytes(bytes(raw))
    model, fit, _ = make()
    with pytest.raises(ValueError, match=f"sha256 mismatch: expected {expected}, got "
                       f"{sha256(weights)} .*; regenerate with `{COMMAND}`"):
        train_or_load(NAME, (model,), fit, retrain=False, directory=tmp_path)


@pytest.mark.parametrize("hidden, config, message", [
    ((16, 16, 16), None, "holds 6 arrays but the model has 8"),
    ((32, 16), None, r"array 0 has shape \(16,\), the model expects \(32,\)"),
    ((16, 16), {"seed": 1}, r"another model: in its config, seed=0 \(this model: 1\)"),
])
def test_file_of_another_model_is_refused(tmp_path, hidden, config, message):
    save(tmp_path, config={"seed": 0})
    model, fit, calls = make(hidden=hidden)
    with pytest.raises(ValueError, match=message + ".*; regenerate with"):
        train_or_load(NAME, (model,), fit, retrain=False, config=config or {"seed": 0},
                      directory=tmp_path)
    assert not calls


def test_same_shapes_other_structure_is_refused(tmp_path):
    """Two objects whose arrays have the same shapes in another order: caught by the names."""
    a, b = nets.MLP(2, [2], 2, rngs=nnx.Rngs(0)), nnx.Linear(2, 2, rngs=nnx.Rngs(0))
    train_or_load(NAME, (a,), lambda: {}, retrain=True, directory=tmp_path)
    with pytest.raises(ValueError, match=r"written for another model: in its arrays, array 0 is "
                       r"'0/layers/0/bias/value' \(this model: '0/bias/value'\)"):
        train_or_load(NAME, (b, nnx.Linear(2, 2, rngs=nnx.Rngs(1))), lambda: {}, retrain=False,
                      directory=tmp_path)


def test_retrain_flag_comes_from_the_environment(tmp_path, monkeypatch):
    try:
        monkeypatch.setenv("COURSE_RETRAIN", "1")
        assert importlib.reload(pretrained).RETRAIN
        model, fit, calls = make()
        pretrained.train_or_load(NAME, (model,), fit, directory=tmp_path)  # no file needed
        assert len(calls) == 1 and (tmp_path / f"{NAME}.npz").is_file()
        monkeypatch.setenv("COURSE_RETRAIN", "0")
        assert not importlib.reload(pretrained).RETRAIN
        pretrained.train_or_load(NAME, (model,), fit, directory=tmp_path)  # loads
        assert len(calls) == 1
    finally:  # back to the flag of the environment pytest started in
        monkeypatch.undo()
        importlib.reload(pretrained)


def test_bad_name_and_bad_train_fn(tmp_path):
    model, fit, _ = make()
    for bad in ("denoiser", "../denoiser", "week99/../../x", "week99/"):
        with pytest.raises(ValueError, match="pretrained name must be '<notebook>/<model>'.* got "
                           f"'{re.escape(bad)}'"):
            train_or_load(bad, (model,), fit, directory=tmp_path)
    with pytest.raises(ValueError, match="train_fn must return the history dict of "
                       "course_lib.train.train, got NoneType"):
        train_or_load(NAME, (model,), lambda: None, retrain=True, directory=tmp_path)
    assert not list(tmp_path.rglob("*"))


def test_a_crash_leaves_the_old_files_whole(tmp_path, monkeypatch):
    save(tmp_path)
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    model, _, _ = make(seed=3)

    def crash_in_training():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_or_load(NAME, (model,), crash_in_training, retrain=True, directory=tmp_path)

    def crash_in_writing(f, **arrays):  # half a file, then the process dies
        f.write(b"PK\x03\x04 half an npz")
        raise KeyboardInterrupt

    monkeypatch.setattr(train.np, "savez", crash_in_writing)
    with pytest.raises(KeyboardInterrupt):
        train_or_load(NAME, (model,), lambda: {}, retrain=True, directory=tmp_path)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == files
    monkeypatch.undo()
    fresh, fit, _ = make(seed=4)
    train_or_load(NAME, (fresh,), fit, retrain=False, directory=tmp_path)  # still loads


def expand_braces(pattern: str) -> list[str]:
    """Shell-style {a,b} and {0..4} in a README name: `week16_gans/ring_seed{0..4}`."""
    m = re.search(r"\{([^{}]*)\}", pattern)
    if not m:
        return [pattern]
    span = re.fullmatch(r"(\d+)\.\.(\d+)", m[1])
    options = [str(i) for i in range(int(span[1]), int(span[2]) + 1)] if span else m[1].split(",")
    return [name for o in options
            for name in expand_braces(pattern[:m.start()] + o + pattern[m.end():])]


def test_expand_braces():
    assert expand_braces("w/{ring,grid}_s{0..2}") == ["w/ring_s0", "w/ring_s1", "w/ring_s2",
                                                      "w/grid_s0", "w/grid_s1", "w/grid_s2"]
    assert expand_braces("w/plain") == ["w/plain"]


def test_shipped_weights_match_their_sidecars_and_readme():
    readme = (PRETRAINED_DIR / "README.md").read_text()
    described = {n for token in re.findall(r"`([^`\s]+)`", readme) for n in expand_braces(token)}
    for weights in sorted(PRETRAINED_DIR.rglob("*.npz")):
        name = weights.relative_to(PRETRAINED_DIR).with_suffix("").as_posix()
        info = json.loads(weights.with_suffix(".json").read_text())
        assert info["sha256"] == sha256(weights), f"{name}: {info['command']}"
        assert info["bytes"] == weights.stat().st_size and info["name"] == name
        assert name in described, f"data/pretrained/README.md does not describe {name}"
    for sidecar in PRETRAINED_DIR.rglob("*.json"):
        assert sidecar.with_suffix(".npz").is_file(), f"{sidecar} has no weights file"


def test_equal_weights_written_at_other_times_are_equal_bytes(tmp_path, monkeypatch):
    """make retrain compares a rebuilt file's sha256 with the shipped one, so the file must
    depend on the arrays alone, not on when it was written (np.savez under Python 3.12 dates
    every zip entry 1980-01-01; a writer that stamps the time would break every rebuild)."""
    import time

    save(tmp_path / "a")
    later = time.time() + 86400 * 400  # another day, month and year
    monkeypatch.setattr(time, "time", lambda: later)
    save(tmp_path / "b")
    first, second = (tmp_path / d / f"{NAME}.npz" for d in "ab")
    assert first.read_bytes() == second.read_bytes()


def test_the_sidecar_records_the_kind_of_cpu(tmp_path):
    """Bit-identical rebuilds hold on one kind of CPU: the sidecar says which made the file."""
    save(tmp_path)
    info = json.loads((tmp_path / f"{NAME}.json").read_text())
    assert info["cpu"] == pretrained.cpu_kind()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():  # Linux: the model name and the widest vector instruction set
        text = cpuinfo.read_text()
        model = re.search(r"model name\s*:\s*(.*)", text)
        flags = set(re.search(r"flags\s*:\s*(.*)", text).group(1).split())
        widest = "avx512f" if "avx512f" in flags else "avx2" if "avx2" in flags else None
        assert model is None or info["cpu"].startswith(model.group(1).strip())
        assert widest is None or info["cpu"].endswith(f"({widest})")


def test_keep_history_stores_only_what_a_notebook_reads(tmp_path):
    """week16's mode-table files store no per-step losses (nobody reads them): the file holds
    the weights, the step count stays the number of steps trained, loading gives the weights."""
    model, fit, _ = make()
    history = train_or_load(NAME, (model,), fit, retrain=True, directory=tmp_path,
                            keep_history=())
    assert history == {}
    info = json.loads((tmp_path / f"{NAME}.json").read_text())
    assert info["steps"] == 200
    with np.load(tmp_path / f"{NAME}.npz") as f:
        assert not [k for k in f.files if k.startswith("history/")] and int(f["step"]) == 200
    fresh, fit_fresh, calls = make(seed=1)
    assert train_or_load(NAME, (fresh,), fit_fresh, retrain=False, directory=tmp_path) == {}
    assert not calls and all(np.array_equal(a, b) for a, b in zip(leaves(fresh), leaves(model)))


def test_a_deferred_data_set_is_made_only_to_train(tmp_path):
    """Loading shipped weights must not pay for their training set (the Metropolis sets take
    a minute or more): fit makes a Deferred set when it trains, never when it loads."""
    makes = []

    def make():
        makes.append(1)
        return data.from_array("points", "two points", np.array([[0.0, 1.0], [1.0, 0.0]]))

    config, run = GaussianConfig(data_dim=2), TrainConfig(steps=3, batch_size=2, progress=False)
    points = data.Deferred("two points", make)
    pretrained.fit(config, points, run, name="week99/deferred", retrain=True, directory=tmp_path)
    assert makes == [1]
    saved = json.loads((tmp_path / "week99/deferred.json").read_text())["config"]
    assert saved["data"] == "two points"
    pretrained.fit(config, points, run, name="week99/deferred", retrain=False, directory=tmp_path)
    assert makes == [1]
