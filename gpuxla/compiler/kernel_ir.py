"""Kernel IR: what one fused kernel computes, as a small statement tree over C expressions.

A fusion group (compiler/fusion.py) becomes a `Kernel`: its buffers (`Param`s) and a body of
statements whose expressions are already C (`gx_exp(v3)`, `(t1 / 128) % 4`). Index arithmetic is
symbolic (`Ix`: a flat index and/or one expression per dimension, with shapes baked in as
constants), so broadcasts, transposes, reshapes, slices, pads, concatenations and clamped gathers
never touch memory: they only rewrite the index an input is read at. Values are let-bound once per
(slot, index) and hoisted to the outermost loop they do not depend on.

Skeleton statements (`for_out`, `for_red`, `group_reduce`, `leader`, `vec`) are expanded by
compiler/render.py according to the kernel's strategy; everything else is printed as it stands.

Statements (tuples):
    ("let", ctype, name, expr)      const local          ("init", ctype, name, expr)  mutable local
    ("decl", ctype, name)           ("set", name, expr)  ("store", buf, index, expr)
    ("if", [(cond or None, stmts), ...])
    ("for_out", stmts)  ("for_red", stmts)  ("group_reduce", stage)  ("leader", stmts)
"""
import itertools
import re

import numpy as np

from ..core import dtypes
from ..core import primitives as P

F16, BF16 = np.dtype(np.float16), np.dtype(dtypes.bfloat16)
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
LOW = (F16, BF16)
BOOL = np.dtype(np.bool_)
I64 = np.dtype(np.int64)
# Arrays at least this large get 64-bit index arithmetic (the margin covers grid-stride overshoot).
INDEX64_THRESHOLD = 2 ** 31 - 2 ** 26


class NotLocal(Exception):
    """A value of this kernel is needed at an index no thread of it owns: the group cannot fuse."""


class TooLarge(Exception):
    """Inlining evaluates producers at too many distinct indices (stacked shifts, stencils)."""

    def __init__(self, evals):
        super().__init__(f"kernel would evaluate {sum(evals.values())} values")
        self.evals = evals


# A kernel evaluates at most this many (slot, index) values; past it the fusion pass materialises
# the producers evaluated at many indices and tries again.
MAX_EVALS = 3000


def supported_dtype(dt):
    dt = np.dtype(dt)
    return dt == BOOL or dt.kind in "iu" or dt in (F32, F64) or dt in LOW


def ctype(dt):
    """The C type values of `dt` are computed in (16-bit floats compute in float32)."""
    dt = np.dtype(dt)
    if dt == BOOL:
        return "bool"
    if dt.kind in "iu":
        return f"gx_{dt.kind}{8 * dt.itemsize}"
    if dt == F64:
        return "double"
    if dt == F32 or dt in LOW:
        return "float"
    raise NotImplementedError(f"CUDA code generation does not support dtype {dt.name}")


def stype(dt):
    """The C type values of `dt` are stored as."""
    dt = np.dtype(dt)
    return "gx_f16" if dt == F16 else "gx_bf16" if dt == BF16 else ctype(dt)


def _lo(dt):
    return "f16" if np.dtype(dt) == F16 else "bf16"


def round_low(expr, dt):
    """Round a float32 expression to `dt` when `dt` is a 16-bit float (as NumPy rounds each op)."""
    dt = np.dtype(dt)
    if dt in LOW:
        return f"gx_{_lo(dt)}_to_f32(gx_f32_to_{_lo(dt)}({expr}))"
    return expr


def load_expr(ref, dt):
    dt = np.dtype(dt)
    return f"gx_{_lo(dt)}_to_f32({ref})" if dt in LOW else ref


def store_expr(value, dt):
    dt = np.dtype(dt)
    return f"gx_f32_to_{_lo(dt)}({value})" if dt in LOW else value


def literal(value, dt):
    """A C literal of compute type for a NumPy scalar `value` of dtype `dt`."""
    dt = np.dtype(dt)
    v = np.asarray(value).astype(dt).reshape(())
    if dt == BOOL:
        return "true" if bool(v) else "false"
    if dt.kind in "iu":
        iv, t = int(v), ctype(dt)
        if dt.itemsize == 8:
            if iv == -2 ** 63:
                return "((gx_i64)(-9223372036854775807LL - 1))"
            return f"(({t}){iv}{'ULL' if dt.kind == 'u' else 'LL'})"
        if iv == -2 ** 31:
            return f"(({t})(-2147483647 - 1))"
        return f"(({t}){iv}{'u' if dt.kind == 'u' else ''})"
    f = float(np.asarray(v, np.float64))
    dbl = dt == F64
    if np.isnan(f):
        return "gx_nan_f64()" if dbl else "gx_nan_f32()"
    if np.isinf(f):
        s = "gx_inf_f64()" if dbl else "gx_inf_f32()"
        return s if f > 0 else f"(-{s})"
    s = repr(f) if dbl else str(np.float32(f))
    if "e" not in s and "." not in s and "inf" not in s:
        s += ".0"
    s = s if dbl else s + "f"
    return f"({s})" if s.startswith("-") else s


