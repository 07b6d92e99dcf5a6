"""gpuxla.lax: the primitives by their JAX names, exact about dtypes (no implicit promotion
beyond weakly-typed Python scalars taking the other operand's dtype)."""
import builtins

import numpy as np

from ..core import dtypes
from ..core import primitives as P
from ..core.graph import Array, constant, Aval

_map = builtins.map   # lax.map (control flow) takes the public name
_PY_SCALARS = (bool, int, float, builtins.complex)   # lax.complex takes the public name


def asarray(x, dtype=None):
    """An Array from `x`; Python scalars become weakly typed constants."""
    if isinstance(x, Array):
        return x if dtype is None or x.dtype == np.dtype(dtype) else convert_element_type(x, dtype)
    if isinstance(x, _PY_SCALARS) and not isinstance(x, np.generic):
        dt = dtypes.canonicalize_dtype(dtype) if dtype is not None else dtypes.scalar_dtype_for_value(x)
        if dtype is None and type(x) is int:
            _check_int_range(x, dt)
        return constant(np.asarray(x, dt), weak_type=dtype is None and type(x) is not bool)
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"gpuxla cannot make an array from {type(x).__name__} values")
    dt = dtypes.canonicalize_dtype(dtype if dtype is not None else arr.dtype)
    return constant(dtypes.astype_numpy(arr, dt) if arr.dtype != dt else arr)


def _check_int_range(x, dt):
    info = np.iinfo(dt)
    if not info.min <= x <= info.max:
        raise OverflowError(f"Python int {x} too large to convert to {dt.name}")


def _operands(*xs):
    """Arrays for a lax n-ary op: Python scalars take the dtype of the Array operands."""
    ref = next((x for x in xs if isinstance(x, Array)), None)
    if ref is None:
        return [asarray(x) for x in xs]
    out = []
    for x in xs:
        if isinstance(x, Array):
            out.append(x)
        elif isinstance(x, _PY_SCALARS):
            out.append(constant(np.asarray(x).astype(ref.dtype), weak_type=True))
        else:
            out.append(asarray(x))
    return out


def _unary(p):
    def op(x, **params):
        return p.bind(_operands(x)[0], **params)
    op.__name__ = p.name
    return op


def _binary(p):
    def op(x, y):
        return p.bind(*_operands(x, y))
    op.__name__ = p.name
    return op


neg, sign, floor, ceil, is_finite = _map(_unary, (P.neg_p, P.sign_p, P.floor_p, P.ceil_p, P.is_finite_p))
exp, exp2, log, log1p, expm1, tanh, logistic = _map(
    _unary, (P.exp_p, P.exp2_p, P.log_p, P.log1p_p, P.expm1_p, P.tanh_p, P.logistic_p))
sin, cos, tan, asin, acos, atan = _map(_unary, (P.sin_p, P.cos_p, P.tan_p, P.asin_p, P.acos_p, P.atan_p))
sinh, cosh, asinh, acosh, atanh = _map(_unary, (P.sinh_p, P.cosh_p, P.asinh_p, P.acosh_p, P.atanh_p))
sqrt, rsqrt, cbrt, abs, erf, erfc, erf_inv = _map(
    _unary, (P.sqrt_p, P.rsqrt_p, P.cbrt_p, P.abs_p, P.erf_p, P.erfc_p, P.erf_inv_p))
lgamma, digamma, bitwise_not, population_count, clz = _map(
    _unary, (P.lgamma_p, P.digamma_p, P.not_p, P.population_count_p, P.clz_p))
add, sub, mul, div, rem, pow, max, min = _map(
    _binary, (P.add_p, P.sub_p, P.mul_p, P.div_p, P.rem_p, P.pow_p, P.max_p, P.min_p))
atan2, nextafter = _binary(P.atan2_p), _binary(P.nextafter_p)
bitwise_and, bitwise_or, bitwise_xor = _map(_binary, (P.and_p, P.or_p, P.xor_p))
shift_left, shift_right_logical, shift_right_arithmetic = _map(
    _binary, (P.shift_left_p, P.shift_right_logical_p, P.shift_right_arithmetic_p))
eq, ne, lt, le, gt, ge = _map(_binary, (P.eq_p, P.ne_p, P.lt_p, P.le_p, P.gt_p, P.ge_p))
bitwise_not.__name__ = "bitwise_not"


