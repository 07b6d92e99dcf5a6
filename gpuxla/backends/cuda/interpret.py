"""The `cuda-interpret` platform: the same CUDA C text, compiled by the host C++ compiler, run on the CPU.

    >>> import numpy as np
    >>> from gpuxla.backends.cuda import interpret
    >>> src = '''#include "gx_common.cuh"
    ... extern "C" __global__ void twice(const float* x, float* y, int n) {
    ...   int i = blockIdx.x * blockDim.x + threadIdx.x;
    ...   if (i < n) y[i] = gx_mul(x[i], 2.0f);
    ... }'''
    >>> mod = interpret.compile_module(src, [("twice", ["const float*", "float*", "int"])])
    >>> x = np.arange(5, dtype=np.float32); y = np.empty_like(x)
    >>> mod.launch("twice", grid=1, block=32, args=[x, y, np.int32(5)])
    >>> y.tolist()
    [0.0, 2.0, 4.0, 6.0, 8.0]

The kernel text is compiled with `-include gx_interpret.h` (gpuxla/kernels/), which runs the threads of a
block as cooperative fibers so `__syncthreads`, shared memory and warp shuffles behave as on a GPU.
For each kernel, given its C parameter types (`KernelSig = (name, params)`; nothing here parses
C), a launcher `gx_launch_<name>(grid, block, shared_mem, void** args)` is appended that unpacks
CUDA's `kernelParams` convention.  Arguments: NumPy arrays (C-contiguous; their data pointer is
passed) for pointer parameters, NumPy or Python scalars for value parameters (checked against the
declared type), or ctypes objects for anything else (structs).

Shared objects are cached in memory and under `$GPUXLA_CACHE_DIR/interpret/` (default
`~/.cache/gpuxla/interpret/`), keyed by source, signatures, options, the kernels-folder headers and
the compiler's version. Each entry is a `backends.cache.DiskCache` file (checksum inside, published
by one rename, owner-checked); what is loaded is the verified bytes, not the cache file.

`compile_module` and `Module` need nothing from gpuxla.core: tests use them with hand-written
kernels. `InterpretRuntime`, at the end, is what `plan.Executable` runs on for this platform: the
kernels of a program compiled as host modules, library calls on the NumPy reference.
"""
from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ... import config
from ..cache import (DiskCache, Recent, cached_module, headers_digest, kernels_dir, numbered_source,
                     unload_when_unused)

__all__ = ["KernelSig", "InterpretUnavailable", "InterpretCompileError", "KernelLaunchError",
           "host_compiler", "compile_module", "Module", "Kernel", "compile_stats", "clear_memory_cache",
           "InterpretRuntime"]

KernelSig = tuple  # (name: str, params: list[str]), e.g. ("k", ["const float*", "float*", "int"])

# -O1: fast enough to compile and to run; no -ffast-math (the semantics are NVRTC's default IEEE ones).
BASE_FLAGS = ["-O1", "-std=c++17", "-shared", "-fPIC", "-fvisibility=hidden", "-fno-strict-aliasing",
              "-fno-math-errno", "-w"]


class InterpretUnavailable(RuntimeError):
    """No host C++ compiler: the cuda-interpret platform cannot run here."""


class InterpretCompileError(RuntimeError):
    """The host compiler rejected a kernel module; the message holds its log and the numbered source."""


class KernelLaunchError(RuntimeError):
    """A kernel failed on the interpret platform (bad launch configuration, __trap, deadlock)."""


# ---------------------------------------------------------------------------------------------
# Host compiler
# ---------------------------------------------------------------------------------------------
def host_compiler() -> str | None:
    """$CXX if it resolves, else g++, else clang++, else None."""
    for cand in (config.CXX.get(), "g++", "clang++"):
        if not cand:
            continue
        argv = shlex.split(cand)
        if argv and shutil.which(argv[0]):
            return cand
    return None


_versions: dict[str, str] = {}


