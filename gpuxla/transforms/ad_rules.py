"""JVP and VJP rows of the core primitives (core/primitives.py), written with lax ops so they
differentiate again; the tables and the walker are in ad.py.

  jvp_rules[prim](primals, tangents, out, **params) -> tangent (None = symbolic zero)
  vjp_rules[prim](ct, out, *inputs, **params) -> tuple of cotangents, one per input

Elementwise primitives are described once by their partial derivatives (`_D1`, `_D2`) and get
both rules from that. Linear primitives get a JVP that applies the primitive to the tangents and a
VJP that is its transpose. The walker (`ad.Linear`) broadcasts/sums tangents whose shape differs
from the node's (rank-0 operands of n-ary ops) and matches dtypes, so rules may ignore that.
"""
import math

import numpy as np

from .. import lax
from ..core import dtypes
from ..core import primitives as P
from ..core.graph import proj_p
from . import ad
from .ad import deflinear, defnondiff, jvp_rules, or_zeros, vjp_rules, zeros_like


def _f(x, dtype):
    return lax.convert_element_type(x, dtype)


# --- elementwise: derivatives ------------------------------------------------------------------
def _sq(x):
    return lax.integer_pow(x, 2)


def _trigamma(x):
    # psi_1 by reflection (x < 0.5), recurrence up to z >= 6 and the asymptotic series; a composite
    # so that higher derivatives of lgamma/digamma come for free.
    refl = lax.lt(x, 0.5)
    z = lax.select(refl, lax.sub(1.0, x), x)
    acc = zeros_like(x)
    for _ in range(6):
        small = lax.lt(z, 6.0)
        acc = lax.add(acc, lax.select(small, lax.div(1.0, _sq(z)), zeros_like(z)))
        z = lax.select(small, lax.add(z, 1.0), z)
    r = lax.div(1.0, z)
    r2 = _sq(r)
    series = lax.mul(r, lax.add(1.0, lax.mul(r, lax.add(0.5, lax.mul(r, lax.add(
        1 / 6, lax.mul(r2, lax.add(-1 / 30, lax.mul(r2, lax.add(1 / 42, lax.mul(r2, -1 / 30)))))))))))
    res = lax.add(acc, series)
    s = lax.sin(lax.mul(x, math.pi))
    return lax.select(refl, lax.sub(lax.div(math.pi ** 2, _sq(s)), res), res)


def _integer_pow_d(x, n):
    # (x^n)' = n x^(n-1)
    if n == 0:
        return zeros_like(x)
    return lax.full_like(x, 1) if n == 1 else lax.mul(lax.integer_pow(x, n - 1), float(n))


def _abs_d(x):
    if dtypes.is_complex(x.dtype):
        # |z| is not holomorphic; jnp.abs of complex values is a composite of real/imag.
        raise NotImplementedError("Differentiation rule for 'abs' of complex operands not implemented")
    return lax.select(lax.ge(x, 0.0), lax.full_like(x, 1), lax.full_like(x, -1))


