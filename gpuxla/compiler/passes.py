"""Compiler passes: graph -> graph rewrites that jit runs between tracing and the backend.

A pass is `pass(outs, in_leaves, start=None) -> outs`: it returns new output nodes; the nodes it
did not change are shared with the input graph. Only the nodes of the traced function are
rewritten: the walk stops at `in_leaves`, at leaves, and at nodes older than the trace (`start`,
by default the oldest input leaf's id). Those older nodes may belong to an outer grad or vmap that
still has to walk through them, so they are read, never replaced.

Two lists:
  OPTIMIZE  semantics-preserving for values AND derivatives; jit inlines this graph under outer
            grad/vmap, so stop_gradient and custom-derivative calls stay.
  FINAL     what only execution needs: identities that matter for derivatives are dropped.

>>> run_passes(OPTIMIZE, outs, in_leaves)        # doctest: +SKIP
"""
import numpy as np

from ..core import dtypes, graph
from ..core import primitives as P
from ..core.graph import Array, constant, lineage, proj_p, shape_rules
from ..core.program import params_key
from ..core import trace as _trace
from ..core.trace import Traced, substitute
from ..core.extensions import COLLECTIVES
from .cexpr import supported_dtype

# Constant folding never materialises more than this many elements out of fewer (a broadcast
# scalar is cheaper to keep as a broadcast than as a dense buffer).
FOLD_MAX = 16
# Constants up to this size are compared by value (for CSE and identity detection).
VALUE_MAX = 1024


# --- helpers --------------------------------------------------------------------------------
def is_const(n):
    """A concrete leaf: its value is known and no transformation can see through it."""
    return n.prim is None and n._buf is not None


def host_value(n):
    return np.asarray(graph.runtime.to_numpy(n._buf))


def uniform_value(n):
    """The single value of a constant (or a broadcast of one) whose elements are all equal, as a
    NumPy scalar; None otherwise."""
    while n.prim is P.broadcast_in_dim_p or n.prim is P.reshape_p:
        n = n.inputs[0]
    if not is_const(n) or n.aval.size == 0 or n.aval.size > VALUE_MAX:
        return None
    v = host_value(n).reshape(-1)
    first = v[0]
    if v.size > 1 and not np.all(v == first):
        if v.dtype.kind not in "fc" or not np.all(np.isnan(v)):
            return None
    return first


def _is(n, value):
    v = uniform_value(n)
    return v is not None and n.dtype.kind != "b" and v == value


def make_node(prim, params, inputs, aval=None):
    """A new node, as `bind` makes it, minus realization and multiple-results projection."""
    if aval is None:
        aval = shape_rules[prim]([x.aval for x in inputs], **(params or {}))
    node = Array(prim, params, tuple(inputs), aval)
    node.sym, node.depth = lineage(prim, params, inputs)
    return node


def start_of(in_leaves, start=None):
    if start is not None:
        return start
    return min((x.id for x in in_leaves), default=0)


def trace_nodes(outs, in_leaves, start=None):
    """The nodes a pass may rewrite, inputs before consumers."""
    return _trace.trace_nodes(Traced(in_leaves, outs, start_of(in_leaves, start)))


def rewrite(outs, in_leaves, visit, start=None):
    """Walk the trace's nodes in order; `visit(node, ins)` gets a node and its rewritten inputs
    and returns its replacement (`rebuild(node, ins)` when nothing applies)."""
    return substitute(Traced(in_leaves, outs, start_of(in_leaves, start)), in_leaves, visit=visit)


def rebuild(n, ins):
    """`n` itself when its inputs are unchanged, else a copy of it on `ins`."""
    if all(a is b for a, b in zip(ins, n.inputs)):
        return n
    return make_node(n.prim, n.params, ins, n.aval)


def fits(n, x):
    """`x` standing for `n` when it has n's aval (a rank-0 x is broadcast), else None: a rewrite
    must never change a shape, dtype or weak type."""
    if x.aval == n.aval:
        return x
    if x.aval.shape == () and x.dtype == n.dtype and x.weak_type == n.weak_type and not isinstance(n.aval, tuple):
        return make_node(P.broadcast_in_dim_p, dict(shape=n.aval.shape, broadcast_dimensions=()), (x,))
    return None