def fma(x, y, z):
    """x * y + z rounded once (IEEE fusedMultiplyAdd), elementwise.

    An internal op exported for gpuxla's own kernels (JAX has no public lax.fma): the float
    counterpart of what XLA emits for a contracted multiply-add. 16-bit floats compute in float32
    and round the result, as every op does; complex operands compute x * y + z.

    >>> lax.fma(np.float32(0.1), np.float32(10.0), np.float32(-1.0))   # doctest: +SKIP
    Array(1.4901161e-08, dtype=float32)
    """
    return P.fma_p.bind(*_operands(x, y, z))


class RoundingMethod:
    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def round(x, rounding_method=RoundingMethod.AWAY_FROM_ZERO):
    return P.round_p.bind(_operands(x)[0], rounding_method=int(rounding_method))


def integer_pow(x, y):
    return P.integer_pow_p.bind(_operands(x)[0], y=int(y))


def square(x):
    return integer_pow(x, 2)


def reciprocal(x):
    return div(*_operands(1, asarray(x)))


def stop_gradient(x):
    from ..tree_util import tree_map
    return tree_map(lambda v: P.stop_gradient_p.bind(asarray(v)), x)


def select_n(which, *cases):
    which, *cases = _operands(which, *cases)
    return P.select_n_p.bind(which, *cases)


def select(pred, on_true, on_false):
    """`on_true` where `pred` else `on_false` (lax.select)."""
    return select_n(pred, on_false, on_true)


def clamp(min, x, max):
    return P.min_p.bind(*_operands(P.max_p.bind(*_operands(x, min)), max))


def convert_element_type(x, new_dtype, weak_type=False):
    x = asarray(x)
    new_dtype = dtypes.canonicalize_dtype(new_dtype)
    if x.dtype == new_dtype and x.weak_type == weak_type:
        return x
    return P.convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=bool(weak_type))


def bitcast_convert_type(x, new_dtype):
    return P.bitcast_convert_type_p.bind(asarray(x), new_dtype=np.dtype(new_dtype))


def iota(dtype, size):
    return P.iota_p.bind(dtype=dtypes.canonicalize_dtype(dtype), shape=(int(size),), dimension=0)


def broadcasted_iota(dtype, shape, dimension):
    return P.iota_p.bind(dtype=dtypes.canonicalize_dtype(dtype), shape=tuple(int(d) for d in shape),
                         dimension=int(dimension))


def broadcast_in_dim(x, shape, broadcast_dimensions):
    x = asarray(x)
    shape, bd = tuple(int(d) for d in shape), tuple(int(d) for d in broadcast_dimensions)
    if x.shape == shape and bd == tuple(range(len(shape))):
        return x
    return P.broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=bd)


def broadcast(x, sizes):
    x = asarray(x)
    sizes = tuple(sizes)
    return broadcast_in_dim(x, sizes + x.shape, tuple(range(len(sizes), len(sizes) + x.ndim)))


def reshape(x, new_sizes, dimensions=None):
    x = asarray(x)
    if dimensions is not None:
        x = transpose(x, dimensions)
    new_sizes = tuple(int(d) for d in new_sizes)
    if x.shape == new_sizes:
        return x
    return P.reshape_p.bind(x, new_sizes=new_sizes)


def transpose(x, permutation):
    x = asarray(x)
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(x.ndim)):
        return x
    return P.transpose_p.bind(x, permutation=permutation)


def rev(x, dimensions):
    return P.rev_p.bind(asarray(x), dimensions=tuple(int(d) for d in dimensions))


def slice(x, start_indices, limit_indices, strides=None):
    x = asarray(x)
    start_indices, limit_indices = tuple(_map(int, start_indices)), tuple(_map(int, limit_indices))
    strides = None if strides is None or all(s == 1 for s in strides) else tuple(_map(int, strides))
    if start_indices == (0,) * x.ndim and limit_indices == x.shape and strides is None:
        return x
    return P.slice_p.bind(x, start_indices=start_indices, limit_indices=limit_indices, strides=strides)


def slice_in_dim(x, start_index, limit_index, stride=1, axis=0):
    x = asarray(x)
    start, limit = [0] * x.ndim, list(x.shape)
    strides = [1] * x.ndim
    start[axis], limit[axis], strides[axis] = start_index, limit_index, stride
    return slice(x, start, limit, strides)


