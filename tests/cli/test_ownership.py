"""A run folder owns exactly the files its manifest lists (issue 30): the tool refuses a
folder it did not make and then deletes or changes nothing in it, reads and locks its own
files without following a symbolic link, refuses ``--out ''``, and writes into
data/pretrained only through ``pretrained regenerate``."""

from __future__ import annotations

import os
import threading

import pytest
from cli_call import call, one_line

from course_lib import cli
from course_lib.checkpoint import TMP_PREFIX
from course_lib.cli import lock
from course_lib.pretrained import PRETRAINED_DIR

TRAIN = ["train", "gaussian", "--data", "ring", "--no-progress", "--steps", "4",
         "--steps-per-call", "2"]


def snapshot(folder):
    """Every entry (links as links) with its bytes or target."""
    out = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = (os.readlink(p) if p.is_symlink() else
                                           p.read_bytes() if p.is_file() else "dir")
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("own") / "run"
    assert cli.main([*TRAIN, "--out", str(out)]) == 0
    return out


def _copy(src, dst):
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


@pytest.mark.parametrize("files", [
    {"notes.txt": b"mine", ".lock": b"theirs", ".tmp-cache": b"theirs", ".tmp-x.npz": b"t"},
    {"config.json": b'{"another": "program"}', ".tmp-cache": b"cache"},
    {"config.json": b"{}", "checkpoint.npz": b"x"},   # a run folder without a manifest
    {".lock": b""},
])
@pytest.mark.parametrize("resume", [False, True])
def test_a_folder_the_tool_did_not_make_is_refused_untouched(tmp_path, capsys, files, resume):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, data in files.items():
        (docs / name).write_bytes(data)
    before = snapshot(docs)
    rc, _, err = call(capsys, *TRAIN, "--out", docs, *(["--resume"] if resume else []))
    assert one_line(rc, err), err
    assert snapshot(docs) == before


def test_a_run_folder_with_a_file_its_manifest_does_not_list_is_refused(tmp_path, capsys,
                                                                         run):
    out = _copy(run, tmp_path / "run")
    (out / "notes.txt").write_text("mine")
    (out / ".tmp-cache").write_text("another program's")
    before = snapshot(out)
    rc, _, err = call(capsys, *TRAIN, "--out", out, "--resume")
    assert one_line(rc, err, "notes.txt"), err
    assert snapshot(out) == before


def test_a_symlinked_lock_is_refused_and_its_target_untouched(tmp_path, capsys, run):
    out = _copy(run, tmp_path / "run")
    target = tmp_path / "precious.txt"
    target.write_text("precious")
    (out / ".lock").symlink_to(target)
    rc, _, err = call(capsys, *TRAIN, "--out", out, "--resume")
    assert one_line(rc, err), err
    assert target.read_text() == "precious" and (out / ".lock").is_symlink()


@pytest.mark.parametrize("name", ["config.json", "checkpoint.npz", "manifest.json"])
def test_a_symlinked_file_of_a_run_is_not_followed(tmp_path, capsys, run, name):
    out = _copy(run, tmp_path / "run")
    real = tmp_path / f"real-{name}"
    (out / name).rename(real)
    (out / name).symlink_to(real)
    before = snapshot(tmp_path)
    for args in (["sample", out, "--n", "2", "--out", tmp_path / "s.npy"],
                 [*TRAIN, "--out", out, "--resume"]):
        rc, _, err = call(capsys, *args)
        assert one_line(rc, err), err
    assert snapshot(tmp_path) == before


def test_an_empty_out_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for extra in ([], ["--resume"]):
        rc, _, err = call(capsys, *TRAIN, "--out", "", *extra)
        assert one_line(rc, err, "--out is empty"), err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_start_in_an_empty_folder_leaves_it_empty(tmp_path, capsys, monkeypatch):
    from course_lib.cli import runs

    def crash(*a, **k):
        raise ValueError("planted")

    monkeypatch.setattr(runs, "train", crash)
    (tmp_path / "empty").mkdir()
    rc, _, err = call(capsys, *TRAIN, "--out", tmp_path / "empty")
    assert one_line(rc, err, "planted")
    assert list((tmp_path / "empty").iterdir()) == []


def test_temporary_files_of_the_tool_only_are_cleaned(tmp_path, capsys, run):
    out = _copy(run, tmp_path / "run")
    (out / f"{TMP_PREFIX}abc.npz").write_bytes(b"half")
    rc, _, err = call(capsys, *TRAIN, "--out", out, "--resume")
    assert rc == 0, err
    assert not (out / f"{TMP_PREFIX}abc.npz").exists()


def test_two_writers_never_hold_one_lock_when_unlink_and_open_interleave(tmp_path,
                                                                          monkeypatch):
    """Writer 2 opens .lock; writer 1 finishes (unlinks it, unlocks); writer 2 locks the
    unlinked file; writer 3 creates a fresh .lock and locks it. Writer 2 must notice that
    its file is no longer the folder's lock and take the fresh one, so writer 3 is refused."""
    out = tmp_path / "run"
    out.mkdir()
    first = lock.run_lock(out)
    first.__enter__()
    real_flock, done = lock.fcntl.flock, []

    def interleave(fd, op):
        if not done:
            done.append(1)
            first.__exit__(None, None, None)  # writer 1 leaves between our open and flock
        return real_flock(fd, op)

    monkeypatch.setattr(lock.fcntl, "flock", interleave)
    with lock.run_lock(out):
        monkeypatch.setattr(lock.fcntl, "flock", real_flock)
        with pytest.raises(ValueError, match="another process"):
            with lock.run_lock(out):
                pass
    assert not (out / ".lock").exists()


def test_the_lock_is_held_across_threads_of_one_folder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    errors = []

    def second():
        try:
            with lock.run_lock(out):
                pass
        except ValueError as e:
            errors.append(str(e))

    with lock.run_lock(out):
        t = threading.Thread(target=second)
        t.start()
        t.join()
    assert errors and "another process" in errors[0]


@pytest.mark.parametrize("args,message", [
    (["--scratch", str(PRETRAINED_DIR / "week16_gans" / "nested")], "only `pretrained regen"),
    (["--scratch", str(PRETRAINED_DIR)], "only `pretrained regen"),
    (["--scratch", str(PRETRAINED_DIR.parent)], "only `pretrained regen"),
    (["--scratch", ""], "--scratch is empty"),
    (["--tolerance", "nan"], "--tolerance"),
    (["--tolerance", "-1"], "--tolerance"),
    (["--tolerance", "inf"], "--tolerance"),
])
def test_retrain_never_writes_into_the_shipped_folder(capsys, args, message):
    before = snapshot(PRETRAINED_DIR)
    rc, out, err = call(capsys, "pretrained", "retrain", "week16_gans/digits_cgan", *args)
    assert one_line(rc, err, message), err
    assert snapshot(PRETRAINED_DIR) == before


def test_regenerate_out_inside_the_shipped_folder_is_refused(capsys):
    before = snapshot(PRETRAINED_DIR)
    for out in (str(PRETRAINED_DIR / "week16_gans" / "sub"), ""):
        rc, _, err = call(capsys, "pretrained", "regenerate", "week16_gans/digits_cgan",
                          "--out", out)
        assert one_line(rc, err), err
    assert snapshot(PRETRAINED_DIR) == before


def test_the_lock_itself_never_follows_a_symlink(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("precious")
    (out / ".lock").symlink_to(target)
    with pytest.raises(ValueError, match="symbolic link"):
        with lock.run_lock(out):
            pass
    assert target.read_text() == "precious" and (out / ".lock").is_symlink()
