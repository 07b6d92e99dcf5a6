"""The `cuda` and `cuda-interpret` platforms: fused kernels rendered as CUDA C, plus library calls.

Both platforms share everything up to the launch: fusion (compiler/fusion.py), the kernel IR and
its CUDA C (compiler/render.py), launch configurations. They differ in the runtime:
  * cuda-interpret: the kernels of a program are compiled as one module by the host C++ compiler
    (backends/interpret.py) and run on NumPy buffers; library calls run the NumPy reference.
  * cuda: each kernel is compiled to a CUBIN by NVRTC (backends/nvrtc.py) when the program is
    compiled -- no GPU needed for that, which is what `jit(f).lower(...).compile(platform="cuda")`
    inspects -- and loaded and launched through CuPy on first call; dot_general goes to cuBLAS
    through cupy.matmul, other library calls to CuPy where it has them, else to the host.

The executable returned by `compile(program)` is callable on a list of buffers and carries
`.kernels` (name, kind, source, launch) and `.cuda_source()`. GPUXLA_DEBUG=2 prints the fusion
groups, 3 also the CUDA source.
"""
import os
import sys
import time

import numpy as np

from . import Device
from ..compiler import render as R
from ..compiler.fusion import Fusion
from ..compiler.kernel_ir import BF16

def _debug():
    try:
        return int(os.environ.get("GPUXLA_DEBUG", "0"))
    except ValueError:
        return 0


class Plan:
    """Fusion and rendering of a Program: groups in order, every kernel with its source."""

    def __init__(self, program, const_values=None):
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
            R.render(k)
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
        d = _debug()
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
        self.plan = plan or Plan(program, {s: runtime.host_scalar(buf) for s, buf, a in program.consts if a.size == 1})
        self.program = program
        self.kernels = self.plan.kernels
        self.library_calls = [g.eqn.prim.name for g in self.plan.groups if g.kind == "library"]
        self.consts = self.scratch = None    # device memory is touched on the first call only
        runtime.prepare(self.kernels)

    def cuda_source(self):
        return self.plan.cuda_source()

    def __call__(self, args):
        rt, info = self.runtime, self.plan.info
        if self.consts is None:
            self.consts = [(s, rt.asbuf(buf, a)) for s, buf, a in self.program.consts]
            self.scratch = {k.name: [rt.zeros(p.size, p.dtype) for p in k.params if p.role in ("scratch", "counter")]
                            for k in self.kernels}
        env = {i: rt.asbuf(a, av) for i, (a, av) in enumerate(zip(args, self.program.in_avals))}
        env.update(self.consts)
        for kind, what, ins, outs, dead in self.plan.steps:
            if kind == "library":
                env[outs[0]] = rt.library(what, [env[s] for s in ins])
            else:
                bufs = [rt.empty(info.avals[s].shape, info.avals[s].dtype) for s in outs]
                env.update(zip(outs, bufs))
                if what.size:
                    rt.launch(what, [env[s] for s in ins] + bufs + self.scratch[what.name])
            for s in dead:
                del env[s]
        return [env[s] for s in self.plan.outputs]


