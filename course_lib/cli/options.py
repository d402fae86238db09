"""``train MODEL``: its command-line options generated from the config dataclasses (one
configuration language), parsed, and handed to :func:`course_lib.cli.runs.train_model`.

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
import os
import typing
from typing import Any

import jax

from course_lib.families import get
from course_lib.family import Family, Recipe
from course_lib.train import TrainConfig


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument raises ValueError, shown as one line: ``error: ...``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message):
        raise ValueError(f"{message} (see: python -m course_lib {self.prog.split(' ', 1)[-1]} -h)"
                         .replace(" (see: python -m course_lib course_lib -h)",
                                  " (see: python -m course_lib -h)"))


def _typed(kind: type, what: str, ok=lambda v: True):
    """An argparse type: ``kind(s)``, refused in one line naming ``what`` unless ``ok``."""
    def parse(s: str):
        try:
            v = kind(s)
        except ValueError:
            v = None
        if v is None or not ok(v):
            raise argparse.ArgumentTypeError(f"must be {what}, got '{s}'")
        return v
    return parse


def _int_tuple(s: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be integers separated by commas, e.g. "
                                         f"256,256,256; got '{s}'") from None


PARSERS = {int: _typed(int, "a int"), float: _typed(float, "a float"), str: str,
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


def count(kind: str, high: int | None = None):
    """An argparse type: a positive or non-negative integer, at most ``high``."""
    low, limit = (1 if kind == "positive" else 0), (f" up to {high}" if high else "")
    return _typed(int, f"a {kind} integer{limit}", lambda v: v >= low and not (high and v > high))


_fraction = _typed(float, "a number in 0..0.5", lambda v: 0 <= v <= 0.5)


def _data_arguments(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--data", required=required, help="a built-in data set or a .npy/.npz file")
    p.add_argument("--quantized", type=count("positive", 16), metavar="BITS",
                   help="the data take 2^BITS levels: integers 0..2^BITS-1, or already scaled "
                        "to [-1, 1] (2 v / (2^BITS - 1) - 1); the run records which it read")


def train_parser(spec: Family, recipe: Recipe, data: str | None = None) -> Parser:
    """``train MODEL``: the run's arguments, then TrainConfig's and the model config's fields,
    their defaults those of ``recipe``, the notebook recipe for ``data`` (shown by ``--help``)."""
    p = Parser(prog=f"course_lib train {spec.name}", description=spec.description,
               epilog=spec.describe_recipes(), formatter_class=argparse.RawTextHelpFormatter)
    _data_arguments(p)
    p.add_argument("--out", required=True, help="the run folder")
    p.add_argument("--resume", action="store_true", help="continue from out/checkpoint.npz")
    p.add_argument("--distributed", action="store_true",
                   help="several hosts: call jax.distributed.initialize() first (it reads "
                        "JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID, or finds "
                        "them itself on Cloud TPU and SLURM)")
    d = p.add_argument_group("the data (a user's file)")
    d.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                   help="standardise each dimension with the training rows' mean and std "
                        "(undone by sample; default: on for continuous data from a file)")
    d.add_argument("--val-fraction", type=_fraction, default=0.1,
                   help="fraction of an array's rows held out for validation and evaluate's "
                        "held-out figures (default 0.1; 0: none)")
    d.add_argument("--patience", type=count("non-negative", 1_000_000), default=None,
                   help="validation checks (one per --steps-per-call) without improvement "
                        "before training stops; the best model is kept (default 10 for "
                        "likelihood models, 0 = never for GANs, whose game settles only at the "
                        "end of the learning-rate decay)")
    source = f" (recipe: {data})" if recipe.source and data else ""
    add_options(p, TrainConfig, "training" + source, recipe.train)
    add_options(p, spec.config, f"options of {spec.name}" + source,
                spec.defaults(recipe.model), spec.fixed)
    return p


def parse_train(argv: list[str]) -> tuple[Family, Recipe, argparse.Namespace]:
    """(family, recipe, arguments) of ``train MODEL ...`` (argv from MODEL on). The recipe
    whose defaults the parser shows depends on --data and --quantized: a first pass reads
    them, and the recipe found is the one the run uses."""
    spec = get(argv[0])
    first = Parser(add_help=False)
    _data_arguments(first, required=False)
    try:
        known, _ = first.parse_known_args(argv[1:])
        data, quantized = known.data, known.quantized
    except ValueError:  # a bad --quantized: the full parser says what is wrong
        data = quantized = None
    recipe = spec.recipe(data, quantized)
    args, rest = train_parser(spec, recipe, data).parse_known_args(argv[1:])
    if rest:
        accepted = ", ".join(flag(f.name) for f in option_fields(spec.config, spec.fixed))
        raise ValueError(f"model '{spec.name}' does not take {' '.join(rest)}; its "
                         f"options: {accepted}")
    return spec, recipe, args


def train(argv: list[str]) -> dict | None:
    """Run ``train MODEL ...`` (argv from MODEL on); what to print (None on a --distributed
    run's other processes)."""
    from course_lib.cli.runs import train_model  # runs builds on this module's options

    spec, recipe, args = parse_train(argv)
    train_config = TrainConfig(**(recipe.train | given(args, TrainConfig)))
    if args.distributed:  # CPUs exchange gradients through gloo (XLA's default: none)
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        # JAX itself reads only JAX_COORDINATOR_ADDRESS; the count and the rank are ours
        ranks = {k: int(os.environ[v]) for k, v in (("num_processes", "JAX_NUM_PROCESSES"),
                                                     ("process_id", "JAX_PROCESS_ID"))
                 if os.environ.get(v)}
        jax.distributed.initialize(**ranks)
    metrics = train_model(spec.name, args.data, args.out, train_config, recipe=recipe,
                          resume=args.resume, quantized=args.quantized,
                          standardize=args.standardize, val_fraction=args.val_fraction,
                          patience=args.patience, **given(args, spec.config))
    if jax.process_index() == 0:
        return {"out": args.out, "data": metrics["data"], "final": metrics["final"]}
    return None
