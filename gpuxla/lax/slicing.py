"""lax.gather and the lax.scatter family with XLA's dimension numbers, as composites.

gpuxla has one gather primitive and one scatter primitive, both over *points*: `gather_p` reads
operand[idx[b] on `axes`, every other axis whole] and `scatter_p` is its mirror. XLA's general
form (windows of `slice_sizes` at per-batch start indices, collapsed and batching dimensions,
offset dimensions placed anywhere in the output) lowers onto them by index arithmetic:

  * an operand axis is *indexed* when its coordinate depends on the batch position or the window
    position (in `start_index_map`, a batching or collapsed axis, or a window narrower than the
    axis); every other axis is read whole and stays a trailing axis of the point gather;
  * each indexed axis gets a coordinate array over batch dims + partial-window dims: the (clamped)
    start index plus an iota along the window, or an iota over the indices' batching dimension;
  * the point gather's output (batch, partial window, whole axes) is transposed into XLA's order.

Out-of-bounds handling follows JAX's modes: CLIP (and PROMISE_IN_BOUNDS for gather, which XLA
clamps) moves each start so the whole window is inside; FILL_OR_DROP fills a gathered window that
is not wholly inside with `fill_value`, and drops a scattered window that is not wholly inside
(PROMISE_IN_BOUNDS scatters drop too, as XLA does). Because every step is an existing primitive,
grad, vmap and jit need no rules of their own.
"""
import builtins
import enum
from typing import NamedTuple, Sequence

import numpy as np

from ..core import dtypes
from . import (_operands, add, asarray, bitwise_and, broadcast_in_dim, broadcasted_iota, concatenate,
               convert_element_type, full, ge, gather_points, le, lt, max, min, neg, reduce_max, reshape,
               scatter_points, select, slice_in_dim, transpose)

__all__ = ["GatherDimensionNumbers", "ScatterDimensionNumbers", "GatherScatterMode", "gather", "scatter",
           "scatter_add", "scatter_sub", "scatter_mul", "scatter_min", "scatter_max", "scatter_apply"]


class GatherDimensionNumbers(NamedTuple):
    """How operand, start_indices and output dimensions of lax.gather relate (XLA's Gather; the
    index vector dimension is always the last dimension of start_indices, as in JAX)."""
    offset_dims: tuple
    collapsed_slice_dims: tuple
    start_index_map: tuple
    operand_batching_dims: tuple = ()
    start_indices_batching_dims: tuple = ()


class ScatterDimensionNumbers(NamedTuple):
    """How operand, scatter_indices and updates dimensions of lax.scatter relate (XLA's Scatter)."""
    update_window_dims: Sequence[int]
    inserted_window_dims: Sequence[int]
    scatter_dims_to_operand_dims: Sequence[int]
    operand_batching_dims: Sequence[int] = ()
    scatter_indices_batching_dims: Sequence[int] = ()


class GatherScatterMode(enum.Enum):
    """Out-of-bounds handling: CLIP clamps each window inside the operand; FILL_OR_DROP fills a
    gathered window that is not wholly in bounds and drops such a scattered window;
    PROMISE_IN_BOUNDS leaves it to the implementation (gather clamps, scatter drops)."""
    CLIP = enum.auto()
    FILL_OR_DROP = enum.auto()
    PROMISE_IN_BOUNDS = enum.auto()
    ONE_HOT = enum.auto()

    @staticmethod
    def from_any(s):
        if isinstance(s, GatherScatterMode):
            return s
        if s == "clip":
            return GatherScatterMode.CLIP
        if s is None or s in ("fill", "drop"):
            return GatherScatterMode.FILL_OR_DROP
        if s == "promise_in_bounds":
            return GatherScatterMode.PROMISE_IN_BOUNDS
        if s == "one_hot":
            return GatherScatterMode.ONE_HOT
        raise ValueError(f'Unknown gather mode "{s}"')


# --- dimension-number checks (the messages follow JAX's, which follow XLA's shape inference) ----
def _sorted(dims, op, name):
    if list(dims) != sorted(dims):
        raise TypeError(f"{name} in {op} op must be sorted; got {dims}")


