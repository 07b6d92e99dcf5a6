"""Lowering a fusion group to a `Kernel`: its buffers (`Param`s) and a statement tree over C.

A fusion group (compiler/fusion.py) becomes one kernel. A loop kernel computes its roots at every
output index; a reduction kernel accumulates its stages (`Stage`) over each output row, and writes
row-wise outputs inside the row's loop and reduced-shape outputs (the epilogue) after it. Which
values are loaded, inlined or taken from the kernel's own reductions is the `Context`'s leaf policy;
a value needed at an index no thread owns raises `NotLocal`, which is how fusion learns that a
group cannot fuse. compiler/render.py prints the result.
"""
import contextlib
import sys
import threading

import numpy as np

from ..core import primitives as P
from .builder import Builder, Ix, prune, strides
from .cexpr import BOOL, F32, F64, LOW, ctype, literal, load_expr, round_low, store_expr, stype
from .lower_rules import LOWER

# Arrays at least this large get 64-bit index arithmetic (the margin covers grid-stride overshoot).
INDEX64_THRESHOLD = 2 ** 31 - 2 ** 26


class NotLocal(Exception):
    """A value of this kernel is needed at an index no thread of it owns: the group cannot fuse."""


class Unfilled(NotLocal):
    """A group of several passes over few long rows (lower_reduction): only rows cut into chunks
    would fill the GPU, and a chunk has no row value for a later pass. `lowered` is the group as
    one kernel anyway, which the fusion pass keeps when a dialect reads each of its rows once."""

    def __init__(self, slot, lowered):
        super().__init__(slot)
        self.lowered = lowered


class TooLarge(Exception):
    """Inlining evaluates producers at too many distinct indices (stacked shifts, stencils)."""

    def __init__(self, evals):
        super().__init__(f"kernel would evaluate {sum(evals.values())} values")
        self.evals = evals


# A kernel evaluates at most this many (slot, index) values; past it the fusion pass materialises
# the producers evaluated at many indices and tries again.
MAX_EVALS = 3000

# Lowering inlines a producer by recursing into it (4 Python frames a link). Fusion cuts chains of
# inlined elementwise ops every MAX_DEPTH links, and lowering runs with room for that many.
MAX_DEPTH = 512
_FRAMES = 4 * MAX_DEPTH + 1000
_depth_lock, _depth_users, _depth_saved = threading.Lock(), 0, None


@contextlib.contextmanager
def room_to_recurse():
    """Raise the interpreter's recursion limit to what a MAX_DEPTH chain needs while any thread
    lowers, and put it back when the last one is done."""
    global _depth_users, _depth_saved
    with _depth_lock:
        if _depth_users == 0:
            _depth_saved = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_depth_saved, _FRAMES))
        _depth_users += 1
    try:
        yield
    finally:
        with _depth_lock:
            _depth_users -= 1
            if _depth_users == 0:
                sys.setrecursionlimit(_depth_saved)


# --------------------------------------------------------------------------------------------
# Reduction algebra
# --------------------------------------------------------------------------------------------
ARG_REDUCE = {P.argmax_p: "max", P.argmin_p: "min"}


