"""Hostile input: every failure a user can cause is exit 2 and one ``error:`` line, and changes
nothing on disk; a bug is exit 1 and one line; JSON output is strict JSON.

Most cases call ``cli.main`` in-process (fast); what only a fresh process shows (Ctrl-C, two
writers) lives in test_run_folder.py and test_kill.py. Each class of the issue (19) has its
named cases; hypothesis adds generated option values and data arrays.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import cli, data
from course_lib.cli import runs
from course_lib.train import TrainConfig

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def call(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_refused(rc, err, message=""):
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    assert message in lines[0], lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two small trained runs: a gan and a wgan-gp with the same network shapes."""
    root = tmp_path_factory.mktemp("runs")
    for model in ("gan", "wgan-gp"):
        assert cli.main(["train", model, "--data", "ring", "--out", str(root / model),
                         "--steps", "4", "--steps-per-call", "2", "--batch-size", "16",
                         "--hidden", "8,8", "--decay-steps", "0",  # constant rates in both
                         "--no-progress"]) == 0
    assert cli.main(["train", "gaussian", "--data", "ring", "--out", str(root / "gaussian"),
                     "--steps", "4", "--no-progress"]) == 0
    return root


def copy_run(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


# ---------------------------------------------------------------- 1. options and their values

TRAIN = ["train", "gaussian", "--data", "ring", "--out"]
GAN = ["train", "gan", "--data", "ring", "--out"]

VALUES = [  # (model, extra arguments, what the error line must say)
    ("gaussian", ["--seed", str(2**64)], "seed"),
    ("gaussian", ["--seed", str(2**63)], "seed"),
    ("gaussian", ["--seed", "-1"], "seed"),
    ("gaussian", ["--lr", "nan"], "lr must be a finite number"),
    ("gaussian", ["--lr", "inf"], "lr must be a finite number"),
    ("gaussian", ["--lr", "-1"], "lr must be > 0"),
    ("gaussian", ["--lr", "0"], "lr must be > 0"),
    ("gaussian", ["--lr", "1e300"], "lr must be"),
    ("gaussian", ["--steps", str(2**70)], "steps"),
    ("gaussian", ["--batch-size", "1000000000000"], "batch"),
    ("gaussian", ["--steps-per-call", "0"], "positive integer"),
    ("gan", ["--hidden", "0"], "hidden must be"),
    ("gan", ["--hidden", "-1"], "hidden must be"),
    ("gan", ["--hidden", "1000000000000"], "hidden must be"),
    ("gan", ["--hidden", "100000,100000"], "GiB"),
    ("gan", ["--hidden", ""], "hidden"),
    ("gan", ["--latent-dim", "0"], "latent_dim must be a positive integer"),
    ("gan", ["--latent-dim", "-3"], "latent_dim"),
    ("gan", ["--lr-g", "nan"], "lr_g must be a finite"),
    ("gan", ["--lr-d", "-1"], "lr_d must be > 0"),
    ("gan", ["--b1", "1"], "b1 must be"),
    ("gan", ["--b2", "nan"], "b2 must be a finite"),
    ("gan", ["--d-dropout", "1"], "d_dropout"),
    ("gan", ["--critic-steps", "0"], "critic_steps"),
    ("gan", ["--pack", "0"], "pack"),
    ("gan", ["--clip", "-0.1"], "clip"),
    ("gan", ["--instance-noise", "-1"], "instance_noise"),
    ("gan", ["--decay-steps", "-1"], "decay_steps"),
    ("wgan-gp", ["--gp-weight", "nan"], "gp_weight must be a finite"),
    ("wgan-gp", ["--gp-weight", "-1"], "gp_weight must be >= 0"),
    ("ddpm", ["--levels", "-1"], "levels"),
    ("ddpm", ["--levels", "1"], "levels"),
    ("ddpm", ["--levels", "70000"], "levels"),
    ("ddpm", ["--T", str(2**40)], "T must"),
    ("ddpm", ["--beta-1", "0"], "beta_1"),
    ("ddpm", ["--beta-T", "1.5"], "beta_T"),
    ("ddpm", ["--lr", "nan"], "lr must be a finite"),
    ("vdm", ["--gamma-min", "nan"], "gamma_min"),
    ("vdm", ["--conv-features", "0"], "conv_features"),
    ("binomial", ["--p-T", "0"], "p_T"),
]


@pytest.mark.parametrize("model,extra,message", VALUES,
                         ids=[f"{m} {' '.join(e)[:30]}" for m, e, _ in VALUES])
def test_bad_option_values_are_refused_before_anything_is_written(tmp_path, capsys, model,
                                                                  extra, message):
    data_arg = "heartbeat" if model == "binomial" else "ring"
    out = tmp_path / "run"
    rc, _, err = call(capsys, "train", model, "--data", data_arg, "--out", out, "--no-progress",
                      *extra)
    assert_refused(rc, err, message)
    assert not out.exists()


@pytest.mark.parametrize("args,message", [
    (["data", "sample", "ring", "--n", "1000000000000", "--out", "x.npy"], "GiB"),
    (["data", "sample", "ring", "--n", "1e12", "--out", "x.npy"], "positive integer"),
    (["data", "sample", "ring", "--n", "3", "--seed", str(2**64), "--out", "x.npy"], "seed"),
    (["data", "sample", "ring", "--n", "-3", "--out", "x.npy"], "positive integer"),
    (["sample", "RUN", "--n", "1000000000000", "--out", "s.npy"], "GiB"),
    (["sample", "RUN", "--n", "3", "--seed", str(2**63), "--out", "s.npy"], "seed"),
    (["evaluate", "RUN", "--data", "ring", "--seed", "-1"], "seed"),
    (["evaluate", "RUN", "--data", "ring", "--means", "m.npy", "--std", "nan"], "--std"),
    (["evaluate", "RUN", "--data", "ring", "--means", "m.npy", "--std", "-1"], "--std"),
    (["evaluate", "RUN", "--data", "ring", "--means", "m.npy"], "go together"),
], ids=lambda a: " ".join(a[:3]) if isinstance(a, list) else a)
def test_bad_sizes_and_seeds_of_the_other_verbs(tmp_path, capsys, monkeypatch, trained, args,
                                                message):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "m.npy", np.zeros((8, 2)))
    args = [str(trained / "gaussian") if a == "RUN" else a for a in args]
    before = snapshot(trained)
    rc, _, err = call(capsys, *args)
    assert_refused(rc, err, message)
    assert not (tmp_path / "x.npy").exists() and not (tmp_path / "s.npy").exists()
    assert snapshot(trained) == before


