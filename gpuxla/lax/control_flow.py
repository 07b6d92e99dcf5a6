"""Structured control flow: cond, switch, while_loop, fori_loop, scan, map.

Each construct is one primitive (declared in core/extensions.py) holding traced subgraphs
(`Body`). A body is traced once on symbolic leaves; the outer arrays it closes over (constants,
other transformations' leaves) become explicit inputs of the primitive, so grad and vmap of the
enclosing function see them. Executing a body compiles it as a Program on the active backend
(backends/host_loops.py), so loops on any platform drive that platform's compiled kernels from the
host. Derivative and batching rules build new control-flow nodes whose bodies are the transformed
bodies (traced through `gpuxla.jvp`/`vjp`/`vmap`).
"""
import numpy as np

from ..core import dtypes
from ..core import graph as G
from ..core.extensions import cond_cap_positions, cond_captured, cond_p, scan_p, while_p
from ..core.graph import Array, Aval
from ..core.jaxpr import pp_graph
from ..core.program import Program
from ..core.trace import INPUTS, Traced, substitute, trace
from ..transforms.ad import jvp, jvp_rules, vjp, vjp_rules
from ..transforms.batching import batch_rules, batch_size, bdim_at_front, moveaxis, vmap
from ..tree_util import tree_flatten, tree_unflatten
from . import (asarray, broadcast_in_dim, clamp, convert_element_type, full, reduce_or, select, select_n,
               zeros_like_array)


class Body(Traced):
    """A function traced on symbolic leaves: `outs` computed from `leaves` and `captured` outer
    nodes, which become explicit inputs of the primitive. Hashable by identity, so a node's params
    can hold it."""

    def __init__(self, fun, in_avals, name):
        t = trace(fun, in_avals, what=name, names=[f"an argument of {name}"] * len(in_avals), closed=INPUTS)
        super().__init__(t.leaves, t.outs, t.start, out_tree=t.out_tree, captured=t.captured)
        self.out_avals = [o.aval for o in self.outs]
        self.name = name
        self.executables = {}     # platform -> compiled body (backends/host_loops.py)

    def __repr__(self):
        return pp_graph(self.leaves + self.captured, self.outs, indent=6)

    __str__ = __repr__

    def program(self):
        return Program.from_graph(self.leaves + self.captured, self.outs)

    def call(self, args, caps=None):
        """The body's graph copied onto new input nodes (a Python-callable form of the body)."""
        return substitute(self, args, caps)


def _avals(xs):
    return [x.aval for x in xs]


def _nodes(tree):
    flat, td = tree_flatten(tree)
    return [x if isinstance(x, Array) else asarray(x) for x in flat], td


def _fmt(avals):
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def _check_same(what, a_avals, b_avals, a_tree=None, b_tree=None):
    if (a_tree is not None and a_tree != b_tree) or len(a_avals) != len(b_avals) or any(
            (a.shape, a.dtype) != (b.shape, b.dtype) for a, b in zip(a_avals, b_avals)):
        raise TypeError(f"{what}: {_fmt(a_avals)} vs {_fmt(b_avals)}"
                        + (f" (structures {a_tree} vs {b_tree})" if a_tree is not None and a_tree != b_tree else ""))


# --- cond / switch ----------------------------------------------------------------------------
def switch(index, branches, *operands):
    """Apply `branches[index](*operands)`; `index` is clamped into range, as in JAX."""
    branches = list(branches)
    if not branches:
        raise ValueError("switch: branches must be a non-empty sequence of callables")
    idx = asarray(index)
    if idx.shape != () or not (dtypes.is_int(idx.dtype) or idx.dtype == np.bool_):
        raise TypeError("switch/cond: the index/predicate must be a scalar integer or boolean, "
                        f"got {idx.aval.str_short()}")
    if idx.dtype != np.int32:
        idx = convert_element_type(idx, np.int32)
    ops, ops_tree = _nodes(operands)
    bodies = []
    for k, br in enumerate(branches):
        bodies.append(Body(lambda *xs, br=br: br(*tree_unflatten(ops_tree, xs)), _avals(ops),
                           f"branch {k} ({getattr(br, '__name__', 'fun')}) of cond/switch"))
    for k, b in enumerate(bodies[1:], 1):
        _check_same(f"cond/switch branches must return the same types: branch 0 gives {bodies[0].out_tree} "
                    f"and branch {k} gives {b.out_tree}; output avals", bodies[0].out_avals, b.out_avals,
                    bodies[0].out_tree, b.out_tree)
    caps = cond_captured(bodies)
    outs = cond_p.bind(idx, *ops, *caps, branches=tuple(bodies), n_ops=len(ops))
    return tree_unflatten(bodies[0].out_tree, outs)


