"""The command line, ``python -m course_lib``: the only code that knows about it.

    python -m course_lib data list
    python -m course_lib data sample ring --n 2500 --seed 0 --out ring.npy
    python -m course_lib train gan --data ring --out runs/ring --steps 5000
    python -m course_lib train ddpm --help        (the model's options, from its config)
    python -m course_lib sample runs/ring --n 2500 --out samples.npy
    python -m course_lib evaluate runs/ring --data ring
    python -m course_lib pretrained regenerate week17_diffusion/roll_vdm

A bad argument gives exit status 2 and one line on stderr starting ``error:``; the Python
functions (:mod:`course_lib.cli.runs`) raise ``ValueError`` with the same message.
"""

from __future__ import annotations

import argparse
import json
import sys

import jax
import numpy as np

from course_lib import data as data_lib
from course_lib import doctor, enable_compile_cache
from course_lib.cli import pretrained
from course_lib.cli.models import MODELS, ModelSpec, get
from course_lib.cli.options import Parser, add_options, flag, given, option_fields
from course_lib.cli.runs import evaluate_run, load_run, sample_run, save_array, train_model
from course_lib.train import TrainConfig, TrainingDiverged

__all__ = ["main", "run", "train_model", "load_run", "sample_run", "evaluate_run",
           "save_array", "MODELS", "get"]


def _count(kind: str):
    def parse(s: str) -> int:
        try:
            v = int(s)
        except ValueError:
            v = None
        if v is None or v < (1 if kind == "positive" else 0):
            raise argparse.ArgumentTypeError(f"must be a {kind} integer, got '{s}'")
        return v
    return parse


def _parser() -> Parser:
    p = Parser(prog="course_lib", description="Train, sample and evaluate the course's models.")
    verbs = p.add_subparsers(dest="verb", metavar="{data,train,sample,evaluate,pretrained,doctor}",
                             parser_class=Parser)
    verbs.required = True
    d = verbs.add_parser("data", help="list or sample the built-in data sets")
    dverbs = d.add_subparsers(dest="data_verb", metavar="{list,sample}", parser_class=Parser)
    dverbs.required = True
    dverbs.add_parser("list", help="the built-in data sets")
    ds = dverbs.add_parser("sample", help="draw examples from a data set into a .npy file")
    ds.add_argument("name")
    ds.add_argument("--n", type=_count("positive"), required=True)
    ds.add_argument("--seed", type=_count("non-negative"), default=0)
    ds.add_argument("--out", required=True)

    t = verbs.add_parser("train", help="train a model; `train MODEL -h` lists its options")
    t.add_argument("model", help=", ".join(MODELS))

    s = verbs.add_parser("sample", help="draw samples from a trained model")
    s.add_argument("run_dir")
    s.add_argument("--n", type=_count("positive"), required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=_count("non-negative"), default=0)

    e = verbs.add_parser("evaluate", help="print a trained model's metrics on data, as JSON")
    e.add_argument("run_dir")
    e.add_argument("--data", required=True)
    e.add_argument("--seed", type=_count("non-negative"), default=0)
    e.add_argument("--means", help="a .npy of mode centres, for the mode metrics on user data")
    e.add_argument("--std", type=float, help="the modes' standard deviation, with --means")

    w = verbs.add_parser("pretrained", help="the shipped weights: list them, rebuild one")
    wverbs = w.add_subparsers(dest="pretrained_verb", metavar="{list,regenerate}",
                              parser_class=Parser)
    wverbs.required = True
    wverbs.add_parser("list", help="every pretrained file and the command that rebuilds it")
    r = wverbs.add_parser("regenerate", help="retrain one file alone, as its notebook does")
    r.add_argument("name", help="<notebook>/<model>, e.g. week17_diffusion/roll_vdm")

    verbs.add_parser("doctor", help="check this installation (Python, JAX and its devices, "
                     "the compile cache, the data, the pretrained files) and say what to fix")
    return p


def train_parser(spec: ModelSpec) -> Parser:
    """``train MODEL``: the run's arguments, then TrainConfig's and the model config's fields."""
    p = Parser(prog=f"course_lib train {spec.name}", description=spec.description)
    p.add_argument("--data", required=True, help="a built-in data set or a .npy/.npz file")
    p.add_argument("--out", required=True, help="the run folder")
    p.add_argument("--resume", action="store_true", help="continue from out/checkpoint.npz")
    p.add_argument("--distributed", action="store_true",
                   help="several hosts: call jax.distributed.initialize() first (it reads "
                        "JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID, or finds "
                        "them itself on Cloud TPU and SLURM)")
    add_options(p, TrainConfig, "training")
    add_options(p, spec.config, f"options of {spec.name}", spec.defaults(), spec.fixed)
    return p


def _train(spec: ModelSpec, args) -> None:
    train_config = TrainConfig(**given(args, TrainConfig))
    if args.distributed:
        jax.distributed.initialize()
    metrics = train_model(spec.name, args.data, args.out, train_config, resume=args.resume,
                          **given(args, spec.config))
    print(json.dumps({"out": args.out, "final": metrics["final"]}))


def parse(argv: list[str]):
    """The arguments of a command line, checked as ``run`` would, without running it."""
    if argv[:1] == ["train"] and len(argv) > 1 and not argv[1].startswith("-"):
        spec = get(argv[1])
        args, rest = train_parser(spec).parse_known_args(argv[2:])
        if rest:
            accepted = ", ".join(flag(f.name) for f in option_fields(spec.config, spec.fixed))
            raise ValueError(f"model '{spec.name}' does not take {' '.join(rest)}; its "
                             f"options: {accepted}")
        return spec, args
    return None, _parser().parse_args(argv)


def run(argv: list[str]) -> int:
    if argv[:1] == ["train"] and len(argv) > 1 and not argv[1].startswith("-"):
        _train(*parse(argv))
        return 0
    _, args = parse(argv)
    if args.verb == "doctor":
        return doctor.main([])
    if args.verb == "data" and args.data_verb == "list":
        for name, line in data_lib.describe().items():
            print(f"{name:12s} {line}")
    elif args.verb == "data":
        if not args.out.endswith(".npy"):
            raise ValueError(f"--out must name a .npy file, got '{args.out}'")
        x = data_lib.get(args.name).sample(jax.random.key(args.seed), args.n)
        save_array(args.out, np.asarray(x))
        print(f"wrote {args.out}: {args.n} examples of shape {tuple(x.shape[1:])}")
    elif args.verb == "sample":
        if not args.out.endswith(".npy"):
            raise ValueError(f"--out must name a .npy file, got '{args.out}'")
        x = sample_run(args.run_dir, args.n, args.seed)
        save_array(args.out, x)
        print(f"wrote {args.out}: {x.shape[0]} samples of shape {tuple(x.shape[1:])}")
    elif args.verb == "evaluate":
        print(json.dumps(evaluate_run(args.run_dir, args.data, args.seed, args.means,
                                      args.std)))
    elif args.pretrained_verb == "list":
        for name in pretrained.names():
            print(f"{name:45s} {json.loads(pretrained.sidecar_path(name).read_text())['command']}")
    else:
        before = pretrained.sha256_of(args.name)
        after = pretrained.regenerate(args.name)
        print(f"{args.name}: sha256 {after} ({'unchanged' if after == before else 'changed'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    enable_compile_cache()
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except ValueError as e:
        print(f"error: {str(e).splitlines()[0] if str(e) else 'invalid argument'}",
              file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; resume with --resume", file=sys.stderr)
        return 130