# ------------------------------------------------------------ 2. files and their formats

def test_out_naming_an_existing_file_or_a_folder(tmp_path, capsys, trained):
    (tmp_path / "afile").write_text("keep")
    rc, _, err = call(capsys, *TRAIN, tmp_path / "afile", "--no-progress")
    assert_refused(rc, err, "is a file")
    assert (tmp_path / "afile").read_text() == "keep"
    rc, _, err = call(capsys, *TRAIN, tmp_path / "afile" / "run", "--no-progress")
    assert_refused(rc, err, "afile")
    (tmp_path / "x.npy").mkdir()
    rc, _, err = call(capsys, "data", "sample", "ring", "--n", "3", "--out", tmp_path / "x.npy")
    assert_refused(rc, err, "is a folder")
    rc, _, err = call(capsys, "sample", trained / "gaussian", "--n", "3",
                      "--out", tmp_path / "x.npy")
    assert_refused(rc, err, "is a folder")
    rc, _, err = call(capsys, "data", "sample", "ring", "--n", "3",
                      "--out", tmp_path / "afile" / "x.npy")
    assert_refused(rc, err, "afile")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "x.npy"]


def _damage(kind: str, run: Path) -> str:
    """Damage a copied run folder; return what the error line must say."""
    ckpt, config = run / "checkpoint.npz", run / "config.json"
    raw = bytearray(ckpt.read_bytes())
    saved = json.loads(config.read_text())
    if kind == "truncated":
        ckpt.write_bytes(bytes(raw[: len(raw) // 2]))
        return "damaged"
    if kind == "empty":
        ckpt.write_bytes(b"")
        return "damaged"
    if kind == "bitflip":
        raw[len(raw) // 3] ^= 0x40
        ckpt.write_bytes(bytes(raw))
        return "checkpoint"
    if kind == "not a zip":
        ckpt.write_text("hello")
        return "damaged"
    if kind == "altered array":
        with np.load(ckpt) as f:
            arrays = {k: f[k] for k in f.files}
        arrays["state/0"] = arrays["state/0"] + 1
        np.savez(ckpt, **arrays)
        return "manifest"
    if kind == "no step":
        with np.load(ckpt) as f:
            arrays = {k: f[k] for k in f.files if k not in ("step", "manifest")}
        np.savez(ckpt, **arrays)
        return "no step"
    if kind == "config not json":
        config.write_text("{")
        return "not valid JSON"
    if kind == "config a list":
        config.write_text("[1, 2]")
        return "not a record"
    if kind == "config without train":
        del saved["train"]
        config.write_text(json.dumps(saved))
        return "train"
    if kind == "config train seed huge":
        saved["train"]["seed"] = 2**64
        config.write_text(json.dumps(saved))
        return "seed"
    if kind == "config train a string":
        saved["train"] = "fast"
        config.write_text(json.dumps(saved))
        return "train"
    if kind == "config shape bad":
        saved["shape"] = [0]
        config.write_text(json.dumps(saved))
        return "shape"
    if kind == "config model unknown":
        saved["model"] = "nomodel"
        config.write_text(json.dumps(saved))
        return "unknown model"
    if kind == "config lr nan":
        saved["config"]["lr"] = float("nan")
        config.write_text(json.dumps(saved))
        return "lr"
    if kind == "config field wrong type":
        saved["config"]["lr"] = "fast"
        config.write_text(json.dumps(saved))
        return "lr"
    if kind == "config lr altered":
        saved["config"]["lr"] = 0.5
        config.write_text(json.dumps(saved))
        return "differs"
    if kind == "config edited, manifest not":
        saved["prepare"] = {"standardize": True, "mean": [100.0, 100.0], "std": [1.0, 1.0]}
        config.write_text(json.dumps(saved))
        return "sha256"
    raise AssertionError(kind)


def resign(run):
    """What a tamperer who also rewrites the manifest leaves: the field checks must hold."""
    from course_lib.cli import run_folder
    raw = (run / "config.json").read_bytes()
    (run / "manifest.json").write_bytes(run_folder.dumps(run_folder.manifest_for(raw)))


DAMAGE = ["truncated", "empty", "bitflip", "not a zip", "altered array", "no step",
          "config not json", "config a list", "config without train", "config train seed huge",
          "config train a string", "config shape bad", "config model unknown", "config lr nan",
          "config field wrong type", "config lr altered", "config edited, manifest not"]


@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.parametrize("verb", ["sample", "evaluate", "resume"])
def test_damaged_run_folders_are_refused_and_left_as_they_were(tmp_path, capsys, trained, kind,
                                                               verb):
    run = copy_run(trained / "gaussian", tmp_path / "run")
    message = _damage(kind, run)
    if kind.startswith("config") and kind != "config edited, manifest not":
        resign(run)
    before = snapshot(run)
    if verb == "sample":
        rc, _, err = call(capsys, "sample", run, "--n", "3", "--out", tmp_path / "s.npy")
    elif verb == "evaluate":
        rc, _, err = call(capsys, "evaluate", run, "--data", "ring")
    else:
        rc, _, err = call(capsys, *TRAIN, run, "--steps", "8", "--no-progress", "--resume")
        message = "" if kind.startswith("config") else message
    assert_refused(rc, err, message)
    assert snapshot(run) == before
    assert not (tmp_path / "s.npy").exists()


def test_a_checkpoint_copied_from_another_model_is_refused(tmp_path, capsys, trained):
    """gan and wgan-gp with the same --hidden have identically shaped arrays: only the
    recorded identity tells them apart."""
    run = copy_run(trained / "wgan-gp", tmp_path / "run")
    (run / "checkpoint.npz").write_bytes((trained / "gan" / "checkpoint.npz").read_bytes())
    before = snapshot(run)
    for args in (["sample", run, "--n", "3", "--out", tmp_path / "s.npy"],
                 ["evaluate", run, "--data", "ring"],
                 ["train", "wgan-gp", "--data", "ring", "--out", run, "--steps", "8",
                  "--steps-per-call", "2", "--batch-size", "16", "--hidden", "8,8",
                  "--no-progress", "--resume"]):
        rc, _, err = call(capsys, *args)
        assert_refused(rc, err, "'gan'")
    assert snapshot(run) == before


def test_a_refused_resume_does_not_rewrite_config_json(tmp_path, capsys, trained):
    run = copy_run(trained / "gaussian", tmp_path / "run")
    before = snapshot(run)
    for extra in (["--steps", "2"], ["--lr", "0.5"], ["--seed", "7"], ["--batch-size", "3"],
                  ["--steps-per-call", "3"]):
        rc, _, err = call(capsys, *TRAIN, run, "--no-progress", "--resume", *extra)
        assert_refused(rc, err, "cannot resume")
        assert snapshot(run) == before


def test_evaluate_means_of_the_wrong_kind(tmp_path, capsys, trained):
    run = trained / "gan"
    np.savez(tmp_path / "m.npz", x=np.zeros((8, 2)))
    np.save(tmp_path / "m3.npy", np.zeros((8, 3)))
    np.save(tmp_path / "mbig.npy", np.full((8, 2), 1e300))
    np.save(tmp_path / "mobj.npy", np.array([{}, 1], dtype=object), allow_pickle=True)
    (tmp_path / "mbad.npy").write_bytes(b"\x93NUMPY garbage")
    for means, message in [("m.npz", ".npy"), ("m3.npy", "shape"), ("mbig.npy", "float32"),
                           ("mobj.npy", "pickled data"), ("mbad.npy", "is damaged"),
                           ("missing.npy", ".npy")]:
        rc, _, err = call(capsys, "evaluate", run, "--data", "ring",
                          "--means", tmp_path / means, "--std", "0.1")
        assert_refused(rc, err, message)


# ------------------------------------------------------------------------------ 3. data

def _data_cases(tmp: Path):
    cases = {
        "1e300": (np.full((10, 2), 1e300), "float32"),
        "-1e39": (np.full((10, 2), -1e39), "float32"),
        "empty dim (10,0)": (np.zeros((10, 0)), "empty dimension"),
        "empty (10,3,0)": (np.zeros((10, 3, 0)), "empty dimension"),
        "no examples (0,2)": (np.zeros((0, 2)), "n >= 2"),
        "one example": (np.zeros((1, 2)), "n >= 2"),
        "scalar": (np.float64(3.0), "shape"),
        "complex": (np.zeros((10, 2), complex), "real numbers"),
        "bool": (np.zeros((10, 2), bool), "real numbers"),
        "strings": (np.array([["a", "b"]] * 10), "real numbers"),
        "nan": (np.array([[np.nan, 0.0]] * 10), "NaN"),
        "inf": (np.array([[np.inf, 0.0]] * 10), "NaN or infinite"),
    }
    x = np.random.default_rng(0).normal(size=(10, 2))
    labelled = {
        "labels 2**32": (np.full(10, 2**32, np.int64), "labels"),
        "labels -1": (np.full(10, -1), "labels"),
        "labels float": (np.zeros(10), "labels"),
        "labels wrong length": (np.zeros(9, int), "labels"),
        "labels 2-D": (np.zeros((10, 1), int), "labels"),
        "labels bool": (np.zeros(10, bool), "labels"),
    }
    out = []
    for name, (arr, msg) in cases.items():
        path = tmp / f"{name.replace(' ', '_')}.npy"
        np.save(path, arr)
        out.append((name, path, msg))
    for name, (y, msg) in labelled.items():
        path = tmp / f"{name.replace(' ', '_')}.npz"
        np.savez(path, x=x, y=y)
        out.append((name, path, msg))
    np.savez(tmp / "no_x.npz", data=x)
    out.append(("npz without x", tmp / "no_x.npz", "'x'"))
    np.save(tmp / "objects.npy", np.array([{}, 1], dtype=object), allow_pickle=True)
    out.append(("pickled objects", tmp / "objects.npy", "pickled data"))
    (tmp / "garbage.npy").write_bytes(b"not numpy")
    out.append(("garbage .npy", tmp / "garbage.npy", "is not a NumPy .npy file"))
    (tmp / "garbage.npz").write_bytes(b"PK\x03\x04 broken")
    out.append(("garbage .npz", tmp / "garbage.npz", "is damaged"))
    with open(tmp / "zip_as.npy", "wb") as f:  # np.savez would append .npz to the name
        np.savez(f, x=x)
    out.append((".npz named .npy", tmp / "zip_as.npy", "one numpy array"))
    (tmp / "dir.npy").mkdir()
    out.append(("a folder", tmp / "dir.npy", "is a folder"))
    (tmp / "data.txt").write_text("1 2")
    out.append(("a .txt", tmp / "data.txt", ".npy or .npz"))
    return out


DATA_NAMES = [name for name, _, _ in _data_cases(Path(__import__("tempfile").mkdtemp()))]


@pytest.mark.parametrize("name", DATA_NAMES)
def test_bad_data_is_refused_by_the_cli_and_the_api(tmp_path, capsys, name):
    path, message = {n: (p, m) for n, p, m in _data_cases(tmp_path)}[name]
    model = "cgan" if "labels" in name else "gaussian"
    rc, _, err = call(capsys, "train", model, "--data", path, "--out", tmp_path / "run",
                      "--no-progress")
    assert_refused(rc, err, message)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("*", r"\*").replace(".", r"\.")):
        data.load(path)


# ------------------------------------------------------------------ 4. the Python API

def test_the_api_raises_value_and_type_errors(tmp_path, trained):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="lr must be a finite"):
        runs.train_model("gaussian", "ring", out, lr=float("nan"))
    with pytest.raises(ValueError, match="hidden must be"):
        runs.train_model("gan", "ring", out, hidden=(0,))
    with pytest.raises(TypeError, match="lr"):
        runs.train_model("gaussian", "ring", out, lr="fast")
    with pytest.raises(TypeError, match="hidden"):
        runs.train_model("gan", "ring", out, hidden=(1.5,))
    with pytest.raises(TypeError, match="TrainConfig"):
        runs.train_model("gaussian", "ring", out, {"steps": 3})
    with pytest.raises(ValueError, match="seed"):
        runs.train_model("gaussian", "ring", out, TrainConfig(seed=2**64))
    with pytest.raises(TypeError, match="--n"):
        runs.sample_run(trained / "gaussian", "3")
    with pytest.raises(ValueError, match="--n"):
        runs.sample_run(trained / "gaussian", 0)
    with pytest.raises(ValueError, match="GiB"):
        runs.sample_run(trained / "gaussian", 10**12)
    with pytest.raises(ValueError, match="seed"):
        runs.sample_run(trained / "gaussian", 3, seed=-1)
    with pytest.raises(ValueError, match="--std"):
        runs.evaluate_run(trained / "gaussian", "ring", means="m.npy", std=float("inf"))
    assert not out.exists()


# ------------------------------------------------------------- 5. bugs and strict JSON

def test_a_bug_is_one_line_and_exit_1_with_the_traceback_only_under_debug(tmp_path, capsys,
                                                                          monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("planted bug")

    monkeypatch.setattr(cli, "run", broken)
    rc, _, err = call(capsys, "data", "list")
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "bug" in err
    assert "planted bug" in err and "Traceback" not in err
    rc, _, err = call(capsys, "data", "list", "--debug")
    assert rc == 1 and "Traceback" in err and "planted bug" in err

    def jax_like(*args, **kwargs):
        raise ZeroDivisionError("x")

    monkeypatch.setattr(cli, "run", jax_like)
    assert call(capsys, "data", "list")[0] == 1


def _strict(s: str):
    def refuse(token):
        raise AssertionError(f"non-JSON token {token}")
    return json.loads(s, parse_constant=refuse)


def test_json_output_never_holds_nan_or_infinity(capsys, monkeypatch, trained):
    cli.print_json({"a": float("nan"), "b": [1.0, float("inf")], "c": np.float32(-np.inf),
                    "d": 2.5})
    printed = _strict(capsys.readouterr().out)
    assert printed["a"] is None and printed["b"] == [1.0, None] and printed["d"] == 2.5
    assert len(printed["nonfinite"]) == 3
    monkeypatch.setattr(cli, "evaluate_run", lambda *a: {"bits_per_dim": float("nan")})
    rc, out, _ = call(capsys, "evaluate", trained / "gaussian", "--data", "ring")
    assert rc == 0 and _strict(out)["bits_per_dim"] is None


# ------------------------------------------------------------------- 6. generated inputs

def _refused_or_reaches_training(capsys, monkeypatch, tmp_path, args) -> int:
    """Run ``train`` with training itself replaced by Ctrl-C: a valid command reaches it (exit
    130) and, as a start that died before its first checkpoint, leaves nothing behind; an
    invalid one is refused (exit 2, one line); nothing else is allowed."""
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "train", interrupted)
    out = tmp_path / "run"
    rc, _, err = call(capsys, *args, "--out", out, "--no-progress")
    assert rc in (2, 130), err
    if rc == 2:
        assert_refused(rc, err)
    assert not out.exists()
    return rc


floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, -0.0, 1e-300, 1e300, -1.0, 1.0, 0.999999]))
ints = st.one_of(st.integers(-5, 40), st.integers(2**31 - 2, 2**70), st.integers(-2**70, -1))