def reduce_identity(prim, dt):
    """The C value a reduction's accumulator starts from (16-bit floats accumulate in float32)."""
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
    """One step of a reduction: the C expression combining accumulator `a` with value `b`."""
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
    source   its C text (one translation unit)        launch   (grid, block): 3-tuples
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
        self.vec = ()             # param names loaded as vectors (vectorised loop kernels) ...
        self.vec_key = None       # ... at index "i", or at the index of this key (tiled kernels)
        self.load_ixs = {}        # param name -> [Ix] it is loaded at (transpose_tiling reads them)
        self.tiled = {}           # (param name, index key) -> its shared tile element (tiled loop kernels)
        self.evals, self.n_evals = {}, 0   # inline evaluations per slot (distinct indices)

    def aval(self, slot):
        return self.info.avals[slot]

    def eqn(self, slot):
        """The equation of `slot`, to be inlined at one more index (counted against MAX_EVALS)."""
        self.evals[slot] = self.evals.get(slot, 0) + 1
        self.n_evals += 1
        if self.n_evals > MAX_EVALS:
            raise TooLarge(self.evals)
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
            tile = self.tiled.get((p.name, ix.key()))
            if tile is not None:
                return b.let(load_expr(tile, p.dtype), ctype(p.dtype), key=("ldt", tile), min_level=b.guard_level())
            self.load_ixs.setdefault(p.name, []).append(ix)
            self.loads.setdefault(p.name, set()).add(ix.flat)
            if p.name in self.vec and (ix.flat == "i" if self.vec_key is None else ix.key() == self.vec_key):
                return b.let(load_expr(f"{p.name}_v[gx_k]", p.dtype), ctype(p.dtype), key=("ldv", p.name))
            return b.load(p.name, p.dtype, ix)
        if self.info.cls[slot] != "elem":
            raise NotLocal(slot)
        return None


def index_type(sizes):
    return "long long" if max(sizes, default=0) >= INDEX64_THRESHOLD else "int"


class Lowered:
    """A group lowered to a Kernel, with what the fusion pass needs to judge it."""

    def __init__(self, kernel, ctx, touched):
        self.kernel, self.ctx, self.touched = kernel, ctx, touched

    @property
    def reads(self):
        return set(self.ctx.inputs)


def lower_loop(info, group, owner, vectorize=True):
    """A loop kernel: the group's roots at every index of its shape (4 per thread when aligned, or
    by 32x32 tiles when an operand is read transposed: `transpose_tiling`)."""
    shape = group.shape
    n = int(np.prod(shape, dtype=np.int64))
    roots = group.roots
    ctx = Context(info, group, owner)
    ixt = index_type(_sizes(info, roots, [n]))
    b = Builder(ctx, "gx_ix", LOWER)
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
    reads = _read_patterns(ctx, ix)
    by_name = {p.name: p for p in ctx.inputs.values()}
    tiling = transpose_tiling(shape, reads, by_name, info.avals) if TRANSPOSE_TILES else None
    direct = [p for p in ctx.inputs.values() if ctx.loads.get(p.name) == {"i"} and p.size == n]
    if tiling is not None:
        stmts = [_tiled_twin(info, group, owner, ctx, b, outs, tiling, stmts)]
        strategy = "tile-transpose"
    elif vectorize and n >= 1024 and all(p.dtype.itemsize <= 4 for p in direct + outs):
        # Vectorised twin: each thread handles 4 consecutive elements with one wide load/store per
        # buffer read or written at the output index, the scalar loop the last n % 4 elements;
        # the scalar loop alone serves unaligned buffers.
        vctx = Context(info, group, owner)
        vctx.inputs = dict(ctx.inputs)
        vctx.vec = {p.name for p in direct}
        vb = Builder(vctx, "gx_ix", LOWER)
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
    tiled = set(tiling.loads) if tiling is not None else set()
    strided = sorted({name for name, pat in reads if pat is not None and _strided(shape, pat)
                      and (name, pat) not in tiled})
    k = Kernel("loop", strategy, params, prune(stmts), n, ixt,
               {"shape": tuple(shape), "tiling": tiling, "strided": strided})
    return Lowered(k, ctx, touched)


