"""vmap as a graph rewrite, and the batching rules of every primitive.

`vmap(f)` calls f once on symbolic per-example leaves (shapes without the batch axis), then
rewrites the resulting graph forward onto the real batched inputs: each node that depends on the
leaves is rebuilt by its batching rule, every other node is kept as it is (so an outer grad still
walks through it).

  batch_rules[prim](args, dims, **params) -> (out, out_dim)      (lists for multiple results)

`dims[i]` is the batch axis of `args[i]`, or None when that argument is unbatched. Rules are
written with lax ops, so vmap composes with grad, jvp, jit and itself, and they move a batch axis
only when the primitive needs it somewhere else.

Named axes (`axis_name=`) live on a stack while f is traced, so collectives (`lax.psum`, ...)
can check their names; their batching rules reduce over the axis being rewritten.
"""
import functools
import threading

import numpy as np

from .. import lax
from ..core import graph
from ..core import primitives as P
from ..core.graph import proj_p, symbolic, toposort, trace_scope
from ..core.jaxpr import as_node, arg_names
from ..tree_util import tree_flatten, tree_leaves, tree_unflatten

__all__ = ["vmap", "batch_rules"]

batch_rules = {}


# --- named axes -------------------------------------------------------------------------------
class AxisFrame:
    """One vmap level: its axis name (or None) and size."""
    __slots__ = ("name", "size")

    def __init__(self, name, size):
        self.name, self.size = name, size


class _Env(threading.local):
    def __init__(self):
        self.frames = []      # vmaps whose functions are being traced, innermost last
        self.rewriting = []   # the vmap whose graph is being rewritten, innermost last


_env = _Env()


def axis_frame(name, what="psum"):
    """The innermost vmap binding `name`; NameError (as in JAX) when none does."""
    for fr in reversed(_env.frames):
        if fr.name == name:
            return fr
    bound = [fr.name for fr in _env.frames if fr.name is not None]
    raise NameError(f"unbound axis name: {name}. {what} can only name the axis of an enclosing "
                    f"vmap(..., axis_name=...); the bound axis names here are {bound}.")


def axis_env_key():
    """The named axes bound here, as a hashable key: a function traced once (jit) bakes in the
    sizes its collectives saw, so its cache must tell these environments apart."""
    frames = _env.frames
    if not frames:          # outside any vmap: every jit call asks, so this stays cheap
        return ()
    return tuple((fr.name, fr.size) for fr in frames if fr.name is not None)


def rewriting_frame():
    """The vmap level whose batching rules are running (for the collectives' rules)."""
    return _env.rewriting[-1]


# Collective primitives register themselves here (lax/collectives.py): a node of one of them that
# names the axis being rewritten is batched even if its operand is not.
COLLECTIVES = set()


# --- small helpers ----------------------------------------------------------------------------
def moveaxis(x, src, dst):
    if src == dst:
        return x
    perm = [i for i in range(x.ndim) if i != src]
    perm.insert(dst, src)
    return lax.transpose(x, perm)


def bdim_at_front(x, d, size):
    """x with its batch axis first; an unbatched x is broadcast along a new first axis."""
    if d is None:
        return lax.broadcast(x, (size,))
    return moveaxis(x, d, 0)


def broadcast_batched(x, size, axis):
    """Insert a batch axis of `size` at `axis` into an unbatched x."""
    shape = list(x.shape)
    shape.insert(axis, size)
    return lax.broadcast_in_dim(x, shape, [i for i in range(len(shape)) if i != axis])


def _full(axis, d):
    """A per-example axis in the coordinates of the batched array (batch axis at d)."""
    return axis if axis < d else axis + 1


def _size(args, dims):
    return next(a.shape[d] for a, d in zip(args, dims) if d is not None)


# --- elementwise ------------------------------------------------------------------------------
def _unary_rule(prim):
    return lambda args, dims, **params: (prim.bind(args[0], **params), dims[0])