def _compiler_version(cxx: str) -> str:
    if cxx not in _versions:
        try:
            r = subprocess.run([*shlex.split(cxx), "--version"], capture_output=True, text=True, timeout=60)
            _versions[cxx] = (r.stdout or r.stderr).strip()
        except (OSError, subprocess.SubprocessError) as e:
            raise InterpretUnavailable(f"host C++ compiler {cxx!r} does not run: {e}") from e
    return _versions[cxx]


# ---------------------------------------------------------------------------------------------
# Parameter types
# ---------------------------------------------------------------------------------------------
_SCALARS = {}
for _names, _dt in [
    (("bool",), np.bool_),
    (("signed char", "char", "gx_i8", "int8_t"), np.int8),
    (("unsigned char", "gx_u8", "uint8_t"), np.uint8),
    (("short", "short int", "signed short", "gx_i16", "int16_t"), np.int16),
    (("unsigned short", "unsigned short int", "gx_u16", "uint16_t", "gx_f16", "gx_bf16"), np.uint16),
    (("int", "signed", "signed int", "gx_i32", "int32_t"), np.int32),
    (("unsigned", "unsigned int", "gx_u32", "uint32_t"), np.uint32),
    (("long long", "long long int", "signed long long", "long", "long int", "gx_i64", "int64_t",
      "ptrdiff_t", "ssize_t"), np.int64),
    (("unsigned long long", "unsigned long long int", "unsigned long", "unsigned long int", "size_t",
      "gx_u64", "uint64_t"), np.uint64),
    (("float",), np.float32),
    (("double",), np.float64),
]:
    for _n in _names:
        _SCALARS[_n] = np.dtype(_dt)
_HALF = {"gx_f16": "float16", "gx_bf16": "bfloat16"}


class _Param:
    """What a C parameter type string means for the argument passed to it."""

    def __init__(self, ctype: str):
        self.ctype = ctype
        s = re.sub(r"\b(__restrict__|__restrict|restrict|volatile)\b", " ", ctype)
        s = " ".join(s.replace("*", " * ").split())
        if s.endswith(" const"):  # `float* const`: constant pointer
            s = s[: -len(" const")]
        self.pointer = s.endswith("*")
        if self.pointer:
            pointee = s[:-1].strip()
            words = pointee.split()
            self.readonly = "const" in words
            self.base = " ".join(w for w in words if w != "const")
        else:
            self.readonly = False
            self.base = " ".join(w for w in s.split() if w != "const")
        self.dtype = _SCALARS.get(self.base)

    def check_array(self, i, a: np.ndarray):
        if not a.flags.c_contiguous:
            raise ValueError(f"argument {i} ({self.ctype}): array must be C-contiguous")
        if not self.readonly and not a.flags.writeable:
            raise ValueError(f"argument {i} ({self.ctype}): read-only array for a non-const pointer")
        want = self.dtype
        if want is None or self.base.endswith("*"):
            return  # void*, structs, vector types: the kernel knows
        got = a.dtype
        if want.kind == "f" or want.kind == "b":
            ok = got == want
        else:  # integers: reinterpreting signedness is common; half storage is 2-byte anything
            ok = got.itemsize == want.itemsize and (got.kind in "iub" or want.itemsize == 2)
        if not ok:
            raise TypeError(f"argument {i} ({self.ctype}): array of {got} for a pointer to {self.base}")

    def scalar(self, i, v):
        """A ctypes object holding v as this parameter's type."""
        if isinstance(v, ctypes._SimpleCData) or isinstance(v, (ctypes.Structure, ctypes.Union, ctypes.Array)):
            return v
        want = self.dtype
        if want is None:
            raise TypeError(f"argument {i}: parameter type {self.ctype!r} is not a known scalar; "
                            "pass a ctypes object of that type")
        if isinstance(v, np.ndarray) and v.ndim == 0:
            v = v[()]
        if isinstance(v, np.generic):
            half = _HALF.get(self.base)
            if half and v.dtype.name == half:
                return ctypes.c_uint16(int(v.view(np.uint16)))
            if v.dtype != want:
                raise TypeError(f"argument {i} ({self.ctype}): got a {v.dtype} scalar; pass np.{want.name}")
            arr = np.array(v, dtype=want)
        elif isinstance(v, (bool, np.bool_)) or (isinstance(v, int) and want.kind in "iub"):
            if want.kind in "iu":
                info = np.iinfo(want)
                if not info.min <= int(v) <= info.max:
                    raise OverflowError(f"argument {i} ({self.ctype}): {v} out of range")
            arr = np.array(v, dtype=want)
        elif isinstance(v, (int, float)) and want.kind == "f":
            arr = np.array(v, dtype=want)
        elif isinstance(v, float) and self.base in _HALF:
            arr = np.array(v, dtype=_half_dtype(self.base)).view(np.uint16)
        else:
            raise TypeError(f"argument {i} ({self.ctype}): cannot pass {type(v).__name__} {v!r}")
        return (ctypes.c_ubyte * want.itemsize).from_buffer_copy(arr.tobytes())


