"""lax.axis_size, lax.approx_max_k / approx_min_k, lax.ragged_dot / ragged_dot_general, and small
pieces of lax's surface, as composites.

approx_max_k/min_k are exact here: JAX documents `recall_target` as a lower bound on recall, and
an exact top-k meets every target (it is also what JAX returns on CPU). ragged_dot is one
dot_general: each lhs row is spread into its group's slot of an extra axis g (zeros elsewhere),
contracted together with rhs's group axis, so grad and vmap come from dot_general's rules.
"""
from typing import NamedTuple, Sequence

import numpy as np

from ..core import dtypes
from ..transforms import batching
from . import (_take_along_axis, argsort, asarray, bitwise_and, broadcast_in_dim, broadcasted_iota, concatenate,
               convert_element_type, cumsum, dot_general, full, ge, lt, rev, select, slice_in_dim, sub, transpose)

__all__ = ["axis_size", "approx_max_k", "approx_min_k", "ragged_dot", "platform_dependent", "with_sharding_constraint",
           "composite", "shape_as_value", "dtype", "RaggedDotDimensionNumbers", "ragged_dot_general"]


def axis_size(axis_name):
    """The size of the named mapped axis (a tuple of names: the product of their sizes), as a
    Python int; NameError outside a vmap/pmap binding the name, as JAX."""
    names = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    return int(np.prod([batching.axis_frame(n, "axis_size").size for n in names], dtype=np.int64))


def _topk(name, operand, k, reduction_dimension, aggregate_to_topk, largest):
    x = asarray(operand)
    if x.ndim == 0:
        raise TypeError(f"{name}: operand must have at least one dimension")
    d = reduction_dimension + x.ndim if reduction_dimension < 0 else reduction_dimension
    if not 0 <= d < x.ndim:
        raise ValueError(f"{name}: reduction_dimension {reduction_dimension} is out of bounds for an operand "
                         f"of rank {x.ndim}")
    k = int(k)
    if not 0 <= k <= x.shape[d]:
        raise ValueError(f"{name}: k must be in [0, {x.shape[d]}] (the size of dimension {d}), got {k}")
    if not aggregate_to_topk:
        raise NotImplementedError(f"lax.{name}: aggregate_to_topk=False (XLA's partial reduction) is not in "
                                  f"gpuxla yet")
    # Stable ascending argsort puts ties in index order and NaN last. Largest-first reads the
    # reversed row's argsort backwards, so ties stay in index order there too (as lax.top_k).
    if largest:
        order = rev(argsort(rev(x, (d,)), d, np.int32), (d,))
        order = sub(full(order.shape, x.shape[d] - 1, np.int32), order)
    else:
        order = argsort(x, d, np.int32)
    idx = slice_in_dim(order, 0, k, axis=d)
    return _take_along_axis(x, idx, d), idx


def approx_max_k(operand, k, reduction_dimension=-1, recall_target=0.95, reduction_input_size_override=-1,
                 aggregate_to_topk=True):
    """The k largest entries along `reduction_dimension` and their int32 indices (lax.approx_max_k),
    largest first, ties in index order, NaN largest; exact, so recall is 1 >= recall_target."""
    return _topk("approx_max_k", operand, k, reduction_dimension, aggregate_to_topk, True)


def approx_min_k(operand, k, reduction_dimension=-1, recall_target=0.95, reduction_input_size_override=-1,
                 aggregate_to_topk=True):
    """The k smallest entries along `reduction_dimension` and their int32 indices (lax.approx_min_k),
    smallest first, ties in index order; exact."""
    return _topk("approx_min_k", operand, k, reduction_dimension, aggregate_to_topk, False)