# --------------------------------------------------------------------------------------------
# Transposed operands through shared-memory tiles
# --------------------------------------------------------------------------------------------
# A loop kernel's threads run along the output's last axis, so an operand whose own last axis runs
# along another output axis (x.T + y, swapaxes) is read with a stride: each lane of a warp loads
# from a different 32-byte sector. When both axes are at least TILE_MIN long, the kernel instead
# takes 32x32 tiles of the output: its 256 threads (32 lanes x 8 rows) first copy each transposed
# operand's tile into shared memory with lanes along the operand's own last axis (coalesced), then
# compute the outputs with lanes along the output's last axis, reading the tile transposed.
# TRANSPOSE_TILES switches the form off (the tests compare the two); TILE_SHARED_BYTES bounds the
# tiles of one kernel (the rest of its transposed operands are read directly).
TRANSPOSE_TILES = True
TILE = 32
TILE_ROWS = 8
TILE_MIN = 32
TILE_SHARED_BYTES = 32 * 1024
# In the compute phase of a tiled kernel whose last output axis is a multiple of 4 long, a thread
# takes 4 neighbouring outputs of one tile row (8 threads a row, 32 rows): one 16-byte load for
# each operand read at the output's own index and one store per output (render.CudaDialect.tile;
# the 4-byte-element case). TILE_VECTORS switches it off (the tests compare the two).
TILE_VECTORS = True


