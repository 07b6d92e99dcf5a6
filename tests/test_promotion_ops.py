"""Type promotion through real ops: every dtype pair of JAX's promotion table (baked from JAX 0.10.2
in tests/test_dtypes.py) goes through `jnp.add`, and the lattice's weak-type rows through `+`;
the result dtype is the table's entry canonicalised for the current x64 mode and the weak flag is
JAX's. The x64 run of the same checks is in tests/test_x64.py.
"""
import numpy as np
import pytest

import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.core import dtypes as D

from test_dtypes import DT, LATTICE_X32, LATTICE_X64, PROMOTE_COLS, PROMOTE_X32, PROMOTE_X64

PY = {"i*": 1, "f*": 1.0, "c*": 1j}


def operand(key):
    """An operand for a PROMOTE_COLS key: an Array of that dtype, or a Python scalar (weak)."""
    if key in PY:
        return PY[key]
    return jnp.asarray(np.ones(2, DT[key]))


def promote_cases(x64):
    cols = PROMOTE_COLS.split()
    for row in (PROMOTE_X64 if x64 else PROMOTE_X32).strip().splitlines():
        r, *want = row.split()
        for c, w in zip(cols, want):
            yield r, c, w


def check_add(r, c, want):
    a, b = operand(r), operand(c)
    out = jnp.add(a, b)
    dt = D.canonicalize_dtype(DT[want])
    assert out.dtype == dt, (r, c, out.dtype, dt)
    if r in PY and c in PY:      # (weak flags of mixed pairs: the lattice test below)
        assert out.weak_type
    # 1 + 1 in the result type (True for bool: add is logical or)
    expect = np.asarray(np.asarray(PY.get(r, 1)) + np.asarray(PY.get(c, 1))).astype(dt) if dt != np.bool_ else True
    np.testing.assert_array_equal(np.asarray(out).reshape(-1)[0], expect)


def _x32_keys(r, c):
    # Under x32 the 64-bit NumPy dtypes canonicalise on the way in, so the x32 table's row for
    # them describes inputs gpuxla cannot hold; those pairs are covered by the x64 run.
    return not ({r, c} & {"u64", "i64", "f64", "c128"})


@pytest.mark.parametrize("r,c,want", [t for t in promote_cases(False) if _x32_keys(t[0], t[1])])
def test_add_promotes_like_jax_x32(r, c, want):
    with D.enable_x64(False):
        check_add(r, c, want)


def lattice_cases(x64):
    """(left key, right key, 'dtype[w][/result_type]') from the lattice table: np:X arrays,
    py:v Python scalars, w:X weakly-typed arrays."""
    rows = [line.split("|") for line in (LATTICE_X64 if x64 else LATTICE_X32).strip().splitlines()]
    keys = [left.split()[0] for left, _ in rows]
    for n, (_, right) in enumerate(rows):
        for m, want in enumerate(right.split()):
            yield keys[n], keys[n + m], want


def lattice_operand(key):
    kind, v = key.split(":")
    if kind == "py":
        return {"True": True, "1": 1, "1.0": 1.0, "1j": 1j}[v]
    if kind == "np":
        return jnp.asarray(np.ones(2, DT[v]))
    # a weakly-typed array of dtype v (what a Python scalar becomes inside a traced function)
    return lax.convert_element_type(jnp.ones(2, DT[v]), DT[v], weak_type=True)


def check_lattice(a_key, b_key, want):
    a, b = lattice_operand(a_key), lattice_operand(b_key)
    if isinstance(a, bool) and isinstance(b, bool):
        return    # Python bool + Python bool is Python arithmetic, not ours
    out = a + b if not isinstance(a, (bool, int, float, complex)) else b.__radd__(a) \
        if not isinstance(b, (bool, int, float, complex)) else jnp.add(a, b)
    dt, _, _ = want.partition("/")
    weak = dt.endswith("w")
    assert (out.dtype, out.weak_type) == (np.dtype(DT[dt.rstrip("w")]), weak), (a_key, b_key, want)


def _constructible(a, b, x64):
    # A weakly-typed bool array cannot exist (bool is never weak), and under x32 the 64-bit dtypes
    # canonicalise on the way in.
    return "w:b1" not in (a, b) and (x64 or not ({a[3:], b[3:]} & {"u64", "i64", "f64", "c128"}))


@pytest.mark.parametrize("a_key,b_key,want", [t for t in lattice_cases(False) if _constructible(t[0], t[1], False)])
def test_lattice_through_add_x32(a_key, b_key, want):
    with D.enable_x64(False):
        check_lattice(a_key, b_key, want)


# --- weak types through ordinary code (JAX 0.10.2 reprs) ------------------------------------------
WEAK_CASES = [   # expression, repr JAX printed
    (lambda: jnp.asarray(1.0), "Array(1., dtype=float32, weak_type=True)"),
    (lambda: jnp.array(3), "Array(3, dtype=int32, weak_type=True)"),
    (lambda: jnp.array(True), "Array(True, dtype=bool)"),
    (lambda: jnp.int32(1) + 1.0, "Array(2., dtype=float32, weak_type=True)"),
    (lambda: jnp.float32(1) + 1, "Array(2., dtype=float32)"),
    (lambda: jnp.int8(1) + 1.5, "Array(2.5, dtype=float32, weak_type=True)"),
    (lambda: jnp.ones(2, jnp.int8) + 1.0, "Array([2., 2.], dtype=float32, weak_type=True)"),
    (lambda: jnp.uint8(1) * 1.0, "Array(1., dtype=float32, weak_type=True)"),
    (lambda: jnp.asarray(2) * 3, "Array(6, dtype=int32, weak_type=True)"),
    (lambda: jnp.asarray(2.0) + jnp.float32(1), "Array(3., dtype=float32)"),
    (lambda: jnp.array(1, dtype=jnp.float32), "Array(1., dtype=float32)"),
    (lambda: jnp.asarray(np.float32(2)), "Array(2., dtype=float32)"),
    (lambda: jnp.array(np.int64(3)), "Array(3, dtype=int32)"),
    (lambda: jnp.ones(2, jnp.float16) * 2.5, "Array([2.5, 2.5], dtype=float16)"),
    (lambda: jnp.ones(2, jnp.bfloat16) + 1, "Array([2, 2], dtype=bfloat16)"),
    (lambda: jnp.ones(2, jnp.uint8) + 255, "Array([0, 0], dtype=uint8)"),
    (lambda: jnp.sin(jnp.asarray(1)), "Array(0.84147096, dtype=float32, weak_type=True)"),
    (lambda: jnp.sqrt(2.0), "Array(1.4142135, dtype=float32, weak_type=True)"),
]


@pytest.mark.parametrize("k", range(len(WEAK_CASES)))
def test_weak_type_reprs(k):
    with D.enable_x64(False):
        f, want = WEAK_CASES[k]
        assert repr(f()) == want


def test_python_int_out_of_range_raises():
    with D.enable_x64(False):
        with pytest.raises(OverflowError, match="too large to convert to int32"):
            jnp.ones(3, jnp.int32) + 2 ** 40
        with pytest.raises(OverflowError):
            jnp.asarray(2 ** 40)
