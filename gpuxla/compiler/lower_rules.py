"""LOWER: each primitive's value at an index, as a C expression (the CUDA lowering table).

A rule `LOWER[prim](b, eqn, ix)` returns the C expression of `eqn`'s value at the symbolic index
`ix`, asking the builder `b` for its operands' values at whatever indices it needs. Elementwise
families map onto the `gx_<name>` device functions of gpuxla/kernels/gx_common.cuh; the explicit
rows below them are the exceptions. Index movement (broadcast, reshape, transpose, slice, pad,
concatenate, gather, ...) never touches memory: it only rewrites the index its operand is read
at. A primitive with no row here cannot be fused; fusion sends it to a library call.
"""
import numpy as np

from ..core import primitives as P
from .builder import Ix
from .cexpr import BOOL, BF16, F16, F32, F64, I64, LOW, bitcast_expr, convert_expr, ctype, literal, low_suffix, \
    paren, round_low

LOWER = {}


def _args(b, eqn, ix):
    return [b.value(s, b.ix_for(s, ix)) for s in eqn.ins]


def _in_dtype(b, eqn, k=0):
    return b.ctx.aval(eqn.ins[k]).dtype


def _fn_rule(prim):
    def rule(b, eqn, ix):
        args = _args(b, eqn, ix)
        e = f"gx_{prim.name}({', '.join(args)})"
        return e if prim.exact_low else round_low(e, eqn.aval.dtype)
    return rule


# --- elementwise: the exceptions to `foo` -> `gx_foo` (the rule for the rest follows them) ------
def _nextafter_lower(b, eqn, ix):
    x, y = _args(b, eqn, ix)
    dt = eqn.aval.dtype
    if dt in LOW:
        return f"gx_nextafter_{low_suffix(dt)}({x}, {y})"
    return f"gx_nextafter({x}, {y})"


LOWER[P.nextafter_p] = _nextafter_lower
LOWER[P.round_p] = lambda b, eqn, ix: "gx_{}({})".format(
    "rint" if (eqn.params or {}).get("rounding_method", 0) else "round", _args(b, eqn, ix)[0])
LOWER[P.is_finite_p] = lambda b, eqn, ix: f"gx_is_finite({_args(b, eqn, ix)[0]})"
LOWER[P.integer_pow_p] = lambda b, eqn, ix: round_low(
    f"gx_integer_pow({_args(b, eqn, ix)[0]}, {int(eqn.params['y'])})", eqn.aval.dtype)
for _p in P.GROUP.marker:
    LOWER[_p] = lambda b, eqn, ix: _args(b, eqn, ix)[0]


def _not_lower(b, eqn, ix):
    (x,) = _args(b, eqn, ix)
    return f"(!{x})" if eqn.aval.dtype == BOOL else f"(({ctype(eqn.aval.dtype)})~{x})"


LOWER[P.not_p] = _not_lower


def _bitop(op, lop):
    def rule(b, eqn, ix):
        x, y = _args(b, eqn, ix)
        if eqn.aval.dtype == BOOL:
            return f"({x} {lop} {y})"
        return f"(({ctype(eqn.aval.dtype)})({x} {op} {y}))"
    return rule


LOWER[P.and_p] = _bitop("&", "&&")
LOWER[P.or_p] = _bitop("|", "||")
LOWER[P.xor_p] = _bitop("^", "!=")
for _p, _op in {P.eq_p: "==", P.ne_p: "!=", P.lt_p: "<", P.le_p: "<=", P.gt_p: ">", P.ge_p: ">="}.items():
    LOWER[_p] = (lambda op: lambda b, eqn, ix: "({} {} {})".format(_args(b, eqn, ix)[0], op, _args(b, eqn, ix)[1]))(_op)


def _select_n_lower(b, eqn, ix):
    which, *cases = _args(b, eqn, ix)
    if _in_dtype(b, eqn) == BOOL:
        return f"({which} ? {cases[1]} : {cases[0]})" if len(cases) == 2 else cases[0]
    e = cases[-1]
    for k in range(len(cases) - 2, -1, -1):
        e = f"({which} == {k} ? {cases[k]} : {e})"
    return e


LOWER[P.select_n_p] = _select_n_lower
LOWER[P.convert_element_type_p] = lambda b, eqn, ix: convert_expr(
    _args(b, eqn, ix)[0], _in_dtype(b, eqn), eqn.aval.dtype)