_SQRT_PI = math.sqrt(math.pi)
# d out / d x as a function of (x, out, **params).
_D1 = {
    P.exp_p: lambda x, y: y,
    P.exp2_p: lambda x, y: lax.mul(y, math.log(2.0)),
    P.log_p: lambda x, y: lax.div(1.0, x),
    P.log1p_p: lambda x, y: lax.div(1.0, lax.add(x, 1.0)),
    P.expm1_p: lambda x, y: lax.add(y, 1.0),
    P.tanh_p: lambda x, y: lax.sub(1.0, _sq(y)),
    P.logistic_p: lambda x, y: lax.mul(y, lax.sub(1.0, y)),
    P.sin_p: lambda x, y: lax.cos(x),
    P.cos_p: lambda x, y: lax.neg(lax.sin(x)),
    P.tan_p: lambda x, y: lax.add(1.0, _sq(y)),
    P.asin_p: lambda x, y: lax.rsqrt(lax.sub(1.0, _sq(x))),
    P.acos_p: lambda x, y: lax.neg(lax.rsqrt(lax.sub(1.0, _sq(x)))),
    P.atan_p: lambda x, y: lax.div(1.0, lax.add(1.0, _sq(x))),
    P.sinh_p: lambda x, y: lax.cosh(x),
    P.cosh_p: lambda x, y: lax.sinh(x),
    P.asinh_p: lambda x, y: lax.rsqrt(lax.add(_sq(x), 1.0)),
    P.acosh_p: lambda x, y: lax.rsqrt(lax.mul(lax.sub(x, 1.0), lax.add(x, 1.0))),
    P.atanh_p: lambda x, y: lax.div(1.0, lax.mul(lax.sub(1.0, x), lax.add(1.0, x))),
    P.sqrt_p: lambda x, y: lax.div(0.5, y),
    P.rsqrt_p: lambda x, y: lax.mul(lax.div(y, x), -0.5),
    P.cbrt_p: lambda x, y: lax.mul(lax.integer_pow(y, -2), 1 / 3),
    # JAX's convention: the slope of |x| at 0 is +1.
    P.abs_p: lambda x, y: _abs_d(x),
    P.erf_p: lambda x, y: lax.mul(lax.exp(lax.neg(_sq(x))), 2 / _SQRT_PI),
    P.erfc_p: lambda x, y: lax.mul(lax.exp(lax.neg(_sq(x))), -2 / _SQRT_PI),
    P.erf_inv_p: lambda x, y: lax.mul(lax.exp(_sq(y)), _SQRT_PI / 2),
    P.lgamma_p: lambda x, y: lax.digamma(x),
    P.digamma_p: lambda x, y: _trigamma(x),
    P.integer_pow_p: lambda x, out, y: _integer_pow_d(x, y),
}


def _chooser(wins):
    """d max(a, b)/d a (wins = gt) or d min(a, b)/d a (wins = lt): 1 where a is chosen, 0 where b is,
    1/2 at a tie -- JAX's tie rule, which JAX writes from the result (a == out, b == out). Written
    from the operands alone: for non-NaN operands a == max(a, b) iff a >= b, and a NaN operand makes
    every comparison false either way. So the backward kernel reads only a and b, not the result
    too (the MLP step's bias-gradient kernels read 3 arrays of (128, 512) instead of 4 when
    max(h, 0)'s result was read besides h)."""
    def d(a, b, out):
        return lax.add(_f(wins(a, b), out.dtype), lax.mul(_f(lax.eq(a, b), out.dtype), 0.5))
    return d


def _pow_dx(x, y, out):
    d = lax.mul(y, lax.pow(x, lax.sub(y, 1.0)))
    return lax.select(lax.eq(y, 0.0), zeros_like(d), d)


def _pow_dy(x, y, out):
    safe = lax.select(lax.eq(x, 0.0), lax.full_like(x, 1), x)
    return lax.mul(lax.log(safe), out)


def _trunc(v):
    return lax.mul(lax.sign(v), lax.floor(lax.abs(v)))


# (d out / d x, d out / d y) as functions of (x, y, out).
_D2 = {
    P.mul_p: (lambda x, y, o: y, lambda x, y, o: x),
    P.div_p: None,          # (its own rules below)
    P.rem_p: (None, lambda x, y, o: lax.neg(_trunc(lax.div(x, y)))),
    P.pow_p: (_pow_dx, _pow_dy),
    P.max_p: (_chooser(lax.gt), lambda x, y, o: _chooser(lax.gt)(y, x, o)),
    P.min_p: (_chooser(lax.lt), lambda x, y, o: _chooser(lax.lt)(y, x, o)),
    P.atan2_p: (lambda x, y, o: lax.div(y, lax.add(_sq(x), _sq(y))),
                lambda x, y, o: lax.neg(lax.div(x, lax.add(_sq(x), _sq(y))))),
}


