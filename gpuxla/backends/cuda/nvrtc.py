"""CUDA C -> CUBIN through NVRTC (NVIDIA's `cuda-bindings`), with an in-memory and on-disk cache.

    >>> from gpuxla.backends.cuda import nvrtc
    >>> src = '#include "gx_common.cuh"\\n'
    >>> src += 'extern "C" __global__ void k(float* y) { y[threadIdx.x] = gx_exp(1.0f); }'
    >>> cubin = nvrtc.compile_cubin(src, arch="sm_90")    # doctest: +SKIP
    >>> cubin[:4]                                          # doctest: +SKIP
    b'\\x7fELF'

NVRTC needs no GPU or driver, so every machine with `cuda-bindings` + `nvidia-cuda-nvrtc` can
compile (and CI checks that every kernel compiles).

Headers: the files of the kernels folder (`gx_common.cuh`, ...) are handed to NVRTC through its
`headers`/`includeNames` arguments, so `#include "gx_common.cuh"` works without any `-I` path and
whatever the install layout.  The folder is found by `cache.kernels_dir()`: `$GPUXLA_KERNELS_DIR`, else
`gpuxla/kernels/` (package data: the same folder in a checkout and in an installed wheel).

Cache: memory, then `$GPUXLA_CACHE_DIR/nvrtc/` (default `~/.cache/gpuxla/nvrtc/`).  The key hashes
the source, the kernels-folder headers, the architecture, the options, the name expressions and the
NVRTC version (`version_key`: the installed wheel's, so that a hit never loads NVRTC).  Entries are
`backends.cache.DiskCache` files (published by one rename, checksum inside, owner-checked,
size-capped); one that fails a check is rebuilt, never trusted.
Set `GPUXLA_DISK_CACHE=0` to keep the cache in memory only.

The cache folder and the headers are backends/cache.py's, shared with the interpret platform; this
module imports `cuda.bindings` only when it compiles.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import struct
import sys
import threading
import time

from ... import config
from ..cache import DiskCache, headers_state, numbered_source

__all__ = [
    "CompileError", "compile_cubin", "nvrtc_version", "available", "default_arch", "compile_stats",
    "clear_memory_cache", "Cubin",
]

log = logging.getLogger("gpuxla.nvrtc")


class CompileError(RuntimeError):
    """NVRTC rejected a program; the message holds NVRTC's log and the numbered source."""


def _kernel_label(source: str) -> str:
    m = re.search(r"__global__\s+(?:__launch_bounds__\([^)]*\)\s*)?void\s+(\w+)", source)
    return m.group(1) if m else "<no __global__>"


# ---------------------------------------------------------------------------------------------
# NVRTC
# ---------------------------------------------------------------------------------------------
_nvrtc_mod = None
_lock = threading.RLock()


def _nvrtc():
    global _nvrtc_mod
    if _nvrtc_mod is None:
        from cuda.bindings import nvrtc as mod  # noqa: PLC0415 - optional dependency
        _nvrtc_mod = mod
    return _nvrtc_mod


def _check(result, what):
    err = result[0]
    if int(err) != 0:
        raise CompileError(f"{what} failed: {err!r}")
    return result[1:] if len(result) > 2 else (result[1] if len(result) == 2 else None)


_version = None


def nvrtc_version() -> tuple[int, int]:
    """(major, minor) of the loaded NVRTC library."""
    global _version
    if _version is None:
        err, major, minor = _nvrtc().nvrtcVersion()
        if int(err) != 0:
            raise CompileError(f"nvrtcVersion failed: {err!r}")
        _version = (int(major), int(minor))
    return _version


_available = None


def available() -> bool:
    """True when cuda-bindings imports and the NVRTC library loads."""
    global _available
    if _available is None:
        try:
            nvrtc_version()
            _available = True
        except Exception:  # ImportError, missing libnvrtc, ...
            _available = False
    return _available


def normalize_arch(arch) -> str:
    """90, "90", "sm_90", "compute_90" -> "sm_90" (a real architecture: NVRTC emits a CUBIN)."""
    s = str(arch).strip().lower()
    m = re.fullmatch(r"(?:sm_|compute_)?(\d+[a-z]?)", s)
    if not m:
        raise ValueError(f"bad CUDA architecture {arch!r}; expected e.g. 'sm_90' or 90")
    return "sm_" + m.group(1)


_default_arch = None