def _unique(dims, op, name):
    if len(set(dims)) != len(dims):
        raise TypeError(f"{name} in {op} op must not repeat; got: {dims}.")


def _in_range(dims, rank, op, name):
    for d in dims:
        if not 0 <= d < rank:
            raise TypeError(f"Invalid {name} set in {op} op; valid range is [0, {rank}); got: {d}.")


def _disjoint(a, b, op, na, nb):
    if set(a) & set(b):
        raise TypeError(f"{na} and {nb} in {op} op must be disjoint; got: {a} and {b}.")


def _check_common(op, x, idx, index_map, batching, idx_batching, map_name, idx_batch_name, other, other_name):
    """The checks gather and scatter share: the index map, batching dims and the axis set `other`
    (collapsed_slice_dims / inserted_window_dims)."""
    if idx.ndim < 1:
        raise TypeError(f"{op}: indices must have at least one dimension (the index vector is the last "
                        f"dimension), got shape {idx.shape}")
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{op} indices must be integers, got {idx.dtype.name}")
    if len(index_map) != idx.shape[-1]:
        raise TypeError(f"{op.capitalize()} op has {len(index_map)} elements in {map_name} and the bound of "
                        f"dimension index_vector_dim={idx.ndim - 1} of indices is {idx.shape[-1]}. These two "
                        f"numbers must be equal.")
    for i, d in enumerate(index_map):
        if not 0 <= d < x.ndim:
            raise TypeError(f"Invalid {map_name}; domain is [0, {x.ndim}), got: {i}->{d}.")
    _unique(index_map, op, map_name)
    for dims, name in ((other, other_name), (batching, "operand_batching_dims")):
        _sorted(dims, op, name)
        _in_range(dims, x.ndim, op, name)
        _unique(dims, op, name)
    _disjoint(other, batching, op, other_name, "operand_batching_dims")
    _disjoint(index_map, batching, op, map_name, "operand_batching_dims")
    _unique(idx_batching, op, idx_batch_name)
    _in_range(idx_batching, idx.ndim, op, idx_batch_name)
    if idx.ndim - 1 in idx_batching:
        raise TypeError(f"{op.capitalize()} op cannot have the index vector dimension as a batching dimension; "
                        f"got {tuple(idx_batching)}.")
    if len(batching) != len(idx_batching):
        raise TypeError(f"{op.capitalize()} op requires equal numbers of operand_batching_dims and "
                        f"{idx_batch_name}, got {tuple(batching)} and {tuple(idx_batching)}.")
    ob, ib = tuple(x.shape[d] for d in batching), tuple(idx.shape[d] for d in idx_batching)
    if ob != ib:
        raise TypeError(f"{op.capitalize()} op requires operand batching dimensions and indices batching "
                        f"dimensions to have the same shape, got {ob} and {ib}.")


def _check_gather(x, idx, dn, slice_sizes):
    offset = tuple(dn.offset_dims)
    _check_common("gather", x, idx, tuple(dn.start_index_map), tuple(dn.operand_batching_dims),
                  tuple(dn.start_indices_batching_dims), "start_index_map", "start_indices_batching_dims",
                  tuple(dn.collapsed_slice_dims), "collapsed_slice_dims")
    _sorted(offset, "gather", "offset_dims")
    _unique(offset, "gather", "offset_dims")
    out_rank = len(offset) + idx.ndim - 1
    for i, d in enumerate(offset):
        if not 0 <= d < out_rank:
            raise TypeError(f"Offset dimension {i} in gather op is out of bounds; got {d}, but should have been "
                            f"in [0, {out_rank})")
    if len(slice_sizes) != x.ndim:
        raise TypeError(f"Gather op must have one slice size for every input dimension; got: "
                        f"len(slice_sizes)={len(slice_sizes)}, input_shape.rank={x.ndim}")
    if len(slice_sizes) != len(offset) + len(dn.collapsed_slice_dims) + len(dn.operand_batching_dims):
        raise TypeError(f"All components of the offset index in a gather op must either be a offset dimension "
                        f"or explicitly collapsed/batching; got len(slice_sizes)={len(slice_sizes)}, "
                        f"output_slice_sizes={offset}, collapsed_slice_dims={tuple(dn.collapsed_slice_dims)}, "
                        f"operand_batching_dims={tuple(dn.operand_batching_dims)}.")
    if idx.size:
        for i, (s, n) in enumerate(zip(slice_sizes, x.shape)):
            if not 0 <= s <= n:
                raise TypeError(f"Slice size at index {i} in gather op is out of range, must be within "
                                f"[0, {n} + 1), got {s}.")
    for i, d in enumerate(dn.collapsed_slice_dims):
        if slice_sizes[d] != 1:
            raise TypeError(f"Gather op can only collapse slice dims with bound 1, but bound is {slice_sizes[d]} "
                            f"for index {d} at position {i}.")
    for i, d in enumerate(dn.operand_batching_dims):
        if slice_sizes[d] > 1:
            raise TypeError(f"Gather op can only have operand batching dims with bound 0/1, but bound is "
                            f"{slice_sizes[d]} for index {d} at position {i}.")


