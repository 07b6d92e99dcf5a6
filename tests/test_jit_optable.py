"""jit over every op of the shared op table: `jit(f)(*args)` equals the eager `f(*args)` (same
values within the op's tolerance, same dtypes, shapes and weak types), a second call with new
values hits the cache, and the compiled graph is what ran."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.core import dtypes
from gpuxla.tree_util import tree_flatten

from op_table import OPS, gpuxla_args, make_args, tolerance


def _check(got, want, op, what):
    got_l, want_l = tree_flatten(got)[0], tree_flatten(want)[0]
    assert len(got_l) == len(want_l), what
    for g, w in zip(got_l, want_l):
        assert isinstance(g, jax.Array), f"{what}: jit returned {type(g).__name__}"
        assert (g.shape, g.dtype, g.weak_type) == (w.shape, w.dtype, w.weak_type), \
            f"{what}: got {g.aval} weak={g.weak_type}, want {w.aval} weak={w.weak_type}"
        g, w = np.asarray(g), np.asarray(w)
        if w.dtype.kind in "fc":
            rtol, atol = tolerance(op, w.dtype)
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol,
                                       equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(g, w, err_msg=what)


CASES = [(op, dt) for op in OPS for dt in op.dtypes]


@pytest.mark.parametrize("op,dtype", CASES, ids=[f"{op.name}-{dt.name}" for op, dt in CASES])
def test_jit_matches_eager(op, dtype):
    with dtypes.enable_x64(op.x64 or dtype == np.float64):
        args = gpuxla_args(op, make_args(op, dtype, np.random.default_rng(0)))
        dyn = [i for i in range(len(args)) if i not in op.static]

        def f(*d):
            full = list(args)
            for i, v in zip(dyn, d):
                full[i] = v
            return op.fn(jnp, *full)

        jf = jax.jit(f)
        want = f(*[args[i] for i in dyn])
        _check(jf(*[args[i] for i in dyn]), want, op, f"jit({op.name}) {dtype.name}")
        # New values, same signature: served from the cache, still right.
        args2 = gpuxla_args(op, make_args(op, dtype, np.random.default_rng(1)))
        d2 = [args2[i] for i in dyn]
        _check(jf(*d2), f(*d2), op, f"jit({op.name}) {dtype.name}, cached call")
        assert jf._cache_size() == 1