def convert_expr(x, src, dst):
    """convert_element_type of a compute-type expression (saturating float->int, as XLA)."""
    src, dst = np.dtype(src), np.dtype(dst)
    if src == dst:
        return x
    if dst == BOOL:
        return f"({x} != 0)"
    if dst in LOW:
        if src == F32 or src in LOW:
            return round_low(x, dst)
        if dst == BF16:   # through float32, as XLA (and the NumPy backend) convert to bfloat16
            return round_low(f"gx_convert<float, {ctype(src)}>({x})", dst)
        return f"gx_{_lo(dst)}_to_f32(gx_f64_to_{_lo(dst)}((double){x}))"
    return f"gx_convert<{ctype(dst)}, {ctype(src)}>({x})"


_BITS_OF = {("float", 4): "__float_as_int", ("double", 8): "__double_as_longlong"}


def bitcast_expr(x, src, dst):
    src, dst = np.dtype(src), np.dtype(dst)
    if src == dst:
        return x
    n = src.itemsize
    # To an integer bit pattern first ...
    if src in LOW:
        bits = f"((gx_u16)gx_f32_to_{_lo(src)}({x}))"
    elif src == F32:
        bits = f"((gx_u32)__float_as_uint({x}))"
    elif src == F64:
        bits = f"((gx_u64)__double_as_longlong({x}))"
    else:
        bits = f"((gx_u{8 * n})({x}))"
    # ... then to the destination.
    if dst in LOW:
        return f"gx_{_lo(dst)}_to_f32((gx_u16){bits})"
    if dst == F32:
        return f"__uint_as_float((gx_u32){bits})"
    if dst == F64:
        return f"__longlong_as_double((long long){bits})"
    if dst == BOOL:
        return f"({bits} != 0)"
    return f"(({ctype(dst)}){bits})"


# --------------------------------------------------------------------------------------------
# Scopes, let-binding and hoisting
# --------------------------------------------------------------------------------------------
_IDENT = re.compile(r"[A-Za-z_]\w*")
_ATOM = re.compile(r"^(?:[A-Za-z_]\w*|\d+|\(?-?\d+\.\d*(?:e[-+]?\d+)?f?\)?|true|false)$")


class Scope:
    __slots__ = ("stmts", "memo", "guard")

    def __init__(self, guard=False):
        self.stmts, self.memo, self.guard = [], {}, guard


class Builder:
    """Emits let-bound C for values of program slots at symbolic indices.

    `leaf(builder, slot, ix)` returns the expression for a slot this kernel does not compute
    (a load, a literal, a reduction result), or None to inline the slot's equation.
    """

    def __init__(self, ctx, ix_type):
        self.ctx, self.ix_type = ctx, ix_type
        self.scopes = [Scope()]
        self.level = {}
        self.ids = itertools.count()
        self.touched = set()

    # --- scopes -------------------------------------------------------------------------------
    def push(self, guard=False, names=()):
        self.scopes.append(Scope(guard))
        for n in names:
            self.level[n] = len(self.scopes) - 1

    def pop(self):
        return self.scopes.pop().stmts

    def emit(self, stmt):
        self.scopes[-1].stmts.append(stmt)

    def fresh(self, prefix):
        return f"{prefix}{next(self.ids)}"

    def _lookup(self, key):
        for s in reversed(self.scopes):
            if key in s.memo:
                return s.memo[key]
        return None

    def guard_level(self):
        for k in range(len(self.scopes) - 1, -1, -1):
            if self.scopes[k].guard:
                return k
        return 0

    def let(self, expr, ct, prefix="v", key=None, min_level=0):
        if key is None and _ATOM.match(expr):
            return expr
        key = key or ("e", expr)
        hit = self._lookup(key)
        if hit is not None:
            return hit
        lvl = max([min_level] + [self.level.get(t, 0) for t in _IDENT.findall(expr)])
        name = self.fresh(prefix)
        self.scopes[lvl].stmts.append(("let", ct, name, expr))
        self.scopes[lvl].memo[key] = name
        self.level[name] = lvl
        return name

    def ilet(self, expr):
        return self.let(expr, self.ix_type, prefix="t")

    def declare(self, ct):
        name = self.fresh("v")
        self.emit(("decl", ct, name))
        self.level[name] = len(self.scopes) - 1
        return name

    def branches(self, ct, cases):
        """A value chosen by conditions; each case is computed only when its condition holds."""
        name = self.declare(ct)
        chain = []
        for cond, fn in cases:
            self.push(guard=True)
            self.emit(("set", name, fn()))
            chain.append((cond, self.pop()))
        self.emit(("if", chain))
        return name

    # --- values -------------------------------------------------------------------------------
    def scalar_ix(self):
        return Ix(self, ())

    def ix_for(self, slot, ix):
        """Operands of rank 0 meet operands of any shape (lax-level scalars)."""
        return ix if self.ctx.aval(slot).shape else self.scalar_ix()

    def value(self, slot, ix):
        self.touched.add(slot)
        key = ("s", slot, ix.key())
        hit = self._lookup(key)
        if hit is not None:
            return hit
        v = self.ctx.leaf(self, slot, ix)
        if v is None:
            ev = self.ctx.evals
            ev[slot] = ev.get(slot, 0) + 1
            self.ctx.n_evals += 1
            if self.ctx.n_evals > MAX_EVALS:
                raise TooLarge(ev)
            eqn = self.ctx.eqn(slot)
            rule = LOWER.get(eqn.prim)
            if rule is None:
                raise NotImplementedError(f"CUDA code generation has no rule for '{eqn.prim.name}'")
            v = self.let(rule(self, eqn, ix), ctype(eqn.aval.dtype))
        self.scopes[self.level.get(v, 0) if v in self.level else 0].memo[key] = v
        return v

    def load(self, buf, dt, ix):
        flat = ix.flat
        return self.let(load_expr(f"{buf}[{flat}]", dt), ctype(dt), key=("ld", buf, flat),
                        min_level=self.guard_level())


