"""Faults that are the user's (issue 30) are one `error:` line, exit 2, saying what to do --
not an internal error: a backend JAX_PLATFORMS names that is absent, an unknown XLA flag,
memory, deep JSON, constant data, --pack that does not divide the batch, sidecars that are
not JSON or lack keys (and `doctor` checks every other file beside a bad one); valid input
is accepted (0/1 integers with --quantized 1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from cli_call import call, one_line

from course_lib import cli, doctor
from course_lib.cli import errors, limits

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli_process(args, env_extra, tmp_path):
    env = os.environ | env_extra
    return subprocess.run([sys.executable, "-m", "course_lib", *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300)


@pytest.mark.parametrize("env,message", [
    ({"JAX_PLATFORMS": "gpu"}, "JAX_PLATFORMS"),
    ({"JAX_PLATFORMS": "cpux"}, "JAX_PLATFORMS"),
    ({"XLA_FLAGS": "--xla_no_such_flag=1"}, "XLA_FLAGS"),
])
def test_a_broken_environment_is_one_line(tmp_path, env, message):
    done = cli_process(["data", "sample", "ring", "--n", "3", "--out", "x.npy"], env, tmp_path)
    assert one_line(done.returncode, done.stderr, message), done.stderr
    assert not (tmp_path / "x.npy").exists()


def test_doctor_names_the_backend_not_the_data(tmp_path):
    done = cli_process(["doctor"], {"JAX_PLATFORMS": "gpu"}, tmp_path)
    assert "JAX_PLATFORMS" in done.stdout and "digits.npz does not load" not in done.stdout
    assert "pretrained:" in done.stdout  # the other checks still ran


@pytest.mark.parametrize("exc", [MemoryError(), RuntimeError("RESOURCE_EXHAUSTED: Out of "
                                 "memory while trying to allocate 1e12 bytes"),
                                 RecursionError("maximum recursion depth exceeded"),
                                 np.linalg.LinAlgError("Singular matrix")])
def test_known_faults_from_below_are_the_users(capsys, monkeypatch, exc):
    def boom(*a, **k):
        raise exc

    monkeypatch.setattr(cli, "evaluate_run", boom)
    rc, _, err = call(capsys, "evaluate", "somewhere", "--data", "ring")
    assert one_line(rc, err), err
    assert errors.user_fault(ValueError("a bug of ours")) is None


def test_pack_larger_than_the_batch_is_refused(tmp_path, capsys):
    rc, _, err = call(capsys, "train", "gan", "--data", "ring", "--out", tmp_path / "r",
                      "--pack", "32", "--batch-size", "16", "--steps", "2", "--no-progress")
    assert one_line(rc, err, "--pack"), err
    assert not (tmp_path / "r").exists()


def test_a_model_without_hidden_is_not_told_to_shrink_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(limits, "memory_limit", lambda: 1000)
    rc, _, err = call(capsys, "train", "gaussian", "--data", "ring", "--out", tmp_path / "r",
                      "--steps", "2", "--no-progress")
    assert one_line(rc, err, "--batch-size") and "--hidden" not in err, err


def test_binary_integers_with_one_bit_are_accepted(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "bits.npy", rng.integers(0, 2, (200, 4)))
    for bits in ("1", "4"):
        rc, out, err = call(capsys, "train", "ddpm", "--data", tmp_path / "bits.npy", "--out",
                            tmp_path / f"r{bits}", "--quantized", bits, "--steps", "2",
                            "--hidden", "8", "--T", "10", "--no-progress")
        assert rc == 0, err
        assert "integers 0.." in json.loads(out)["data"]


@pytest.fixture
def pretrained_copy(tmp_path, monkeypatch):
    """A copy of three sidecars and their weights, the CLI and doctor pointed at it."""
    from course_lib import pretrained as lib
    from course_lib.cli import regenerate

    src = lib.PRETRAINED_DIR / "week16_gans"
    folder = tmp_path / "pretrained" / "week16_gans"
    folder.mkdir(parents=True)
    for name in ("digits_cgan", "digits_classifier", "digits_100_labels_classifier"):
        for suffix in (".json", ".npz"):
            shutil.copy(src / f"{name}{suffix}", folder / f"{name}{suffix}")
    monkeypatch.setattr(lib, "PRETRAINED_DIR", folder.parent)
    monkeypatch.setattr(regenerate, "PRETRAINED_DIR", folder.parent)
    return folder


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"file": "x.npz"}',
                                     b"[" * 100000 + b"]" * 100000, b"\xff\xfe"])
def test_a_bad_sidecar_is_one_line_and_hides_no_other_check(pretrained_copy, capsys, content):
    (pretrained_copy / "digits_cgan.json").write_bytes(content)
    rc, _, err = call(capsys, "pretrained", "list")
    assert one_line(rc, err, "sidecar"), err
    rc, _, err = call(capsys, "pretrained", "regenerate", "week16_gans/digits_cgan",
                      "--out", pretrained_copy.parent.parent / "elsewhere")
    assert one_line(rc, err, "sidecar"), err
    lines = [f"{s} {w}" for s, w, _ in doctor.check_pretrained(pretrained_copy.parent)]
    assert any(line.startswith("FAIL") and "digits_cgan" in line for line in lines), lines
    assert any("2 of 3 weight files match" in line for line in lines), lines


def _csv_as_npy(path):
    path.write_text("1,2\n3,4\n5,6\n")


def _truncated(path):
    np.save(path, np.zeros((16, 2), np.float32))
    path.write_bytes(path.read_bytes()[:-20])


def _fifo(path):
    os.mkfifo(path)


def _beyond_float64(path):
    np.save(path, np.array([[np.longdouble("1e4000"), 1.0], [1.0, 2.0]], np.longdouble))


@pytest.mark.parametrize("make,message", [
    (_csv_as_npy, "is not a NumPy .npy file"), (_truncated, "is truncated"),
    (_fifo, "is not a regular file"), (_beyond_float64, "beyond float32")])
def test_a_bad_data_file_is_named_in_our_words(tmp_path, capsys, recwarn, make, message):
    """Issue 30: no NumPy internals ("cannot reshape", "allow_pickle"), no FIFO reported as
    missing, no RuntimeWarning lines before the error."""
    make(tmp_path / "x.npy")
    rc, _, err = call(capsys, "train", "gaussian", "--data", tmp_path / "x.npy", "--out",
                      tmp_path / "r", "--steps", "2", "--no-progress")
    assert one_line(rc, err, message), err
    assert "accepted" in err or "float32" in err
    assert not any(word in err for word in ("reshape", "allow_pickle", "does not exist"))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert not (tmp_path / "r").exists()


def test_a_corrupt_digits_file_is_one_line(tmp_path, capsys, monkeypatch):
    from course_lib import data

    (tmp_path / "digits.npz").write_bytes(b"PK\x03\x04 not a zip at all")
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path))
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    rc, _, err = call(capsys, "data", "sample", "digits", "--n", "3", "--out", tmp_path / "d.npy")
    assert one_line(rc, err, "COURSE_LIB_DATA's digits file"), err


def test_binomial_diffusion_needs_two_steps(tmp_path, capsys):
    rc, _, err = call(capsys, "train", "binomial", "--data", "heartbeat", "--T", "1", "--out",
                      tmp_path / "r", "--steps", "2", "--no-progress")
    assert one_line(rc, err, "T must be an integer >= 2"), err
    assert not (tmp_path / "r").exists()


def test_the_python_api_takes_numpy_numbers_and_refuses_nonsense():
    from course_lib import config, data
    from course_lib.diffusion.binomial import BinomialConfig
    from course_lib.train import TrainConfig

    config.check(BinomialConfig(lr=np.float32(1e-3)))
    assert data.get("ring", std=np.float32(0.02)).std == pytest.approx(0.02)
    with pytest.raises(TypeError, match="seed"):
        TrainConfig(seed=True)
    with pytest.raises(ValueError, match="std must be a finite number > 0"):
        data.get("ring", std=-1)
    with pytest.raises(ValueError, match="modes must be an integer >= 1"):
        data.get("ring", modes=0)  # at construction, not at the first sample
    with pytest.raises(TypeError, match="modes must be an integer"):
        data.ring(modes=2.5)
