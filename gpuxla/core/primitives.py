"""The primitive set and its shape rules.

Primitives are lax-level and exact: operands of a binary op share a dtype (a rank-0 operand may
meet an array of any shape, as in JAX's jaxprs); `gpuxla.numpy` promotes and broadcasts before it
binds. Shape rules run when a node is created, so bad shapes and dtypes fail at the call.
Families share rules; the tables of derivative, batching and CUDA rules are keyed by these
objects.
"""
import operator

import numpy as np

from .graph import FREE, SLOW, TRANSCENDENTAL, PRIMITIVES, Aval, Primitive, shape_rules

_F = "float"      # inexact (float or complex)
_I = "int"        # integer (signed or unsigned)
_B = "bool"
_ALL = (_F, _I, _B)


def _kind(dtype):
    d = np.dtype(dtype)
    if d == np.bool_:
        return _B
    if np.issubdtype(d, np.integer):
        return _I
    return _F


def _fmt(avals):
    return ", ".join(a.str_short() for a in avals)


def _check_kinds(name, avals, kinds):
    for a in avals:
        if _kind(a.dtype) not in kinds:
            raise TypeError(f"{name} does not accept dtype {a.dtype.name} (operands: {_fmt(avals)}); "
                            f"it takes {' or '.join(kinds)} operands.")


def _naryop_shape(name, avals):
    shapes = [a.shape for a in avals if a.shape != ()]
    if shapes and any(s != shapes[0] for s in shapes):
        raise TypeError(f"{name} got incompatible shapes for broadcasting: {_fmt(avals)}. Operands of "
                        f"lax.{name} must have equal shapes or be scalars; jax.numpy broadcasts for you.")
    return shapes[0] if shapes else ()


