"""NumPy indexing (`x[idx]`) and functional updates (`x.at[idx].set(v)`).

Static ints and slices become `slice`/`rev`/`reshape`; integer arrays (and traced integer
scalars) become one `gather`; boolean masks need concrete values. Out-of-bounds gathers clamp,
as in JAX. Updates index an iota of flat positions the same way and `scatter` into the flat
array, so every index form `getitem` accepts works for `.at` too; out-of-bounds updates are
dropped.
"""
import operator

import numpy as np

from .. import lax
from ..core import dtypes
from ..core.graph import Array
from . import _lax_numpy as jnp
from . import _ufuncs, _sorting


def _is_int_scalar(i):
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


# A scalar boolean index adds an axis of length 1 (True) or 0 (False), as in NumPy; True is just
# None, False is this marker.
_FALSE = object()


def _bool_scalar(i):
    if isinstance(i, (bool, np.bool_)):
        return bool(i)
    if isinstance(i, Array) and i.ndim == 0 and i.dtype == np.bool_:
        if i.sym is not None and i._buf is None:
            from ..core.graph import concretization_message
            from ..errors import ConcretizationTypeError
            raise ConcretizationTypeError(concretization_message(
                i, "A scalar boolean index decides the output shape, so it needs a concrete value."))
        return bool(i)
    return None


def _normalize(x, idx):
    if isinstance(idx, list):
        raise TypeError("Using a non-tuple sequence for multidimensional indexing is not allowed; use "
                        "`arr[array(seq)]` instead of `arr[seq]`.")
    if not isinstance(idx, tuple):
        idx = (idx,)
    # How many array axes each entry consumes, to check boolean masks against the axes they cover.
    def ndims(i):
        if i is None or i is Ellipsis or isinstance(i, (bool, np.bool_)):
            return 0
        return np.ndim(i) if getattr(i, "dtype", None) == np.bool_ else 1
    used = [ndims(i) for i in idx]
    ell = next((k for k, i in enumerate(idx) if i is Ellipsis), len(idx))
    out = []
    for pos, i in enumerate(idx):
        b = _bool_scalar(i)
        if b is not None:
            out.append(None if b else _FALSE)
        elif (isinstance(i, (list,)) or (isinstance(i, np.ndarray) and i.ndim > 0)
              or (isinstance(i, Array) and i.ndim > 0)):
            a = jnp.asarray(i) if not isinstance(i, np.ndarray) else i
            if a.dtype == np.bool_:
                if isinstance(a, Array) and a.sym is not None and a._buf is None:
                    from ..core.graph import concretization_message
                    from ..errors import ConcretizationTypeError
                    raise ConcretizationTypeError(concretization_message(
                        a, "Boolean mask indexing needs concrete values (its output shape depends on them); "
                           "use jnp.where(mask, x, 0) or nonzero(mask, size=...)"))
                start = sum(used[:pos]) if pos < ell else x.ndim - sum(used[pos:])
                if tuple(x.shape[start:start + a.ndim]) != tuple(a.shape):
                    raise IndexError(f"boolean index did not match shape of indexed array in index {pos}: "
                                     f"got {tuple(a.shape)}, expected {tuple(x.shape[start:start + a.ndim])}")
                out.extend(jnp.asarray(n) for n in np.nonzero(np.asarray(a)))
                continue
            if not dtypes.is_int(a.dtype):
                raise TypeError(f"Indexer must have integer or boolean type, got indexer with type {a.dtype}")
            out.append(jnp.asarray(a))
        elif isinstance(i, Array):
            if not dtypes.is_int(i.dtype):
                raise TypeError(f"Indexer must have integer or boolean type, got indexer with type {i.dtype}")
            out.append(i)
        elif _is_int_scalar(i) or i is None or i is Ellipsis or isinstance(i, slice):
            out.append(i)
        elif isinstance(i, np.ndarray):   # 0-d numpy
            out.append(int(i) if dtypes.is_int(i.dtype) else _bad(i))
        else:
            try:
                out.append(operator.index(i))
            except TypeError:
                _bad(i)
    n_ell = sum(1 for i in out if i is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    n_real = sum(1 for i in out if i is not None and i is not Ellipsis and i is not _FALSE)
    if n_real > x.ndim:
        raise IndexError(f"Too many indices for array: array is {x.ndim}-dimensional, but {n_real} were indexed "
                         f"(shape {x.shape})")
    if n_ell:
        k = out.index(Ellipsis)
        out[k:k + 1] = [slice(None)] * (x.ndim - n_real)
    else:
        out += [slice(None)] * (x.ndim - n_real)
    return out


def _bad(i):
    if isinstance(i, (float, np.floating)):
        raise TypeError(f"Indexer must have integer or boolean type, got indexer with type {np.dtype(type(i)).name}")
    raise TypeError(f"Indexing with {type(i).__name__} ({i!r}) is not supported; use ints, slices, None, "
                    "Ellipsis or integer/boolean arrays")


def getitem(x, idx, mode="clip", fill_value=None):
    x = jnp.asarray(x)
    entries = _normalize(x, idx)
    adv = any(isinstance(i, Array) for i in entries)
    if mode == "fill" and not adv:
        # An out-of-bounds static int must give fill_value (so `.at` drops the update): gather it.
        axis = 0
        for i in entries:
            if _is_int_scalar(i) and not -x.shape[axis] <= i < x.shape[axis]:
                adv = True
            axis += i is not None and i is not _FALSE
    if adv and any(i is _FALSE for i in entries):
        raise IndexError("a scalar False index combined with array indices is not supported; index in two steps")
    # Static part: slices (and ints when there is no advanced index) on each axis.
    starts, limits, strides, rev_axes = [], [], [], []
    layout = []       # per entry: ('new',) | ('dim', axis) | ('int', axis) | ('adv', axis, array)
    axis = 0
    for i in entries:
        if i is None or i is _FALSE:
            layout.append(("new", i is _FALSE))
            continue
        n = x.shape[axis]
        if isinstance(i, slice):
            s, e, st = i.indices(n)
            if st > 0:
                starts.append(s), limits.append(max(e, s)), strides.append(st)
            else:
                # Negative step: reverse the axis, then take a positive-step slice.
                rs, re = n - 1 - s, n - 1 - e
                starts.append(rs), limits.append(max(re, rs)), strides.append(-st)
                rev_axes.append(axis)
            layout.append(("dim", axis))
        elif _is_int_scalar(i) and not adv:
            # JAX clamps out-of-bounds static indices (after counting negative ones from the end).
            k = int(i)
            k = min(max(k + n if k < 0 else k, 0), n - 1)
            if n == 0:
                raise IndexError(f"index {int(i)} is out of bounds for axis {axis} with size 0 (array shape {x.shape})")
            starts.append(k), limits.append(k + 1), strides.append(1)
            layout.append(("int", axis))
        else:
            starts.append(0), limits.append(n), strides.append(1)
            layout.append(("adv", axis, jnp.asarray(i)))
        axis += 1
    if rev_axes:
        x = lax.rev(x, rev_axes)
    x = lax.slice(x, starts, limits, strides)
    if not adv:
        shape, empty = [], []
        for t in layout:
            if t[0] == "new":
                if t[1]:
                    empty.append(len(shape))
                shape.append(1)
            elif t[0] == "dim":
                shape.append(x.shape[t[1]])
        out = lax.reshape(x, shape)
        for ax in empty:
            out = lax.slice_in_dim(out, 0, 0, axis=ax)
        return out
    advs = [t for t in layout if t[0] == "adv"]
    arrays = jnp.broadcast_arrays(*[t[2] for t in advs])
    bshape = arrays[0].shape if arrays else ()
    itype = dtypes.default_int_dtype() if dtypes.default_int_dtype() == np.int64 else np.int32
    idxs = []
    for t, a in zip(advs, arrays):
        n = x.shape[t[1]]
        a = a.astype(itype) if a.dtype != itype else a
        idxs.append(_ufuncs.where(a < 0, a + n, a))
    stacked = jnp.stack(idxs, -1) if idxs else None
    g = lax.gather_points(x, stacked, tuple(t[1] for t in advs), mode, fill_value)
    # g: B + remaining dims (those of 'dim' entries in order). Place B and the new axes.
    positions = [k for k, t in enumerate(layout) if t[0] == "adv"]
    contiguous = positions == list(range(positions[0], positions[0] + len(positions)))
    nb = len(bshape)
    order, shape, d = [], [], nb
    placed = False
    if not contiguous:
        order += list(range(nb))
        shape += list(bshape)
        placed = True
    for t in layout:
        if t[0] == "adv":
            if not placed:
                order += list(range(nb))
                shape += list(bshape)
                placed = True
        elif t[0] == "new":
            shape.append(1)
        else:
            order.append(d)
            shape.append(g.shape[d])
            d += 1
    return lax.reshape(lax.transpose(g, order), shape)


class _AtIndexer:
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, idx):
        return _IndexUpdateRef(self.array, idx)