def _check_scatter(x, idx, u, dn):
    uwd = tuple(dn.update_window_dims)
    _check_common("scatter", x, idx, tuple(dn.scatter_dims_to_operand_dims), tuple(dn.operand_batching_dims),
                  tuple(dn.scatter_indices_batching_dims), "scatter_dims_to_operand_dims",
                  "scatter_indices_batching_dims", tuple(dn.inserted_window_dims), "inserted_window_dims")
    if u.ndim != idx.ndim - 1 + len(uwd):
        raise TypeError(f"Updates tensor must be of rank {idx.ndim - 1 + len(uwd)}; got {u.ndim}.")
    _sorted(uwd, "scatter", "update_window_dims")
    _unique(uwd, "scatter", "update_window_dims")
    _in_range(uwd, u.ndim, "scatter", "update_window_dims")
    window = len(uwd) + len(dn.inserted_window_dims) + len(dn.operand_batching_dims)
    if window != x.ndim:
        raise TypeError(f"Scatter op has window of size {window}; doesn't match operand of rank {x.ndim}.")
    wdims = _window_axes(x.ndim, dn.inserted_window_dims, dn.operand_batching_dims)
    for i, (ud, od) in enumerate(zip(uwd, wdims)):
        if u.shape[ud] > x.shape[od]:
            raise TypeError(f"Bounds of the window dimensions of updates must not exceed the bounds of the "
                            f"corresponding dimensions of operand. For dimension {ud}, updates bound is "
                            f"{u.shape[ud]}, operand bound is {x.shape[od]}.")
    scatter_dims = [d for d in range(u.ndim) if d not in uwd]
    for i, d in enumerate(scatter_dims):
        if u.shape[d] != idx.shape[i]:
            raise TypeError(f"Bounds of the scatter dimensions of updates must be the same as the bounds of the "
                            f"corresponding dimensions of scatter indices. For scatter dimension {i}, updates "
                            f"bound is {u.shape[d]}, scatter_indices bound is {idx.shape[i]}.")


def _window_axes(rank, *excluded):
    drop = set().union(*(set(e) for e in excluded))
    return [d for d in range(rank) if d not in drop]


# --- the shared index arithmetic ----------------------------------------------------------------
def _index_dtype(x, idx):
    big = builtins.max(x.shape + (0,)) > np.iinfo(np.int32).max
    return np.dtype(np.int64) if big or idx.dtype == np.int64 else np.dtype(np.int32)


def _starts(x, idx, index_map, sizes, ity):
    """Per batch position, the start of the window along each mapped axis, clamped so the window
    fits, and whether every start was already in bounds (the FILL_OR_DROP mask)."""
    batch = idx.shape[:-1]
    starts, ok = {}, None
    for k, d in enumerate(index_map):
        col = reshape(_column(idx, k), batch)
        hi = x.shape[d] - sizes[d]
        hi_c = builtins.min(hi, int(np.iinfo(idx.dtype).max))   # as JAX: a bound the index type can hold
        inb = bitwise_and(ge(col, _scalar(0, col)), le(col, _scalar(hi_c, col)))
        ok = inb if ok is None else bitwise_and(ok, inb)
        starts[d] = convert_element_type(min(max(col, _scalar(0, col)), _scalar(hi_c, col)), ity)
    return starts, ok


