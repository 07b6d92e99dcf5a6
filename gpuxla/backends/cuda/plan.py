"""The schedule of a compiled program, shared by the kernel platforms (`cuda`, `cuda-interpret`,
and any runtime that executes kernels and library calls on buffers).

`Plan` is fusion and rendering (compiler/fusion.py, compiler/render.py): the groups in order,
every kernel with its CUDA C, the steps, their liveness, and the memory plan (`Layout`): one arena
per executable holding every intermediate at an offset computed from liveness, dead slots reused,
offsets aligned. `Executable` is the one place that walks the steps; the runtime it is given
(runtime.CudaRuntime, interpret.InterpretRuntime) owns memory, launches and library calls.

The executable returned by `compile(program)` is callable on a list of buffers and carries
`.kernels` (name, kind, source, launch) and `.cuda_source()`. GPUXLA_DEBUG=2 prints the fusion
groups, 3 also the CUDA source.

Memory and reentrancy. Outputs are fresh allocations the caller owns, or donated inputs
(`donating`: jit's donate_argnums) an output is written into once their last reader ran; intermediates live in
the arena of a *frame*: the arena, the views of it every step reads and writes, and the launch
arguments built from them, made once. A call checks a frame out, runs, and gives it back, so calls
on the same stream reuse one arena: stream order puts a call's kernels after the previous call's,
which is what makes reuse safe without waiting. Frames are kept per stream and a call never shares
its frame: concurrent calls from threads (or on other streams) each check out their own, made on
demand. A call that fails keeps its frame out: a split reduction's counter left mid-count must not
reach the next call. GPUXLA_ARENA=0 gives every intermediate its own allocation (for comparison).

What a runtime provides. Required: `host_scalar(buf)`, `asbuf(x, aval)`, `empty(shape, dtype,
what)`, `zeros(n, dtype)`, `prepare(kernels)`, `launch(kernel, args)`, `library(eqn, args)`.
Optional, for the lean path (runtime.CudaRuntime has them all): `launcher(kernel)` -> launch(args
tuple) with everything bound, or `launch_lines(kernel, fixed, exprs, ns)` -> Python lines doing the
launch inside the generated step (the cpu platform's argument block, see cpu/runtime.py);
`allocator(shape, dtype, what)` -> make(); `device_types` (buffers taken as they are: the runtime's
own, or ones its launches check); `stream_key()`; `arena(nbytes)`, `view(arena, offset, shape, dtype)`,
`aliases(arena, buf)`, `copy(buf)` (else NumPy arenas, `_HostMemory`); `dot_plan(eqn, lhs aval,
rhs aval)` -> a planned dot_general writing into memory it is given, or None; `dot_scope(plans)` ->
(enter, leave, want) around a call (cuBLAS's compute type, set once per call for the planned dots);
for CUDA graphs and device loops, `capture(run)` -> a graph of what run() launches, `copier(stream)`,
`pointer(buf)`, `pointer_expr(expr, dtype)`; for measured kernel reports (`Executable.profile`),
`step_clock()` -> (mark, seconds) and `copy_bandwidth()` -> bytes/s.

CUDA graphs (runtime.CudaRuntime). After a frame's first call its steps are captured into a graph
over fixed addresses: the arena, and static buffers for the inputs and outputs; a call then copies
its inputs in, launches the graph, and copies the outputs out (`_why_no_graph` says when that pays
and why a program cannot be captured; GPUXLA_DEBUG=1 prints it). Loops of a trip count known at
trace time whose bodies run on the device alone (`_device_loops`) are one op: the carry alternates
between two buffer sets, so an iteration allocates nothing; in a graph the loop is unrolled.
Independent matrix-vector dots batched into one product read their vectors as a view of the input
they are rows of and write their results into the stacked output (`_batch_views`).

The steps are closures over the frame (`_kernel_op`, `_dot_op`: generated straight-line functions
of env, with the frame's arena views and constants bound in them), since every Python call and
loop there is paid on every call of the executable.
"""
import functools
import io
import operator
import re
import sys
import threading
import time
import tokenize
import weakref

import numpy as np

from ... import config
from ...compiler import render as R
from ...compiler.fusion import Fusion
from ...core import extensions as X
from ...core import primitives as P
from ...core.graph import proj_p

ALIGN = 256     # bytes: cudaMalloc's alignment, so views keep vectorised loads legal

# Whether a CUDA-graph replay pays (Executable._why_no_graph): estimates, not measured on a GPU.
GRAPH_LAUNCH_US = 5.0           # host µs CuPy spends per kernel launch
GRAPH_DOT_US = 20.0             # ... per cupy.matmul call
GRAPH_COPY_US = 3.0             # ... per device copy, or graph launch
GRAPH_COPY_BYTES_PER_US = 1.5e6     # device-to-device copy bandwidth: ~1.5 TB/s
GRAPH_MAX_UNROLLED = 20000      # steps of device loops unrolled into one graph at most

# An update `x + c * dot` is folded into the product (Executable._dot_updates) from this many
# elements of x. Below, beta = 1 costs the BLAS more than the kernel it saves (float32, K=128, one
# thread: 512x10 20.5 us unfolded, 24 folded; 512x32 45 vs 42; 784x512 874 vs 807).
UPDATE_MIN_ELEMENTS = 1 << 14


class Plan:
    """Fusion and rendering of a Program: groups in order, every kernel with its source, the steps
    `(kind, what, ins, outs, dead)` and the memory plan (`layout`)."""

    def __init__(self, program, const_values=None, render=R.render):
        t0 = time.perf_counter()
        if const_values is None:
            const_values = {s: (b.get() if hasattr(b, "get") and not isinstance(b, np.ndarray) else np.asarray(b))
                            for s, b, a in program.consts if a.size == 1}
        self.program = program
        self.fusion = Fusion(program, const_values)
        self.info = self.fusion.info
        self.groups = self.fusion.groups
        self.kernels = self.fusion.kernels
        for k in self.kernels:
            render(k)      # the CUDA dialect, or the runtime's (the cpu platform's C++ loops)
        self.seconds = time.perf_counter() - t0
        steps = []
        for g in self.groups:
            if g.kind == "library":
                steps.append(("library", g.eqn, g.eqn.ins, (g.eqn.out,)))
            else:
                k = g.lowered.kernel
                steps.append(("kernel", k, tuple(k.inputs), tuple(k.outputs)))
        self.outputs = [self.info.resolve(s) for s in program.outs]
        keep = set(self.outputs)
        # Liveness: the last step reading each slot. A library call other than dot_general may
        # return its operand or a view of it (a cond passing a value through, a tuple element):
        # then the operand lives as long as the result does (walked backwards, so chains follow).
        last = {}
        for n, (_, _, ins, _) in enumerate(steps):
            for s in ins:
                last[s] = n
        end = len(steps)
        for s in keep:
            last[s] = end
        for n in range(len(steps) - 1, -1, -1):
            kind, what, ins, outs = steps[n]
            if kind == "library" and what.prim is not P.dot_general_p:
                reach = max(last.get(outs[0], n), n)
                for s in ins:
                    last[s] = max(last.get(s, n), reach)
        self.last_use = last
        self.steps = [(kind, what, ins, outs,
                       tuple(s for s in dict.fromkeys(ins) if last.get(s) == n and s not in keep))
                      for n, (kind, what, ins, outs) in enumerate(steps)]
        self._layouts = {}
        d = config.DEBUG.get()
        if d >= 2:
            print(f"[gpuxla] fusion: {len(self.kernels)} kernel(s), "
                  f"{sum(g.kind == 'library' for g in self.groups)} library call(s)\n{self.fusion.describe()}",
                  file=sys.stderr)
        if d >= 3:
            print(self.cuda_source(), file=sys.stderr)

    def cuda_source(self):
        return R.module_source(self.kernels)

    def layout(self, in_place=frozenset(), blocks=(), unplaced=frozenset()):
        """The arena layout (`Layout`) for a runtime; `in_place`: the library steps (indices) that
        runtime runs into memory it is given (dot_general on cuBLAS); `blocks`: [(slots, until)]
        placed side by side, as one array, live until step `until` at least (batched dots);
        `unplaced`: slots never in memory of their own (views of others' memory)."""
        key = (frozenset(in_place), tuple(blocks), frozenset(unplaced))
        lay = self._layouts.get(key)
        if lay is None:
            lay = self._layouts[key] = Layout(self, *key)
        return lay


