"""Command-line options generated from the config dataclasses: one configuration language.

Each field of a config made with :func:`course_lib.config.setting` becomes ``--field-name``,
with the field's help, its default and its choices; fields the data decide (``from_data``) and
fields of a type the command line cannot spell (``str | None``) are left out. A bool field
becomes ``--name`` / ``--no-name``, a ``tuple[int, ...]`` is written ``256,256,256``.

Why our own ~90 lines and not tyro or simple-parsing: the command line must keep its contract
(a bad argument is one ``error:`` line and exit status 2, never a traceback or a multi-line
box), its options depend on the model named before them (``train ddpm --help``), the data fill
some fields, and each model can carry its own recipe of defaults (``wgan-gp``). Those are four
hooks into a library's parser; over argparse they are a few lines each.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument raises ValueError, shown as one line: ``error: ...``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message):
        raise ValueError(f"{message} (see: python -m course_lib {self.prog.split(' ', 1)[-1]} -h)"
                         .replace(" (see: python -m course_lib course_lib -h)",
                                  " (see: python -m course_lib -h)"))


def _typed(kind: type, name: str):
    def parse(s: str):
        try:
            return kind(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a {name}, got '{s}'") from None
    return parse


def _int_tuple(s: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be integers separated by commas, e.g. "
                                         f"256,256,256; got '{s}'") from None


PARSERS = {int: _typed(int, "int"), float: _typed(float, "float"), str: str,
           tuple[int, ...]: _int_tuple}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _show(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def option_fields(cls: type, skip=()) -> list[dataclasses.Field]:
    """The fields of ``cls`` that are command-line options."""
    hints = typing.get_type_hints(cls)
    return [f for f in dataclasses.fields(cls)
            if not f.metadata.get("from_data") and f.name not in skip
            and (hints[f.name] is bool or hints[f.name] in PARSERS)]


def add_options(parser: argparse.ArgumentParser, cls: type, title: str,
                defaults: dict[str, Any] | None = None, skip=()) -> None:
    """One option per field of ``cls``; ``defaults`` replace the dataclass's in the help."""
    group = parser.add_argument_group(title)
    hints = typing.get_type_hints(cls)
    for f in option_fields(cls, skip):
        default = (defaults or {}).get(f.name, f.default)
        choices = f.metadata.get("choices")
        help = f"{f.metadata.get('help', '')} (default {_show(default)}"
        help += f"; one of {', '.join(map(str, choices))})" if choices else ")"
        if hints[f.name] is bool:
            group.add_argument(flag(f.name), dest=f.name, default=None, help=help,
                               action=argparse.BooleanOptionalAction)
        else:
            group.add_argument(flag(f.name), dest=f.name, default=None, help=help,
                               type=PARSERS[hints[f.name]], choices=choices,
                               metavar=hints[f.name].__name__.upper())


def given(namespace: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` given on the command line (the others keep their defaults)."""
    return {f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)
            if getattr(namespace, f.name, None) is not None}
