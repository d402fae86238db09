"""A tampered run folder is not believed (issue 30): config.json is covered by the sha256 its
manifest records; with the manifest re-signed too, every setting sample uses is checked
against the others (shapes, lengths, finiteness); a checkpoint without its manifest, or with
NaN weights, is refused; a conditional model refuses temperatures outside its training range
unless told --extrapolate. A hypothesis test mutates config fields, manifests and arrays and
finds nothing accepted that should not be."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_lib import cli
from course_lib.checkpoint import _digest
from course_lib.cli import run_folder, runs

SHIPPED = runs.Path(runs.__file__).resolve().parents[2] / "data" / "runs" / "ising_conditional"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tamper")
    rng = np.random.default_rng(0)
    np.save(root / "points.npy", (rng.normal(size=(200, 2)) * [3, 0.5] + [5, -2])
            .astype(np.float32))
    out = root / "run"
    assert cli.main(["train", "gaussian", "--data", str(root / "points.npy"), "--out", str(out),
                     "--steps", "20", "--steps-per-call", "10", "--no-progress"]) == 0
    return out


def sample(capsys, folder, tmp, *extra):
    target = tmp / "s.npy"
    target.unlink(missing_ok=True)
    capsys.readouterr()
    rc = cli.main(["sample", str(folder), "--n", "3", "--seed", "1", "--out", str(target),
                   *extra])
    err = capsys.readouterr().err
    return rc, err, np.load(target) if rc == 0 else None


def one_line(rc, err):
    return rc == 2 and err.startswith("error: ") and err.count("\n") == 1


def resign(folder):
    raw = (folder / "config.json").read_bytes()
    (folder / "manifest.json").write_bytes(run_folder.dumps(run_folder.manifest_for(raw)))


def rewrite_checkpoint(path, change, sign=True):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    manifest = arrays.pop("manifest")
    change(arrays)
    if sign:
        arrays["manifest"] = np.asarray(json.dumps(
            {"arrays": {k: [list(v.shape), v.dtype.str] for k, v in arrays.items()},
             "sha256": _digest(arrays)}, sort_keys=True))
    elif manifest is not None and sign is None:
        arrays["manifest"] = manifest
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


def copy(run, tmp_path):
    out = tmp_path / "copy"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(run, out)
    return out


@pytest.mark.parametrize("edit,signed", [
    (lambda c: c["prepare"].update(mean=[m + 100 for m in c["prepare"]["mean"]]), False),
    (lambda c: c["prepare"].update(std=c["prepare"]["std"] * 2), True),
    (lambda c: c["prepare"].update(std=[float("nan"), 1.0]), True),
    (lambda c: c["prepare"].update(std=[0.0, 1.0]), True),
    (lambda c: c["prepare"].update(standardize="yes"), True),
    (lambda c: c.update(shape=[3]), True),
    (lambda c: c.update(shape=[2]), False),
    (lambda c: c["config"].update(data_dim=3), True),
])
def test_an_edited_config_is_refused(tmp_path, capsys, run, edit, signed):
    out = copy(run, tmp_path)
    config = json.loads((out / "config.json").read_text())
    edit(config)
    (out / "config.json").write_text(json.dumps(config))
    if signed:
        resign(out)
    rc, err, _ = sample(capsys, out, tmp_path)
    assert one_line(rc, err), err


def test_a_shape_other_than_the_built_in_data_sets_is_refused(tmp_path, capsys):
    out = tmp_path / "ring"
    assert cli.main(["train", "gaussian", "--data", "ring", "--out", str(out), "--steps", "4",
                     "--no-progress"]) == 0
    config = json.loads((out / "config.json").read_text())
    config["shape"] = [1, 2]
    (out / "config.json").write_text(json.dumps(config))
    resign(out)
    rc, err, _ = sample(capsys, out, tmp_path)
    assert one_line(rc, err) and "shape" in err, err


@pytest.mark.parametrize("change,sign", [
    (lambda a: a.update({"state/0": a["state/0"] + 1}), False),   # manifest removed
    (lambda a: a.update({"state/0": a["state/0"] * np.nan}), True),  # NaN, re-signed
    (lambda a: a.update({"state/0": a["state/0"] + 1}), None),   # manifest kept, not redone
])
def test_an_altered_checkpoint_is_refused(tmp_path, capsys, run, change, sign):
    out = copy(run, tmp_path)
    rewrite_checkpoint(out / "best.npz", change, sign)  # the model sample uses
    rc, err, _ = sample(capsys, out, tmp_path)
    assert one_line(rc, err), err


def test_a_conditional_model_keeps_to_its_temperatures(tmp_path, capsys):
    for t in ("100", "0.5", "3.6"):
        rc, err, _ = sample(capsys, SHIPPED, tmp_path, "--temperature", t)
        assert one_line(rc, err) and "--extrapolate" in err, err
    rc, err, x = sample(capsys, SHIPPED, tmp_path, "--temperature", "100", "--extrapolate")
    assert rc == 0 and x.shape == (3, 16, 16), err


# ------------------------------------------------------------------ the property test
JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**20, 10**20)
                    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


def _paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_run_folders_are_refused_or_harmless(tmp_path, capsys, run, data):
    """Accepted (exit 0) only when the change cannot matter or the samples are still what a
    valid run gives: finite, of the run's shape; never exit 1; a change not re-signed in the
    manifest is always refused."""
    _, _, original = sample(capsys, run, tmp_path)
    out = copy(run, tmp_path)
    kind = data.draw(st.sampled_from(["config", "manifest", "array"]))
    unsigned, path, value = False, (), None
    if kind == "config":
        config = json.loads((out / "config.json").read_text())
        paths = list(_paths(config))
        prepare = [p for p in paths if p[0] == "prepare"]  # what sampling reads most
        path = data.draw(st.sampled_from(prepare) | st.sampled_from(paths))
        parent = config
        for k in path[:-1]:
            parent = parent[k]
        if data.draw(st.booleans()):
            value = parent[path[-1]] = data.draw(JSON | st.lists(st.floats(-3, 3), max_size=3))
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
        raw = json.dumps(config).encode()
        (out / "config.json").write_bytes(raw)
        unsigned = not data.draw(st.booleans())
        if not unsigned:
            resign(out)
    elif kind == "manifest":
        manifest = json.loads((out / "manifest.json").read_text())
        key = data.draw(st.sampled_from(sorted(manifest)))
        manifest[key] = data.draw(JSON)
        (out / "manifest.json").write_text(json.dumps(manifest))
    else:
        which = data.draw(st.sampled_from(["best.npz", "checkpoint.npz"]))
        with np.load(out / which) as f:
            names = sorted(k for k in f.files if k != "manifest")
        name = data.draw(st.sampled_from(names))
        how = data.draw(st.sampled_from(["nan", "inf", "scale", "shape", "dtype"]))
        sign = data.draw(st.sampled_from([True, False, None]))
        unsigned = sign is not True

        def change(a):
            x = a[name]
            if how in ("nan", "inf") and np.issubdtype(x.dtype, np.floating) and x.size:
                x = x.copy()
                x.flat[0] = np.nan if how == "nan" else np.inf
            elif how == "scale" and np.issubdtype(x.dtype, np.floating):
                x = x * 2
            elif how == "shape":
                x = np.concatenate([x.reshape(-1), x.reshape(-1)[:1]])
            elif how == "dtype" and x.dtype.kind in "fiub" and x.dtype != np.float64:
                x = x.astype(np.float64)
            a[name] = x

        rewrite_checkpoint(out / which, change, sign)
    rc, err, x = sample(capsys, out, tmp_path)
    assert rc in (0, 2), err
    if rc == 2:
        assert one_line(rc, err), err
        return
    assert err == ""
    assert x.shape == original.shape and np.isfinite(x).all()
    if unsigned:  # accepted without a new signature: only a change that changed nothing
        assert np.array_equal(x, original)
    if not np.array_equal(x, original):  # a signed change that may change the samples:
        valid = (isinstance(value, int | float) and not isinstance(value, bool)  # a valid
                 and np.isfinite(value) and (path[1] == "mean" or value > 0))    # transform
        # (no prepare record, or standardize off/absent: a run of untransformed data)
        assert (kind == "array" or path in (("prepare",), ("prepare", "standardize"))
                and value in (None, False)
                or len(path) == 3 and path[:2] in (("prepare", "mean"), ("prepare", "std"))
                and valid), (path, value)
