"""jnp.dsplit, jnp.ufunc / jnp.frompyfunc, and the file functions load / save / savez / fromfile.

A `ufunc` made by frompyfunc wraps a scalar function written with jnp/lax operations: calling it
vectorizes the function over broadcast arguments; `reduce`, `accumulate`, `at` and `reduceat`
apply it in sequence, as NumPy's object ufuncs do (a lax.scan over the reduced axis, a fori_loop
over the indices of `at`), so any function works, associative or not.
"""
import numpy as np

from .. import lax
from ..core import dtypes
from ..core.graph import Array
from ._lax_numpy import (asarray, broadcast_arrays, broadcast_to, expand_dims, moveaxis, ravel, reshape, split,
                         stack)

__all__ = ["dsplit", "ufunc", "frompyfunc", "fromfile", "load", "save", "savez", "ComplexWarning", "character",
           "flexible"]

# NumPy's abstract scalar types and warning class, re-exported by jax.numpy.
ComplexWarning = np.exceptions.ComplexWarning
character, flexible = np.character, np.flexible


def dsplit(ary, indices_or_sections):
    """Split along the third axis (np.dsplit); the array needs at least three dimensions."""
    a = asarray(ary)
    if a.ndim < 3:
        raise ValueError(f"dsplit only works on arrays of 3 or more dimensions, got shape {a.shape}")
    return split(a, indices_or_sections, axis=2)


class ufunc:
    """A universal function from a Python function of `nin` scalars to `nout` scalars (jnp.ufunc).

    >>> mul_add = jnp.frompyfunc(lambda a, b: a * b + 1, nin=2, nout=1, identity=0)
    >>> mul_add.reduce(jnp.arange(4.0))         # ((((0*0+1)*1+1)*2+1)*3+1) from the identity
    Array(16., dtype=float32)
    """

    def __init__(self, func, /, nin, nout, *, name=None, nargs=None, identity=None, call=None, reduce=None,
                 accumulate=None, at=None, reduceat=None):
        if not callable(func):
            raise TypeError(f"ufunc: func must be callable, got {type(func).__name__}")
        self._func = func
        self.nin, self.nout = int(nin), int(nout)
        self.nargs = int(nargs) if nargs is not None else self.nin
        self.identity = identity
        self.__name__ = name or getattr(func, "__name__", "ufunc")
        self._call, self._reduce, self._accumulate, self._at, self._reduceat = call, reduce, accumulate, at, reduceat

    def __repr__(self):
        return f"<jnp.ufunc '{self.__name__}'>"

    def __call__(self, *args, out=None, where=None):
        if out is not None:
            raise TypeError(f"{self!r}: the 'out' argument is not supported (arrays are immutable)")
        if where is not None:
            raise NotImplementedError(f"{self!r}: the 'where' argument is not in gpuxla yet")
        if len(args) != self.nin:
            raise TypeError(f"{self!r} takes {self.nin} positional arguments, got {len(args)}")
        if self._call is not None:
            return self._call(*args)
        from ._misc import vectorize
        args = broadcast_arrays(*[asarray(a) for a in args])
        return vectorize(self._func)(*args)

    def _binary(self, what):
        if self.nin != 2 or self.nout != 1:
            raise ValueError(f"{what} only supported for binary ufuncs with a single output, got {self!r} with "
                             f"nin={self.nin}, nout={self.nout}")

    def outer(self, A, B, /):
        """f(a, b) for every pair: shape A.shape + B.shape."""
        self._binary("outer")
        A, B = asarray(A), asarray(B)
        a = reshape(A, A.shape + (1,) * B.ndim)
        return self(a, B)

    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=None):
        """Fold f over `axis` in order, from `initial` (else the identity, else the first element)."""
        self._binary("reduce")
        if self._reduce is not None:
            return self._reduce(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, initial=initial, where=where)
        if out is not None or where is not None:
            raise NotImplementedError(f"{self!r}.reduce: 'out' and 'where' are not in gpuxla yet")
        a = asarray(a, dtype)
        if axis is None:
            a, axis = ravel(a), 0
        axis = axis + a.ndim if axis < 0 else axis
        if not 0 <= axis < a.ndim:
            raise ValueError(f"{self!r}.reduce: axis {axis} is out of bounds for an array of dimension {a.ndim}")
        start = initial if initial is not None else self.identity
        xs = moveaxis(a, axis, 0)
        if start is None:
            if xs.shape[0] == 0:
                raise ValueError(f"zero-size array to reduction operation {self.__name__} which has no identity")
            init, xs = xs[0], xs[1:]
        else:
            init = lax.full(xs.shape[1:], start, a.dtype)
        step = self._vectorized_step(init)
        acc, _ = lax.scan(lambda c, x: (step(c, x), None), init, xs)
        return expand_dims(acc, axis) if keepdims else acc

    def _vectorized_step(self, like):
        from ._misc import vectorize
        g = vectorize(self._func)

        def step(c, x):
            r = asarray(g(c, x))
            return r.astype(like.dtype) if r.dtype != like.dtype else r
        return step

    def accumulate(self, a, axis=0, dtype=None, out=None):
        """The running fold along `axis`: out[0] = a[0], out[i] = f(out[i-1], a[i])."""
        self._binary("accumulate")
        if self._accumulate is not None:
            return self._accumulate(a, axis=axis, dtype=dtype, out=out)
        if out is not None:
            raise NotImplementedError(f"{self!r}.accumulate: 'out' is not in gpuxla yet")
        a = asarray(a, dtype)
        axis = axis + a.ndim if axis < 0 else axis
        xs = moveaxis(a, axis, 0)
        if xs.shape[0] == 0:
            return a
        step = self._vectorized_step(xs[0])

        def body(c, x):
            c = step(c, x)
            return c, c
        _, rest = lax.scan(body, xs[0], xs[1:])
        return moveaxis(lax.concatenate([expand_dims(xs[0], 0), rest], 0), 0, axis)

    def at(self, a, indices, b=None, /, *, indices_are_sorted=False, unique_indices=False, inplace=True):
        """a with a[i] = f(a[i], b) applied for each index in order (duplicates apply again);
        as JAX, only inplace=False is possible."""
        if inplace:
            raise NotImplementedError("jax.numpy.ufunc.at does not support inplace=True.")
        if self._at is not None:
            return self._at(a, indices, b)
        a = asarray(a)
        idx = asarray(indices)
        if not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"{self!r}.at: indices must be integers, got {idx.dtype}")
        flat = ravel(idx)
        n = flat.shape[0]
        if self.nin == 1:
            vals = None
        else:
            self._binary("at")
            vals = reshape(broadcast_to(asarray(b, a.dtype), idx.shape + a.shape[1:]), (n,) + a.shape[1:])

        def body(i, acc):
            j = flat[i]
            cur = acc[j]
            new = self(cur) if vals is None else self(cur, vals[i])
            return acc.at[j].set(asarray(new).astype(acc.dtype))
        return lax.fori_loop(0, n, body, a)

    def reduceat(self, a, indices, axis=0, dtype=None, out=None):
        """reduce over the segments [indices[i], indices[i+1]) along `axis` (a[indices[i]] where
        the next index is not larger), as np.ufunc.reduceat; the indices must be concrete."""
        self._binary("reduceat")
        if self._reduceat is not None:
            return self._reduceat(a, indices, axis=axis, dtype=dtype, out=out)
        a = asarray(a, dtype)
        axis = axis + a.ndim if axis < 0 else axis
        idx = [int(i) for i in np.asarray(indices).ravel()]
        n = a.shape[axis]
        outs = []
        for k, s in enumerate(idx):
            e = idx[k + 1] if k + 1 < len(idx) else n
            if not 0 <= s < n:
                raise IndexError(f"{self!r}.reduceat: index {s} out of bounds for axis of size {n}")
            seg = lax.slice_in_dim(a, s, e if e > s else s + 1, axis=axis)
            identity, self.identity = self.identity, None
            try:
                outs.append(self.reduce(seg, axis=axis))
            finally:
                self.identity = identity
        return stack(outs, axis=axis)