def _scalar(v, like):
    return full(like.shape, v, like.dtype)


def _column(idx, k):
    return slice_in_dim(idx, k, k + 1, axis=idx.ndim - 1)


def _point_indices(x, idx, starts, batching, idx_batching, window, sizes, ity):
    """The point gather/scatter that reads (or writes) every window element.

    Returns (indexed operand axes, partial-window axes, whole axes, point-index array of shape
    batch + partial-window sizes + (len(indexed),)). `window` lists the operand axes that appear
    as window dims, with their sizes in `sizes`."""
    batch = idx.shape[:-1]
    nb = len(batch)
    whole = [d for d in window if sizes[d] == x.shape[d] and sizes[d] > 0]
    if whole and len(whole) == x.ndim:
        whole = whole[1:]          # the point ops need an indexed axis (and a drop needs a coordinate)
    partial = [d for d in window if d not in whole]
    indexed = [d for d in range(x.ndim) if d not in whole]
    shape = tuple(batch) + tuple(sizes[d] for d in partial)
    coords = []
    for d in indexed:
        if d in batching:
            c = broadcasted_iota(ity, shape, idx_batching[batching.index(d)])
        else:
            s = starts.get(d)
            c = full(shape, 0, ity) if s is None else broadcast_in_dim(s, shape, tuple(range(nb)))
            if d in partial:
                c = add(c, broadcasted_iota(ity, shape, nb + partial.index(d)))
        coords.append(reshape(c, shape + (1,)))
    points = concatenate(coords, len(shape)) if coords else full(shape + (0,), 0, ity)
    return indexed, partial, whole, points


# --- gather -------------------------------------------------------------------------------------
def _default_fill(dt):
    if dtypes.is_float(dt) or np.issubdtype(dt, np.complexfloating):
        return np.nan
    if np.issubdtype(dt, np.signedinteger):
        return int(np.iinfo(dt).min)
    if np.issubdtype(dt, np.unsignedinteger):
        return int(np.iinfo(dt).max)
    if dt == np.bool_:
        return True
    raise ValueError(f"Unsupported dtype for gather fill_value {dt}")


def gather(operand, start_indices, dimension_numbers, slice_sizes, *, unique_indices=False,
           indices_are_sorted=False, mode=None, fill_value=None):
    """XLA's Gather (lax.gather): windows of `slice_sizes` read at `start_indices`.

    `indices_are_sorted` and `unique_indices` are performance hints in JAX and are accepted here;
    mode None means PROMISE_IN_BOUNDS (clamped), as in JAX.

    >>> x = jnp.array([10, 11, 12])
    >>> dn = lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,))
    >>> lax.gather(x, jnp.array([[2], [0]]), dn, slice_sizes=(1,))   # doctest: +SKIP
    Array([12, 10], dtype=int32)
    """
    x, idx = asarray(operand), asarray(start_indices)
    dn = _gather_dn(dimension_numbers)
    sizes = tuple(int(s) for s in slice_sizes)
    mode = GatherScatterMode.from_any(GatherScatterMode.PROMISE_IN_BOUNDS if mode is None else mode)
    _check_gather(x, idx, dn, sizes)
    if mode is GatherScatterMode.ONE_HOT:
        raise NotImplementedError("lax.gather: mode ONE_HOT is not in gpuxla yet")
    batching, ibatch = list(dn.operand_batching_dims), list(dn.start_indices_batching_dims)
    window = _window_axes(x.ndim, dn.collapsed_slice_dims, batching)
    out_shape = _gather_out_shape(idx, dn.offset_dims, [sizes[d] for d in window])
    if int(np.prod(out_shape, dtype=np.int64)) == 0 or x.size == 0:
        return full(out_shape, 0, x.dtype) if not x.weak_type else convert_element_type(
            full(out_shape, 0, x.dtype), x.dtype, weak_type=True)
    if x.ndim == 0:
        return broadcast_in_dim(x, out_shape, ())
    ity = _index_dtype(x, idx)
    starts, ok = _starts(x, idx, dn.start_index_map, sizes, ity)
    indexed, partial, whole, points = _point_indices(x, idx, starts, batching, ibatch, window, sizes, ity)
    g = gather_points(x, points, tuple(indexed), "clip")
    # g's axes: batch..., partial window..., whole axes...; XLA's output interleaves batch and
    # window (in operand order) by offset_dims.
    nb = idx.ndim - 1
    labels = [("b", i) for i in range(nb)] + [("w", d) for d in partial] + [("w", d) for d in whole]
    wins, bs = iter(window), iter(range(nb))
    target = [("w", next(wins)) if i in dn.offset_dims else ("b", next(bs)) for i in range(len(out_shape))]
    g = transpose(g, [labels.index(t) for t in target])
    if mode is GatherScatterMode.FILL_OR_DROP and ok is not None:
        fv = _default_fill(x.dtype) if fill_value is None else fill_value
        bdims = tuple(i for i in range(len(out_shape)) if i not in dn.offset_dims)
        g = select(broadcast_in_dim(ok, out_shape, bdims), g, full(out_shape, fv, x.dtype))
    return g


