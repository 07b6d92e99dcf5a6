"""The native `cpu` platform: the fused kernels compiled for the host, library calls on NumPy.

Fusion, the kernel IR and the schedule are the cuda platforms' (compiler/, cuda/plan.py); the
kernels are printed by the CPU dialect of the renderer (plain C++ loops, vectorised, threaded,
deterministic) and compiled as one host module per program (runtime.py).

Without a working host C++ compiler the platform falls back to the NumPy backend, program by
program, with one warning: NumPy buffers are this platform's buffers too, so results of either
mix freely. A module the compiler rejects while it builds a trivial one is a gpuxla bug, and is
raised, never hidden behind the fallback.
"""
import os
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