LOWER[P.bitcast_convert_type_p] = lambda b, eqn, ix: bitcast_expr(
    _args(b, eqn, ix)[0], _in_dtype(b, eqn), eqn.aval.dtype)
LOWER[P.iota_p] = lambda b, eqn, ix: convert_expr(
    f"(gx_i64){ix.dims[eqn.params['dimension']]}", I64, eqn.aval.dtype)

# --- every other elementwise primitive `foo` -> device function `gx_foo` -------------------------
for _p in P.GROUP.elementwise:
    LOWER.setdefault(_p, _fn_rule(_p))


# --- index-only movement ----------------------------------------------------------------------
def _broadcast_in_dim_lower(b, eqn, ix):
    (x,) = eqn.ins
    shape = b.ctx.aval(x).shape
    dims = [("0" if n == 1 else ix.dims[d]) for n, d in zip(shape, eqn.params["broadcast_dimensions"])]
    return b.value(x, Ix(b, shape, dims=dims))


def _reshape_lower(b, eqn, ix):
    (x,) = eqn.ins
    shape = b.ctx.aval(x).shape
    out = eqn.aval.shape
    if [d for d in shape if d != 1] == [d for d in out if d != 1]:
        # Only unit dimensions change (keepdims, squeeze, expand_dims): map dims one to one.
        it = iter([ix.dims[k] for k, d in enumerate(out) if d != 1])
        return b.value(x, Ix(b, shape, dims=[("0" if d == 1 else next(it)) for d in shape]))
    return b.value(x, Ix(b, shape, flat=ix.flat))


def _transpose_lower(b, eqn, ix):
    (x,) = eqn.ins
    perm = eqn.params["permutation"]
    dims = [None] * len(perm)
    for k, p in enumerate(perm):
        dims[p] = ix.dims[k]
    return b.value(x, Ix(b, b.ctx.aval(x).shape, dims=dims))


def _rev_lower(b, eqn, ix):
    (x,) = eqn.ins
    shape = b.ctx.aval(x).shape
    rd = set(eqn.params["dimensions"])
    dims = [b.ilet(f"{n - 1} - {paren(d)}") if k in rd else d for k, (d, n) in enumerate(zip(ix.dims, shape))]
    return b.value(x, Ix(b, shape, dims=dims))


def _affine(b, j, start, stride):
    e = j if stride == 1 else f"{paren(j)} * {stride}"
    return b.ilet(e if not start else f"{e} + {start}")


def _slice_lower(b, eqn, ix):
    (x,) = eqn.ins
    p = eqn.params
    strides = p["strides"] or (1,) * len(p["start_indices"])
    dims = [_affine(b, d, s, st) for d, s, st in zip(ix.dims, p["start_indices"], strides)]
    return b.value(x, Ix(b, b.ctx.aval(x).shape, dims=dims))


def _pad_lower(b, eqn, ix):
    x, pv = eqn.ins
    xa = b.ctx.aval(x)
    pad = b.value(pv, b.scalar_ix())
    if xa.size == 0:
        return pad
    conds, dims = [], []
    for j, n, m, (lo, hi, it) in zip(ix.dims, xa.shape, eqn.aval.shape, eqn.params["padding_config"]):
        t = j if lo == 0 else b.ilet(f"{paren(j)} - {lo}" if lo > 0 else f"{paren(j)} + {-lo}")
        extent = (n - 1) * (it + 1) + 1
        if lo > 0:
            conds.append(f"{t} >= 0")
        if m - 1 - lo >= extent:
            conds.append(f"{t} < {extent}")
        if it:
            conds.append(f"{paren(t)} % {it + 1} == 0")
            t = f"{paren(t)} / {it + 1}"
        dims.append(t)
    if not conds:
        return b.value(x, Ix(b, xa.shape, dims=[b.ilet(d) for d in dims]))
    cond = " && ".join(conds)
    return b.branches(ctype(eqn.aval.dtype), [
        (cond, lambda: b.value(x, Ix(b, xa.shape, dims=[b.ilet(d) for d in dims]))), (None, lambda: pad)])