def _gather_out_shape(idx, offset_dims, window_sizes):
    ws, bs = iter(window_sizes), iter(idx.shape[:-1])
    return tuple(next(ws) if i in offset_dims else next(bs) for i in range(len(offset_dims) + idx.ndim - 1))


def _gather_dn(dn):
    # Fields may come as lists (or NumPy ints); the composite indexes them as tuples of ints.
    if isinstance(dn, tuple) and len(dn) in (3, 5):
        return GatherDimensionNumbers(*(tuple(int(d) for d in f) for f in dn))
    raise TypeError(f"gather: dimension_numbers must be a lax.GatherDimensionNumbers, got {type(dn).__name__}")


def _scatter_dn(dn):
    if isinstance(dn, ScatterDimensionNumbers):
        return ScatterDimensionNumbers(*(tuple(int(d) for d in f) for f in dn))
    if isinstance(dn, tuple) and len(dn) in (3, 5):
        return ScatterDimensionNumbers(*(tuple(int(d) for d in f) for f in dn))
    raise TypeError(f"scatter: dimension_numbers must be a lax.ScatterDimensionNumbers, got {type(dn).__name__}")


# --- scatter ------------------------------------------------------------------------------------
def _scatter_points(kind, operand, scatter_indices, updates, dimension_numbers, mode):
    """The point-scatter form of one XLA scatter: (operand, point indices, updates in point order,
    indexed axes)."""
    name = "scatter" if kind == "set" else f"scatter_{kind}"
    x, u = _operands(operand, updates)
    idx = asarray(scatter_indices)
    dn = _scatter_dn(dimension_numbers)
    mode = GatherScatterMode.from_any(mode)
    _check_scatter(x, idx, u, dn)
    if u.dtype != x.dtype:
        raise TypeError(f"{name}: updates dtype {u.dtype.name} must equal the operand dtype {x.dtype.name}")
    if mode is GatherScatterMode.ONE_HOT:
        raise NotImplementedError(f"lax.{name}: mode ONE_HOT is not in gpuxla yet")
    if x.ndim == 0:
        # A scalar operand: every update lands on it. Scatter into a length-1 vector instead.
        x1, points, u1, axes = _scatter_points(kind, reshape(x, (1,)), full(idx.shape[:-1] + (1,), 0, np.int32),
                                               u, ScatterDimensionNumbers((), (0,), (0,)), "clip")
        return x1, points, u1, axes
    batching, ibatch = list(dn.operand_batching_dims), list(dn.scatter_indices_batching_dims)
    window = _window_axes(x.ndim, dn.inserted_window_dims, batching)
    sizes = [1] * x.ndim
    for ud, od in zip(dn.update_window_dims, window):
        sizes[od] = u.shape[ud]
    ity = _index_dtype(x, idx)
    drop = mode is not GatherScatterMode.CLIP
    starts, ok = _starts(x, idx, dn.scatter_dims_to_operand_dims, sizes, ity)
    indexed, partial, whole, points = _point_indices(x, idx, starts, batching, ibatch, window, sizes, ity)
    if drop and ok is not None:
        # A window not wholly in bounds is dropped: point its first coordinate past the axis end.
        nb, ax = idx.ndim - 1, indexed[0]
        col = _column(points, 0)
        oob = full(col.shape, x.shape[ax], ity)
        okb = broadcast_in_dim(ok, col.shape, tuple(range(nb)))
        points = concatenate([select(okb, col, oob), _rest_columns(points)], points.ndim - 1)
    # Updates into point order: scatter dims (the indices' batch dims) then partial, then whole axes.
    scatter_dims = [d for d in range(u.ndim) if d not in dn.update_window_dims]
    win_of = dict(zip(window, dn.update_window_dims))
    u = transpose(u, scatter_dims + [win_of[d] for d in partial] + [win_of[d] for d in whole])
    return x, points, u, tuple(indexed)