def _half_dtype(base):
    if base == "gx_f16":
        return np.float16
    import ml_dtypes  # noqa: PLC0415 - only for a Python float passed as bfloat16

    return ml_dtypes.bfloat16


def _launcher(name: str, params: list[str]) -> str:
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise ValueError(f"kernel name {name!r} is not a C identifier")
    lines = [f'extern "C" __attribute__((visibility("default"))) int gx_launch_{name}(',
             "    unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,",
             "    unsigned smem, void** args) {"]
    for i, t in enumerate(params):
        lines.append(f"  typedef {t} gx_t{i};")
        lines.append(f"  gx_t{i} a{i} = *(gx_t{i}*)args[{i}];")
    call = ", ".join(f"a{i}" for i in range(len(params)))
    lines.append(f"  auto body = [&]() {{ {name}({call}); }};")
    lines.append("  return gx_rt::launch(dim3(gx, gy, gz), dim3(bx, by, bz), smem, body);")
    lines.append("}")
    return "\n".join(lines)


def _dims(v, what) -> tuple[int, int, int]:
    t = (v,) if isinstance(v, (int, np.integer)) else tuple(v)
    if not 1 <= len(t) <= 3:
        raise ValueError(f"{what} must be an int or a 1-3 tuple, got {v!r}")
    t = tuple(int(x) for x in t) + (1,) * (3 - len(t))
    if min(t) < 1:
        raise ValueError(f"{what}={t}: every dimension must be >= 1 (CUDA rejects an empty launch; "
                         "skip the launch when there is no work)")
    return t


# ---------------------------------------------------------------------------------------------
# Modules and kernels
# ---------------------------------------------------------------------------------------------
class Kernel:
    """One kernel of a Module; call it like CuPy's RawKernel: kernel(grid, block, args, shared_mem=0)."""

    def __init__(self, module, name, params, fn):
        self.module, self.name, self.fn = module, name, fn
        self.params = [_Param(p) for p in params]

    def __call__(self, grid, block, args, shared_mem=0):
        g, b = _dims(grid, "grid"), _dims(block, "block")
        if b[0] * b[1] * b[2] > 1024 or b[2] > 64:
            raise ValueError(f"block={b}: at most 1024 threads per block (and blockDim.z <= 64)")
        if len(args) != len(self.params):
            raise TypeError(f"kernel {self.name} takes {len(self.params)} arguments "
                            f"({', '.join(p.ctype for p in self.params)}), got {len(args)}")
        keep = []
        ptrs = (ctypes.c_void_p * max(1, len(args)))()
        for i, (p, a) in enumerate(zip(self.params, args)):
            if p.pointer:
                if isinstance(a, np.ndarray):
                    p.check_array(i, a)
                    addr = a.ctypes.data
                elif a is None:
                    addr = 0
                elif isinstance(a, (int, np.integer)) and not isinstance(a, bool):
                    addr = int(a)  # a raw host address
                else:
                    raise TypeError(f"argument {i} ({p.ctype}): expected a NumPy array, got {type(a).__name__}")
                box = ctypes.c_void_p(addr)
            else:
                box = p.scalar(i, a)
            keep.append(box)
            ptrs[i] = ctypes.cast(ctypes.pointer(box), ctypes.c_void_p)
        rc = self.fn(*g, *b, int(shared_mem), ptrs)
        if rc != 0:
            msg = self.module._lib.gx_interpret_last_error().decode(errors="replace")
            raise KernelLaunchError(f"kernel {self.name} grid={g} block={b}: {msg}")


