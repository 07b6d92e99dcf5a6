"""Every setting of gpuxla in one place: JAX's `jax_*` options and the `GPUXLA_*` environment
variables, each defined once with its meaning and its parser.

This module is also `jax.config`: `gpuxla.config.update("jax_enable_x64", True)`,
`gpuxla.config.jax_enable_x64`, `gpuxla.config.read(name)`.

>>> import gpuxla
>>> gpuxla.config.jax_default_matmul_precision is None
True
>>> DEBUG.get() in (0, 1, 2, 3, 4)
True

It imports nothing from gpuxla, so every layer (core included) may read it. Environment variables
are read when they are used, not at import, so a launcher or a test that sets one after
`import gpuxla` is obeyed; what a hot path needs it reads once per object it builds.
"""
from __future__ import annotations

import os
import sys
import types

# ---------------------------------------------------------------------------------------------
# GPUXLA_* environment variables


_TRUE = ("1", "true", "yes", "on")


def _bool(text):
    return text.strip().lower() in _TRUE


def _level(text):
    """A debug level: an integer, or a yes-like word for 1."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    return 1 if text in _TRUE else 0


class EnvFlag:
    """One environment variable: its name, default, parser and meaning."""

    def __init__(self, name, default, parse, doc):
        self.name, self.default, self.parse, self.doc = name, default, parse, doc
        FLAGS[name] = self

    def get(self):
        text = os.environ.get(self.name)
        return self.default if text is None or text == "" else self.parse(text)

    def __repr__(self):
        return f"{self.name}={self.get()!r}"


FLAGS: dict[str, EnvFlag] = {}

PLATFORM = EnvFlag("GPUXLA_PLATFORM", None, str.strip,
                   "cuda | cpu | cuda-interpret | numpy; unset: cuda when CuPy sees a GPU, else numpy "
                   "(see backends.CPU_BY_DEFAULT)")
DEBUG = EnvFlag("GPUXLA_DEBUG", 0, _level,
                "1: each traced and optimized graph, and every host fallback of the cuda platform; "
                "2: + the fusion plan; 3: + every kernel's CUDA C; 4: + NVRTC's log")
DUMP = EnvFlag("GPUXLA_DUMP", None, str.strip, "a folder: every stage of every jit trace is written there")
ENABLE_X64 = EnvFlag("GPUXLA_ENABLE_X64", False, _bool,
                     "start with jax_enable_x64 on (JAX_ENABLE_X64 does the same)")
JAX_ENABLE_X64 = EnvFlag("JAX_ENABLE_X64", False, _bool, "JAX's name for GPUXLA_ENABLE_X64")
MAX_PENDING_DEPTH = EnvFlag("GPUXLA_MAX_PENDING_DEPTH", 200, int,
                            "eager graphs deeper than this are realised, so loops don't grow one graph without end")
CACHE_DIR = EnvFlag("GPUXLA_CACHE_DIR", None, str.strip,
                    "root of the kernel caches; default $XDG_CACHE_HOME/gpuxla or ~/.cache/gpuxla")
DISK_CACHE = EnvFlag("GPUXLA_DISK_CACHE", True, _bool, "0: keep compiled kernels in memory only")
CACHE_MAX_BYTES = EnvFlag("GPUXLA_CACHE_MAX_BYTES", 1 << 30, int,
                          "size cap of each kernel cache folder; the least recently used entries go first")
KERNELS_DIR = EnvFlag("GPUXLA_KERNELS_DIR", None, str.strip,
                      "a folder of kernel headers to use instead of the installed gpuxla/kernels")
CUDA_ARCH = EnvFlag("GPUXLA_CUDA_ARCH", None, str.strip, "NVRTC's target (sm_90, ...); default: the device's")
CUDA_SYNC = EnvFlag("GPUXLA_CUDA_SYNC", False, _bool,
                    "1: wait after every launch, so a faulting kernel is the one named")
CXX = EnvFlag("CXX", None, str.strip,
              "the host C++ compiler of the cpu and cuda-interpret platforms; default g++, clang++")
CPU_THREADS = EnvFlag("GPUXLA_CPU_THREADS", 0, int,
                      "threads of the cpu platform's kernels; 0: OpenMP's default (OMP_NUM_THREADS, else "
                      "one per core). Results are the same bits for every count")


# ---------------------------------------------------------------------------------------------
# jax_* options: `jax.config`

# JAX's names. On the cuda platform 'tensorfloat32'/'high' (and 'bfloat16'/'fastest', run as TF32)
# make float32 matmuls use TF32 tensor cores; the others, and None, keep full float32. The CPU
# platforms always compute in full precision, as XLA:CPU does.
MATMUL_PRECISIONS = {"default", "high", "highest", "bfloat16", "tensorfloat32", "float32", "fastest"}

_values = {
    "jax_enable_x64": ENABLE_X64.get() or JAX_ENABLE_X64.get(),
    "jax_threefry_partitionable": True,
    "jax_default_matmul_precision": None,
    "jax_numpy_rank_promotion": "allow",
    "jax_debug_nans": False,
    "jax_disable_jit": False,
    "jax_platform_name": None,
    "jax_platforms": None,
}

# The options a trace depends on: jit keys its cache on their values, so flipping one retraces.
_TRACED = ("jax_enable_x64", "jax_threefry_partitionable", "jax_default_matmul_precision",
           "jax_numpy_rank_promotion", "jax_debug_nans")


def _trace_flags():
    return tuple(_values[n] for n in _TRACED)


# Read on every dtype canonicalisation and every jit call: plain globals, refreshed by update().
x64 = _values["jax_enable_x64"]
TRACE_FLAGS = _trace_flags()


def update(name, value):
    """Set a `jax_*` option, as `jax.config.update`."""
    global x64, TRACE_FLAGS
    if name not in _values:
        raise AttributeError(f"Unrecognized config option: {name}")
    if name == "jax_default_matmul_precision" and value is not None \
            and str(value).lower() not in MATMUL_PRECISIONS:
        raise ValueError(f"jax_default_matmul_precision: {value!r} is not a matmul precision; choose one of "
                         f"{sorted(MATMUL_PRECISIONS)} or None")
    _values[name] = value
    x64 = bool(_values["jax_enable_x64"])
    TRACE_FLAGS = _trace_flags()


def read(name):
    if name not in _values:
        raise AttributeError(f"Unrecognized config option: {name}")
    return _values[name]


def __getattr__(name):
    # JAX also exposes options without the jax_ prefix (config.enable_x64 / config.x64_enabled).
    if name in _values:
        return _values[name]
    if "jax_" + name in _values:
        return _values["jax_" + name]
    if name == "x64_enabled":
        return _values["jax_enable_x64"]
    raise AttributeError(f"Unrecognized config option: {name}")


class _ConfigModule(types.ModuleType):
    def __setattr__(self, name, value):
        # `config.jax_enable_x64 = True` would shadow the option and change nothing: refuse it.
        if name in _values or "jax_" + name in _values:
            raise AttributeError(f"use config.update({name!r}, value)")
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _ConfigModule