def _rest_columns(points):
    return slice_in_dim(points, 1, points.shape[-1], axis=points.ndim - 1)


def _scatter_kind(kind, doc):
    def op(operand, scatter_indices, updates, dimension_numbers, *, indices_are_sorted=False,
           unique_indices=False, mode=None):
        x, points, u, axes = _scatter_points(kind, operand, scatter_indices, updates, dimension_numbers, mode)
        x0 = asarray(operand)
        if x.size == 0 or u.size == 0:
            return reshape(x, x0.shape)
        return reshape(scatter_points(x, points, u, axes, kind), x0.shape)
    op.__name__ = "scatter" if kind == "set" else f"scatter_{kind}"
    op.__doc__ = doc
    return op


scatter = _scatter_kind("set", """XLA's Scatter with replacement (lax.scatter): `updates` windows
    written at `scatter_indices`. Duplicate indices: one of the updates wins. mode None means
    FILL_OR_DROP (windows not wholly in bounds are dropped), as in JAX.""")
scatter_add = _scatter_kind("add", "XLA's Scatter combining by addition (lax.scatter_add).")
scatter_mul = _scatter_kind("mul", "XLA's Scatter combining by multiplication (lax.scatter_mul).")
scatter_min = _scatter_kind("min", "XLA's Scatter combining by minimum (lax.scatter_min).")
scatter_max = _scatter_kind("max", "XLA's Scatter combining by maximum (lax.scatter_max).")


def scatter_sub(operand, scatter_indices, updates, dimension_numbers, *, indices_are_sorted=False,
                unique_indices=False, mode=None):
    """XLA's Scatter combining by subtraction (lax.scatter_sub): a scatter_add of -updates."""
    x, u = _operands(operand, updates)
    return scatter_add(x, scatter_indices, neg(u), dimension_numbers, mode=mode)


def scatter_apply(operand, scatter_indices, func, dimension_numbers, *, update_shape=(),
                  indices_are_sorted=False, unique_indices=False, mode=None):
    """`func` applied to operand's elements at the scattered windows (lax.scatter_apply); an element
    hit by k windows gets func applied k times, as XLA applies its update computation per update.

    `func` must be elementwise (XLA calls it on scalars). A count of hits per element comes from a
    scatter-add of ones; a while_loop then applies func where the count is not yet used up."""
    from .control_flow import while_loop
    x = asarray(operand)
    ones = full(tuple(update_shape), 1, np.int32)
    hits = scatter_add(full(x.shape, 0, np.int32), scatter_indices, ones, dimension_numbers, mode=mode)
    if x.ndim == 0 or x.size == 0:
        n = hits if x.ndim == 0 else full((), 0, np.int32)
    else:
        n = reduce_max(hits, tuple(range(x.ndim)))

    def body(c):
        i, v = c
        fv = asarray(func(v))
        if fv.shape != v.shape or fv.dtype != v.dtype:
            raise TypeError(f"scatter_apply: func must map {v.aval.str_short()} to the same shape and dtype, "
                            f"got {fv.aval.str_short()}")
        return add(i, 1), select(lt(broadcast_in_dim(i, hits.shape, ()), hits), fv, v)
    _, out = while_loop(lambda c: lt(c[0], n), body, (full((), 0, np.int32), x))
    return out
