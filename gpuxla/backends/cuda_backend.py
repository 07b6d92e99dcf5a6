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
from ..compiler.cexpr import BF16

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
                bufs = [rt.empty(info.avals[s].shape, info.avals[s].dtype, what) for s in outs]
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

    def empty(self, shape, dtype, what=None):
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

    def __getitem__(self, index):        # lax.scan slices its xs
        return Bf16Array(self.bits[index])

    @staticmethod
    def stack(items):                    # ... and stacks its ys
        return Bf16Array(_cupy().stack([a.bits for a in items]))


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
        # GPUXLA_CUDA_SYNC=1 waits for every kernel, so a fault is reported by the kernel that made it
        # (launches are asynchronous: otherwise it surfaces at the next copy to the host).
        self.sync_each = os.environ.get("GPUXLA_CUDA_SYNC", "0") not in ("", "0")

    def host_scalar(self, buf):
        return buf.get() if hasattr(buf, "get") else np.asarray(buf)

    # --- device memory: CuPy's default pool; running out is a RuntimeError the process survives ---
    def _alloc(self, make, describe):
        """`make()`, retried once after the pool frees its cached blocks; `describe()` gives
        (bytes, what for) for the error, and runs only then (this is every call's hot path)."""
        cp = _cupy()
        try:
            return make()
        except cp.cuda.memory.OutOfMemoryError:
            # Blocks cached by the pool but not in use go back to the device: try once more.
            cp.get_default_memory_pool().free_all_blocks()
            try:
                return make()
            except cp.cuda.memory.OutOfMemoryError as e:
                raise out_of_memory(cp, *describe(), e) from None

    def asbuf(self, x, aval=None):
        cp = _cupy()
        if isinstance(x, Bf16Array):
            return x
        if not isinstance(x, cp.ndarray):
            x = np.asarray(x, order="C")
            if aval is not None and x.dtype != aval.dtype:
                x = x.astype(aval.dtype)
            describe = lambda: (x.nbytes, f"a host-to-device copy of {_shape_str(x.shape, x.dtype)}")  # noqa: E731
            if x.dtype == BF16:
                return Bf16Array(self._alloc(lambda: cp.asarray(x.view(np.uint16)), describe))
            return self._alloc(lambda: cp.asarray(x), describe)
        return cp.asarray(x, order="C")

    def empty(self, shape, dtype, what="a buffer"):
        """An uninitialised device array; `what`: a description, or the kernel it is an output of."""
        cp = _cupy()

        def describe():
            nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            return nbytes, what if isinstance(what, str) else f"an output of kernel '{what.name}'"
        if dtype == BF16:
            return Bf16Array(self._alloc(lambda: cp.empty(shape, np.uint16), describe))
        return self._alloc(lambda: cp.empty(shape, dtype), describe)

    def zeros(self, n, dtype):
        cp = _cupy()
        return self._alloc(lambda: cp.zeros(n, dtype), lambda: (n * np.dtype(dtype).itemsize, "kernel scratch memory"))

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
        try:
            self._function(k)(grid, block, tuple(args), shared_mem=k.shared_mem)
            if self.sync_each:
                _cupy().cuda.get_current_stream().synchronize()
        except Exception as e:  # noqa: BLE001 - CuPy's CUDA errors, reported with the kernel's name
            shapes = ", ".join(_shape_str(a.shape, a.dtype) for a in args)
            raise RuntimeError(
                f"gpuxla: CUDA kernel '{k.name}' failed (grid {tuple(grid)}, block {tuple(block)}, "
                f"{k.shared_mem} bytes of shared memory; arguments {shapes}): {type(e).__name__}: {e}\n"
                "Its CUDA C: GPUXLA_DEBUG=3 prints every kernel's source; `jit(f).lower(...).compile()"
                ".cuda_source()` returns it.") from e

    def library(self, eqn, args):
        cp = _cupy()
        try:
            return self._library(cp, eqn, args)
        except cp.cuda.memory.OutOfMemoryError as e:
            cp.get_default_memory_pool().free_all_blocks()
            raise out_of_memory(cp, None, f"the library call '{eqn.prim.name}'", e) from None

    def _library(self, cp, eqn, args):
        from . import numpy_backend
        from ..core import primitives as P
        from ..core.graph import proj_p
        if eqn.prim is proj_p:       # one result of a multiple-result call, whatever its dtype
            return args[0][eqn.params["index"]]
        if eqn.prim.name in ("cond", "while", "scan"):
            # Control flow runs its compiled bodies on device buffers; only predicates are read
            # on the host (gpuxla/lax/control_flow.py).
            return tuple(numpy_backend.impl_rules[eqn.prim](*args, **eqn.params))
        if eqn.prim is P.dot_general_p:
            return _dot_general(cp, *args, **eqn.params)
        bf16 = any(isinstance(a, Bf16Array) for a in args)
        rule = library_rules.get(eqn.prim)
        if rule is not None and not bf16:
            # cuSOLVER / cuFFT through CuPy (gpuxla/numpy/linalg.py, gpuxla/lax/fft.py). CuPy's linalg
            # refuses float16: compute in float32, as the NumPy rules do; results are cast back below.
            args = [a.astype(np.float32) if a.dtype == np.float16 else a for a in args]
            out = rule(*args, **eqn.params)
            if isinstance(out, (tuple, list)):
                return tuple(cp.asarray(o.astype(a.dtype, copy=False), order="C") for o, a in zip(out, eqn.aval))
            return cp.asarray(out.astype(eqn.aval.dtype, copy=False), order="C")
        if not bf16 and eqn.aval is not None and not isinstance(eqn.aval, (tuple, list)) and eqn.aval.dtype != BF16:
            # The NumPy reference on device arrays: NumPy hands calls on CuPy arrays to CuPy
            # (__array_function__), which covers sort, cumsum, gathers, ...
            try:
                out = numpy_backend.impl_rules[eqn.prim](*args, **eqn.params)
                if isinstance(out, cp.ndarray):
                    return cp.asarray(out.astype(eqn.aval.dtype, copy=False), order="C")
            except cp.cuda.memory.OutOfMemoryError:
                raise
            except Exception:  # noqa: BLE001 - CuPy lacks it: compute on the host below
                pass
        host = [a.get() if hasattr(a, "get") else a for a in args]
        with np.errstate(all="ignore"):
            out = numpy_backend.impl_rules[eqn.prim](*host, **eqn.params)
        if isinstance(out, tuple):
            return tuple(self.asbuf(o) for o in out)
        return self.asbuf(np.asarray(out, dtype=eqn.aval.dtype, order="C"))


