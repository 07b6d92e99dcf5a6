"""The schedule of a compiled program, shared by the `cuda` and `cuda-interpret` platforms.

`Plan` is fusion and rendering (compiler/fusion.py, compiler/render.py): the groups in order,
every kernel with its CUDA C, and the steps with the slots each one frees. `Executable` is the one
place that walks the steps; the runtime it is given (runtime.CudaRuntime, interpret.InterpretRuntime)
owns memory, launches and library calls.

The executable returned by `compile(program)` is callable on a list of buffers and carries
`.kernels` (name, kind, source, launch) and `.cuda_source()`. GPUXLA_DEBUG=2 prints the fusion
groups, 3 also the CUDA source.
"""
import sys
import threading
import time

import numpy as np

from ... import config
from ...compiler import render as R
from ...compiler.fusion import Fusion


class Plan:
    """Fusion and rendering of a Program: groups in order, every kernel with its source."""

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
        steps, last = [], {}
        for g in self.groups:
            if g.kind == "library":
                steps.append(("library", g.eqn, g.eqn.ins, (g.eqn.out,)))
            else:
                k = g.lowered.kernel
                steps.append(("kernel", k, tuple(k.inputs), tuple(k.outputs)))
        for n, (_, _, ins, _) in enumerate(steps):
            for s in ins:
                last[s] = n
        self.outputs = [self.info.resolve(s) for s in program.outs]
        keep = set(self.outputs)
        self.steps = [(kind, what, ins, outs, tuple(s for s in set(ins) if last.get(s) == n and s not in keep))
                      for n, (kind, what, ins, outs) in enumerate(steps)]
        d = config.DEBUG.get()
        if d >= 2:
            print(f"[gpuxla] fusion: {len(self.kernels)} kernel(s), "
                  f"{sum(g.kind == 'library' for g in self.groups)} library call(s)\n{self.fusion.describe()}",
                  file=sys.stderr)
        if d >= 3:
            print(self.cuda_source(), file=sys.stderr)

    def cuda_source(self):
        return R.module_source(self.kernels)


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
        # Scratch sets (split-reduction partials and counters) not in use. Each call takes one, or
        # makes one, and gives it back when it has finished: concurrent calls (threads, and the
        # GIL is released during launches) never share one. A call that fails keeps its set out:
        # a counter left mid-count must not reach the next call.
        self._scratch_free = []
        # A kernel of no elements is never launched (see _run), and its text is not compilable.
        runtime.prepare([k for k in self.kernels if k.size])

    def cuda_source(self):
        return self.plan.cuda_source()

    def __call__(self, args):
        rt = self.runtime
        if self.consts is None:
            with self._init_lock:
                if self.consts is None:
                    self.consts = [(s, rt.asbuf(buf, a)) for s, buf, a in self.program.consts]
        try:
            scratch = self._scratch_free.pop()
        except IndexError:
            scratch = {k.name: [rt.zeros(p.size, p.dtype) for p in k.params if p.role in ("scratch", "counter")]
                       for k in self.kernels}
        outs = self._run(args, scratch)
        self._scratch_free.append(scratch)
        return outs

    def _run(self, args, scratch):
        rt, info = self.runtime, self.plan.info
        env = {i: rt.asbuf(a, av) for i, (a, av) in enumerate(zip(args, self.program.in_avals))}
        env.update(self.consts)
        for kind, what, ins, outs, dead in self.plan.steps:
            if kind == "library":
                env[outs[0]] = rt.library(what, [env[s] for s in ins])
            else:
                bufs = [rt.empty(info.avals[s].shape, info.avals[s].dtype, what) for s in outs]
                env.update(zip(outs, bufs))
                if what.size:
                    rt.launch(what, [env[s] for s in ins] + bufs + scratch[what.name])
            for s in dead:
                del env[s]
        return [env[s] for s in self.plan.outputs]