def _nary_rule(prim):
    """Elementwise ops of several operands (binary ops, comparisons, select_n). Operands share a per-example shape or are rank 0
    per example. Unbatched rank-0 operands stay rank 0 (lax ops accept them next to arrays);
    every other operand is brought to the batched shape, keeping the batch axis where the first
    full-rank batched operand has it."""
    def rule(args, dims, **params):
        size = _size(args, dims)
        ranks = [a.ndim - (d is not None) for a, d in zip(args, dims)]
        rank = max(ranks)
        if rank == 0:
            return prim.bind(*args, **params), 0
        out_d = next((d for d, r in zip(dims, ranks) if d is not None and r == rank), 0)
        a, d = next((a, d) for a, d, r in zip(args, dims, ranks) if r == rank)
        shape = list(a.shape)
        if d is not None:
            shape.pop(d)
        full = list(shape)
        full.insert(out_d, size)
        new = []
        for a, d, r in zip(args, dims, ranks):
            if d is None:
                new.append(a if r == 0 else lax.broadcast_in_dim(a, full, [i for i in range(rank + 1) if i != out_d]))
            elif r == 0:
                new.append(lax.broadcast_in_dim(a, full, (out_d,)))
            else:
                new.append(moveaxis(a, d, out_d))
        return prim.bind(*new, **params), out_d
    return rule


for _p in (*P.GROUP.unary, P.convert_element_type_p, P.bitcast_convert_type_p):
    batch_rules[_p] = _unary_rule(_p)
for _p in P.GROUP.elementwise:
    batch_rules.setdefault(_p, _nary_rule(_p))
batch_rules[P.iota_p] = lambda args, dims, **params: (P.iota_p.bind(**params), None)
batch_rules[proj_p] = lambda args, dims, index: (args[0][index], dims[0][index])


# --- shape and movement -----------------------------------------------------------------------
def _broadcast_in_dim_rule(args, dims, shape, broadcast_dimensions):
    (x,), (d,) = args, dims
    bd = broadcast_dimensions
    # The batch axis lands just after the output axis of the operand axis before it, so the
    # broadcast dimensions stay sorted and nothing needs transposing.
    out_d = bd[d - 1] + 1 if d > 0 else 0
    new_bd = [b + (b >= out_d) for b in bd]
    new_bd.insert(d, out_d)
    new_shape = list(shape)
    new_shape.insert(out_d, x.shape[d])
    return lax.broadcast_in_dim(x, new_shape, new_bd), out_d


def _reshape_rule(args, dims, new_sizes):
    (x,), (d,) = args, dims
    x = moveaxis(x, d, 0)
    return P.reshape_p.bind(x, new_sizes=(x.shape[0],) + tuple(new_sizes)), 0


def _transpose_rule(args, dims, permutation):
    (x,), (d,) = args, dims
    perm = [_full(p, d) for p in permutation]
    perm.insert(d, d)
    return P.transpose_p.bind(x, permutation=tuple(perm)), d


def _rev_rule(args, dims, dimensions):
    (x,), (d,) = args, dims
    return P.rev_p.bind(x, dimensions=tuple(_full(a, d) for a in dimensions)), d


def _slice_rule(args, dims, start_indices, limit_indices, strides):
    (x,), (d,) = args, dims
    ins = lambda t, v: tuple(t[:d]) + (v,) + tuple(t[d:])
    strides = None if strides is None else ins(strides, 1)
    return P.slice_p.bind(x, start_indices=ins(start_indices, 0), limit_indices=ins(limit_indices, x.shape[d]),
                          strides=strides), d


