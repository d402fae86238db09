"""The command line, ``python -m course_lib``: the only code that knows about it.

    python -m course_lib data list
    python -m course_lib data sample ring --n 2500 --seed 0 --out ring.npy
    python -m course_lib train gan --data ring --out runs/ring --steps 5000
    python -m course_lib train ddpm --help        (the model's options, from its config)
    python -m course_lib sample runs/ring --n 2500 --out samples.npy
    python -m course_lib evaluate runs/ring --data ring
    python -m course_lib pretrained regenerate week17_diffusion/roll_vdm
    python -m course_lib pretrained retrain 'week16_gans/ring_*'   (make retrain: rebuild, compare)

The error boundary: anything a user can cause (a bad argument, a file that is missing,
unreadable, damaged or of the wrong kind, a locked run folder) gives exit status 2 and one
line on stderr starting ``error:``, converted where its cause is known; the Python functions
(:mod:`course_lib.cli.runs`) raise ``ValueError`` (``TypeError`` for a wrong type) with the
same message. A bug of ours gives exit status 1 and one line asking for a report (the
traceback with ``--debug``); Ctrl-C gives exit status 130 and one line. JSON output never
holds NaN or Infinity (they become null, named under "nonfinite").
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import jax
import numpy as np

from course_lib import data as data_lib
from course_lib import doctor, enable_compile_cache
from course_lib.checkpoint import write_atomic
from course_lib.cli import regenerate
from course_lib.cli.errors import check_xla_flags, oserror, user_fault
from course_lib.cli.limits import SEED_MAX, check_memory
from course_lib.cli.options import Parser, count, parse_train, train
from course_lib.cli.run_folder import json_safe
from course_lib.cli.runs import evaluate_run, load_run, sample_run, train_model
from course_lib.families import FAMILIES, get
from course_lib.train import TrainingDiverged

MODELS = FAMILIES  # the command line's models are the registry's families

__all__ = ["main", "run", "train_model", "load_run", "sample_run", "evaluate_run",
           "save_array", "MODELS", "get"]


_seed = count("non-negative", SEED_MAX)


def print_json(obj) -> None:
    """Print ``obj`` as strict JSON: NaN and infinities become null, listed in "nonfinite"."""
    obj, bad = json_safe(obj)
    if bad and isinstance(obj, dict):
        obj["nonfinite"] = bad
    print(json.dumps(obj, allow_nan=False))


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
    ds.add_argument("--n", type=count("positive"), required=True)
    ds.add_argument("--seed", type=_seed, default=0)
    ds.add_argument("--out", required=True)

    t = verbs.add_parser("train", help="train a model; `train MODEL -h` lists its options")
    t.add_argument("model", help=", ".join(MODELS))

    s = verbs.add_parser("sample", help="draw samples from a trained model")
    s.add_argument("run_dir")
    s.add_argument("--n", type=count("positive"), required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=_seed, default=0)
    s.add_argument("--temperature", type=float, help="for a lattice model conditioned on the "
                   "temperature: sample at this T")
    s.add_argument("--extrapolate", action="store_true", help="with --temperature: allow a T "
                   "outside the model's training range")

    e = verbs.add_parser("evaluate", help="print a trained model's metrics on data, as JSON")
    e.add_argument("run_dir")
    e.add_argument("--data", required=True)
    e.add_argument("--seed", type=_seed, default=0)
    e.add_argument("--means", help="a .npy of mode centres, for the mode metrics on user data")
    e.add_argument("--std", type=float, help="the modes' standard deviation, with --means")

    w = verbs.add_parser("pretrained", help="the shipped weights: list them, rebuild one")
    wverbs = w.add_subparsers(dest="pretrained_verb", metavar="{list,regenerate,retrain}",
                              parser_class=Parser)
    wverbs.required = True
    wverbs.add_parser("list", help="every pretrained file and the command that rebuilds it")
    r = wverbs.add_parser("regenerate", help="retrain one file alone, as its notebook does")
    r.add_argument("name", help="<notebook>/<model>, e.g. week17_diffusion/roll_vdm")
    r.add_argument("--out", help="write it under this folder instead of over the shipped file")
    r = wverbs.add_parser("retrain", help="rebuild shipped files in a scratch folder from "
                          "their sidecars' commands and compare them with the shipped ones")
    r.add_argument("patterns", nargs="*", metavar="PATTERN",
                   help="shell patterns of names, e.g. 'week16_gans/ring_*' (default: all)")
    r.add_argument("--scratch", default="build/retrain", help="where the rebuilt files go")
    r.add_argument("--tolerance", type=float, default=1e-5,
                   help="largest relative difference accepted from another kind of CPU")

    verbs.add_parser("doctor", help="check this installation (Python, JAX and its devices, "
                     "the compile cache, the data, the pretrained files) and say what to fix")
    return p


def save_array(path: str | Path, x: np.ndarray) -> None:
    """Write ``x`` to the .npy file ``path`` (atomically: a killed write leaves no half file)."""
    path = Path(path)
    if path.suffix != ".npy":
        raise ValueError(f"--out must name a .npy file, got '{path}'")
    if path.is_dir():
        raise ValueError(f"--out '{path}' is a folder; --out must name a .npy file")
    try:
        write_atomic(path, lambda f: np.save(f, np.asarray(x)))
    except OSError as e:
        raise oserror(path, e, "write") from None


def parse(argv: list[str]):
    """(family, arguments) of a command line, checked as ``run`` would, without running it;
    the family is None for a command other than ``train MODEL``."""
    if _is_train(argv):
        spec, _, args = parse_train(argv[1:])
        return spec, args
    return None, _parser().parse_args(argv)


def _is_train(argv: list[str]) -> bool:
    """``train MODEL ...``: its options are the model's, parsed by :mod:`.options`."""
    return argv[:1] == ["train"] and len(argv) > 1 and not argv[1].startswith("-")


