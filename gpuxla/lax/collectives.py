"""Collectives over named axes: psum, pmean, pmax, pmin, all_gather, axis_index, psum_scatter,
ppermute and all_to_all.

Inside `vmap(f, axis_name='i')` these combine the values of all examples along axis 'i'; inside
`pmap(f, axis_name='i')` the values of all devices. Each is a primitive whose node names its axes;
vmap's rewrite reduces over the batch axis when it reaches a node naming its own axis, and pmap
(parallel/pmap.py) cuts its per-device program at them and lets an engine combine the devices'
buffers. Outside a vmap or pmap binding the name they raise NameError, as JAX does. Their nodes
never reach a backend's compiler.

psum_scatter, ppermute and all_to_all are primitives of their own (each engine moves only the
data they need: a reduce-scatter, one send per permutation edge, one block per pair of members);
their derivatives are each other's: psum_scatter's transpose is all_gather and back, ppermute's
the inverse permutation, all_to_all's the all_to_all with split and concat swapped.
"""
import numpy as np

from ..core.extensions import all_gather_p, all_to_all_p, axis_index_p, pmax_p, pmin_p, ppermute_p, psum_p
from ..core.extensions import psum_scatter_p
from ..core.graph import realize
from ..transforms import batching
from ..transforms.ad import jvp_rules, vjp_rules
from ..tree_util import tree_map
from . import asarray, concatenate, convert_element_type, div, eq
from . import full_like, iota, mul, reduce_max, reduce_min, reduce_sum, reshape, slice_in_dim

__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index", "psum_scatter", "ppermute", "all_to_all"]

# --- binding ----------------------------------------------------------------------------------
def _names(axis_name):
    return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def _bind(prim, *args, **params):
    args = [asarray(a) for a in args]
    # A deep pending constant operand would make bind realize the collective itself (which has
    # no value): realize the operand first.
    realize([a for a in args if a.sym is None])
    return prim.bind(*args, **params)


def _check(axis_name, what, axis_index_groups=None):
    if axis_index_groups is not None:
        raise NotImplementedError(f"{what}: axis_index_groups is not supported by gpuxla")
    names = _names(axis_name)
    return names, [batching.axis_frame(n, what).size for n in names]


def psum(x, axis_name, *, axis_index_groups=None):
    """Sum of `x` over the named vmap axis (axes), the same for every example.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.vmap(lambda v: v / jax.lax.psum(v, 'i'), axis_name='i')(jnp.arange(1.0, 4.0))
    Array([0.16666667, 0.33333334, 0.5       ], dtype=float32)
    """
    names, _ = _check(axis_name, "psum", axis_index_groups)
    return tree_map(lambda v: _bind(psum_p, v, axis_name=names) if names else v, x)


def pmean(x, axis_name, *, axis_index_groups=None):
    """Mean of `x` over the named vmap axis (axes)."""
    names, sizes = _check(axis_name, "pmean", axis_index_groups)
    n = int(np.prod(sizes, dtype=np.int64))
    return tree_map(lambda v: _bind(psum_p, v, axis_name=names) / n if names else v, x)


def pmax(x, axis_name, *, axis_index_groups=None):
    """Maximum of `x` over the named vmap axis (axes)."""
    names, _ = _check(axis_name, "pmax", axis_index_groups)
    return tree_map(lambda v: _bind(pmax_p, v, axis_name=names) if names else v, x)


def pmin(x, axis_name, *, axis_index_groups=None):
    """Minimum of `x` over the named vmap axis (axes)."""
    names, _ = _check(axis_name, "pmin", axis_index_groups)
    return tree_map(lambda v: _bind(pmin_p, v, axis_name=names) if names else v, x)


def all_gather(x, axis_name, *, axis_index_groups=None, axis=0, tiled=False):
    """Every example's `x` stacked along a new axis `axis` (concatenated along `axis` if tiled)."""
    names, sizes = _check(axis_name, "all_gather", axis_index_groups)
    if len(names) != 1:
        raise NotImplementedError(f"all_gather over several axis names {names} is not supported by gpuxla; "
                                  "nest all_gather calls instead")

    def one(v):
        v = asarray(v)
        nd = v.ndim if tiled else v.ndim + 1
        if not -nd <= axis < nd or (tiled and v.ndim == 0):
            raise ValueError(f"all_gather: axis {axis} is out of bounds for an operand of shape {v.shape}"
                             + (" (tiled needs an axis to concatenate along)" if tiled else ""))
        return _bind(all_gather_p, v, axis_name=names, axis=axis % nd, tiled=bool(tiled), axis_size=sizes[0])
    return tree_map(one, x)