def cond(pred, true_fun, false_fun, *operands, operand=None):
    """`true_fun(*operands)` if `pred` else `false_fun(*operands)`, traced (lax.cond)."""
    if operand is not None:
        operands = (operand,)
    p = asarray(pred)
    if p.shape != ():
        raise TypeError(f"cond: the predicate must be a scalar, got shape {p.shape}")
    if p.dtype != np.bool_:
        p = G.PRIMITIVES["ne"].bind(p, asarray(np.zeros((), p.dtype)))
    return switch(convert_element_type(p, np.int32), [false_fun, true_fun], *operands)


# --- while_loop -------------------------------------------------------------------------------
def while_loop(cond_fun, body_fun, init_val):
    """`while cond_fun(val): val = body_fun(val)`, traced (lax.while_loop)."""
    init, tree = _nodes(init_val)
    avals = _avals(init)
    c = Body(lambda *xs: cond_fun(tree_unflatten(tree, xs)), avals, "the cond_fun of while_loop")
    if len(c.out_avals) != 1 or c.out_avals[0].shape != () or c.out_avals[0].dtype != np.bool_:
        raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got {_fmt(c.out_avals)}")
    b = Body(lambda *xs: body_fun(tree_unflatten(tree, xs)), avals, "the body_fun of while_loop")
    if _strengthen(init, b.out_avals):
        avals = _avals(init)
        c = Body(lambda *xs: cond_fun(tree_unflatten(tree, xs)), avals, "the cond_fun of while_loop")
        b = Body(lambda *xs: body_fun(tree_unflatten(tree, xs)), avals, "the body_fun of while_loop")
    _check_same(f"while_loop: body_fun output and input must have identical types; the carry enters as "
                f"{tree} and leaves as {b.out_tree}; avals", avals, b.out_avals, tree, b.out_tree)
    outs = while_p.bind(*init, *c.captured, *b.captured, cond_body=c, body=b, n_carry=len(init))
    return tree_unflatten(tree, outs)


# --- scan -------------------------------------------------------------------------------------
def scan(f, init, xs=None, length=None, reverse=False, unroll=1, _split_transpose=False):
    """Loop `carry, y = f(carry, x)` over the leading axis of `xs`, stacking the ys (lax.scan)."""
    init_flat, init_tree = _nodes(init)
    xs_flat, xs_tree = _nodes(xs)
    lengths = {x.shape[0] for x in xs_flat if x.ndim}
    if any(x.ndim == 0 for x in xs_flat):
        raise ValueError("scan: xs must be arrays with a leading axis to scan over, got a scalar")
    if length is not None:
        lengths.add(int(length))
    if len(lengths) != 1:
        raise ValueError(f"scan got inconsistent lengths: leading axes of xs {[x.shape for x in xs_flat]}"
                         + (f" and length={length}" if length is not None else "")
                         if lengths else "scan: with no xs, pass length=")
    (n,) = lengths
    x_avals = [Aval(x.shape[1:], x.dtype, x.weak_type) for x in xs_flat]
    def trace_body():
        n = len(init_flat)
        return Body(lambda *v: f(tree_unflatten(init_tree, v[:n]), tree_unflatten(xs_tree, v[n:])),
                    _avals(init_flat) + x_avals, f"the body of scan ({getattr(f, '__name__', 'fun')})")
    body = trace_body()
    if _strengthen(init_flat, body.out_avals):
        body = trace_body()
    tree = body.out_tree
    if tree.num_leaves < len(init_flat) or not _is_pair(tree):
        raise TypeError("scan body must return a pair (carry, y)")
    carry_tree, y_tree = tree.children()
    _check_same(f"scan body function carry input and carry output must have equal types; the carry enters "
                f"as {init_tree} and leaves as {carry_tree}; avals", _avals(init_flat),
                body.out_avals[:len(init_flat)], init_tree, carry_tree)
    outs = scan_p.bind(*init_flat, *xs_flat, *body.captured, body=body, length=n, reverse=bool(reverse),
                       n_carry=len(init_flat), n_xs=len(xs_flat))
    k = len(init_flat)
    return tree_unflatten(carry_tree, outs[:k]), tree_unflatten(y_tree, outs[k:])


