"""Batching rows of the core primitives (core/primitives.py), written with lax ops; the table,
its helpers and the vmap walker are in batching.py."""
import numpy as np

from .. import lax
from ..core import primitives as P
from ..core.graph import proj_p
from ..core.trace import as_node
from ..tree_util import tree_map, tree_unflatten
from .batching import (batch_rules, batch_size, bdim_at_front, broadcast_batched, defbroadcasting, defvectorized,
                       moveaxis, shift_axis, vmap)


# --- elementwise ------------------------------------------------------------------------------
_ONE_OPERAND = (*P.GROUP.unary, P.convert_element_type_p, P.bitcast_convert_type_p)
defvectorized(*_ONE_OPERAND)
defbroadcasting(*(p for p in P.GROUP.elementwise if p not in _ONE_OPERAND))
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
    perm = [shift_axis(p, d) for p in permutation]
    perm.insert(d, d)
    return P.transpose_p.bind(x, permutation=tuple(perm)), d


def _rev_rule(args, dims, dimensions):
    (x,), (d,) = args, dims
    return P.rev_p.bind(x, dimensions=tuple(shift_axis(a, d) for a in dimensions)), d


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
    size = batch_size(args, dims)
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
    size = batch_size(args, dims)
    per_shape = x.shape if d is None else x.shape[:d] + x.shape[d + 1:]
    if d is not None:
        x = moveaxis(x, d, 0)
    ind = _window_indices(idx, idims, slice_sizes, per_shape, size, d is not None)
    axes = tuple(range(x.ndim))
    return P.gather_p.bind(x, ind, axes=axes, mode="clip", fill_value=None), 0


def _dynamic_update_slice_rule(args, dims):
    (x, u, *idx), (dx, du, *idims) = args, dims
    size = batch_size(args, dims)
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
        axes_f = tuple(shift_axis(a, dx) for a in axes)
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
    size = batch_size(args, dims)
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
        axes_f = tuple(shift_axis(a, d) for a in axes)
        return prim.bind(x, axes=axes_f, **params), d - sum(1 for a in axes_f if a < d)
    return rule


def _axis_param_rule(prim, key):
    def rule(args, dims, **params):
        (x,), (d,) = args, dims
        params[key] = shift_axis(params[key], d)
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
        dn = ((tuple(shift_axis(a, dl) for a in lc), tuple(shift_axis(a, dr) for a in rc)),
              ((dl,) + tuple(shift_axis(a, dl) for a in lb), (dr,) + tuple(shift_axis(a, dr) for a in rb)))
        return P.dot_general_p.bind(l, r, dimension_numbers=dn, **params), 0
    if dl is not None:
        lc, lb = tuple(shift_axis(a, dl) for a in lc), tuple(shift_axis(a, dl) for a in lb)
        out_d = len(lb) + sum(1 for i in range(dl) if i not in lc and i not in lb)
    else:
        rc, rb = tuple(shift_axis(a, dr) for a in rc), tuple(shift_axis(a, dr) for a in rb)
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
        size = batch_size(args, dims)
        n = len(args) - num_outs
        if params.get("batch") is not None:
            # A library primitive (gpuxla/extend/core.py): its own batching rule, on its operands.
            return params["batch"](args[:n], dims[:n])
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
            if getattr(fwd, "symbolic_zeros", False):
                from .custom import CustomVJPPrimal, batched_symbolic_fwd
                pos = {i for i, _ in static.items}
                plain = _vmapped(lambda *a: fwd(*[v if i in pos else tree_map(lambda x: CustomVJPPrimal(x, True), v)
                                                  for i, v in enumerate(a)]), full_axes, size)
                new["fwd"] = batched_symbolic_fwd(fwd, plain)
            else:
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