def _concatenate_lower(b, eqn, ix):
    d = eqn.params["dimension"]
    j = ix.dims[d]
    parts, off = [], 0
    for s in eqn.ins:
        n = b.ctx.aval(s).shape[d]
        if n:
            parts.append((s, off, off + n))
        off += n
    if len(parts) == 1:
        s, o, _ = parts[0]
        dims = list(ix.dims)
        dims[d] = b.ilet(f"{paren(j)} - {o}") if o else j
        return b.value(s, Ix(b, b.ctx.aval(s).shape, dims=dims))

    def case(s, o):
        def fn():
            dims = list(ix.dims)
            dims[d] = b.ilet(f"{paren(j)} - {o}") if o else j
            return b.value(s, Ix(b, b.ctx.aval(s).shape, dims=dims))
        return fn
    return b.branches(ctype(eqn.aval.dtype), [(f"{j} < {end}" if k < len(parts) - 1 else None, case(s, o))
                                              for k, (s, o, end) in enumerate(parts)])


def _clamped(b, v, lo, hi):
    """An index value clamped to [lo, hi] in 64 bits (any integer dtype), as the index type."""
    return b.ilet(f"({b.ix_type})gx_clamp((gx_i64){lo}, (gx_i64){v}, (gx_i64){hi})")


def _gather_lower(b, eqn, ix):
    x, idx = eqn.ins
    xa, ia = b.ctx.aval(x), b.ctx.aval(idx)
    p = eqn.params
    axes, fill = tuple(p["axes"]), p["mode"] == "fill"
    fv = p.get("fill_value")
    fill_value = literal(np.nan if fv is None and eqn.aval.dtype in (F16, BF16, F32, F64)
                         else (0 if fv is None else fv),
                         eqn.aval.dtype) if fill else None
    if xa.size == 0:
        return fill_value or literal(0, eqn.aval.dtype)
    nb = ia.ndim - 1
    bdims, rest = ix.dims[:nb], iter(ix.dims[nb:])
    vals = [b.value(idx, Ix(b, ia.shape, dims=list(bdims) + [str(k)])) for k in range(len(axes))]
    dims, conds = [], []
    for a, n in enumerate(xa.shape):
        if a in axes:
            v = vals[axes.index(a)]
            if fill:
                conds.append(f"(gx_i64){v} >= 0 && (gx_i64){v} < {n}")
            dims.append(_clamped(b, v, 0, n - 1))
        else:
            dims.append(next(rest))
    if not fill:
        return b.value(x, Ix(b, xa.shape, dims=dims))
    return b.branches(ctype(eqn.aval.dtype), [(" && ".join(conds), lambda: b.value(x, Ix(b, xa.shape, dims=dims))),
                                              (None, lambda: fill_value)])


def _starts(b, eqn, first, shape, sizes):
    return [_clamped(b, b.value(s, b.scalar_ix()), 0, n - k) for s, n, k in zip(eqn.ins[first:], shape, sizes)]


def _dynamic_slice_lower(b, eqn, ix):
    x = eqn.ins[0]
    xa = b.ctx.aval(x)
    starts = _starts(b, eqn, 1, xa.shape, eqn.params["slice_sizes"])
    return b.value(x, Ix(b, xa.shape, dims=[b.ilet(f"{s} + {paren(d)}") for s, d in zip(starts, ix.dims)]))


def _dynamic_update_slice_lower(b, eqn, ix):
    x, u = eqn.ins[:2]
    ua = b.ctx.aval(u)
    if ua.size == 0:
        return b.value(x, ix)
    starts = _starts(b, eqn, 2, eqn.aval.shape, ua.shape)
    conds = [f"{d} >= {s} && {d} < {s} + {n}" for d, s, n in zip(ix.dims, starts, ua.shape)]
    return b.branches(ctype(eqn.aval.dtype), [
        (" && ".join(conds) or "true",
         lambda: b.value(u, Ix(b, ua.shape, dims=[b.ilet(f"{paren(d)} - {s}") for d, s in zip(ix.dims, starts)]))),
        (None, lambda: b.value(x, ix))])


LOWER.update({P.broadcast_in_dim_p: _broadcast_in_dim_lower, P.reshape_p: _reshape_lower,
              P.transpose_p: _transpose_lower, P.rev_p: _rev_lower, P.slice_p: _slice_lower, P.pad_p: _pad_lower,
              P.concatenate_p: _concatenate_lower, P.gather_p: _gather_lower,
              P.dynamic_slice_p: _dynamic_slice_lower, P.dynamic_update_slice_p: _dynamic_update_slice_lower})