def _unary_rules(p, d):
    jvp_rules[p] = lambda primals, tangents, out, **params: (
        None if tangents[0] is None else lax.mul(tangents[0], d(primals[0], out, **params)))
    vjp_rules[p] = lambda ct, out, x, **params: (lax.mul(ct, d(x, out, **params)),)


for _p, _d in _D1.items():
    _unary_rules(_p, _d)


def _binary_rules(p, dx, dy):
    # dx None: the partial is 1 (rem's first operand).
    def part(d, x, y, out, g):
        return g if d is None else lax.mul(g, d(x, y, out))

    def jvp(primals, tangents, out):
        (x, y), (tx, ty) = primals, tangents
        terms = [part(d, x, y, out, t) for d, t in ((dx, tx), (dy, ty)) if t is not None]
        return terms[0] if len(terms) == 1 else lax.add(*terms)

    jvp_rules[p] = jvp
    vjp_rules[p] = lambda ct, out, x, y: (part(dx, x, y, out, ct), part(dy, x, y, out, ct))


for _p, _ds in _D2.items():
    if _ds is not None:
        _binary_rules(_p, *_ds)


# div as JAX writes it: g / y and -g x y^-2, one division per element each. As partials times g,
# (1/y)·g and -(out/y)·g, the y side divided twice where `out` is not otherwise needed (the
# gradient of 1/(1 + exp(-x)), which is bound by its divisions).
def _div_dx(g, x, y):
    return lax.div(g, y)


def _div_dy(g, x, y):
    return lax.mul(lax.mul(lax.neg(g), x), lax.integer_pow(y, -2))


def _div_jvp(primals, tangents, out):
    (x, y), (tx, ty) = primals, tangents
    terms = [d(t, x, y) for d, t in ((_div_dx, tx), (_div_dy, ty)) if t is not None]
    return terms[0] if len(terms) == 1 else lax.add(*terms)


jvp_rules[P.div_p] = _div_jvp
vjp_rules[P.div_p] = lambda ct, out, x, y: (_div_dx(ct, x, y), _div_dy(ct, x, y))


deflinear(P.neg_p, lambda ct, out, x: (lax.neg(ct),))
deflinear(P.wrap_p, lambda ct, out, x: (ct,))
jvp_rules[P.wrap_p] = lambda primals, tangents, out: tangents[0]
deflinear(P.add_p, lambda ct, out, x, y: (ct, ct))
deflinear(P.sub_p, lambda ct, out, x, y: (ct, lax.neg(ct)))
# Inside a rule, an Array's tangent of None means zero; add/sub JVPs skip the zero operand.
jvp_rules[P.add_p] = lambda primals, ts, out: ts[0] if ts[1] is None else ts[1] if ts[0] is None else lax.add(*ts)
jvp_rules[P.sub_p] = lambda primals, ts, out: (ts[0] if ts[1] is None else lax.neg(ts[1]) if ts[0] is None
                                               else lax.sub(*ts))


def _fma_jvp(primals, tangents, out):
    (x, y, _), (tx, ty, tz) = primals, tangents
    acc = None
    for t in (None if tx is None else lax.mul(tx, y), None if ty is None else lax.mul(x, ty), tz):
        acc = t if acc is None else acc if t is None else lax.add(acc, t)
    return acc


jvp_rules[P.fma_p] = _fma_jvp
vjp_rules[P.fma_p] = lambda ct, out, x, y, z: (lax.mul(ct, y), lax.mul(ct, x), ct)


# --- zero-derivative and non-differentiable primitives -----------------------------------------
# Piecewise-constant float functions have zero derivatives (JAX gives zeros, not errors); the rest
# have integer/bool outputs or inputs, so no tangent flows through them at all.
defnondiff(*P.GROUP.nondiff)


def _not_implemented(p, mode):
    def rule(*a, **k):
        raise NotImplementedError(f"Differentiation rule for '{p.name}' not implemented ({mode})")
    return rule