def _group_mask(gs, n, name):
    """(n, g) bool: position i along a ragged dimension of size n lies in group j (consecutive
    groups of `gs` positions; positions past the last group are in none)."""
    if gs.ndim != 1 or not np.issubdtype(gs.dtype, np.integer):
        raise NotImplementedError(f"lax.{name}: group_sizes must be a 1-D integer array (g,) in gpuxla, got "
                                  f"{gs.aval.str_short()}")
    g = gs.shape[0]
    ends = cumsum(convert_element_type(gs, np.int32))
    starts = concatenate([full((1,), 0, np.int32), slice_in_dim(ends, 0, g - 1)], 0)
    row = broadcasted_iota(np.int32, (n, g), 0)
    lo, hi = broadcast_in_dim(starts, (n, g), (1,)), broadcast_in_dim(ends, (n, g), (1,))
    return bitwise_and(ge(row, lo), lt(row, hi))


def _spread(x, mask, dim):
    """x with a new trailing axis g: x where position `dim` lies in group g, else 0."""
    shape = x.shape + (mask.shape[1],)
    keep = broadcast_in_dim(mask, shape, (dim, x.ndim))
    return select(keep, broadcast_in_dim(x, shape, tuple(range(x.ndim))), full(shape, 0, x.dtype))


def ragged_dot(lhs, rhs, group_sizes, precision=None, preferred_element_type=None, group_offset=None,
               out_sharding=None):
    """Ragged matrix product (lax.ragged_dot): lhs (m, k) rows are split into consecutive groups of
    `group_sizes` (g,) rows; group i is multiplied by rhs[i] (rhs is (g, k, n)). Rows past the
    last group are zero; the last group's size is not clipped to m (rows past m do not exist)."""
    lhs, rhs, gs = asarray(lhs), asarray(rhs), asarray(group_sizes)
    if lhs.ndim != 2 or rhs.ndim != 3 or gs.ndim != 1 or lhs.shape[1] != rhs.shape[1] or gs.shape[0] != rhs.shape[0]:
        raise TypeError(f"ragged_dot: expected lhs (m, k), rhs (g, k, n) and group_sizes (g,), got "
                        f"{lhs.aval.str_short()}, {rhs.aval.str_short()} and {gs.aval.str_short()}")
    dn = RaggedDotDimensionNumbers((((1,), (1,)), ((), ())), (0,), (0,))
    return ragged_dot_general(lhs, rhs, gs, dn, precision, preferred_element_type, group_offset)


class RaggedDotDimensionNumbers(NamedTuple):
    """dot_general's dimension numbers plus the lhs ragged dimension and the rhs group dimension
    (lax.RaggedDotDimensionNumbers)."""
    dot_dimension_numbers: tuple
    lhs_ragged_dimensions: Sequence[int]
    rhs_group_dimensions: Sequence[int]