def _strengthen(carry, out_avals):
    """A weakly typed carry whose body output is strongly typed becomes strong (in place), as JAX
    promotes loop carries; True when anything changed (the body is then traced again)."""
    changed = False
    for k, (x, a) in enumerate(zip(carry, out_avals)):
        if x.aval.weak_type and not a.weak_type and x.dtype == a.dtype:
            carry[k] = convert_element_type(x, x.dtype, weak_type=False)
            changed = True
    return changed


def _is_pair(tree):
    try:
        return len(tree.children()) == 2
    except Exception:
        return False


def fori_loop(lower, upper, body_fun, init_val, unroll=None):
    """`for i in range(lower, upper): val = body_fun(i, val)` (lax.fori_loop). Concrete bounds
    lower to a scan (so reverse-mode differentiation works); traced bounds to a while_loop."""
    def concrete(v):
        return isinstance(v, (int, np.integer)) or (isinstance(v, Array) and v._buf is not None and v.sym is None)
    if concrete(lower) and concrete(upper):
        lo, hi = int(lower), int(upper)
        dt = asarray(lower).dtype if isinstance(lower, Array) else dtypes.default_int_dtype()

        def step(carry, _):
            i, v = carry
            return (i + 1, body_fun(i, v)), None
        (_, out), _ = scan(step, (asarray(np.asarray(lo, dt)), init_val), None, length=max(hi - lo, 0))
        return out
    lower, upper = asarray(lower), asarray(upper)
    dt = dtypes.promote_types(lower.dtype, upper.dtype)
    lower, upper = convert_element_type(lower, dt), convert_element_type(upper, dt)

    def c(carry):
        return carry[0] < upper

    def b(carry):
        i, v = carry
        return i + 1, body_fun(i, v)
    return while_loop(c, b, (lower, init_val))[1]


def map(f, xs, *, batch_size=None):
    """`stack([f(x) for x in xs])` as a scan (lax.map)."""
    _, ys = scan(lambda c, x: (c, f(x)), (), xs)
    return ys


# --- derivative and batching rules ------------------------------------------------------------
def _put(base, positions, values):
    """A copy of `base` with the entries at `positions` replaced by `values` (the differentiated
    inputs substituted among the others)."""
    out = list(base)
    for k, v in zip(positions, values):
        out[k] = v
    return out


def _is_float(a):
    return dtypes.is_inexact(a.dtype)


def _zeros(x):
    return zeros_like_array(x)


def _tangent(t, x):
    return t if t is not None and _is_float(x.aval) else (_zeros(x) if _is_float(x.aval) else None)


def _branch_fns(branches, caps_all):
    """Python callables (operands..., all captured...) -> outputs for each branch."""
    fns = []
    for k, b in enumerate(branches):
        pos = cond_cap_positions(branches, k)
        fns.append(lambda ops, caps, b=b, pos=pos: b.call(list(ops), [caps[p] for p in pos]))
    return fns