def axis_index(axis_name):
    """This example's position along the named vmap axis (several names: the row-major index)."""
    names, sizes = _check(axis_name, "axis_index")
    idx = None
    for n, s in zip(names, sizes):
        # pmap's axis knows its device index (an input of the per-device program).
        i = getattr(batching.axis_frame(n), "index", None)
        i = _bind(axis_index_p, axis_name=(n,)) if i is None else i
        idx = i if idx is None else idx * s + i
    return idx


def _one_name(axis_name, what):
    names = _names(axis_name)
    if len(names) != 1:
        raise NotImplementedError(f"{what} over several axis names {names} is not supported by gpuxla; "
                                  f"nest {what} calls instead")
    return names[0], batching.axis_frame(names[0], what).size


def psum_scatter(x, axis_name, *, scatter_dimension=0, axis_index_groups=None, tiled=False):
    """The sum over the named axis, scattered: member i keeps block i of `scatter_dimension`
    (that axis has the axis size and is dropped; with `tiled`, a multiple of it, kept shorter).

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.vmap(lambda v: jax.lax.psum_scatter(v, 'i'), axis_name='i')(jnp.arange(4.0).reshape(2, 2))
    Array([2., 4.], dtype=float32)
    """
    if axis_index_groups is not None:
        raise NotImplementedError("psum_scatter: axis_index_groups is not supported by gpuxla")
    name, n = _one_name(axis_name, "psum_scatter")

    def one(v):
        v = asarray(v)
        if not -v.ndim <= scatter_dimension < v.ndim:
            raise ValueError(f"psum_scatter: scatter_dimension {scatter_dimension} is out of bounds for an "
                             f"operand of shape {v.shape}")
        dim = scatter_dimension % v.ndim
        size = v.shape[dim]
        if (size % n if tiled else size != n):
            raise ValueError(f"psum_scatter: the scatter dimension {dim} of an operand of shape {v.shape} must "
                             + (f"be a multiple of the axis size {n} (tiled)" if tiled else f"equal the axis size {n}"))
        # One primitive, the tiled form (an engine's reduce-scatter); untiled drops the length-1 block.
        out = _bind(psum_scatter_p, v, axis_name=(name,), scatter_dimension=dim, axis_size=n)
        return out if tiled else reshape(out, v.shape[:dim] + v.shape[dim + 1:])
    return tree_map(one, x)


def ppermute(x, axis_name, perm):
    """Member `src` sends `x` to member `dst` for each pair (src, dst) of `perm`; a member no pair
    sends to gets zeros.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.vmap(lambda v: jax.lax.ppermute(v, 'i', [(0, 1), (1, 2), (2, 0)]), axis_name='i')(jnp.arange(3.0))
    Array([2., 0., 1.], dtype=float32)
    """
    name, n = _one_name(axis_name, "ppermute")
    perm = [tuple(int(a) for a in p) for p in perm]
    srcs, dsts = [s for s, _ in perm], [d for _, d in perm]
    if any(len(p) != 2 for p in perm) or len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts):
        raise ValueError(f"ppermute sources and destinations must be unique, got {perm}.")
    if any(not 0 <= a < n for a in srcs + dsts):
        raise ValueError(f"ppermute permutation indices must be in [0, {n}) for the axis {name!r} of size {n}, "
                         f"got {perm}.")
    return tree_map(lambda v: _bind(ppermute_p, v, axis_name=(name,), perm=tuple(perm)), x)


def all_to_all(x, axis_name, split_axis, concat_axis, *, axis_index_groups=None, tiled=False):
    """Member i gets block i of `split_axis` from every member, stacked in member order along a new
    axis `concat_axis` (split_axis, of the axis size, dropped); with `tiled`, the blocks are
    concatenated along `concat_axis` instead.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.vmap(lambda v: jax.lax.all_to_all(v, 'i', 0, 0), axis_name='i')(jnp.arange(4.0).reshape(2, 2))
    Array([[0., 2.],
           [1., 3.]], dtype=float32)
    """
    if axis_index_groups is not None:
        raise NotImplementedError("all_to_all: axis_index_groups is not supported by gpuxla")
    name, n = _one_name(axis_name, "all_to_all")

    def one(v):
        v = asarray(v)
        for what, a in (("split_axis", split_axis), ("concat_axis", concat_axis)):
            if not -v.ndim <= a < v.ndim:
                raise ValueError(f"all_to_all: {what} {a} is out of bounds for an operand of shape {v.shape}")
        split, concat = split_axis % v.ndim, concat_axis % v.ndim
        size = v.shape[split]
        if (size % n if tiled else size != n):
            raise ValueError(f"all_to_all: the split axis {split} of an operand of shape {v.shape} must "
                             + (f"be a multiple of the axis size {n} (tiled)" if tiled else f"equal the axis size {n}"))
        if not tiled:
            # Block i of the moved axis is the length-1 slab v[i] at concat: stacking them over the
            # members is the tiled primitive splitting and concatenating along that one axis.
            v = batching.moveaxis(v, split, concat)
            split = concat
        return _bind(all_to_all_p, v, axis_name=(name,), split_axis=split, concat_axis=concat, axis_size=n)
    return tree_map(one, x)