# As in JAX, nextafter has no derivative rule.
jvp_rules[P.nextafter_p], vjp_rules[P.nextafter_p] = (_not_implemented(P.nextafter_p, "jvp"),
                                                      _not_implemented(P.nextafter_p, "vjp"))


# --- select, convert ---------------------------------------------------------------------------
def _select_jvp(primals, tangents, out):
    which, *cases = primals
    if all(t is None for t in tangents[1:]):
        return None
    return lax.select_n(which, *[or_zeros(t, c) for t, c in zip(tangents[1:], cases)])


def _select_vjp(ct, out, which, *cases):
    z = zeros_like(ct)
    return (None,) + tuple(lax.select_n(which, *[ct if j == i else z for j in range(len(cases))])
                           for i in range(len(cases)))


jvp_rules[P.select_n_p], vjp_rules[P.select_n_p] = _select_jvp, _select_vjp


def _convert_jvp(primals, tangents, out, new_dtype, weak_type=False):
    t = tangents[0]
    if t is None or not dtypes.is_inexact(new_dtype):
        return None
    return P.convert_element_type_p.bind(t, new_dtype=new_dtype, weak_type=weak_type)


def _convert_vjp(ct, out, x, new_dtype, weak_type=False):
    if not dtypes.is_inexact(x.dtype):
        return (None,)
    return (P.convert_element_type_p.bind(ct, new_dtype=x.dtype, weak_type=x.weak_type),)


jvp_rules[P.convert_element_type_p], vjp_rules[P.convert_element_type_p] = _convert_jvp, _convert_vjp


# --- shape and movement (linear) ---------------------------------------------------------------
def _broadcast_vjp(ct, out, x, shape, broadcast_dimensions):
    bd = broadcast_dimensions
    axes = tuple(d for d in range(len(shape)) if d not in bd) + tuple(
        d for i, d in enumerate(bd) if x.shape[i] == 1 and shape[d] != 1)
    s = lax.reduce_sum(ct, tuple(sorted(axes))) if axes else ct
    return (lax.reshape(s, x.shape),)


deflinear(P.broadcast_in_dim_p, _broadcast_vjp)
deflinear(P.reshape_p, lambda ct, out, x, new_sizes: (lax.reshape(ct, x.shape),))
deflinear(P.transpose_p, lambda ct, out, x, permutation: (lax.transpose(ct, tuple(np.argsort(permutation))),))
deflinear(P.rev_p, lambda ct, out, x, dimensions: (lax.rev(ct, dimensions),))


def _slice_vjp(ct, out, x, start_indices, limit_indices, strides):
    strides = strides or (1,) * x.ndim
    if 0 in ct.shape:
        return (zeros_like(x),)
    cfg = [(s, d - (s + (n - 1) * st + 1), st - 1)
           for s, st, n, d in zip(start_indices, strides, ct.shape, x.shape)]
    return (lax.pad(ct, 0, cfg),)


deflinear(P.slice_p, _slice_vjp)


def _pad_vjp(ct, out, x, v, padding_config):
    # Undo the edge padding (a negative pad crops), then take every (interior+1)-th element.
    if 0 in x.shape:
        return zeros_like(x), lax.reduce_sum(ct, tuple(range(ct.ndim)))
    t = lax.pad(ct, 0.0, [(-lo, -hi, 0) for lo, hi, _ in padding_config])
    t = lax.slice(t, (0,) * t.ndim, t.shape, [it + 1 for _, _, it in padding_config])
    all_axes = tuple(range(ct.ndim))
    return t, lax.sub(lax.reduce_sum(ct, all_axes), lax.reduce_sum(t, all_axes))


deflinear(P.pad_p, _pad_vjp)


def _concatenate_vjp(ct, out, *xs, dimension):
    res, off = [], 0
    for x in xs:
        n = x.shape[dimension]
        res.append(lax.slice_in_dim(ct, off, off + n, axis=dimension))
        off += n
    return tuple(res)