def _pad_rule(args, dims, padding_config):
    (x, v), (d, dv) = args, dims
    if dv is None:
        cfg = list(padding_config)
        cfg.insert(d, (0, 0, 0))
        return P.pad_p.bind(x, v, padding_config=tuple(cfg)), d
    # A per-example padding value: pad with anything, then select the padding positions by a
    # mask padded the same way.
    size = x.shape[d] if d is not None else v.shape[0]
    x = bdim_at_front(x, d, size)
    cfg = ((0, 0, 0),) + tuple(padding_config)
    padded = P.pad_p.bind(x, lax.full((), 0, x.dtype), padding_config=cfg)
    mask = P.pad_p.bind(lax.full(x.shape[1:], True, np.bool_), lax.full((), False, np.bool_),
                        padding_config=tuple(padding_config))
    mask = lax.broadcast_in_dim(mask, padded.shape, tuple(range(1, padded.ndim)))
    vb = lax.broadcast_in_dim(v, padded.shape, (0,))
    return lax.select(mask, padded, vb), 0


def _concatenate_rule(args, dims, dimension):
    size = _size(args, dims)
    return P.concatenate_p.bind(*[bdim_at_front(a, d, size) for a, d in zip(args, dims)],
                                dimension=dimension + 1), 0


batch_rules.update({
    P.broadcast_in_dim_p: _broadcast_in_dim_rule, P.reshape_p: _reshape_rule,
    P.transpose_p: _transpose_rule, P.rev_p: _rev_rule, P.slice_p: _slice_rule,
    P.pad_p: _pad_rule, P.concatenate_p: _concatenate_rule,
})


# --- dynamic slicing, gather and scatter ------------------------------------------------------
def _window_indices(starts, sdims, window, dim_sizes, size, with_batch):
    """Index vectors for every element of a window of shape `window` per example, starting at
    the clamped per-example `starts` (as dynamic_slice clamps), shaped (B,) + window + (k,);
    with `with_batch` the first column is the example's own index."""
    full = (size,) + tuple(window)
    cols = [lax.broadcasted_iota(starts[0].dtype if starts else np.int32, full + (1,), 0)] if with_batch else []
    for j, (s, d) in enumerate(zip(starts, sdims)):
        s = lax.clamp(lax.full((), 0, s.dtype), s, lax.full((), dim_sizes[j] - window[j], s.dtype))
        s = lax.broadcast_in_dim(s, full + (1,), (0,) if d is not None else ())
        cols.append(lax.add(s, lax.broadcasted_iota(s.dtype, full + (1,), j + 1)))
    return lax.concatenate(cols, len(full))


def _dynamic_slice_rule(args, dims, slice_sizes):
    (x, *idx), (d, *idims) = args, dims
    if all(i is None for i in idims):
        starts = list(idx)
        starts.insert(d, lax.full((), 0, idx[0].dtype if idx else np.int32))
        sizes = list(slice_sizes)
        sizes.insert(d, x.shape[d])
        return P.dynamic_slice_p.bind(x, *starts, slice_sizes=tuple(sizes)), d
    # Per-example start indices: gather every element of each example's window.
    size = _size(args, dims)
    per_shape = x.shape if d is None else x.shape[:d] + x.shape[d + 1:]
    if d is not None:
        x = moveaxis(x, d, 0)
    ind = _window_indices(idx, idims, slice_sizes, per_shape, size, d is not None)
    axes = tuple(range(x.ndim))
    return P.gather_p.bind(x, ind, axes=axes, mode="clip", fill_value=None), 0


def _dynamic_update_slice_rule(args, dims):
    (x, u, *idx), (dx, du, *idims) = args, dims
    size = _size(args, dims)
    x, u = bdim_at_front(x, dx, size), bdim_at_front(u, du, size)
    if all(i is None for i in idims):
        zero = lax.full((), 0, idx[0].dtype if idx else np.int32)
        return P.dynamic_update_slice_p.bind(x, u, zero, *idx), 0
    ind = _window_indices(idx, idims, u.shape[1:], x.shape[1:], size, True)
    return P.scatter_p.bind(x, ind, u, axes=tuple(range(x.ndim)), mode="set"), 0


def _with_batch_column(idx, size):
    """Indices batched at 0 with the example's own index prepended to each index vector."""
    col = lax.broadcasted_iota(idx.dtype, idx.shape[:-1] + (1,), 0)
    return lax.concatenate([col, idx], idx.ndim - 1)