def index_in_dim(x, index, axis=0, keepdims=True):
    x = asarray(x)
    index = index + x.shape[axis] if index < 0 else index
    y = slice_in_dim(x, index, index + 1, 1, axis)
    return y if keepdims else squeeze(y, (axis,))


def squeeze(x, dimensions):
    x = asarray(x)
    dimensions = tuple(P.canonicalize_axis(d, x.ndim, "squeeze") for d in dimensions)
    for d in dimensions:
        if x.shape[d] != 1:
            raise ValueError(f"squeeze: cannot squeeze axis {d} of size {x.shape[d]} in array of shape {x.shape}")
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if i not in dimensions))


def expand_dims(x, dimensions):
    x = asarray(x)
    ndim = x.ndim + len(dimensions)
    dims = sorted(P.canonicalize_axis(d, ndim, "expand_dims") for d in dimensions)
    shape = list(x.shape)
    for d in dims:
        shape.insert(d, 1)
    return reshape(x, shape)


def pad(x, padding_value, padding_config):
    x, v = _operands(x, padding_value)
    cfg = tuple((int(lo), int(hi), int(it)) for lo, hi, it in padding_config)
    return P.pad_p.bind(x, v, padding_config=cfg)


def concatenate(operands, dimension):
    ops = _operands(*operands)
    if len(ops) == 1:
        return ops[0]
    return P.concatenate_p.bind(*ops, dimension=int(dimension))


def dynamic_slice(x, start_indices, slice_sizes):
    x = asarray(x)
    idx = [_start_index(i, d) for i, d in zip(start_indices, x.shape)]
    return P.dynamic_slice_p.bind(x, *idx, slice_sizes=tuple(_map(int, slice_sizes)))


def dynamic_update_slice(x, update, start_indices):
    x, update = _operands(x, update)
    idx = [_start_index(i, d) for i, d in zip(start_indices, x.shape)]
    return P.dynamic_update_slice_p.bind(x, update, *idx)


def dynamic_slice_in_dim(x, start_index, slice_size, axis=0):
    x = asarray(x)
    starts = [0] * x.ndim
    sizes = list(x.shape)
    starts[axis], sizes[axis] = start_index, slice_size
    return dynamic_slice(x, starts, sizes)


def dynamic_index_in_dim(x, index, axis=0, keepdims=True):
    y = dynamic_slice_in_dim(x, index, 1, axis)
    return y if keepdims else squeeze(y, (axis,))


def dynamic_update_slice_in_dim(x, update, start_index, axis):
    x = asarray(x)
    starts = [0] * x.ndim
    starts[axis] = start_index
    return dynamic_update_slice(x, update, starts)


def _start_index(i, dim):
    """A start index as JAX takes it: negative ones count from the end (then the primitive clamps)."""
    if isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
        return _index_scalar(int(i) + dim if i < 0 else int(i))
    i = _index_scalar(i)
    return select(lt(i, 0), add(i, dim), i)


def _index_scalar(i):
    i = asarray(i)
    if i.shape != () or not np.issubdtype(i.dtype, np.integer):
        raise TypeError(f"start indices must be integer scalars, got {i.aval.str_short()}")
    return convert_element_type(i, dtypes.default_int_dtype()) if i.dtype != dtypes.default_int_dtype() else i


def _reducer(p):
    def op(x, axes):
        x = asarray(x)
        axes = tuple(sorted(P.canonicalize_axis(a, x.ndim, p.name) for a in axes))
        return p.bind(x, axes=axes)
    op.__name__ = p.name
    return op


reduce_sum, reduce_prod, reduce_max, reduce_min, reduce_and, reduce_or = _map(
    _reducer, (P.reduce_sum_p, P.reduce_prod_p, P.reduce_max_p, P.reduce_min_p, P.reduce_and_p, P.reduce_or_p))


def argmax(x, axis, index_dtype):
    x = asarray(x)
    return P.argmax_p.bind(x, axes=(P.canonicalize_axis(axis, x.ndim, "argmax"),),
                        index_dtype=dtypes.canonicalize_dtype(index_dtype))


def argmin(x, axis, index_dtype):
    x = asarray(x)
    return P.argmin_p.bind(x, axes=(P.canonicalize_axis(axis, x.ndim, "argmin"),),
                        index_dtype=dtypes.canonicalize_dtype(index_dtype))


