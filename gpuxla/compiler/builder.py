"""The kernel builder: let-bound C for program values at symbolic indices, and the statement tree.

A kernel body is a small tree of statements whose expressions are already C (`gx_exp(v3)`,
`(t1 / 128) % 4`). The builder binds each value once per (slot, index) and hoists it to the outermost
scope it does not depend on; which names an expression depends on is read off its C text, so the
statements carry no separate dataflow. Index arithmetic is symbolic (`Ix`: a flat index and/or
one expression per dimension, with shapes baked in as constants), so index movement only rewrites
the index a value is read at.

Statements (tuples):
    ("let", ctype, name, expr)      const local          ("init", ctype, name, expr)  mutable local
    ("decl", ctype, name)           ("set", name, expr)  ("store", buf, index, expr)
    ("if", [(cond or None, stmts), ...])
    ("for_out", stmts)  ("for_red", stmts)  ("group_reduce", stage)  ("leader", stmts)
    ("argstep", stage, value, index)       ("vec", direct, outs, top, body, scalar)
    ("tile", tiling, top, per_tile, body, vtop, vper_tile, vbody, scalar)
Skeleton statements (`for_out`, `for_red`, `group_reduce`, `leader`, `vec`, `tile`) are expanded by
compiler/render.py according to the kernel's strategy; everything else is printed as it stands.
"""
import itertools
import re

from .cexpr import ATOM, ctype, load_expr, paren

_IDENT = re.compile(r"[A-Za-z_]\w*")


class Scope:
    """One level of nesting: its statements, what was let-bound in it, and whether it is conditional."""
    __slots__ = ("stmts", "memo", "guard")

    def __init__(self, guard=False):
        self.stmts, self.memo, self.guard = [], {}, guard


class Builder:
    """Emits let-bound C for values of program slots at symbolic indices.

    `ctx.leaf(builder, slot, ix)` returns the expression for a slot this kernel does not compute
    (a load, a literal, a reduction result), or None to inline the slot's equation, which
    `ctx.eqn(slot)` hands over and `rules[eqn.prim](builder, eqn, ix)` spells in C.
    """

    def __init__(self, ctx, ix_type, rules):
        self.ctx, self.ix_type, self.rules = ctx, ix_type, rules
        self.scopes = [Scope()]
        self.level = {}
        self.ids = itertools.count()
        self.touched = set()
        # let-bound name -> what it is: ("s", slot, index key) for a program value, ("ld", buffer,
        # flat index) for a load. The same key in two passes over a row is the same value, which
        # lets a dialect keep it between the passes (render.CudaDialect's row cache).
        self.keys = {}

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
        if key is None and ATOM.match(expr):
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
        self.keys[name] = key
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
            eqn = self.ctx.eqn(slot)
            rule = self.rules.get(eqn.prim)
            if rule is None:
                raise NotImplementedError(f"CUDA code generation has no rule for '{eqn.prim.name}'")
            v = self.let(rule(self, eqn, ix), ctype(eqn.aval.dtype))
            if self.keys.get(v, ("e",))[0] == "e":
                self.keys[v] = key
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
    if op in ("vec", "tile"):
        return list(st[3:6]) if op == "vec" else list(st[2:9])
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
        elif op == "tile":
            st = st[:2] + tuple(_drop(x, dead) for x in st[2:9])
        out.append(st)
    return out


def strides(shape):
    """Row-major strides, in elements."""
    st, acc = [], 1
    for d in reversed(shape):
        st.append(acc)
        acc *= d
    return st[::-1]


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
            for k, (n, st) in enumerate(zip(self.shape, strides(self.shape))):
                if n == 1:
                    ds.append("0")
                    continue
                e = self._flat if st == 1 else f"{paren(self._flat)} / {st}"
                if k > 0:
                    e = f"({e}) % {n}"
                ds.append(self.b.ilet(e))
            self._dims = ds
        return self._dims

    @property
    def flat(self):
        if self._flat is None:
            terms = [d if st == 1 else f"{paren(d)} * {st}"
                     for d, st in zip(self._dims, strides(self.shape)) if d != "0"]
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