# ---------------------------------------------------------------------------------------------
# cuda-interpret
# ---------------------------------------------------------------------------------------------
class InterpretRuntime:
    def __init__(self, modules=None, options=()):
        self.modules = modules if modules is not None else {}   # kernel name -> interpret.Module
        self.options = tuple(options)

    def host_scalar(self, buf):
        return np.asarray(buf)

    def asbuf(self, x, aval=None):
        if hasattr(x, "get") and not isinstance(x, np.ndarray):
            x = x.get()
        a = np.asarray(x, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        if aval is not None and a.dtype != aval.dtype:
            a = a.astype(aval.dtype)
        return a

    def empty(self, shape, dtype):
        return np.empty(shape, dtype)

    def zeros(self, n, dtype):
        return np.zeros(n, dtype)

    def prepare(self, kernels, jobs=1):
        """Compile the kernels not loaded yet: one host module, or `jobs` modules built in parallel."""
        from . import interpret
        todo = list({k.name: k for k in kernels if k.name not in self.modules}.values())
        if not todo:
            return
        n = max(1, min(jobs, len(todo) // 64))
        chunks = [todo[i::n] for i in range(n)]
        args = [(R.module_source(c), [(k.name, k.signature) for k in c], self.options) for c in chunks]
        if n > 1 and interpret.cache_root() is not None and interpret.host_compiler() is not None:
            # The compile lock is per process: build the modules in worker processes, which leave
            # them in the disk cache, then load them here.
            import multiprocessing
            with multiprocessing.get_context("fork").Pool(n) as pool:
                pool.starmap(_compile_quietly, args)
        for (src, sigs, opts), c in zip(args, chunks):
            mod = interpret.compile_module(src, sigs, options=opts)
            self.modules.update((k.name, mod) for k in c)

    def launch(self, k, args):
        grid, block = k.launch
        self.modules[k.name].launch(k.name, grid, block, args, shared_mem=k.shared_mem)

    def library(self, eqn, args):
        from .numpy_backend import impl_rules
        with np.errstate(all="ignore"):
            out = impl_rules[eqn.prim](*args, **eqn.params)
        if isinstance(out, tuple):
            return out
        return np.asarray(out, dtype=eqn.aval.dtype, order="C")


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


def _compile_quietly(source, sigs, options):
    from . import interpret
    try:
        interpret.compile_module(source, sigs, options=options)
    except Exception:  # noqa: BLE001 - the parent compiles again and reports the error
        pass


# ---------------------------------------------------------------------------------------------
# cuda
# ---------------------------------------------------------------------------------------------
class Bf16Array:
    """A bfloat16 device array: CuPy has no bfloat16, so the bits live in a uint16 CuPy array."""

    def __init__(self, bits):
        self.bits = bits

    shape = property(lambda self: self.bits.shape)
    size = property(lambda self: self.bits.size)
    dtype = property(lambda self: BF16)

    def get(self):
        return self.bits.get().view(BF16)


def _cupy():
    try:
        import cupy
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("the cuda platform needs CuPy (pip install 'gpuxla[cuda]')") from e
    return cupy


class CudaRuntime:
    def __init__(self, arch=None):
        from . import nvrtc
        self.nvrtc = nvrtc
        self.arch = arch
        self.functions = {}

    def host_scalar(self, buf):
        return buf.get() if hasattr(buf, "get") else np.asarray(buf)

    def asbuf(self, x, aval=None):
        cp = _cupy()
        if isinstance(x, Bf16Array):
            return x
        if not isinstance(x, cp.ndarray):
            x = np.asarray(x, order="C")
            if aval is not None and x.dtype != aval.dtype:
                x = x.astype(aval.dtype)
            if x.dtype == BF16:
                return Bf16Array(cp.asarray(x.view(np.uint16)))
            return cp.asarray(x)
        return cp.asarray(x, order="C")

    def empty(self, shape, dtype):
        cp = _cupy()
        if np.dtype(dtype) == BF16:
            return Bf16Array(cp.empty(shape, np.uint16))
        return cp.empty(shape, dtype)

    def zeros(self, n, dtype):
        return _cupy().zeros(n, dtype)

    def prepare(self, kernels):
        # NVRTC needs no GPU: every kernel becomes a CUBIN now; loading waits for the first launch.
        for k in kernels:
            if getattr(k, "cubin", None) is None:
                t0 = time.perf_counter()
                k.cubin = self.nvrtc.compile_cubin(k.source, arch=self.arch)
                k.compile_seconds = time.perf_counter() - t0

    def _function(self, k):
        fn = self.functions.get(k.name)
        if fn is None:
            cp = _cupy()
            mod = cp.cuda.function.Module()
            mod.load(bytes(k.cubin))
            fn = self.functions[k.name] = (mod, mod.get_function(k.name))
        return fn[1]

    def launch(self, k, args):
        grid, block = k.launch
        args = [a.bits if isinstance(a, Bf16Array) else a for a in args]
        self._function(k)(grid, block, tuple(args), shared_mem=k.shared_mem)

    def library(self, eqn, args):
        cp = _cupy()
        from . import numpy_backend
        from ..core import primitives as P
        if eqn.prim.name in ("cond", "while", "scan"):
            # Control flow runs its compiled bodies on device buffers; only predicates are read
            # on the host (gpuxla/lax/control_flow.py).
            return tuple(numpy_backend.impl_rules[eqn.prim](*args, **eqn.params))
        if eqn.prim is P.dot_general_p and not any(isinstance(a, Bf16Array) for a in args):
            # (ascontiguousarray would turn a 0-d result, e.g. a vector dot product, into shape (1,))
            return cp.asarray(_dot_general(cp, *args, **eqn.params), order="C")
        if not any(isinstance(a, Bf16Array) for a in args) and eqn.aval is not None and not isinstance(eqn.aval, tuple) \
                and eqn.aval.dtype != BF16:
            try:
                out = numpy_backend.impl_rules[eqn.prim](*args, **eqn.params)
                if isinstance(out, cp.ndarray):
                    return cp.asarray(out.astype(eqn.aval.dtype, copy=False), order="C")
            except Exception:  # noqa: BLE001 - CuPy lacks it: compute on the host below
                pass
        host = [a.get() if hasattr(a, "get") else a for a in args]
        with np.errstate(all="ignore"):
            out = numpy_backend.impl_rules[eqn.prim](*host, **eqn.params)
        if isinstance(out, tuple):
            return tuple(self.asbuf(o) for o in out)
        return self.asbuf(np.asarray(out, dtype=eqn.aval.dtype, order="C"))


def _dot_general(xp, lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """dot_general as one batched matmul (cuBLAS through CuPy)."""
    (lc, rc), (lb, rb) = dimension_numbers
    out_dtype = np.dtype(preferred_element_type or lhs.dtype)
    lf = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rf = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
    m = int(np.prod([lhs.shape[i] for i in lf], dtype=np.int64))
    k = int(np.prod([lhs.shape[i] for i in lc], dtype=np.int64))
    n = int(np.prod([rhs.shape[i] for i in rf], dtype=np.int64))
    bshape = [lhs.shape[i] for i in lb]
    compute = out_dtype if out_dtype.kind == "f" and lhs.dtype.kind == "f" else np.dtype(
        np.float32 if lhs.dtype == np.float16 else out_dtype)
    L = xp.transpose(lhs, list(lb) + lf + list(lc)).reshape(bshape + [m, k]).astype(compute, copy=False)
    R_ = xp.transpose(rhs, list(rb) + list(rc) + rf).reshape(bshape + [k, n]).astype(compute, copy=False)
    out = xp.matmul(L, R_) if k else xp.zeros(bshape + [m, n], compute)
    return out.reshape(bshape + [lhs.shape[i] for i in lf] + [rhs.shape[i] for i in rf]).astype(out_dtype, copy=False)


class CudaBackend:
    """GPUXLA_PLATFORM=cuda: generated kernels on an NVIDIA GPU through NVRTC and CuPy."""
    platform = "cuda"

    def __init__(self, arch=None):
        self.arch = arch
        self.device = Device("cuda", 0, "gpu")

    def from_numpy(self, arr):
        return CudaRuntime.asbuf(None, arr)

    def to_numpy(self, buf):
        if isinstance(buf, np.ndarray):
            return buf
        return buf.get()

    def synchronize(self, buf):
        _cupy().cuda.get_current_stream().synchronize()

    def compile(self, program):
        return Executable(program, CudaRuntime(self.arch))