def _cumulative(p):
    def op(x, axis=0, reverse=False):
        x = asarray(x)
        return p.bind(x, axis=P.canonicalize_axis(axis, x.ndim, p.name), reverse=bool(reverse))
    op.__name__ = p.name
    return op


cumsum, cumprod, cummax, cummin, cumlogsumexp = _map(
    _cumulative, (P.cumsum_p, P.cumprod_p, P.cummax_p, P.cummin_p, P.cumlogsumexp_p))


def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """Sort along `dimension` (lax.sort). A sequence of arrays of one shape is sorted together,
    lexicographically by its first `num_keys` arrays: a stable argsort by the last key, refined by
    each earlier one, and every array taken in that order. Sorting is always stable here."""
    if not isinstance(operand, (list, tuple)):
        x = asarray(operand)
        if num_keys != 1:
            raise ValueError(f"sort: num_keys={num_keys} needs a sequence of at least {num_keys} operands")
        return P.sort_p.bind(x, dimension=P.canonicalize_axis(dimension, x.ndim, "sort"))
    ops = [asarray(o) for o in operand]
    if not ops or not 1 <= num_keys <= len(ops):
        raise ValueError(f"sort: num_keys={num_keys} must be between 1 and the number of operands ({len(ops)})")
    if len({o.shape for o in ops}) != 1:
        raise TypeError(f"sort: operands must all have the same shape, got {[o.shape for o in ops]}")
    if len(ops) == 1:
        return (sort(ops[0], dimension),)
    d = P.canonicalize_axis(dimension, ops[0].ndim, "sort")
    perm = argsort(ops[num_keys - 1], d, np.int32)
    for key in reversed(ops[:num_keys - 1]):
        perm = _take_along_axis(perm, argsort(_take_along_axis(key, perm, d), d, np.int32), d)
    return tuple(_take_along_axis(o, perm, d) for o in ops)


def argsort(x, dimension=-1, index_dtype=None):
    x = asarray(x)
    return P.argsort_p.bind(x, dimension=P.canonicalize_axis(dimension, x.ndim, "argsort"),
                            index_dtype=dtypes.canonicalize_dtype(index_dtype or dtypes.default_int_dtype()))


def top_k(x, k):
    """The k largest entries along the last axis and their indices (lax.top_k)."""
    x = asarray(x)
    last = x.ndim - 1
    # Descending with ties in index order (as JAX): stable-sort the reversed row ascending, then
    # read the order backwards and map positions back. Indices are int32, as in JAX.
    order = rev(argsort(rev(x, (last,)), -1, np.int32), (last,))
    idx = slice_in_dim(sub(full_like(order, x.shape[last] - 1), order), 0, k, axis=last)
    return _take_along_axis(x, idx, last), idx


def _take_along_axis(x, idx, axis):
    """x's entries at the integer positions `idx` along `axis` (every one in range); idx has x's
    shape except along `axis`. The gather that jnp.take_along_axis makes, for lax's composites."""
    idx = convert_element_type(idx, np.int32)
    points = [idx if k == axis else broadcasted_iota(np.int32, idx.shape, k) for k in range(x.ndim)]
    stacked = concatenate([reshape(i, i.shape + (1,)) for i in points], idx.ndim)
    return gather_points(x, stacked, tuple(range(x.ndim)), "clip")


class Precision:
    DEFAULT, HIGH, HIGHEST = "DEFAULT", "HIGH", "HIGHEST"


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None, out_sharding=None):
    if out_sharding is not None:
        from ..sharding import Sharding
        if not isinstance(out_sharding, Sharding):      # gpuxla's shardings all name its one device
            raise NotImplementedError(f"lax.dot_general(out_sharding={out_sharding!r}) is not in gpuxla yet: only "
                                      "None or a one-device Sharding is accepted")
    lhs, rhs = _operands(lhs, rhs)
    (lc, rc), (lb, rb) = dimension_numbers
    dn = ((tuple(_map(int, lc)), tuple(_map(int, rc))), (tuple(_map(int, lb)), tuple(_map(int, rb))))
    pet = None if preferred_element_type is None else dtypes.canonicalize_dtype(preferred_element_type)
    return P.dot_general_p.bind(lhs, rhs, dimension_numbers=dn, precision=_precision(precision),
                                preferred_element_type=pet)


