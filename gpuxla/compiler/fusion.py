"""Fusion: cut a Program into kernels and library calls.

Every equation is one of
  * elem     -- elementwise ops, converts, iota, select, broadcasts and index-only movement
               (transpose, reshape, slice, pad, concatenate, rev, dynamic_slice, clamped gather):
               computed inline wherever its value is needed, at whatever index it is needed;
  * reduce   -- reduce_{sum,prod,max,min,and,or}, argmax/argmin over any axes: a stage of a
               reduction kernel;
  * library  -- dot_general, sort, argsort, cumulative ops, scatter, and anything the code
               generator cannot express (complex dtypes, unknown primitives): a library call.

The pass decides which values are *materialised* (written to memory), then groups them:
  1. Program outputs, library operands and reduction results are materialised.
  2. Materialised values are visited in program order. A value joins an earlier kernel when it
     shares an operand or producer with it, reads nothing produced after that kernel, and every
     value of the kernel it needs is available at its own index (the `NotLocal` check):
       - loop kernel of the same shape: a sibling output (multi-output loop fusion);
       - reduction kernel over the same operand shape and axes: a further reduction stage
         that may use earlier stages of the same row (softmax, layernorm, var), a row-wise
         output at the operand's shape (softmax's normalisation), or an epilogue at the reduced
         shape (mean's divide); otherwise it starts a new kernel.
  3. A producer that is not materialised is recomputed inside every kernel that reads it. That is
     right while it is cheap; when the kernels re-evaluating it are several and its inline cost
     (each primitive's `cost` trait: transcendental 10, div/rem/gather 4, arithmetic 1, index-only 0,
     summed over the unmaterialised subtree) reaches EXPENSIVE, it is materialised instead and
     the grouping is redone. Within one kernel a shared producer is computed once per index (CSE).
     Each round materialises only the outermost such producers (their own producers may then be
     needed by one kernel only); after PATIENT_ROUNDS rounds all of them at once, so that a long
     chain shared by several kernels (the forward values a gradient's backward chain recomputes)
     converges in a few rounds instead of one link per round.
  4. Group size: a kernel never joins with one more than WINDOW groups back, and a loop kernel
     takes at most MAX_OUTPUTS outputs; bigger graphs simply make more kernels. Index movement
     stacked on index movement (x[1:] + x[:-1], repeated) evaluates producers at exponentially
     many indices: when a kernel would evaluate more than lower.MAX_EVALS values, the
     outermost producers it evaluates at SPLIT_EVALS or more indices are materialised.
  5. Depth: lowering inlines a producer by recursing into it, so a chain of elementwise ops is
     materialised every lower.MAX_DEPTH links: `for _ in range(10**4): x = sin(x) + 1` compiles
     instead of exhausting Python's stack.
"""
import numpy as np

from ..core import primitives as P
from ..core.graph import proj_p
from ..core.program import Eqn
from .cexpr import literal, supported_dtype
from .lower import (ARG_REDUCE, MAX_DEPTH, NotLocal, TooLarge, Unfilled, fill, lower_loop, lower_reduction,
                    room_to_recurse)
from .render import row_traffic
from .lower_rules import LOWER

EXPENSIVE = 10
WINDOW = 8
MAX_OUTPUTS = 8
SPLIT_EVALS = 4
PATIENT_ROUNDS = 8
MAX_ROUNDS = 64
REDUCE = set(P.GROUP.reduce) | set(ARG_REDUCE)


