"""Every core primitive (gpuxla.core.primitives) is reached by some row of the shared op table,
so the numerics, gradient, vmap, jit and CUDA parity sweeps over `OPS` exercise all of them.

Each op is traced with `make_jaxpr` (static arguments closed over) and the primitives of its
equations are collected.
"""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.core import primitives as P
from gpuxla.core.graph import Primitive, proj_p

from op_table import OPS, make_args

# Reached only through transformations, each tested where it lives: wrap marks the leaves of
# grad/vmap (tests/test_ad.py), the custom calls carry custom_jvp/custom_vjp
# (tests/test_custom_derivatives.py), proj reads multiple results.
EXEMPT = {P.wrap_p, P.custom_jvp_call_p, P.custom_vjp_call_p, proj_p}
CORE = sorted((p for p in vars(P).values() if isinstance(p, Primitive)), key=lambda p: p.name)


def _prims(op):
    args = make_args(op, op.dtypes[0], np.random.default_rng(0))
    static = {i: a for i, a in enumerate(args) if i in op.static}

    def f(*dyn):
        it = iter(dyn)
        return op.fn(jnp, *[static[i] if i in static else next(it) for i in range(len(args))])
    j = jax.make_jaxpr(f)(*[a for i, a in enumerate(args) if i not in op.static])
    return {e.prim for e in j.eqns}


@pytest.fixture(scope="module")
def reached():
    seen = {}
    for op in OPS:
        for p in _prims(op):
            seen.setdefault(p, op.name)
    return seen


def test_every_core_primitive_is_reached(reached):
    missing = [p.name for p in CORE if p not in reached and p not in EXEMPT]
    assert not missing, f"no op in tests/op_table.py reaches: {missing}"


def test_reach_sees_composites():
    # make_jaxpr walks composites down to primitives: mean = reduce_sum and div.
    op = next(o for o in OPS if o.name == "mean")
    assert {P.reduce_sum_p, P.div_p} <= _prims(op)
