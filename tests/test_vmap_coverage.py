"""Every primitive has a batching rule, and every rule agrees with a Python loop over examples
for every choice of mapped arguments (None / first axis / last axis for each operand)."""
import itertools

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.core import primitives as P
from gpuxla.core.extensions import COLLECTIVES
from gpuxla.core.graph import PRIMITIVES, Primitive, proj_p, shape_rules
from gpuxla.transforms.batching import batch_rules

B = 3
F, I32 = np.float32, np.int32


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_primitive_has_batch_rule(name):
    assert PRIMITIVES[name] in batch_rules, f"no batching rule for primitive '{name}' (gpuxla.transforms.batching.batch_rules)"


# --- one sample per primitive (at least) ------------------------------------------------------
def u(*shape, lo=-1.0, hi=1.0):
    return lambda rng: rng.uniform(lo, hi, shape).astype(F)


def ints(*shape, lo=-5, hi=6, dtype=I32):
    return lambda rng: rng.integers(lo, hi, shape).astype(dtype)


def bools(*shape):
    return lambda rng: rng.random(shape) < 0.5


class S:
    def __init__(self, name, fn, *makers):
        self.name, self.fn, self.makers = name, fn, makers


_DOMAIN = {"log": (0.5, 2), "log1p": (0.5, 2), "sqrt": (0.5, 2), "rsqrt": (0.5, 2), "acosh": (1.2, 3),
           "lgamma": (0.5, 2), "digamma": (0.5, 2), "asin": (-0.8, 0.8), "acos": (-0.8, 0.8),
           "atanh": (-0.8, 0.8), "erf_inv": (-0.8, 0.8)}
_INT_UNARY = {"not", "population_count", "clz"}
_SKIP_UNARY = {"round", "integer_pow", "stop_gradient", "wrap"}
SAMPLES = [S(n, getattr(lax, n if n != "not" else "bitwise_not"), u(2, 3, lo=_DOMAIN.get(n, (-1, 1))[0], hi=_DOMAIN.get(n, (-1, 1))[1]))
           for n in (p.name for p in P.GROUP.unary) if n not in _INT_UNARY | _SKIP_UNARY]
SAMPLES += [S(n, lambda x, n=n: getattr(lax, n if n != "not" else "bitwise_not")(x), ints(2, 3)) for n in _INT_UNARY]
SAMPLES += [
    S("round", lambda x: lax.round(x, 0) + lax.round(x, 1), u(2, 3, lo=-3, hi=3)),
    S("integer_pow", lambda x: lax.integer_pow(x, 3), u(2, 3)),
    S("stop_gradient", lax.stop_gradient, u(2, 3)),
    S("wrap", lambda x: P.wrap_p.bind(x), u(2, 3)),
]
_FLOAT_BIN = {"add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "nextafter"}
_LAX_NAME = {"and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor"}
for n in (p.name for p in (*P.GROUP.binary, *P.GROUP.compare)):
    f = getattr(lax, _LAX_NAME.get(n, n))
    mk = (lambda *s: u(*s, lo=0.5, hi=2)) if n in _FLOAT_BIN else (lambda *s: ints(*s, lo=0, hi=8))
    SAMPLES += [S(n, f, mk(2, 3), mk(2, 3)), S(n + "_rank0_lhs", f, mk(), mk(2, 3)), S(n + "_rank0_rhs", f, mk(2, 3), mk())]
SAMPLES += [
    S("fma", lax.fma, u(2, 3), u(2, 3), u(2, 3)),
    S("fma_rank0", lax.fma, u(), u(2, 3), u()),
    S("select_n", lambda w, a, b: lax.select_n(w, a, b), bools(2, 3), u(2, 3), u(2, 3)),
    S("select_n_scalar_pred", lambda w, a, b: lax.select_n(w, a, b), bools(), u(2, 3), u(2, 3)),
    S("select_n_int", lambda w, a, b, c: lax.select_n(w, a, b, c), ints(4, lo=0, hi=3), u(4), u(4), u(4)),
    S("convert_element_type", lambda x: lax.convert_element_type(x, np.int32), u(2, 3, lo=-5, hi=5)),
    S("bitcast_convert_type", lambda x: lax.bitcast_convert_type(x, np.int32), u(2, 3)),
    S("iota", lambda x: x + lax.convert_element_type(lax.broadcasted_iota(np.int32, (2, 3), 1), np.float32), u(2, 3)),
    S("broadcast_in_dim", lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (1, 2)), u(3, 1)),
    S("broadcast_in_dim_scalar", lambda x: lax.broadcast_in_dim(x, (2, 3), ()), u()),
    S("broadcast_in_dim_middle", lambda x: lax.broadcast_in_dim(x, (2, 4, 3), (0, 2)), u(2, 3)),
    S("reshape", lambda x: lax.reshape(x, (3, 2, 2)), u(4, 3)),
    S("transpose", lambda x: lax.transpose(x, (2, 0, 1)), u(2, 3, 4)),
    S("rev", lambda x: lax.rev(x, (0, 2)), u(2, 3, 4)),
    S("slice", lambda x: lax.slice(x, (1, 0), (5, 3), (2, 2)), u(5, 4)),
    S("pad", lambda x, v: lax.pad(x, v, ((1, -1, 1), (-1, 2, 0))), u(3, 4), u()),
    S("concatenate", lambda a, b, c: lax.concatenate([a, b, c], 1), u(2, 2), u(2, 3), u(2, 1)),
    S("dynamic_slice", lambda x, i, j: lax.dynamic_slice(x, [i, j], [2, 3]), u(4, 5), ints(lo=-2, hi=6), ints(lo=-2, hi=6)),
    S("dynamic_update_slice", lambda x, v, i, j: lax.dynamic_update_slice(x, v, [i, j]), u(4, 5), u(2, 3),
      ints(lo=-2, hi=6), ints(lo=-2, hi=6)),
    S("gather_clip", lambda x, i: lax.gather_points(x, i, (1,), "clip"), u(2, 3), ints(4, 1, lo=-1, hi=5)),
    S("gather_fill", lambda x, i: lax.gather_points(x, i, (2, 0), "fill", 0.5), u(3, 2, 4), ints(2, 2, 2, lo=-1, hi=5)),
    S("argmax", lambda x: lax.argmax(x, 1, np.int32), u(3, 4)),
    S("argmin", lambda x: lax.argmin(x, 0, np.int32), u(3, 4)),
    S("sort", lambda x: lax.sort(x, 0), u(4, 3)),
    S("argsort", lambda x: lax.argsort(x, 1), u(3, 4)),
    S("dot_general", lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))), u(3, 4), u(4, 2)),
    S("dot_general_batch", lambda a, b: lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))), u(2, 3, 4), u(2, 4, 5)),
    S("dot_general_multi", lambda a, b: lax.dot_general(a, b, (((0, 2), (2, 1)), ((), ()))), u(3, 2, 4), u(5, 4, 3)),
    S("dot_general_vector", lambda a, b: lax.dot_general(a, b, (((0,), (0,)), ((), ()))), u(4), u(4)),
    S("dot_general_int_pet", lambda a, b: lax.dot_general(a, b, (((1,), (1,)), ((), ())), preferred_element_type=np.float32),
      ints(2, 3), ints(4, 3)),
]
for mode in ("set", "add", "mul", "min", "max"):
    SAMPLES.append(S(f"scatter_{mode}", lambda x, i, v, mode=mode: lax.scatter_points(x, i, v, (1,), mode),
                     u(2, 4), ints(3, 1, lo=-1, hi=5), u(3, 2)))