def _gather_rule(args, dims, axes, mode, fill_value=None):
    (x, idx), (dx, di) = args, dims
    if di is None:
        # The batch axis of the operand is one of its un-indexed axes.
        axes_f = tuple(_full(a, dx) for a in axes)
        out_d = idx.ndim - 1 + sum(1 for i in range(dx) if i not in axes_f)
        return P.gather_p.bind(x, idx, axes=axes_f, mode=mode, fill_value=fill_value), out_d
    if dx is None:
        if di == idx.ndim - 1:       # the batch axis must not sit after the index-vector axis
            idx, di = moveaxis(idx, di, 0), 0
        return P.gather_p.bind(x, idx, axes=axes, mode=mode, fill_value=fill_value), di
    size = x.shape[dx]
    x, idx = moveaxis(x, dx, 0), _with_batch_column(moveaxis(idx, di, 0), size)
    return P.gather_p.bind(x, idx, axes=(0,) + tuple(a + 1 for a in axes), mode=mode, fill_value=fill_value), 0


def _scatter_rule(args, dims, axes, mode):
    (x, idx, u), (dx, di, du) = args, dims
    size = _size(args, dims)
    x = bdim_at_front(x, dx, size)
    axes_f = tuple(a + 1 for a in axes)
    if di is None:
        # The batch axis is the first un-indexed operand axis: in the updates it follows the
        # index batch dimensions.
        lead = idx.ndim - 1
        u = moveaxis(u, du, lead) if du is not None else broadcast_batched(u, size, lead)
        return P.scatter_p.bind(x, idx, u, axes=axes_f, mode=mode), 0
    idx = _with_batch_column(moveaxis(idx, di, 0), size)
    u = bdim_at_front(u, du, size)
    return P.scatter_p.bind(x, idx, u, axes=(0,) + axes_f, mode=mode), 0


batch_rules.update({
    P.dynamic_slice_p: _dynamic_slice_rule, P.dynamic_update_slice_p: _dynamic_update_slice_rule,
    P.gather_p: _gather_rule, P.scatter_p: _scatter_rule,
})


# --- reductions, scans, sorting ---------------------------------------------------------------
def _reduce_rule(prim):
    def rule(args, dims, axes, **params):
        (x,), (d,) = args, dims
        axes_f = tuple(_full(a, d) for a in axes)
        return prim.bind(x, axes=axes_f, **params), d - sum(1 for a in axes_f if a < d)
    return rule


def _axis_param_rule(prim, key):
    def rule(args, dims, **params):
        (x,), (d,) = args, dims
        params[key] = _full(params[key], d)
        return prim.bind(x, **params), d
    return rule


for _p in (*P.GROUP.reduce, P.argmax_p, P.argmin_p):
    batch_rules[_p] = _reduce_rule(_p)
for _p in P.CUMULATIVE.values():
    batch_rules[_p] = _axis_param_rule(_p, "axis")
batch_rules[P.sort_p] = _axis_param_rule(P.sort_p, "dimension")
batch_rules[P.argsort_p] = _axis_param_rule(P.argsort_p, "dimension")


