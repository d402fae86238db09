"""Issue 26, item 5: the command line on a user's own 2-D data (tools/user_data.py: a
crescent, clusters, an 8-bit spiral), and ``evaluate`` saying in words which baseline wins.

``make recipes`` trains the full defaults on these sets and prints the verdicts; here a few
steps of each check the pipeline and the words (not the win)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from course_lib import cli
from course_lib.cli.report import verdict

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("user_data", ROOT / "tools" / "user_data.py")
user_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(user_data)


def _numbers(sentence: str) -> tuple[float, float, float]:
    diff, err, z = re.search(r"([\d.]+) \+- ([\d.]+) bits per example \(([\d.]+) paired",
                             sentence).groups()
    return float(diff), float(err), float(z)


def test_the_verdict_names_the_strongest_baseline_and_the_gap_with_its_error():
    out = {"gaussian_minus_model": 1.2, "gaussian_minus_model_stderr": 0.05,
           "kde_minus_model": -0.25, "kde_minus_model_stderr": 0.05,
           "mixture_minus_model": -0.1, "mixture_minus_model_stderr": 0.04}
    words = verdict(out, discrete=False)
    assert words.startswith("The model loses to the baseline KDE")
    assert _numbers(words) == (0.25, 0.05, 5.0) and "within" not in words
    # a win: the closest baseline, by how much; a gap under two errors says so
    out |= {"kde_minus_model": 0.3, "mixture_minus_model": 0.05}
    words = verdict(out, discrete=True)
    assert words.startswith("The model beats every baseline; the strongest, mixture of "
                            "categoricals")
    assert _numbers(words) == (0.05, 0.04, 1.2) and "(within the error)" in words
    assert verdict({"bits_per_example": 3.0}, discrete=False) is None


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    return user_data.write(tmp_path_factory.mktemp("user"), rows=300, fresh=400)


@pytest.mark.parametrize("name", list(user_data.SETS))
@pytest.mark.parametrize("model", ["vdm", "ddpm"])
def test_defaults_train_and_evaluate_says_who_wins_on_fresh_data(tmp_path, capsys, sets, name,
                                                                   model):
    train, fresh, bits = sets[name]
    out = tmp_path / "run"
    args = ["train", model, "--data", train, "--out", out, "--steps", 40, "--steps-per-call",
            20, "--no-progress"] + (["--quantized", bits] if bits else [])
    assert cli.main([str(a) for a in args]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert cli.main(["evaluate", str(out), "--data", str(fresh)]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 400
    # the sentence agrees with the paired differences printed beside it
    gaps = {k.removesuffix("_minus_model"): v for k, v in r.items()
            if k.endswith("_minus_model")}
    assert set(gaps) == {"gaussian", "kde", "mixture"}
    strongest = min(gaps, key=gaps.get)
    descriptions = (cli.report.baseline.DESCRIPTIONS if bits
                    else cli.report.baseline.CONTINUOUS_DESCRIPTIONS)
    assert descriptions[strongest] in r["verdict"]
    assert r["verdict"].startswith("The model loses" if gaps[strongest] < 0 else
                                   "The model beats every baseline")
    diff, err, _ = _numbers(r["verdict"])
    assert diff == pytest.approx(abs(gaps[strongest]), abs=6e-4)
    assert err == pytest.approx(r[f"{strongest}_minus_model_stderr"], abs=6e-4)
