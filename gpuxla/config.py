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

import contextlib
import os
import sys
import threading
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

    def set_default(self, value):
        """Set the variable for this process (and its children) unless the user has set it."""
        os.environ.setdefault(self.name, str(value))

    def __repr__(self):
        return f"{self.name}={self.get()!r}"


FLAGS: dict[str, EnvFlag] = {}

PLATFORM = EnvFlag("GPUXLA_PLATFORM", None, str.strip,
                   "cuda | cpu | cuda-interpret | numpy; unset: cuda when CuPy sees a GPU, else cpu when a host "
                   "C++ compiler works, else numpy")
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
# What launchers set, read by gpuxla.distributed.initialize to find the job (JAX's cluster detection).
CLUSTER_ENV = {name: EnvFlag(name, None, str.strip, doc) for name, doc in (
    ("SLURM_JOB_ID", "SLURM: the job; the coordinator's port derives from it"),
    ("SLURM_STEP_NODELIST", "SLURM: the step's nodes; the first is the coordinator"),
    ("SLURM_NTASKS", "SLURM: the number of processes"),
    ("SLURM_PROCID", "SLURM: this process's index"),
    ("SLURM_LOCALID", "SLURM: this process's index on its node"),
    ("OMPI_COMM_WORLD_SIZE", "Open MPI: the number of processes"),
    ("OMPI_COMM_WORLD_RANK", "Open MPI: this process's index"),
    ("OMPI_COMM_WORLD_LOCAL_RANK", "Open MPI: this process's index on its node"),
    ("OMPI_MCA_orte_hnp_uri", "Open MPI (4.x): the launcher's address; the coordinator's host and port derive from it"),
    ("PMI_SIZE", "MPICH / PMI (mpiexec.hydra): the number of processes"),
    ("PMI_RANK", "MPICH / PMI: this process's index"),
    ("MPI_LOCALRANKID", "MPICH / PMI: this process's index on its node"))}
JAX_PLATFORMS = EnvFlag("JAX_PLATFORMS", None, str.strip,
                        "JAX's platform list (cpu, cuda, gpu; comma-separated, first usable wins); "
                        "GPUXLA_PLATFORM overrides it")
JAX_PLATFORM_NAME = EnvFlag("JAX_PLATFORM_NAME", None, str.strip, "JAX's older single-platform name")
JAX_COMPILATION_CACHE_DIR = EnvFlag("JAX_COMPILATION_CACHE_DIR", None, str.strip,
                                    "JAX's name for the kernel cache root (GPUXLA_CACHE_DIR overrides it)")
JAX_LOG_COMPILES = EnvFlag("JAX_LOG_COMPILES", False, _bool, "start with jax_log_compiles on")
JAX_DEBUG_NANS = EnvFlag("JAX_DEBUG_NANS", False, _bool, "start with jax_debug_nans on")
JAX_NUMPY_RANK_PROMOTION = EnvFlag("JAX_NUMPY_RANK_PROMOTION", "allow", str.strip,
                                   "start with this jax_numpy_rank_promotion (allow | warn | raise)")
ARENA = EnvFlag("GPUXLA_ARENA", True, _bool,
                "0: every intermediate of an executable is its own allocation, instead of a place in the "
                "executable's arena (planned from liveness); for comparison")
CUDA_GRAPHS = EnvFlag("GPUXLA_CUDA_GRAPHS", True, _bool,
                      "0: the cuda platform launches every step of an executable from the host on every call, "
                      "instead of replaying them as one CUDA graph (captured after the first call)")
CXX = EnvFlag("CXX", None, str.strip,
              "the host C++ compiler of the cpu and cuda-interpret platforms; default g++, clang++")
CPU_THREADS = EnvFlag("GPUXLA_CPU_THREADS", 0, int,
                      "threads of the cpu platform's kernels; 0: OpenMP's default (OMP_NUM_THREADS, else "
                      "one per core). Results are the same bits for every count")
OMP_WAIT_POLICY = EnvFlag("OMP_WAIT_POLICY", None, str.strip,
                          "OpenMP's idle threads: gpuxla sets PASSIVE (sleep) before the cpu platform loads its first "
                          "module, unless set: spinning workers took the cores from BLAS and the caller (an MLP step "
                          "8x slower on 2 cores)")