@SETTINGS
@given(lr_g=floats, b2=floats, gp=floats, latent=ints,
       hidden=st.lists(ints, min_size=0, max_size=3), critic=ints)
def test_generated_gan_options(tmp_path_factory, capsys, monkeypatch, lr_g, b2, gp, latent,
                               hidden, critic):
    tmp = tmp_path_factory.mktemp("gen")
    _refused_or_reaches_training(capsys, monkeypatch, tmp, [
        "train", "gan", "--data", "ring", "--lr-g", repr(lr_g), "--b2", repr(b2),
        "--gp-weight", repr(gp), "--latent-dim", str(latent),
        "--hidden", ",".join(map(str, hidden)), "--critic-steps", str(critic)])


@SETTINGS
@given(seed=st.integers(-2**70, 2**70), steps=ints, batch=ints, levels=ints, T=ints,
       beta=floats)
def test_generated_train_and_diffusion_options(tmp_path_factory, capsys, monkeypatch, seed,
                                               steps, batch, levels, T, beta):
    tmp = tmp_path_factory.mktemp("gen")
    rc = _refused_or_reaches_training(capsys, monkeypatch, tmp, [
        "train", "ddpm", "--data", "digits", "--seed", str(seed), "--steps", str(steps),
        "--batch-size", str(batch), "--levels", str(levels), "--T", str(T),
        "--beta-T", repr(beta), "--hidden", "8"])
    if rc == 130:
        assert 0 <= seed < 2**63 and 1 <= T and steps >= 1 and 0 < beta < 1