def run(argv: list[str]) -> int:
    if _is_train(argv):
        report = train(argv[1:])
        if report is not None:
            print_json(report)
        return 0
    _, args = parse(argv)
    if args.verb == "doctor":
        return doctor.main([])
    if args.verb == "data" and args.data_verb == "list":
        for name, line in data_lib.describe().items():
            print(f"{name:12s} {line}")
    elif args.verb in ("data", "sample"):
        if not args.out.endswith(".npy"):
            raise ValueError(f"--out must name a .npy file, got '{args.out}'")
        if args.verb == "data":
            dataset, what = data_lib.get(args.name), "examples"
            check_memory(f"--n {args.n}", 4.0 * 4 * args.n * max(int(np.prod(dataset.shape)), 8),
                         "draw fewer examples per call")
            x = np.asarray(dataset.sample(jax.random.key(args.seed), args.n))
        else:
            x, what = sample_run(args.run_dir, args.n, args.seed, args.temperature,
                                 args.extrapolate), "samples"
        save_array(args.out, x)
        print(f"wrote {args.out}: {x.shape[0]} {what} of shape {tuple(x.shape[1:])}")
    elif args.verb == "evaluate":
        print_json(evaluate_run(args.run_dir, args.data, args.seed, args.means, args.std))
    elif args.pretrained_verb == "list":
        for name in regenerate.names():
            print(f"{name:45s} {regenerate.read_sidecar(name, 'command')['command']}")
    elif args.pretrained_verb == "retrain":
        from course_lib.cli.retrain import retrain

        return retrain(args.patterns, args.scratch, args.tolerance)
    else:
        for name, before, after in regenerate.regenerate(args.name, args.out):
            print(f"{name}: sha256 {after} ({'the shipped one' if after == before else 'changed'})")
    return 0


_said = threading.Event()  # the interruption's line is printed once, by whoever comes first


def _interrupted() -> None:
    if not _said.is_set():
        _said.set()
        print("error: interrupted; a run folder keeps its last checkpoint (resume with "
              "--resume)", file=sys.stderr, flush=True)


def _leave() -> None:
    _interrupted()
    os._exit(130)


_lost = threading.Event()  # a Ctrl-C's KeyboardInterrupt was raised where Python ignores it


def _on_sigint(signum, frame):
    """Ctrl-C: raise KeyboardInterrupt where Python is; a second Ctrl-C leaves at once."""
    signal.signal(signal.SIGINT, _on_second_sigint)
    raise KeyboardInterrupt


def _on_second_sigint(signum, frame):
    """A second Ctrl-C leaves at once; the watcher's re-sent first one raises again."""
    if _lost.is_set():
        _lost.clear()
        raise KeyboardInterrupt
    _leave()