def prune(stmts):
    """Drop let-bound values nobody reads (index helpers a kernel ended up not needing)."""
    while True:
        used = {}
        _uses(stmts, used)
        dead = {st[2] for st in _walk(stmts) if st[0] == "let" and used.get(st[2], 0) == 0}
        if not dead:
            return stmts
        stmts = _drop(stmts, dead)


def _exprs(st):
    op = st[0]
    if op in ("let", "init"):
        return [st[3]]
    if op == "set":
        return [st[1], st[2]]
    if op == "store":
        return [st[1], st[2], st[3]]
    if op == "if":
        return [c for c, _ in st[1] if c]
    if op == "argstep":
        return [st[1].acc, st[1].idx, st[2], st[3]]
    if op == "vec":
        return ["i"]
    return []


def _children(st):
    op = st[0]
    if op == "if":
        return [b for _, b in st[1]]
    if op in ("for_out", "for_red", "leader"):
        return [st[1]]
    if op == "vec":
        return [st[3], st[4], st[5]]
    return []


def _walk(stmts):
    for st in stmts:
        yield st
        for c in _children(st):
            yield from _walk(c)


def _uses(stmts, used):
    for st in _walk(stmts):
        for e in _exprs(st):
            for t in _IDENT.findall(e):
                used[t] = used.get(t, 0) + 1


def _drop(stmts, dead):
    out = []
    for st in stmts:
        op = st[0]
        if op == "let" and st[2] in dead:
            continue
        if op == "if":
            st = ("if", [(c, _drop(b, dead)) for c, b in st[1]])
        elif op in ("for_out", "for_red", "leader"):
            st = (op, _drop(st[1], dead))
        elif op == "vec":
            st = st[:3] + (_drop(st[3], dead), _drop(st[4], dead), _drop(st[5], dead))
        out.append(st)
    return out


def _strides(shape):
    st, acc = [], 1
    for d in reversed(shape):
        st.append(acc)
        acc *= d
    return st[::-1]


def _p(e):
    return e if _ATOM.match(e) else f"({e})"


class Ix:
    """A symbolic index into an array of `shape`: a flat (row-major) expression and/or per-dim ones."""
    __slots__ = ("b", "shape", "_flat", "_dims")

    def __init__(self, b, shape, flat=None, dims=None):
        self.b, self.shape = b, tuple(shape)
        if not self.shape or all(d == 1 for d in self.shape):
            flat, dims = "0", ["0"] * len(self.shape)
        self._flat = flat
        self._dims = None if dims is None else [("0" if n == 1 else d) for d, n in zip(dims, self.shape)]

    @property
    def dims(self):
        if self._dims is None:
            ds = []
            for k, (n, st) in enumerate(zip(self.shape, _strides(self.shape))):
                if n == 1:
                    ds.append("0")
                    continue
                e = self._flat if st == 1 else f"{_p(self._flat)} / {st}"
                if k > 0:
                    e = f"({e}) % {n}"
                ds.append(self.b.ilet(e))
            self._dims = ds
        return self._dims

    @property
    def flat(self):
        if self._flat is None:
            terms = [d if st == 1 else f"{_p(d)} * {st}" for d, st in zip(self._dims, _strides(self.shape)) if d != "0"]
            self._flat = self.b.ilet(" + ".join(terms) or "0")
        return self._flat

    def key(self):
        if not self.shape:
            return ()
        return ("d",) + tuple(self._dims) if self._dims is not None else ("f", self._flat)

    def same(self, other):
        """Whether two indices name the same element (structurally)."""
        if self.shape != other.shape:
            return False
        if self._dims is not None and other._dims is not None:
            return self._dims == other._dims
        if self._flat is not None and other._flat is not None:
            return self._flat == other._flat
        return self.dims == other.dims


# --------------------------------------------------------------------------------------------
# Lowering rules: primitive -> C expression of its value at an index
# --------------------------------------------------------------------------------------------
LOWER = {}
_EXACT_LOW = {"neg", "abs", "max", "min", "sign", "floor", "ceil", "round", "select_n"}


def _args(b, eqn, ix):
    return [b.value(s, b.ix_for(s, ix)) for s in eqn.ins]


def _in_dtype(b, eqn, k=0):
    return b.ctx.aval(eqn.ins[k]).dtype


def _fn_rule(name):
    def rule(b, eqn, ix):
        args = _args(b, eqn, ix)
        e = f"gx_{name}({', '.join(args)})"
        return e if name in _EXACT_LOW else round_low(e, eqn.aval.dtype)
    return rule


for _n in ("neg", "sign", "floor", "ceil", "exp", "exp2", "log", "log1p", "expm1", "tanh", "logistic", "sin",
           "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "sqrt", "rsqrt",
           "cbrt", "abs", "erf", "erfc", "erf_inv", "lgamma", "digamma", "population_count", "clz"):
    LOWER[P.UNARY[_n]] = _fn_rule(_n)
for _n in ("add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "shift_left",
           "shift_right_logical", "shift_right_arithmetic"):
    LOWER[P.BINARY[_n]] = _fn_rule(_n)