# --- fold_constants -------------------------------------------------------------------------
def fold_constants(outs, in_leaves, start=None):
    """Compute nodes whose inputs are all constants, with the NumPy reference implementations.
    Small results only: folding `broadcast_in_dim(1.0, (1000, 1000))` would trade an index
    computation for a megabyte of constant memory."""
    impl_rules = graph.runtime.reference_rules

    def visit(n, ins):
        # (a collective over a named axis has no value of its own: psum(1, 'i') is the axis size)
        if n.prim.multiple_results or n.prim is proj_p or n.prim not in impl_rules \
                or n.prim in COLLECTIVES or not all(is_const(x) for x in ins):
            return rebuild(n, ins)
        size = n.aval.size
        if size > FOLD_MAX and (not ins or size > max(x.aval.size for x in ins)):
            return rebuild(n, ins)
        with np.errstate(all="ignore"):
            v = np.asarray(impl_rules[n.prim](*[host_value(x) for x in ins], **(n.params or {})))
        if v.shape != n.aval.shape or v.dtype != n.aval.dtype:
            v = np.broadcast_to(v, n.aval.shape).astype(n.aval.dtype)
        return constant(np.array(v, order="C"), weak_type=n.aval.weak_type)
    return rewrite(outs, in_leaves, visit, start)


# --- simplify: algebraic identities ---------------------------------------------------------
def _compose_transpose(n, x):
    (y,) = x.inputs
    perm = tuple(x.params["permutation"][q] for q in n.params["permutation"])
    if perm == tuple(range(len(perm))):
        return y
    return make_node(P.transpose_p, dict(permutation=perm), (y,))


def _compose_broadcast(n, x):
    (y,) = x.inputs
    dims = tuple(n.params["broadcast_dimensions"][d] for d in x.params["broadcast_dimensions"])
    return make_node(P.broadcast_in_dim_p, dict(shape=n.params["shape"], broadcast_dimensions=dims), (y,))


def _identity_if(cond):
    return lambda n, x, **params: x if cond(n, x, **params) else None


def _unit(value):
    """x op u -> x and u op x -> x for the unit `value` of a commutative op."""
    def rule(n, x, y):
        if _is(y, value):
            return fits(n, x)
        return fits(n, y) if _is(x, value) else None
    return rule


def _mul(n, x, y):
    r = _unit(1)(n, x, y)
    if r is None and dtypes.is_inexact(n.dtype):     # x * -1 is exactly -x (not for unsigned ints)
        r = _neg_of(n, x) if _is(y, -1) else (_neg_of(n, y) if _is(x, -1) else None)
    return r


def _neg_of(n, x):
    if x.aval != n.aval:
        return None
    return x.inputs[0] if x.prim is P.neg_p else make_node(P.neg_p, None, (x,))


def _select_n(n, which, *cases):
    if all(c is cases[0] for c in cases):
        return fits(n, cases[0])
    w = uniform_value(which)
    if w is not None and 0 <= int(w) < len(cases):
        return fits(n, cases[int(w)])
    return None


# rule(node, *rewritten inputs, **params) -> replacement node, or None when it does not apply.
# x + 0 drops the sign of a -0.0 input's zero (as XLA's simplifier does); everything else is exact.
SIMPLIFY = {
    P.wrap_p: lambda n, x: x,   # a finished transformation's leaf marker is the identity
    P.neg_p: lambda n, x: x.inputs[0] if x.prim is P.neg_p else None,
    P.add_p: _unit(0),
    P.sub_p: lambda n, x, y: fits(n, x) if _is(y, 0) else None,
    P.mul_p: _mul,
    P.div_p: lambda n, x, y: fits(n, x) if _is(y, 1) else None,
    P.integer_pow_p: lambda n, x, y: x if y == 1 else None,
    P.select_n_p: _select_n,
    P.convert_element_type_p: lambda n, x, new_dtype, weak_type=False: x if x.aval == n.aval else None,
    P.transpose_p: lambda n, x, permutation: x if tuple(permutation) == tuple(range(x.ndim)) else (
        _compose_transpose(n, x) if x.prim is P.transpose_p else None),
    P.reshape_p: lambda n, x, new_sizes: x if x.shape == n.shape else (
        make_node(P.reshape_p, dict(new_sizes=n.shape), x.inputs) if x.prim is P.reshape_p else None),
    P.broadcast_in_dim_p: lambda n, x, shape, broadcast_dimensions: x if x.shape == n.shape else (
        _compose_broadcast(n, x) if x.prim is P.broadcast_in_dim_p else None),
    P.slice_p: _identity_if(lambda n, x, **_: x.shape == n.shape),
    P.rev_p: _identity_if(lambda n, x, dimensions: not any(x.shape[d] > 1 for d in dimensions)),
    P.pad_p: lambda n, x, v, padding_config: x if all(c == (0, 0, 0) for c in map(tuple, padding_config)) else None,
    P.concatenate_p: lambda n, *xs, dimension: xs[0] if len(xs) == 1 else None,
    P.dynamic_slice_p: lambda n, x, *idx, slice_sizes: x if tuple(slice_sizes) == x.shape else None,
    **{p: (lambda n, x, axes: x if not axes else None) for p in P.GROUP.reduce},
}