def _cond_jvp(primals, tangents, out, branches, n_ops):
    index, args = primals[0], primals[1:]
    diff = [k for k, x in enumerate(args) if _is_float(x.aval)]
    fo = [k for k, a in enumerate(branches[0].out_avals) if _is_float(a)]
    if not diff or not fo:
        return [None] * len(branches[0].out_avals)
    tans = [_tangent(t, x) for t, x in zip(tangents[1:], args)]
    fns = _branch_fns(branches, args[n_ops:])

    def make(fn):
        def g(*v):
            prim, tan = list(v[:len(args)]), v[len(args):]

            def h(*d):
                full = _put(prim, diff, d)
                outs = fn(full[:n_ops], full[n_ops:])
                return [outs[k] for k in fo]
            return list(jvp(h, [prim[k] for k in diff], list(tan))[1])
        return g
    res = switch(index, [make(fn) for fn in fns], *args, *[tans[k] for k in diff])
    out = [None] * len(branches[0].out_avals)
    for k, t in zip(fo, res):
        out[k] = t
    return out


def _cond_vjp(ct, out, index, *args, branches, n_ops):
    cts = [c if c is not None else (_zeros_aval(a) if _is_float(a) else None)
           for c, a in zip(ct, branches[0].out_avals)]
    diff = [k for k, x in enumerate(args) if _is_float(x.aval)]
    fo = [k for k, a in enumerate(branches[0].out_avals) if _is_float(a)]
    if not diff or not fo:
        return (None,) * (1 + len(args))
    fns = _branch_fns(branches, args[n_ops:])

    def make(fn):
        def g(*v):
            prim, c = list(v[:len(args)]), v[len(args):]

            def h(*d):
                full = _put(prim, diff, d)
                outs = fn(full[:n_ops], full[n_ops:])
                return [outs[k] for k in fo]
            _, f_vjp = vjp(h, *[prim[k] for k in diff])
            return list(f_vjp(list(c)))
        return g
    res = switch(index, [make(fn) for fn in fns], *args, *[cts[k] for k in fo])
    out_cts = [None] * len(args)
    for k, r in zip(diff, res):
        out_cts[k] = r
    return (None, *out_cts)


def _zeros_aval(a):
    return full(a.shape, 0, a.dtype)


def _cond_batch(args, dims, branches, n_ops):
    index, ops = args[0], args[1:]
    size = batch_size(args, dims)
    fns = _branch_fns(branches, ops[n_ops:])
    in_axes = tuple(dims[1:])
    vfns = [vmap(lambda *v, fn=fn: fn(v[:n_ops], v[n_ops:]), in_axes=in_axes, out_axes=0, axis_size=size) for fn in fns]
    if dims[0] is None:
        outs = switch(index, [lambda *v, g=g: g(*v) for g in vfns], *ops)
        return list(outs), [0] * len(outs)
    # A batched index: every branch runs and a select picks each lane's result.
    results = [g(*ops) for g in vfns]
    idx = clamp(0, moveaxis(index, dims[0], 0), len(branches) - 1)
    outs = []
    for k in range(len(results[0])):
        cases = [r[k] for r in results]
        w = broadcast_in_dim(idx, cases[0].shape, (0,))
        outs.append(select_n(w if len(cases) > 2 else convert_element_type(w, np.bool_), *cases))
    return outs, [0] * len(outs)


def _while_jvp(primals, tangents, out, cond_body, body, n_carry):
    carry = primals[:n_carry]
    nc = len(cond_body.captured)
    ccaps, bcaps = primals[n_carry:n_carry + nc], primals[n_carry + nc:]
    diff = [k for k in range(n_carry) if _is_float(carry[k].aval)]
    dcap = [k for k, x in enumerate(bcaps) if _is_float(x.aval)]
    if not diff:
        return [None] * n_carry
    tc = [_tangent(tangents[k], carry[k]) for k in diff]
    tb = [_tangent(tangents[n_carry + nc + k], bcaps[k]) for k in dcap]

    def c(state):
        return cond_body.call(list(state[0]), ccaps)[0]

    def b(state):
        cv, tv = state

        def h(dc, db):
            full, caps = _put(cv, diff, dc), _put(bcaps, dcap, db)
            return [body.call(full, caps)[k] for k in range(n_carry)]
        o, to = jvp(h, ([cv[k] for k in diff], [bcaps[k] for k in dcap]), (list(tv), tb))
        return list(o), [to[k] for k in diff]
    _, t_out = while_loop(c, b, (list(carry), tc))
    res = [None] * n_carry
    for k, t in zip(diff, t_out):
        res[k] = t
    return res