def _nextafter(b, eqn, ix):
    x, y = _args(b, eqn, ix)
    dt = eqn.aval.dtype
    if dt in LOW:
        return f"gx_nextafter_{_lo(dt)}({x}, {y})"
    return f"gx_nextafter({x}, {y})"


LOWER[P.nextafter_p] = _nextafter
LOWER[P.round_p] = lambda b, eqn, ix: "gx_{}({})".format(
    "rint" if (eqn.params or {}).get("rounding_method", 0) else "round", _args(b, eqn, ix)[0])
LOWER[P.is_finite_p] = lambda b, eqn, ix: f"gx_is_finite({_args(b, eqn, ix)[0]})"
LOWER[P.integer_pow_p] = lambda b, eqn, ix: round_low(
    f"gx_integer_pow({_args(b, eqn, ix)[0]}, {int(eqn.params['y'])})", eqn.aval.dtype)
LOWER[P.stop_gradient_p] = LOWER[P.wrap_p] = lambda b, eqn, ix: _args(b, eqn, ix)[0]


def _not(b, eqn, ix):
    (x,) = _args(b, eqn, ix)
    return f"(!{x})" if eqn.aval.dtype == BOOL else f"(({ctype(eqn.aval.dtype)})~{x})"


LOWER[P.not_p] = _not


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
for _n, _op in {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}.items():
    LOWER[P.COMPARE[_n]] = (lambda op: lambda b, eqn, ix: "({} {} {})".format(_args(b, eqn, ix)[0], op, _args(b, eqn, ix)[1]))(_op)


def _select_n(b, eqn, ix):
    which, *cases = _args(b, eqn, ix)
    if _in_dtype(b, eqn) == BOOL:
        return f"({which} ? {cases[1]} : {cases[0]})" if len(cases) == 2 else cases[0]
    e = cases[-1]
    for k in range(len(cases) - 2, -1, -1):
        e = f"({which} == {k} ? {cases[k]} : {e})"
    return e


LOWER[P.select_n_p] = _select_n
LOWER[P.convert_element_type_p] = lambda b, eqn, ix: convert_expr(
    _args(b, eqn, ix)[0], _in_dtype(b, eqn), eqn.aval.dtype)
LOWER[P.bitcast_convert_type_p] = lambda b, eqn, ix: bitcast_expr(
    _args(b, eqn, ix)[0], _in_dtype(b, eqn), eqn.aval.dtype)
LOWER[P.iota_p] = lambda b, eqn, ix: convert_expr(
    f"(gx_i64){ix.dims[eqn.params['dimension']]}", I64, eqn.aval.dtype)


# --- index-only movement ----------------------------------------------------------------------
def _broadcast_in_dim(b, eqn, ix):
    (x,) = eqn.ins
    shape = b.ctx.aval(x).shape
    dims = [("0" if n == 1 else ix.dims[d]) for n, d in zip(shape, eqn.params["broadcast_dimensions"])]
    return b.value(x, Ix(b, shape, dims=dims))


def _reshape(b, eqn, ix):
    (x,) = eqn.ins
    shape = b.ctx.aval(x).shape
    out = eqn.aval.shape
    if [d for d in shape if d != 1] == [d for d in out if d != 1]:
        # Only unit dimensions change (keepdims, squeeze, expand_dims): map dims one to one.
        it = iter([ix.dims[k] for k, d in enumerate(out) if d != 1])
        return b.value(x, Ix(b, shape, dims=[("0" if d == 1 else next(it)) for d in shape]))
    return b.value(x, Ix(b, shape, flat=ix.flat))


def _transpose(b, eqn, ix):
    (x,) = eqn.ins
    perm = eqn.params["permutation"]
    dims = [None] * len(perm)
    for k, p in enumerate(perm):
        dims[p] = ix.dims[k]
    return b.value(x, Ix(b, b.ctx.aval(x).shape, dims=dims))


def _rev(b, eqn, ix):
    (x,) = eqn.ins
    shape = b.ctx.aval(x).shape
    rd = set(eqn.params["dimensions"])
    dims = [b.ilet(f"{n - 1} - {_p(d)}") if k in rd else d for k, (d, n) in enumerate(zip(ix.dims, shape))]
    return b.value(x, Ix(b, shape, dims=dims))


def _affine(b, j, start, stride):
    e = j if stride == 1 else f"{_p(j)} * {stride}"
    return b.ilet(e if not start else f"{e} + {start}")


def _slice(b, eqn, ix):
    (x,) = eqn.ins
    p = eqn.params
    strides = p["strides"] or (1,) * len(p["start_indices"])
    dims = [_affine(b, d, s, st) for d, s, st in zip(ix.dims, p["start_indices"], strides)]
    return b.value(x, Ix(b, b.ctx.aval(x).shape, dims=dims))


def _pad(b, eqn, ix):
    x, pv = eqn.ins
    xa = b.ctx.aval(x)
    pad = b.value(pv, b.scalar_ix())
    if xa.size == 0:
        return pad
    conds, dims = [], []
    for j, n, m, (lo, hi, it) in zip(ix.dims, xa.shape, eqn.aval.shape, eqn.params["padding_config"]):
        t = j if lo == 0 else b.ilet(f"{_p(j)} - {lo}" if lo > 0 else f"{_p(j)} + {-lo}")
        extent = (n - 1) * (it + 1) + 1
        if lo > 0:
            conds.append(f"{t} >= 0")
        if m - 1 - lo >= extent:
            conds.append(f"{t} < {extent}")
        if it:
            conds.append(f"{_p(t)} % {it + 1} == 0")
            t = f"{_p(t)} / {it + 1}"
        dims.append(t)
    if not conds:
        return b.value(x, Ix(b, xa.shape, dims=[b.ilet(d) for d in dims]))
    cond = " && ".join(conds)
    return b.branches(ctype(eqn.aval.dtype), [
        (cond, lambda: b.value(x, Ix(b, xa.shape, dims=[b.ilet(d) for d in dims]))), (None, lambda: pad)])