def default_arch() -> str:
    """The current GPU's architecture, else $GPUXLA_CUDA_ARCH, else sm_90."""
    global _default_arch
    env = config.CUDA_ARCH.get()
    if env:
        return normalize_arch(env)
    if _default_arch is None:
        arch = None
        try:
            import cupy  # noqa: PLC0415

            if cupy.cuda.runtime.getDeviceCount() > 0:
                arch = "sm_" + str(cupy.cuda.Device().compute_capability)
        except Exception:
            arch = None
        if arch is None:
            try:
                from cuda.bindings import driver  # noqa: PLC0415

                if int(driver.cuInit(0)[0]) == 0:
                    err, dev = driver.cuDeviceGet(0)
                    a = driver.CUdevice_attribute
                    e1, major = driver.cuDeviceGetAttribute(a.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev)
                    e2, minor = driver.cuDeviceGetAttribute(a.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev)
                    if int(err) == int(e1) == int(e2) == 0:
                        arch = f"sm_{major}{minor}"
            except Exception:
                arch = None
        _default_arch = arch or "sm_90"
    return _default_arch


class Cubin(bytes):
    """The CUBIN image; `.lowered_names` maps each name expression to its mangled name."""
    lowered_names: dict
    arch: str
    key: str
    log: str


# compile_stats["kernels"][label] = {"arch", "cold_s", "cached_s", "hits", "last"}; the totals
# count every compile_cubin call by where the CUBIN came from.
compile_stats = {"nvrtc": 0, "memory_hits": 0, "disk_hits": 0, "disk_rebuilt": 0,
                 "nvrtc_seconds": 0.0, "kernels": {}}
_memory: dict[str, Cubin] = {}

_disk = DiskCache("nvrtc", ".cubin", b"GXCUBIN1")


def clear_memory_cache() -> None:
    with _lock:
        _memory.clear()


_version_key = None


def version_key() -> str:
    """What the cache key says about NVRTC, without loading it (importing cuda.bindings and
    loading libnvrtc take 60-200 ms, which a warm cache hit must not pay): the installed NVRTC
    wheel's name and version, from its .dist-info folder on sys.path (the library cuda-bindings
    loads first); without such a wheel (a system CUDA), the loaded library's version."""
    global _version_key
    if _version_key is None:
        found = []
        for path in sys.path:
            try:
                with os.scandir(path or ".") as it:
                    found += [e.name for e in it
                              if e.name.startswith("nvidia_cuda_nvrtc") and e.name.endswith(".dist-info")]
            except OSError:
                continue
        _version_key = "wheel " + found[0][:-len(".dist-info")] if found else "%d.%d" % nvrtc_version()
    return _version_key


def _key(source, arch, options, name_expressions, header_digest) -> str:
    h = hashlib.sha256(b"gpuxla-nvrtc-1\0")
    for part in (source, arch, "\0".join(options), "\0".join(name_expressions),
                 version_key(), header_digest):
        h.update(part.encode())
        h.update(b"\0\1")
    return h.hexdigest()


def _encode(cubin: Cubin) -> bytes:
    meta = json.dumps({"key": cubin.key, "arch": cubin.arch, "lowered_names": cubin.lowered_names,
                       "nvrtc": list(nvrtc_version())}).encode()
    return struct.pack("<I", len(meta)) + meta + bytes(cubin)


def _decode(payload: bytes, key: str) -> Cubin | None:
    (mlen,) = struct.unpack_from("<I", payload)
    meta = json.loads(payload[4:4 + mlen])
    if meta.get("key") != key:
        return None
    out = Cubin(payload[4 + mlen:])
    out.key, out.arch, out.lowered_names, out.log = key, meta["arch"], meta["lowered_names"], ""
    return out


