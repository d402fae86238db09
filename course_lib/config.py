"""The one configuration language of the course: frozen dataclasses whose fields carry their help.

Every model's settings are a frozen config dataclass (``GANConfig``, ``DDPMConfig``, ...),
written like google-research/vdm's ``VDMConfig``. A field is declared with :func:`setting`,
which stores the sentence that explains it beside its default::

    @dataclass(frozen=True)
    class DDPMConfig:
        T: int = setting(1000, "diffusion steps")
        loss: str = setting("simple", "what training minimises", choices=("simple", "elbo"))

The notebooks build these dataclasses directly; the command line generates its options from
them (:mod:`course_lib.cli.options`), so a setting, its default and its help live in one place.
Fields the data decide (the data's dimension, its number of classes) are ``from_data``: they
are not options.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import math
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def setting(default: Any = dataclasses.MISSING, help: str = "", *, choices: tuple | None = None,
            from_data: bool = False, added: bool = False) -> Any:
    """A config field with its help text; ``choices`` are the accepted values (checked by
    :func:`check_choices`); ``from_data``: set from the training data, not an option;
    ``added``: a field added after pretrained files were shipped, left out of a file's
    record while at its default, so that those files still load."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices,
                                                        "from_data": from_data,
                                                        "added": added})


def comparable(identity: Any, config: Any) -> Any:
    """A checkpoint's recorded identity {"model", "config": asdict in JSON form} without the
    fields added to ``config``'s class (a config or its class) after it could have been
    written (setting(added=True)) that are at their defaults: a run trained before a field
    was added still matches its model."""
    if not isinstance(identity, dict) or not isinstance(identity.get("config"), dict):
        return identity
    added = {f.name: json.loads(json.dumps(f.default)) for f in dataclasses.fields(config)
             if f.metadata.get("added")}
    return identity | {"config": {k: v for k, v in identity["config"].items()
                                  if not (k in added and v == added[k])}}


def check_choices(config: Any) -> None:
    """Raise a one-line ValueError for a field whose value is not one of its ``choices``."""
    for f in dataclasses.fields(config):
        choices = f.metadata.get("choices")
        value = getattr(config, f.name)
        if choices and value not in choices:
            raise ValueError(f"unknown {f.name} '{value}'; accepted: "
                             f"{', '.join(map(str, choices))}")


def from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Rebuild a config from its ``dataclasses.asdict`` (JSON lists become tuples again);
    fields added to ``cls`` after ``values`` were written take their defaults."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v
                  for k, v in values.items() if k in names})


# What a field's name means is the same in every config of the course (``lr`` is always a
# learning rate, ``T`` always a number of diffusion steps), so their accepted ranges are written
# once, here; a field may override with ``setting(..., low=, high=)`` metadata.
# (low, high, low_open, high_open); None: unbounded on that side.
RANGES: dict[str, tuple] = {
    "lr": (0, 10, True, False), "lr_g": (0, 10, True, False), "lr_d": (0, 10, True, False),
    "b1": (0, 1, False, True), "b2": (0, 1, False, True),
    "gp_weight": (0, None, False, False), "clip": (0, None, True, False),
    "d_dropout": (0, 1, False, True), "instance_noise": (0, None, False, False),
    "p_T": (0, 1, True, True), "beta_1": (0, 1, True, True), "beta_T": (0, 1, True, True),
    "gamma_min": (-30, 30, False, False), "gamma_max": (-30, 30, False, False),
    "data_dim": (1, None, False, False), "latent_dim": (1, 1_000_000, False, False),
    "critic_steps": (1, 1000, False, False), "pack": (1, 1000, False, False),
    "T": (1, 1_000_000, False, False), "conv_features": (1, 100_000, False, False),
    "num_classes": (0, 1_000_000, False, False), "decay_start": (0, None, False, False),
    "decay_steps": (0, None, False, False), "noise_anneal_steps": (0, None, False, False),
    "levels": (0, 65536, False, False),  # 0: continuous data; 1 level is refused below
}
INT_MAX = 2**31 - 1  # what an int32 holds: JAX's default integer


