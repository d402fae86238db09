"""Every pretrained file records one command that rebuilds it, and that command parses."""

import json

import pytest

from course_lib import cli
from course_lib.cli import regenerate
from course_lib.pretrained import PRETRAINED_DIR


def _recorded(name):
    return json.loads((PRETRAINED_DIR / f"{name}.json").read_text())["command"]


@pytest.mark.parametrize("name", regenerate.names())
def test_each_sidecar_records_a_command_that_rebuilds_it_alone(name):
    command = _recorded(name)
    regenerate.check_command(command, cli.parse)
    built_by = [e for e, ensemble in regenerate.ENSEMBLES.items() if name in ensemble.members]
    assert command == f"python -m course_lib pretrained regenerate {(built_by or [name])[0]}"
    assert (built_by or [name])[0] in regenerate.RECIPES


def test_every_recipe_rebuilds_shipped_files():
    rebuilt = [m for r in regenerate.RECIPES for m in regenerate.files_of(r)]
    assert sorted(rebuilt) == regenerate.names()


@pytest.mark.parametrize("command", [
    "python -m course_lib train nomodel --data ring --out r",
    "python -m course_lib train gan --data ring --out r --width 3",
    "python -m course_lib pretrained regenerate week99/none",
    "python -m course_lib pretrained rebuild week17_diffusion/roll_vdm",
    "COURSE_RETRAIN=1 make notebook NB=notebooks/week99_none.py",
    "COURSE_RETRAIN=1 make notebook NB=notebooks/week16_gans.py",  # a whole notebook: not alone
    "make everything",
])
def test_a_command_that_cannot_run_is_refused(command):
    with pytest.raises(ValueError):
        regenerate.check_command(command, cli.parse)


def test_the_cli_parses_without_running():
    spec, args = cli.parse(["train", "ddpm", "--data", "moons", "--out", "r", "--T", "40",
                            "--learn-variance"])
    assert spec.name == "ddpm" and args.T == 40 and args.learn_variance is True
    _, args = cli.parse(["pretrained", "regenerate", "week17_diffusion/roll_vdm"])
    assert args.name == "week17_diffusion/roll_vdm"


def test_a_member_of_an_ensemble_names_the_ensembles_command():
    with pytest.raises(ValueError, match="regenerate week16_gans/grid_3k_seeds`$"):
        regenerate.regenerate("week16_gans/grid_3k_seed2")
