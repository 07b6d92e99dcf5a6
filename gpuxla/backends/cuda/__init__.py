"""The `cuda` and `cuda-interpret` platforms: fused kernels rendered as CUDA C, plus library calls.

Both platforms share everything up to the launch: fusion (compiler/fusion.py), the kernel IR and
its CUDA C (compiler/render.py), the schedule and its walk (plan.py). They differ in the runtime:
  * cuda-interpret (interpret.py): the kernels of a program are compiled as one module by the host
    C++ compiler and run on NumPy buffers; library calls run the NumPy reference.
  * cuda (runtime.py): each kernel is compiled to a CUBIN by NVRTC (nvrtc.py) and launched through
    CuPy; library calls go to cuBLAS, cuSOLVER, cuFFT and CuPy where they can, else to the host
    (library.py).
"""
import os

import numpy as np

from .. import Device
from .interpret import InterpretRuntime
from .plan import Executable, Plan
from .runtime import CudaRuntime, cupy, device_name, here, place, reporting_faults


class InterpretBackend:
    """GPUXLA_PLATFORM=cuda-interpret: the CUDA pipeline run on the CPU."""
    platform = "cuda-interpret"

    def __init__(self):
        self.device = Device("cuda-interpret", 0, "cpu")

    def from_numpy(self, arr):
        return np.asarray(arr, order="C")

    def to_numpy(self, buf):
        return buf

    def synchronize(self, buf):
        pass

    def compile(self, program):
        return Executable(program, InterpretRuntime())

    def compile_many(self, programs, jobs=None, options=("-O0",)):
        """Compile several programs with few host-compiler runs (tests): their kernels go into
        `jobs` modules (default: one per CPU) built in parallel; -O0 because tests run tiny arrays."""
        rt = InterpretRuntime(options=options)
        plans = [Plan(p, {s: np.asarray(b) for s, b, a in p.consts if a.size == 1}) for p in programs]
        rt.prepare([k for pl in plans for k in pl.kernels], jobs=jobs or os.cpu_count() or 1)
        return [Executable(p, InterpretRuntime(rt.modules), pl) for p, pl in zip(programs, plans)]


class CudaBackend:
    """GPUXLA_PLATFORM=cuda: generated kernels on an NVIDIA GPU through NVRTC and CuPy."""
    platform = "cuda"

    def __init__(self, arch=None):
        self.arch = arch
        self.device = Device("cuda", 0, device_name())
        self._runtime = None     # for host-to-device copies outside executables

    def from_numpy(self, arr):
        if self._runtime is None:
            self._runtime = CudaRuntime(self.arch)
        return self._runtime.asbuf(arr)

    def to_numpy(self, buf):
        if isinstance(buf, np.ndarray):
            return buf
        return reporting_faults(buf.get)

    def synchronize(self, buf):
        reporting_faults(cupy().cuda.get_current_stream().synchronize)

    def compile(self, program):
        return Executable(program, CudaRuntime(self.arch))

    def replica(self, exe):
        """`exe` for another GPU (pmap): the same plan and CUBINs with a runtime of its own, so its
        modules load, constants upload and arenas allocate on the GPU current at its first call."""
        return Executable(exe.program, CudaRuntime(self.arch), exe.plan)

    # device_put onto another GPU, and back (runtime.OnDevice)
    place = staticmethod(place)
    here = staticmethod(here)