CPU_POOL = EnvFlag("GPUXLA_CPU_POOL", True, _bool,
                   "0: the cpu platform's kernels run their chunks on OpenMP's threads instead of gpuxla's "
                   "worker pool (kernels/gx_pool.h: the caller starts at once, idle workers spin a while "
                   "yielding their core, then sleep); for comparison")
CPU_GEMM_UPDATE = EnvFlag("GPUXLA_CPU_GEMM_UPDATE", True, _bool,
                          "0: the cpu platform never folds an update `x + c * dot` into the product's BLAS call "
                          "(alpha = c, beta = 1); the product and a kernel run instead (for comparison)")
CPU_TIERED = EnvFlag("GPUXLA_CPU_TIERED", True, _bool,
                     "0: the cpu platform compiles every jit program and eager graph before running it, "
                     "instead of running it on NumPy until it is hot (benchmarks of the native tier)")


# ---------------------------------------------------------------------------------------------
# jax_* options: `jax.config`

# JAX's names. On the cuda platform 'tensorfloat32'/'high' (and 'bfloat16'/'fastest', run as TF32)
# make float32 matmuls use TF32 tensor cores; the others, and None, keep full float32. The CPU
# platforms always compute in full precision, as XLA:CPU does.
MATMUL_PRECISIONS = {"default", "high", "highest", "bfloat16", "tensorfloat32", "float32", "fastest"}

# How jax.numpy treats operands of different ranks: broadcast them, warn, or raise ValueError.
RANK_PROMOTION = ("allow", "warn", "raise")

_values = {
    "jax_enable_x64": ENABLE_X64.get() or JAX_ENABLE_X64.get(),
    "jax_threefry_partitionable": True,
    "jax_default_matmul_precision": None,
    "jax_numpy_rank_promotion": JAX_NUMPY_RANK_PROMOTION.get(),
    "jax_debug_nans": JAX_DEBUG_NANS.get(),
    "jax_debug_infs": False,
    "jax_disable_jit": False,
    # Read when the first array picks its platform (backends.default_platform); None: the
    # environment's JAX_PLATFORMS / JAX_PLATFORM_NAME.
    "jax_platform_name": None,
    "jax_platforms": None,
    # The root of the on-disk kernel caches (backends/cache.py); None: GPUXLA_CACHE_DIR, then
    # JAX_COMPILATION_CACHE_DIR, then ~/.cache/gpuxla.
    "jax_compilation_cache_dir": None,
    # Log every compile (jit and eager) at WARNING on the "gpuxla" logger, as JAX does.
    "jax_log_compiles": JAX_LOG_COMPILES.get(),
}

if _values["jax_numpy_rank_promotion"] not in RANK_PROMOTION:
    raise ValueError(f"JAX_NUMPY_RANK_PROMOTION={_values['jax_numpy_rank_promotion']!r} is not one of {RANK_PROMOTION}")

# Checks other layers add for an option (name -> f(name, value) raising on a refused value):
# gpuxla.backends refuses a platform option that comes too late to take effect.
validators = {}

# The options a trace depends on: jit keys its cache on their values, so flipping one retraces.
_TRACED = ("jax_enable_x64", "jax_threefry_partitionable", "jax_default_matmul_precision",
           "jax_numpy_rank_promotion", "jax_debug_nans", "jax_debug_infs")


def _trace_flags():
    return tuple(_values[n] for n in _TRACED)


def _invalid_checks():
    """The values jax_debug_nans / jax_debug_infs look for, as NumPy predicates' names."""
    return tuple(k for k, on in (("nan", _values["jax_debug_nans"]), ("inf", _values["jax_debug_infs"])) if on)


# Read on every dtype canonicalisation, every node built and every jit call: plain globals,
# refreshed by update().
x64 = _values["jax_enable_x64"]
TRACE_FLAGS = _trace_flags()
CHECK_INVALID = _invalid_checks()


def update(name, value):
    """Set a `jax_*` option, as `jax.config.update`."""
    global x64, TRACE_FLAGS, CHECK_INVALID
    _check(name, value)
    _values[name] = value
    x64 = bool(_values["jax_enable_x64"])
    TRACE_FLAGS = _trace_flags()
    CHECK_INVALID = _invalid_checks()


