"""Convolutions (lax.conv_general_dilated and its conveniences) as composites.

A convolution is im2col: pad the input (lhs dilation = interior padding), take one strided slice
per kernel tap (rhs dilation = the tap's offset), stack the taps and contract them with the kernel
in one dot_general (feature/batch groups become dot_general batch dimensions). So the derivative
and batching rules of pad/slice/concatenate/dot_general cover convolutions, and the dot goes to
the matrix-multiply library on the GPU.

>>> import gpuxla.numpy as jnp, gpuxla.lax as lax
>>> x = jnp.arange(5.0).reshape(1, 1, 5)
>>> lax.conv(x, jnp.ones((1, 1, 2)), (1,), "VALID")
Array([[[1., 3., 5., 7.]]], dtype=float32)
"""
import collections
import itertools

import numpy as np

from ..core import dtypes

ConvDimensionNumbers = collections.namedtuple("ConvDimensionNumbers", ["lhs_spec", "rhs_spec", "out_spec"])
ConvDimensionNumbers.__doc__ = """Dimension indices (batch/out-feature, feature/in-feature, spatial...) of
lhs, rhs and output, as in JAX."""


def _lax():
    from .. import lax
    return lax


def conv_general_permutations(dimension_numbers):
    """Permutations putting lhs/rhs/out into (N, C, spatial...) / (O, I, spatial...) / (N, C, ...)
    with spatial dims in the rhs spec's order."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (a, b) in enumerate(pairs):
        spec = dimension_numbers[i]
        if not spec.count(a) == spec.count(b) == 1:
            raise TypeError(f"convolution dimension_numbers[{i}] must contain the characters '{a}' and '{b}' "
                            f"exactly once, got {spec}.")
        if len(spec) != len(set(spec)):
            raise TypeError(f"convolution dimension_numbers[{i}] cannot have duplicate characters, got {spec}.")
    if not set(lhs_spec) - {"N", "C"} == set(rhs_spec) - {"O", "I"} == set(out_spec) - {"N", "C"}:
        raise TypeError(f"convolution dimension_numbers elements must each have the same set of spatial "
                        f"characters, got {dimension_numbers}.")

    def perm(spec, pair):
        spatial = [i for i, c in enumerate(spec) if c not in pair]
        if spec is not rhs_spec:
            spatial = sorted(spatial, key=lambda i: rhs_spec.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)
    return tuple(perm(s, p) for s, p in zip(dimension_numbers, pairs))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers):
    """A ConvDimensionNumbers from None (NCHW/OIHW/NCHW), three spec strings or itself."""
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    if len(lhs_shape) != len(rhs_shape):
        raise TypeError(f"convolution requires lhs and rhs ndim to be equal, got {len(lhs_shape)} and "
                        f"{len(rhs_shape)}.")
    if dimension_numbers is None:
        iota = tuple(range(len(lhs_shape)))
        return ConvDimensionNumbers(iota, iota, iota)
    if isinstance(dimension_numbers, (list, tuple)) and len(dimension_numbers) == 3:
        if all(isinstance(s, str) for s in dimension_numbers):
            for s, shape in zip(dimension_numbers, (lhs_shape, rhs_shape, lhs_shape)):
                if len(s) != len(shape):
                    raise TypeError(f"convolution dimension_numbers {dimension_numbers} do not match operand rank "
                                    f"{len(shape)}")
            return ConvDimensionNumbers(*conv_general_permutations(dimension_numbers))
        return ConvDimensionNumbers(*(tuple(map(int, s)) for s in dimension_numbers))
    raise TypeError(f"convolution dimension_numbers must be None, a ConvDimensionNumbers or a tuple of three "
                    f"strings, got {dimension_numbers!r}")


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """(lo, hi) pairs for 'SAME' (extra padding at the end), 'SAME_LOWER' or 'VALID'."""
    p = str(getattr(padding, "name", padding)).upper()
    if p == "VALID":
        return [(0, 0)] * len(in_shape)
    if p in ("SAME", "SAME_LOWER"):
        out = [-(-i // s) for i, s in zip(in_shape, window_strides)]
        total = [max((o - 1) * s + w - i, 0) for o, s, w, i in zip(out, window_strides, window_shape, in_shape)]
        if p == "SAME":
            return [(t // 2, t - t // 2) for t in total]
        return [(t - t // 2, t // 2) for t in total]
    raise TypeError(f"Unknown padding type: {padding!r}; expected 'SAME', 'SAME_LOWER', 'VALID' or (lo, hi) pairs")


def _dilate(n, d):
    return 0 if n == 0 else 1 + d * (n - 1)


def _taps(x, kernel, strides, rhs_dilation, out_sp):
    """Stack the strided slice of every kernel tap: x (N, C, *S) -> (N, C, K, *out_sp)."""
    lax = _lax()
    nsp = len(kernel)
    taps = []
    for offs in itertools.product(*(range(k) for k in kernel)):
        start = [0, 0] + [o * d for o, d in zip(offs, rhs_dilation)]
        limit = list(x.shape[:2]) + [s + (n - 1) * st + 1 for s, n, st in zip(start[2:], out_sp, strides)]
        sl = lax.slice(x, start, limit, [1, 1] + list(strides))
        taps.append(lax.expand_dims(sl, (2,)))
    if not taps:
        raise ValueError("conv_general_dilated: the kernel has no taps (a zero-sized spatial dimension)")
    return taps[0] if len(taps) == 1 else lax.concatenate(taps, 2), nsp


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1, precision=None,
                         preferred_element_type=None, out_sharding=None):
    """General N-d convolution (cross-correlation, as XLA's), with strides, padding ('SAME',
    'SAME_LOWER', 'VALID' or (lo, hi) pairs), input (lhs) and kernel (rhs) dilation, layouts given by
    `dimension_numbers`, and feature or batch groups. `out_sharding` may only be None."""
    if out_sharding is not None:
        from ..sharding import Sharding
        if not isinstance(out_sharding, Sharding):      # gpuxla's shardings all name its one device
            raise NotImplementedError(f"lax.conv_general_dilated(out_sharding={out_sharding!r}) is not in gpuxla "
                                      "yet: only None or a one-device Sharding is accepted")
    lax = _lax()
    lhs, rhs = lax._operands(lhs, rhs)
    if lhs.dtype != rhs.dtype:
        dt = dtypes.result_type(lhs, rhs)
        lhs, rhs = lax.convert_element_type(lhs, dt), lax.convert_element_type(rhs, dt)
    dn = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    nsp = lhs.ndim - 2
    if nsp < 0 or rhs.ndim != lhs.ndim:
        raise TypeError(f"conv_general_dilated: lhs {lhs.shape} and rhs {rhs.shape} must have equal rank >= 2")
    strides = tuple(map(int, window_strides)) if window_strides is not None else (1,) * nsp
    lhs_dilation = tuple(map(int, lhs_dilation)) if lhs_dilation is not None else (1,) * nsp
    rhs_dilation = tuple(map(int, rhs_dilation)) if rhs_dilation is not None else (1,) * nsp
    for name, v in (("window_strides", strides), ("lhs_dilation", lhs_dilation), ("rhs_dilation", rhs_dilation)):
        if len(v) != nsp or any(s < 1 for s in v):
            raise ValueError(f"conv_general_dilated: {name} must be {nsp} positive integers, got {v}")
    x = lax.transpose(lhs, dn.lhs_spec)           # (N, C, *S)
    w = lax.transpose(rhs, dn.rhs_spec)           # (O, I, *K)
    N, C = x.shape[:2]
    O, I = w.shape[:2]
    G, B = int(feature_group_count), int(batch_group_count)
    if G < 1 or B < 1 or (G > 1 and B > 1):
        raise ValueError(f"conv_general_dilated: feature_group_count ({G}) and batch_group_count ({B}) must be "
                         "positive and at most one of them > 1")
    if C % G or C // G != I or O % G:
        raise ValueError(f"conv_general_dilated: lhs features {C} / feature_group_count {G} must equal the rhs "
                         f"input features {I}, and rhs output features {O} must be a multiple of {G} "
                         f"(lhs {lhs.shape}, rhs {rhs.shape}, dimension_numbers {tuple(dn)})")
    if N % B or O % B or (B > 1 and C != I):
        raise ValueError(f"conv_general_dilated: batch_group_count {B} must divide the lhs batch {N} and the rhs "
                         f"output features {O}")
    kernel = w.shape[2:]
    if isinstance(padding, str) or hasattr(padding, "name"):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError("String padding is not implemented for transposed convolution using this op (lhs_dilation "
                             f"{lhs_dilation}). Please either exactly specify the required padding "
                             "or use conv_transpose.")
        padding = padtype_to_pads(x.shape[2:], [_dilate(k, d) for k, d in zip(kernel, rhs_dilation)], strides, padding)
    padding = [tuple(map(int, p)) for p in padding]
    if len(padding) != nsp:
        raise ValueError(f"conv_general_dilated: padding needs {nsp} (lo, hi) pairs, got {padding}")
    cfg = [(0, 0, 0), (0, 0, 0)] + [(lo, hi, d - 1) for (lo, hi), d in zip(padding, lhs_dilation)]
    xp = lax.pad(x, lax.full((), 0, x.dtype), cfg)
    out_sp = [(s - _dilate(k, d)) // st + 1 if s >= _dilate(k, d) else 0
              for s, k, d, st in zip(xp.shape[2:], kernel, rhs_dilation, strides)]
    if any(o <= 0 for o in out_sp):
        raise ValueError(f"conv_general_dilated: the (padded, dilated) input {tuple(xp.shape[2:])} is smaller than "
                         f"the (dilated) kernel {tuple(_dilate(k, d) for k, d in zip(kernel, rhs_dilation))}")
    patches, _ = _taps(xp, kernel, strides, rhs_dilation, out_sp)   # (N, C, K, *out)
    K = int(np.prod(kernel, dtype=np.int64))
    prec, pet = precision, preferred_element_type
    if G == 1 and B == 1:
        wk = lax.reshape(w, (O, C, K))
        out = lax.dot_general(patches, wk, (((1, 2), (1, 2)), ((), ())), prec, pet)   # (N, *out, O)
        out = lax.transpose(out, (0, nsp + 1) + tuple(range(1, nsp + 1)))
    elif G > 1:
        pg = lax.reshape(patches, (N, G, C // G, K) + tuple(out_sp))
        wg = lax.reshape(w, (G, O // G, C // G, K))
        out = lax.dot_general(pg, wg, (((2, 3), (2, 3)), ((1,), (0,))), prec, pet)     # (G, N, *out, O/G)
        out = lax.transpose(out, (1, 0, nsp + 2) + tuple(range(2, nsp + 2)))
        out = lax.reshape(out, (N, O) + tuple(out_sp))
    else:
        pb = lax.reshape(patches, (B, N // B, C, K) + tuple(out_sp))
        wb = lax.reshape(w, (B, O // B, C, K))
        out = lax.dot_general(pb, wb, (((2, 3), (2, 3)), ((0,), (0,))), prec, pet)     # (B, N/B, *out, O/B)
        out = lax.transpose(out, (1, 0, nsp + 2) + tuple(range(2, nsp + 2)))
        out = lax.reshape(out, (N // B, O) + tuple(out_sp))
    return lax.transpose(out, tuple(np.argsort(dn.out_spec)))


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """conv_general_dilated with NCHW input, OIHW kernel and no dilation."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, precision=None,
                              preferred_element_type=None):
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                precision=precision, preferred_element_type=preferred_element_type)


