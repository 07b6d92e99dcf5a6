"""The native `cpu` platform: the fused kernels compiled for the host, library calls on NumPy.

Fusion, the kernel IR and the schedule are the cuda platforms' (compiler/, cuda/plan.py); the
kernels are printed by the CPU dialect of the renderer (plain C++ loops, vectorised, threaded,
deterministic) and compiled as one host module per program (runtime.py).

Without a working host C++ compiler the platform falls back to the NumPy backend, program by
program, with one warning: NumPy buffers are this platform's buffers too, so results of either
mix freely. A module the compiler rejects while it builds a trivial one is a gpuxla bug, and is
raised, never hidden behind the fallback.

When compiling happens: `jit` compiles its program at once (a host compile is ~0.3-1 s cold,
milliseconds from the disk cache) and every call runs the native kernels. Eager code never waits
for the compiler (`compile_eager`): a pending graph runs on the NumPy backend, and once the same
graph structure has been realised HOT times its module is built on a background thread and used
from the next call after it is ready. One-off eager expressions (most of a test suite, a REPL)
thus cost no compiles at all, and an eager loop speeds up after its first iterations. The price:
early and late iterations of an eager loop may differ in the last bits (NumPy's and the kernels'
exp, sums in another order), within the op table's tolerances.
"""
import os
import queue
import threading
import warnings

import numpy as np

from ...compiler.render import render_cpu
from .. import Device
from ..cuda.plan import Executable, Plan
from .runtime import CpuCompileError, CpuRuntime, CpuUnavailable, compiler_works


class CpuBackend:
    """GPUXLA_PLATFORM=cpu."""
    platform = "cpu"

    def __init__(self):
        self.device = Device("cpu", 0)
        self.fallback = None        # why programs run on NumPy instead (the first failure), if they do

    def from_numpy(self, arr):
        return arr

    def to_numpy(self, buf):
        return buf

    def synchronize(self, buf):
        pass

    def compile(self, program):
        if self.fallback is None:
            try:
                return Executable(program, CpuRuntime())
            except (CpuUnavailable, CpuCompileError) as e:
                if isinstance(e, CpuCompileError) and compiler_works():
                    raise
                self.fallback = e
                warnings.warn(f"gpuxla: the cpu platform cannot compile kernels here, so programs run on the "
                              f"NumPy backend ({str(e).splitlines()[0]})", RuntimeWarning, stacklevel=2)
        from ..numpy import NumpyBackend
        return NumpyBackend().compile(program)

    def compile_eager(self, program):
        """An executable for a pending eager graph: NumPy now, the native module once it is hot."""
        return Tiered(self, program)

    def compile_many(self, programs, jobs=None, options=("-O0",)):
        """Compile several programs with few compiler runs (tests): their kernels are built as
        `jobs` modules (default: one per CPU) in parallel; each program then finds its kernels loaded.
        -O0 because tests run small arrays: the same results (no flag here changes float semantics),
        built in a quarter of the time."""
        plans = [Plan(p, {s: np.asarray(b) for s, b, a in p.consts if a.size == 1}, render=render_cpu)
                 for p in programs]
        CpuRuntime(options=options).prepare([k for pl in plans for k in pl.kernels if k.size],
                                           jobs=jobs or os.cpu_count() or 1)
        return [Executable(p, CpuRuntime(), pl) for p, pl in zip(programs, plans)]


def available():
    """Whether the cpu platform can build kernels here (a host C++ compiler that works)."""
    return compiler_works()


# Eager graph structures realised this many times get their native module built.
HOT = 2


class _Job:
    """A module build on the background thread; `done` is set when `result` holds the executable
    (None if the build failed)."""

    def __init__(self, fn):
        self.fn, self.result, self.done = fn, None, threading.Event()


_jobs = queue.Queue()
_worker = None
_worker_lock = threading.Lock()


def _work():
    while True:
        job = _jobs.get()
        try:
            job.result = job.fn()
        finally:
            job.done.set()


def _submit(fn):
    """Queue a build for the one background thread (a daemon: exiting never waits for builds)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = threading.Thread(target=_work, name="gpuxla-cpu-compile", daemon=True)
            _worker.start()
    job = _Job(fn)
    _jobs.put(job)
    return job


class Tiered:
    """An eager graph's executable: the NumPy backend's until the native one is built (see above)."""

    def __init__(self, backend, program):
        from ..numpy import NumpyBackend
        self.backend, self.program = backend, program
        self.numpy = NumpyBackend().compile(program)
        self.native, self.job, self.calls = None, None, 0

    def __call__(self, bufs):
        if self.native is not None:
            return self.native(bufs)
        self.calls += 1
        if self.job is None:
            if self.calls >= HOT and self.backend.fallback is None:
                self.job = _submit(self._build)
        elif self.job.done.is_set():
            self.native = self.job.result or self.numpy
            return self.native(bufs)
        return self.numpy(bufs)

    def _build(self):
        try:
            return self.backend.compile(self.program)
        except Exception as e:  # noqa: BLE001 - a background failure must not break a later eager call
            warnings.warn(f"gpuxla: building the cpu kernels of an eager graph failed; it stays on NumPy: {e}",
                          RuntimeWarning, stacklevel=1)
            return None