def ragged_dot_general(lhs, rhs, group_sizes, ragged_dot_dimension_numbers, precision=None,
                       preferred_element_type=None, group_offset=None, out_sharding=None):
    """dot_general with one ragged lhs dimension split into consecutive groups (lax.ragged_dot_general):

      * ragged non-contracting dim, rhs group dim: each lhs position multiplies its group's slice of
        rhs (ragged_dot); positions past the last group give zeros;
      * ragged contracting dim: one product per group over its own stretch of the contraction,
        stacked on a new leading axis g;
      * ragged batch dim: the plain dot_general (each batch element is in one group), as JAX.

    One dot_general in every mode: the group becomes an extra contracted (or free) axis of a
    masked copy of lhs, so grad and vmap come from dot_general's rules."""
    lhs, rhs, gs = asarray(lhs), asarray(rhs), asarray(group_sizes)
    if group_offset is not None:
        raise NotImplementedError("lax.ragged_dot_general: group_offset is not in gpuxla yet")
    dn = ragged_dot_dimension_numbers
    (lc, rc), (lb, rb) = ((tuple(dn.dot_dimension_numbers[0][0]), tuple(dn.dot_dimension_numbers[0][1])),
                          (tuple(dn.dot_dimension_numbers[1][0]), tuple(dn.dot_dimension_numbers[1][1])))
    ragged, group = tuple(dn.lhs_ragged_dimensions), tuple(dn.rhs_group_dimensions)
    if len(ragged) != 1 or len(group) > 1:
        raise TypeError(f"ragged_dot_general: expected one lhs ragged dimension and at most one rhs group dimension, "
                        f"got {ragged} and {group}")
    r = ragged[0] % lhs.ndim
    pet = None if preferred_element_type is None else dtypes.canonicalize_dtype(preferred_element_type)
    if r in lb:                                            # ragged batch dimension
        if group:
            raise TypeError("ragged_dot_general: a ragged batch dimension takes no rhs group dimension")
        return dot_general(lhs, rhs, ((lc, rc), (lb, rb)), precision, pet)
    mask = _group_mask(gs, lhs.shape[r], "ragged_dot_general")
    g = gs.shape[0]
    spread = _spread(lhs, mask, r)                         # lhs + trailing axis g
    gax = lhs.ndim
    if r in lc:                                            # ragged contracting dimension
        if group:
            raise TypeError("ragged_dot_general: a ragged contracting dimension takes no rhs group dimension")
        out = dot_general(spread, rhs, ((lc, rc), (lb, rb)), precision, pet)
        # out: batch, lhs free (ending with g), rhs free; JAX puts g first.
        nbat = len(lb)
        lfree = lhs.ndim - len(lc) - len(lb)
        gpos = nbat + lfree
        perm = (gpos,) + tuple(i for i in range(out.ndim) if i != gpos)
        return transpose(out, perm)
    if not group:                                          # ragged non-contracting dim needs a group dim
        raise TypeError("ragged_dot_general: a ragged non-contracting lhs dimension needs an rhs group dimension")
    gd = group[0] % rhs.ndim
    if rhs.shape[gd] != g:
        raise TypeError(f"ragged_dot_general: rhs group dimension {gd} has size {rhs.shape[gd]}, group_sizes {g}")
    return dot_general(spread, rhs, ((lc + (gax,), rc + (gd,)), (lb, rb)), precision, pet)


# --- small pieces of lax's surface -------------------------------------------------------------
def _platform():
    """The platform name JAX's per-platform code keys on: the CUDA platforms (cuda-interpret runs
    the CUDA programs) are "cuda", the host ones "cpu"."""
    from ..core import graph
    return "cuda" if graph.runtime.device().platform.startswith("cuda") else "cpu"


def platform_dependent(*args, default=None, **per_platform):
    """Call the branch for the platform gpuxla runs on (lax.platform_dependent): `cpu=`, `cuda=`
    (also taken for the emulated cuda-interpret platform), else `default`."""
    branch = per_platform.get(_platform(), default)
    if branch is None:
        raise NotImplementedError(f"platform_dependent: no branch for platform {_platform()!r} and no default "
                                  f"(branches: {sorted(per_platform)})")
    return branch(*args)


def with_sharding_constraint(x, shardings):
    """x itself: a sharding constraint places values, never changes them (lax.with_sharding_constraint)."""
    return x


def composite(decomposition, name, version=0):
    """A function computed by `decomposition` (lax.composite): the name and version only label the
    operation for compilers that know it; gpuxla compiles the decomposition, as JAX's fallback.
    Positional arguments are inputs, keyword arguments attributes passed to the decomposition."""
    import functools
    if not isinstance(name, str):
        raise TypeError(f"composite: name must be a string, got {name!r}")

    @functools.wraps(decomposition)
    def call(*args, **kwargs):
        return decomposition(*args, **{k: v for k, v in kwargs.items() if v is not None})
    return call


def shape_as_value(shape):
    """The shape as an int32 array (lax.shape_as_value)."""
    from . import asarray
    return asarray(np.asarray(tuple(int(d) for d in shape), np.int32))


def dtype(x):
    """The canonical dtype of a value, array, dtype or scalar type (lax.dtype)."""
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        return dtypes.scalar_dtype_for_value(x)
    dt = None if isinstance(x, (type, np.dtype, str)) else getattr(x, "dtype", None)
    return dtypes.canonicalize_dtype(np.dtype(x) if dt is None else dt)