def _watch_sigint() -> None:
    """Python runs a signal handler only between bytecodes of the main thread, so a long
    NumPy or XLA call would hold Ctrl-C until it ends (and whatever swallows the
    KeyboardInterrupt would hide it). The C-level handler writes the signal to a wakeup
    fd at once; this thread reads it and, if the main thread has not said "interrupted"
    within a second, leaves with exit 130 (files are written atomically). A KeyboardInterrupt
    that Python ignores (raised inside JAX's gc callback) is raised again in the main thread,
    so the command stops as after any Ctrl-C, removing what it had only begun."""
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)

    def watch():
        while signal.SIGINT not in os.read(read, 64):
            pass
        if not _said.wait(1.0) and _lost.is_set():  # ignored where it landed: once more
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        if not _said.wait(1.0):
            _leave()
        time.sleep(10.0)  # said, but shutting down hangs: leave anyway
        os._exit(130)

    threading.Thread(target=watch, name="sigint-watch", daemon=True).start()
    default_hook = sys.unraisablehook

    def unraisable(hook_args):
        # a Ctrl-C that lands where Python ignores exceptions (JAX's gc callback, a __del__)
        # would be lost: no traceback; the watcher sends it again to the main thread
        if isinstance(hook_args.exc_value, KeyboardInterrupt):
            _lost.set()
            return
        default_hook(hook_args)

    sys.unraisablehook = unraisable


def main(argv: list[str] | None = None) -> int:
    """The command line's error boundary (see the module docstring)."""
    argv_is_process = argv is None  # python -m course_lib (not a call from Python)
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    for stream in (sys.stdout, sys.stderr):  # a non-ASCII path on an ASCII-only terminal
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    _said.clear()
    _lost.clear()  # one interruption line per call: Python code may call main many times
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        previous = signal.signal(signal.SIGINT, _on_sigint)
        if argv_is_process:
            _watch_sigint()
    interrupted = False
    try:
        check_xla_flags()
        enable_compile_cache()
        try:
            return run(argv)
        except Exception as e:
            if _is_interrupt(e):  # a Ctrl-C that surfaced as another exception
                raise KeyboardInterrupt from e
            raise
    except (ValueError, TypeError) as e:
        # the library raises exactly ValueError/TypeError (or CheckpointError) for what a user
        # can cause, converted where the cause is known; a subclass from elsewhere (JAX's
        # tracer errors, ...) is a bug of ours
        if type(e) not in (ValueError, TypeError) and not _ours(e):
            return _bug(e, debug)
        if debug:
            traceback.print_exc()
        print(f"error: {str(e).splitlines()[0] if str(e) else 'invalid argument'}",
              file=sys.stderr)
        return 2
    except OSError as e:  # the file system refused (disk full, permission) where we wrote
        if debug:
            traceback.print_exc()
        where = f" '{e.filename}'" if e.filename else ""
        print(f"error: cannot use{where}: {e.strerror or e}", file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        interrupted = True
        _interrupted()
        return 130
    except Exception as e:  # noqa: BLE001 -- the boundary: one line, never a traceback
        return _bug(e, debug)
    finally:
        if main_thread:
            # after a Ctrl-C, the process is leaving: another Ctrl-C (while JAX shuts down)
            # leaves at once with 130 and no second line, instead of dying by the signal
            signal.signal(signal.SIGINT, (lambda *_: os._exit(130)) if interrupted and
                          argv_is_process else previous)


def _is_interrupt(e: BaseException | None) -> bool:
    """A Ctrl-C that surfaced as another exception: inside a JAX host callback (progress,
    validation) it comes back as a RuntimeError "Exception raised in callback" whose text
    holds the KeyboardInterrupt; inside ``np.savez``, zipfile's clean-up raises a ValueError
    ("Can't close the ZIP file ...") while the KeyboardInterrupt unwinds (its context)."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt) or (
                isinstance(e, RuntimeError) and "KeyboardInterrupt" in str(e)):
            return True
        seen.add(id(e))
        e = e.__context__
    return False


def _ours(e: BaseException) -> bool:
    from course_lib.checkpoint import CheckpointError
    return isinstance(e, CheckpointError)


def _bug(e: BaseException, debug: bool) -> int:
    """One line: the user's fault where its cause is known (exit 2), else a bug (exit 1)."""
    if debug:
        traceback.print_exc()
    if (message := user_fault(e)) is not None:
        print(f"error: {message}", file=sys.stderr)
        return 2
    first = str(e).splitlines()[0][:200] if str(e) else ""
    print(f"error: internal error ({type(e).__name__}: {first}); this is a bug in course_lib: "
          "please report the command" + ("" if debug else " and its output with --debug"),
          file=sys.stderr)
    return 1