# Library implementations on CuPy, by primitive: cuSOLVER and cuFFT calls that the linalg and fft
# modules register (a primitive not here runs its NumPy rule on CuPy arrays, else on the host).
library_rules = {}


def _shape_str(shape, dtype):
    from ..core.dtypes import dtype_short_name
    return f"{dtype_short_name(np.dtype(dtype))}[{','.join(map(str, shape))}]"


def out_of_memory(cp, nbytes, what, err):
    """The RuntimeError for an allocation the device cannot hold (JAX says RESOURCE_EXHAUSTED)."""
    pool = cp.get_default_memory_pool()
    try:
        free, total = cp.cuda.Device().mem_info
        device = f"; the device has {free:,} of {total:,} bytes free"
    except Exception:  # noqa: BLE001 - the report must not fail on a broken context
        device = ""
    limit = pool.get_limit()
    size = f"{nbytes:,} bytes" if nbytes is not None else "memory"
    return RuntimeError(
        f"RESOURCE_EXHAUSTED: Out of memory while trying to allocate {size} for {what}. Live gpuxla buffers "
        f"hold {pool.used_bytes():,} bytes (memory pool total {pool.total_bytes():,} bytes"
        f"{f', limit {limit:,} bytes' if limit else ''}){device}. CuPy said: {err}\n"
        "Delete arrays you no longer need (`del x`), use smaller batches, or raise the pool's limit "
        "(CUPY_GPU_MEMORY_LIMIT).")


def _tf32(precision):
    """Whether a float32 dot_general runs on TF32 tensor cores: its own precision if it names one,
    else `jax_default_matmul_precision` (gpuxla's default is full float32)."""
    from ..core.dtypes import config
    p = precision if precision not in (None, "DEFAULT") else config.read("jax_default_matmul_precision")
    return p is not None and str(p).upper() in ("HIGH", "TENSORFLOAT32", "BFLOAT16", "FASTEST")


def _matmul(xp, a, b, tf32):
    """xp.matmul with cuBLAS's compute type set for float32: TF32 or full precision, whatever the
    process-wide CuPy setting (CUPY_TF32) is; it is put back afterwards."""
    if a.dtype not in (np.float32, np.complex64) or xp is np:
        return xp.matmul(a, b)
    lin = xp._core._routines_linalg
    # (CuPy's enum values, in case a build does not export the names: DEFAULT 1, TF32 7)
    want = getattr(lin, "COMPUTE_TYPE_TF32", 7) if tf32 else getattr(lin, "COMPUTE_TYPE_DEFAULT", 1)
    old = lin.get_compute_type(a.dtype)
    if old == want:
        return xp.matmul(a, b)
    lin.set_compute_type(a.dtype, want)
    try:
        return xp.matmul(a, b)
    finally:
        lin.set_compute_type(a.dtype, old)


