"""The `cuda` platform's runtime: device memory, kernel launches and the reports when they fail.

Each kernel is compiled to a CUBIN by NVRTC (nvrtc.py) when the program is compiled -- no GPU is
needed for that, which is what `jit(f).lower(...).compile(platform="cuda")` inspects -- and loaded
and launched through CuPy on first call. Library calls go to library.py. Running out of device
memory is a RuntimeError the process survives (JAX's RESOURCE_EXHAUSTED); a kernel fault names the
kernel, or says how to find it, since launches are asynchronous. CuPy has no bfloat16, so bfloat16
arrays live on the device as their bits (`Bf16Array`).
"""
import time

import numpy as np

from ... import config
from . import nvrtc
from ...compiler import render as R
from ...compiler.cexpr import BF16

# Dynamic shared memory a launch may use without the function opting in (every CUDA device).
DEFAULT_DYNAMIC_SHARED = 48 * 1024

# The copy that measures a device's copy bandwidth (CudaRuntime.copy_bandwidth): large enough that
# the launch is noise. Measured once per device and process: device -> bytes/s.
COPY_BYTES = 256 << 20
_copy_bandwidth = {}


def cupy():
    """The cupy module, imported on first use: the rest of gpuxla runs without it."""
    try:
        import cupy
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("the cuda platform needs CuPy (pip install 'gpuxla[cuda]')") from e
    return cupy


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
        return Bf16Array(cupy().stack([a.bits for a in items]))


class OnDevice:
    """A buffer committed to a GPU other than the default one (`device_put(x, jax.devices()[k])`).
    It is not one of the runtime's device types, so an executable given it calls `asbuf`, which
    copies it to the GPU computing (`here`); pmap hands it to its own device as it is."""

    def __init__(self, buf, gpu):
        self.buf, self.gpu = buf, gpu

    shape = property(lambda self: self.buf.shape)
    size = property(lambda self: self.buf.size)
    dtype = property(lambda self: self.buf.dtype)

    def get(self):
        return self.buf.get()


def here(buf):
    """`buf` on the current GPU: itself when it is there, else a copy (CuPy's `copy` makes it on
    the current device, from any other)."""
    if isinstance(buf, OnDevice):
        buf = buf.buf
    bits = buf.bits if isinstance(buf, Bf16Array) else buf
    cp = cupy()
    if bits.device.id == cp.cuda.runtime.getDevice():
        return buf
    bits = bits.copy()
    return Bf16Array(bits) if isinstance(buf, Bf16Array) else bits


def place(buf, gpu):
    """`buf` (on the current GPU) on GPU `gpu`, as device_put's OnDevice."""
    with cupy().cuda.Device(gpu):
        return OnDevice(here(buf), gpu)


