"""Collectives over named axes: psum, pmean, pmax, pmin, all_gather, axis_index, and the
composites psum_scatter and ppermute.

Inside `vmap(f, axis_name='i')` these combine the values of all examples along axis 'i'; inside
`pmap(f, axis_name='i')` the values of all devices. Each is a primitive whose node names its axes;
vmap's rewrite reduces over the batch axis when it reaches a node naming its own axis, and pmap
(parallel/pmap.py) cuts its per-device program at them and lets an engine combine the devices'
buffers. Outside a vmap or pmap binding the name they raise NameError, as JAX does. Their nodes
never reach a backend's compiler.

psum_scatter and ppermute are composites of psum / all_gather and axis_index: their derivatives
and batching come from those, and an engine needs only the five primitives.
"""
import numpy as np

from ..core.extensions import all_gather_p, axis_index_p, pmax_p, pmin_p, psum_p
from ..core.graph import realize
from ..transforms import batching
from ..transforms.ad import jvp_rules, vjp_rules
from ..tree_util import tree_map
from . import asarray, convert_element_type, div, dynamic_index_in_dim, dynamic_slice_in_dim, eq, iota, mul
from . import full_like, reduce_max, reduce_min, reduce_sum, reshape, select

__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index", "psum_scatter", "ppermute"]

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
        total, i = psum(v, name), axis_index(name)
        if tiled:
            return dynamic_slice_in_dim(total, mul(i, size // n), size // n, dim)
        return dynamic_index_in_dim(total, i, dim, keepdims=False)
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
    src_of = np.zeros(n, np.int32)
    has = np.zeros(n, bool)
    for s_, d in perm:
        src_of[d], has[d] = s_, True

    def one(v):
        v = asarray(v)
        i = axis_index(name)
        # Every member gathers every x and keeps its source's: the engine needs no send/recv of
        # its own, and the derivative (a psum of the cotangents, indexed) is all_gather's.
        got = dynamic_index_in_dim(all_gather(v, name), dynamic_index_in_dim(asarray(src_of), i, 0, False), 0, False)
        if has.all():
            return got
        keep = dynamic_index_in_dim(asarray(has), i, 0, False)
        return select(keep, got, full_like(got, 0))
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


batching.batch_rules[all_gather_p] = _all_gather_batch
batching.batch_rules[axis_index_p] = _axis_index_batch


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
    # Every example received every x; x's cotangent is its own slot of the summed cotangents.
    total = _bind(psum_p, ct, axis_name=axis_name)
    i = _bind(axis_index_p, axis_name=axis_name)
    if tiled:
        n = x.shape[axis]
        return (dynamic_slice_in_dim(total, mul(i, n), n, axis),)
    return (dynamic_index_in_dim(total, i, axis, keepdims=False),)


jvp_rules[psum_p] = lambda primals, tangents, out, axis_name: (
    None if tangents[0] is None else _bind(psum_p, tangents[0], axis_name=axis_name))
vjp_rules[psum_p] = _psum_vjp
jvp_rules[pmax_p], jvp_rules[pmin_p] = _pext_jvp(pmax_p), _pext_jvp(pmin_p)
vjp_rules[pmax_p] = vjp_rules[pmin_p] = _pext_vjp
jvp_rules[all_gather_p] = lambda primals, tangents, out, **params: (
    None if tangents[0] is None else _bind(all_gather_p, tangents[0], **params))
vjp_rules[all_gather_p] = _all_gather_vjp
jvp_rules[axis_index_p] = lambda primals, tangents, out, axis_name: None
vjp_rules[axis_index_p] = lambda ct, out, axis_name: ()