class TransposeTiling:
    """How a tiled loop kernel walks its output (render.CudaDialect spells it):

    shape     the output shape; `m` and `l` its tiled axes (`l` the last non-unit one, `m` the one
              the transposed operands' last axes run along); `batch` the other non-unit axes
    n_tiles   work items: a tile of (m, l) for each batch index, l fastest, then m, then batch
    loads     [(param name, pattern)]: pattern[k] = the output axis operand axis k runs along
              (None: a constant 0); `smem` their tiles; `flats` their indices at the load
              phase's coordinates (gx_lm, gx_ll and the batch axes' gx_d<a>)
    """

    def __init__(self, shape, m, l, loads, shapes):
        """`shapes`: each load's operand shape."""
        self.shape, self.m, self.l, self.loads = tuple(shape), m, l, loads
        self.batch = [a for a, d in enumerate(shape) if d != 1 and a not in (m, l)]
        self.tm, self.tl = -(-shape[m] // TILE), -(-shape[l] // TILE)
        self.n_tiles = self.tm * self.tl * int(np.prod([shape[a] for a in self.batch], dtype=np.int64))
        self.smem = [f"gx_tile{j}" for j in range(len(loads))]
        self.vec = None           # (params read at the output's index, outputs): 4-wide (TILE_VECTORS)
        self.shapes = [tuple(sh) for sh in shapes]
        names = self.dim_names(compute=False)
        self.flats = [" + ".join(names[a] if st == 1 else f"{names[a]} * {st}"
                                 for a, st, d in zip(pat, strides(sh), sh) if a is not None and d != 1) or "0"
                      for (_, pat), sh in zip(loads, self.shapes)]

    def dim_names(self, compute=True):
        """Each output axis's coordinate in the compute (True) or load (False) phase ("0": a unit axis)."""
        m, l = ("gx_m", "gx_l") if compute else ("gx_lm", "gx_ll")
        return ["0" if d == 1 else m if a == self.m else l if a == self.l else f"gx_d{a}"
                for a, d in enumerate(self.shape)]

    def __repr__(self):
        return f"TransposeTiling({self.shape}, m={self.m}, l={self.l}, loads={self.loads})"


def _read_patterns(ctx, out_ix):
    """{(param name, pattern)} of a loop kernel's loads; pattern[k] is the output axis operand axis
    k is read along (None: a unit axis), or the whole pattern None when the load's index is not
    made of the output's coordinates alone (a reshape, a shifted slice, a gather)."""
    out_dims = out_ix._dims
    pos = {d: a for a, d in enumerate(out_dims or ()) if d != "0"}
    reads = set()
    for name, ixs in ctx.load_ixs.items():
        for ix in ixs:
            pat = None
            if out_dims is not None and ix._dims is not None and all(d == "0" or d in pos for d in ix._dims):
                pat = tuple(None if d == "0" else pos[d] for d in ix._dims)
                # Each axis as long as the output axis it runs along: a coordinate that is in range
                # for the output is in range for the operand (a zero-low pad is not, nor a prefix slice).
                if any(a is not None and n != out_ix.shape[a] for a, n in zip(pat, ix.shape)):
                    pat = None
            reads.add((name, pat))
    return reads


def _last_axis(pat):
    return max((k for k, a in enumerate(pat) if a is not None), default=None)


def _strided(shape, pat):
    """Whether neighbouring lanes (along the output's last non-unit axis) read the operand apart."""
    live = [a for a, d in enumerate(shape) if d != 1]
    if not live or live[-1] not in pat:
        return False          # not read along the lanes' axis: every lane reads the same value
    return pat[_last_axis(pat)] != live[-1]


def transpose_tiling(shape, reads, inputs, avals):
    """The `TransposeTiling` of a loop kernel whose operands include one read transposed along two
    axes of at least TILE_MIN, or None (the plain loop). The tiles follow the output axis most of
    the transposed bytes run along; operands transposed along another axis are read directly."""
    live = [a for a, d in enumerate(shape) if d != 1]
    if len(live) < 2 or shape[live[-1]] < TILE_MIN:
        return None
    l = live[-1]
    by_m = {}
    for name, pat in sorted(reads, key=lambda r: (r[0], str(r[1]))):
        if pat is None or not _strided(shape, pat):
            continue
        m = pat[_last_axis(pat)]
        if shape[m] >= TILE_MIN:
            by_m.setdefault(m, []).append((name, pat))
    if not by_m:
        return None
    m = max(by_m, key=lambda a: (sum(inputs[nm].dtype.itemsize for nm, _ in by_m[a]), -a))
    loads, room = [], TILE_SHARED_BYTES
    for name, pat in by_m[m]:
        cost = TILE * (TILE + 1) * inputs[name].dtype.itemsize
        if cost <= room:
            loads.append((name, pat))
            room -= cost
    return TransposeTiling(shape, m, l, loads, [avals[inputs[name].slot].shape for name, _ in loads])


def _tiled_twin(info, group, owner, ctx, b, outs, tiling, scalar):
    """The ("tile", tiling, top, per_tile, body, scalar) statement: the group's roots lowered at the
    compute phase's coordinates, the tiled operands read from their tiles; `scalar` is the plain
    loop. Both dialects print the tiles: the body reads `tile[gx_tx][gx_j]`, names each dialect
    binds to its own loops (render.CudaDialect.tile, render.CpuDialect.tile)."""
    top, per_tile, body, tctx, tix = _tile_phase(info, group, owner, ctx, b, outs, tiling, ["gx_m", "gx_l", "gx_j"],
                                                 "[gx_tx][gx_j]", lambda p, ix: (p.name, ix.flat))
    vec = _tiled_vectors(info, group, owner, ctx, b, outs, tiling, tctx, tix) if TILE_VECTORS else None
    return ("tile", tiling, top, per_tile, body) + (vec or ([], [], [])) + (scalar,)


def _tile_phase(info, group, owner, ctx, b, outs, tiling, loop_names, tile_at, store_at, vec=(), vec_key=None):
    """(top, per_tile, body, context, index): the group's roots lowered at the compute phase's
    coordinates of a tiled kernel, tiled operands read as `<tile><tile_at>`, each output stored at
    `store_at(param, index)`; `vec`/`vec_key`: the operands read as 4-wide vectors there."""
    tctx = Context(info, group, owner)
    tctx.inputs = dict(ctx.inputs)
    tctx.vec, tctx.vec_key = vec, vec_key
    tb = Builder(tctx, "gx_ix", LOWER)
    tb.ids = b.ids
    names = tiling.dim_names()
    tb.push(names=[names[a] for a in tiling.batch])
    tb.push(guard=True, names=loop_names)
    tix = Ix(tb, tiling.shape, dims=names)
    for (name, pat), sh, sm in zip(tiling.loads, tiling.shapes, tiling.smem):
        key = Ix(tb, sh, dims=["0" if a is None else names[a] for a in pat]).key()
        tctx.tiled[(name, key)] = f"{sm}{tile_at}"
    for r in group.roots:
        tctx.canon[r] = tix
    for r, p in zip(group.roots, outs):
        v = tb.value(r, tix)
        tb.emit(("store", *store_at(p, tix), store_expr(v, p.dtype)))
    body = tb.pop()
    per_tile = tb.pop()
    return tb.scopes[0].stmts, per_tile, body, tctx, tix


def _tiled_vectors(info, group, owner, ctx, b, outs, tiling, tctx, tix):
    """(vtop, vper_tile, vbody): the compute phase 4 outputs a thread (TILE_VECTORS), the operands
    read at the output's own index taken from 4-wide vectors `<name>_v[gx_k]` and the outputs
    stored to `<out>_v[gx_k]`; sets tiling.vec = (those operands, outs). None when the last axis
    is not a multiple of 4 long or an element is wider than 4 bytes (no 16-byte vector of 4)."""
    n = int(np.prod(tiling.shape, dtype=np.int64))
    key = tix.key()
    tiled = {name for name, _ in tiling.loads}
    direct = [p for p in tctx.inputs.values() if p.name not in tiled and p.size == n
              and any(ix.key() == key for ix in tctx.load_ixs.get(p.name, ()))]
    if tiling.shape[tiling.l] % 4 or any(p.dtype.itemsize > 4 for p in direct + outs):
        return None
    top, per_tile, body, _, _ = _tile_phase(info, group, owner, ctx, b, outs, tiling,
                                            ["gx_m", "gx_l", "gx_j", "gx_c", "gx_k"], "[gx_c][gx_j]",
                                            lambda p, ix: (f"{p.name}_v", "gx_k"), {p.name for p in direct}, key)
    tiling.vec = (direct, outs)
    return top, per_tile, body


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


# How a reduction fills a GPU. A kernel keeps the machine busy when it has at least FILL_WARPS warps:
# 2 blocks of 256 threads on each of the 132 SMs of an H100 (the largest part we target, so smaller
# ones are full too). Forms that cut rows into chunks aim higher, at OCCUPY_BLOCKS blocks of 256
# (8 per SM: a full SM), since a reduction is bound by the loads each SM keeps in flight.
# A multi-pass group over fewer than BIG values stays one kernel even when it cannot fill the GPU:
# there the launches it would add cost more than the idle SMs.
FILL_WARPS = 2 * 132 * 8
OCCUPY_BLOCKS = 8 * 132
BIG = 1 << 20
MAX_CHUNKS = 1024
TILE_THREADS = 256
# Rows of a multi-pass reduction stay in registers (render.CudaDialect.body) when each thread holds
# at most ROW_CACHE values of a row, and at most ROW_CACHE_VALUES values in all (softmax keeps x
# and exp(x - max): 2 x 16).
ROW_CACHE = 16
ROW_CACHE_VALUES = 48


class Form:
    """How threads map to a reduction (render.py spells each one):

    strategy  thread | warp | block (lanes along the reduced axis, a row each) | split (a block per
              chunk of a row) | tile (lanes along the outputs: a block covers `tile` = (outputs,
              row lanes) of them, each thread strides the rows of its output)
    chunks    how many fixed chunks the reduced axis is cut into (split, tile); their partials are
              combined in chunk order by the block that finishes a row (or a tile) last
    threads   threads per block
    The order values are combined in follows from these alone, which depend only on the shapes:
    results are the same bits for any grid.
    """

    def __init__(self, strategy, threads, chunks=1, tile=None):
        self.strategy, self.threads, self.chunks, self.tile = strategy, threads, chunks, tile

    def warps(self, n_out):
        """Warps a launch has work for (before MAX_GRID caps the grid)."""
        s, t = self.strategy, self.threads
        if s == "thread":
            return -(-n_out // 32)
        if s == "warp":
            return n_out
        if s == "block":
            return n_out * t // 32
        if s == "split":
            return n_out * self.chunks * t // 32
        return -(-n_out // self.tile[0]) * self.chunks * t // 32

    def __repr__(self):
        return f"Form({self.strategy}, threads={self.threads}, chunks={self.chunks}, tile={self.tile})"


def fill(form, n_out):
    """The share of a GPU (FILL_WARPS) a launch of `form` over n_out outputs keeps busy, at most 1."""
    return min(1.0, form.warps(n_out) / FILL_WARPS)


def block_threads(n_red):
    """Threads of a block that reduces one row: enough for 8+ values each."""
    return 512 if n_red >= 8192 else 256 if n_red >= 2048 else 128


def _chunks(items, n_red, min_chunk):
    """Chunks to cut each of `items` rows (or tiles) into so that they make OCCUPY_BLOCKS blocks,
    or n_red / 4096 for long rows; each chunk at least `min_chunk` long."""
    want = max(-(-OCCUPY_BLOCKS // max(items, 1)), -(-n_red // 4096))
    return int(max(1, min(want, n_red // min_chunk, MAX_CHUNKS)))


def choose_form(in_shape, axes, single):
    """The `Form` of a reduction of `in_shape` over `axes`; `single`: one stage and no row-wise
    outputs, so its rows may be cut into chunks (a later stage needs the whole row's value).

    When the innermost dimension is reduced, a row is contiguous: lanes stride it (thread, warp,
    block per row by its length; split when few rows cannot fill the GPU). Otherwise neighbouring
    outputs are contiguous (column sums, middle axes): a tile of 32 outputs takes a warp's 32
    lanes (one 128-byte load per reduced index) and 8 row lanes stride the reduced axis (with
    fewer than 32 outputs: their count rounded up to a power of two, and more row lanes), and
    long columns are cut into chunks."""
    n_out = int(np.prod([d for k, d in enumerate(in_shape) if k not in axes], dtype=np.int64))
    n_red = int(np.prod([in_shape[a] for a in axes], dtype=np.int64))
    live = [k for k, d in enumerate(in_shape) if d != 1]
    if not live or live[-1] in axes:
        if n_red < 16:
            return Form("thread", 256)
        # (rows of several passes longer than a warp keeps in registers take a block)
        warp = n_red < 1024 and (single or n_red <= 32 * ROW_CACHE)
        form = Form("warp", 256) if warp else Form("block", block_threads(n_red))
        if single and form.warps(n_out) < FILL_WARPS:
            chunks = _chunks(n_out, n_red, 2048)
            if chunks > 1:
                return Form("split", 256, chunks)
        return form
    if n_red < 16:
        return Form("thread", 256)
    w = min(32, 1 << max(0, n_out - 1).bit_length())
    tile = (w, TILE_THREADS // w)
    chunks = _chunks(-(-n_out // w), n_red, 16 * tile[1]) if single else 1
    return Form("tile", TILE_THREADS, chunks, tile)


def lower_reduction(info, group, owner, stored=()):
    """A reduction kernel: the group's stages over each row, then its row-wise and epilogue outputs.

    `stored`: stages whose own value is a program output (written by the leader after the row).
    """
    red = _Reduction(info, group, owner)
    b, ctx = red.b, red.ctx
    rowmap = [r for r in group.roots if info.avals[r].shape == red.in_shape]
    epilogue = [r for r in group.roots if r not in rowmap]
    stored = [s for s in group.stages if s in stored]
    single = len(group.stages) == 1 and not rowmap
    form = choose_form(red.in_shape, red.axes, single)
    # Only cut rows fill the GPU here, and a row cut into chunks has no value for a later stage or
    # a row-wise output to use: this stage (or output) gets a kernel of its own, unless the fusion
    # pass keeps the one kernel (Unfilled).
    unfilled = not single and red.n_out * red.n_red >= BIG and choose_form(red.in_shape, red.axes, True).chunks > 1
    ixt = index_type(_sizes(info, group.roots + group.stages, [red.n_out * max(red.n_red, 1)]))
    for r in epilogue:
        ctx.canon[r] = red.outer_ix
    canon_full = red.full_ix(define=False)
    for r in rowmap:
        ctx.canon[r] = canon_full
    # Row-wise outputs that do not need the last stage are written in that stage's pass over the row.
    last = group.stages[-1]
    early = [r for r in rowmap if not _depends(info, owner, group, r, last)]
    stages = [red.stage(k, s, early if s == last else ()) for k, s in enumerate(group.stages)]
    red.rowwise([r for r in rowmap if r not in early])
    red.epilogue(epilogue, stored)
    body = b.pop()
    stmts = b.scopes[0].stmts + [("for_out", body)]
    scratch = _split_scratch(stages[0], red.n_out, form) if form.chunks > 1 else []
    params = list(ctx.inputs.values()) + red.outs + scratch
    k = Kernel("reduction", form.strategy, params, prune(stmts), red.n_out, ixt,
               {"in_shape": red.in_shape, "axes": red.axes, "n_out": red.n_out, "n_red": red.n_red,
                "stages": stages, "row_like": red.row_like, "form": form, "chunks": form.chunks,
                "keys": b.keys})
    if unfilled:
        raise Unfilled(group.stages[-1], Lowered(k, ctx, red.touched))
    return Lowered(k, ctx, red.touched)


class _Reduction:
    """One reduction group being lowered: its index space (outer `o`, reduced `r`), builder and outputs."""

    def __init__(self, info, group, owner):
        self.info = info
        self.in_shape, self.axes = tuple(group.in_shape), tuple(sorted(group.axes))
        self.outer = [d for k, d in enumerate(self.in_shape) if k not in self.axes]
        self.red_shape = [self.in_shape[a] for a in self.axes]
        self.n_out = int(np.prod(self.outer, dtype=np.int64))
        self.n_red = int(np.prod(self.red_shape, dtype=np.int64))
        live = [k for k, d in enumerate(self.in_shape) if d != 1]
        rl = [k for k in live if k in self.axes]
        self.row_like = rl == live[len(live) - len(rl):]
        self.col_like = rl == live[:len(rl)]
        self.ctx = Context(info, group, owner)
        self.b = Builder(self.ctx, "gx_ix", LOWER)
        self.b.push(names=["o"])
        self.od = _dim_lets(self.b, "o", self.outer, "od", define=True)
        self.outer_ix = Ix(self.b, self.outer, flat="o", dims=self.od)
        self.outs, self.touched = [], {}

    def full_ix(self, define):
        """The index into the reduced operand at (o, r); `define` binds r's dimensions in this scope."""
        rd = _dim_lets(self.b, "r", self.red_shape, "rd", define=define)
        it_o, it_r = iter(self.od), iter(rd)
        dims = [next(it_r) if k in self.axes else next(it_o) for k in range(len(self.in_shape))]
        n_out, n_red = self.n_out, self.n_red
        flat = (f"o * {n_red} + r" if n_red != 1 else "o") if self.row_like else (
            f"r * {n_out} + o" if n_out != 1 else "r") if self.col_like else None
        return Ix(self.b, self.in_shape, flat=flat, dims=dims)

    def stage(self, k, s, rows):
        """Reduction `s` over the row (writing row-wise outputs `rows` in the same pass), combined
        across the threads of the row, its value then bound at the outer index."""
        b, ctx, info = self.b, self.ctx, self.info
        eqn = info.eqns[s]
        ctx.inlined.add(s)
        st = Stage(s, eqn, info.avals[eqn.ins[0]].dtype, k)
        b.emit(("init", st.acc_type, st.acc, st.identity))
        b.level[st.acc] = 1
        if st.arg:
            b.emit(("init", st.idx_type, st.idx, literal(np.iinfo(eqn.aval.dtype).max, eqn.aval.dtype)))
            b.level[st.idx] = 1
        b.touched = set()
        b.push(names=["r"])
        fix = self.full_ix(define=True)
        v = b.value(eqn.ins[0], fix)
        if st.arg:
            b.emit(("argstep", st, v, f"({st.idx_type})r"))
        else:
            b.emit(("set", st.acc, reduce_combine(st.prim, st.in_dtype, st.acc, v)))
        self.touched[s] = b.touched | {s}
        for r in rows:
            self._store_row(r, fix)
        b.emit(("for_red", b.pop()))
        b.emit(("group_reduce", st))
        ctx.pending.discard(s)
        val = st.idx if st.arg else round_low(st.acc, eqn.aval.dtype)
        ctx.stage_vals[s] = (b.let(val, ctype(eqn.aval.dtype)), self.outer_ix)
        return st

    def rowwise(self, rows):
        """Row-wise outputs that need the last stage: one more pass over the row."""
        if rows:
            b = self.b
            b.push(names=["r"])
            fix = self.full_ix(define=True)
            for r in rows:
                self._store_row(r, fix)
            b.emit(("for_red", b.pop()))

    def epilogue(self, roots, stored):
        """Reduced-shape outputs and stored stage values, written once per row by its leader thread."""
        if not (roots or stored):
            return
        b, ctx = self.b, self.ctx
        b.push()
        for r in roots:
            b.touched = set()
            p = self._out(r, self.n_out)
            b.emit(("store", p.name, "o", store_expr(b.value(r, self.outer_ix), p.dtype)))
            self.touched[r] = b.touched
        for s in stored:
            p = self._out(s, self.n_out)
            b.emit(("store", p.name, "o", store_expr(ctx.stage_vals[s][0], p.dtype)))
        b.emit(("leader", b.pop()))

    def _store_row(self, r, fix):
        """A row-wise (reduced-operand-shaped) output, written inside a pass over the row."""
        b = self.b
        b.touched = set()
        p = self._out(r, self.n_out * self.n_red)
        b.emit(("store", p.name, fix.flat, store_expr(b.value(r, fix), p.dtype)))
        self.touched[r] = b.touched

    def _out(self, slot, size):
        p = Param(f"out{len(self.outs)}", slot, self.info.avals[slot].dtype, size, "out")
        self.outs.append(p)
        return p


def _split_scratch(st, n_out, form):
    """A chunked form's partials (and argmax/argmin indices) per output and chunk, and its
    counters: one per row (split) or per tile of outputs (tile)."""
    acc_dtype = F32 if st.acc_type == "float" else F64 if st.acc_type == "double" else st.in_dtype
    scratch = [Param("ws0", None, acc_dtype, n_out * form.chunks, "scratch")]
    if st.arg:
        scratch.append(Param("ws1", None, st.eqn.aval.dtype, n_out * form.chunks, "scratch"))
    counters = n_out if form.strategy == "split" else -(-n_out // form.tile[0])
    scratch.append(Param("cnt", None, np.uint32, counters, "counter"))
    return scratch


def _dim_lets(b, var, shape, prefix, define):
    """Names for the dimensions of flat index `var` into `shape` ("0" for unit dims); `define`
    let-binds them in the builder's current scope."""
    names = []
    for k, n in enumerate(shape):
        if n == 1:
            names.append("0")
            continue
        name = f"{prefix}{k}"
        if define:
            st = strides(shape)[k]
            e = var if st == 1 else f"{var} / {st}"
            b.emit(("let", "gx_ix", name, f"({e}) % {n}" if k > 0 else e))
            b.level[name] = len(b.scopes) - 1
        names.append(name)
    return names


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