class Info:
    """A Program seen by the fusion pass: equations by slot (aliases resolved) and their classes."""

    def __init__(self, program, const_values=None):
        self.program = program
        self.avals = {i: a for i, a in enumerate(program.in_avals)}
        self.mem = set(range(len(program.in_avals)))
        self.literals = {}
        const_values = const_values or {}
        for slot, buf, aval in program.consts:
            self.avals[slot] = aval
            self.mem.add(slot)
            v = const_values.get(slot)
            if v is not None and aval.size == 1 and supported_dtype(aval.dtype):
                self.literals[slot] = literal(np.asarray(v).reshape(()), aval.dtype)
        self.alias = {}
        self.eqns, self.order, self.cls = {}, [], {}
        by_out = {e.out: e for e in program.eqns}
        for e in program.eqns:
            self.avals[e.out] = e.aval
            ins = tuple(self.resolve(s) for s in e.ins)
            params = e.params or {}
            src = by_out.get(e.ins[0]) if e.ins else None
            if e.prim.marker \
                    or (e.prim is P.convert_element_type_p and params["new_dtype"] == self.avals[ins[0]].dtype) \
                    or (e.prim in REDUCE and e.prim not in ARG_REDUCE and not params["axes"]):
                self.alias[e.out] = ins[0]
                continue
            if e.prim is proj_p and src is not None and src.prim in (P.custom_jvp_call_p, P.custom_vjp_call_p):
                n, k = len(src.ins), src.params["num_outs"]
                self.alias[e.out] = self.resolve(src.ins[n - k + params["index"]])
                continue
            if e.prim in (P.custom_jvp_call_p, P.custom_vjp_call_p):
                continue
            eq = Eqn(e.prim, params, ins, e.out, e.aval)
            self.eqns[e.out] = eq
            self.order.append(eq)
        self.outputs = [self.resolve(s) for s in program.outs]
        self._fold_transposed_dots()
        self._fold_transposed_operands()
        for s in self.mem:
            self.cls[s] = "mem"
        for e in self.order:
            self.cls[e.out] = self._classify(e)
        self.consumers = {}
        for e in self.order:
            for s in e.ins:
                self.consumers.setdefault(s, []).append(e.out)

    def _fold_transposed_dots(self):
        """transpose(dot_general(a, b)) that only swaps the free dims is dot_general(b, a)."""
        uses = {}
        for e in self.order:
            for s in e.ins:
                uses[s] = uses.get(s, 0) + 1
        for s in self.outputs:
            uses[s] = uses.get(s, 0) + 1
        drop = set()
        for e in self.order:
            d = self.eqns.get(e.ins[0]) if e.prim is P.transpose_p else None
            if d is None or d.prim is not P.dot_general_p or uses.get(d.out) != 1:
                continue
            (lc, rc), (lb, rb) = d.params["dimension_numbers"]
            nb = len(lb)
            nl = self.avals[d.ins[0]].ndim - len(lc) - nb
            nr = self.avals[d.ins[1]].ndim - len(rc) - nb
            swapped = tuple(range(nb)) + tuple(range(nb + nl, nb + nl + nr)) + tuple(range(nb, nb + nl))
            if tuple(e.params["permutation"]) != swapped:
                continue
            params = dict(d.params, dimension_numbers=((rc, lc), (rb, lb)))
            new = Eqn(P.dot_general_p, params, (d.ins[1], d.ins[0]), e.out, e.aval)
            self.eqns[e.out] = new
            self.order[self.order.index(e)] = new
            drop.add(d.out)
        if drop:
            self.order = [e for e in self.order if e.out not in drop]
            for s in drop:
                del self.eqns[s]

    def _fold_transposed_operands(self):
        """dot_general(transpose(a), b) is dot_general(a, b) with the transpose folded into the
        dimension numbers, where that keeps the result's dimension order (the operand's free
        dims stay in increasing order): `x @ x.T` then launches no transpose kernel, and cuBLAS
        takes the operand as a transposed view (a flag, library.DotPlan). A transpose left
        without readers is dropped."""
        changed = False
        for i, e in enumerate(self.order):
            if e.prim is not P.dot_general_p:
                continue
            (lc, rc), (lb, rb) = e.params["dimension_numbers"]
            ins, dims = list(e.ins), [[lc, lb], [rc, rb]]
            for side in (0, 1):
                t = self.eqns.get(ins[side])
                if t is None or t.prim is not P.transpose_p:
                    continue
                perm = tuple(t.params["permutation"])
                c, b = dims[side]
                free = [d for d in range(len(perm)) if d not in c and d not in b]
                moved = [perm[d] for d in free]
                if moved != sorted(moved):
                    continue
                ins[side] = t.ins[0]
                dims[side] = [tuple(perm[d] for d in c), tuple(perm[d] for d in b)]
            if ins != list(e.ins):
                (lc, lb), (rc, rb) = dims
                new = Eqn(e.prim, dict(e.params, dimension_numbers=((lc, rc), (lb, rb))), ins, e.out, e.aval)
                self.eqns[e.out] = self.order[i] = new
                changed = True
        if not changed:
            return
        read = set(self.outputs)
        for e in self.order:
            read.update(e.ins)
        dead = {e.out for e in self.order if e.prim is P.transpose_p and e.out not in read}
        if dead:
            self.order = [e for e in self.order if e.out not in dead]
            for s in dead:
                del self.eqns[s]

    def resolve(self, slot):
        while slot in self.alias:
            slot = self.alias[slot]
        return slot

    def _classify(self, e):
        if isinstance(e.aval, tuple) or e.prim.library or any(isinstance(self.avals[s], tuple) for s in e.ins):
            return "library"
        dts = [e.aval.dtype] + [self.avals[s].dtype for s in e.ins]
        if not all(supported_dtype(d) for d in dts):
            return "library"
        if e.prim in REDUCE:
            return "reduce"
        return "elem" if e.prim in LOWER else "library"