class CudaRuntime:
    def __init__(self, arch=None):
        self.arch = arch
        self.functions = {}
        self.modules = {}
        # GPUXLA_CUDA_SYNC=1 waits for every kernel, so a fault is reported by the kernel that made it
        # (launches are asynchronous: otherwise it surfaces at the next copy to the host).
        self.sync_each = config.CUDA_SYNC.get()

    def host_scalar(self, buf):
        return buf.get() if hasattr(buf, "get") else np.asarray(buf)

    # --- device memory: CuPy's default pool; running out is a RuntimeError the process survives ---
    def _alloc(self, make, describe):
        """`make()`, retried once after the pool frees its cached blocks; `describe()` gives
        (bytes, what for) for the error, and runs only then (this is every call's hot path)."""
        cp = cupy()
        try:
            return make()
        except cp.cuda.memory.OutOfMemoryError:
            # Idle executables' arenas, then blocks cached by the pool but not in use, go back to
            # the device: try once more.
            from .plan import release_idle_frames
            release_idle_frames()
            cp.get_default_memory_pool().free_all_blocks()
            try:
                return make()
            except cp.cuda.memory.OutOfMemoryError as e:
                raise out_of_memory(cp, *describe(), e) from None

    def asbuf(self, x, aval=None):
        cp = cupy()
        if isinstance(x, (Bf16Array, OnDevice)):
            return here(x)
        if not isinstance(x, cp.ndarray):
            x = np.asarray(x, order="C")
            if aval is not None and x.dtype != aval.dtype:
                x = x.astype(aval.dtype)
            describe = lambda: (x.nbytes, f"a host-to-device copy of {_shape_str(x.shape, x.dtype)}")  # noqa: E731
            if x.dtype == BF16:
                return Bf16Array(self._alloc(lambda: cp.asarray(x.view(np.uint16)), describe))
            return self._alloc(lambda: cp.asarray(x), describe)
        return cp.asarray(here(x), order="C")

    def empty(self, shape, dtype, what="a buffer"):
        """An uninitialised device array; `what`: a description, or the kernel it is an output of."""
        cp = cupy()

        def describe():
            nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            return nbytes, what if isinstance(what, str) else f"an output of kernel '{what.name}'"
        if dtype == BF16:
            return Bf16Array(self._alloc(lambda: cp.empty(shape, np.uint16), describe))
        return self._alloc(lambda: cp.empty(shape, dtype), describe)

    def zeros(self, n, dtype):
        cp = cupy()
        return self._alloc(lambda: cp.zeros(n, dtype), lambda: (n * np.dtype(dtype).itemsize, "kernel scratch memory"))

    # --- what plan.Executable binds once per executable or frame (the lean call path) ---
    @property
    def device_types(self):
        """Buffer types a call takes as they are (no copy, no conversion)."""
        return (cupy().ndarray, Bf16Array)

    def stream_key(self):
        """The current stream: frames (plan.Executable) are reused only on the stream they ran on."""
        return self._current_stream().ptr

    @property
    def _current_stream(self):
        f = self.__dict__.get("_gcs")
        if f is None:
            f = self._gcs = cupy().cuda.get_current_stream
        return f

    def arena(self, nbytes):
        return self.zeros(nbytes, np.uint8)

    def view(self, arena, offset, shape, dtype):
        bf16 = dtype == BF16
        dtype = np.dtype(np.uint16 if bf16 else dtype)
        n = 1
        for d in shape:
            n *= d
        v = arena[offset:offset + n * dtype.itemsize].view(dtype).reshape(shape)
        return Bf16Array(v) if bf16 else v

    def aliases(self, arena, buf):
        """Whether `buf` lies in `arena` (a library call handed an intermediate through)."""
        b = buf.bits if isinstance(buf, Bf16Array) else buf
        if not isinstance(b, cupy().ndarray):
            return False
        start, p = arena.data.ptr, b.data.ptr
        return start <= p < start + arena.nbytes

    def copy(self, buf):
        return Bf16Array(buf.bits.copy()) if isinstance(buf, Bf16Array) else buf.copy()

    def allocator(self, shape, dtype, what):
        """A function making an uninitialised output: `cupy.empty`, bound once (`empty` reports
        running out of memory)."""
        if dtype == BF16:
            return lambda: self.empty(shape, dtype, what)
        cp = cupy()
        empty, oom, dtype = cp.empty, cp.cuda.memory.OutOfMemoryError, np.dtype(dtype)

        def alloc():
            try:
                return empty(shape, dtype)
            except oom:
                return self.empty(shape, dtype, what)
        return alloc

    def launcher(self, k):
        """`launch(args)` for kernel `k`: function handle, grid, block and shared memory bound once."""
        fn, (grid, block), shared = self._function(k), k.launch, k.shared_mem
        bf16 = any(p.dtype == BF16 for p in k.params)
        stream = cupy().cuda.get_current_stream if self.sync_each else None

        def launch(args):
            if bf16:
                args = tuple(a.bits if isinstance(a, Bf16Array) else a for a in args)
            try:
                fn(grid, block, args, shared_mem=shared)
                if stream is not None:
                    stream().synchronize()
            except Exception as e:  # noqa: BLE001 - CuPy's CUDA errors, reported with the kernel's name
                raise _launch_error(k, args, e) from e

        def lean(args):             # the common case, without the tests above
            try:
                fn(grid, block, args, shared_mem=shared)
            except Exception as e:  # noqa: BLE001
                raise _launch_error(k, args, e) from e
        return launch if bf16 or stream is not None else lean

    # --- CUDA graphs: what plan.Executable's replay needs ---
    def capture(self, run):
        """The launches and cuBLAS calls `run()` makes, captured into a CUDA graph (returned: a
        `cupy.cuda.graph.Graph`, launched on the current stream by `.launch()`). Nothing runs now.
        Capture needs a stream of its own (the legacy default stream cannot capture); CuPy's
        relaxed mode lets an allocation through, but the graph would keep memory the pool hands
        out again, so an allocation from the pool during the capture fails it (a memory hook
        watches), as do host copies and synchronisations (CUDA refuses those)."""
        cp = cupy()
        stream = cp.cuda.Stream(non_blocking=True)
        watch = _allocation_watch(cp)
        with stream:
            stream.begin_capture()
            try:
                with watch:
                    run()
            except BaseException:
                try:
                    stream.end_capture()        # (the capture is invalid: this raises too)
                except Exception:  # noqa: BLE001 - the first error is the one to report
                    pass
                raise
            graph = stream.end_capture()
        if watch.allocations:
            raise RuntimeError(f"{watch.allocations} allocation(s) from the memory pool during the capture")
        return graph

    def copier(self, stream_ptr):
        """(fn, tail): `fn(dst pointer, src pointer, nbytes, *tail)` is an asynchronous
        device-to-device copy on the stream `stream_ptr` (cudaMemcpyAsync, recorded as a graph
        node when that stream captures). Called as it is, without a wrapper: a replay makes one
        per input and output."""
        cp = cupy()
        rt = cp.cuda.runtime
        memcpy, kind = rt.memcpyAsync, getattr(rt, "memcpyDeviceToDevice", 3)
        if stream_ptr is None:      # the current stream when called (a capture's, a loop body's)
            current = cp.cuda.get_current_stream
            return (lambda dst, src, n: memcpy(dst, src, n, kind, current().ptr)), ()
        return memcpy, (kind, stream_ptr)

    # --- measured kernel reports: what plan.Executable.profile times the steps with ---
    @staticmethod
    def step_clock():
        """(mark, seconds): `mark()` records a CUDA event on the current stream (where the steps
        launch), `seconds(a, b)` is the device time between two marks, waiting for the later."""
        cuda = cupy().cuda

        def mark():
            e = cuda.Event()
            e.record()
            return e

        def seconds(a, b):
            b.synchronize()
            return cuda.get_elapsed_time(a, b) / 1e3
        return mark, seconds

    def copy_bandwidth(self):
        """The device's copy bandwidth in bytes/s, counted as kernels' bytes are (read plus
        written: 2 * COPY_BYTES a copy): the median of five device-to-device copies of COPY_BYTES
        on the current stream, measured once per device and process."""
        cp = cupy()
        dev = cp.cuda.runtime.getDevice()
        got = _copy_bandwidth.get(dev)
        if got is None:
            src, dst = cp.zeros(COPY_BYTES, np.uint8), cp.empty(COPY_BYTES, np.uint8)
            copy, tail = self.copier(None)
            mark, seconds = self.step_clock()
            times = []
            for r in range(6):                  # (the first is a warm-up)
                a = mark()
                copy(dst.data.ptr, src.data.ptr, COPY_BYTES, *tail)
                times.append(seconds(a, mark()))
            got = _copy_bandwidth[dev] = 2 * COPY_BYTES / float(np.median(times[1:]))
        return got

    @staticmethod
    def pointer(buf):
        return (buf.bits if isinstance(buf, Bf16Array) else buf).data.ptr

    @staticmethod
    def pointer_expr(expr, dtype):
        """The Python expression of the device pointer of the buffer `expr` (of `dtype`)."""
        return f"{expr}.bits.data.ptr" if dtype == BF16 else f"{expr}.data.ptr"

    def dot_plan(self, eqn, lhs, rhs):
        """dot_general with its cuBLAS parameters decided now (library.DotPlan), or None."""
        from . import library
        return library.plan_dot(self, eqn, lhs, rhs)

    def dot_scope(self, plans):
        """(enter, leave) around an executable's call for its planned dots (library.dot_scope)."""
        from . import library
        return library.dot_scope(plans)

    def prepare(self, kernels):
        """NVRTC needs no GPU: the kernels become CUBINs now, as one program (one NVRTC run: the
        MLP step's 10 kernels compile in 0.19 s together, 0.57 s one by one); loading waits for
        the first launch. Each kernel's `cubin` is that program's image."""
        todo = list({k.name: k for k in kernels if getattr(k, "cubin", None) is None}.values())
        if not todo:
            return
        t0 = time.perf_counter()
        source = todo[0].source if len(todo) == 1 else R.module_source(todo)
        cubin = nvrtc.compile_cubin(source, arch=self.arch)
        dt = time.perf_counter() - t0
        for k in kernels:
            if getattr(k, "cubin", None) is None:
                k.cubin, k.compile_seconds = cubin, dt

    def _function(self, k):
        fn = self.functions.get(k.name)
        if fn is None:
            # One module per program image: the kernels compiled together load it once.
            key = getattr(k.cubin, "key", None) or bytes(k.cubin)
            mod = self.modules.get(key)
            if mod is None:
                mod = self.modules[key] = cupy().cuda.function.Module()
                mod.load(bytes(k.cubin))
            fn = self.functions[k.name] = (mod, mod.get_function(k.name))
            if k.shared_mem > DEFAULT_DYNAMIC_SHARED:
                # More dynamic shared memory than a launch gets by default (rows kept in shared
                # memory, render.ROW_SHARED_BYTES): the function must opt in first.
                drv = cupy().cuda.driver
                attr = getattr(drv, "CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES", 8)
                try:
                    drv.funcSetAttribute(fn[1].ptr, attr, int(k.shared_mem))
                except Exception as e:  # noqa: BLE001 - CuPy's driver error, reported with the kernel's name
                    del self.functions[k.name]
                    raise RuntimeError(
                        f"gpuxla: CUDA kernel '{k.name}' keeps its rows in {k.shared_mem} bytes of shared memory "
                        f"a block, more than this device allows ({type(e).__name__}: {e}); lower "
                        "gpuxla.compiler.render.ROW_SHARED_BYTES (0 turns the rows off) before compiling") from e
        return fn[1]

    def launch(self, k, args):
        self.launcher(k)(tuple(args))

    def library(self, eqn, args):
        from . import library    # (library.py imports this module)
        cp = cupy()
        try:
            return library.call(self, cp, eqn, args)
        except cp.cuda.memory.OutOfMemoryError as e:
            from .plan import release_idle_frames
            release_idle_frames()
            cp.get_default_memory_pool().free_all_blocks()
            raise out_of_memory(cp, None, f"the library call '{eqn.prim.name}'", e) from None


