"""Resume continues the run it resumes (issue 30): a finished run, one stopped early by
--patience included, resumed is a no-op; a run stopped between a checkpoint and its held-out
check scores that step when resumed and ends bit-identical to the uninterrupted run; a damaged
validation.json is refused before anything is rewritten."""

from __future__ import annotations

import json

import numpy as np
import pytest

from course_lib import cli
from course_lib.cli import run_folder, validation


@pytest.fixture(scope="module")
def points(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "points.npy"
    rng = np.random.default_rng(0)
    np.save(path, (rng.normal(size=(300, 2)) * [1.0, 0.3] + [2.0, -1.0]).astype(np.float32))
    return path


def args(points, out, *extra):
    return ["train", "gaussian", "--data", str(points), "--out", str(out), "--steps", "200",
            "--steps-per-call", "10", "--lr", "0.3", "--patience", "2", "--no-progress",
            *extra]


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, points):
    out = tmp_path_factory.mktemp("ref") / "run"
    assert cli.main(args(points, out)) == 0
    record = json.loads((out / validation.VALIDATION).read_text())
    assert record.get("stopped") is not None and record["stopped"] < 200  # stopped early
    return out


def test_a_finished_run_resumed_is_a_no_op(tmp_path, capsys, reference, points):
    for extra in ([], ["--steps", "400"]):  # even asked for more steps: it stopped early
        out = tmp_path / f"run{len(extra)}"
        out.mkdir()
        for name, data in snapshot(reference).items():
            (out / name).write_bytes(data)
        before = snapshot(out)
        assert cli.main(args(points, out, "--resume", *extra)) == 0
        after = snapshot(out)
        for name in before:
            if name not in ("config.json", "manifest.json") or not extra:  # the new steps
                assert after[name] == before[name], name
        assert set(after) == set(before)


def stop_at(monkeypatch, step, where):
    """Stop the run (as a kill would) at ``step``: before its held-out check ("check"), or
    after best.npz is written but before validation.json ("record")."""
    real = validation.tracker

    def tracker(*a, **k):
        callback = real(*a, **k)

        def wrapped(s):
            if s == step and where == "check":
                raise KeyboardInterrupt
            callback(s)
        return wrapped

    real_write = validation.write_atomic

    def write(path, fn):
        if (where == "record" and path.name == validation.VALIDATION
                and _step_of(path.parent) == step):
            raise KeyboardInterrupt
        return real_write(path, fn)

    monkeypatch.setattr(validation, "tracker", tracker)
    monkeypatch.setattr(validation, "write_atomic", write)


def _step_of(out):
    with np.load(out / "checkpoint.npz") as f:
        return int(f["step"])


@pytest.mark.parametrize("where", ["check", "record"])
def test_a_stop_between_a_checkpoint_and_its_check_is_scored_on_resume(
        tmp_path, capsys, monkeypatch, reference, points, where):
    record = json.loads((reference / validation.VALIDATION).read_text())
    for step in (10, record["best_step"], record["stopped"]):
        out = tmp_path / f"run{where}{step}"
        with monkeypatch.context() as m:
            stop_at(m, step, where)
            assert cli.main(args(points, out)) == 130
        assert cli.main(args(points, out, "--resume")) == 0
        got, want = snapshot(out), snapshot(reference)
        assert set(got) == set(want)
        for name in want:
            if name not in ("config.json", "manifest.json"):  # they name the data file
                assert got[name] == want[name], (step, name)


@pytest.mark.parametrize("content,message", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "validation record"),
    (b'{"metric": "bits", "steps": [10, 20], "values": [1.0], "best": 1.0, '
     b'"best_step": 10}', "validation record"),
    (b'{"metric": "bits", "steps": [100000], "values": [1.0], "best": 1.0, '
     b'"best_step": 100000}', "validation record"),
    (b'{"metric": "bits", "steps": [10], "values": [NaN], "best": null, '
     b'"best_step": null}', "validation record"),
    (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
])
def test_a_broken_validation_record_is_refused_before_anything_is_rewritten(
        tmp_path, capsys, reference, points, content, message):
    out = tmp_path / "run"
    out.mkdir()
    for name, data in snapshot(reference).items():
        (out / name).write_bytes(data)
    (out / validation.VALIDATION).write_bytes(content)
    before = snapshot(out)
    capsys.readouterr()
    rc = cli.main(args(points, out, "--resume", "--steps", "400"))
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert snapshot(out) == before


def test_resume_reads_the_record_through_runs():
    assert run_folder.read_validation.__doc__  # the one reader of validation.json
