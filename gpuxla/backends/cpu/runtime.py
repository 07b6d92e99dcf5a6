"""The native `cpu` platform's runtime: a program's kernels as one host C++ module, run in place.

compiler/render.py's CPU dialect prints each fused kernel as plain C++ loops with an exported
entry `gx_<kind>_<hash>(void* const* args, int threads)`; all the kernels of a program go into one
translation unit, compiled by the host C++ compiler (`CXX`, else g++, else clang++) with
-DGX_CPU (gx_common.cuh then includes gx_cpu.h instead of the interpret platform's fibers),
OpenMP when the compiler has it (its `omp simd`; the threads are gpuxla's own pool, kernels/gx_pool.h,
built once into a library of its own: `pool_entry`), and exact float semantics: no -ffast-math, -ffp-contract=off
(no fused multiply-add the program did not ask for: `random` stays bit-exact with JAX). The
module is built for this machine (-march=native), so the CPU's feature flags are in the key. Where
the CPU has AVX-512, loops use its full width (-mprefer-vector-width=512; GCC's default for
-march=native stops at 256 bits): measured 1.3-2x faster on the exp-bound and PRNG loops of the
bench (selu, grad of logistic, the normal sampler) on a Sapphire Rapids VM.

Shared objects are cached in memory and under `$GPUXLA_CACHE_DIR/cpu/` exactly as the interpret
platform's are (backends/cache.py; loading is interpret._load_library). Library calls
(dot_general, sort, linalg, fft, control flow) run the NumPy reference, as on cuda-interpret.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ... import config
from ...compiler.render import module_source, render_cpu
from ..cache import DiskCache, Recent, cached_module, headers_digest, kernels_dir, numbered_source
from ..cuda.interpret import InterpretRuntime, _compiler_version, _load_library, host_compiler
from . import blas

FLAGS = ["-O2", "-march=native", "-std=c++17", "-shared", "-fPIC", "-fvisibility=hidden", "-fno-strict-aliasing",
         "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-DGX_CPU=1", "-w"]
if os.uname().machine in ("x86_64", "amd64"):      # (an x86 option: other compilers' targets refuse it)
    FLAGS.insert(2, "-mprefer-vector-width=512")
OPENMP = ["-fopenmp"]

# The copy that measures the host's copy bandwidth (CpuRuntime.copy_bandwidth), once per process.
COPY_BYTES = 64 << 20
_copy_bandwidth = []


class CpuUnavailable(RuntimeError):
    """No host C++ compiler, or one that cannot build a shared object: the cpu platform cannot run."""


class CpuCompileError(RuntimeError):
    """The host compiler rejected a kernel module; the message holds its log and the numbered source."""


class CpuNotCached(LookupError):
    """compile_module(build=False): the module is in no cache (the tiered platform's cheap look-up)."""


def _cpu_features() -> str:
    """What -march=native depends on: the CPU's feature flags (Linux), else the machine name."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return os.uname().machine


compile_stats = {"compiled": 0, "memory_hits": 0, "disk_hits": 0, "compile_seconds": 0.0}
# The modules kept loaded for reuse (a module that drops out is unloaded once no executable holds
# one of its kernels: interpret._load_library).
MODULES_KEPT = 1024
HELD_GIL_ELEMENTS = 4096        # launches this small run without releasing the GIL (launch_lines)
_memory = Recent(MODULES_KEPT)
_lock = threading.RLock()
_disk = DiskCache("cpu", ".so", b"GXCPUSO1")
_openmp: dict[str, bool] = {}     # compiler -> whether -fopenmp works with it
_features = None


class Module:
    """A loaded kernel module: kernel name -> ctypes function (void* const*, int)."""

    def __init__(self, image: bytes, names, key: str):
        self.key = key
        # libgomp reads its wait policy once, when the first module loads it. Its default lets idle
        # workers spin for a while after each parallel loop: on a machine with few cores they then
        # compete with OpenBLAS's threads and the calling thread between kernels (measured: the
        # MLP step 44-48 ms a call instead of 5.5 on 2 cores). Sleeping costs a wake-up per loop.
        config.OMP_WAIT_POLICY.set_default("PASSIVE")
        self._lib = _load_library(image, key)
        self.fns = {}
        for n in names:
            fn = getattr(self._lib, n)
            fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_int], None
            # (no argtypes on gx_cpu_call: ctypes converts arguments by them at ~0.3 us a call)
            fn.gx_call = self._lib.gx_cpu_call
            # (the same entry called without releasing the GIL, for small launches: `launch_lines`)
            fn.gx_call_held = ctypes.PYFUNCTYPE(ctypes.c_int)(ctypes.cast(fn.gx_call, ctypes.c_void_p).value)
            self.fns[n] = fn
        mt = self._lib.gx_cpu_max_threads
        mt.restype = ctypes.c_int
        self.max_threads = mt()
        # (a module loaded before the pool's library exists -- from the disk cache, with no
        # compiler run yet in this process -- keeps OpenMP's threads)
        entry = pool_entry(build=False)
        if entry is not None:
            self._lib.gx_cpu_set_pool(ctypes.c_void_p(entry))


def _build(cxx, source, flags, label):
    tmp = Path(tempfile.mkdtemp(prefix="gx_cpu_build_"))
    try:
        src, out = tmp / "gx_module.cc", tmp / "gx_module.so"
        src.write_text(source)
        kdir = kernels_dir()
        cmd = [*shlex.split(cxx), *flags, f"-I{kdir}", str(src), "-o", str(out), "-lm"]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            raise CpuUnavailable(f"host C++ compiler {cxx!r} does not run: {e}") from e
        if r.returncode != 0 or not out.is_file():
            raise CpuCompileError(
                f"{cxx} failed to compile the kernel module ({label}) for the cpu platform:\n"
                f"$ {' '.join(shlex.quote(c) for c in cmd)}\n{(r.stderr + r.stdout).strip()}\n\n"
                f"---- source ----\n{numbered_source(source)}")
        return out.read_bytes()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _key(cxx, source, names, openmp, options):
    h = hashlib.sha256(b"gpuxla-cpu-1\0")
    flags = FLAGS + (OPENMP if openmp else []) + options
    for part in (source, repr(names), "\0".join(flags), cxx, _compiler_version(cxx), os.uname().machine, _features,
                 headers_digest()):
        h.update(part.encode() + b"\0\1")
    return h.hexdigest()


def compile_module(source: str, names, options=(), build=True) -> Module:
    """Compile a module of CPU-dialect kernels (`names`: their exported entries), or load it from a
    cache. `options`: more compiler flags (tests build with -O0: same results, faster builds);
    `build=False`: raise CpuNotCached instead of compiling. Thread-safe; the compiler runs outside
    the lock, so threads build modules in parallel."""
    global _features
    cxx = host_compiler()
    if cxx is None:
        raise CpuUnavailable("the cpu platform needs a host C++ compiler, and none was found ($CXX unset or "
                             "not on PATH, no g++, no clang++); install g++ (Debian: build-essential)")
    names, options = list(names), [str(o) for o in options]
    if _features is None:
        _features = _cpu_features()
    key = _key(cxx, source, names, _openmp.get(cxx, True), options)
    t0 = time.perf_counter()
    with _lock:
        mod, _ = cached_module(_memory, _disk, key, lambda payload: Module(payload, names, key), compile_stats,
                               unloadable=(OSError, AttributeError))
        if mod is not None:
            return mod
    if not build:
        raise CpuNotCached(key)
    pool_entry()                    # (a compiler run in any case: the pool's library first, once)
    label = names[0] if names else "<no kernels>"
    if _openmp.get(cxx, True):
        try:
            payload = _build(cxx, source, FLAGS + OPENMP + options, label)
        except CpuCompileError:
            # A compiler without OpenMP: build serial kernels from now on (same results) -- but
            # only if that is what failed; a module it rejects anyway is reported as it is.
            payload = _build(cxx, source, FLAGS + options, label)
            _openmp[cxx] = False
            key = _key(cxx, source, names, False, options)
        else:
            _openmp[cxx] = True
    else:
        payload = _build(cxx, source, FLAGS + options, label)
    mod = Module(payload, names, key)
    _disk.put(key, payload)
    with _lock:
        _memory[key] = mod
        compile_stats["compiled"] += 1
        compile_stats["compile_seconds"] += time.perf_counter() - t0
    return mod


# The worker pool's library (kernels/gx_pool.h), one per process: [address of gx_pool_run] once
# loaded, [None] where it did not build (OpenMP's threads run the kernels then). Its CDLL is kept
# for the life of the process: workers wait inside it.
POOL_SOURCE = '#include "gx_pool.h"\n'
POOL_FLAGS = ["-pthread"]
_pool: list = []


def pool_entry(build=True):
    """The address of gx_pool_run, from this process's pool library: loaded from the disk cache,
    or built when `build` (else None until some build made it). None where GPUXLA_CPU_POOL=0 or
    the library does not build."""
    if _pool:
        return _pool[0]
    global _features
    with _lock:
        if _pool:
            return _pool[0]
        cxx = host_compiler()
        if not config.CPU_POOL.get() or cxx is None:
            _pool.append(None)
            return None
        if _features is None:
            _features = _cpu_features()
        key = _key(cxx, POOL_SOURCE, ["gx_pool_run"], False, POOL_FLAGS)
        status, payload = _disk.get(key)
        if status != "hit":
            if not build:
                return None
            try:
                payload = _build(cxx, POOL_SOURCE, FLAGS + POOL_FLAGS, "gx_pool")
            except (CpuUnavailable, CpuCompileError) as e:
                warnings.warn(f"gpuxla: the cpu platform's worker pool did not build, so its kernels use "
                              f"OpenMP's threads: {str(e).splitlines()[0]}", RuntimeWarning, stacklevel=2)
                _pool.append(None)
                return None
            _disk.put(key, payload)
        lib = _load_library(payload, key)
        _pool.extend([ctypes.cast(lib.gx_pool_run, ctypes.c_void_p).value, lib])
        return _pool[0]


def pool_workers():
    """Worker threads the pool has started in this process (0 without one)."""
    if not _pool or _pool[0] is None:
        return 0
    fn = _pool[1].gx_pool_workers
    fn.restype = ctypes.c_int
    return fn()


_works: dict[str, bool] = {}


def compiler_works() -> bool:
    """Whether the host compiler builds a trivial shared object (tells a broken compiler from a
    kernel it rejects)."""
    cxx = host_compiler()
    if cxx is None:
        return False
    if cxx not in _works:
        try:
            _build(cxx, 'extern "C" int gx_probe() { return 1; }\n', ["-O0", "-shared", "-fPIC", "-w"], "probe")
            _works[cxx] = True
        except (CpuCompileError, CpuUnavailable):
            _works[cxx] = False
    return _works[cxx]


# Kernel name (a hash of its source) -> entry, from every module loaded in this process: a kernel
# compiled once, for any program, is never compiled again (compile_many relies on it).
_loaded = Recent(16 * MODULES_KEPT)
_max_threads = 0


class CpuRuntime(InterpretRuntime):
    """What plan.Executable runs on for the cpu platform: NumPy buffers, kernels from host modules,
    library calls on the NumPy reference (InterpretRuntime's)."""
    render = staticmethod(render_cpu)

    def __init__(self, threads=None, options=(), build=True):
        super().__init__(options=options)
        self.threads = config.CPU_THREADS.get() if threads is None else threads
        self.build = build          # False: kernels from the caches only (CpuNotCached otherwise)
        self.fns = {}

    def prepare(self, kernels, jobs=1):
        """Load the kernels: those no loaded module has go into one new module, or into `jobs`
        modules built by parallel compiler runs."""
        global _max_threads
        with _lock:
            have = {k.name: _loaded.get(k.name) for k in kernels}
        todo = list({k.name: k for k in kernels if have[k.name] is None}.values())
        if todo:
            n = max(1, min(jobs, len(todo) // 32))
            chunks = [todo[i::n] for i in range(n)]

            def build(c):
                return compile_module(module_source(c), [k.name for k in c], self.options, self.build)
            if n == 1:
                mods = [build(todo)]
            else:
                with ThreadPoolExecutor(n) as pool:
                    mods = list(pool.map(build, chunks))
            with _lock:
                for mod, c in zip(mods, chunks):
                    for k in c:
                        have[k.name] = _loaded[k.name] = mod.fns[k.name]
                    _max_threads = max(_max_threads, mod.max_threads)
        self.fns.update(have)
        if self.threads <= 0:
            self.threads = max(1, _max_threads)

    def dot_plan(self, eqn, lhs, rhs):
        """dot_general with its layout decided now, written by NumPy's matmul into memory it is
        given (the frame's arena, or the output): the cuda platform's DotPlan bound to np.matmul.
        Without it every product is a fresh array, and the MLP step's ~6 MB of them, freed each
        call, made glibc hand pages back and fault them in again (2.3 of 9.3 ms CPU time)."""
        from ..cuda import library
        plan = library.plan_dot(self, eqn, lhs, rhs)
        if plan is not None:
            plan.lin, plan.matmul = None, np.matmul     # (bind() keeps a bound matmul)
        return plan

    @staticmethod
    def dot_updater(dtype):
        """`update(alpha, a, b, c)`: c += alpha * a @ b in one BLAS call (blas.py), or None: then
        the executable runs `x + c * dot` as the product and a kernel (plan.Executable._dot_updates)."""
        return blas.updater(dtype)

    # Buffers a call takes as they are (plan.Executable): the kernels' launches check layout and
    # dtype themselves (gx_cpu_call), so a NumPy array is not passed through `asbuf` first.
    device_types = (np.ndarray,)

    @staticmethod
    def allocator(shape, dtype, what=None):
        """An output's allocation: `np.empty` with its arguments bound (no Python frame a call)."""
        return functools.partial(np.empty, tuple(shape), np.dtype(dtype))

    # --- measured kernel reports (plan.Executable.profile) ---
    @staticmethod
    def step_clock():
        """(mark, seconds) on the host clock: a step's wall time (its kernels run in the call)."""
        return time.perf_counter, lambda a, b: b - a

    @staticmethod
    def copy_bandwidth():
        """The host's copy bandwidth in bytes/s, counted as kernels' bytes are (read plus written):
        the median of five NumPy copies of COPY_BYTES, measured once per process."""
        if not _copy_bandwidth:
            src, dst = np.ones(COPY_BYTES, np.uint8), np.empty(COPY_BYTES, np.uint8)
            times = []
            for r in range(6):                  # (the first is a warm-up: it faults the pages in)
                t0 = time.perf_counter()
                np.copyto(dst, src)
                times.append(time.perf_counter() - t0)
            _copy_bandwidth.append(2 * COPY_BYTES / float(np.median(times[1:])))
        return _copy_bandwidth[0]

    def launch(self, k, args):
        """One launch on `args` (the plan's steps launch through `launch_lines` instead)."""
        _launch_converted(self.fns[k.name], self.threads, k, [None] * len(args), range(len(args)), args)

    def launch_lines(self, k, fixed, exprs, ns):
        """Python lines launching kernel `k` in one frame, for plan._kernel_op's generated step
        (`ns`: their globals): `fixed` lists its arguments, None for those passed anew on each
        call (`exprs`: their expressions, in order), the others buffers that stay (arena views,
        constants). The argument block is made now and is the frame's own (a frame runs one call
        at a time): a launch writes the address of each array object passed anew into it and
        calls gx_cpu_call, which reads each array's data pointer, checks its layout and dtype, and
        runs the kernel. Building a pointer array from `ndarray.ctypes` instead cost ~1 us an
        argument a launch, and ctypes' argtypes conversion ~0.3 us a call: dispatch_add on one
        thread went 8.6 -> 4.1 us with this alone. An argument gx_cpu_call refuses (not
        C-contiguous or aligned, another dtype: a NumPy array taken as it is) takes the slow way,
        `_launch_converted`, as does every launch where NumPy's field offsets were not found
        (`_array_fields`)."""
        fn, threads = self.fns[k.name], self.threads
        assert len(fixed) == len(k.params), (k.name, len(fixed), len(k.params))
        keep = [a for a in fixed if a is not None]     # (the addresses in the block stay valid while these live)
        n = len(fixed)
        var = [j for j, a in enumerate(fixed) if a is None]
        ns.update(gx_keep=keep, gx_slow=functools.partial(_launch_converted, fn, threads, k, fixed, var))
        args = "".join(f"{e}, " for e in exprs)
        if _FIELDS is None or getattr(fn, "gx_call", None) is None:
            return [f"gx_slow(({args}))"]
        block = (ctypes.c_void_p * (5 + 2 * n))(ctypes.cast(fn, ctypes.c_void_p).value, n, *_FIELDS)
        for j, (a, p) in enumerate(zip(fixed, k.params)):
            dt = np.dtype(p.dtype) if a is None else a.dtype
            keep.append(dt)
            block[5 + 2 * j], block[6 + 2 * j] = (0 if a is None else id(a)), id(dt)
        # A launch of few elements keeps the GIL: releasing and taking it back was a fifth of the
        # ctypes call (0.22 -> 0.17 us), and such a kernel holds it for microseconds at most.
        small = max(k.size, sum(p.size for p in k.params)) <= HELD_GIL_ELEMENTS
        ns.update(gx_block=block, gx_call=fn.gx_call_held if small else fn.gx_call, gx_threads=threads, gx_id=id)
        lines = [f"gx_block[{5 + 2 * j}] = gx_id({e})" for j, e in zip(var, exprs)]
        lines.append(f"if gx_call(gx_block, gx_threads): gx_slow(({args}))")
        return lines


launch_stats = {"converted": 0}     # launches whose arguments gx_cpu_call refused (tests)


def _launch_converted(fn, threads, k, fixed, var, args):
    """A launch from pointers built in Python: each argument as the kernel reads it (C-contiguous,
    aligned, its parameter's dtype), copied where it is not; an output written into a copy is
    copied back into the array given (a donated input in another layout)."""
    bufs = list(fixed)
    for j, a in zip(var, args):
        bufs[j] = a
    conv = [np.require(a, p.dtype, ("C", "A")) for a, p in zip(bufs, k.params)]
    if any(c is not a for c, a in zip(conv, bufs)):
        launch_stats["converted"] += 1
    fn((ctypes.c_void_p * len(conv))(*[c.ctypes.data for c in conv]), threads)
    for a, c, p in zip(bufs, conv, k.params):
        if c is not a and p.role != "in":
            a[...] = c


def _array_fields():
    """(data, descr, flags): byte offsets of those fields in NumPy's array object (PyArrayObject:
    the object header, then data, nd, dimensions, strides, base, descr, flags, each a pointer
    wide), or None where arrays of several kinds disagree with them (another layout), or where
    id() is not an object's address (not CPython)."""
    if sys.implementation.name != "cpython":
        return None
    head, p = object.__basicsize__, ctypes.sizeof(ctypes.c_void_p)
    od, oe, of = head, head + 5 * p, head + 6 * p
    readonly = np.arange(4.0)
    readonly.flags.writeable = False
    samples = [np.empty(3, np.float32), np.zeros((4, 3))[:, 1], np.asfortranarray(np.ones((2, 3), np.int32)),
               np.zeros(0, np.int8), np.array(1.5), readonly, np.zeros(17, np.uint8)[1:].view(np.int64),
               np.ones((2, 2), bool)[1:]]
    try:
        for a in samples:
            if sys.getsizeof(a) < of + 4:
                return None
            good = a.flags.c_contiguous and a.flags.aligned
            if ctypes.c_void_p.from_address(id(a) + od).value != (a.ctypes.data or None) \
                    or ctypes.c_void_p.from_address(id(a) + oe).value != id(a.dtype) \
                    or ((ctypes.c_int.from_address(id(a) + of).value & 0x101) == 0x101) != good:
                return None
    except (ValueError, OverflowError):
        return None
    return od, oe, of


_FIELDS = _array_fields()