def _load_library(image: bytes, key: str) -> ctypes.CDLL:
    """dlopen the bytes that were verified, never a path another process could swap: they are
    copied into this process's private folder (0700), loaded, and the file is unlinked at once
    (the mapping stays). Each load gets a new file name, so the loader never mistakes it for an
    earlier module."""
    global _private
    if _private is None:
        _private = tempfile.mkdtemp(prefix="gpuxla-so-")
        atexit.register(shutil.rmtree, _private, ignore_errors=True)
    fd, path = tempfile.mkstemp(dir=_private, prefix=f"{key[:16]}-", suffix=".so")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(image)
        lib = ctypes.CDLL(path)
        unload_when_unused(lib)
        return lib
    finally:
        os.unlink(path)


_private = None


class Module:
    """A compiled kernel module on the interpret platform, loaded from its shared object's bytes."""

    def __init__(self, image: bytes, kernels, key: str):
        self.key = key
        self._lib = _load_library(image, key)
        self._lib.gx_interpret_last_error.restype = ctypes.c_char_p
        self.kernels: dict[str, Kernel] = {}
        for name, params in kernels:
            fn = getattr(self._lib, f"gx_launch_{name}")
            fn.restype = ctypes.c_int
            fn.argtypes = [ctypes.c_uint] * 7 + [ctypes.c_void_p]
            self.kernels[name] = Kernel(self, name, list(params), fn)

    def get_function(self, name: str) -> Kernel:
        try:
            return self.kernels[name]
        except KeyError:
            raise KeyError(f"no kernel {name!r} in this module (has {sorted(self.kernels)})") from None

    def launch(self, name: str, grid, block, args, shared_mem: int = 0) -> None:
        """Run kernel `name` over `grid` x `block` (ints or 3-tuples); returns when it is done."""
        self.get_function(name)(grid, block, args, shared_mem=shared_mem)


compile_stats = {"compiled": 0, "memory_hits": 0, "disk_hits": 0, "disk_rebuilt": 0,
                 "compile_seconds": 0.0, "modules": {}}
# The modules kept loaded for reuse; one that drops out is unloaded once no executable holds it.
MODULES_KEPT = 1024
_memory = Recent(MODULES_KEPT)
_lock = threading.RLock()
_disk = DiskCache("interpret", ".so", b"GXHOSTSO")