# --- dot_general ------------------------------------------------------------------------------
def _dot_general_rule(args, dims, dimension_numbers, **params):
    """Always one dot_general: a batch axis on both sides becomes a dot batch dimension, on one
    side a free dimension (so `vmap(lambda v: m @ v)` is a single matrix-matrix product)."""
    (l, r), (dl, dr) = args, dims
    (lc, rc), (lb, rb) = dimension_numbers
    if dl is not None and dr is not None:
        dn = ((tuple(_full(a, dl) for a in lc), tuple(_full(a, dr) for a in rc)),
              ((dl,) + tuple(_full(a, dl) for a in lb), (dr,) + tuple(_full(a, dr) for a in rb)))
        return P.dot_general_p.bind(l, r, dimension_numbers=dn, **params), 0
    if dl is not None:
        lc, lb = tuple(_full(a, dl) for a in lc), tuple(_full(a, dl) for a in lb)
        out_d = len(lb) + sum(1 for i in range(dl) if i not in lc and i not in lb)
    else:
        rc, rb = tuple(_full(a, dr) for a in rc), tuple(_full(a, dr) for a in rb)
        lfree = l.ndim - len(lc) - len(lb)
        out_d = len(rb) + lfree + sum(1 for i in range(dr) if i not in rc and i not in rb)
    return P.dot_general_p.bind(l, r, dimension_numbers=((lc, rc), (lb, rb)), **params), out_d


batch_rules[P.dot_general_p] = _dot_general_rule


# --- custom derivative calls ------------------------------------------------------------------
def _static_axes(static, dyn_axes):
    """in_axes for all of a custom function's arguments: None at the static positions."""
    pos = {i for i, _ in static.items}
    it = iter(dyn_axes)
    return tuple(None if i in pos else next(it) for i in range(len(pos) + len(dyn_axes)))


def _custom_rule(prim):
    """The call is rebound on batched operands with the user's function and rules wrapped in
    vmap, so derivatives of the batched graph still use the user's rules."""
    def rule(args, dims, num_outs, in_tree, out_tree, static, fun, **params):
        size = _size(args, dims)
        n = len(args) - num_outs
        xdims = list(dims[:n])
        outs = [bdim_at_front(a, d, size) for a, d in zip(args[n:], dims[n:])]
        dyn_axes = tuple(tree_unflatten(in_tree, xdims))
        full_axes = _static_axes(static, dyn_axes)
        new = dict(params, fun=_vmapped(fun, full_axes, size))
        if prim is P.custom_jvp_call_p:
            if params.get("jvp") is not None:
                jvp = params["jvp"]
                new["jvp"] = lambda *a: vmap(lambda p, t: jvp(*a[:-2], p, t), in_axes=(dyn_axes, dyn_axes),
                                             axis_size=size)(a[-2], a[-1])
        else:
            fwd, bwd = params["fwd"], params["bwd"]
            new["fwd"] = _vmapped(fwd, full_axes, size)
            new["bwd"] = lambda *a: _batched_bwd(bwd, a[:-2], a[-2], a[-1], in_tree, xdims, size)
        res = prim.bind(*args[:n], *outs, num_outs=num_outs, in_tree=in_tree, out_tree=out_tree,
                        static=static, **new)
        return res, [0] * num_outs
    return rule


def _vmapped(f, in_axes, size):
    g = vmap(f, in_axes=in_axes, axis_size=size)
    g.__name__ = f"vmap({getattr(f, '__name__', 'fun')})"
    return g


def _batched_bwd(bwd, static_vals, res, g, in_tree, xdims, size):
    cts = vmap(lambda r, c: bwd(*static_vals, r, c), axis_size=size)(res, g)
    if not isinstance(cts, (tuple, list)):
        return cts          # custom.py reports the malformed result
    out = []
    it = iter(xdims)
    for sub, ct in zip(in_tree.children(), cts):
        ds = [next(it) for _ in range(sub.num_leaves)]
        if ct is None:
            out.append(None)
            continue
        leaves = sub.flatten_up_to(ct)
        # An unbatched input received the cotangents of every example: sum them.
        fixed = [None if c is None else (lax.reduce_sum(as_node(c), (0,)) if d is None else moveaxis(as_node(c), 0, d))
                 for c, d in zip(leaves, ds)]
        out.append(tree_unflatten(sub, fixed))
    return tuple(out)


batch_rules[P.custom_jvp_call_p] = _custom_rule(P.custom_jvp_call_p)
batch_rules[P.custom_vjp_call_p] = _custom_rule(P.custom_vjp_call_p)