def _scalar_operands(n, ins):
    """An elementwise operand that is a broadcast scalar (or a constant of equal elements) is
    replaced by the scalar itself: rank-0 operands meet arrays of any shape, and a kernel then
    reads one value instead of a whole array."""
    if n.aval.shape == () or not any(x.aval.shape == n.aval.shape for x in ins):
        return ins
    out = list(ins)
    full = [i for i, x in enumerate(ins) if x.aval.shape == n.aval.shape]
    for i, x in enumerate(ins):
        if x.aval.shape == () or (len(full) == 1 and full[0] == i):
            continue
        src = x.inputs[0].aval if x.prim is P.broadcast_in_dim_p else None
        if src is not None and src.shape == () and src.weak_type == x.weak_type:
            out[i] = x.inputs[0]
        elif is_const(x) and x.aval.size <= VALUE_MAX and (v := uniform_value(x)) is not None:
            out[i] = constant(np.asarray(v, x.dtype), weak_type=x.weak_type)
        else:
            continue
        full = [j for j, y in enumerate(out) if y.aval.shape == n.aval.shape]
        if not full:      # keep one operand that carries the shape
            out[i] = ins[i]
            full = [i]
    return tuple(out)


def _by_rules(table, outs, in_leaves, start, scalars=False):
    """A rewrite by a rule table (primitive -> rule(node, *inputs, **params) -> a replacement or
    None), with elementwise ops' scalar operands made scalars first when `scalars`."""
    def visit(n, ins):
        if scalars and n.prim.elementwise:
            ins = _scalar_operands(n, ins)
        rule = table.get(n.prim)
        if rule is not None:
            r = rule(n, *ins, **(n.params or {}))
            if r is not None and (r := fits(n, r)) is not None:
                return r
        return rebuild(n, ins)
    return rewrite(outs, in_leaves, visit, start)


def simplify(outs, in_leaves, start=None):
    """Algebraic identities (`SIMPLIFY`, one rule per primitive) and scalar operands for
    elementwise ops."""
    return _by_rules(SIMPLIFY, outs, in_leaves, start, scalars=True)


# --- cse ------------------------------------------------------------------------------------
def cse(outs, in_leaves, start=None):
    """Common-subexpression elimination: one node per (primitive, params, inputs); small
    constants are merged by value first, so `div(1.0, x)` written twice becomes one node."""
    table, consts = {}, {}

    def canon(x):
        if not is_const(x) or x.aval.size > VALUE_MAX:
            return x
        v = host_value(x)
        return consts.setdefault((x.aval.key(), v.tobytes()), x)

    def visit(n, ins):
        m = rebuild(n, tuple(canon(x) for x in ins))
        try:
            key = (m.prim, params_key(m.params), tuple(x.id for x in m.inputs))
            hash(key)
        except TypeError:       # unhashable params: leave the node alone
            return m
        other = table.setdefault(key, m)
        return other if other.aval == m.aval else m
    new = rewrite(outs, in_leaves, visit, start)
    return [canon(o) for o in new]


# --- dce ------------------------------------------------------------------------------------
def dce(outs, in_leaves, start=None):
    """Dead-code elimination. A node graph holds only what its outputs reach, so nodes nothing
    uses (the forward `sum` of a gradient, the arguments of a removed custom call) are simply
    never walked again. What remains dead is work feeding a node that already has its value: a
    node realized while the function was traced keeps its inputs (transformations may walk
    through them), and if nothing outside the trace feeds it, it becomes a constant leaf."""
    lo = start_of(in_leaves, start)
    order = trace_nodes(outs, in_leaves, start)
    # ids of trace nodes fed by the inputs or by nodes older than the trace: cutting those could
    # hide them from a transformation that still has to walk through them.
    outer = {x.id for x in in_leaves}
    for n in order:
        if any(x.id in outer or (x.id < lo and not is_const(x)) for x in n.inputs):
            outer.add(n.id)

    def visit(n, ins):
        if n._buf is not None and n.id not in outer:
            return Array(None, None, (), n.aval, buf=n._buf)
        return rebuild(n, ins)
    return rewrite(outs, in_leaves, visit, start)