deflinear(P.concatenate_p, _concatenate_vjp)


def _dynamic_slice_jvp(primals, tangents, out, slice_sizes):
    x, *idx = primals
    return None if tangents[0] is None else P.dynamic_slice_p.bind(tangents[0], *idx, slice_sizes=slice_sizes)


def _dynamic_slice_vjp(ct, out, x, *idx, slice_sizes):
    return (P.dynamic_update_slice_p.bind(zeros_like(x), ct, *idx),) + (None,) * len(idx)


jvp_rules[P.dynamic_slice_p], vjp_rules[P.dynamic_slice_p] = _dynamic_slice_jvp, _dynamic_slice_vjp


def _dus_jvp(primals, tangents, out):
    x, u, *idx = primals
    if tangents[0] is None and tangents[1] is None:
        return None
    return P.dynamic_update_slice_p.bind(or_zeros(tangents[0], x), or_zeros(tangents[1], u), *idx)


def _dus_vjp(ct, out, x, u, *idx):
    return ((P.dynamic_update_slice_p.bind(ct, zeros_like(u), *idx),
             P.dynamic_slice_p.bind(ct, *idx, slice_sizes=u.shape)) + (None,) * len(idx))


jvp_rules[P.dynamic_update_slice_p], vjp_rules[P.dynamic_update_slice_p] = _dus_jvp, _dus_vjp


# --- gather / scatter -------------------------------------------------------------------------
def _gather(x, idx, axes, fill=True):
    return P.gather_p.bind(x, idx, axes=tuple(axes), mode="fill" if fill else "clip", fill_value=0)


def _scatter(x, idx, u, axes, mode):
    return P.scatter_p.bind(x, idx, u, axes=tuple(axes), mode=mode)


def _clip_indices(idx, x, axes):
    # gather's "clip" clamps out-of-range indices; its transpose must add into the clamped rows.
    hi = np.array([x.shape[a] - 1 for a in axes], dtype=idx.dtype)
    hi = lax.broadcast_in_dim(lax.asarray(hi), idx.shape, (idx.ndim - 1,))
    return lax.min(lax.max(idx, lax.full_like(idx, 0)), hi)


def _gather_jvp(primals, tangents, out, axes, mode, fill_value=None):
    x, idx = primals
    t = tangents[0]
    return None if t is None else P.gather_p.bind(t, idx, axes=axes, mode=mode, fill_value=0)


def _gather_vjp(ct, out, x, idx, axes, mode, fill_value=None):
    if mode != "fill":
        idx = _clip_indices(idx, x, axes)
    return _scatter(zeros_like(x), idx, ct, axes, "add"), None


jvp_rules[P.gather_p], vjp_rules[P.gather_p] = _gather_jvp, _gather_vjp


def _updates_mask(mask, u):
    """A mask over the update batch dims, broadcast to the updates' shape."""
    return lax.broadcast_in_dim(mask, u.shape, tuple(range(mask.ndim)))


def _scatter_winners(x, idx, u, axes):
    """For scatter-set: which updates land (the last of duplicates, in-bounds ones)."""
    batch = idx.shape[:-1]
    n = int(np.prod(batch, dtype=np.int64))
    ids = lax.reshape(lax.add(lax.iota(np.int32, n), 1), batch)
    k = len(axes)
    slots = lax.full(tuple(x.shape[a] for a in axes), 0, np.int32)
    won = _scatter(slots, idx, ids, range(k), "set")
    back = _gather(won, idx, range(k))
    return _updates_mask(lax.eq(back, ids), u)


def _in_bounds(idx, x, axes):
    """Which rows of scatter indices address an element (out-of-bounds updates are dropped)."""
    hi = np.array([x.shape[a] for a in axes], dtype=idx.dtype)
    hi = lax.broadcast_in_dim(lax.asarray(hi), idx.shape, (idx.ndim - 1,))
    ok = lax.bitwise_and(lax.ge(idx, lax.full_like(idx, 0)), lax.lt(idx, hi))
    return lax.reduce_and(ok, (idx.ndim - 1,))