# --- batching: reduce over the axis being rewritten -------------------------------------------
def _mine(axis_name):
    name = batching.rewriting_frame().name
    return name is not None and name in axis_name, tuple(n for n in axis_name if n != name)


def _reduction_rule(prim, reduce, unbatched):
    def rule(args, dims, axis_name):
        (x,), (d,) = args, dims
        mine, rest = _mine(axis_name)
        if not mine:
            return _bind(prim, x, axis_name=axis_name), d
        y = unbatched(x, batching.rewriting_frame().size) if d is None else reduce(x, (d,))
        return (_bind(prim, y, axis_name=rest) if rest else y), None
    return rule


batching.batch_rules[psum_p] = _reduction_rule(psum_p, reduce_sum, mul)
batching.batch_rules[pmax_p] = _reduction_rule(pmax_p, reduce_max, lambda x, n: x)
batching.batch_rules[pmin_p] = _reduction_rule(pmin_p, reduce_min, lambda x, n: x)


def _all_gather_batch(args, dims, axis_name, axis, tiled, axis_size):
    (x,), (d,) = args, dims
    mine, _ = _mine(axis_name)
    if not mine:
        if d is None:
            return _bind(all_gather_p, x, axis_name=axis_name, axis=axis, tiled=tiled, axis_size=axis_size), None
        # Gather along the per-example axis in the batched array's coordinates.
        ax = axis if (axis < d if tiled else axis <= d) else axis + 1
        out_d = d + 1 if not tiled and axis <= d else d
        return _bind(all_gather_p, x, axis_name=axis_name, axis=ax, tiled=tiled, axis_size=axis_size), out_d
    y = batching.broadcast_batched(x, axis_size, 0) if d is None else batching.moveaxis(x, d, 0)
    y = batching.moveaxis(y, 0, axis)
    if tiled:
        shape = list(y.shape)
        shape[axis:axis + 2] = [shape[axis] * shape[axis + 1]]
        y = reshape(y, shape)
    return y, None


def _axis_index_batch(args, dims, axis_name):
    fr = batching.rewriting_frame()
    if fr.name not in axis_name:
        return _bind(axis_index_p, axis_name=axis_name), None
    return iota(np.int32, fr.size), 0


def _leading(x, d, size):
    """x with its batch axis first (broadcast when unbatched)."""
    return batching.broadcast_batched(x, size, 0) if d is None else batching.moveaxis(x, d, 0)