def _precision(p):
    if p is None:
        return None
    if isinstance(p, (tuple, list)):
        p = p[0]
    return str(getattr(p, "name", p)).upper()


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    lhs, rhs = _operands(lhs, rhs)
    if lhs.ndim > 2 or rhs.ndim > 2 or lhs.ndim == 0 or rhs.ndim == 0:
        raise TypeError(f"lax.dot takes vectors or matrices, got {lhs.aval.str_short()} and {rhs.aval.str_short()}")
    return dot_general(lhs, rhs, (((lhs.ndim - 1,), (0,)), ((), ())), precision, preferred_element_type)


def full(shape, fill_value, dtype=None):
    shape = tuple(int(d) for d in np.atleast_1d(shape)) if not isinstance(shape, tuple) else tuple(_map(int, shape))
    v = asarray(fill_value, dtype)
    if v.shape != ():
        raise TypeError(f"full: fill_value must be a scalar, got shape {v.shape}")
    return broadcast(v, shape)


def full_like(x, fill_value, dtype=None, shape=None):
    """An array like `x` filled with `fill_value`; it keeps x's weak type when no dtype is given."""
    x = asarray(x)
    out = full(x.shape if shape is None else shape, fill_value, dtype or x.dtype)
    if dtype is None and x.weak_type and not out.weak_type:
        out = convert_element_type(out, out.dtype, weak_type=True)
    return out


def zeros_like_array(x):
    return full_like(x, 0)


def gather_points(x, indices, axes, mode="clip", fill_value=None):
    """x indexed along `axes` by integer `indices` of shape B + (len(axes),)."""
    return P.gather_p.bind(asarray(x), asarray(indices), axes=tuple(axes), mode=mode, fill_value=fill_value)


def scatter_points(x, indices, updates, axes, mode="set"):
    x, updates = _operands(x, updates)
    return P.scatter_p.bind(x, asarray(indices), updates, axes=tuple(axes), mode=mode)

# The family modules, each with its primitives' rows; they import the wrappers above.
from .collectives import psum, pmean, pmax, pmin, all_gather, axis_index, psum_scatter, ppermute, all_to_all  # noqa: E402,E501
from .conv import *  # noqa: E402,F401,F403
from .fft import *  # noqa: E402,F401,F403
from . import linalg  # noqa: E402,F401
from .windowed import *  # noqa: E402,F401,F403
from .control_flow import cond, switch, while_loop, fori_loop, scan, map  # noqa: E402,F401
from .associative_scan import associative_scan  # noqa: E402,F401
from .linear_solve import custom_linear_solve, custom_root  # noqa: E402,F401
from .fft import complex  # noqa: E402,F401


def broadcast_shapes(*shapes):
    """The shape `shapes` broadcast to (lax.broadcast_shapes), or ValueError naming them."""
    try:
        return tuple(np.broadcast_shapes(*(tuple(s) for s in shapes)))
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={[tuple(s) for s in shapes]}") from None


def optimization_barrier(operand):
    """JAX's barrier against moving computation across it; gpuxla's fusion never moves work out of
    program order, so it is the identity on the pytree."""
    return operand
from .special import (igamma, igammac, igamma_grad_a, random_gamma_grad, zeta, polygamma, bessel_i0e,  # noqa: E402,F401
                      bessel_i1e, betainc)
from .slicing import (GatherDimensionNumbers, ScatterDimensionNumbers, GatherScatterMode, gather,  # noqa: E402,F401
                      scatter, scatter_add, scatter_sub, scatter_mul, scatter_min, scatter_max, scatter_apply)
from .rng import RandomAlgorithm, rng_bit_generator, mulhi  # noqa: E402,F401
from .misc import (axis_size, approx_max_k, approx_min_k, ragged_dot, platform_dependent,  # noqa: E402,F401
                   with_sharding_constraint, composite, shape_as_value, RaggedDotDimensionNumbers,
                   ragged_dot_general)
from . import misc as _misc  # noqa: E402
globals()["dtype"] = _misc.dtype     # lax.dtype (many signatures above name a parameter dtype)

# The elementwise primitives under JAX's names (lax.add_p, ...), for code that keys tables on them
# or binds them directly; they take no parameters, as JAX's (whose float ones add `accuracy`).
globals().update({p.name + "_p": p for p in vars(P).values()
                  if isinstance(p, P.Primitive) and p.family in ("unary", "binary", "compare")
                  and p.name not in ("integer_pow", "round")})
select_n_p, stop_gradient_p = P.select_n_p, P.stop_gradient_p