SAMPLES.append(S("scatter_2axes", lambda x, i, v: lax.scatter_points(x, i, v, (2, 0), "add"),
                 u(3, 2, 4), ints(2, 2, lo=0, hi=3), u(2, 2)))
for n in (p.name for p in P.GROUP.reduce):
    mk = ints(2, 3, 2, lo=0, hi=4) if n in ("reduce_and", "reduce_or") else u(2, 3, 2)
    SAMPLES.append(S(n, lambda x, n=n: getattr(lax, n)(x, (0, 2)), mk))
for n in P.CUMULATIVE:
    SAMPLES.append(S(n, lambda x, n=n: getattr(lax, n)(x, 1) + getattr(lax, n)(x, 0, reverse=True), u(3, 4)))


@jax.custom_jvp
def _cj(x, y):
    return jnp.sin(x) * y


_cj.defjvp(lambda p, t: (_cj(*p), jnp.cos(p[0]) * p[1] * t[0] + jnp.sin(p[0]) * t[1]))


@jax.custom_vjp
def _cv(x, y):
    return x * y, x + y


_cv.defvjp(lambda x, y: (_cv(x, y), (x, y)), lambda r, g: (g[0] * r[1] + g[1], g[0] * r[0] + g[1]))
SAMPLES += [S("custom_jvp_call", _cj, u(3), u(3)), S("custom_vjp_call", lambda x, y: _cv(x, y)[0] + 2 * _cv(x, y)[1], u(3), u(3))]


def _axes_choices(per_example):
    opts = [[None, 0, -1] if np.ndim(a) else [None, 0] for a in per_example]
    return [c for c in itertools.product(*opts) if any(a is not None for a in c)]


def _check(fn, draws, axes):
    args = []
    for k, ax in enumerate(axes):
        args.append(jnp.asarray(draws[0][k] if ax is None else np.stack([d[k] for d in draws], axis=ax)))
    got = np.asarray(jax.vmap(fn, in_axes=axes)(*args))
    want = np.stack([np.asarray(fn(*[jnp.asarray(draws[b if ax is not None else 0][k]) for k, ax in enumerate(axes)]))
                     for b in range(B)])
    assert got.dtype == want.dtype and got.shape == want.shape, (axes, got.dtype, got.shape, want.dtype, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"in_axes={axes}")


@pytest.mark.parametrize("s", SAMPLES, ids=lambda s: s.name)
def test_batch_rule_matches_loop(s):
    rng = np.random.default_rng(0)
    draws = [[m(rng) for m in s.makers] for _ in range(B)]
    for axes in _axes_choices(draws[0]):
        _check(s.fn, draws, axes)


def test_samples_reach_every_primitive():
    seen = set()
    rng = np.random.default_rng(0)
    for s in SAMPLES:
        seen |= {e.prim for e in jax.make_jaxpr(s.fn)(*[jnp.asarray(m(rng)) for m in s.makers]).eqns}
    # proj: read through by the custom calls; collectives: tests/test_vmap.py (they need a named axis).
    # Primitives of other modules (linalg, ...) are reached through the op table's vmap test.
    core = [p for p in vars(P).values() if isinstance(p, Primitive)]
    exempt = {proj_p} | COLLECTIVES
    missing = sorted(p.name for p in core if p not in seen and p not in exempt)
    assert not missing, f"no vmap sample reaches: {missing}"


def test_missing_rule_names_primitive_and_transformation():
    p = Primitive("gx_test_unbatchable")
    shape_rules[p] = lambda avals: avals[0]
    try:
        with pytest.raises(NotImplementedError, match="'gx_test_unbatchable'.*vmap"):
            jax.vmap(lambda x: p.bind(x))(jnp.ones((2, 3)))
    finally:
        del PRIMITIVES[p.name], shape_rules[p]