dtypes = st.one_of(hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.boolean_dtypes(),
                   hnp.complex_number_dtypes(), st.just(np.dtype("U3")))


@SETTINGS
@given(arr=hnp.arrays(dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                               max_side=6)))
def test_generated_data_arrays(tmp_path_factory, capsys, monkeypatch, arr):
    tmp = tmp_path_factory.mktemp("data")
    path = tmp / "x.npy"
    np.save(path, arr)
    try:
        ds = data.load(path)
    except ValueError:
        accepted = False
    else:
        accepted = True
        assert ds.data.dtype == np.float32 and np.all(np.isfinite(ds.data))
        assert ds.data.ndim >= 2 and ds.data.shape[0] >= 2 and 0 not in ds.data.shape
    rc = _refused_or_reaches_training(capsys, monkeypatch, tmp,
                                      ["train", "gaussian", "--data", path])
    assert (rc == 130) == accepted


@SETTINGS
@given(y=hnp.arrays(st.one_of(hnp.integer_dtypes(), hnp.floating_dtypes()),
                    st.sampled_from([(6,), (5,), (6, 1)])))
def test_generated_labels(tmp_path_factory, capsys, monkeypatch, y):
    tmp = tmp_path_factory.mktemp("labels")
    path = tmp / "xy.npz"
    np.savez(path, x=np.random.default_rng(0).normal(size=(6, 2)), y=y)
    rc = _refused_or_reaches_training(capsys, monkeypatch, tmp,
                                      ["train", "cgan", "--data", path, "--hidden", "8"])
    if rc == 130:
        assert np.issubdtype(y.dtype, np.integer) and y.shape == (6,)
        assert 0 <= y.min() and y.max() < data.MAX_CLASSES


def test_zipfile_errors_are_value_errors(tmp_path):
    """The checkpoint reader's contract, directly: a damaged zip never escapes as BadZipFile."""
    from course_lib.checkpoint import CheckpointError, read_checkpoint
    path = tmp_path / "c.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("step.npy", b"garbage")
    with pytest.raises(CheckpointError):
        read_checkpoint(path)