def _concatenate(b, eqn, ix):
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
        dims[d] = b.ilet(f"{_p(j)} - {o}") if o else j
        return b.value(s, Ix(b, b.ctx.aval(s).shape, dims=dims))

    def case(s, o):
        def fn():
            dims = list(ix.dims)
            dims[d] = b.ilet(f"{_p(j)} - {o}") if o else j
            return b.value(s, Ix(b, b.ctx.aval(s).shape, dims=dims))
        return fn
    return b.branches(ctype(eqn.aval.dtype), [(f"{j} < {end}" if k < len(parts) - 1 else None, case(s, o))
                                              for k, (s, o, end) in enumerate(parts)])


def _clamped(b, v, lo, hi):
    """An index value clamped to [lo, hi] in 64 bits (any integer dtype), as the index type."""
    return b.ilet(f"({b.ix_type})gx_clamp((gx_i64){lo}, (gx_i64){v}, (gx_i64){hi})")


def _gather(b, eqn, ix):
    x, idx = eqn.ins
    xa, ia = b.ctx.aval(x), b.ctx.aval(idx)
    p = eqn.params
    axes, fill = tuple(p["axes"]), p["mode"] == "fill"
    fv = p.get("fill_value")
    fill_value = literal(np.nan if fv is None and eqn.aval.dtype in (F16, BF16, F32, F64) else (0 if fv is None else fv),
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


def _dynamic_slice(b, eqn, ix):
    x = eqn.ins[0]
    xa = b.ctx.aval(x)
    starts = _starts(b, eqn, 1, xa.shape, eqn.params["slice_sizes"])
    return b.value(x, Ix(b, xa.shape, dims=[b.ilet(f"{s} + {_p(d)}") for s, d in zip(starts, ix.dims)]))


def _dynamic_update_slice(b, eqn, ix):
    x, u = eqn.ins[:2]
    ua = b.ctx.aval(u)
    if ua.size == 0:
        return b.value(x, ix)
    starts = _starts(b, eqn, 2, eqn.aval.shape, ua.shape)
    conds = [f"{d} >= {s} && {d} < {s} + {n}" for d, s, n in zip(ix.dims, starts, ua.shape)]
    return b.branches(ctype(eqn.aval.dtype), [
        (" && ".join(conds) or "true",
         lambda: b.value(u, Ix(b, ua.shape, dims=[b.ilet(f"{_p(d)} - {s}") for d, s in zip(ix.dims, starts)]))),
        (None, lambda: b.value(x, ix))])


LOWER.update({P.broadcast_in_dim_p: _broadcast_in_dim, P.reshape_p: _reshape, P.transpose_p: _transpose,
              P.rev_p: _rev, P.slice_p: _slice, P.pad_p: _pad, P.concatenate_p: _concatenate,
              P.gather_p: _gather, P.dynamic_slice_p: _dynamic_slice,
              P.dynamic_update_slice_p: _dynamic_update_slice})

# Cost of one evaluation, for the recompute-or-materialise rule (fusion.py).
TRANSCENDENTAL = {P.UNARY[n] for n in ("exp", "exp2", "log", "log1p", "expm1", "tanh", "logistic", "sin", "cos",
                                       "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
                                       "sqrt", "rsqrt", "cbrt", "erf", "erfc", "erf_inv", "lgamma", "digamma")} | {
    P.pow_p, P.atan2_p}
INDEX_ONLY = {P.broadcast_in_dim_p, P.reshape_p, P.transpose_p, P.rev_p, P.slice_p, P.iota_p, P.concatenate_p,
              P.pad_p, P.dynamic_slice_p, P.stop_gradient_p, P.wrap_p}


def op_cost(prim):
    if prim in TRANSCENDENTAL:
        return 10
    if prim in (P.div_p, P.rem_p, P.gather_p, P.integer_pow_p):
        return 4
    return 0 if prim in INDEX_ONLY else 1


# --------------------------------------------------------------------------------------------
# Reductions
# --------------------------------------------------------------------------------------------
ARG_REDUCE = {P.argmax_p: "max", P.argmin_p: "min"}


def reduce_identity(prim, dt):
    dt = np.dtype(dt)
    name = prim.name
    if prim in ARG_REDUCE:
        name = "reduce_" + ARG_REDUCE[prim]
    if name == "reduce_sum":
        return literal(0, dt if dt not in LOW else F32)
    if name == "reduce_prod":
        return literal(1, dt if dt not in LOW else F32)
    if name in ("reduce_max", "reduce_min"):
        hi = name == "reduce_min"
        if dt == BOOL:
            return "true" if hi else "false"
        if dt.kind in "iu":
            info = np.iinfo(dt)
            return literal(info.max if hi else info.min, dt)
        return "gx_inf_f64()" if dt == F64 and hi else "(-gx_inf_f64())" if dt == F64 else (
            "gx_inf_f32()" if hi else "(-gx_inf_f32())")
    if name == "reduce_and":
        return "true" if dt == BOOL else f"(({ctype(dt)})~({ctype(dt)})0)"
    if name == "reduce_or":
        return "false" if dt == BOOL else f"(({ctype(dt)})0)"
    raise NotImplementedError(name)


def reduce_combine(prim, dt, a, b):
    dt = np.dtype(dt)
    name = prim.name
    if name == "reduce_sum":
        return f"gx_add({a}, {b})"
    if name == "reduce_prod":
        return f"gx_mul({a}, {b})"
    if name == "reduce_max":
        return f"gx_max({a}, {b})"
    if name == "reduce_min":
        return f"gx_min({a}, {b})"
    if name in ("reduce_and", "reduce_or"):
        if dt == BOOL:
            return f"({a} {'&&' if name == 'reduce_and' else '||'} {b})"
        return f"(({ctype(dt)})({a} {'&' if name == 'reduce_and' else '|'} {b}))"
    raise NotImplementedError(name)


class Stage:
    """One reduction of a reduction kernel: `acc` (and `idx` for argmax/argmin) per output row."""

    def __init__(self, slot, eqn, in_dtype, k):
        self.slot, self.eqn, self.prim = slot, eqn, eqn.prim
        self.in_dtype = np.dtype(in_dtype)
        self.k = k
        self.acc = f"acc{k}"
        self.arg = eqn.prim in ARG_REDUCE
        self.idx = f"arg{k}" if self.arg else None
        self.acc_type = ctype(self.in_dtype)
        self.idx_type = ctype(eqn.aval.dtype) if self.arg else None
        self.identity = reduce_identity(eqn.prim, self.in_dtype)


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------
class Param:
    """A kernel argument: an input or output buffer of a program slot, or scratch space."""
    __slots__ = ("name", "slot", "dtype", "size", "role")

    def __init__(self, name, slot, dtype, size, role):
        self.name, self.slot, self.dtype, self.size, self.role = name, slot, np.dtype(dtype), size, role

    @property
    def ctype(self):
        t = "unsigned" if self.role == "counter" else stype(self.dtype) if self.role != "scratch" else ctype(self.dtype)
        return f"const {t}*" if self.role == "in" else f"{t}*"


class Kernel:
    """One generated kernel: what render.py prints and the backends launch.

    name     gx_<kind>_<hash of the source>          kind     "loop" | "reduction"
    source   the CUDA C text (one translation unit)  launch   (grid, block): 3-tuples
    params   [Param]: inputs, outputs, then scratch  strategy how threads map to work
    """

    def __init__(self, kind, strategy, params, body, size, ix_type, info):
        self.kind, self.strategy, self.params, self.body = kind, strategy, params, body
        self.size, self.ix_type, self.info = size, ix_type, info
        self.name = self.source = None
        self.launch = None
        self.shared_mem = 0
        self.helpers = set()

    @property
    def inputs(self):
        return [p.slot for p in self.params if p.role == "in"]

    @property
    def outputs(self):
        return [p.slot for p in self.params if p.role == "out"]

    @property
    def signature(self):
        return [p.ctype for p in self.params]

    def __repr__(self):
        g, b = self.launch
        return f"<Kernel {self.name} {self.kind}/{self.strategy} grid={g} block={b}>"


# --------------------------------------------------------------------------------------------
# Lowering a fusion group to a Kernel
# --------------------------------------------------------------------------------------------
class Context:
    """Which slots a kernel loads, inlines, or takes from its own reductions (the leaf policy)."""

    def __init__(self, info, group, owner):
        self.info, self.group, self.owner = info, group, owner
        self.inputs = {}          # slot -> Param, in order of first load
        self.stage_vals = {}      # slot -> (C variable, index it is valid at)
        self.pending = set(group.stages)
        self.canon = {}           # own root -> the index it is computed at
        self.inlined = set()
        self.loads = {}           # param name -> set of flat index expressions
        self.vec = ()             # param names loaded as vectors (vectorised loop kernels)
        self.evals, self.n_evals = {}, 0   # inline evaluations per slot (distinct indices)

    def aval(self, slot):
        return self.info.avals[slot]

    def eqn(self, slot):
        self.inlined.add(slot)
        return self.info.eqns[slot]

    def param(self, slot):
        p = self.inputs.get(slot)
        if p is None:
            a = self.aval(slot)
            p = self.inputs[slot] = Param(f"in{len(self.inputs)}", slot, a.dtype, a.size, "in")
        return p

    def leaf(self, b, slot, ix):
        lit = self.info.literals.get(slot)
        if lit is not None:
            return lit
        if slot in self.stage_vals:
            var, at = self.stage_vals[slot]
            if not ix.same(at):
                raise NotLocal(slot)
            return var
        if slot in self.pending:
            raise NotLocal(slot)
        if slot in self.canon:
            if not ix.same(self.canon[slot]):
                raise NotLocal(slot)
            return None
        own = self.owner.get(slot)
        if slot in self.info.mem or (own is not None and own is not self.group):
            p = self.param(slot)
            self.loads.setdefault(p.name, set()).add(ix.flat)
            if p.name in self.vec and ix.flat == "i":
                return b.let(load_expr(f"{p.name}_v[gx_k]", p.dtype), ctype(p.dtype), key=("ldv", p.name))
            return b.load(p.name, p.dtype, ix)
        if self.info.cls[slot] != "elem":
            raise NotLocal(slot)
        return None


def index_type(sizes):
    return "long long" if max(sizes, default=0) >= INDEX64_THRESHOLD else "int"


class Lowered:
    """A group lowered to kernel IR, with what the fusion pass needs to judge it."""

    def __init__(self, kernel, ctx, touched):
        self.kernel, self.ctx, self.touched = kernel, ctx, touched

    @property
    def reads(self):
        return set(self.ctx.inputs)


def lower_loop(info, group, owner, vectorize=True):
    shape = group.shape
    n = int(np.prod(shape, dtype=np.int64))
    roots = group.roots
    ctx = Context(info, group, owner)
    ixt = index_type(_sizes(info, roots, [n]))
    b = Builder(ctx, "gx_ix")
    b.push(names=["i"])
    ix = Ix(b, shape, flat="i")
    for r in roots:
        ctx.canon[r] = ix
    outs = [Param(f"out{k}", r, info.avals[r].dtype, n, "out") for k, r in enumerate(roots)]
    touched = {}
    for r, p in zip(roots, outs):
        b.touched = set()
        v = b.value(r, ix)
        b.emit(("store", p.name, "i", store_expr(v, p.dtype)))
        touched[r] = b.touched
    body = b.pop()
    stmts = b.scopes[0].stmts + [("for_out", body)]
    strategy = "loop"
    direct = [p for p in ctx.inputs.values() if ctx.loads.get(p.name) == {"i"} and p.size == n]
    if vectorize and n % 4 == 0 and n >= 1024 and all(p.dtype.itemsize <= 4 for p in direct + outs):
        # Vectorised twin: each thread handles 4 consecutive elements with one wide load/store per
        # buffer read or written at the output index; the scalar loop stays for unaligned buffers.
        vctx = Context(info, group, owner)
        vctx.inputs = dict(ctx.inputs)
        vctx.vec = {p.name for p in direct}
        vb = Builder(vctx, "gx_ix")
        vb.ids = b.ids
        vb.push(names=["i", "gx_k"])
        vix = Ix(vb, shape, flat="i")
        for r in roots:
            vctx.canon[r] = vix
        for r, p in zip(roots, outs):
            v = vb.value(r, vix)
            vb.emit(("store", f"{p.name}_v", "gx_k", store_expr(v, p.dtype)))
        vbody = vb.pop()
        stmts = [("vec", direct, outs, vb.scopes[0].stmts, vbody, stmts)]
        strategy = "loop-vec4"
    params = list(ctx.inputs.values()) + outs
    k = Kernel("loop", strategy, params, prune(stmts), n, ixt, {"shape": tuple(shape)})
    return Lowered(k, ctx, touched)


def _sizes(info, roots, first=()):
    """Sizes of the arrays a group may index, inline intermediates included (index-width decision)."""
    seen, out, stack = set(), list(first), list(roots)
    while stack:
        s = stack.pop()
        if s in seen:
            continue
        seen.add(s)
        a = info.avals[s]
        if isinstance(a, tuple):
            continue
        out.append(a.size)
        e = info.eqns.get(s)
        if e is not None and (info.cls.get(s) == "elem" or s in roots):
            stack.extend(e.ins)
    return out


def choose_strategy(in_shape, axes, n_stages, rowmap):
    """How threads map to a reduction: thread, warp or block per output row, or split rows."""
    n_out = int(np.prod([d for k, d in enumerate(in_shape) if k not in axes], dtype=np.int64))
    n_red = int(np.prod([in_shape[a] for a in axes], dtype=np.int64))
    live = [k for k, d in enumerate(in_shape) if d != 1]
    red = [k for k in live if k in axes]
    row_like = red == live[len(live) - len(red):]
    single = n_stages == 1 and not rowmap
    if single and n_out <= 256 and n_red >= 16384:
        return "split"
    if row_like:
        return "block" if n_red >= 1024 else "warp" if n_red >= 16 else "thread"
    if n_out < 512 and n_red >= 2048:
        return "block"
    return "thread"


def lower_reduction(info, group, owner, stored=()):
    in_shape, axes = tuple(group.in_shape), tuple(sorted(group.axes))
    outer = [d for k, d in enumerate(in_shape) if k not in axes]
    red = [in_shape[a] for a in axes]
    n_out, n_red = int(np.prod(outer, dtype=np.int64)), int(np.prod(red, dtype=np.int64))
    rowmap = [r for r in group.roots if info.avals[r].shape == in_shape]
    epilogue = [r for r in group.roots if r not in rowmap]
    stored = [s for s in group.stages if s in stored]
    strategy = choose_strategy(in_shape, axes, len(group.stages), bool(rowmap))
    ctx = Context(info, group, owner)
    ixt = index_type(_sizes(info, group.roots + group.stages, [n_out * max(n_red, 1)]))
    b = Builder(ctx, "gx_ix")
    b.push(names=["o"])
    od = []
    for k, n in enumerate(outer):
        if n == 1:
            od.append("0")
            continue
        name = f"od{k}"
        b.emit(("let", "gx_ix", name, _dim_expr("o", outer, k)))
        b.level[name] = 1
        od.append(name)
    outer_ix = Ix(b, outer, flat="o", dims=od)
    live = [k for k, d in enumerate(in_shape) if d != 1]
    rl = [k for k in live if k in axes]
    row_like = rl == live[len(live) - len(rl):]
    col_like = rl == live[:len(rl)]

    def store_row_output(r, fix):
        """A row-wise (reduction-shaped) output written inside the reduction's loop."""
        b.touched = set()
        p = Param(f"out{len(outs)}", r, info.avals[r].dtype, n_out * n_red, "out")
        outs.append(p)
        b.emit(("store", p.name, fix.flat, store_expr(b.value(r, fix), p.dtype)))
        touched[r] = b.touched

    def full_ix(define):
        rd = []
        for k, n in enumerate(red):
            if n == 1:
                rd.append("0")
                continue
            name = f"rd{k}"
            if define:
                b.emit(("let", "gx_ix", name, _dim_expr("r", red, k)))
                b.level[name] = len(b.scopes) - 1
            rd.append(name)
        it_o, it_r, dims = iter(od), iter(rd), []
        for k in range(len(in_shape)):
            dims.append(next(it_r) if k in axes else next(it_o))
        flat = (f"o * {n_red} + r" if n_red != 1 else "o") if row_like else (
            f"r * {n_out} + o" if n_out != 1 else "r") if col_like else None
        return Ix(b, in_shape, flat=flat, dims=dims)

    for r in epilogue:
        ctx.canon[r] = outer_ix
    canon_full = full_ix(False)
    for r in rowmap:
        ctx.canon[r] = canon_full
    touched = {}
    stages = []
    # Row-wise outputs that do not need the last stage are written in that stage's pass over the row.
    last = group.stages[-1]
    early = [r for r in rowmap if not _depends(info, owner, group, r, last)]
    rowmap = [r for r in rowmap if r not in early]
    outs = []
    for k, s in enumerate(group.stages):
        eqn = info.eqns[s]
        ctx.inlined.add(s)
        st = Stage(s, eqn, info.avals[eqn.ins[0]].dtype, k)
        stages.append(st)
        b.emit(("init", st.acc_type, st.acc, st.identity))
        b.level[st.acc] = 1
        if st.arg:
            b.emit(("init", st.idx_type, st.idx, literal(np.iinfo(eqn.aval.dtype).max, eqn.aval.dtype)))
            b.level[st.idx] = 1
        b.touched = set()
        b.push(names=["r"])
        fix = full_ix(True)
        v = b.value(eqn.ins[0], fix)
        if st.arg:
            b.emit(("argstep", st, v, f"({st.idx_type})r"))
        else:
            b.emit(("set", st.acc, reduce_combine(st.prim, st.in_dtype, st.acc, v)))
        touched[s] = b.touched | {s}
        if s == last:
            for r in early:
                store_row_output(r, fix)
        b.emit(("for_red", b.pop()))
        b.emit(("group_reduce", st))
        ctx.pending.discard(s)
        val = st.idx if st.arg else round_low(st.acc, eqn.aval.dtype)
        ctx.stage_vals[s] = (b.let(val, ctype(eqn.aval.dtype)), outer_ix)
    if rowmap:
        b.push(names=["r"])
        fix = full_ix(True)
        for r in rowmap:
            store_row_output(r, fix)
        b.emit(("for_red", b.pop()))
    if epilogue or stored:
        b.push()
        for r in epilogue:
            b.touched = set()
            p = Param(f"out{len(outs)}", r, info.avals[r].dtype, n_out, "out")
            outs.append(p)
            b.emit(("store", p.name, "o", store_expr(b.value(r, outer_ix), p.dtype)))
            touched[r] = b.touched
        for s in stored:
            p = Param(f"out{len(outs)}", s, info.avals[s].dtype, n_out, "out")
            outs.append(p)
            b.emit(("store", p.name, "o", store_expr(ctx.stage_vals[s][0], p.dtype)))
        b.emit(("leader", b.pop()))
    body = b.pop()
    stmts = b.scopes[0].stmts + [("for_out", body)]
    scratch = []
    if strategy == "split":
        st = stages[0]
        chunks = int(min(1024, max(2, -(-n_red // (256 * 16)))))
        scratch.append(Param("ws0", None, np.dtype(_np_of_ctype(st.acc_type, st.in_dtype)), n_out * chunks, "scratch"))
        if st.arg:
            scratch.append(Param("ws1", None, eqn_dtype(info, st.slot), n_out * chunks, "scratch"))
        scratch.append(Param("cnt", None, np.uint32, n_out, "counter"))
    params = list(ctx.inputs.values()) + outs + scratch
    k = Kernel("reduction", strategy, params, prune(stmts), n_out, ixt,
               {"in_shape": in_shape, "axes": axes, "n_out": n_out, "n_red": n_red, "stages": stages,
                "row_like": row_like})
    if strategy == "split":
        k.info["chunks"] = chunks
    return Lowered(k, ctx, touched)


def _depends(info, owner, group, slot, target):
    """Whether `slot`, computed inline by `group`, needs `target`."""
    seen, stack = set(), [slot]
    while stack:
        s = stack.pop()
        if s == target:
            return True
        if s in seen or s in info.mem or (owner.get(s) is not None and owner.get(s) is not group and s != slot):
            continue
        seen.add(s)
        e = info.eqns.get(s)
        if e is not None:
            stack.extend(e.ins)
    return False


def eqn_dtype(info, slot):
    return info.avals[slot].dtype


def _np_of_ctype(ct, dt):
    return F32 if ct == "float" else F64 if ct == "double" else np.dtype(dt)


def _dim_expr(var, shape, k):
    st = _strides(shape)[k]
    e = var if st == 1 else f"{var} / {st}"
    return f"({e}) % {shape[k]}" if k > 0 else e