def clear_memory_cache() -> None:
    with _lock:
        _memory.clear()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compile_module(source: str, kernels, options=()) -> Module:
    """Compile `source` (CUDA C) for the interpret platform.

    kernels: [(name, [param C type, ...]), ...] for each `extern "C" __global__` kernel to launch.
    options: extra host-compiler flags (e.g. "-DGX_FIBER_STACK_SIZE=262144", "-DGX_INTERPRET_UCONTEXT").
    """
    cxx = host_compiler()
    if cxx is None:
        raise InterpretUnavailable(
            "the cuda-interpret platform needs a host C++ compiler, and none was found "
            "($CXX unset or not on PATH, no g++, no clang++); install g++ (Debian: build-essential)")
    kernels = [(str(n), [str(p) for p in ps]) for n, ps in kernels]
    options = [str(o) for o in options]
    kdir = kernels_dir()
    full = source.rstrip() + "\n\n// ---- gpuxla interpret launchers ----\n" + "\n".join(
        _launcher(n, ps) for n, ps in kernels) + "\n"
    h = hashlib.sha256(b"gpuxla-interpret-1\0")
    for part in (full, repr(kernels), "\0".join(BASE_FLAGS + options), cxx, _compiler_version(cxx),
                 os.uname().machine, headers_digest()):
        h.update(part.encode() + b"\0\1")
    key = h.hexdigest()
    label = kernels[0][0] if kernels else "<no kernels>"
    t0 = time.perf_counter()
    with _lock:
        mod, status = cached_module(_memory, _disk, key, lambda payload: Module(payload, kernels, key), compile_stats)
        if mod is not None:
            return mod
        if status == "bad":
            compile_stats["disk_rebuilt"] += 1
        tmp = Path(tempfile.mkdtemp(prefix="gx_build_"))
        try:
            src = tmp / "gx_module.cc"
            src.write_text(full)
            out = tmp / "gx_module.so"
            cmd = [*shlex.split(cxx), *BASE_FLAGS, "-include", str(kdir / "gx_interpret.h"), f"-I{kdir}",
                   *options, str(src), "-o", str(out), "-lm"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise InterpretCompileError(
                    f"{cxx} failed to compile the kernel module ({label}) for the interpret platform:\n"
                    f"$ {' '.join(shlex.quote(c) for c in cmd)}\n{(r.stderr + r.stdout).strip()}\n\n"
                    f"---- source ----\n{numbered_source(full)}")
            payload = out.read_bytes()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        mod = Module(payload, kernels, key)
        _disk.put(key, payload)   # a read-only or full disk: it warns, we go on from memory
        _memory[key] = mod
        dt = time.perf_counter() - t0
        compile_stats["compiled"] += 1
        compile_stats["compile_seconds"] += dt
        compile_stats["modules"][key[:12]] = {"kernels": [n for n, _ in kernels], "seconds": dt}
        return mod


# ---------------------------------------------------------------------------------------------
# The runtime plan.Executable runs on
# ---------------------------------------------------------------------------------------------
class InterpretRuntime:
    def __init__(self, modules=None, options=()):
        self.modules = modules if modules is not None else {}   # kernel name -> Module
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
        from ...compiler.render import module_source
        todo = list({k.name: k for k in kernels if k.name not in self.modules}.values())
        if not todo:
            return
        n = max(1, min(jobs, len(todo) // 64))
        chunks = [todo[i::n] for i in range(n)]
        args = [(module_source(c), [(k.name, k.signature) for k in c], self.options) for c in chunks]
        if n > 1 and _disk.folder() is not None and host_compiler() is not None:
            # The compile lock is per process: build the modules in worker processes, which leave
            # them in the disk cache, then load them here.
            import multiprocessing
            with multiprocessing.get_context("fork").Pool(n) as pool:
                pool.starmap(_compile_quietly, args)
        for (src, sigs, opts), c in zip(args, chunks):
            mod = compile_module(src, sigs, options=opts)
            self.modules.update((k.name, mod) for k in c)

    def launch(self, k, args):
        grid, block = k.launch
        self.modules[k.name].launch(k.name, grid, block, args, shared_mem=k.shared_mem)

    def library(self, eqn, args):
        from ..host_loops import host_rules
        from ..numpy.reference import impl_rules
        with np.errstate(all="ignore"):
            out = (host_rules.get(eqn.prim) or impl_rules[eqn.prim])(*args, **eqn.params)
        if isinstance(out, tuple):
            return out
        return np.asarray(out, dtype=eqn.aval.dtype, order="C")


def _compile_quietly(source, sigs, options):
    try:
        compile_module(source, sigs, options=options)
    except Exception:  # noqa: BLE001 - the parent compiles again and reports the error
        pass