# --- lowering-only ----------------------------------------------------------------------------
def strip_identities(outs, in_leaves, start=None):
    """Drop what only derivatives need: stop_gradient is the identity on values, and a
    custom-derivative call is the identity on its trailing inputs (the function's results)."""
    calls = (P.custom_jvp_call_p, P.custom_vjp_call_p)

    def visit(n, ins):
        if n.prim.marker:
            return ins[0]
        if n.prim is proj_p and ins[0].prim in calls:
            call = ins[0]
            k = len(call.inputs) - call.params["num_outs"] + n.params["index"]
            return call.inputs[k]
        return rebuild(n, ins)
    return rewrite(outs, in_leaves, visit, start)


def _dot_as_product(n, lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """dot_general that contracts nothing (or only dimensions of size 1) as the elementwise
    product of its operands broadcast to the result: out[b, i, j] = lhs[b, i] * rhs[b, j].

    A library call computes that outer product with a k = 1 GEMM (NumPy's matmul took 8 ms for
    the MLP's 16 x 784 x 512 per-example weight gradients, its own loop rather than BLAS) and
    writes it in dot_general's (batch, lhs-free, rhs-free) order, so the `transpose` a gradient
    puts after it is one more pass over the result. As a product the transpose and what reads
    the result fuse into one loop kernel that writes the final layout once. The bits are the
    library's: one product per element, computed in the dtype the reference computes in
    (dtypes.dot_compute_dtype: 16-bit floats in float32, logical and for bool) and converted to
    the result's. (XLA's algebraic simplifier turns such dots into multiplies too.)

    Only in dtypes kernels compute in (cexpr.supported_dtype): a complex product would be four
    unfused library calls, each writing the whole result (complex64 16 x 512 x 784 on the cpu
    platform: 20 ms as one k = 1 matmul, 74 ms expanded)."""
    (lc, rc), (lb, rb) = dimension_numbers
    if any(lhs.shape[d] != 1 for d in lc) or n.aval.size == 0:
        return None
    nb, out_shape = len(lb), n.aval.shape
    compute = dtypes.dot_compute_dtype(lhs.dtype, preferred_element_type)
    if not (supported_dtype(compute) and supported_dtype(lhs.dtype) and supported_dtype(n.dtype)):
        return None
    sides = []
    for x, c, b, before in ((lhs, lc, lb, 0), (rhs, rc, rb, lhs.ndim - len(lc) - nb)):
        free = [d for d in range(x.ndim) if d not in c and d not in b]
        order = list(b) + free + list(c)    # (contracted dims last: size 1, reshaped away)
        if order != list(range(x.ndim)):
            x = make_node(P.transpose_p, dict(permutation=tuple(order)), (x,))
        if c:
            x = make_node(P.reshape_p, dict(new_sizes=x.shape[:x.ndim - len(c)]), (x,))
        if x.dtype != compute:
            x = make_node(P.convert_element_type_p, dict(new_dtype=compute, weak_type=False), (x,))
        dims = tuple(range(nb)) + tuple(nb + before + k for k in range(len(free)))
        sides.append(make_node(P.broadcast_in_dim_p, dict(shape=out_shape, broadcast_dimensions=dims), (x,)))
    out = make_node(P.and_p if compute == np.bool_ else P.mul_p, None, sides)
    if out.aval != n.aval:
        out = make_node(P.convert_element_type_p, dict(new_dtype=n.dtype, weak_type=n.aval.weak_type), (out,))
    return out


# Rewrites for execution only: a transformation still sees the primitive (dot_general's VJP and
# batching rules make dot_generals, which a contraction needs), the backends get the expansion.
EXPAND = {
    P.dot_general_p: _dot_as_product,
}


def expand(outs, in_leaves, start=None):
    """Primitives whose execution is better spelled in other primitives (`EXPAND`)."""
    return _by_rules(EXPAND, outs, in_leaves, start)


OPTIMIZE = [("fold_constants", fold_constants), ("simplify", simplify), ("cse", cse), ("dce", dce)]
FINAL = [("strip_identities", strip_identities), ("expand", expand), ("simplify", simplify), ("cse", cse),
         ("dce", dce)]


def run_passes(passes, outs, in_leaves, start=None, max_rounds=4, on_pass=None):
    """Run `passes` in order, repeating the list until nothing changes (at most `max_rounds`
    times). `on_pass(name, outs)` sees the graph after each pass that changed it."""
    for _ in range(max_rounds):
        changed = False
        for name, fn in passes:
            new = fn(outs, in_leaves, start=start)
            if any(a is not b for a, b in zip(new, outs)):
                changed = True
                outs = new
                if on_pass is not None:
                    on_pass(name, outs)
        if not changed:
            break
    return outs


def count_nodes(outs, in_leaves, start=None):
    """How many equations the trace's part of the graph has (a pass's effect, for tests)."""
    return len(trace_nodes(outs, in_leaves, start))