def _extremal_counts(x, idx, u, out, axes):
    """Tie weights of scatter-max/min: x and every update equal to the result share it equally."""
    xt = _f(lax.eq(x, out), x.dtype)
    hit = lax.bitwise_and(lax.eq(_gather(out, idx, axes), u), _updates_mask(_in_bounds(idx, x, axes), u))
    ut = _f(hit, u.dtype)
    return xt, ut, lax.add(xt, _scatter(zeros_like(x), idx, ut, axes, "add"))


def _scatter_mul_parts(x, idx, u, axes):
    """Pm: product of the updates landing on each element; Q: for each update, the product of
    the other updates landing on its element (zero-safe: counts zeros instead of dividing)."""
    one = lax.full_like(x, 1)
    uz = lax.eq(u, 0.0)
    z = _scatter(zeros_like(x), idx, _f(uz, u.dtype), axes, "add")
    pnz = _scatter(one, idx, lax.select(uz, lax.full_like(u, 1), u), axes, "mul")
    zg, pg = _gather(z, idx, axes), _gather(pnz, idx, axes)
    zero = zeros_like(u)
    safe_u = lax.select(uz, lax.full_like(u, 1), u)
    q = lax.select(uz, lax.select(lax.eq(zg, 1.0), pg, zero),
                   lax.select(lax.eq(zg, 0.0), lax.div(pg, safe_u), zero))
    return _scatter(one, idx, u, axes, "mul"), q


def _scatter_jvp(primals, tangents, out, axes, mode):
    x, idx, u = primals
    tx, _, tu = tangents
    if tx is None and tu is None:
        return None
    tx, tu = or_zeros(tx, x), or_zeros(tu, u)
    if mode in ("add", "set"):
        return _scatter(tx, idx, tu, axes, mode)
    if mode == "mul":
        pm, q = _scatter_mul_parts(x, idx, u, axes)
        return lax.add(lax.mul(tx, pm), lax.mul(x, _scatter(zeros_like(x), idx, lax.mul(tu, q), axes, "add")))
    xt, ut, cnt = _extremal_counts(x, idx, u, out, axes)
    return lax.div(lax.add(lax.mul(tx, xt), _scatter(zeros_like(x), idx, lax.mul(tu, ut), axes, "add")), cnt)


def _scatter_vjp(ct, out, x, idx, u, axes, mode):
    if mode == "add":
        return ct, None, _gather(ct, idx, axes)
    if mode == "set":
        ct_x = _scatter(ct, idx, zeros_like(u), axes, "set")
        return ct_x, None, lax.select(_scatter_winners(x, idx, u, axes), _gather(ct, idx, axes), zeros_like(u))
    if mode == "mul":
        pm, q = _scatter_mul_parts(x, idx, u, axes)
        return lax.mul(ct, pm), None, lax.mul(_gather(lax.mul(ct, x), idx, axes), q)
    xt, ut, cnt = _extremal_counts(x, idx, u, out, axes)
    g = lax.div(ct, cnt)
    return lax.mul(g, xt), None, lax.mul(_gather(g, idx, axes), ut)


jvp_rules[P.scatter_p], vjp_rules[P.scatter_p] = _scatter_jvp, _scatter_vjp


# --- reductions -------------------------------------------------------------------------------
def _expand(r, x, axes):
    """Broadcast a reduced array back over the reduced axes of x."""
    kept = tuple(i for i in range(x.ndim) if i not in axes)
    return lax.broadcast_in_dim(r, x.shape, kept)


deflinear(P.reduce_sum_p, lambda ct, out, x, axes: (_expand(ct, x, axes),))


def _extremum_mask(x, out, axes):
    # Ties split the derivative equally among the extremal elements, as in JAX.
    m = _f(lax.eq(x, _expand(out, x, axes)), x.dtype)
    return m, lax.reduce_sum(m, axes)


