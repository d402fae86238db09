"""python -m course_lib doctor: passes on a good checkout, and names the fix for each fault."""

import json
import shutil

from course_lib import doctor, pretrained


def test_a_good_checkout_is_all_ok(capsys):
    assert doctor.main([]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "all good"
    for line in ("ok    python 3.1", "ok    jax ", "device(s): ", "ok    compile cache ",
                 "ok    data: digits.npz (1797 digits)", "weight files match their sha256"):
        assert line in out


def test_an_old_python_fails_with_what_to_install():
    [(status, what, fix)] = doctor.check_python((3, 11, 9))
    assert (status, what) == ("FAIL", "python 3.11.9") and "Python 3.12" in fix


def test_a_changed_or_missing_weight_file_fails_with_the_command_that_restores_it(tmp_path):
    sidecar = next(pretrained.PRETRAINED_DIR.rglob("*.json"))
    weights = sidecar.with_name(json.loads(sidecar.read_text())["file"])
    copy = tmp_path / sidecar.parent.name
    copy.mkdir()
    shutil.copy(sidecar, copy)
    shutil.copy(weights, copy)
    assert [s for s, _, _ in doctor.check_pretrained(tmp_path)] == ["ok"]
    changed = copy / weights.name
    raw = changed.read_bytes()
    changed.write_bytes(raw[:-1] + bytes([raw[-1] ^ 0xFF]))  # one byte changed
    [(status, what, fix)] = doctor.check_pretrained(tmp_path)
    assert status == "FAIL" and "sha256" in what
    assert "python -m course_lib pretrained regenerate" in fix
    changed.unlink()
    [(status, what, _)] = doctor.check_pretrained(tmp_path)
    assert status == "FAIL" and what.endswith(f"{weights.name} is missing")


def test_doctor_takes_no_arguments(capsys):
    assert doctor.main(["--fix"]) == 2
    assert "doctor takes no arguments" in capsys.readouterr().err


def test_the_command_line_runs_the_doctor(capsys):
    from course_lib import cli

    assert cli.main(["doctor"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "all good"