class Group:
    """A kernel (loop or reduction) or a library call, in execution order."""

    def __init__(self, kind, index, shape=None, in_shape=None, axes=None, eqn=None):
        self.kind, self.index = kind, index
        self.shape, self.in_shape, self.axes, self.eqn = shape, in_shape, axes, eqn
        self.roots, self.stages = [], []
        self.touched = set()
        self.stored = set()
        self.lowered = None

    def copy_with(self, slot, stage):
        g = Group(self.kind, self.index, self.shape, self.in_shape, self.axes, self.eqn)
        g.roots, g.stages = list(self.roots), list(self.stages)
        (g.stages if stage else g.roots).append(slot)
        return g

    @property
    def outer_shape(self):
        return tuple(d for k, d in enumerate(self.in_shape) if k not in self.axes)

    def __repr__(self):
        if self.kind == "library":
            return f"library {self.eqn.prim.name} -> {self.eqn.out}"
        what = f"stages {self.stages} " if self.stages else ""
        return f"{self.kind} {what}roots {self.roots}"


def lower(info, g, owner, stored=()):
    if g.kind == "loop":
        return lower_loop(info, g, owner)
    try:
        return lower_reduction(info, g, owner, stored)
    except Unfilled as e:
        # Several passes over few long rows: kept as one kernel when the CUDA dialect reads each row
        # once (rows in registers or shared memory) and the roofline report's estimate for it (the
        # bytes it moves over the share of the GPU its launch fills) is no worse than the bytes the
        # passes would move on a full GPU -- which the kernels of their own move at least.
        k = e.lowered.kernel
        plain, once = row_traffic(k)
        if once < plain and once <= plain * fill(k.info["form"], k.info["n_out"]):
            return e.lowered
        raise