class _IndexUpdateRef:
    """`x.at[idx]`: functional updates that return a new array."""
    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def get(self, *, mode=None, fill_value=None, indices_are_sorted=False, unique_indices=False):
        return getitem(self.array, self.index, "fill" if mode == "fill" else "clip",
                       _sorting._fill_value(self.array.dtype, fill_value) if mode == "fill" else None)

    def _scatter(self, values, mode):
        x = self.array
        # Flat positions of the selected elements; out-of-bounds ones become -1 and are dropped.
        pos = lax.reshape(lax.iota(np.int32 if x.size < 2 ** 31 else np.int64, x.size), x.shape)
        sel = getitem(pos, self.index, "fill", -1)
        v = jnp.asarray(values)
        dt = x.dtype
        if v.dtype != dt:
            v = lax.convert_element_type(v, dt)
        v = jnp.broadcast_to(v, sel.shape)
        flat = lax.reshape(x, (x.size,))
        out = lax.scatter_points(flat, lax.reshape(sel, sel.shape + (1,)), v, (0,), mode)
        return lax.reshape(out, x.shape)

    def set(self, values, **kw):
        return self._scatter(values, "set")

    def add(self, values, **kw):
        return self._scatter(values, "add")

    def subtract(self, values, **kw):
        return self._scatter(_ufuncs.negative(jnp.asarray(values)), "add")

    def multiply(self, values, **kw):
        return self._scatter(values, "mul")

    mul = multiply

    def divide(self, values, **kw):
        return self._scatter(_ufuncs.reciprocal(jnp.asarray(values, self.array.dtype)), "mul")

    def power(self, values, **kw):
        return self.set(_ufuncs.power(getitem(self.array, self.index), values))

    def min(self, values, **kw):
        return self._scatter(values, "min")

    def max(self, values, **kw):
        return self._scatter(values, "max")

    def apply(self, func, **kw):
        return self.set(func(getitem(self.array, self.index)))