def _in_range(name: str, value, low, high, low_open, high_open) -> None:
    ok = ((low is None or (value > low if low_open else value >= low))
          and (high is None or (value < high if high_open else value <= high)))
    if not ok and isinstance(value, int) and low in (0, 1) and not low_open:
        kind = "a positive" if low == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} integer{f' up to {high}' if high else ''}, "
                         f"got {value}")
    if not ok:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
        raise ValueError(f"{name} must be {' and '.join(s for s in (lo, hi) if s)}, "
                         f"got {value!r}")


def check(config: Any) -> None:
    """Raise a one-line ValueError for any field a model cannot train with: a choice not
    offered, a float that is NaN or infinite, an integer beyond int32, a layer width < 1, or
    a value outside its range (:data:`RANGES`, or the field's ``low``/``high`` metadata).
    TypeError for a value of the wrong type."""
    check_choices(config)
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        hint = hints.get(f.name)
        if isinstance(value, str) and hint is not str and str not in typing.get_args(hint):
            raise TypeError(f"{f.name} must be a {getattr(hint, '__name__', hint)}, got the "
                            f"text {value!r}")
        if value is None or isinstance(value, str):
            continue
        if isinstance(value, bool):
            continue
        if isinstance(value, tuple):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise TypeError(f"{f.name} must be integers, got {value!r}")
            if not value or not all(1 <= v <= INT_MAX for v in value):
                raise ValueError(f"{f.name} must be one or more integers >= 1 (layer widths), "
                                 f"got {','.join(map(str, value)) or 'nothing'}")
            continue
        if isinstance(value, np.floating | np.integer):  # np.float32(1e-3) is a number too
            value = value.item()
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{f.name} must be a finite number, got {value}")
        elif isinstance(value, int):
            if abs(value) > INT_MAX:
                raise ValueError(f"{f.name} must fit a 32-bit integer (|value| <= {INT_MAX}), "
                                 f"got {value}")
        else:
            raise TypeError(f"{f.name} must be a number, got {type(value).__name__} {value!r}")
        bounds = RANGES.get(f.name)
        if "low" in f.metadata or "high" in f.metadata:
            bounds = (f.metadata.get("low"), f.metadata.get("high"), False, False)
        if bounds:
            _in_range(f.name, value, *bounds)
        if f.name == "levels" and value == 1:
            raise ValueError("levels must be 0 (continuous data) or 2..65536, got 1")


# ------------------------------------------------ the data a user gives, checked the same way


def check_array(x: np.ndarray, name: str = "data") -> None:
    """Refuse data a model cannot train on (one-line ValueError): not (n, ...) with n >= 2, an
    empty dimension, not real numbers, NaN/inf, or beyond float32, the dtype models train in
    (1e300 is finite as float64, inf as float32)."""
    top = float(np.finfo(np.float32).max)
    problems = [
        (not isinstance(x, np.ndarray), f"must be one numpy array, got {type(x).__name__}"),
        (lambda: x.ndim < 2 or x.shape[0] < 2, f"must have shape (n, ...) with n >= 2 "
                                                f"examples, got shape {np.shape(x)}"),
        (lambda: 0 in x.shape, f"has an empty dimension, shape {np.shape(x)}; every "
                               "dimension must be >= 1"),
        (lambda: x.dtype == bool or not np.issubdtype(x.dtype, np.number)
         or np.issubdtype(x.dtype, np.complexfloating), "must be real numbers, got dtype "
                                                        f"{getattr(x, 'dtype', '?')}"),
        (lambda: not np.all(np.isfinite(x)), "contains NaN or infinite values; clean them"),
        (lambda: float(np.max(np.abs(x.astype(np.float64)))) > top,
         f"holds values beyond float32 (|x| <= {top:.3g}, the models train in float32); "
         "rescale it"),
    ]
    for bad, message in problems:
        with np.errstate(over="ignore", invalid="ignore"):  # 1e4000 as float64: inf, silently
            refused = bad if isinstance(bad, bool) else bad()
        if refused:
            raise ValueError(f"{name}: data {message}")


MAX_CLASSES = 1_000_000


def check_labels(y: np.ndarray, n: int, name: str = "data") -> None:
    """Labels: n integers in 0..MAX_CLASSES-1 (cast to int32 and one-hot: 2**32 would wrap)."""
    ok = (isinstance(y, np.ndarray) and y.shape == (n,) and y.dtype != bool
          and np.issubdtype(y.dtype, np.integer))
    if not ok or y.min() < 0 or y.max() >= MAX_CLASSES:
        raise ValueError(f"{name}: labels 'y' must be {n} integers in 0..{MAX_CLASSES - 1}, "
                         f"got {getattr(y, 'dtype', type(y).__name__)} {np.shape(y)}"
                         + (f" from {y.min()} to {y.max()}" if ok else ""))