def _split_axis(y, axis, n):
    """y with axis `axis` (a multiple of n long) cut into (n, length / n)."""
    shape = list(y.shape)
    shape[axis:axis + 1] = [n, shape[axis] // n]
    return reshape(y, shape)


def _psum_scatter_batch(args, dims, axis_name, scatter_dimension, axis_size):
    (x,), (d,) = args, dims
    mine, _ = _mine(axis_name)
    if not mine:
        if d is None:
            return _bind(psum_scatter_p, x, axis_name=axis_name, scatter_dimension=scatter_dimension,
                         axis_size=axis_size), None
        return _bind(psum_scatter_p, batching.moveaxis(x, d, 0), axis_name=axis_name,
                     scatter_dimension=scatter_dimension + 1, axis_size=axis_size), 0
    total = mul(x, axis_size) if d is None else reduce_sum(x, (d,))
    # Example i keeps block i: the blocks become the batch axis.
    return batching.moveaxis(_split_axis(total, scatter_dimension, axis_size), scatter_dimension, 0), 0


def _ppermute_batch(args, dims, axis_name, perm):
    (x,), (d,) = args, dims
    mine, _ = _mine(axis_name)
    if not mine:
        return _bind(ppermute_p, x, axis_name=axis_name, perm=perm), d
    n = batching.rewriting_frame().size
    y = _leading(x, d, n)
    src_of = dict((dst, src) for src, dst in perm)
    rows = [slice_in_dim(y, src_of[k], src_of[k] + 1, axis=0) if k in src_of else None for k in range(n)]
    zero = full_like(slice_in_dim(y, 0, 1, axis=0), 0)
    return concatenate([zero if r is None else r for r in rows], 0), 0


def _all_to_all_batch(args, dims, axis_name, split_axis, concat_axis, axis_size):
    (x,), (d,) = args, dims
    mine, _ = _mine(axis_name)
    if not mine:
        if d is None:
            return _bind(all_to_all_p, x, axis_name=axis_name, split_axis=split_axis, concat_axis=concat_axis,
                         axis_size=axis_size), None
        return _bind(all_to_all_p, batching.moveaxis(x, d, 0), axis_name=axis_name, split_axis=split_axis + 1,
                     concat_axis=concat_axis + 1, axis_size=axis_size), 0
    n = axis_size
    y = _leading(x, d, n)                                   # (j, ...per-example, split length s...)
    y = batching.moveaxis(_split_axis(y, 1 + split_axis, n), 1 + split_axis, 0)   # (i, j, ..., s / n, ...)
    y = batching.moveaxis(y, 1, 1 + concat_axis)            # (i, ..., j, concat length, ...)
    shape = list(y.shape)
    shape[1 + concat_axis:3 + concat_axis] = [shape[1 + concat_axis] * shape[2 + concat_axis]]
    return reshape(y, shape), 0


batching.batch_rules[all_gather_p] = _all_gather_batch
batching.batch_rules[axis_index_p] = _axis_index_batch
batching.batch_rules[psum_scatter_p] = _psum_scatter_batch
batching.batch_rules[ppermute_p] = _ppermute_batch
batching.batch_rules[all_to_all_p] = _all_to_all_batch


# --- derivatives: the transpose of a sum over examples is a sum over examples -----------------
def _psum_vjp(ct, out, x, axis_name):
    return (_bind(psum_p, ct, axis_name=axis_name),)


def _pext_jvp(prim):
    def jvp(primals, tangents, out, axis_name):
        (x,), (t,) = primals, tangents
        if t is None:
            return None
        mask = convert_element_type(eq(x, out), x.dtype)
        # Ties share the derivative, as reduce_max's rule does.
        num = _bind(psum_p, mul(t, mask), axis_name=axis_name)
        return div(num, _bind(psum_p, mask, axis_name=axis_name))
    return jvp


def _pext_vjp(ct, out, x, axis_name):
    mask = convert_element_type(eq(x, out), x.dtype)
    total = _bind(psum_p, ct, axis_name=axis_name)
    return (div(mul(total, mask), _bind(psum_p, mask, axis_name=axis_name)),)


def _all_gather_vjp(ct, out, x, axis_name, axis, tiled, axis_size):
    # Every example received every x; x's cotangent is its own block of the summed cotangents:
    # a reduce-scatter (untiled, the stacking axis is that block's length-1 axis).
    got = _bind(psum_scatter_p, ct, axis_name=axis_name, scatter_dimension=axis, axis_size=axis_size)
    return (got if tiled else reshape(got, x.shape),)


def _linear_jvp(prim):
    return lambda primals, tangents, out, **params: (
        None if tangents[0] is None else _bind(prim, tangents[0], **params))


jvp_rules[psum_p] = lambda primals, tangents, out, axis_name: (
    None if tangents[0] is None else _bind(psum_p, tangents[0], axis_name=axis_name))
vjp_rules[psum_p] = _psum_vjp
jvp_rules[pmax_p], jvp_rules[pmin_p] = _pext_jvp(pmax_p), _pext_jvp(pmin_p)
vjp_rules[pmax_p] = vjp_rules[pmin_p] = _pext_vjp
jvp_rules[all_gather_p] = _linear_jvp(all_gather_p)
vjp_rules[all_gather_p] = _all_gather_vjp
for _p in (psum_scatter_p, ppermute_p, all_to_all_p):
    jvp_rules[_p] = _linear_jvp(_p)
vjp_rules[psum_scatter_p] = lambda ct, out, x, axis_name, scatter_dimension, axis_size: (
    _bind(all_gather_p, ct, axis_name=axis_name, axis=scatter_dimension, tiled=True, axis_size=axis_size),)
vjp_rules[ppermute_p] = lambda ct, out, x, axis_name, perm: (
    _bind(ppermute_p, ct, axis_name=axis_name, perm=tuple((d, s) for s, d in perm)),)
vjp_rules[all_to_all_p] = lambda ct, out, x, axis_name, split_axis, concat_axis, axis_size: (
    _bind(all_to_all_p, ct, axis_name=axis_name, split_axis=concat_axis, concat_axis=split_axis,
          axis_size=axis_size),)
jvp_rules[axis_index_p] = lambda primals, tangents, out, axis_name: None
vjp_rules[axis_index_p] = lambda ct, out, axis_name: ()