def _while_vjp(ct, out, *args, cond_body, body, n_carry):
    raise ValueError("Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with "
                     "dynamic start/stop values. Try using lax.scan, or using fori_loop with static start/stop.")


def _while_batch(args, dims, cond_body, body, n_carry):
    size = batch_size(args, dims)
    nc = len(cond_body.captured)
    carry = [bdim_at_front(a, d, size) for a, d in zip(args[:n_carry], dims[:n_carry])]
    ccaps, bcaps = list(args[n_carry:n_carry + nc]), list(args[n_carry + nc:])
    cdims, bdims = list(dims[n_carry:n_carry + nc]), list(dims[n_carry + nc:])
    vcond = vmap(lambda c, k: cond_body.call(list(c), list(k))[0], in_axes=(0, cdims), axis_size=size)
    vbody = vmap(lambda c, k: body.call(list(c), list(k)), in_axes=(0, bdims), axis_size=size)
    # Every lane is batched: run while any lane continues; finished lanes keep their values.

    def b(c):
        live = vcond(c, ccaps)
        new = vbody(c, bcaps)
        return [select(broadcast_in_dim(live, n.shape, (0,)), n, o) for n, o in zip(new, c)]
    outs = while_loop(lambda c: reduce_or(vcond(c, ccaps), (0,)), b, carry)
    return list(outs), [0] * n_carry


def _scan_fn(body, n_carry, caps):
    def f(c, x):
        outs = body.call(list(c) + list(x), caps)
        return list(outs[:n_carry]), list(outs[n_carry:])
    return f


def _scan_jvp(primals, tangents, out, body, length, reverse, n_carry, n_xs):
    carry, xs, caps = primals[:n_carry], primals[n_carry:n_carry + n_xs], primals[n_carry + n_xs:]
    dc = [k for k, x in enumerate(carry) if _is_float(x.aval)]
    dx = [k for k, x in enumerate(xs) if _is_float(x.aval)]
    dk = [k for k, x in enumerate(caps) if _is_float(x.aval)]
    n_y0 = len(body.out_avals) - n_carry
    if not (dc or dx or dk):
        return [None] * (n_carry + n_y0)
    tcar = [_tangent(tangents[k], carry[k]) for k in dc]
    txs = [_tangent(tangents[n_carry + k], xs[k]) for k in dx]
    tcap = [_tangent(tangents[n_carry + n_xs + k], caps[k]) for k in dk]
    n_y = len(body.out_avals) - n_carry
    fy = [k for k in range(n_y) if _is_float(body.out_avals[n_carry + k])]

    def f(state, inp):
        c, tcv = state
        x, txv = inp

        def h(d_c, d_x, d_k):
            cc, xx, kk = _put(c, dc, d_c), _put(x, dx, d_x), _put(caps, dk, d_k)
            outs = body.call(cc + xx, kk)
            return [outs[k] for k in dc], [outs[n_carry + k] for k in fy], outs
        primals = ([c[k] for k in dc], [x[k] for k in dx], [caps[k] for k in dk])
        (oc, oy, full), (toc, toy, _) = jvp(lambda a, b_, k: h(a, b_, k), primals, (list(tcv), list(txv), tcap))
        new_c = list(full[:n_carry])
        return (new_c, list(toc)), (list(full[n_carry:]), list(toy))
    (_, tc_out), (_, ty) = scan(f, (list(carry), tcar), (list(xs), txs), length=length, reverse=reverse)
    res = [None] * (n_carry + n_y)
    for k, t in zip(dc, tc_out):
        res[k] = t
    for k, t in zip(fy, ty):
        res[n_carry + k] = t
    return res


