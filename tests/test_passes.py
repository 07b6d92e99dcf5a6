"""Compiler passes one by one, each on a small graph built from symbolic leaves: what it removes or
rewrites (read off the printed graph), that values, shapes, dtypes and weak types are unchanged
(the graph is run on the active backend before and after), and that nodes older than the trace are
never rewritten."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.backends import get_backend
from gpuxla.compiler import passes as P
from gpuxla.core import primitives as prims
from gpuxla.core.graph import Aval, constant, symbolic, trace_scope
from gpuxla.core.jaxpr import pp_graph
from gpuxla.core.program import Program

F32 = np.dtype(np.float32)


def leaves(*shapes, weak=False):
    return [symbolic(Aval(s, F32, weak), f"x{i}") for i, s in enumerate(shapes)]


def build(fn, *shapes):
    xs = leaves(*shapes)
    with trace_scope():
        out = fn(*xs)
    return xs, list(out) if isinstance(out, (list, tuple)) else [out]


def run(xs, outs, args):
    b = get_backend()
    res = b.compile(Program.from_graph(xs, outs))([b.from_numpy(np.asarray(a, F32)) for a in args])
    return [b.to_numpy(r) for r in res]


def check_same(xs, before, after, args):
    for o, n in zip(before, after):
        assert o.aval == n.aval, f"pass changed {o.aval} (weak={o.weak_type}) into {n.aval} (weak={n.weak_type})"
    for a, b in zip(run(xs, before, args), run(xs, after, args)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def text(xs, outs):
    return pp_graph(xs, outs)


def prims_of(xs, outs):
    return [n.prim.name for n in P.trace_nodes(outs, xs)]


# --- fold_constants -------------------------------------------------------------------------------
def test_fold_constants_computes_constant_subgraphs():
    def f(x):
        c = lax.mul(constant(np.float32(2.0)), constant(np.float32(3.0)))
        return x + lax.exp(c)
    xs, outs = build(f, (3,))
    assert prims_of(xs, outs) == ["mul", "exp", "add"]
    new = P.fold_constants(outs, xs)
    assert prims_of(xs, new) == ["add"]
    check_same(xs, outs, new, [np.arange(3.0)])


def test_fold_constants_keeps_large_broadcasts():
    xs, outs = build(lambda x: x * lax.broadcast_in_dim(constant(np.float32(2.0)), (64, 64), ()), (64, 64))
    new = P.fold_constants(outs, xs)
    assert "broadcast_in_dim" in prims_of(xs, new)       # 4096 elements would become constant memory


# --- simplify -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn,gone", [
    (lambda x: x * 1.0, "mul"),
    (lambda x: 1.0 * x, "mul"),
    (lambda x: x + 0.0, "add"),
    (lambda x: x - 0.0, "sub"),
    (lambda x: x / 1.0, "div"),
    (lambda x: lax.neg(lax.neg(x)), "neg"),
    (lambda x: lax.integer_pow(x, 1), "integer_pow"),
    (lambda x: lax.transpose(lax.transpose(x, (1, 0)), (1, 0)), "transpose"),
    (lambda x: lax.reshape(lax.reshape(x, (6,)), (2, 3)), "reshape"),
    (lambda x: prims.convert_element_type_p.bind(x, new_dtype=F32, weak_type=False), "convert_element_type"),
    (lambda x: prims.wrap_p.bind(x), "wrap"),
    (lambda x: lax.select(x > 0, x, x), "select_n"),
    (lambda x: jnp.sum(x, axis=()), "reduce_sum"),
    (lambda x: prims.slice_p.bind(x, start_indices=(0, 0), limit_indices=(2, 3), strides=None), "slice"),
])
def test_simplify_identities(fn, gone):
    xs, outs = build(lambda x: lax.exp(fn(x)), (2, 3))
    assert gone in prims_of(xs, outs)
    new = P.run_passes([("simplify", P.simplify), ("cse", P.cse)], outs, xs)
    assert gone not in prims_of(xs, new), text(xs, new)
    check_same(xs, outs, new, [np.arange(6.0).reshape(2, 3) - 2])


def test_simplify_composes_movement_chains():
    xs, outs = build(lambda x: lax.transpose(lax.transpose(x, (1, 2, 0)), (1, 0, 2)), (2, 3, 4))
    new = P.simplify(outs, xs)
    assert prims_of(xs, new) == ["transpose"] and new[0].params["permutation"] == (2, 1, 0)
    check_same(xs, outs, new, [np.arange(24.0).reshape(2, 3, 4)])

    xs, outs = build(lambda x: lax.broadcast_in_dim(lax.broadcast_in_dim(x, (3, 4), (1,)), (2, 3, 4), (1, 2)), (4,))
    new = P.simplify(outs, xs)
    assert prims_of(xs, new) == ["broadcast_in_dim"] and new[0].params["broadcast_dimensions"] == (2,)
    check_same(xs, outs, new, [np.arange(4.0)])

    xs, outs = build(lambda x: lax.reshape(lax.reshape(x, (4, 6)), (8, 3)), (2, 12))
    new = P.simplify(outs, xs)
    assert prims_of(xs, new) == ["reshape"]
    check_same(xs, outs, new, [np.arange(24.0).reshape(2, 12)])


def test_simplify_mul_by_minus_one_and_scalar_operands():
    xs, outs = build(lambda x: lax.neg(x * -1.0), (3,))
    new = P.run_passes([("simplify", P.simplify)], outs, xs)
    assert prims_of(xs, new) == []                           # -(x * -1) == x
    check_same(xs, outs, new, [np.array([1.0, -2.0, 0.5])])

    # A broadcast scalar operand becomes the scalar: the kernel reads one value.
    xs, outs = build(lambda x, s: x * lax.broadcast_in_dim(s, (3,), ()), (3,), ())
    new = P.simplify(outs, xs)
    assert prims_of(xs, new) == ["mul"] and new[0].inputs[1] is xs[1]
    check_same(xs, outs, new, [np.arange(3.0), 2.5])


def test_simplify_never_changes_an_aval():
    # 1.0 (strong) * x (weak) is strong: dropping the multiply would make the output weak.
    x = symbolic(Aval((), F32, True), "x")
    with trace_scope():
        out = prims.mul_p.bind(constant(np.float32(1.0)), x)
    assert not out.weak_type
    new = P.simplify([out], [x])
    assert new[0].aval == out.aval and new[0].weak_type is False
    # x + zeros(3) with x a scalar: the identity needs a broadcast to keep the shape.
    with trace_scope():
        out = prims.add_p.bind(symbolic(Aval((), F32), "s"), constant(np.zeros(3, F32)))
    s = out.inputs[0]
    new = P.simplify([out], [s])
    assert new[0].shape == (3,)
    check_same([s], [out], new, [4.0])


def test_identities_need_an_exact_unit():
    xs, outs = build(lambda x: x * np.float32(np.nan), (3,))
    new = P.simplify(outs, xs)
    assert prims_of(xs, new) == ["mul"]


# --- cse ------------------------------------------------------------------------------------------
def test_cse_merges_duplicates_and_equal_constants():
    def f(x):
        a = lax.div(constant(np.float32(1.0)), x)           # two different 1.0 constant nodes
        b = lax.div(constant(np.float32(1.0)), x)
        return lax.exp(a) + lax.exp(b)
    xs, outs = build(f, (3,))
    assert prims_of(xs, outs).count("div") == 2
    new = P.cse(outs, xs)
    assert prims_of(xs, new) == ["div", "exp", "add"]
    check_same(xs, outs, new, [np.array([1.0, 2.0, 4.0])])


def test_cse_keeps_different_params_apart():
    xs, outs = build(lambda x: jnp.sum(x, axis=0) + jnp.sum(x, axis=1), (3, 3))
    new = P.cse(outs, xs)
    assert prims_of(xs, new).count("reduce_sum") == 2
    check_same(xs, outs, new, [np.arange(9.0).reshape(3, 3)])


# --- dce ------------------------------------------------------------------------------------------
def test_dce_grad_drops_forward_sum():
    def sum_logistic(x):
        return jnp.sum(1.0 / (1.0 + jnp.exp(-x)))
    vg = jax.jit(jax.value_and_grad(sum_logistic)).lower(jnp.arange(3.0)).as_text()
    g = jax.jit(jax.grad(sum_logistic)).lower(jnp.arange(3.0)).as_text()
    assert "reduce_sum" in vg and "reduce_sum" not in g


def test_dce_cuts_work_behind_realized_nodes():
    x = leaves((3,))[0]
    with trace_scope():
        c = jnp.exp(jnp.arange(3.0))                           # constant-only work, realized while tracing
        c.block_until_ready()
        out = x + c
    assert "exp" in prims_of([x], [out])
    new = P.dce([out], [x])
    assert "exp" not in prims_of([x], new) and "iota" not in prims_of([x], new)
    check_same([x], [out], new, [np.ones(3)])


def test_strip_identities_only_when_lowering():
    xs, outs = build(lambda x: x * lax.stop_gradient(x), (3,))
    opt = P.run_passes(P.OPTIMIZE, outs, xs)
    assert "stop_gradient" in prims_of(xs, opt)             # derivatives still need it
    low = P.run_passes(P.FINAL, opt, xs)
    assert prims_of(xs, low) == ["mul"]
    check_same(xs, outs, low, [np.arange(3.0)])


# --- the pipeline ---------------------------------------------------------------------------------
def test_passes_leave_nodes_older_than_the_trace_alone():
    outer = prims.wrap_p.bind(constant(np.ones(3, F32)))   # an outer transformation's leaf
    xs = leaves((3,))
    with trace_scope():
        out = xs[0] * outer
    new = P.run_passes(P.OPTIMIZE, [out], xs)
    assert new[0].inputs[1] is outer                        # wrap outside the trace is not stripped


def test_run_passes_reports_each_change():
    seen = []
    xs, outs = build(lambda x: lax.exp(x * 1.0) + lax.exp(x * 1.0), (3,))
    new = P.run_passes(P.OPTIMIZE, outs, xs, on_pass=lambda name, o: seen.append((name, P.count_nodes(o, xs))))
    assert [n for n, _ in seen] == ["simplify", "cse"]
    assert seen[-1][1] == 2 and P.count_nodes(new, xs) == 2   # exp, add
    check_same(xs, outs, new, [np.arange(3.0)])


def test_optimized_graph_matches_on_a_larger_function():
    def f(x, y):
        h = jnp.tanh(x @ y.T.T) * 1.0 + 0.0
        return jnp.sum(h * h, axis=1) / 2.0, lax.neg(lax.neg(h)).T
    xs, outs = build(f, (4, 5), (5, 3))
    new = P.run_passes(P.FINAL, P.run_passes(P.OPTIMIZE, outs, xs), xs)
    assert P.count_nodes(new, xs) < P.count_nodes(outs, xs)
    rng = np.random.default_rng(0)
    check_same(xs, outs, new, [rng.standard_normal((4, 5)), rng.standard_normal((5, 3))])


def _random_graph(rng, x):
    """A random expression over x (2, 3) full of what the passes rewrite: units, double negations,
    movement chains, broadcast scalars, repeated subexpressions, constant-only parts."""
    pool = [x]
    consts = [0.0, 1.0, -1.0, 2.0, 0.5]
    for _ in range(12):
        a = pool[rng.integers(len(pool))]
        k = rng.integers(9)
        c = np.float32(consts[rng.integers(len(consts))])
        if k == 0:
            y = a * c if rng.random() < 0.5 else c * a
        elif k == 1:
            y = a + c if rng.random() < 0.5 else a - c
        elif k == 2:
            y = lax.neg(lax.neg(a)) if rng.random() < 0.5 else lax.neg(a)
        elif k == 3:
            y = lax.transpose(lax.transpose(a, (1, 0)), (1, 0))
        elif k == 4:
            y = lax.reshape(lax.reshape(a, (6,)), (2, 3))
        elif k == 5:
            y = a * lax.broadcast_in_dim(constant(c), (2, 3), ())
        elif k == 6:
            y = lax.sin(a) + lax.sin(a)
        elif k == 7:
            y = a * lax.exp(lax.mul(constant(c), constant(np.float32(3.0))))
        else:
            y = lax.select(a > 0, a, pool[rng.integers(len(pool))])
        pool.append(y)
    return pool[-1] + pool[len(pool) // 2]


@pytest.mark.parametrize("seed", range(25))
def test_random_graphs_keep_their_values(seed):
    rng = np.random.default_rng(seed)
    xs, outs = build(lambda x: _random_graph(rng, x), (2, 3))
    new = P.run_passes(P.FINAL, P.run_passes(P.OPTIMIZE, outs, xs), xs)
    assert P.count_nodes(new, xs) <= P.count_nodes(outs, xs)
    check_same(xs, outs, new, [np.random.default_rng(100 + seed).standard_normal((2, 3))])
