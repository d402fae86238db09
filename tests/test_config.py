"""One configuration language: the command line's options are generated from the configs."""

import argparse
import dataclasses
from dataclasses import dataclass

import pytest

from course_lib import diffusion as dm
from course_lib import gan
from course_lib.cli.options import Parser, add_options, given, option_fields
from course_lib.config import check_choices, from_dict, setting
from course_lib.train import TrainConfig


@dataclass(frozen=True)
class Toy:
    dim: int = setting(help="from the data", from_data=True)
    width: tuple[int, ...] = setting((8, 8), "hidden units")
    rate: float = setting(0.1, "a rate")
    kind: str = setting("a", "a kind", choices=("a", "b"))
    flag: bool = setting(False, "a switch")

    def __post_init__(self):
        check_choices(self)


def parse(argv, cls=Toy, defaults=None):
    p = Parser(prog="course_lib toy")
    add_options(p, cls, "toy", defaults)
    return given(p.parse_args(argv), cls)


def test_options_are_the_fields_with_their_types_and_help():
    assert parse([]) == {}  # nothing given: the dataclass's defaults apply
    assert parse(["--width", "4,5,6", "--rate", "0.5", "--kind", "b", "--flag"]) == {
        "width": (4, 5, 6), "rate": 0.5, "kind": "b", "flag": True}
    assert parse(["--no-flag"]) == {"flag": False}
    with pytest.raises(ValueError, match="unrecognized arguments: --dim"):
        parse(["--dim", "3"])  # the data decide it
    with pytest.raises(ValueError, match="invalid choice: 'c'"):
        parse(["--kind", "c"])
    with pytest.raises(ValueError, match="must be a float, got 'fast'"):
        parse(["--rate", "fast"])
    with pytest.raises(ValueError, match="unrecognized arguments: --rat"):
        parse(["--rat", "1"])  # no abbreviations


def test_help_shows_each_fields_help_and_default(capsys):
    p = Parser(prog="course_lib toy")
    add_options(p, Toy, "toy", defaults={"rate": 0.3})
    p.print_help()
    out = " ".join(capsys.readouterr().out.split())
    assert "--rate FLOAT a rate (default 0.3)" in out  # a model's recipe replaces the default
    assert "--width TUPLE hidden units (default 8,8)" in out
    assert "one of a, b" in out


def test_choices_are_checked_by_the_config_itself():
    with pytest.raises(ValueError, match="unknown kind 'c'; accepted: a, b"):
        Toy(dim=1, kind="c")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        gan.GANConfig(data_dim=2, loss="hinge")
    with pytest.raises(ValueError, match="unknown schedule 'cos'"):
        dm.DDPMConfig(data_dim=2, schedule="cos")


def test_a_config_survives_json_and_old_runs_take_new_defaults():
    cfg = gan.GANConfig(data_dim=3, hidden=(4, 5))
    saved = dataclasses.asdict(cfg) | {"hidden": [4, 5]}
    assert from_dict(gan.GANConfig, saved) == cfg
    del saved["pack"]
    assert from_dict(gan.GANConfig, saved).pack == 1


@pytest.mark.parametrize("cls", [gan.GANConfig, dm.DDPMConfig, dm.VDMConfig, dm.BinomialConfig,
                                 TrainConfig])
def test_every_setting_has_help(cls):
    assert all(f.metadata.get("help") for f in dataclasses.fields(cls))
    assert option_fields(cls)  # and the command line can set some of them


def test_types_the_command_line_cannot_spell_are_not_options():
    names = {f.name for f in option_fields(dm.VDMConfig)}
    assert "image_shape" not in names and "data_dim" not in names and "lr" in names
    assert isinstance(Parser(prog="x"), argparse.ArgumentParser)