class Layout:
    """Where each intermediate lives in the arena: `offsets[slot]`, `scratch[step] = [offsets]`
    (a split reduction's partials and counters: their own bytes, zeroed once when the arena is
    made, which the kernels leave at zero), `nbytes` in all.

    A slot written by step p and last read by step u occupies its bytes over steps [p, u]. Slots
    are placed in program order, first fit among the blocks freed by slots whose last reader ran
    before p (so an output never overlaps an input of its own step), else at the top. Program
    outputs are not here: they are fresh allocations the caller keeps. The slots of a block (same
    size) lie back to back from where the first of them is written, until all are dead."""

    def __init__(self, plan, in_place, blocks=(), unplaced=frozenset()):
        avals, last, keep = plan.info.avals, plan.last_use, set(plan.outputs) | unplaced
        self.offsets, self.scratch, self.in_place = {}, {}, in_place
        block_of = {m: (members, until) for members, until in blocks for m in members}
        free, live, top = [], [], 0      # free: [offset, size] sorted; live: (last use, offset, size)
        for n, (kind, what, ins, outs, _) in enumerate(plan.steps):
            if kind == "library" and n not in in_place:
                continue
            still = []
            for u, off, size in live:
                if u < n:
                    free = _release(free, off, size)
                else:
                    still.append((u, off, size))
            live = still
            for s in outs:
                if s in keep or s in self.offsets:
                    continue
                a = avals[s]
                nbytes = a.size * np.dtype(a.dtype).itemsize
                members, until = block_of.get(s, ((s,), n))
                off, free, top = _place(free, top, _aligned(nbytes * len(members)))
                for i, m in enumerate(members):
                    self.offsets[m] = off + i * nbytes
                live.append((max([until] + [last.get(m, n) for m in members]), off, _aligned(nbytes * len(members))))
        # Scratch at the top, never shared: its contents must stay as the kernels leave them.
        for n, (kind, what, *_) in enumerate(plan.steps):
            if kind == "kernel":
                offs = []
                for p in what.params:
                    if p.role in ("scratch", "counter"):
                        offs.append(top)
                        top += _aligned(p.size * p.dtype.itemsize)
                if offs:
                    self.scratch[n] = offs
        self.nbytes = top

    def intervals(self, plan, batches=()):
        """[(slot, first byte, end byte, first step, last step)]: what the tests check for overlap.
        `batches` ([(steps, vectors, outputs, ...)] of a batched dot) moves writes and reads of its
        members to its last step."""
        first = {s: n for n, (_, _, _, outs, _) in enumerate(plan.steps) for s in outs}
        last = dict(plan.last_use)
        for steps, vecs, outs, *_ in batches:
            for s in outs:
                first[s] = steps[-1]
            for s in vecs:
                last[s] = max(last.get(s, 0), steps[-1])
        out = []
        for s, off in self.offsets.items():
            a = plan.info.avals[s]
            out.append((s, off, off + a.size * np.dtype(a.dtype).itemsize, first[s], last.get(s, first[s])))
        return out


