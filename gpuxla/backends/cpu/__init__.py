"""The native `cpu` platform: the fused kernels compiled for the host, library calls on NumPy.

Fusion, the kernel IR and the schedule are the cuda platforms' (compiler/, cuda/plan.py); the
kernels are printed by the CPU dialect of the renderer (plain C++ loops, vectorised, threaded,
deterministic) and compiled as one host module per program (runtime.py). It is the default
platform of a machine without a GPU when a host C++ compiler works (`available`).

Without a working host C++ compiler the platform falls back to the NumPy backend, program by
program, with one warning: NumPy buffers are this platform's buffers too, so results of either
mix freely. A module the compiler rejects while it builds a trivial one is a gpuxla bug, and is
raised by a synchronous compile (a background build warns instead, and its program stays on NumPy).

When compiling happens (tiered). A host compile costs ~0.3-1 s per module cold, milliseconds
from the disk cache, while most programs -- a test's one-off jit, an eager expression in a REPL --
run once or twice on small arrays. So no call waits for the compiler: a jitted program, an eager
graph structure and a control-flow body each run on the NumPy backend (`Tiered`) until they are
hot -- HOT_SECONDS (0.1 s) of NumPy time spent in them -- then their module is built on one
background thread, and the first call after it is ready runs the native kernels. A
program whose module was built before (in this process, or in an earlier one: a marker beside
the disk cache) is native from its first call. `jit(f).lower(...).compile()` (ahead of time) and
`GPUXLA_CPU_TIERED=0` compile at once. The price of tiering: early and late calls of a function
may differ in the last bits (NumPy's and the kernels' exp, sums in another order), within the op
table's tolerances; `random` is bit-exact on both tiers.
"""
import hashlib
import os
import queue
import shlex
import shutil
import threading
import time
import warnings

import numpy as np

from ... import config
from ...compiler.render import render_cpu
from .. import Device
from ..cache import DiskCache
from ..cuda.plan import Executable, Plan
from . import runtime as _rt
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
        """The native executable, built now (or loaded from a cache); NumPy's if the compiler cannot run."""
        if self.fallback is None:
            try:
                return self.compile_native(program)
            except (CpuUnavailable, CpuCompileError) as e:
                if isinstance(e, CpuCompileError) and compiler_works():
                    raise
                self._fall_back(e)
        from ..numpy import NumpyBackend
        return NumpyBackend().compile(program)

    def compile_native(self, program, build=True):
        """The native executable; `build=False`: from the kernel caches only, else CpuNotCached."""
        exe = Executable(program, CpuRuntime(build=build))
        _remember(program)
        return exe

    def _fall_back(self, error):
        if self.fallback is None:
            self.fallback = error
            warnings.warn(f"gpuxla: the cpu platform cannot compile kernels here, so programs run on the "
                          f"NumPy backend ({_first_line(error)})", RuntimeWarning, stacklevel=3)

    def compile_tiered(self, program):
        """An executable that never waits for the compiler: NumPy until the program is hot (see
        above). What jit calls, control-flow bodies and eager graphs run on."""
        if not config.CPU_TIERED.get():
            return self.compile(program)
        return Tiered(self, program)


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


# ---------------------------------------------------------------------------------------------
# Whether the platform can run here: asked once per process when it is the default candidate
# ---------------------------------------------------------------------------------------------
_probes = DiskCache("cpu", ".probe", b"GXCPUOK1")
_available: dict = {}


def available():
    """Whether the cpu platform can build kernels here: a host C++ compiler that builds a trivial
    shared object. The probe (~0.15 s) runs once per process, and not at all when an earlier
    process saw this very compiler binary (path, size, mtime) work: a marker in the disk cache."""
    cxx = _rt.host_compiler()
    if cxx is None:
        return False
    ok = _available.get(cxx)
    if ok is None:
        key = _probe_key(cxx)
        ok = key is not None and _probes.get(key)[0] == "hit"
        if not ok:
            ok = compiler_works()
            if ok and key is not None:
                _probes.put(key, b"")
        _available[cxx] = ok
    return ok


