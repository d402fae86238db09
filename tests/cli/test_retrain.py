"""make retrain: which files, the verdict for each (identical on the CPU that made a file, to
float32 rounding on another), one line each, and the shipped files never written."""

import json
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest

from course_lib.cli import regenerate, retrain
from course_lib.pretrained import PRETRAINED_DIR, cpu_kind, sha256

NAME = "week16_gans/digits_classifier"  # the cheapest shipped file to rebuild (~10 s)


def test_select_keeps_the_patterns_order_once_each_and_refuses_a_pattern_matching_nothing():
    chosen = retrain.select(["week16_gans/digits_c*", "week16_gans/digits_*"])
    assert chosen[:2] == ["week16_gans/digits_cgan", "week16_gans/digits_classifier"]
    assert sorted(chosen) == sorted(set(chosen)) == [n for n in regenerate.names()
                                                     if n.startswith("week16_gans/digits_")]
    assert retrain.select([]) == regenerate.names()
    with pytest.raises(ValueError, match=r"no pretrained file matches 'week99/\*'"):
        retrain.select(["week99/*"])


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A copy of one shipped file and its sidecar as the 'shipped' folder; a scratch folder
    holding a rebuilt copy of it; returns (edit the rebuilt file, edit the sidecar)."""
    home, scratch = tmp_path / "pretrained", tmp_path / "scratch"
    for folder in (home, scratch):
        (folder / "week16_gans").mkdir(parents=True)
        shutil.copy(PRETRAINED_DIR / f"{NAME}.npz", folder / f"{NAME}.npz")
    shutil.copy(PRETRAINED_DIR / f"{NAME}.json", home / f"{NAME}.json")
    monkeypatch.setattr(retrain, "PRETRAINED_DIR", home)
    monkeypatch.setattr(regenerate, "PRETRAINED_DIR", home)

    def nudge(relative):  # the rebuilt file's first float array, scaled by 1 + relative
        with np.load(scratch / f"{NAME}.npz") as f:
            arrays = {k: f[k] for k in f.files}
        arrays["state/0"] = (arrays["state/0"] * np.float32(1 + relative)).astype(np.float32)
        np.savez(scratch / f"{NAME}.npz", **arrays)

    def made_on(cpu):
        info = json.loads((home / f"{NAME}.json").read_text())
        info.pop("cpu", None)
        (home / f"{NAME}.json").write_text(json.dumps(info | ({"cpu": cpu} if cpu else {})))

    return scratch, nudge, made_on


def test_an_identical_rebuild_passes(shipped):
    scratch, _, made_on = shipped
    for cpu in (None, cpu_kind(), "Another CPU (avx2)"):
        made_on(cpu)
        assert retrain.compare(NAME, scratch) == (True, "identical")


def test_on_the_same_kind_of_cpu_one_rounding_is_a_mismatch(shipped):
    scratch, nudge, made_on = shipped
    nudge(1e-7)
    for cpu in (cpu_kind(), None):  # a sidecar that records no CPU demands identity too
        made_on(cpu)
        passes, verdict = retrain.compare(NAME, scratch)
        assert not passes and verdict.startswith("NOT identical (max rel diff ")
        assert 5e-8 < float(verdict.split()[5]) < 2e-7 and "0.0e+00 in the rest" in verdict


def test_on_another_kind_of_cpu_float32_rounding_passes_and_more_does_not(shipped):
    scratch, nudge, made_on = shipped
    made_on("Another CPU (avx2)")
    nudge(3e-6)
    passes, verdict = retrain.compare(NAME, scratch)
    assert passes and verdict.startswith("equal to float32 rounding (max rel diff 3.")
    assert f"made on Another CPU (avx2), jax 0.12.0.1, rebuilt on {cpu_kind()}" in verdict
    nudge(1e-3)
    passes, verdict = retrain.compare(NAME, scratch)
    assert not passes and verdict.startswith("NOT equal (max rel diff 1.0e-03")
    assert retrain.compare(NAME, scratch, tolerance=2e-3)[0]


def test_a_file_made_on_a_gpu_or_another_jax_is_another_kind():
    here = f"cpu, jax {retrain.jax.__version__}"
    assert retrain.kind({"trained_on": "gpu, jax 0.11.2", "cpu": cpu_kind()}) == "gpu, jax 0.11.2"
    assert retrain.kind({"trained_on": here, "cpu": "X (avx2)"}) == f"X (avx2), {here[5:]}"
    assert retrain.kind({"trained_on": "cpu, jax 0.11.2", "cpu": cpu_kind()}) != retrain.kind(
        {"trained_on": here, "cpu": cpu_kind()})
    assert retrain.kind({"trained_on": here}).endswith("an unrecorded CPU")


def test_a_rebuild_writes_only_the_scratch_folder_and_prints_one_line(tmp_path, capsys):
    """The real thing, on the cheapest file: its sidecar's command, run into a scratch
    folder; the shipped file is not touched."""
    weights = PRETRAINED_DIR / f"{NAME}.npz"
    before = (sha256(weights), weights.stat().st_mtime_ns, (PRETRAINED_DIR / f"{NAME}.json")
              .read_bytes())
    assert retrain.retrain([NAME], tmp_path) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[1].startswith(NAME) and lines[1].endswith(" s  identical")
    assert lines[3] == "1 of 1 pass"
    assert sha256(tmp_path / f"{NAME}.npz") == before[0]
    assert (sha256(weights), weights.stat().st_mtime_ns,
            (PRETRAINED_DIR / f"{NAME}.json").read_bytes()) == before
    with pytest.raises(ValueError, match="in or above the shipped files. folder"):
        retrain.retrain([NAME], PRETRAINED_DIR.parent)


def test_a_file_made_on_a_device_this_machine_lacks_is_listed_not_rebuilt(shipped, monkeypatch,
                                                                          capsys):
    """week 17's lattice models were trained on a GPU: a CPU machine says it cannot check them
    (neither pass nor mismatch) instead of spending hours on a rebuild that cannot match."""
    scratch, _, _ = shipped
    sidecar = retrain.PRETRAINED_DIR / f"{NAME}.json"
    sidecar.write_text(json.dumps(json.loads(sidecar.read_text())
                                  | {"trained_on": "gpu, jax 0.11.2"}))

    def no_rebuild(name, command, folder):
        raise AssertionError(f"{name} was rebuilt")

    monkeypatch.setattr(retrain, "rebuild", no_rebuild)
    monkeypatch.setattr(retrain.jax, "default_backend", lambda: "cpu")
    assert retrain.retrain([NAME], scratch) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith(NAME) and "not checked: made on a GPU (gpu, jax 0.11.2)" in lines[1]
    assert lines[3] == f"0 of 0 pass; 1 made on another device, not checked here: {NAME}"
    monkeypatch.setattr(retrain.jax, "default_backend", lambda: "gpu")  # a GPU machine checks it
    with pytest.raises(AssertionError, match="was rebuilt"):
        retrain.retrain([NAME], scratch)


def test_an_ensembles_command_runs_once_and_each_member_is_compared(tmp_path, monkeypatch, capsys):
    """The mode table's five seeds share one command (they train as one program): make
    retrain runs it once, then compares every member with its own shipped file; each
    sidecar's command is read once."""
    members = regenerate.ENSEMBLES["week16_gans/ring_3k_seeds"].members
    runs, commands_read, read_sidecar = [], [], retrain.read_sidecar

    def counted(name, *keys):
        commands_read.extend([name] if "command" in keys else [])
        return read_sidecar(name, *keys)

    def run(words, **kwargs):  # stands for the 1-minute ensemble: the shipped files, copied
        runs.append(words[5])
        for member in members:
            (tmp_path / member).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(PRETRAINED_DIR / f"{member}.npz", tmp_path / f"{member}.npz")
        return subprocess.CompletedProcess(words, 0, "", "")

    monkeypatch.setattr(retrain, "read_sidecar", counted)
    monkeypatch.setattr(retrain, "subprocess", SimpleNamespace(run=run))
    assert retrain.retrain(["week16_gans/ring_3k_seed?"], tmp_path) == 0
    assert runs == ["week16_gans/ring_3k_seeds"]
    assert commands_read == members
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "5 of 5 pass"
    assert all(f"identical (rebuilt with {members[0]})" in line for line in lines[2:6])