def _aligned(n):
    return max(ALIGN, -(-n // ALIGN) * ALIGN)


def _place(free, top, size):
    for i, (off, sz) in enumerate(free):
        if sz >= size:
            rest = [[off + size, sz - size]] if sz > size else []
            return off, free[:i] + rest + free[i + 1:], top
    return top, free, top + size


def _release(free, off, size):
    """`free` with [off, off+size) added, neighbours merged."""
    out = []
    for o, sz in sorted(free + [[off, size]]):
        if out and out[-1][0] + out[-1][1] == o:
            out[-1][1] += sz
        else:
            out.append([o, sz])
    return out


class _HostMemory:
    """Arenas of NumPy buffers, for runtimes that have no `arena`/`view` of their own."""

    @staticmethod
    def arena(nbytes):
        return np.zeros(nbytes, np.uint8)

    @staticmethod
    def view(arena, offset, shape, dtype):
        dtype = np.dtype(dtype)
        return arena[offset:offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize].view(dtype).reshape(shape)

    @staticmethod
    def aliases(arena, buf):
        return isinstance(buf, np.ndarray) and np.shares_memory(buf, arena)

    @staticmethod
    def copy(buf):
        return buf.copy()


# Executables that made frames: when device memory runs out, the idle frames' arenas are given
# back before the allocation is retried (runtime.CudaRuntime._alloc), so arenas cached by eager
# programs that will not run again never starve a new allocation.
_with_frames = weakref.WeakSet()


def release_idle_frames():
    """Drop every frame not in use (their arenas go back to the memory pool); frames are made
    again on demand."""
    for exe in list(_with_frames):
        exe._free.clear()


class _Frame:
    """One checked-out set of per-call memory: the arena, the slots' template environment (constants,
    arena views) and the steps as closures over them. A frame that replays a CUDA graph has
    `replay(args) -> outputs` (and keeps `graph` and its static buffers alive)."""
    __slots__ = ("arena", "template", "ops", "op_steps", "replay", "graph", "statics", "run")

    def __init__(self):
        self.replay = self.graph = self.statics = self.run = None


class Executable:
    """A compiled program: `exe(list of input buffers) -> list of output buffers`."""

    def __init__(self, program, runtime, plan=None):
        self.runtime = runtime
        self.plan = plan or Plan(program, {s: runtime.host_scalar(buf) for s, buf, a in program.consts if a.size == 1},
                                 render=getattr(runtime, "render", R.render))
        self.program = program
        self.kernels = self.plan.kernels
        self.library_calls = [g.eqn.prim.name for g in self.plan.groups if g.kind == "library"]
        self.consts = None                   # device memory is touched on the first call only
        self._init_lock = threading.Lock()
        self.use_arena = config.ARENA.get()
        self._mem = runtime if hasattr(runtime, "view") else _HostMemory
        dot_plan = getattr(runtime, "dot_plan", None)
        avals = self.plan.info.avals
        # Library calls the runtime runs into memory it is given (cuBLAS): decided here, once.
        self._dots = {}
        if dot_plan is not None:
            for n, (kind, what, ins, outs, _) in enumerate(self.plan.steps):
                if kind == "library" and what.prim is P.dot_general_p:
                    d = dot_plan(what, avals[ins[0]], avals[ins[1]])
                    if d is not None:
                        self._dots[n] = d
        # Independent matrix-vector dots sharing their matrix run as one matrix product.
        self.batches = self._dot_batches() if self.use_arena and self._dots else []
        # Batched operands that are contiguous runs of an input, results that are the blocks of
        # a concatenation: the product reads and writes those as views, and the slicing and
        # stacking kernels are not launched (`_skipped`).
        self._skipped, self._view_reads, self._early_writes = self._batch_views() if self.batches else (set(), {}, {})
        # Updates `x + c * dot` run as the product's own BLAS call (alpha c, beta 1): dot step ->
        # DotUpdate; the kernel step they replace is never launched.
        self.dot_updates = self._dot_updates() if hasattr(runtime, "dot_updater") and self._dots else {}
        self._folded = {u.kernel_step for u in self.dot_updates.values()}
        viewed = [b[1] for b in self.batches if b[5] is not None] + [b[2] for b in self.batches if b[6] is not None]
        self.layout = self.plan.layout(self._dots, [(b[1], b[0][-1]) for b in self.batches if b[5] is None]
                                       + [(b[2], b[0][-1]) for b in self.batches if b[6] is None],
                                       frozenset(s for v in viewed for s in v))
        self._free = {}                      # stream key -> frames not in use
        self._keep = set(self.plan.outputs)
        self._stream_key = None if not hasattr(runtime, "stream_key") else runtime.stream_key
        # Loops of a trip count known at trace time whose body runs on the device alone: step ->
        # (scan equation, its proj steps); their proj steps are part of the loop's op.
        self._loops = self._device_loops() if self.use_arena and hasattr(runtime, "copier") else {}
        self._loop_projs = {n for _, projs in self._loops.values() for n, _, _ in projs}
        self.graph_reason = self._why_no_graph()    # None: calls replay a CUDA graph after the first
        self._graphs = self.graph_reason is None
        if self.graph_reason is not None and config.DEBUG.get() >= 1 and hasattr(runtime, "capture") \
                and config.CUDA_GRAPHS.get():
            print(f"[gpuxla] cuda: no CUDA graph for {self._name()}: {self.graph_reason}; its steps are launched "
                  "from the host on every call", file=sys.stderr)
        # A kernel of no elements is never launched, and its text is not compilable; nor is a
        # folded update kernel (compiling it would cost without use).
        unused = {id(self.plan.steps[m][1]) for m in self._folded}
        runtime.prepare([k for k in self.kernels if k.size and id(k) not in unused])

    def cuda_source(self):
        return self.plan.cuda_source()

    def _init(self):
        """What the first call sets up (device memory is touched then, not when compiling)."""
        if self.consts is None:
            with self._init_lock:
                if self.consts is None:
                    rt = self.runtime
                    self._outs = list(self.plan.outputs)
                    self._get_outs = _getter(self._outs)
                    self._check = self._outputs_to_check()
                    self._fast = getattr(rt, "device_types", ())
                    dots = [d.bind() for d in self._dots.values()]
                    self._scope = rt.dot_scope(dots) if dots and hasattr(rt, "dot_scope") else None
                    # The lean call (`_lean_call`): no stream, no graph, no dot scope, no output
                    # a library call may have passed through: a frame's steps as one function.
                    self._lean = self._stream_key is None and not self._graphs and self._scope is None \
                        and not self._check
                    self.consts = [(s, rt.asbuf(buf, a)) for s, buf, a in self.program.consts]

    def __call__(self, args, _reuse=()):
        if self.consts is None:
            self._init()
        if self._lean and not _reuse:
            return self._lean_call(args)
        key = self._stream_key() if self._stream_key is not None else None
        if _reuse:
            key = (key, _reuse)
        try:
            frame = self._free[key].pop()
        except (KeyError, IndexError):
            frame = self._new_frame(_reuse)
        fast = self._fast
        for a in args:
            if type(a) not in fast:
                args = self._converted(args)
                break
        if frame.replay is not None:
            try:
                outs = frame.replay(args)
            except _StaleGraph:     # captured under another matmul precision: captured again below
                frame = self._new_frame(_reuse)
            else:
                try:
                    self._free[key].append(frame)
                except KeyError:
                    self._free[key] = [frame]
                return outs
        env = frame.template[:]
        env[:len(args)] = args
        _run_ops(frame.ops, env, self._scope)
        outs = self._get_outs(env)
        if self._check and frame.arena is not None:
            mem = self._mem
            for j in self._check:
                if mem.aliases(frame.arena, outs[j]):
                    outs[j] = mem.copy(outs[j])     # a library call passed an intermediate through
        if self._graphs:
            # After a frame's first call (modules loaded, cuBLAS and the pool set up) its steps are
            # captured into a CUDA graph: the next calls on this stream replay it.
            frame = self._graph_frame(frame, _reuse)
        try:
            self._free[key].append(frame)
        except KeyError:
            self._free[key] = [frame]
        return outs

    def _converted(self, args):
        """The arguments as the runtime's buffers (a call's loop over them stays inline: it runs
        on every call, this only where one is not the runtime's own)."""
        in_avals, asbuf = self.program.in_avals, self.runtime.asbuf
        return [asbuf(a, in_avals[i]) for i, a in enumerate(args)]

    def fast_target(self):
        """What a caller whose arguments are the runtime's own buffers (jit's fast path, after a
        first call) may call instead of the executable: `_lean_call` where it applies, which
        skips __call__'s frame (~0.2 us)."""
        return self._lean_call if self.consts is not None and self._lean else self

    def _lean_call(self, args):
        """__call__ where the runtime has no streams, graphs or dot scopes (the cpu and interpret
        platforms): a frame checked out, its `run` (every Python frame here is paid per call)."""
        try:
            frame = self._free[None].pop()
        except (KeyError, IndexError):
            frame = self._new_frame(())
        fast = self._fast
        for a in args:
            if type(a) not in fast:
                args = self._converted(args)
                break
        run = frame.run
        if run is None:
            run = frame.run = _frame_run(frame, len(self.program.in_avals), self._outs)
        outs = run(args)
        try:
            self._free[None].append(frame)
        except KeyError:
            self._free[None] = [frame]
        return outs

    def profile(self, args, repeats=20, warmup=2):
        """Run on `args` step by step, timing each: (outputs, {step: (median seconds, the steps
        of `plan.steps` whose work that time includes)}) over `repeats` runs after `warmup` ones,
        for the steps that launch something. A batched product is timed at its last step and
        covers its members, a product with an update folded in covers the update's kernel step, a
        device loop its projections; a view kernel the product reads instead, a kernel of no
        elements, and the steps covered by another are absent. The runtime's `step_clock()` says
        how a step is timed: CUDA events recorded on the current stream around each launch and
        library call (device time), the host clock on the cpu platform (wall time). A frame of
        its own runs the steps one by one, never a CUDA-graph replay: a path of its own, so calls
        pay nothing for it."""
        clock = getattr(self.runtime, "step_clock", None)
        if clock is None:
            raise NotImplementedError(f"{type(self.runtime).__name__} has no clock to time the steps with")
        if self.consts is None:
            self._init()
        in_avals, asbuf, fast = self.program.in_avals, self.runtime.asbuf, self._fast
        args = [a if type(a) in fast else asbuf(a, in_avals[i]) for i, a in enumerate(args)]
        frame = self._new_frame(())
        mark, seconds = clock()
        ops, scope = frame.ops, self._scope
        times = [[] for _ in ops]
        for r in range(warmup + max(1, repeats)):
            env = frame.template[:]
            env[:len(args)] = args
            changed = scope[0]() if scope is not None else None
            try:
                marks = [mark()]
                for op in ops:
                    op(env)
                    marks.append(mark())
            finally:
                if changed:
                    scope[1](changed)
            if r >= warmup:
                for j in range(len(ops)):
                    times[j].append(seconds(marks[j], marks[j + 1]))
        outs = self._get_outs(env)
        if self._check and frame.arena is not None:
            for j in self._check:
                if self._mem.aliases(frame.arena, outs[j]):
                    outs[j] = self._mem.copy(outs[j])
        covers = {b[0][-1]: tuple(b[0]) for b in self.batches}
        covers.update((n, (n, u.kernel_step)) for n, u in self.dot_updates.items())
        covers.update((n, (n,) + tuple(m for m, _, _ in projs)) for n, (_, projs) in self._loops.items())
        return outs, {n: (float(np.median(t)), covers.get(n, (n,))) for n, t in zip(frame.op_steps, times) if n >= 0}

    def donating(self, positions):
        """The executable for calls whose inputs at `positions` are donated (jit's donate_argnums):
        `exe(args) -> outputs`, writing an output into a donated input's buffer where that is safe.
        The caller guarantees nothing else holds those buffers."""
        reuse = self.reuse(positions)
        if not reuse:
            return self
        return lambda args: self(args, reuse)

    def reuse(self, positions):
        """((output slot, donated input slot), ...): each output a kernel or a planned dot writes
        fresh gets a donated input of the same shape and dtype whose last reader ran at an earlier
        step (a kernel reading its input where it writes its output might read what it wrote)."""
        plan, avals = self.plan, self.plan.info.avals
        outs = plan.outputs
        written = dict(self._early_writes)
        for n, (kind, what, ins, step_outs, _) in enumerate(plan.steps):
            if (kind == "kernel" and n not in self._skipped and n not in self._folded) or n in self._dots:
                for s in step_outs:
                    written.setdefault(s, n)
        taken, pairs = set(), []
        # A folded update (`_dot_updates`) is written at its product's step, and in place when it
        # may take the very x it adds to: BLAS reads each element of C before writing it.
        for n, u in self.dot_updates.items():
            written[u.out] = n
            x = u.x
            if x in positions and x not in outs and avals[x].key() == avals[u.out].key() \
                    and max([r for r in u.x_readers if r != u.kernel_step] + [self._view_reads.get(x, -1)]) < n:
                taken.add(x)
                pairs.append((u.out, x))
        for s in outs:
            if s not in written or outs.count(s) > 1 or s in self.layout.offsets or any(s == o for o, _ in pairs):
                continue
            for i in positions:
                if i in taken or i in outs or avals[i].key() != avals[s].key():
                    continue
                if max(plan.last_use.get(i, -1), self._view_reads.get(i, -1)) < written[s]:
                    taken.add(i)
                    pairs.append((s, i))
                    break
        return tuple(pairs)

    def _outputs_to_check(self):
        """Output positions whose value a library call made: it may be a view of an intermediate."""
        by_lib = {outs[0] for kind, what, ins, outs, _ in self.plan.steps
                  if kind == "library" and what.prim is not P.dot_general_p}
        return [j for j, s in enumerate(self._outs) if s in by_lib]

    def _dot_batches(self):
        """[(steps, vectors, outputs, shared matrix slot, transposed)]: planned dot_generals of one
        shared 2-D operand S (as lhs or rhs) and a vector v_i each, same avals and precision, whose
        results are all first read after the last of them. They become one product at the last
        one's step, O = V @ S' (S' = S, or S.T when S's contracted dimension is 1): V stacks the
        v_i and O the results, each a block of the arena (the v_i must be intermediates there).
        The unrolled `[mat @ v for v in vs]` is 32 cuBLAS calls without this, one with it."""
        steps, avals, keep = self.plan.steps, self.plan.info.avals, set(self.plan.outputs)
        made_by = {s: n for n, st in enumerate(steps) for s in st[3]}
        first_read = {}
        for n, st in enumerate(steps):
            for s in st[2]:
                first_read.setdefault(s, n)
        groups = {}
        for n in sorted(self._dots):
            eqn, (a, b), (out,) = steps[n][1], steps[n][2], steps[n][3]
            (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
            if lb or len(lc) != 1 or a == b:
                continue
            # A "vector": an operand with no other dimension than the contracted one (of size 1
            # otherwise: jnp.matmul makes v a (k, 1) matrix).
            is_vec = [avals[x].size == avals[x].shape[c] for x, c in ((a, lc[0]), (b, rc[0]))]
            if is_vec == [False, True] and avals[a].ndim == 2:
                shared, vec, cdim = a, b, lc[0]
            elif is_vec == [True, False] and avals[b].ndim == 2:
                shared, vec, cdim = b, a, rc[0]
            else:
                continue
            m = made_by.get(vec)
            if vec in keep or out in keep or m is None or not (steps[m][0] == "kernel" or m in self._dots):
                continue
            key = (shared, cdim, avals[vec].key(), eqn.params.get("precision"))
            groups.setdefault(key, []).append((n, vec, out))
        batches = []
        for (shared, cdim, *_), members in groups.items():
            runs = [[]]
            for n, vec, out in members:
                run = runs[-1]
                if vec in [v for _, v, _ in run] or any(first_read.get(o, len(steps)) <= n for _, _, o in run):
                    runs.append([])     # v_i again, or a result already read: a new batch from here
                runs[-1].append((n, vec, out))
            batches += [(tuple(r[0] for r in run), tuple(r[1] for r in run), tuple(r[2] for r in run), shared,
                         cdim == 1) for run in runs if len(run) > 1]
        return batches

    def _dot_updates(self):
        """{dot step: DotUpdate}: a planned 2-D dot_general D whose only reader is the very next step,
        a kernel whose one output O is a program output computing `x + c * D` (or `x - c * D`; c
        a scalar constant, or a product of them; x a buffer; at least UPDATE_MIN_ELEMENTS of
        them): O is then `x` (copied, or a donated x itself) updated by one BLAS call with
        alpha = +-c and beta = 1 -- the SGD step `w - lr * (a.T @ d)` without writing the
        gradient and reading it back. The next step
        only, and O outside the arena, so that doing it one step early moves no lifetime; x is
        made before the product (it is not D, and the product makes nothing else). (A transposed
        D needs no form: Info folds transpose(dot(a, b)) into dot(b, a).)"""
        steps, info, avals = self.plan.steps, self.plan.info, self.plan.info.avals
        outs = self.plan.outputs
        batched = {n for b in self.batches for n in b[0]}
        readers = {}
        for n, st in enumerate(steps):
            for s in st[2]:
                readers.setdefault(s, set()).add(n)
        rt = self.runtime
        scalars = {s: buf for s, buf, a in self.program.consts if a.size == 1}
        found = {}
        for n, dot in self._dots.items():
            m = n + 1
            d = steps[n][3][0]
            if n in batched or m >= len(steps) or steps[m][0] != "kernel" or len(steps[m][3]) != 1 \
                    or readers.get(d) != {m} or d in outs or dot.reshape or len(dot.out_shape) != 2 \
                    or avals[d].size < UPDATE_MIN_ELEMENTS:
                continue
            o = steps[m][3][0]
            form = _update_form(info.eqns, o, d, lambda s: _scalar_value(info.eqns, s, scalars, rt))
            if form is None or outs.count(o) != 1:
                continue
            x, alpha = form
            dt = np.dtype(avals[o].dtype)
            # (x read by the kernel: a buffer, not a value the kernel computes itself)
            if x == d or x not in steps[m][2] or avals[x].key() != avals[o].key() or dot.dtype != dt \
                    or np.dtype(avals[d].dtype) != dt or 0 in dot.out_shape or set(steps[m][2]) - {x, d} - set(scalars):
                continue
            update = rt.dot_updater(dt)
            if update is not None:
                found[n] = DotUpdate(m, x, o, alpha, update, readers.get(x, set()))
        return found

    def _batch_views(self):
        """Extends each batch (see _dot_batches) with (vector source, result destination):
        (input slot X, element offset) when the vectors are consecutive runs of X (the rows
        `vs[0], vs[1], ...` of an input), so V is a view of X; the slot Y when the results are,
        in order, the blocks of the concatenation Y (`jnp.stack(results)`), so O is a view of Y.
        Returns (kernel steps no longer launched, {input: last step reading it through a view},
        {Y: the step writing it now}) -- the last two for donation (`reuse`)."""
        steps, avals = self.plan.steps, self.plan.info.avals
        n_in = len(self.program.in_avals)
        runs, concats = self._runs(), self._concats()
        readers, made_by = {}, {}
        for n, (_, _, ins, outs, _) in enumerate(steps):
            for s in ins:
                readers.setdefault(s, set()).add(n)
            for s in outs:
                made_by[s] = n
        skipped, view_reads, early = set(), {}, {}
        batches, viewed = [], set()
        for steps_, vecs, outs, shared, transposed in self.batches:
            k, last = avals[vecs[0]].size, steps_[-1]
            src = dst = None
            r = [runs.get(v) for v in vecs]
            if all(r) and len({x for x, _ in r}) == 1 and r[0][0] < n_in \
                    and all(o == r[0][1] + j * k for j, (_, o) in enumerate(r)) \
                    and all(readers.get(v, set()) <= set(steps_) for v in vecs):
                src = r[0]
                viewed.update(vecs)
                view_reads[src[0]] = max(view_reads.get(src[0], -1), last)
            for y, parts in concats.items():
                m = made_by.get(y)
                if parts == outs and m is not None and steps[m][0] == "kernel" and steps[m][3] == (y,) \
                        and set(steps[m][2]) <= set(outs) and all(readers.get(o) == {m} for o in outs):
                    dst = y
                    skipped.add(m)
                    early[y] = last
                    break
            batches.append((steps_, vecs, outs, shared, transposed, src, dst))
        for n, (kind, _, _, outs, _) in enumerate(steps):
            if kind == "kernel" and outs and all(s in viewed for s in outs):
                skipped.add(n)          # (every value it makes is read as a view instead)
        self.batches = batches
        return skipped, view_reads, early

    def _runs(self):
        """{slot: (source slot, element offset)}: values that are a contiguous run of another
        slot's elements in row-major order (reshapes, and slices of extent 1 in leading
        dimensions, any range in the next, whole trailing ones), followed through chains."""
        avals, by_out = self.plan.info.avals, {e.out: e for e in self.program.eqns}
        memo = {}

        def run(s):
            if s in memo:
                return memo[s]
            memo[s] = None
            e, r = by_out.get(s), None
            if e is not None and e.prim is P.reshape_p:
                r = run(e.ins[0]) or (e.ins[0], 0)
            elif e is not None and e.prim is P.slice_p and all(st in (None, 1) for st in e.params.get("strides") or ()):
                x = e.ins[0]
                shape, lo, hi = avals[x].shape, e.params["start_indices"], e.params["limit_indices"]
                # (the last dimension not taken whole; every one before it of extent 1)
                d = max((i for i in range(len(shape)) if (lo[i], hi[i]) != (0, shape[i])), default=-1)
                if all(hi[i] - lo[i] == 1 for i in range(d)):
                    stride, off = 1, 0
                    for i in range(len(shape) - 1, -1, -1):
                        off += lo[i] * stride
                        stride *= shape[i]
                    base, o = run(x) or (x, 0)
                    r = (base, o + off)
            memo[s] = r
            return r
        return {e.out: r for e in self.program.eqns if (r := run(e.out)) is not None}

    def _concats(self):
        """{Y: parts}: Y = concatenate(parts) with every dimension before the concatenated one of
        extent 1, so each part is a contiguous block of Y, in order (parts followed back through
        reshapes)."""
        avals, by_out = self.plan.info.avals, {e.out: e for e in self.program.eqns}
        out = {}
        for e in self.program.eqns:
            if e.prim is P.concatenate_p and all(avals[e.out].shape[i] == 1 for i in range(e.params["dimension"])):
                parts = []
                for x in e.ins:
                    while x in by_out and by_out[x].prim is P.reshape_p:
                        x = by_out[x].ins[0]
                    parts.append(x)
                out[e.out] = tuple(parts)
        return out

    # --- CUDA-graph replay --------------------------------------------------------------------
    def _name(self):
        names = ", ".join([k.name for k in self.kernels[:2]] + ["..."] * (len(self.kernels) > 2))
        return f"the executable of {len(self.plan.steps)} step(s) ({names})"

    def _why_no_graph(self):
        """Why this executable's calls are not replayed as a CUDA graph, or None when they are.

        A graph records kernel arguments by value, so the replay reads and writes fixed
        addresses: the frame's arena, and static buffers for the program's inputs and outputs.
        A replay is: device copies of the inputs into their static buffers, one graph launch,
        and a fresh output copied from each static output (or into a donated input). The other
        way, updating kernel-node parameters to the call's pointers (cudaGraphExecKernelNodeSetParams),
        costs a driver call per node from Python on every call, and cannot reach the pointers
        inside cuBLAS's nodes; the copies cost device bandwidth instead, which is small for the
        many-small-steps programs graphs are for. So: copies, where the host time a replay saves
        (launches, cuBLAS calls) is more than the device time its copies add (the estimate below)."""
        rt, steps = self.runtime, self.plan.steps
        if not config.CUDA_GRAPHS.get():
            return "GPUXLA_CUDA_GRAPHS=0"
        if not hasattr(rt, "capture"):
            return f"the {type(rt).__name__} has no CUDA graphs"
        if getattr(rt, "sync_each", False):
            return "GPUXLA_CUDA_SYNC=1 synchronizes after every launch"
        if not self.use_arena:
            return "GPUXLA_ARENA=0: intermediates are allocated during the call"
        why = self._host_steps()
        if why is not None:
            return why
        for n, (eqn, _) in self._loops.items():
            body, length = self._loop_body(n), eqn.params["length"]
            if length * body._unrolled_steps() > GRAPH_MAX_UNROLLED:
                return (f"a loop of {length} iterations of {body._unrolled_steps()} step(s) is too long to unroll "
                        f"into a graph (more than {GRAPH_MAX_UNROLLED} nodes); its body replays as a graph per "
                        "iteration")
        launches = sum(1 for n, (k, w, *_) in enumerate(steps) if k == "kernel" and w.size and n not in self._skipped)
        launches += sum(e.params["length"] * self._loop_body(n)._unrolled_steps() for n, (e, _) in self._loops.items())
        dots = len(self._dots) - sum(len(b[0]) - 1 for b in self.batches)
        avals = self.plan.info.avals
        n_in = len(self.program.in_avals)
        ins = {s for *_, step_ins, _, _ in steps for s in step_ins if s < n_in}
        outs = set(self.plan.outputs) - set(range(n_in)) - {s for s, _, _ in self.program.consts}
        copied = sum(avals[s].size * np.dtype(avals[s].dtype).itemsize for s in ins | outs)
        saved = launches * GRAPH_LAUNCH_US + dots * GRAPH_DOT_US - (len(ins) + len(outs) + 1) * GRAPH_COPY_US
        added = copied / GRAPH_COPY_BYTES_PER_US
        if saved <= added:
            return (f"not worth it: a replay would save ~{saved:.0f} µs of host time ({launches} launch(es), "
                    f"{dots} cuBLAS call(s)) and add ~{added:.0f} µs of device copies ({copied:,} bytes)")
        return None

    def _graph_frame(self, plain, reuse):
        """A frame whose calls replay a CUDA graph of the steps (see _why_no_graph), or `plain`
        (and no more graphs for this executable, the reason under GPUXLA_DEBUG=1) when the
        capture fails."""
        rt, avals, plan = self.runtime, self.plan.info.avals, self.plan
        n_in = len(self.program.in_avals)
        consts = {s for s, _ in self.consts}
        read = sorted({s for *_, ins, _, _ in plan.steps for s in ins if s < n_in})
        made = [s for s in dict.fromkeys(plan.outputs) if s >= n_in and s not in consts]
        try:
            statics = {s: rt.empty(avals[s].shape, avals[s].dtype, "a CUDA graph's static buffer") for s in read + made}
            f = self._new_frame((), statics, capturing=True)
            env = f.template[:]
            f.graph = rt.capture(functools.partial(_run_ops, f.ops, env, self._scope))
        except Exception as e:  # noqa: BLE001 - any failure: plain launches, and say why
            self._graphs = False
            self.graph_reason = f"the capture failed: {type(e).__name__}: {e}"
            if config.DEBUG.get() >= 1:
                print(f"[gpuxla] cuda: no CUDA graph for {self._name()}: {self.graph_reason}; its steps are "
                      "launched from the host on every call", file=sys.stderr)
            return plain
        f.statics = statics
        stream = self._stream_key() if self._stream_key is not None else 0
        f.replay = _replay_fn(rt, f.graph, statics, read, plan.outputs, {s: b for s, b in self.consts}, dict(reuse),
                              self._allocs(made), rt.copier(stream), avals, n_in, self._precision_scope())
        if config.DEBUG.get() >= 1:
            print(f"[gpuxla] cuda: {self._name()} replays as one CUDA graph ({len(read)} input and {len(made)} "
                  "output copies per call)", file=sys.stderr)
        return f

    def _unrolled_steps(self):
        """Steps of one call with device loops unrolled (the nodes of its graph, about)."""
        n = len(self.plan.steps) - len(self._loops) - len(self._loop_projs)
        return n + sum(e.params["length"] * self._loop_body(m)._unrolled_steps() for m, (e, _) in self._loops.items())

    def _host_steps(self):
        """Why some step must run from the host (a library call other than a planned dot or a
        device loop), or None."""
        for n, (kind, what, *_) in enumerate(self.plan.steps):
            if kind == "library" and n not in self._dots and n not in self._loops and n not in self._loop_projs:
                return (f"the library call '{what.prim.name}' cannot be captured (it may read values on the host, "
                        "allocate its result or run on the host)")
        return None

    # --- loops on the device ---------------------------------------------------------------
    def _device_loops(self):
        """{scan step: (equation, [(proj step, carry index, slot)])} for the scans that run as a
        device loop (see _loop_op): a trip count known at trace time (fori_loop's scans), no xs and
        no stacked ys, results used only through their projections, and a body whose steps are
        all kernels, planned dots or such loops itself."""
        steps, keep = self.plan.steps, set(self.plan.outputs)
        projs = {}
        for n, (kind, what, ins, outs, _) in enumerate(steps):
            if kind == "library" and what.prim is proj_p:
                projs.setdefault(ins[0], []).append((n, what.params["index"], outs[0]))
        loops = {}
        for n, (kind, what, ins, outs, _) in enumerate(steps):
            if kind != "library" or what.prim is not X.scan_p:
                continue
            prm = what.params
            if prm["n_xs"] or len(prm["body"].out_avals) != prm["n_carry"] or outs[0] in keep:
                continue
            users = [st for st in steps if outs[0] in st[2]]
            if any(st[0] != "library" or st[1].prim is not proj_p for st in users):
                continue
            body = self._loop_body_of(what)
            if body is None or not body.use_arena or body._host_steps() is not None \
                    or not hasattr(body.runtime, "copier"):
                continue
            loops[n] = (what, projs.get(outs[0], []))
        return loops

    @staticmethod
    def _loop_body_of(eqn):
        from ..host_loops import body_executable
        exe = body_executable(eqn.params["body"])
        return exe if isinstance(exe, Executable) else None

    def _loop_body(self, n):
        return self._loop_body_of(self._loops[n][0])

    def _loop_op(self, n, env, static, pinned, capturing, stream, alloc):
        """A scan of a trip count known at trace time (fori_loop), run on the device: the carry
        lives in two sets of buffers, A and B, owned by the frame; iteration i runs the body's
        steps reading A and writing B (i even) or the reverse, through two frames of the body
        executable whose inputs and outputs are pinned to those buffers, so an iteration makes
        no allocation and reads nothing on the host. The initial carry (and captured values that
        change between calls) are copied in first; the final carry is where the last iteration
        left it (results that are program outputs are copied out).

        An iteration is the body's launches; after the op's first call the two body frames are
        captured as CUDA graphs (one launch an iteration) unless graphs are off or the body's
        dots follow the default matmul precision. Inside a frame being captured (`capturing`)
        the iterations are launched as they are: the outer graph holds the whole loop, unrolled."""
        eqn, projs = self._loops[n]
        ins = self.plan.steps[n][2]
        prm, rt, avals = eqn.params, self.runtime, self.plan.info.avals
        body = self._loop_body(n)
        body._init()
        nc, length = prm["n_carry"], prm["length"]
        bavals, b_in = body.program.in_avals, len(body.program.in_avals)
        copy, tail = rt.copier(stream)

        def nbytes(a):
            return a.size * np.dtype(a.dtype).itemsize

        def empty(a):
            return rt.empty(a.shape, a.dtype, "a device loop's carry")
        sets = ([empty(bavals[k]) for k in range(nc)], [empty(bavals[k]) for k in range(nc)])
        pre = []            # (dst pointer, outer slot, nbytes): copied in on every call
        caps = {}
        for j, c in enumerate(ins[nc:]):
            if c in static:
                caps[nc + j] = env[c]
            else:
                caps[nc + j] = empty(bavals[nc + j])
                pre.append((rt.pointer(caps[nc + j]), c, nbytes(bavals[nc + j])))
        for k in range(nc):
            pre.append((rt.pointer(sets[0][k]), ins[k], nbytes(bavals[k])))
        bconsts = dict(body.consts)
        bouts = body.plan.outputs

        def bound(src, dst):
            """The body's steps reading carry `src` and writing carry `dst`: (ops, copies after)."""
            pins = {k: src[k] for k in range(nc)}
            pins.update(caps)
            after = []
            for k, s in enumerate(bouts):
                if s < b_in or s in bconsts or s in pins:    # passed through, or a duplicate
                    from_buf = pins.get(s, bconsts.get(s))
                    after.append((rt.pointer(dst[k]), rt.pointer(from_buf), nbytes(bavals[k])))
                else:
                    pins[s] = dst[k]
            fr = body._new_frame((), pins, capturing=capturing, own_stream=False)
            benv = fr.template[:]
            ops = [functools.partial(op, benv) for op in fr.ops]
            bcopy, btail = rt.copier(None)      # (also captured into the body's graphs)
            ops += [functools.partial(bcopy, d, s_, nb, *btail) for d, s_, nb in after if nb]
            return ops, fr
        (ab, fab), (ba, fba) = bound(sets[0], sets[1]), bound(sets[1], sets[0])
        final = sets[length % 2]
        outs = []           # (slot, carry index): results copied out on every call
        for _, k, s in projs:
            if pinned and s in pinned:
                outs.append((s, k))
            elif s in self._keep:
                outs.append((s, k))
            else:           # an intermediate: the loop's own buffer, fixed for the frame
                env[s] = final[k]
                static.add(s)
        makes = {s: alloc(s, f"the loop '{eqn.prim.name}'") for s, _ in outs if not (pinned and s in pinned)}
        scope = body._scope
        state = {"calls": 0, "iters": None}
        graphs_ok = not capturing and scope is None and hasattr(rt, "capture") and config.CUDA_GRAPHS.get() \
            and not getattr(rt, "sync_each", False)
        ptr = rt.pointer

        def iterations():
            if state["iters"] is None and graphs_ok and state["calls"] >= 1:
                try:
                    gab = rt.capture(lambda: [op() for op in ab])
                    gba = rt.capture(lambda: [op() for op in ba])
                    state["iters"] = (gab.launch, gba.launch)
                except Exception as e:  # noqa: BLE001 - the body is launched step by step instead
                    state["iters"] = False
                    if config.DEBUG.get() >= 1:
                        print(f"[gpuxla] cuda: the body of the loop '{eqn.prim.name}' is launched step by step: "
                              f"its capture failed: {type(e).__name__}: {e}", file=sys.stderr)
            state["calls"] += 1
            if state["iters"]:
                la, lb = state["iters"]
                for i in range(length):
                    (la if i % 2 == 0 else lb)()
                return
            for i in range(length):
                for op in (ab if i % 2 == 0 else ba):
                    op()

        def op(env):
            for d, c, nb in pre:
                if nb:
                    copy(d, ptr(env[c]), nb, *tail)
            if scope is None:
                iterations()
            else:
                changed = scope[0]()
                try:
                    iterations()
                finally:
                    if changed:
                        scope[1](changed)
            for s, k in outs:
                if pinned and s in pinned:
                    dst = pinned[s]
                else:
                    dst = env[s] = makes[s]()
                nb = nbytes(avals[s])
                if nb:
                    copy(ptr(dst), ptr(final[k]), nb, *tail)
        op.keep = (sets, caps, fab, fba)      # (the buffers and body frames live as long as the op)
        return op

    def _precision_scope(self):
        """The dot scope (see dot_scope) of this executable or of a device loop's body in it: a
        graph captured under one matmul precision is stale under another."""
        if self._scope is not None:
            return self._scope
        for n in self._loops:
            scope = self._loop_body(n)._precision_scope()
            if scope is not None:
                return scope
        return None

    def _allocs(self, slots):
        rt, avals = self.runtime, self.plan.info.avals
        allocator = getattr(rt, "allocator", None)
        out = {}
        for s in slots:
            a = avals[s]
            out[s] = allocator(a.shape, a.dtype, "an output") if allocator is not None else \
                (lambda a=a: rt.empty(a.shape, a.dtype, "an output"))
        return out

    # --- a frame: arena, views, and the steps as closures --------------------------------------
    def _new_frame(self, reuse=(), pinned=None, capturing=False, own_stream=True):
        """A frame; `pinned`: {slot: buffer} for slots that live in given buffers (a graph's
        static inputs and outputs, a device loop's carry); `capturing`: the frame is for a
        capture (device loops unrolled into it); `own_stream` False: its device copies go to
        the current stream of each call (captures and loop bodies), else to the frame's."""
        rt, mem, plan, lay = self.runtime, self._mem, self.plan, self.layout
        avals = plan.info.avals
        for dot in self._dots.values():
            dot.bind()
        _with_frames.add(self)
        f = _Frame()
        use = self.use_arena and lay.nbytes > 0
        f.arena = mem.arena(lay.nbytes) if use else None
        env = [None] * self.program.n_slots     # (+ scratch buffers, appended below)
        for s, buf in self.consts:
            env[s] = buf
        placed = set()
        if use:
            for s, off in lay.offsets.items():
                env[s] = mem.view(f.arena, off, avals[s].shape, avals[s].dtype)
                placed.add(s)
        if pinned:                    # (a graph's static buffers for inputs and outputs)
            for s, buf in pinned.items():
                env[s] = buf
                placed.add(s)
        f.template = env
        allocator = getattr(rt, "allocator", None)

        def alloc(s, what):
            a = avals[s]
            if allocator is not None:
                return allocator(a.shape, a.dtype, what)
            return lambda: rt.empty(a.shape, a.dtype, what)
        static = set(placed) | {s for s, _ in self.consts}
        reused_slots = {s for s, _ in reuse}
        batched = {}                  # step -> the batched product it runs, or None (a member before the last)
        if self.use_arena:            # (batches of views may leave the arena empty)
            for steps, vecs, outs, shared, transposed, src, dst in self.batches:
                batched.update(dict.fromkeys(steps[:-1]))
                dt, k, p = avals[vecs[0]].dtype, avals[vecs[0]].size, avals[outs[0]].size
                n = len(vecs)
                V = mem.view(f.arena, lay.offsets[vecs[0]], (n, k), dt) if src is None else \
                    (src[0], src[1], (n, k), avals[src[0]].shape)
                O = mem.view(f.arena, lay.offsets[outs[0]], (n, p), dt) if dst is None else \
                    (dst, (n, p), avals[dst].shape, dst in reused_slots or dst in static,
                     alloc(dst, "a batched dot_general"))
                batched[steps[-1]] = _batched_dot_op(self._dots[steps[-1]], env, shared, transposed, static, V, O)
        ops, f.op_steps = [], []      # (the step each op runs: what the arena tests poison after)
        reused = {s for s, _ in reuse}
        if reuse:                     # outputs written into donated inputs: bound when the call starts
            ops.append(_alias_op(reuse))
            f.op_steps.append(-1)
        stream = None if capturing or not own_stream else self._stream_key() if self._stream_key is not None else 0
        for n, (kind, what, ins, outs, dead) in enumerate(plan.steps):
            if n in self._loop_projs:         # (made by the loop's op)
                continue
            if n in self._loops:
                f.op_steps.append(n)
                ops.append(self._loop_op(n, env, static, pinned, capturing, stream, alloc))
                continue
            if n in batched:
                if batched[n] is not None:
                    ops.append(batched[n])
                    f.op_steps.append(n)
                continue
            if n in self._skipped or n in self._folded:     # (views the batched product reads or writes; a
                continue                                    # kernel whose update the product before it made)
            f.op_steps.append(n)
            clear = tuple(s for s in dead if s not in static and s >= len(self.program.in_avals))
            fresh = tuple((s, alloc(s, what if kind == "kernel" else f"the library call '{what.prim.name}'"))
                          for s in outs if s not in placed and s not in reused) \
                if kind == "kernel" or n in self._dots else ()
            if kind == "kernel":
                scratch = self._scratch(f, n, what)
                if what.size:
                    env.extend(scratch)
                    slots = ins + outs + tuple(range(len(env) - len(scratch), len(env)))
                    ops.append(_kernel_op(rt, what, env, slots, static, fresh, clear))
                elif fresh:
                    ops.append(_alloc_op(fresh))
                else:
                    f.op_steps.pop()
            elif n in self.dot_updates:
                u = self.dot_updates[n]
                m_dead = plan.steps[u.kernel_step][4]
                clear = tuple(dict.fromkeys(clear + tuple(s for s in m_dead if s not in static
                                                          and s >= len(self.program.in_avals))))
                in_place = (u.out, u.x) in reuse
                make = None if u.out in reused else alloc(u.out, "a dot_general update")
                ops.append(_dot_update_op(self._dots[n], u, env, ins, static, make, in_place, clear))
            elif n in self._dots:
                out, dot = outs[0], self._dots[n]
                if use and out in lay.offsets:
                    o2 = mem.view(f.arena, lay.offsets[out], dot.out_shape, avals[out].dtype)
                else:
                    o2 = pinned[out].reshape(dot.out_shape) if pinned and out in pinned else None
                ops.append(_dot_op(dot, env, ins, static, out, o2, fresh, clear, out in reused))
            else:
                ops.append(_library_op(rt, what, ins, outs[0], clear))
        f.ops = ops
        return f

    def _scratch(self, f, n, k):
        rt, mem = self.runtime, self._mem
        params = [p for p in k.params if p.role in ("scratch", "counter")]
        if f.arena is not None:
            offsets = self.layout.scratch.get(n, ())
            return [mem.view(f.arena, off, (p.size,), p.dtype) for p, off in zip(params, offsets)]
        return [rt.zeros(p.size, p.dtype) for p in params]


def _run_ops(ops, env, scope):
    """A frame's steps on `env`, inside the dot scope (cuBLAS's compute type, set once per call)."""
    if scope is None:
        for op in ops:
            op(env)
        return
    changed = scope[0]()
    try:
        for op in ops:
            op(env)
    finally:
        if changed:
            scope[1](changed)


def _frame_run(frame, n_in, outs):
    """`run(args) -> outputs`: a frame's steps on a copy of its template with the inputs in place,
    as one generated function (no loop over the steps, no getter call); `_straight_run` where it
    applies."""
    run = _straight_run(frame, n_in, outs)
    if run is not None:
        return run
    ns = {"T": frame.template}
    lines = ["env = T[:]", f"env[:{n_in}] = args"]
    for j, op in enumerate(frame.ops):
        ns[f"op{j}"] = op
        lines.append(f"op{j}(env)")
    lines.append(f"return [{', '.join(f'env[{s}]' for s in outs)}]")
    return _generated("run(args)", lines, ns, "<frame run>")


_SLOT = re.compile(r"\benv\[(\d+)\]")
_ASSIGNED = re.compile(r"\benv\[(\d+)\]\s*=(?!=)")


def _straight_run(frame, n_in, outs):
    """`run(args) -> outputs` as one function whose slots are local variables (`e<slot>`): the
    lines of every step copied in (their globals renamed apart, `_inlined`), inputs unpacked
    from `args`, the frame's constants and arena views bound as globals. No list copied, no
    step called: a 100-element program's run went 0.69 -> 0.5 us. None where a step is not
    generated (an alias, a library or loop op: they take `env`) or its lines use `env` whole."""
    bodies = [getattr(op, "gx_lines", None) for op in frame.ops]
    if any(b is None for b in bodies):
        return None
    ns, lines = {}, []
    for j, (op, body) in enumerate(zip(frame.ops, bodies)):
        lines += _inlined(body, op.__globals__, f"s{j}_", ns)
    text = "\n".join(lines)
    if re.search(r"\benv\b", _SLOT.sub("", text)):
        return None
    T = frame.template
    assigned = {int(m) for m in _ASSIGNED.findall(text)}
    static = {int(m) for m in _SLOT.findall(text)} | set(outs)
    static = {s for s in static if s >= n_in and s not in assigned}
    # (a slot no step writes must hold a buffer that stays; one a step writes must not)
    if any(T[s] is None for s in static) or any(T[s] is not None for s in assigned if s >= n_in):
        return None
    ns.update((f"e{s}", T[s]) for s in static)
    head = [f"{''.join(f'e{s}, ' for s in range(n_in))}= args"] if n_in else []
    body = [_SLOT.sub(r"e\1", ln) for ln in lines]
    return _generated("run(args)", head + body + [f"return [{', '.join(f'e{s}' for s in outs)}]"], ns,
                      "<frame run>")


def _inlined(lines, globals_, prefix, ns):
    """The lines of a generated step with each of its global names `g` read as `prefix + g`,
    which `ns` gets; attribute names and keyword arguments are left alone."""
    out = []
    for line in lines:
        toks = [t for t in tokenize.generate_tokens(io.StringIO(line).readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]
        edits, depth = [], 0
        for i, t in enumerate(toks):
            if t.type == tokenize.OP:
                depth += t.string in ("(", "[", "{")
                depth -= t.string in (")", "]", "}")
            elif t.type == tokenize.NAME and t.string in globals_ and t.string != "__builtins__" \
                    and not (i and toks[i - 1].string == ".") \
                    and not (depth and i + 1 < len(toks) and toks[i + 1].string == "="):
                edits.append(t)
        for t in reversed(edits):
            line = line[:t.start[1]] + prefix + t.string + line[t.end[1]:]
        out.append(line)
    ns.update((prefix + k, v) for k, v in globals_.items() if k != "__builtins__")
    return out


def _generated(head, lines, ns, where):
    """The function `def <head>:` with the body `lines` and the globals `ns`, compiled under the
    name `where` (what a traceback shows). It is popped from `ns`: left in its own globals, the
    cycle would keep the frame's buffers alive until a gc. A step (`op(env)`) keeps its lines,
    `gx_lines`, for `_straight_run` to copy."""
    exec(compile(f"def {head}:\n" + "".join(f"    {ln}\n" for ln in lines), where, "exec"), ns)
    fn = ns.pop(head.split("(")[0])
    if head == "op(env)":
        fn.gx_lines = tuple(lines)
    return fn


def _getter(slots):
    """env -> [env[s] for s in slots], in one C call where there are several."""
    if len(slots) > 1:
        get = operator.itemgetter(*slots)
        return lambda env: list(get(env))
    return lambda env: [env[s] for s in slots]


# The steps as closures: what a call does is only read and write `env`, the list of the slots'
# buffers; everything that does not change between calls is bound here once.
def _kernel_op(rt, k, env, slots, static, fresh, clear):
    """A kernel step as one generated function of env: fresh outputs allocated, the argument tuple
    built (buffers that stay, arena views and constants, bound in it now), the launch, dead
    slots dropped. Where the runtime writes the launch's own lines (`launch_lines`: the cpu
    platform's argument block) they go into the step: no launcher call between."""
    ns, lines = {}, []
    for j, (s, make) in enumerate(fresh):
        ns[f"m{j}"] = make
        lines.append(f"env[{s}] = m{j}()")
    inline = getattr(rt, "launch_lines", None)
    if inline is not None:
        fixed = [env[s] if s in static else None for s in slots]
        lines += inline(k, fixed, [f"env[{s}]" for s in slots if s not in static], ns)
    else:
        ns["launch"] = rt.launcher(k) if hasattr(rt, "launcher") else (lambda args: rt.launch(k, list(args)))
        items = []
        for j, s in enumerate(slots):
            if s in static:
                ns[f"c{j}"] = env[s]
                items.append(f"c{j}")
            else:
                items.append(f"env[{s}]")
        lines.append(f"launch(({''.join(i + ', ' for i in items)}))")
    lines += [f"env[{s}] = None" for s in clear]
    return _generated("op(env)", lines, ns, f"<kernel step {k.name}>")


def _alias_op(pairs):
    def op(env):
        for s, i in pairs:
            env[s] = env[i]
    return op


def _alloc_op(fresh):
    def op(env):
        for s, make in fresh:
            env[s] = make()
    return op


def _dot_op(dot, env, ins, static, out, o2, fresh, clear, reused=False):
    """A planned dot_general, as one generated function of env (each Python call costs on every
    call of the executable); operands that are constants or in the arena are prepared (as
    matrices, transposed by view) once, here. The result goes into the arena (`o2`), into a donated
    input already in env (`reused`), or into a fresh array."""
    ns = {"o2": o2, "dot": dot, "make": fresh[0][1] if fresh else None}
    operands = [_operand_expr(ns, f"p{j}", env, slot, static, dot.prep_fn(side), view)
                for j, (slot, side, view) in enumerate(((ins[0], "lhs", dot.lhs_view), (ins[1], "rhs", dot.rhs_view)))]
    lines = []
    if o2 is not None:
        o = "o2"
    elif reused or ns["make"] is None:
        o = f"env[{out}]"
    else:
        lines.append(f"env[{out}] = o = make()")
        o = "o"
    if dot.reshape and o != "o2":
        ns["shape"] = dot.out_shape
        o = f"{o}.reshape(shape)"
    if dot.lin is None or dot.tf32 is None:    # (default precision: the executable's dot_scope)
        ns["mm"] = dot.matmul
        lines.append(f"mm({operands[0]}, {operands[1]}, out={o})")
    else:
        lines.append(f"dot({operands[0]}, {operands[1]}, {o})")
    lines += [f"env[{s}] = None" for s in clear]
    return _generated("op(env)", lines, ns, "<dot_general step>")


class DotUpdate:
    """A kernel `out = x + alpha * D` folded into the product D's BLAS call (Executable._dot_updates):
    the kernel's step, x, out, alpha, the runtime's `update(alpha, a, b, c)` (c += alpha * a @ b),
    and the steps that read x."""

    def __init__(self, kernel_step, x, out, alpha, update, x_readers):
        self.kernel_step, self.x, self.out, self.alpha = kernel_step, x, out, alpha
        self.update, self.x_readers = update, frozenset(x_readers)

    def __repr__(self):
        return f"DotUpdate(s{self.out} = s{self.x} + {self.alpha!r} * dot)"


def _scalar_value(eqns, s, scalars, rt):
    """The value of a slot that is a scalar constant (or a broadcast or reshape of one), else None."""
    while s not in scalars:
        e = eqns.get(s)
        if e is None or e.prim not in (P.broadcast_in_dim_p, P.reshape_p):
            return None
        s = e.ins[0]
    v = np.asarray(rt.host_scalar(scalars[s])).reshape(())
    return float(v) if v.dtype.kind == "f" else None


def _update_form(eqns, out, d, scalar):
    """(x, alpha) when the equations make `out = x + alpha * D` from the slot `d`, else None. The
    forms: add/sub of x and a scaled D; scaling by mul with a scalar constant, or neg."""
    e = eqns.get(out)
    if e is None or e.prim not in (P.add_p, P.sub_p):
        return None
    sides = ((0, 1, 1.0), (1, 0, 1.0)) if e.prim is P.add_p else ((0, 1, -1.0),)
    for xi, ti, sign in sides:
        scaled = _scaled(eqns, e.ins[ti], d, scalar)
        if scaled is not None:
            return e.ins[xi], sign * scaled
    return None


def _scaled(eqns, t, d, scalar, depth=0):
    """c when the slot t is c * D (c a product of scalar constants and signs), else None."""
    if t == d:
        return 1.0
    e = eqns.get(t)
    if e is None or depth > 4:
        return None
    if e.prim is P.neg_p:
        r = _scaled(eqns, e.ins[0], d, scalar, depth + 1)
        return None if r is None else -r
    if e.prim is P.mul_p:
        for ci, ti in ((0, 1), (1, 0)):
            c = scalar(e.ins[ci])
            if c is not None:
                r = _scaled(eqns, e.ins[ti], d, scalar, depth + 1)
                if r is not None:
                    return c * r
    return None


def _dot_update_op(dot, u, env, ins, static, make, in_place, clear):
    """A folded update (DotUpdate) as one generated function of env: out = a copy of x (or x
    itself, donated), then `update(alpha, A, B, out)` with (A, B) the product's operands."""
    ns = {"update": u.update, "alpha": u.alpha, "make": make, "copyto": np.copyto}
    a, b = (_operand_expr(ns, f"p{j}", env, slot, static, dot.prep_fn(side), view)
            for j, (slot, side, view) in enumerate(((ins[0], "lhs", dot.lhs_view), (ins[1], "rhs", dot.rhs_view))))
    lines = []                              # (in place: env[out] is x, which the call's _alias_op put there)
    if not in_place and make is not None:
        lines += [f"env[{u.out}] = o = make()", f"copyto(o, env[{u.x}])"]
    elif not in_place:                      # (a donated input other than x)
        lines.append(f"copyto(env[{u.out}], env[{u.x}])")
    lines.append(f"update(alpha, {a}, {b}, env[{u.out}])")
    lines += [f"env[{s}] = None" for s in clear]
    return _generated("op(env)", lines, ns, "<dot_general update step>")


def _operand_expr(ns, name, env, slot, static, prep, is_view):
    """The operand's expression in a generated op: a constant prepared once, env's slot, its 2-D
    transpose (a view), or `prep` of it."""
    if slot in static and is_view:
        ns[name] = env[slot] if prep is None else prep(env[slot])
        return name
    if prep is None:
        return f"env[{slot}]"
    if getattr(prep, "transpose2d", False):
        return f"env[{slot}].T"
    ns[name] = prep
    return f"{name}(env[{slot}])"


def _batched_dot_op(dot, env, shared, transposed, static, V, O):
    """O = V @ S' (see Executable._dot_batches), with the dot's compute type, as one generated
    function of env. V and O are arena views, or (slot, element offset, matrix shape, ...) views
    of a slot: V of an input (bound now if it stays, else made per call), O of the concatenation
    the results are the blocks of (bound now if it stays or is a donated input in env, else
    allocated per call: the program's output)."""
    ns = {"dot": dot}
    lines = []
    if shared in static:
        ns["S"] = env[shared].T if transposed else env[shared]
        s_expr = "S"
    else:
        s_expr = f"env[{shared}].T" if transposed else f"env[{shared}]"
    if isinstance(V, tuple):
        x, off, shape, x_shape = V
        n = shape[0] * shape[1]
        # (each view op costs on every call where x changes: as few as the shapes allow)
        whole = n == int(np.prod(x_shape))
        view = "" if tuple(x_shape) == shape else ".reshape(vshape)" if whole \
            else f".reshape(-1)[{off}:{off + n}].reshape(vshape)"
        ns["vshape"] = shape
        if x in static:
            b = env[x]
            ns["V"] = b if not view else b.reshape(shape) if whole else b.reshape(-1)[off:off + n].reshape(shape)
        else:
            lines.append(f"V = env[{x}]{view}")
    else:
        ns["V"] = V
    if isinstance(O, tuple):
        y, shape, y_shape, bound, make = O
        ns["oshape"] = shape
        view = "" if tuple(y_shape) == shape else ".reshape(oshape)"
        if bound and y in static:
            ns["O"] = env[y].reshape(shape)
        elif bound:
            lines.append(f"O = env[{y}]{view}")
        else:
            ns["make"] = make
            lines.append(f"env[{y}] = O = make()")
            if view:
                lines.append(f"O = O{view}")
    else:
        ns["O"] = O
    lines.append(f"dot(V, {s_expr}, O)")
    return _generated("op(env)", lines, ns, "<batched dot_general step>")


def _replay_fn(rt, graph, statics, read, outputs, consts, donated, allocs, copy, avals, n_in, scope):
    """One generated function `replay(args) -> outputs`: the inputs copied into their static
    buffers, the graph launched, each output copied out of its static buffer into a fresh array
    (or a donated input). All on the frame's stream, so the next call's copies come after this
    call's graph. cuBLAS's compute type is the capture's: a changed jax_default_matmul_precision
    needs another capture, so the replay checks it (when the graph has such dots)."""
    copy, tail = copy
    ns = {"copy": copy, "launch": graph.launch}
    for j, t in enumerate(tail):
        ns[f"t{j}"] = t
    rest = "".join(f", t{j}" for j in range(len(tail)))
    lines = []
    if scope is not None:
        ns["want"], ns["captured"], ns["_Stale"] = scope[2], scope[2](), _StaleGraph
        lines += ["if want() != captured:", "    raise _Stale()"]

    def nbytes(s):
        return avals[s].size * np.dtype(avals[s].dtype).itemsize
    for s in read:
        if nbytes(s):
            ns[f"d{s}"] = rt.pointer(statics[s])
            lines.append(f"copy(d{s}, {rt.pointer_expr(f'args[{s}]', avals[s].dtype)}, {nbytes(s)}{rest})")
    lines.append("launch()")
    exprs, done = [], set()
    for s in outputs:
        if s < n_in:
            exprs.append(f"args[{s}]")
        elif s in consts:
            ns[f"c{s}"] = consts[s]
            exprs.append(f"c{s}")
        else:
            if s not in done:
                done.add(s)
                if s in donated:
                    lines.append(f"o{s} = args[{donated[s]}]")
                else:
                    ns[f"m{s}"] = allocs[s]
                    lines.append(f"o{s} = m{s}()")
                if nbytes(s):
                    ns[f"s{s}"] = rt.pointer(statics[s])
                    lines.append(f"copy({rt.pointer_expr(f'o{s}', avals[s].dtype)}, s{s}, {nbytes(s)}{rest})")
            exprs.append(f"o{s}")
    lines.append(f"return [{', '.join(exprs)}]")
    return _generated("replay(args)", lines, ns, "<cuda graph replay>")


class _StaleGraph(Exception):
    """A graph captured under another cuBLAS compute type than the call's."""


def _library_op(rt, eqn, ins, out, clear):
    def op(env):
        env[out] = rt.library(eqn, [env[s] for s in ins])
        for s in clear:
            env[s] = None
    return op