def _nvrtc_compile(source, arch, options, name_expressions, headers) -> tuple[bytes, dict, str]:
    """One NVRTC run: (cubin, lowered names, log).  Raises CompileError."""
    nv = _nvrtc()
    names = list(headers)
    err, prog = nv.nvrtcCreateProgram(source.encode(), b"gx_kernel.cu", len(names),
                                      [headers[n].encode() for n in names], [n.encode() for n in names])
    if int(err) != 0:
        raise CompileError(f"nvrtcCreateProgram failed: {err!r}")
    try:
        for ne in name_expressions:
            _check(nv.nvrtcAddNameExpression(prog, ne.encode()), "nvrtcAddNameExpression")
        opts = [f"--gpu-architecture={arch}", "-default-device", "--std=c++17", *options]
        (err,) = nv.nvrtcCompileProgram(prog, len(opts), [o.encode() for o in opts])
        _, size = nv.nvrtcGetProgramLogSize(prog)
        buf = b" " * size
        nv.nvrtcGetProgramLog(prog, buf)
        text = buf.rstrip(b"\0 ").decode(errors="replace").strip()
        if int(err) != 0:
            raise CompileError(
                f"NVRTC {'.'.join(map(str, nvrtc_version()))} failed to compile "
                f"{_kernel_label(source)} for {arch} with options {opts}:\n{text}\n\n"
                f"---- source ----\n{numbered_source(source)}")
        size = _check(nv.nvrtcGetCUBINSize(prog), "nvrtcGetCUBINSize")
        image = b" " * size
        _check(nv.nvrtcGetCUBIN(prog, image), "nvrtcGetCUBIN")
        lowered = {}
        for ne in name_expressions:
            low = _check(nv.nvrtcGetLoweredName(prog, ne.encode()), "nvrtcGetLoweredName")
            lowered[ne] = low.decode() if isinstance(low, bytes) else str(low)
        return image, lowered, text
    finally:
        nv.nvrtcDestroyProgram(prog)


_building: dict = {}        # key -> the lock its one NVRTC run holds


def _new_entry(arch):
    return {"arch": arch, "cold_s": None, "cached_s": None, "hits": 0, "last": None}


def _cached(key, label, stat_key, arch, t0, disk=True):
    """The CUBIN of `key` from memory (or disk; counted in compile_stats), or None."""
    with _lock:
        hit = _memory.get(key)
        where = "memory"
        if hit is None and disk:
            status, payload = _disk.get(key)
            try:
                hit = _decode(payload, key) if status == "hit" else None
            except (ValueError, KeyError, struct.error):
                hit = None
            if hit is not None:
                where = "disk"
                _memory[key] = hit
            elif status != "miss":  # corrupt, truncated or foreign: never trusted, rebuilt
                compile_stats["disk_rebuilt"] += 1
                log.warning("gpuxla: rebuilding an unusable NVRTC cache entry for %s", label)
        if hit is not None:
            entry = compile_stats["kernels"].setdefault(stat_key, _new_entry(arch))
            compile_stats["memory_hits" if where == "memory" else "disk_hits"] += 1
            entry.update(cached_s=time.perf_counter() - t0, hits=entry["hits"] + 1, last=where)
        return hit


def compile_cubin(source: str, name_expressions=(), arch: str | None = None, options=()) -> bytes:
    """Compile CUDA C `source` to a CUBIN for `arch` (default: the GPU's, else sm_90).

    Returns a `Cubin` (a bytes subclass; `.lowered_names` has the mangled name of each entry of
    `name_expressions`, for templated kernels).  Raises CompileError with NVRTC's log and the
    numbered source.
    """
    t0 = time.perf_counter()
    arch = normalize_arch(arch) if arch is not None else default_arch()
    options = tuple(str(o) for o in options)
    name_expressions = tuple(str(n) for n in name_expressions)
    headers, digest = headers_state()
    key = _key(source, arch, options, name_expressions, digest)
    label = _kernel_label(source)
    stat_key = f"{label}@{arch}"
    hit = _cached(key, label, stat_key, arch, t0)
    if hit is not None:
        return hit
    # NVRTC runs outside the global lock (a big program takes 0.2-0.7 s; threads compiling other
    # programs, and every cache hit, go on meanwhile); one run per key: a thread that wants the
    # program being built waits for it and takes it from the memory cache.
    with _lock:
        building = _building.setdefault(key, threading.Lock())
    with building:      # (built by the thread we waited for: in memory; the disk was read above)
        hit = _cached(key, label, stat_key, arch, t0, disk=False)
        if hit is not None:
            return hit
        try:
            image, lowered, text = _nvrtc_compile(source, arch, options, name_expressions, headers)
            out = Cubin(image)
            out.key, out.arch, out.lowered_names, out.log = key, arch, lowered, text
            with _lock:
                _memory[key] = out
                _disk.put(key, _encode(out))  # a read-only or full disk: it warns, we go on from memory
                dt = time.perf_counter() - t0
                entry = compile_stats["kernels"].setdefault(stat_key, _new_entry(arch))
                compile_stats["nvrtc"] += 1
                compile_stats["nvrtc_seconds"] += dt
                entry.update(cold_s=dt, last="nvrtc")
        finally:        # (after the CUBIN is in memory: a later thread finds it there)
            with _lock:
                _building.pop(key, None)
    if config.DEBUG.get() >= 4 and text:
        print(f"[gpuxla] NVRTC log for {label} ({arch}):\n{text}", file=sys.stderr)
    return out