def _allocation_watch(cp):
    """A CuPy memory hook counting what is taken from the memory pool while it is entered."""
    base = getattr(cp.cuda, "MemoryHook", None)

    class Watch(base or object):
        name = "gpuxla_capture_watch"
        allocations = 0

        def __enter__(self):
            return super().__enter__() if base is not None else self

        def __exit__(self, *exc):
            if base is not None:
                super().__exit__(*exc)

        def malloc_preprocess(self, **kwargs):
            self.allocations += 1
    return Watch()


def _launch_error(k, args, e):
    grid, block = k.launch
    shapes = ", ".join(_shape_str(a.shape, a.dtype) for a in args)
    return RuntimeError(
        f"gpuxla: CUDA kernel '{k.name}' failed (grid {tuple(grid)}, block {tuple(block)}, "
        f"{k.shared_mem} bytes of shared memory; arguments {shapes}): {type(e).__name__}: {e}\n"
        "Its CUDA C: GPUXLA_DEBUG=3 prints every kernel's source; `jit(f).lower(...).compile()"
        ".cuda_source()` returns it.")


def _shape_str(shape, dtype):
    from ...core.dtypes import dtype_short_name
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


def reporting_faults(wait):
    """Run `wait` (a copy to the host, a synchronisation); a CUDA error there comes from a kernel
    launched earlier, since launches are asynchronous: say so, and how to find which one."""
    cp = cupy()
    errors = tuple(e for e in (getattr(cp.cuda.runtime, "CUDARuntimeError", None),
                               getattr(cp.cuda.driver, "CUDADriverError", None)) if e is not None)
    try:
        return wait()
    except errors as e:
        raise RuntimeError(f"gpuxla: waiting for the GPU failed: {type(e).__name__}: {e}\nA kernel launched "
                           "earlier faulted (launches are asynchronous); run with GPUXLA_CUDA_SYNC=1 to have "
                           "the failing kernel named.") from e


def device_name():
    """The GPU's name, as JAX's `device_kind` gives it ("NVIDIA H100 80GB HBM3"); "gpu" if unknown."""
    try:
        cp = cupy()
        name = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001 - a name is only for display
        return "gpu"