def frompyfunc(func, /, nin, nout, *, identity=None):
    """A jnp.ufunc from a function of scalars written with jnp operations (jnp.frompyfunc)."""
    return ufunc(func, nin, nout, identity=identity)


def fromfile(*args, **kwargs):
    """Not provided, as in JAX: reading a file is not a pure function (jit could replay or drop it)."""
    raise NotImplementedError(
        "jnp.fromfile() is not implemented because it may be non-pure and thus unsafe for use with JIT and other "
        "JAX transformations. Consider using jnp.asarray(np.fromfile(...)) instead.")


def load(file, *args, **kwargs):
    """np.load, with a .npy array returned as an Array (bfloat16 data, which NumPy saves as void16,
    restored); .npz archives come back as NumPy's lazy mapping, as in JAX."""
    out = np.load(file, *args, **kwargs)
    if isinstance(out, np.ndarray):
        if out.dtype == np.dtype("V2"):
            out = out.view(dtypes.bfloat16)
        try:
            out = asarray(out)
        except TypeError:          # a dtype gpuxla cannot hold: NumPy's array, as JAX returns it
            pass
    return out


def _host(x):
    return np.asarray(x) if isinstance(x, Array) else x


def save(file, arr, allow_pickle=True):
    """np.save of an Array's value."""
    return np.save(file, _host(arr), allow_pickle=allow_pickle)


def savez(file, *args, allow_pickle=True, **kwds):
    """np.savez of Arrays' values."""
    return np.savez(file, *[_host(a) for a in args], allow_pickle=allow_pickle,
                    **{k: _host(v) for k, v in kwds.items()})