def _reduce_ext_jvp(primals, tangents, out, axes):
    m, cnt = _extremum_mask(primals[0], out, axes)
    return lax.div(lax.reduce_sum(lax.mul(tangents[0], m), axes), cnt)


def _reduce_ext_vjp(ct, out, x, axes):
    m, cnt = _extremum_mask(x, out, axes)
    return (lax.mul(_expand(lax.div(ct, cnt), x, axes), m),)


for _p in (P.reduce_max_p, P.reduce_min_p):
    jvp_rules[_p], vjp_rules[_p] = _reduce_ext_jvp, _reduce_ext_vjp


def _others_product(x, axes):
    """For each element, the product of the other elements of its reduction group (exclusive
    cumulative products from both ends: correct with zeros, unlike out / x)."""
    rest = [i for i in range(x.ndim) if i not in axes]
    perm = rest + list(axes)
    xt = lax.transpose(x, perm)
    n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    flat = lax.reshape(xt, tuple(x.shape[i] for i in rest) + (n,))
    lead = [(0, 0, 0)] * (flat.ndim - 1)
    left = lax.pad(lax.cumprod(flat, flat.ndim - 1), 1.0, lead + [(1, -1, 0)])
    right = lax.pad(lax.cumprod(flat, flat.ndim - 1, reverse=True), 1.0, lead + [(-1, 1, 0)])
    g = lax.reshape(lax.mul(left, right), xt.shape)
    return lax.transpose(g, tuple(np.argsort(perm)))


def _reduce_prod_jvp(primals, tangents, out, axes):
    return lax.reduce_sum(lax.mul(tangents[0], _others_product(primals[0], axes)), axes)


def _reduce_prod_vjp(ct, out, x, axes):
    return (lax.mul(_expand(ct, x, axes), _others_product(x, axes)),)


jvp_rules[P.reduce_prod_p], vjp_rules[P.reduce_prod_p] = _reduce_prod_jvp, _reduce_prod_vjp


# --- cumulative ops ---------------------------------------------------------------------------
deflinear(P.cumsum_p, lambda ct, out, x, axis, reverse: (lax.cumsum(ct, axis, not reverse),))


def _logaddexp(a, b):
    m = lax.stop_gradient(lax.max(a, b))
    m = lax.select(lax.is_finite(m), m, zeros_like(m))
    return lax.add(m, lax.log(lax.add(lax.exp(lax.sub(a, m)), lax.exp(lax.sub(b, m)))))


_SCAN_OPS = {P.cumprod_p: lax.mul, P.cummax_p: lax.max, P.cummin_p: lax.min, P.cumlogsumexp_p: _logaddexp}


def scan_composite(op, x, axis, reverse):
    """Inclusive prefix scan by doubling (log2 n steps of slices and one `op` each): the same
    values as cumprod/cummax/..., written with differentiable ops. Their derivative rules
    differentiate this."""
    if reverse:
        x = lax.rev(x, (axis,))
    n, k = x.shape[axis], 1
    while k < n:
        x = lax.concatenate([lax.slice_in_dim(x, 0, k, axis=axis),
                             op(lax.slice_in_dim(x, 0, n - k, axis=axis), lax.slice_in_dim(x, k, n, axis=axis))], axis)
        k *= 2
    return lax.rev(x, (axis,)) if reverse else x


def _scan_rules(p, op):
    def jvp(primals, tangents, out, axis, reverse):
        return ad.jvp(lambda v: scan_composite(op, v, axis, reverse), (primals[0],), (tangents[0],))[1]

    def vjp(ct, out, x, axis, reverse):
        return ad.vjp(lambda v: scan_composite(op, v, axis, reverse), x)[1](ct)

    jvp_rules[p], vjp_rules[p] = jvp, vjp


for _p, _op in _SCAN_OPS.items():
    _scan_rules(_p, _op)


