"""fingerprint: equal exactly when a traced program may be reused (or members stacked)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from course_lib import nets
from course_lib.fingerprint import Unfingerprintable, fingerprint


def closure_over(value):
    return lambda x: x + value


def test_plain_values_and_closures_count_by_value():
    assert fingerprint(closure_over(1.0)) == fingerprint(closure_over(1.0))
    assert fingerprint(closure_over(1.0)) != fingerprint(closure_over(2.0))
    assert fingerprint(optax.adam(1e-3)) == fingerprint(optax.adam(1e-3))
    assert fingerprint(optax.adam(1e-3)) != fingerprint(optax.adam(3e-4))


def test_numpy_arrays_count_by_contents_jax_arrays_by_identity():
    a = np.zeros(3)
    before = fingerprint(closure_over(a))
    a[1] = 5.0  # changed in place: another fingerprint
    assert fingerprint(closure_over(a)) != before
    x = jnp.zeros(3)
    assert fingerprint(closure_over(x)) == fingerprint(closure_over(x))
    assert fingerprint(closure_over(x)) != fingerprint(closure_over(jnp.zeros(3)))


GLOBAL_SCALE = 2.0


def uses_a_global(x):
    return GLOBAL_SCALE * x


def test_globals_a_function_names_count(monkeypatch):
    before = fingerprint(uses_a_global)
    monkeypatch.setitem(globals(), "GLOBAL_SCALE", 3.0)
    assert fingerprint(uses_a_global) != before


def test_models_count_by_their_arrays_or_by_shapes_only():
    a, b = nets.MLP(2, [8], 2, rngs=nnx.Rngs(0)), nets.MLP(2, [8], 2, rngs=nnx.Rngs(1))
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint(a, arrays="shape") == fingerprint(b, arrays="shape")
    wide = nets.MLP(2, [9], 2, rngs=nnx.Rngs(0))
    assert fingerprint(a, arrays="shape") != fingerprint(wide, arrays="shape")
    before = fingerprint(a)
    nnx.update(a, nnx.state(b))  # new arrays in the same object
    assert fingerprint(a) != before


def test_a_tracer_cannot_be_vouched_for():
    def f(x):
        fingerprint(closure_over(x))
        return x

    with pytest.raises(Unfingerprintable, match="tracer"):
        jax.jit(f)(1.0)