def _probe_key(cxx):
    """The compiler binary's identity, or None if it cannot be told."""
    argv = shlex.split(cxx)
    path = shutil.which(argv[0]) if argv else None
    if path is None:
        return None
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    text = "\0".join([cxx, path, real, str(st.st_size), str(st.st_mtime_ns), str(st.st_ino)])
    return hashlib.sha256(b"gpuxla-cpu-probe-1\0" + text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Tiered execution
# ---------------------------------------------------------------------------------------------
# A program is hot -- its module worth building -- once it has spent HOT_SECONDS running on NumPy.
# Building costs ~0.3-1 s of CPU cold (g++ in a subprocess beside the calling thread; the worker
# thread plans the kernels, ~15 ms for the MLP step) and saves a part of every later call (tanh on
# 100 elements: 66 -> 28 us a call), so a threshold of the order of one build bounds what a wrong
# guess costs: a build never used, or NumPy time a build would have saved. Measured over the test
# suite on cpu (17,011 programs, 44 s of NumPy time in all): 0.1 s builds 92 modules (170 on a
# host at load 10: NumPy time grows with load), where "called twice" built 9,221 and 0.3 s builds
# 19. Bench-sized calls (3-15 ms) switch after 7-35 calls, a 0.4 s `random.normal(1e6)` at once.
HOT_SECONDS = 0.1
_clock = time.perf_counter

# Programs whose module was built (in memory; on disk as a marker entry beside the modules):
# their next executables skip the NumPy tier.
_built = set()
_markers = DiskCache("cpu", ".prog", b"GXCPUPG1")
tier_stats = {"tiered": 0, "known": 0, "builds": 0, "promoted": 0, "failed": 0}


def _digest(program):
    """What the program's kernels depend on, as a key: its text and the scalar constants baked
    into the kernels. (A marker is only a hint: the module key itself comes from the source.)"""
    try:
        h = hashlib.sha256(b"gpuxla-cpu-program-1\0" + program.text().encode())
        for s, b, a in program.consts:
            if a.size == 1:
                h.update(b"%d:%s;" % (s, np.asarray(b).tobytes()))
        return h.hexdigest()
    except Exception:  # noqa: BLE001 - a program without a stable text is never "known"
        return None


def _remember(program):
    d = _digest(program)
    if d is not None and d not in _built:
        _built.add(d)
        _markers.put(d, b"")


_on_disk = None      # the markers on disk when this process first looked (one listing, then a set)


def _known(program):
    global _on_disk
    d = _digest(program)
    if d is None:
        return False
    if _on_disk is None:
        folder = _markers.folder()
        try:
            _on_disk = {e.name[:-len(".prog")] for e in os.scandir(folder) if e.name.endswith(".prog")} \
                if folder is not None else set()
        except OSError:
            _on_disk = set()
    # (a marker only sends the program to the kernel caches, which check their entries themselves)
    return d in _built or d in _on_disk


def _first_line(error):
    return (str(error).splitlines() or [""])[0]


class _Job:
    """A module build on the background thread; `done` is set when `result` holds the executable,
    or `error` (exception, whether the compiler itself is unusable) tells why there is none."""

    def __init__(self, fn):
        self.fn, self.result, self.error, self.done = fn, None, None, threading.Event()


_jobs = queue.Queue()
_worker = None
_worker_lock = threading.Lock()


def _work():
    while True:
        job = _jobs.get()
        try:
            job.result = job.fn()
        except Exception as e:  # noqa: BLE001 - reported by the call that finds the job done
            broken = isinstance(e, CpuUnavailable) or (isinstance(e, CpuCompileError) and not compiler_works())
            job.error = (e, broken)
        finally:
            job.done.set()


def _after_fork():      # (a child process has no worker thread: it starts its own)
    global _jobs, _worker, _worker_lock
    _jobs, _worker, _worker_lock = queue.Queue(), None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _submit(fn):
    """Queue a build for the one background thread (a daemon: exiting never waits for builds)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = threading.Thread(target=_work, name="gpuxla-cpu-compile", daemon=True)
            _worker.start()
    job = _Job(fn)
    _jobs.put(job)
    return job


def wait_for_builds(timeout=None):
    """Wait until the builds queued so far are done (tests, benchmarks); False on timeout."""
    return _submit(lambda: None).done.wait(timeout)


class Tiered:
    """A program's executable on the cpu platform: the NumPy backend's until the native one is
    built (module docstring; HOT_SECONDS). Thread-safe: calls during the switch run either tier,
    whole, and one build is started."""

    def __init__(self, backend, program):
        from ..numpy import NumpyBackend
        self.backend, self.program = backend, program
        self.numpy = NumpyBackend().compile(program)
        self.native, self.job, self.calls, self.seconds = None, None, 0, 0.0
        self._lock = threading.Lock()
        self._donating = {}
        self._on_promote = []       # callbacks run once the native tier is in place (`watch`)
        tier_stats["tiered"] += 1
        if backend.fallback is None and _known(program):
            try:        # planning and loading, milliseconds; never a compiler run on this thread
                self.native = backend.compile_native(program, build=False)
                tier_stats["known"] += 1
            except Exception:  # noqa: BLE001 - a stale marker (an evicted module, another compiler): tiered
                pass

    def __call__(self, bufs, _donated=()):
        native = self.native
        if native is None:
            job = self.job
            if job is None or not job.done.is_set():
                t0 = _clock()
                outs = self.numpy(bufs)
                self.seconds += _clock() - t0
                self.calls += 1
                if job is None and self.seconds >= HOT_SECONDS:
                    self._start()
                return outs
            native = self._promote()
        if _donated and native is not self.numpy:
            native = self._donating_native(native, _donated)
        return native(bufs)

    def fast_target(self):
        """What jit's fast path calls (plan.Executable.fast_target): the native executable's own
        once it is promoted, else this wrapper; `watch` says when that changes."""
        native = self.native
        if native is None or native is self.numpy:
            return self
        return native.fast_target()

    def watch(self, callback):
        """Call `callback()` once when the native tier replaces NumPy (never after a failed
        build); at once if it already has."""
        with self._lock:
            if self.native is None:
                self._on_promote.append(callback)
                return
        if self.native is not self.numpy:
            callback()

    def donating(self, positions):
        """jit's donate_argnums: the native tier's donating variant once it runs (NumPy only
        deletes the donated arrays)."""
        return lambda bufs: self(bufs, positions)

    def _donating_native(self, native, positions):
        fn = self._donating.get(positions)
        if fn is None:
            fn = self._donating[positions] = native.donating(positions)
        return fn

    def _start(self):
        with self._lock:
            if self.job is None and self.backend.fallback is None:
                self.job = _submit(self._build)
                tier_stats["builds"] += 1

    def _build(self):
        return self.backend.compile_native(self.program)

    def _promote(self):
        with self._lock:
            if self.native is None:
                job = self.job
                if job.result is not None:
                    self.native = job.result
                    tier_stats["promoted"] += 1
                    for callback in self._on_promote:
                        callback()
                else:
                    self.native = self.numpy
                    tier_stats["failed"] += 1
                    error, broken = job.error
                    if broken:
                        self.backend._fall_back(error)
                    else:
                        warnings.warn(f"gpuxla: building the cpu kernels of a program failed, so it runs on the "
                                      f"NumPy backend: {type(error).__name__}: {_first_line(error)}",
                                      RuntimeWarning, stacklevel=4)
            self._on_promote = []
            return self.native