class Fusion:
    """The fusion decision for one Program: `groups` in execution order (kernels lowered)."""

    def __init__(self, program, const_values=None):
        with room_to_recurse():
            self._fuse(program, const_values)

    def _fuse(self, program, const_values):
        self.info = info = Info(program, const_values)
        must = {s for s in info.outputs if info.cls.get(s) == "elem"}
        for e in info.order:
            if info.cls[e.out] == "library":
                must.update(s for s in e.ins if info.cls.get(s) == "elem")
        must |= self._depth_cuts(must)
        for self.rounds in range(1, MAX_ROUNDS + 1):
            try:
                self._assign(must)
            except TooLarge as e:
                must |= self._split(e.evals, must)
                continue
            extra = self._expensive_shared(must, outermost=self.rounds <= PATIENT_ROUNDS)
            if not extra:
                break
            must |= extra
        else:
            self._assign(must)          # the last round's materialisations, so the groups agree with `must`
        self.materialised = must

    def _depth_cuts(self, must):
        """The elementwise slots to materialise so that no kernel inlines more than MAX_DEPTH
        producers in a row (rule 5): one pass in program order."""
        info, depth, cut = self.info, {}, set()
        for e in info.order:
            if info.cls[e.out] != "elem":
                continue
            d = 1 + max((depth.get(s, 0) for s in e.ins), default=0)
            if d >= MAX_DEPTH and e.out not in must:
                cut.add(e.out)
            depth[e.out] = 0 if d >= MAX_DEPTH or e.out in must else d
        return cut

    # --- grouping -------------------------------------------------------------------------------
    def _assign(self, must):
        info = self.info
        self.groups, self.owner = groups, owner = [], {}
        for e in info.order:
            s, c = e.out, info.cls[e.out]
            if c == "library":
                g = Group("library", len(groups), eqn=e)
                groups.append(g)
                owner[s] = g
            elif c == "reduce":
                self._place(s, True)
            elif s in must:
                self._place(s, False)
        self._finish()

    def _compatible(self, g, slot, stage):
        a = self.info.avals[slot]
        if stage:
            src = self.info.avals[self.info.eqns[slot].ins[0]]
            return (g.kind == "reduction" and g.in_shape == src.shape
                    and g.axes == tuple(sorted(self.info.eqns[slot].params["axes"])))
        if g.kind == "loop":
            return g.shape == a.shape and len(g.roots) < MAX_OUTPUTS
        return g.kind == "reduction" and a.shape in (g.outer_shape, g.in_shape)

    def _place(self, slot, stage):
        info, groups, owner = self.info, self.groups, self.owner
        for g in reversed([g for g in groups[-WINDOW:] if g.kind != "library"]):
            if not self._compatible(g, slot, stage):
                continue
            trial = g.copy_with(slot, stage)
            owner[slot] = trial
            for s in g.roots + g.stages:
                owner[s] = trial
            try:
                low = lower(info, trial, owner)
            except (NotLocal, TooLarge):
                low = None
            ok = low is not None and all(owner[s].index < g.index for s in low.reads if s in owner) \
                and self._shares(low.touched.get(slot, set()), g.touched)
            if ok:
                trial.touched = set().union(*low.touched.values()) if low.touched else set()
                trial.lowered = low
                groups[g.index] = trial
                return
            for s in g.roots + g.stages:
                owner[s] = g
            del owner[slot]
        e = info.eqns[slot]
        if stage:
            in_shape, axes = info.avals[e.ins[0]].shape, tuple(sorted(e.params["axes"]))
            if self._absorb(slot, in_shape, axes):
                return
            g = Group("reduction", len(groups), in_shape=in_shape, axes=axes)
            g.stages.append(slot)
        else:
            g = Group("loop", len(groups), shape=info.avals[slot].shape)
            g.roots.append(slot)
        groups.append(g)
        owner[slot] = g
        low = lower(info, g, owner)
        g.touched = set().union(*low.touched.values()) if low.touched else set()
        g.lowered = low

    def _shares(self, a, b):
        """Whether two parts of a program meet in an operand or a producer (literals do not count)."""
        return bool((a & b) - self.info.literals.keys())

    def _absorb(self, slot, in_shape, axes):
        """A reduction over the shape of a recent loop kernel takes that kernel's outputs as its
        row-wise outputs (the cotangent and the bias gradient of a dense layer: one kernel)."""
        info, groups, owner = self.info, self.groups, self.owner
        for g in reversed([g for g in groups[-WINDOW:] if g.kind == "loop" and g.shape == in_shape]):
            trial = Group("reduction", g.index, in_shape=in_shape, axes=axes)
            trial.roots, trial.stages = list(g.roots), [slot]
            for s in g.roots + [slot]:
                owner[s] = trial
            try:
                low = lower(info, trial, owner)
            except (NotLocal, TooLarge):
                low = None
            if low is not None and all(owner[s].index < g.index for s in low.reads if s in owner) \
                    and self._shares(low.touched.get(slot, set()), g.touched):
                trial.touched = set().union(*low.touched.values())
                trial.lowered = low
                groups[g.index] = trial
                return True
            for s in g.roots:
                owner[s] = g
            del owner[slot]
        return False

    def _finish(self):
        """Lower every kernel for good: reduction results read elsewhere are stored."""
        info = self.info
        read_elsewhere = set(info.outputs)
        for g in self.groups:
            if g.kind == "library":
                read_elsewhere.update(g.eqn.ins)
            else:
                g.lowered = lower(info, g, self.owner)
                read_elsewhere.update(g.lowered.reads)
        for g in self.groups:
            if g.kind == "reduction":
                g.stored = {s for s in g.stages if s in read_elsewhere}
                if g.stored:
                    g.lowered = lower(info, g, self.owner, g.stored)

    def _expensive_shared(self, must, outermost=True):
        info = self.info
        kernels_of = {}
        for g in self.groups:
            if g.kind != "library":
                for s in g.lowered.ctx.inlined:
                    if info.cls.get(s) == "elem":
                        kernels_of.setdefault(s, set()).add(g.index)
        found = {s for s, ks in kernels_of.items() if len(ks) > 1 and s not in must and self.cost(s, must) >= EXPENSIVE}
        if not outermost:
            return found
        # Materialise the outermost ones first: their producers may then be needed by one kernel only.
        inner = set()
        for s in found:
            inner |= self._producers(s, must) - {s}
        return found - inner

    def _split(self, evals, must):
        """A kernel got too large: materialise the outermost producers it evaluates at many indices."""
        cands = {s for s, n in evals.items() if n >= SPLIT_EVALS and s not in must and self.info.cls.get(s) == "elem"}
        if not cands:
            cands = {max((s for s in evals if s not in must and self.info.cls.get(s) == "elem"), key=evals.get)}
        inner = set()
        for s in cands:
            inner |= self._producers(s, must) - {s}
        return (cands - inner) or cands

    def _producers(self, slot, must):
        out, stack = set(), [slot]
        while stack:
            s = stack.pop()
            if s in out or self.info.cls.get(s) != "elem" or (s in must and s != slot):
                continue
            out.add(s)
            stack.extend(self.info.eqns[s].ins)
        return out

    def cost(self, slot, must, seen=None):
        """Inline cost of `slot`: its op and its unmaterialised producers, each counted once."""
        seen = set() if seen is None else seen
        if slot in seen or slot in must or self.info.cls.get(slot) != "elem":
            return 0
        seen.add(slot)
        e = self.info.eqns[slot]
        return e.prim.cost + sum(self.cost(s, must, seen) for s in e.ins)

    # --- results ------------------------------------------------------------------------------
    @property
    def kernels(self):
        return [g.lowered.kernel for g in self.groups if g.kind != "library"]

    def describe(self):
        lines = []
        for g in self.groups:
            if g.kind == "library":
                lines.append(f"  library {g.eqn.prim.name}: "
                             f"{', '.join(str(self.info.avals[s]) for s in g.eqn.ins)} -> {g.eqn.aval}")
            else:
                k = g.lowered.kernel
                prims = sorted({self.info.eqns[s].prim.name for s in g.lowered.ctx.inlined if s in self.info.eqns})
                lines.append(f"  {k.kind}/{k.strategy} {k.name or ''}: outputs "
                             f"{', '.join(str(self.info.avals[s]) for s in k.outputs)} <- {' '.join(prims)}")
        return "\n".join(lines)