def _check(name, value):
    if name not in _values:
        raise AttributeError(f"Unrecognized config option: {name}")
    if name in validators:
        validators[name](name, value)
    if name == "jax_numpy_rank_promotion" and value not in RANK_PROMOTION:
        raise ValueError(f"jax_numpy_rank_promotion: {value!r} is not one of {RANK_PROMOTION}")
    if name == "jax_default_matmul_precision" and value is not None \
            and str(value).lower() not in MATMUL_PRECISIONS:
        raise ValueError(f"jax_default_matmul_precision: {value!r} is not a matmul precision; choose one of "
                         f"{sorted(MATMUL_PRECISIONS)} or None")


def read(name):
    """An option's value in this thread: its `override`, else the process-wide value."""
    if name not in _values:
        raise AttributeError(f"Unrecognized config option: {name}")
    scoped = _local.overrides
    return scoped[name] if scoped and name in scoped else _values[name]


# JAX scopes these to the thread inside `with jax.default_matmul_precision(...)` (and
# `jax.numpy_rank_promotion(...)`): `override` sets them for one thread and one block, and every
# reader (read(), jit's cache key) sees this thread's value. Options read through the globals above
# (x64, CHECK_INVALID) stay process-wide, set by update() only.
THREAD_LOCAL = ("jax_default_matmul_precision", "jax_numpy_rank_promotion")


class _Local(threading.local):
    # (a class default: a thread that never overrode anything finds None here, where a missing
    # thread-local attribute would be an AttributeError raised and caught, ~0.3 us on every jit call)
    overrides = None


_local = _Local()


@contextlib.contextmanager
def override(name, value):
    """Set `name` to `value` in this thread for a `with` block; other threads keep theirs."""
    if name not in THREAD_LOCAL:
        raise ValueError(f"{name} cannot be set for one thread; use config.update({name!r}, value)")
    _check(name, value)
    scoped = _local.__dict__.setdefault("overrides", {})
    had, old = name in scoped, scoped.get(name)
    scoped[name] = value
    try:
        yield
    finally:
        if had:
            scoped[name] = old
        else:
            del scoped[name]


def trace_flags():
    """The values of the options a trace depends on, as this thread sees them (jit's cache key)."""
    scoped = _local.overrides
    return tuple(scoped.get(n, _values[n]) for n in _TRACED) if scoped else TRACE_FLAGS


def __getattr__(name):
    # JAX also exposes options without the jax_ prefix (config.enable_x64 / config.x64_enabled).
    if name in _values:
        return read(name)
    if "jax_" + name in _values:
        return read("jax_" + name)
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

# Simulated host devices (gpuxla/parallel/devices.py): the option wins over the variable when set.
NUM_CPU_DEVICES = EnvFlag("GPUXLA_NUM_CPU_DEVICES", 1, int,
                          "N simulated devices on the host platforms (XLA's forced host device count)")
_values["jax_num_cpu_devices"] = None
validators["jax_num_cpu_devices"] = lambda name, v: None if v is None or (type(v) is int and v > 0) else _bad(name, v)


def _bad(name, value):
    raise ValueError(f"{name} must be a positive integer (or None: GPUXLA_NUM_CPU_DEVICES), got {value!r}")


# Transfer guards (jax.transfer_guard and its per-direction forms): thread-local levels; None
# defers to jax_transfer_guard, whose None means "allow". gpuxla checks them where it moves data
# between host and device on a user's request (gpuxla._api.check_transfer lists where).
TRANSFER_GUARD_LEVELS = ("allow", "log", "disallow", "log_explicit", "disallow_explicit")
TRANSFER_GUARDS = ("jax_transfer_guard", "jax_transfer_guard_host_to_device", "jax_transfer_guard_device_to_host",
                   "jax_transfer_guard_device_to_device")
THREAD_LOCAL = THREAD_LOCAL + TRANSFER_GUARDS
for _name in TRANSFER_GUARDS:
    _values[_name] = None
    validators[_name] = lambda name, v: None if v is None or v in TRANSFER_GUARD_LEVELS else _bad_level(name, v)


def _bad_level(name, value):
    raise ValueError(f"{name}: new enum value must be None or in {list(TRANSFER_GUARD_LEVELS)}, got {value!r}")
