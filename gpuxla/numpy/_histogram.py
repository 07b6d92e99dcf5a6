"""Histograms: histogram_bin_edges, histogram, histogram2d, histogramdd, with NumPy's bins (the
last one closed on the right; values outside `range` dropped) and JAX's dtypes (float counts).

The bin of each value is a searchsorted against the edges and the counts a scatter-add, so the
number of bins must be static (an int, or an array of edges), as in JAX.
"""
import operator

import numpy as np

from ._lax_numpy import asarray, ones_like, ravel, reshape, stack
from ._reductions import _float_dtype, max, min, sum
from ._sorting import searchsorted
from ._creation import linspace, zeros
from ._ufuncs import where, logical_and, equal
from ._misc import diff

__all__ = ["histogram", "histogram2d", "histogram_bin_edges", "histogramdd"]


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """The edges `histogram` uses: `bins` + 1 evenly spaced from `range` (default: a's min and
    max, widened by 0.5 each way when they are equal), or `bins` itself when it is an array."""
    a = ravel(asarray(a))
    dt = _float_dtype(a.dtype)
    if not isinstance(bins, int) and np.ndim(bins) == 1:
        return asarray(bins)
    bins = operator.index(bins)
    if bins < 1:
        raise ValueError(f"`bins` must be positive, when an integer, got {bins}")
    if range is None:
        if a.size == 0:
            lo, hi = asarray(0.0, dt), asarray(1.0, dt)
        else:
            lo, hi = min(a).astype(dt), max(a).astype(dt)
    else:
        if np.shape(range) != (2,):
            raise ValueError(f"histogram: range must be a pair (min, max), got {range!r}")
        if all(isinstance(r, (int, float)) for r in range) and range[0] > range[1]:
            raise ValueError(f"max must be larger than min in range parameter, got {range!r}")
        lo, hi = asarray(range[0], dt), asarray(range[1], dt)
    same = equal(lo, hi)
    lo, hi = where(same, lo - 0.5, lo), where(same, hi + 0.5, hi)
    return linspace(lo, hi, bins + 1, dtype=dt)


def _bin_index(x, edges):
    # searchsorted(side='right') is 0 below the first edge and len(edges) past the last; the last
    # edge itself belongs to the last bin, as in NumPy.
    idx = searchsorted(edges, x, side="right")
    return where(equal(x, edges[-1]), edges.shape[0] - 1, idx)


def histogram(a, bins=10, range=None, weights=None, density=None):
    """(counts, bin_edges), as np.histogram; counts are float (a's float dtype, or the weights')."""
    a = ravel(asarray(a))
    edges = histogram_bin_edges(a, bins, range, weights)
    w = ones_like(a, _float_dtype(a.dtype)) if weights is None else ravel(asarray(weights))
    if w.shape != a.shape:
        raise ValueError(f"histogram: weights of shape {w.shape} for a of shape {a.shape}")
    idx = _bin_index(a, edges)
    # bin 0 collects values below the range; index len(edges) (past the end) is dropped by the scatter
    # (out-of-bounds scatter updates are dropped, as in JAX)
    counts = zeros(edges.shape[0], w.dtype).at[idx].add(w)[1:]
    if density:
        counts = counts / diff(edges) / sum(counts)
    return counts, edges


def histogramdd(sample, bins=10, range=None, weights=None, density=None):
    """(hist, [edges per dimension]) of the rows of `sample` (N, D), as np.histogramdd."""
    # (`range` is the parameter's name, as in NumPy: the builtin is _range here)
    sample = asarray(sample)
    if sample.ndim != 2:
        raise ValueError(f"histogramdd: sample must be 2-D (N, D), got shape {sample.shape}")
    n, d = sample.shape
    bins = [bins] * d if isinstance(bins, int) else list(bins)
    ranges = [None] * d if range is None else list(range)
    if len(bins) != d or len(ranges) != d:
        raise ValueError(f"histogramdd: need {d} bins and ranges for a sample of {d} dimensions")
    w = ones_like(sample[:, 0], _float_dtype(sample.dtype)) if weights is None else asarray(weights)
    edges, flat, valid, sizes = [], 0, None, []
    for i in _range(d):
        e = histogram_bin_edges(sample[:, i], bins[i], ranges[i])
        idx = _bin_index(sample[:, i], e)
        inside = logical_and(idx >= 1, idx <= e.shape[0] - 1)
        valid = inside if valid is None else logical_and(valid, inside)
        nb = e.shape[0] - 1
        flat = flat * nb + (idx - 1)
        edges.append(e)
        sizes.append(nb)
    total = int(np.prod(sizes))
    flat = where(valid, flat, total)           # out of range: past the end, dropped
    hist = reshape(zeros(total, w.dtype).at[flat].add(w), tuple(sizes))
    if density:
        hist = hist / sum(hist)
        for i, e in enumerate(edges):
            shape = [1] * d
            shape[i] = sizes[i]
            hist = hist / reshape(diff(e), tuple(shape))
    return hist, edges


_range = range


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):
    """(hist, xedges, yedges), as np.histogram2d."""
    x, y = asarray(x), asarray(y)
    if not isinstance(bins, int) and np.ndim(bins) == 1 and len(bins) != 2:
        bins = [bins, bins]         # one array of edges for both dimensions
    hist, (ex, ey) = histogramdd(stack([x, y], axis=1), bins, range, weights, density)
    return hist, ex, ey