def _bf16_to_f32(xp, bits):
    """bfloat16 bits (uint16) -> float32, exactly: the bits are the float32's upper half."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _f32_to_bf16(xp, x):
    """float32 -> bfloat16 bits, rounding to nearest even; NaNs stay (quiet) NaNs."""
    u = x.view(np.uint32)
    r = ((u + np.uint32(0x7FFF) + ((u >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    return xp.where(xp.isnan(x), np.uint16(0x7FC0), r)


def _dot_general(xp, lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """dot_general as one batched matmul (cuBLAS through CuPy). Half-precision inputs accumulate in
    float32; bfloat16 arrives as Bf16Array (its bits) and leaves as one."""
    bf16 = isinstance(lhs, Bf16Array) or isinstance(rhs, Bf16Array)
    if bf16:
        lhs, rhs = (_bf16_to_f32(xp, a.bits) if isinstance(a, Bf16Array) else a for a in (lhs, rhs))
        in_dtype = BF16
    else:
        in_dtype = np.dtype(lhs.dtype)
    out_dtype = np.dtype(preferred_element_type or in_dtype)
    (lc, rc), (lb, rb) = dimension_numbers
    lf = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rf = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
    m = int(np.prod([lhs.shape[i] for i in lf], dtype=np.int64))
    k = int(np.prod([lhs.shape[i] for i in lc], dtype=np.int64))
    n = int(np.prod([rhs.shape[i] for i in rf], dtype=np.int64))
    bshape = [lhs.shape[i] for i in lb]
    if in_dtype in (np.float16, BF16):
        compute = np.dtype(np.float64 if out_dtype == np.float64 else np.float32)
    elif out_dtype.kind in "fc" and in_dtype.kind in "fc":
        compute = out_dtype
    else:
        compute = out_dtype if out_dtype != BF16 else np.dtype(np.float32)
    L = xp.transpose(lhs, list(lb) + lf + list(lc)).reshape(bshape + [m, k]).astype(compute, copy=False)
    R_ = xp.transpose(rhs, list(rb) + list(rc) + rf).reshape(bshape + [k, n]).astype(compute, copy=False)
    out = _matmul(xp, L, R_, _tf32(precision)) if k else xp.zeros(bshape + [m, n], compute)
    out = out.reshape(bshape + [lhs.shape[i] for i in lf] + [rhs.shape[i] for i in rf])
    if out_dtype == BF16:
        bits = _f32_to_bf16(xp, xp.asarray(out.astype(np.float32, copy=False), order="C"))
        return Bf16Array(xp.asarray(bits, order="C")) if xp is not np else bits.view(BF16)
    # (ascontiguousarray would turn a 0-d result, e.g. a vector dot product, into shape (1,))
    return xp.asarray(out.astype(out_dtype, copy=False), order="C")


def _device_name():
    """The GPU's name, as JAX's `device_kind` gives it ("NVIDIA H100 80GB HBM3"); "gpu" if unknown."""
    try:
        cp = _cupy()
        name = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001 - a name is only for display
        return "gpu"


def _reporting_faults(wait):
    """Run `wait` (a copy to the host, a synchronisation); a CUDA error there comes from a kernel
    launched earlier, since launches are asynchronous: say so, and how to find which one."""
    cp = _cupy()
    errors = tuple(e for e in (getattr(cp.cuda.runtime, "CUDARuntimeError", None),
                               getattr(cp.cuda.driver, "CUDADriverError", None)) if e is not None)
    try:
        return wait()
    except errors as e:
        raise RuntimeError(f"gpuxla: waiting for the GPU failed: {type(e).__name__}: {e}\nA kernel launched "
                           "earlier faulted (launches are asynchronous); run with GPUXLA_CUDA_SYNC=1 to have "
                           "the failing kernel named.") from e


class CudaBackend:
    """GPUXLA_PLATFORM=cuda: generated kernels on an NVIDIA GPU through NVRTC and CuPy."""
    platform = "cuda"

    def __init__(self, arch=None):
        self.arch = arch
        self.device = Device("cuda", 0, _device_name())
        self._runtime = None     # for host-to-device copies outside executables

    def from_numpy(self, arr):
        if self._runtime is None:
            self._runtime = CudaRuntime(self.arch)
        return self._runtime.asbuf(arr)

    def to_numpy(self, buf):
        if isinstance(buf, np.ndarray):
            return buf
        return _reporting_faults(buf.get)

    def synchronize(self, buf):
        _reporting_faults(_cupy().cuda.get_current_stream().synchronize)

    def compile(self, program):
        return Executable(program, CudaRuntime(self.arch))