def canonicalize_axis(axis, ndim, op=None):
    """`axis` as an index in [0, ndim), negative ones counting from the end, or JAX's ValueError.
    A 0-d operand has no axis at all; under vmap, `ndim` is the per-example rank, so a per-example
    scalar reduced over axis 0 fails as it does without vmap."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op + ': ' if op else ''}axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _group(test):
    return property(lambda self: tuple(p for p in PRIMITIVES.values() if test(p)))


class _Groups:
    """The primitives that share a trait, in declaration order (tinygrad's GroupOp), for tables
    that register a row per member. Each read scans the registry, so primitives declared in other
    modules join their groups; code asking about one primitive reads its trait instead."""
    unary = _group(lambda p: p.family == "unary")
    binary = _group(lambda p: p.family == "binary")
    compare = _group(lambda p: p.family == "compare")
    reduce = _group(lambda p: p.family == "reduce")
    elementwise = _group(lambda p: p.elementwise)
    library = _group(lambda p: p.library)
    marker = _group(lambda p: p.marker)
    nondiff = _group(lambda p: p.nondiff)


GROUP = _Groups()


# --- elementwise families -------------------------------------------------------------------
def _unop(name, kinds=_ALL, out_dtype=None, **traits):
    p = Primitive(name, family="unary", elementwise=True, **traits)

    def rule(avals, **params):
        (a,) = avals
        _check_kinds(name, avals, kinds)
        return Aval(a.shape, out_dtype or a.dtype, a.weak_type and out_dtype is None)
    shape_rules[p] = rule
    return p


def _binop(name, kinds=_ALL, out_dtype=None, family="binary", **traits):
    p = Primitive(name, family=family, elementwise=True, **traits)

    def rule(avals, **params):
        _check_kinds(name, avals, kinds)
        if any(a.dtype != avals[0].dtype for a in avals):
            raise TypeError(f"{name} requires arguments to have the same dtypes, got {_fmt(avals)}. "
                            "Convert one with .astype or use jax.numpy, which promotes.")
        shape = _naryop_shape(name, avals)
        return Aval(shape, out_dtype or avals[0].dtype,
                    all(a.weak_type for a in avals) and out_dtype is None)
    shape_rules[p] = rule
    return p


def _ternop(name, kinds=_ALL, **traits):
    return _binop(name, kinds, family="ternary", **traits)


_FO = (_F,)
neg_p = _unop("neg", (_F, _I), exact_low=True)
sign_p = _unop("sign", (_F, _I), exact_low=True, nondiff=True)
floor_p = _unop("floor", _FO, exact_low=True, nondiff=True)
ceil_p = _unop("ceil", _FO, exact_low=True, nondiff=True)
# param rounding_method: 0 away from zero, 1 to nearest even
round_p = _unop("round", _FO, exact_low=True, nondiff=True)
is_finite_p = _unop("is_finite", _FO, out_dtype=np.bool_, nondiff=True)
exp_p = _unop("exp", _FO, cost=TRANSCENDENTAL)
exp2_p = _unop("exp2", _FO, cost=TRANSCENDENTAL)
log_p = _unop("log", _FO, cost=TRANSCENDENTAL)
log1p_p = _unop("log1p", _FO, cost=TRANSCENDENTAL)
expm1_p = _unop("expm1", _FO, cost=TRANSCENDENTAL)
tanh_p = _unop("tanh", _FO, cost=TRANSCENDENTAL)
logistic_p = _unop("logistic", _FO, cost=TRANSCENDENTAL)
sin_p = _unop("sin", _FO, cost=TRANSCENDENTAL)
cos_p = _unop("cos", _FO, cost=TRANSCENDENTAL)
tan_p = _unop("tan", _FO, cost=TRANSCENDENTAL)
asin_p = _unop("asin", _FO, cost=TRANSCENDENTAL)
acos_p = _unop("acos", _FO, cost=TRANSCENDENTAL)
atan_p = _unop("atan", _FO, cost=TRANSCENDENTAL)
sinh_p = _unop("sinh", _FO, cost=TRANSCENDENTAL)
cosh_p = _unop("cosh", _FO, cost=TRANSCENDENTAL)
asinh_p = _unop("asinh", _FO, cost=TRANSCENDENTAL)
acosh_p = _unop("acosh", _FO, cost=TRANSCENDENTAL)
atanh_p = _unop("atanh", _FO, cost=TRANSCENDENTAL)
sqrt_p = _unop("sqrt", _FO, cost=TRANSCENDENTAL, correctly_rounded=True)
rsqrt_p = _unop("rsqrt", _FO, cost=TRANSCENDENTAL)
cbrt_p = _unop("cbrt", _FO, cost=TRANSCENDENTAL)
abs_p = _unop("abs", (_F, _I), exact_low=True)
erf_p = _unop("erf", _FO, cost=TRANSCENDENTAL)
erfc_p = _unop("erfc", _FO, cost=TRANSCENDENTAL)
erf_inv_p = _unop("erf_inv", _FO, cost=TRANSCENDENTAL)
lgamma_p = _unop("lgamma", _FO, cost=TRANSCENDENTAL)
digamma_p = _unop("digamma", _FO, cost=TRANSCENDENTAL)
not_p = _unop("not", (_I, _B), nondiff=True)
population_count_p = _unop("population_count", (_I,), nondiff=True)
clz_p = _unop("clz", (_I,), nondiff=True)
integer_pow_p = _unop("integer_pow", (_F, _I), cost=SLOW)   # param y: a Python int
_unary_rule = shape_rules[integer_pow_p]


def _integer_pow_rule(avals, y):
    # As JAX: 1 / x is no integer, so a negative power of an integer is refused, not wrapped.
    if y < 0 and _kind(avals[0].dtype) == _I:
        raise TypeError(f"Integers cannot be raised to negative powers, got integer_pow({avals[0].str_short()}, {y})")
    return _unary_rule(avals, y=y)


shape_rules[integer_pow_p] = _integer_pow_rule
stop_gradient_p = _unop("stop_gradient", marker=True, nondiff=True)
# wrap_p is the identity; transformations use it to mark the leaves they differentiate or batch
# with respect to, so nested transformations each see their own leaves.
wrap_p = _unop("wrap", marker=True)

add_p = _binop("add", (_F, _I), correctly_rounded=True)
sub_p = _binop("sub", (_F, _I), correctly_rounded=True)
mul_p = _binop("mul", (_F, _I), correctly_rounded=True)
div_p = _binop("div", (_F, _I), cost=SLOW, correctly_rounded=True)
rem_p = _binop("rem", (_F, _I), cost=SLOW, correctly_rounded=True)
pow_p = _binop("pow", _FO, cost=TRANSCENDENTAL)
max_p = _binop("max", exact_low=True)
min_p = _binop("min", exact_low=True)
atan2_p = _binop("atan2", _FO, cost=TRANSCENDENTAL)
nextafter_p = _binop("nextafter", _FO)
and_p = _binop("and", (_I, _B), nondiff=True)
or_p = _binop("or", (_I, _B), nondiff=True)
xor_p = _binop("xor", (_I, _B), nondiff=True)
shift_left_p = _binop("shift_left", (_I,), nondiff=True)
shift_right_logical_p = _binop("shift_right_logical", (_I,), nondiff=True)
shift_right_arithmetic_p = _binop("shift_right_arithmetic", (_I,), nondiff=True)
fma_p = _ternop("fma", _FO, correctly_rounded=True)   # x*y + z, rounded once
eq_p = _binop("eq", out_dtype=np.bool_, family="compare", nondiff=True)
ne_p = _binop("ne", out_dtype=np.bool_, family="compare", nondiff=True)
lt_p = _binop("lt", out_dtype=np.bool_, family="compare", nondiff=True)
le_p = _binop("le", out_dtype=np.bool_, family="compare", nondiff=True)
gt_p = _binop("gt", out_dtype=np.bool_, family="compare", nondiff=True)
ge_p = _binop("ge", out_dtype=np.bool_, family="compare", nondiff=True)

# select_n(which, *cases): which is bool (two cases) or int32; cases share an aval.
select_n_p = Primitive("select_n", elementwise=True, exact_low=True)


def _select_n_rule(avals):
    which, *cases = avals
    if not cases:
        raise TypeError("select_n needs at least one case")
    if any(c.dtype != cases[0].dtype for c in cases):
        raise TypeError(f"select_n cases must have the same dtypes, got {_fmt(cases)}")
    if which.dtype != np.bool_ and not np.issubdtype(which.dtype, np.integer):
        raise TypeError(f"select_n predicate must be bool or integer, got {which.dtype.name}")
    shape = _naryop_shape("select_n", avals)
    return Aval(shape, cases[0].dtype, all(c.weak_type for c in cases))


shape_rules[select_n_p] = _select_n_rule


# --- type conversion and creation -----------------------------------------------------------
convert_element_type_p = Primitive("convert_element_type", elementwise=True)
shape_rules[convert_element_type_p] = lambda avals, new_dtype, weak_type=False: Aval(
    avals[0].shape, new_dtype, weak_type)

bitcast_convert_type_p = Primitive("bitcast_convert_type", elementwise=True, nondiff=True)


def _bitcast_rule(avals, new_dtype):
    (a,) = avals
    if np.dtype(new_dtype).itemsize != a.dtype.itemsize:
        raise TypeError(f"bitcast_convert_type from {a.dtype.name} to {np.dtype(new_dtype).name}: "
                        "only equal bit widths are supported")
    return Aval(a.shape, new_dtype)


shape_rules[bitcast_convert_type_p] = _bitcast_rule

iota_p = Primitive("iota", cost=FREE, nondiff=True)   # params dtype, shape, dimension
shape_rules[iota_p] = lambda avals, dtype, shape, dimension: Aval(shape, dtype)


# --- shape and movement ---------------------------------------------------------------------
broadcast_in_dim_p = Primitive("broadcast_in_dim", cost=FREE)


def _broadcast_in_dim_rule(avals, shape, broadcast_dimensions):
    (a,) = avals
    ok = len(broadcast_dimensions) == a.ndim and all(
        0 <= d < len(shape) and (a.shape[i] == 1 or a.shape[i] == shape[d])
        for i, d in enumerate(broadcast_dimensions)) and list(broadcast_dimensions) == sorted(broadcast_dimensions)
    if not ok:
        raise TypeError(f"broadcast_in_dim: cannot broadcast operand {a.str_short()} to shape {tuple(shape)} "
                        f"with broadcast_dimensions={tuple(broadcast_dimensions)}")
    return Aval(shape, a.dtype, a.weak_type)


shape_rules[broadcast_in_dim_p] = _broadcast_in_dim_rule

reshape_p = Primitive("reshape", cost=FREE)


def _reshape_rule(avals, new_sizes):
    (a,) = avals
    if int(np.prod(new_sizes, dtype=np.int64)) != a.size or any(d < 0 for d in new_sizes):
        raise TypeError(f"reshape: cannot reshape array of shape {a.shape} (size {a.size}) "
                        f"into shape {tuple(new_sizes)}")
    return Aval(new_sizes, a.dtype, a.weak_type)


shape_rules[reshape_p] = _reshape_rule

transpose_p = Primitive("transpose", cost=FREE)


def _transpose_rule(avals, permutation):
    (a,) = avals
    if sorted(permutation) != list(range(a.ndim)):
        raise TypeError(f"transpose permutation isn't a permutation of operand dimensions, got permutation "
                        f"{tuple(permutation)} for operand shape {a.shape}.")
    return Aval(tuple(a.shape[p] for p in permutation), a.dtype, a.weak_type)


shape_rules[transpose_p] = _transpose_rule

rev_p = Primitive("rev", cost=FREE)
shape_rules[rev_p] = lambda avals, dimensions: avals[0]

slice_p = Primitive("slice", cost=FREE)   # params start_indices, limit_indices, strides (or None)


def _slice_rule(avals, start_indices, limit_indices, strides):
    (a,) = avals
    strides = strides or (1,) * a.ndim
    if not (len(start_indices) == len(limit_indices) == len(strides) == a.ndim) or any(
            not (0 <= s <= l <= d) or st < 1 for s, l, st, d in zip(start_indices, limit_indices, strides, a.shape)):
        raise IndexError(f"slice: start {tuple(start_indices)}, limit {tuple(limit_indices)}, strides {tuple(strides)} "
                         f"do not fit operand {a.str_short()}")
    return Aval(tuple((l - s + st - 1) // st for s, l, st in zip(start_indices, limit_indices, strides)),
                a.dtype, a.weak_type)


shape_rules[slice_p] = _slice_rule

pad_p = Primitive("pad", cost=FREE)   # inputs operand, padding_value; param padding_config ((lo, hi, interior), ...)


def _pad_rule(avals, padding_config):
    a, v = avals
    if v.shape != () or v.dtype != a.dtype:
        raise TypeError("pad: padding value must be a scalar of the operand's dtype, "
                        f"got {v.str_short()} for {a.str_short()}")
    if len(padding_config) != a.ndim:
        raise ValueError(f"pad: padding_config has {len(padding_config)} entries for operand {a.str_short()}")
    shape = []
    for d, (lo, hi, interior) in zip(a.shape, padding_config):
        n = lo + hi + d + max(d - 1, 0) * interior
        if interior < 0 or n < 0:
            raise ValueError(f"pad: config {tuple(padding_config)} gives a negative size for operand {a.str_short()}")
        shape.append(n)
    return Aval(shape, a.dtype, a.weak_type)


shape_rules[pad_p] = _pad_rule

concatenate_p = Primitive("concatenate", cost=FREE)   # param dimension


def _concatenate_rule(avals, dimension):
    a0 = avals[0]
    for a in avals:
        if a.ndim != a0.ndim or a.dtype != a0.dtype or any(
                x != y for i, (x, y) in enumerate(zip(a.shape, a0.shape)) if i != dimension):
            raise TypeError(f"concatenate along dimension {dimension}: operands {_fmt(avals)} must agree in "
                            "dtype and in every other dimension")
    shape = list(a0.shape)
    shape[dimension] = sum(a.shape[dimension] for a in avals)
    return Aval(shape, a0.dtype, all(a.weak_type for a in avals))


shape_rules[concatenate_p] = _concatenate_rule

dynamic_slice_p = Primitive("dynamic_slice", cost=FREE)   # inputs operand, *start indices (scalars); param slice_sizes


def _dynamic_slice_rule(avals, slice_sizes):
    a, *idx = avals
    if len(idx) != a.ndim or len(slice_sizes) != a.ndim or any(i.shape != () for i in idx) or any(
            not 0 <= s <= d for s, d in zip(slice_sizes, a.shape)):
        raise TypeError(f"dynamic_slice: operand {a.str_short()} needs {a.ndim} scalar start indices and "
                        f"slice_sizes within its shape; got indices {_fmt(idx)} and slice_sizes {tuple(slice_sizes)}")
    return Aval(slice_sizes, a.dtype, a.weak_type)


shape_rules[dynamic_slice_p] = _dynamic_slice_rule

dynamic_update_slice_p = Primitive("dynamic_update_slice")   # inputs operand, update, *start indices


def _dus_rule(avals):
    a, u, *idx = avals
    if u.ndim != a.ndim or u.dtype != a.dtype or len(idx) != a.ndim or any(
            s > d for s, d in zip(u.shape, a.shape)):
        raise TypeError(f"dynamic_update_slice: update {u.str_short()} does not fit operand {a.str_short()} "
                        f"(with {len(idx)} start indices)")
    return Aval(a.shape, a.dtype, a.weak_type)


shape_rules[dynamic_update_slice_p] = _dus_rule

# gather(operand, indices; axes, mode, fill_value): indices has shape B + (len(axes),);
# out[b, rest...] = operand[rest with operand axes `axes` set to indices[b]]; out shape is
# B + the operand's other dims in order. mode "clip" clamps, "fill" returns fill_value.
gather_p = Primitive("gather", cost=SLOW)


def _gather_rule(avals, axes, mode, fill_value=None):
    a, idx = avals
    if not np.issubdtype(idx.dtype, np.integer) or idx.ndim < 1 or idx.shape[-1] != len(axes):
        raise TypeError(f"gather: indices {idx.str_short()} must be integers with last dimension {len(axes)} "
                        f"(one per indexed axis {tuple(axes)}) for operand {a.str_short()}")
    rest = tuple(d for i, d in enumerate(a.shape) if i not in axes)
    return Aval(idx.shape[:-1] + rest, a.dtype, a.weak_type)


shape_rules[gather_p] = _gather_rule

# scatter(operand, indices, updates; axes, mode): the mirror of gather; updates have gather's
# output shape. Out-of-bounds updates are dropped. mode: set, add, mul, min, max.
scatter_p = Primitive("scatter", library=True)


def _scatter_rule(avals, axes, mode):
    a, idx, u = avals
    expect = _gather_rule([a, idx], axes, "clip").shape
    if u.shape != expect or u.dtype != a.dtype:
        raise TypeError(f"scatter-{mode}: updates {u.str_short()} must have shape {expect} and dtype "
                        f"{a.dtype.name} for operand {a.str_short()} and indices {idx.str_short()}")
    return Aval(a.shape, a.dtype, a.weak_type)


shape_rules[scatter_p] = _scatter_rule


# --- reductions -----------------------------------------------------------------------------
def _reduce_op(name, kinds=_ALL, **traits):
    p = Primitive(name, family="reduce", **traits)

    def rule(avals, axes):
        (a,) = avals
        _check_kinds(name, avals, kinds)
        if any(not 0 <= ax < a.ndim for ax in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"{name}: axes {tuple(axes)} out of range for operand {a.str_short()}")
        return Aval(tuple(d for i, d in enumerate(a.shape) if i not in axes), a.dtype, a.weak_type)
    shape_rules[p] = rule
    return p


reduce_sum_p = _reduce_op("reduce_sum", (_F, _I))
reduce_prod_p = _reduce_op("reduce_prod", (_F, _I))
reduce_max_p = _reduce_op("reduce_max")
reduce_min_p = _reduce_op("reduce_min")
reduce_and_p = _reduce_op("reduce_and", (_B, _I), nondiff=True)
reduce_or_p = _reduce_op("reduce_or", (_B, _I), nondiff=True)

argmax_p = Primitive("argmax", nondiff=True)   # params axes=(axis,), index_dtype
argmin_p = Primitive("argmin", nondiff=True)


def _arg_rule(avals, axes, index_dtype):
    (a,) = avals
    (ax,) = axes
    if not 0 <= ax < a.ndim or a.shape[ax] == 0:
        raise ValueError(f"argmax/argmin: axis {ax} out of range or of size zero for operand {a.str_short()}")
    return Aval(tuple(d for i, d in enumerate(a.shape) if i != ax), index_dtype)


shape_rules[argmax_p] = shape_rules[argmin_p] = _arg_rule

CUMULATIVE = {}
for _name in ("cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"):
    CUMULATIVE[_name] = Primitive(_name, library=True)   # params axis, reverse
    shape_rules[CUMULATIVE[_name]] = lambda avals, axis, reverse: _along(avals[0], axis)
cumsum_p, cumprod_p, cummax_p, cummin_p, cumlogsumexp_p = CUMULATIVE.values()


def _along(a, axis, dtype=None):
    """The aval of an op that keeps its operand's shape and works along one existing axis."""
    if not 0 <= axis < a.ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {a.ndim} ({a.str_short()})")
    return a if dtype is None else Aval(a.shape, dtype)


sort_p = Primitive("sort", library=True)        # param dimension; stable ascending, NaNs last
argsort_p = Primitive("argsort", library=True, nondiff=True)  # param dimension, index_dtype; stable
shape_rules[sort_p] = lambda avals, dimension: _along(avals[0], dimension)
shape_rules[argsort_p] = lambda avals, dimension, index_dtype: _along(avals[0], dimension, index_dtype)


# --- dot_general ----------------------------------------------------------------------------
dot_general_p = Primitive("dot_general", library=True)   # params dimension_numbers, precision, preferred_element_type


def _dot_general_rule(avals, dimension_numbers, precision=None, preferred_element_type=None):
    lhs, rhs = avals
    (lc, rc), (lb, rb) = dimension_numbers
    if len(lc) != len(rc) or len(lb) != len(rb) or any(lhs.shape[i] != rhs.shape[j] for i, j in zip(lc, rc)) \
            or any(lhs.shape[i] != rhs.shape[j] for i, j in zip(lb, rb)):
        raise TypeError(f"dot_general requires contracting dimensions to have the same shape, got "
                        f"lhs {lhs.str_short()} contracting {tuple(lc)} batch {tuple(lb)} and rhs {rhs.str_short()} "
                        f"contracting {tuple(rc)} batch {tuple(rb)}")
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"dot_general requires operands of the same dtype, got {_fmt(avals)}")
    batch = tuple(lhs.shape[i] for i in lb)
    lfree = tuple(d for i, d in enumerate(lhs.shape) if i not in lc and i not in lb)
    rfree = tuple(d for i, d in enumerate(rhs.shape) if i not in rc and i not in rb)
    dtype = preferred_element_type or lhs.dtype
    return Aval(batch + lfree + rfree, dtype, lhs.weak_type and rhs.weak_type and preferred_element_type is None)


shape_rules[dot_general_p] = _dot_general_rule


# --- custom derivative calls ----------------------------------------------------------------
# custom_jvp_call(*args, *outs) / custom_vjp_call(*args, *outs) are the identity on `outs` (the
# function's results, computed by its own graph). Derivatives do not walk into that graph: the
# derivative tables call the user's rules held in params (jvp; fwd/bwd) on `args` instead.
custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
shape_rules[custom_jvp_call_p] = lambda avals, num_outs, **_: tuple(avals[len(avals) - num_outs:])
shape_rules[custom_vjp_call_p] = lambda avals, num_outs, **_: tuple(avals[len(avals) - num_outs:])