# --- the rewrite ------------------------------------------------------------------------------
def batch_graph(leaves, values, dims, outs, frame, first_id):
    """Rewrite the graph from `leaves` to `outs` onto batched `values` (batch axes `dims`).
    Returns [(value, dim)] for `outs`; dim None means unbatched."""
    env = {x.id: (v, d) for x, v, d in zip(leaves, values, dims)}
    name = frame.name

    def stop(n):
        # Nothing created before the trace, and nothing free of symbolic inputs, can depend on
        # this level's leaves.
        return n.id in env or n.id < first_id or n.sym is None

    _env.rewriting.append(frame)
    try:
        for node in toposort(outs, stop=stop):
            if stop(node) or node.prim is None:
                continue
            ins = [env.get(x.id) for x in node.inputs]
            mine = node.prim in COLLECTIVES and name is not None and name in node.params["axis_name"]
            if all(e is None for e in ins) and not mine:
                continue
            args = [e[0] if e is not None else x for e, x in zip(ins, node.inputs)]
            bdims = [e[1] if e is not None else None for e in ins]
            if all(d is None for d in bdims) and not mine:
                # Only replaced, unbatched inputs (a collective's result): rebuild as it was.
                out = node.prim.bind(*args, **(node.params or {}))
                env[node.id] = (out, [None] * len(out) if node.prim.multiple_results else None)
                continue
            rule = batch_rules.get(node.prim)
            if rule is None:
                raise NotImplementedError(f"Batching rule for '{node.prim.name}' not implemented (vmap)")
            env[node.id] = rule(args, bdims, **(node.params or {}))
    finally:
        _env.rewriting.pop()
    return [env.get(o.id, (o, None)) for o in outs]


# --- vmap -------------------------------------------------------------------------------------
def _is_axis(a):
    return a is None or (isinstance(a, (int, np.integer)) and not isinstance(a, bool))


def _check_spec(spec, what):
    leaves = tree_leaves(spec)
    if not all(_is_axis(a) for a in leaves):
        raise TypeError(f"vmap {what} must be an int, None, or (nested) container with those types as leaves, "
                        f"but got {spec}.")


def _prefix_flatten(spec, tree, what):
    """Spread an axis spec (a pytree prefix of `tree`, None leaves allowed) to tree's leaves."""
    spec_leaves, spec_def = tree_flatten(spec, is_leaf=lambda a: a is None)
    try:
        subtrees = spec_def.flatten_up_to(tree)
    except ValueError as e:
        raise ValueError(f"vmap {what} specification must be a tree prefix of the corresponding value; {e}") from None
    out = []
    for a, sub in zip(spec_leaves, subtrees):
        out += [a] * len(tree_flatten(sub)[0])
    return out


def _leaf_names(args, kwargs, names):
    """A readable name per flat leaf of (args, kwargs): the parameter name plus a path."""
    out = []
    for nm, a in zip(names, args):
        k = len(tree_flatten(a)[0])
        out += [nm] if k == 1 and not isinstance(a, (tuple, list, dict)) else [f"{nm}[{i}]" for i in range(k)]
    for key in sorted(kwargs):
        k = len(tree_flatten(kwargs[key])[0])
        out += [key] * k
    return out


def _tname(aval):
    return f"{aval.dtype.name}[{','.join(map(str, aval.shape))}]"


def vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None, spmd_axis_name=None):
    """Vectorize `fun` over a batch axis of its arguments.

    `in_axes` (an int, None, or a tuple over the positional arguments whose entries are pytree
    prefixes of them) says which axis of each argument is mapped (None: not mapped; keyword
    arguments are mapped over axis 0). `out_axes` says where the batch axis goes in each output.
    `axis_name` names the axis for collectives such as `lax.psum`.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.vmap(lambda v: jnp.dot(v, v))(jnp.arange(6.0).reshape(2, 3))
    Array([ 5., 50.], dtype=float32)
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (in_axes is None or _is_axis(in_axes) or isinstance(in_axes, tuple)):
        raise TypeError("vmap in_axes must be an int, None, or a tuple of entries corresponding to the positional "
                        f"arguments passed to the function, but got {in_axes}.")
    _check_spec(in_axes, "in_axes")
    _check_spec(out_axes, "out_axes")
    if axis_size is not None and (not isinstance(axis_size, (int, np.integer)) or axis_size < 0):
        raise TypeError(f"vmap axis_size must be a non-negative int, got {axis_size!r}")

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        fname = getattr(fun, "__name__", "fun")
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError("vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
                             f"positional arguments passed to the function, but got len(in_axes)={len(in_axes)}, "
                             f"len(args)={len(args)}")
        flat, in_tree = tree_flatten((args, kwargs))
        if not flat and axis_size is None:
            raise ValueError("vmap wrapped function must be passed at least one argument containing an array or "
                             f"axis_size must be specified, got empty *args={args} and **kwargs={kwargs}")
        spec = (in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args), {k: 0 for k in kwargs})
        axes = _prefix_flatten(spec, (args, kwargs), "in_axes")
        names = _leaf_names(args, kwargs, arg_names(fun, len(args)))
        if all(a is None for a in axes) and axis_size is None:
            raise ValueError("vmap must have at least one non-None value in in_axes or axis_size must be specified")
        mapped = []           # (flat index, node, normalized axis)
        for i, (x, a) in enumerate(zip(flat, axes)):
            if a is None:
                continue
            node = as_node(x)
            if not -node.ndim <= a < node.ndim:
                raise ValueError(f"vmap was requested to map its argument along axis {a}, which implies that its "
                                 f"rank should be at least {a + 1 if a >= 0 else -a}, but is only {node.ndim} "
                                 f"(its shape is {node.shape})")
            mapped.append((i, node, a % node.ndim))
        sizes = {n.shape[a] for _, n, a in mapped}
        if axis_size is not None:
            sizes.add(int(axis_size))
        if len(sizes) > 1:
            lines = [f"  * the `axis_size` argument was {axis_size};"] if axis_size is not None else []
            lines += [f"  * one axis had size {n.shape[a]}: axis {a} of argument {names[i]} of type {_tname(n.aval)};"
                      for i, n, a in mapped]
            lines[-1] = lines[-1][:-1]
            raise ValueError("vmap got inconsistent sizes for array axes to be mapped:\n" + "\n".join(lines))
        size = sizes.pop()
        first_id = next(graph._ids)
        leaves = []
        per_example = list(flat)
        for i, n, a in mapped:
            aval = n.aval.update(shape=n.shape[:a] + n.shape[a + 1:])
            leaf = symbolic(aval, f"the argument '{names[i]}' of {fname} traced for vmap")
            leaves.append(leaf)
            per_example[i] = leaf
        a_ex, k_ex = tree_unflatten(in_tree, per_example)
        frame = AxisFrame(axis_name, size)
        _env.frames.append(frame)
        try:
            with trace_scope():
                out = fun(*a_ex, **k_ex)
        finally:
            _env.frames.pop()
        out_flat, out_tree = tree_flatten(out)
        out_nodes = [as_node(o) for o in out_flat]
        oaxes = _prefix_flatten(out_axes, out, "out_axes")
        res = batch_graph(leaves, [n for _, n, _ in mapped], [a for _, _, a in mapped], out_nodes, frame, first_id)
        final = []
        for (v, d), oa, o in zip(res, oaxes, out_nodes):
            if oa is None:
                if d is not None:
                    raise ValueError(f"at vmap out_axes, got axis spec None but output was batched on axis {d}")
                final.append(v)
                continue
            nd = o.ndim + 1
            if not -nd <= oa < nd:
                raise ValueError(f"axis {oa} is out of bounds for array of dimension {nd}")
            oa %= nd
            final.append(broadcast_batched(v, size, oa) if d is None else moveaxis(v, d, oa))
        return tree_unflatten(out_tree, final)

    return batched
