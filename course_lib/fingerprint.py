"""What a traced program depends on besides its arguments, as a hashable fingerprint.

``jax.jit`` bakes into a program every value its function reads that is not an argument: the
arrays a closure holds, a model's static config, an optimizer's learning rate, a global. Two
calls may share a trace only if all of those are the same. :func:`fingerprint` walks a
function (its code, its closure cells, its defaults and the globals its code names), bound
methods, partials, containers and objects' attributes, down to plain values and arrays:

- ``arrays="identity"``: a JAX array (immutable) counts by its identity, a NumPy array (which
  can change in place) by its bytes. Equal fingerprints: a trace may be reused.
- ``arrays="shape"``: arrays count by shape and dtype only. Equal fingerprints: the objects
  differ at most in their arrays' values (the members of an ensemble).

Functions of jax, flax, optax and numpy count by their code and closure (an optax closure holds
its learning rate), not by the library's globals, which do not change. Anything it cannot vouch
for (a tracer, an object without attributes it can read) raises :class:`Unfingerprintable`;
the caller must then not reuse anything.
"""

from __future__ import annotations

import functools
import hashlib
import types

import jax
import numpy as np
from flax import nnx

LIBRARIES = ("jax", "jaxlib", "flax", "optax", "numpy", "builtins", "functools", "math",
             "operator", "ml_dtypes", "typing", "abc", "enum", "dataclasses")
PLAIN = (type(None), bool, int, float, complex, str, bytes, type(Ellipsis), np.dtype,
         np.generic, jax.tree_util.PyTreeDef)  # immutable, compared by value
MAX_NODES = 20_000  # a walk this large is not a training step's closure: give up


class Unfingerprintable(TypeError):
    """A value whose future contents cannot be vouched for."""


def fingerprint(obj, arrays: str = "identity", keep: list | None = None):
    """A hashable summary of everything ``obj`` can read; ``keep`` collects the objects whose
    identity the summary uses (hold them so that their ids are not reused)."""
    if arrays not in ("identity", "shape"):
        raise ValueError(f"arrays must be 'identity' or 'shape', got {arrays!r}")
    walker = _Walker(arrays, [] if keep is None else keep)
    return walker(obj)


def _library(module: str | None) -> bool:
    return (module or "").split(".")[0] in LIBRARIES


class _Walker:
    def __init__(self, arrays, keep):
        self.arrays, self.keep, self.seen, self.nodes = arrays, keep, {}, 0

    def ident(self, obj):
        self.keep.append(obj)
        return id(obj)

    def __call__(self, obj):
        if isinstance(obj, PLAIN):
            return (type(obj).__name__, obj)
        if isinstance(obj, types.ModuleType):
            return ("module", obj.__name__)
        if isinstance(obj, types.BuiltinFunctionType) and not isinstance(
                getattr(obj, "__self__", None), types.ModuleType | type(None)):
            return ("builtin-method", obj.__name__, self(obj.__self__))
        if isinstance(obj, type | types.BuiltinFunctionType):
            return ("by-identity", self.ident(obj))
        if isinstance(obj, jax.core.Tracer):
            raise Unfingerprintable("a tracer (a value of an enclosing trace) is captured")
        if isinstance(obj, jax.Array | np.ndarray):
            if self.arrays == "shape":
                return ("array", obj.shape, str(obj.dtype))
            if isinstance(obj, np.ndarray):  # mutable in place: its contents count
                return ("ndarray", obj.shape, str(obj.dtype),
                        hashlib.blake2b(np.ascontiguousarray(obj).data).hexdigest())
            return ("jax-array", self.ident(obj))
        key = id(obj)
        if key in self.seen:  # a cycle, or a value met twice: refer to its first visit
            return ("seen", self.seen[key])
        self.seen[key] = len(self.seen)
        self.keep.append(obj)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise Unfingerprintable(f"more than {MAX_NODES} values reachable")
        return self.compound(obj)

    def compound(self, obj):
        if isinstance(obj, nnx.Pytree):  # a model, an optimizer: its structure and arrays
            graphdef, state = nnx.split(obj)
            return ("nnx", self(graphdef), tuple(self(x) for x in jax.tree.leaves(state)))
        if isinstance(obj, tuple | list):
            return (type(obj).__name__, tuple(self(x) for x in obj))
        if isinstance(obj, dict | types.MappingProxyType):
            return ("dict", tuple((self(k), self(v)) for k, v in obj.items()))
        if isinstance(obj, set | frozenset):
            return ("set", frozenset(self(x) for x in obj))
        if isinstance(obj, functools.partial):
            return ("partial", self(obj.func), self(obj.args), self(obj.keywords))
        if isinstance(obj, types.MethodType):
            return ("method", self(obj.__func__), self(obj.__self__))
        if isinstance(obj, types.FunctionType):
            return self.function(obj)
        if isinstance(obj, types.CodeType):
            return ("code", self.ident(obj))
        attributes = getattr(obj, "__dict__", None)
        slotted = [c for c in type(obj).__mro__[:-1] if "__slots__" in vars(c)]
        slots = [s for c in slotted for s in ((c.__slots__,) if isinstance(c.__slots__, str)
                                             else c.__slots__)
                 if s not in ("__dict__", "__weakref__")]
        if attributes is None and not slotted:
            raise Unfingerprintable(f"cannot read a {type(obj).__name__}")
        fields = dict(attributes or {})
        fields |= {s: getattr(obj, s) for s in slots if hasattr(obj, s)}
        return ("object", self(type(obj)), tuple(sorted((k, self(v)) for k, v in fields.items())))

    def function(self, f):
        cells = tuple(self(c.cell_contents) if _filled(c) else ("empty",)
                      for c in f.__closure__ or ())
        out = ("function", self.ident(f.__code__), cells, self(f.__defaults__),
               self(f.__kwdefaults__))
        if _library(f.__module__):  # a library's globals do not change
            return out
        names = _global_names(f.__code__)
        used = {n: f.__globals__[n] for n in sorted(names) if n in f.__globals__}
        return out + (self(used),)


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 (an empty cell raises)
    except ValueError:
        return False
    return True


def _global_names(code: types.CodeType) -> set[str]:
    """The names a function's code (and the code of functions defined inside it) looks up:
    globals among them, and attribute names too, which only makes the key stricter."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names