# ----------------------------------------------------------------- parameters, checked


_POSITIVE = {"std", "radius", "spacing", "T"}  # a float parameter that must be > 0, not >= 0


def checked(make: Callable) -> Callable:
    """``make`` with its parameters checked when the data set is made (not when it is first
    sampled): counts (``int``) are integers >= 1 (``seed`` >= 0); numbers (``float``) are
    finite, > 0 for a scale or a temperature, >= 0 for ``noise``; NumPy scalars count as
    numbers. An unknown name is left to Python's own TypeError."""
    signature = inspect.signature(make)

    @functools.wraps(make)
    def made(*args, **kwargs):
        _check_params(make.__name__, signature, signature.bind(*args, **kwargs).arguments)
        return make(*args, **kwargs)

    return made


def _check_params(name: str, signature: inspect.Signature, params: dict) -> None:
    for key, value in params.items():
        kind = str(signature.parameters[key].annotation)
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(f"{name}: {key} must be an integer, got "
                                f"{type(value).__name__} {value!r}")
            if value < (0 if key == "seed" else 1):
                raise ValueError(f"{name}: {key} must be an integer >= "
                                 f"{0 if key == 'seed' else 1}, got {value}")
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise TypeError(f"{name}: {key} must be a number, got "
                                f"{type(value).__name__} {value!r}")
            low = 0 if key in _POSITIVE or key == "noise" else None
            if not math.isfinite(value) or (low is not None and (value < low or (
                    key in _POSITIVE and value == low))):
                need = " > 0" if key in _POSITIVE else " >= 0" if low is not None else ""
                raise ValueError(f"{name}: {key} must be a finite number{need}, got {value}")


# ---------------------------------------------------------------- a user's array files

def read_arrays(path: str | Path, what: str = "data file") -> dict[str, np.ndarray]:
    """The arrays of a user's ``.npy`` (as ``{"x": array}``) or ``.npz``, never unpickled;
    anything else (a folder, a pipe, a CSV renamed, a truncated or pickled file) is a
    one-line ValueError in our words, naming ``what`` and saying what is accepted."""
    path = Path(path)
    accepted = "accepted: a numeric array written by numpy.save (.npy) or numpy.savez (.npz)"
    if path.suffix not in (".npy", ".npz"):
        raise ValueError(f"{what} '{path}' must be .npy or .npz; {accepted}")
    if not path.is_file():
        raise ValueError(f"{what} '{path}' " + (
            "is a folder, not a file" if path.is_dir() else
            "is not a regular file (a pipe, socket or device)" if path.exists() else
            "does not exist") + f"; {accepted}")
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise ValueError(f"cannot read {what} '{path}': {e.strerror or e}") from None
    magic = {".npy": (b"\x93NUMPY",), ".npz": (b"PK\x03\x04", b"PK\x05\x06")}[path.suffix]
    if path.suffix == ".npy" and head.startswith(b"PK\x03\x04"):
        raise ValueError(f"{what} '{path}' is an .npz archive named .npy, not one numpy array; "
                         f"rename it to .npz; {accepted}")
    if not head.startswith(magic):
        raise ValueError(f"{what} '{path}' is not a NumPy {path.suffix} file (it begins "
                         f"{head!r}: text such as CSV, or another format); {accepted}")
    try:
        if path.suffix == ".npy":
            return {"x": np.load(path, allow_pickle=False)}
        with np.load(path, allow_pickle=False) as f:
            return {name: f[name] for name in f.files}
    except Exception as e:  # a corrupt, truncated or pickled file: say so in one line
        raise ValueError(f"{what} '{path}' {_unreadable(e)}; {accepted}") from None


def _unreadable(e: Exception) -> str:
    """What is wrong with a file NumPy could not load, in our words, not NumPy's."""
    text = str(e)
    if "pickle" in text:  # never loaded: unpickling runs code
        return "holds Python objects (pickled data), which are never loaded"
    if any(t in text for t in ("reshape", "EOF", "truncated", "Failed to read all")):
        return "is truncated: it holds fewer numbers than its header's shape says"
    return f"is damaged ({type(e).__name__})"