def _conv_transpose_padding(k, s, padding):
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else int(np.ceil(pad_len / 2))
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    elif isinstance(padding, tuple):
        pads = tuple(k - p - 1 for p in padding)
        pad_a, pad_len = pads[0], sum(pads)
    else:
        raise ValueError(f"Invalid padding mode: {padding}")
    return pad_a, pad_len - pad_a


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None, transpose_kernel=False,
                   precision=None, preferred_element_type=None, use_consistent_padding=False):
    """Transposed (fractionally strided) convolution, as jax.lax.conv_transpose (default layouts
    NC/NHC/NHWC/NHWDC with IO kernels; string padding describes the forward convolution)."""
    lax = _lax()
    lhs, rhs = lax._operands(lhs, rhs)
    nd = lhs.ndim
    if dimension_numbers is None:
        defaults = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"), 4: ("NHWC", "HWIO", "NHWC"),
                    5: ("NHWDC", "HWDIO", "NHWDC")}
        if nd not in defaults:
            raise ValueError("No 4+ dimensional dimension_number defaults.")
        dimension_numbers = defaults[nd]
    dn = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    ksp = [rhs.shape[i] for i in dn.rhs_spec[2:]]
    rhs_dilation = tuple(rhs_dilation) if rhs_dilation is not None else (1,) * (nd - 2)
    if use_consistent_padding or (isinstance(padding, str) and padding in ("SAME", "VALID")):
        ks = [_dilate(k, d) for k, d in zip(ksp, rhs_dilation)]
        reps = [padding] * len(strides) if isinstance(padding, str) else [tuple(p) for p in padding]
        pads = [_conv_transpose_padding(k, s, p) for k, s, p in zip(ks, strides, reps)]
    else:
        pads = padding
    if transpose_kernel:
        rhs = lax.rev(rhs, dn.rhs_spec[2:])
        perm = list(range(nd))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = perm[dn.rhs_spec[1]], perm[dn.rhs_spec[0]]
        rhs = lax.transpose(rhs, perm)
    return conv_general_dilated(lhs, rhs, (1,) * (nd - 2), pads, strides, rhs_dilation, dn,
                                precision=precision, preferred_element_type=preferred_element_type)


def conv_general_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    dn = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    lhs_t = [lhs_shape[i] for i in dn.lhs_spec]
    rhs_t = [rhs_shape[i] for i in dn.rhs_spec]
    if isinstance(padding, str):
        padding = padtype_to_pads(lhs_t[2:], rhs_t[2:], window_strides, padding)
    out_sp = [(i + lo + hi - k) // s + 1 for i, (lo, hi), k, s in zip(lhs_t[2:], padding, rhs_t[2:], window_strides)]
    out_t = [lhs_t[0], rhs_t[0]] + out_sp
    return tuple(out_t[int(j)] for j in np.argsort(dn.out_spec))


__all__ = ["ConvDimensionNumbers", "conv", "conv_dimension_numbers", "conv_general_dilated",
           "conv_general_permutations", "conv_general_shape_tuple", "conv_transpose", "conv_with_general_padding",
           "padtype_to_pads"]