# --- sort -------------------------------------------------------------------------------------
def _along_indices(perm, dimension):
    """Full gather indices (shape + (ndim,)) that read x along `dimension` at `perm`."""
    cols = [lax.broadcasted_iota(perm.dtype, perm.shape, k) if k != dimension else perm for k in range(perm.ndim)]
    return lax.concatenate([lax.reshape(c, c.shape + (1,)) for c in cols], perm.ndim)


def _sort_jvp(primals, tangents, out, dimension):
    x = primals[0]
    idx = _along_indices(lax.argsort(x, dimension), dimension)
    return _gather(tangents[0], idx, range(x.ndim))


def _sort_vjp(ct, out, x, dimension):
    idx = _along_indices(lax.argsort(x, dimension), dimension)
    return (_scatter(zeros_like(x), idx, ct, range(x.ndim), "add"),)


jvp_rules[P.sort_p], vjp_rules[P.sort_p] = _sort_jvp, _sort_vjp


# --- dot_general ------------------------------------------------------------------------------
def _dot_jvp(primals, tangents, out, dimension_numbers, precision=None, preferred_element_type=None):
    (l, r), (tl, tr) = primals, tangents
    kw = dict(dimension_numbers=dimension_numbers, precision=precision, preferred_element_type=preferred_element_type)
    terms = []
    if tl is not None:
        terms.append(P.dot_general_p.bind(tl, r, **kw))
    if tr is not None:
        terms.append(P.dot_general_p.bind(l, tr, **kw))
    return terms[0] if len(terms) == 1 else lax.add(*terms)


def _dot_transpose(ct, other, mine_c, other_c, mine_b, other_b, mine_nd, other_nd, mine_first, precision):
    """Cotangent of one dot_general operand ('mine'): contract ct's free dims of the other
    operand with that operand, then permute the result to mine's layout."""
    nb = len(mine_b)
    mine_free = [i for i in range(mine_nd) if i not in mine_c and i not in mine_b]
    other_free = [i for i in range(other_nd) if i not in other_c and i not in other_b]
    n_mf, n_of = len(mine_free), len(other_free)
    # ct dims: batch, lhs free, rhs free.
    of_pos = list(range(nb + n_mf, nb + n_mf + n_of)) if mine_first else list(range(nb, nb + n_of))
    dn = ((tuple(of_pos), tuple(other_free)), (tuple(range(nb)), tuple(other_b)))
    r = P.dot_general_p.bind(ct, other, dimension_numbers=dn, precision=precision, preferred_element_type=None)
    # r dims: batch, ct's remaining dims (mine free, in order), other's remaining dims (its
    # contracted dims in increasing order), each standing for the matching mine dim.
    src = list(mine_b) + mine_free + [mine_c[list(other_c).index(j)] for j in sorted(other_c)]
    return lax.transpose(r, tuple(src.index(d) for d in range(mine_nd)))


def _dot_vjp(ct, out, l, r, dimension_numbers, precision=None, preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    ct_l = ct if ct.dtype == l.dtype else lax.convert_element_type(ct, l.dtype)
    ct_r = ct if ct.dtype == r.dtype else lax.convert_element_type(ct, r.dtype)
    gl = (_dot_transpose(ct_l, r, lc, rc, lb, rb, l.ndim, r.ndim, True, precision)
          if dtypes.is_inexact(l.dtype) else None)
    gr = (_dot_transpose(ct_r, l, rc, lc, rb, lb, r.ndim, l.ndim, False, precision)
          if dtypes.is_inexact(r.dtype) else None)
    return gl, gr


jvp_rules[P.dot_general_p], vjp_rules[P.dot_general_p] = _dot_jvp, _dot_vjp


# --- multiple results -------------------------------------------------------------------------
# The walker reads proj nodes itself; these entries serve other users of the tables.
jvp_rules[proj_p] = lambda primals, tangents, out, index: None if tangents[0] is None else tangents[0][index]
vjp_rules[proj_p] = lambda ct, out, t, index: ([ct if i == index else None for i in range(len(t.aval))],)