def _scan_vjp(ct, out, *args, body, length, reverse, n_carry, n_xs):
    carry, xs, caps = list(args[:n_carry]), list(args[n_carry:n_carry + n_xs]), list(args[n_carry + n_xs:])
    n_y = len(body.out_avals) - n_carry
    dc = [k for k, x in enumerate(carry) if _is_float(x.aval)]
    dx = [k for k, x in enumerate(xs) if _is_float(x.aval)]
    dk = [k for k, x in enumerate(caps) if _is_float(x.aval)]
    fy = [k for k in range(n_y) if _is_float(body.out_avals[n_carry + k])]
    if not (dc or dx or dk) or not (dc or fy):
        return (None,) * len(args)
    ct_c = [ct[k] if ct[k] is not None else _zeros(carry[k]) for k in dc]
    ct_y = [ct[n_carry + k] if ct[n_carry + k] is not None else _zeros_aval(out.aval[n_carry + k]) for k in fy]
    step = _scan_fn(body, n_carry, caps)
    # Residuals: the carry entering every step, stacked (recomputed by a forward scan).
    _, cs = scan(lambda c, x: (step(c, x)[0], list(c)), carry, xs, length=length, reverse=reverse)

    def bwd(state, inp):
        g_c, g_k = state
        c, x, g_y = inp

        def h(d_c, d_x, d_k):
            cc, xx, kk = _put(c, dc, d_c), _put(x, dx, d_x), _put(caps, dk, d_k)
            outs = body.call(cc + xx, kk)
            return [outs[k] for k in dc], [outs[n_carry + k] for k in fy]
        _, f_vjp = vjp(h, [c[k] for k in dc], [x[k] for k in dx], [caps[k] for k in dk])
        d_c, d_x, d_k = f_vjp((list(g_c), list(g_y)))
        return (list(d_c), [a + b for a, b in zip(g_k, d_k)]), list(d_x)
    init_k = [_zeros(caps[k]) for k in dk]
    (g_c, g_k), g_xs = scan(bwd, (ct_c, init_k), (cs, xs, ct_y), length=length, reverse=not reverse)
    res = [None] * len(args)
    for k, g in zip(dc, g_c):
        res[k] = g
    for k, g in zip(dx, g_xs):
        res[n_carry + k] = g
    for k, g in zip(dk, g_k):
        res[n_carry + n_xs + k] = g
    return tuple(res)


def _scan_batch(args, dims, body, length, reverse, n_carry, n_xs):
    size = batch_size(args, dims)
    carry = [bdim_at_front(a, d, size) for a, d in zip(args[:n_carry], dims[:n_carry])]
    # xs: batch axis after the scanned axis (axis 1), unbatched xs stay as they are.
    xs_part = slice(n_carry, n_carry + n_xs)
    xs = [a if d is None else moveaxis(a, d, 1) for a, d in zip(args[xs_part], dims[xs_part])]
    xdims = [None if d is None else 0 for d in dims[n_carry:n_carry + n_xs]]
    caps = list(args[n_carry + n_xs:])
    kdims = list(dims[n_carry + n_xs:])
    vstep = vmap(lambda c, x, k: body.call(list(c) + list(x), list(k)), in_axes=(0, xdims, kdims), axis_size=size)

    def f(c, x):
        outs = vstep(c, x, caps)
        return list(outs[:n_carry]), list(outs[n_carry:])
    c_out, ys = scan(f, carry, xs, length=length, reverse=reverse)
    return list(c_out) + list(ys), [0] * n_carry + [1] * len(ys)


jvp_rules.update({cond_p: _cond_jvp, while_p: _while_jvp, scan_p: _scan_jvp})
vjp_rules.update({cond_p: _cond_vjp, while_p: _while_vjp, scan_p: _scan_vjp})
batch_rules.update({cond_p: _cond_batch, while_p: _while_batch, scan_p: _scan_batch})
