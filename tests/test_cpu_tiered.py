"""Tiered execution on the cpu platform (backends/cpu/__init__.py) and the cpu platform as default.

A jitted program, an eager graph structure and a control-flow body run on the NumPy backend until
they are hot, then their module is built on a background thread and the next call runs the
native kernels (counted here at CpuRuntime.launch and the launch lines of the frames' steps); results agree before and after within the op
table's tolerances; a failed build stays on NumPy with one warning; threads calling during the
switch get right results; GPUXLA_CPU_TIERED=0 and ahead-of-time `.compile()` build at once; a
program built before is native from its first call. The platform is `cpu` by default in a fresh
process without a GPU, and `numpy` when the host compiler is broken.
"""
import itertools
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla import backends, lax
from gpuxla.backends import cpu
from gpuxla.backends.cpu import runtime as cpu_rt

from codegen_util import _session_cache, needs_cxx  # noqa: F401

pytestmark = needs_cxx
ROOT = Path(__file__).resolve().parents[1]
X = np.linspace(-3, 3, 3000, dtype=np.float32).reshape(30, 100)


def _softmax_ish(v):
    e = jnp.exp(v - jnp.max(v, 1, keepdims=True))
    return e / jnp.sum(e, 1, keepdims=True) + jnp.tanh(v) * 0.5


def _want(v):
    e = np.exp(v - v.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True) + np.tanh(v) * 0.5


@pytest.fixture
def counts(monkeypatch):
    """The cpu platform, tiered, counting the native kernel launches and the threads that build
    modules."""
    monkeypatch.delenv("GPUXLA_CPU_TIERED", raising=False)
    monkeypatch.setattr(backends, "_eager_cache", {})
    monkeypatch.setattr(backends, "_backend", cpu.CpuBackend())
    counts = {"launches": 0, "built_on": []}
    launch, lines, native = cpu_rt.CpuRuntime.launch, cpu_rt.CpuRuntime.launch_lines, cpu.CpuBackend.compile_native

    def counting(self, k, args):
        counts["launches"] += 1
        return launch(self, k, args)

    def counting_lines(self, k, fixed, exprs, ns):      # (what a frame's kernel steps launch with)
        ns["gx_counted"] = counting_step
        return ["gx_counted()"] + lines(self, k, fixed, exprs, ns)

    def counting_step():
        counts["launches"] += 1

    def recording(self, program, build=True):
        counts["built_on"].append(threading.current_thread().name)
        return native(self, program, build)
    assert cpu.wait_for_builds(timeout=300)           # (no build of another test lands in this one)
    monkeypatch.setattr(cpu_rt.CpuRuntime, "launch", counting)
    monkeypatch.setattr(cpu_rt.CpuRuntime, "launch_lines", counting_lines)
    monkeypatch.setattr(cpu.CpuBackend, "compile_native", recording)
    yield counts
    assert cpu.wait_for_builds(timeout=300)


@pytest.fixture
def on_cpu(counts, monkeypatch):
    """... with nothing built before (no program 'known'), and hot after one call."""
    monkeypatch.setattr(cpu, "_known", lambda program: False)
    monkeypatch.setattr(cpu, "HOT_SECONDS", 0.0)
    yield counts


def _tiered(f):
    (entry,) = f._cache.values()
    assert isinstance(entry.fn, cpu.Tiered)
    return entry.fn


def _wait(t):
    assert t.job is not None and t.job.done.wait(timeout=300)


def test_jit_runs_numpy_until_hot_then_native(on_cpu):
    f = gpuxla.jit(_softmax_ish)
    first = np.asarray(f(X))
    t = _tiered(f)
    np.testing.assert_allclose(first, _want(X), rtol=1e-6, atol=1e-7)
    assert on_cpu["launches"] == 0 and t.calls == 1 and t.job is not None and t.native is None
    _wait(t)
    assert on_cpu["launches"] == 0 and on_cpu["built_on"] == ["gpuxla-cpu-compile"]
    late = np.asarray(f(X))                      # the first call after the build: native
    assert on_cpu["launches"] > 0 and isinstance(t.native.runtime, cpu_rt.CpuRuntime)
    np.testing.assert_allclose(late, first, rtol=2e-6, atol=1e-7)
    n = on_cpu["launches"]
    np.asarray(f(X))
    assert on_cpu["launches"] == 2 * n and t.calls == 1        # NumPy calls are no longer counted


def test_fast_path_calls_the_native_executable_once_promoted(on_cpu):
    # jit's fast path made on the NumPy tier calls the Tiered wrapper; the promotion retires it,
    # and the one made after calls the native executable's lean call itself (no wrapper frames).
    f, x = gpuxla.jit(lambda v: _softmax_ish(v)), gpuxla.device_put(X)
    f(X)                                    # (NumPy arguments: no fast path for them...)
    assert f._fast is None
    f(x)                                    # (... nor does that keep Arrays off it)
    t, fast = _tiered(f), f._fast
    assert fast.alive and fast.call.__globals__["fn"] is t
    _wait(t)
    np.testing.assert_allclose(np.asarray(f(x)), _want(X), rtol=2e-6, atol=1e-7)   # (promotes)
    assert not fast.alive and on_cpu["launches"] > 0
    for _ in range(3):
        np.testing.assert_allclose(np.asarray(f(x)), _want(X), rtol=2e-6, atol=1e-7)
    target = f._fast.call.__globals__["fn"]
    assert f._fast is not fast and f._fast.alive
    assert target.__self__ is t.native and target.__func__ is type(t.native)._lean_call
    n = on_cpu["launches"]
    f(x)
    assert on_cpu["launches"] > n


def test_hot_after_hot_seconds_of_numpy_time(on_cpu, monkeypatch):
    ticks = itertools.count()
    monkeypatch.setattr(cpu, "_clock", lambda: next(ticks) * 0.03)      # every call takes 30 ms
    monkeypatch.setattr(cpu, "HOT_SECONDS", 0.1)
    f = gpuxla.jit(lambda v: jnp.sin(v) * 3)
    for _ in range(3):
        np.testing.assert_allclose(np.asarray(f(X)), np.sin(X) * 3, rtol=1e-6, atol=1e-6)
    t = _tiered(f)
    assert t.job is None and t.calls == 3 and t.seconds == pytest.approx(0.09)
    f(X)
    assert t.job is not None
    _wait(t)
    np.testing.assert_allclose(np.asarray(f(X)), np.sin(X) * 3, rtol=1e-6, atol=1e-6)
    assert on_cpu["launches"] > 0 and t.calls == 4


def test_nothing_compiles_on_the_calling_thread(on_cpu):
    """Eager graphs, jit calls and the bodies of loops inside either run while their modules
    build in the background."""
    x = jnp.asarray(X)

    @gpuxla.jit
    def loop(v):
        return lax.fori_loop(0, 4, lambda i, c: jnp.tanh(c) + i, v)
    want = X
    for i in range(4):
        want = np.tanh(want) + i
    for _ in range(5):
        np.testing.assert_allclose(np.asarray(loop(x)), want, rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(np.asarray(lax.fori_loop(0, 4, lambda i, c: jnp.tanh(c) + i, x)), want,
                                   rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(np.asarray(jnp.exp(x) * 2), np.exp(X) * 2, rtol=1e-6)
    assert cpu.wait_for_builds(timeout=300)
    assert len(on_cpu["built_on"]) >= 3
    assert set(on_cpu["built_on"]) == {"gpuxla-cpu-compile"}


@pytest.fixture
def two_devices():
    gpuxla.config.update("jax_num_cpu_devices", 2)
    yield
    gpuxla.config.update("jax_num_cpu_devices", None)


def test_pmap_stages_build_in_the_background(on_cpu, two_devices):
    """A pmap program's stages (the work between collectives) are tiered as a jit call is: the
    first calls run on NumPy, the build happens on the compile thread, later calls run native."""
    xs = jnp.asarray(np.stack([X, X * 2]))
    f = gpuxla.pmap(lambda v: _softmax_ish(lax.psum(v, "i")), axis_name="i")
    want = _want(X + 2 * X)
    for _ in range(3):
        got = np.asarray(f(xs))
        np.testing.assert_allclose(got[0], want, rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(got[1], want, rtol=2e-6, atol=2e-6)
    assert cpu.wait_for_builds(timeout=300)
    assert on_cpu["built_on"] and set(on_cpu["built_on"]) == {"gpuxla-cpu-compile"}
    before = on_cpu["launches"]
    np.testing.assert_allclose(np.asarray(f(xs))[1], want, rtol=2e-6, atol=2e-6)
    assert on_cpu["launches"] > before


def test_a_failed_background_build_warns_once_and_stays_on_numpy(on_cpu, monkeypatch):
    def broken(self, program, build=True):
        raise cpu_rt.CpuCompileError("g++ failed to compile the kernel module (test)")
    monkeypatch.setattr(cpu.CpuBackend, "compile_native", broken)
    f = gpuxla.jit(_softmax_ish)
    f(X)
    t = _tiered(f)
    _wait(t)
    with pytest.warns(RuntimeWarning, match="building the cpu kernels of a program failed.*NumPy.*test") as rec:
        got = np.asarray(f(X))
    assert len([w for w in rec if "building the cpu kernels" in str(w.message)]) == 1
    np.testing.assert_allclose(got, _want(X), rtol=1e-6, atol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(np.asarray(f(X)), _want(X), rtol=1e-6, atol=1e-7)
    assert t.native is t.numpy and backends.get_backend().fallback is None   # other programs still build


def test_an_unusable_compiler_found_in_the_background_falls_back_once(on_cpu, monkeypatch):
    def unavailable(self, program, build=True):
        raise cpu_rt.CpuUnavailable("host C++ compiler 'gone' does not run (test)")
    monkeypatch.setattr(cpu.CpuBackend, "compile_native", unavailable)
    f, g = gpuxla.jit(lambda v: v * 2 + 1), gpuxla.jit(lambda v: v * 3 + 1)
    f(X)
    _wait(_tiered(f))
    with pytest.warns(RuntimeWarning, match="cannot compile kernels here.*gone"):
        np.testing.assert_allclose(np.asarray(f(X)), X * 2 + 1, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            np.testing.assert_allclose(np.asarray(g(X)), X * 3 + 1, rtol=1e-6)
    assert backends.get_backend().fallback is not None and _tiered(g).job is None    # no more builds


def test_threads_calling_during_the_switch_get_right_results(on_cpu, monkeypatch):
    native = cpu.CpuBackend.compile_native

    def slow(self, program, build=True):      # the switch lands while the threads are calling
        time.sleep(0.2)
        return native(self, program, build)
    monkeypatch.setattr(cpu.CpuBackend, "compile_native", slow)
    f = gpuxla.jit(_softmax_ish)
    x = jnp.asarray(X)
    want = _want(X)
    bad, start = [], threading.Barrier(4)

    def worker():
        start.wait()
        deadline = time.monotonic() + 120
        n = 0
        while time.monotonic() < deadline:
            got = np.asarray(f(x))
            if not np.allclose(got, want, rtol=2e-6, atol=1e-7):
                bad.append(float(np.abs(got - want).max()))
            n += 1
            t = next(iter(f._cache.values())).fn
            if n > 5 and getattr(t, "native", None) is not None and t.native is not t.numpy:
                for _ in range(3):                  # a few calls after the switch too
                    if not np.allclose(np.asarray(f(x)), want, rtol=2e-6, atol=1e-7):
                        bad.append("native")
                return
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t = _tiered(f)
    assert not bad and t.native is not None and t.native is not t.numpy and on_cpu["launches"] > 0
    assert on_cpu["built_on"] == ["gpuxla-cpu-compile"]         # one build, whatever the threads


def test_donated_arguments_on_both_tiers(on_cpu):
    f = gpuxla.jit(lambda a, b: (a * 2 + b, jnp.sum(b)), donate_argnums=0)
    for i in range(4):
        a, b = jnp.asarray(X + i), jnp.asarray(X)
        out, s = f(a, b)
        np.testing.assert_allclose(np.asarray(out), (X + i) * 2 + X, rtol=1e-6)
        np.testing.assert_allclose(float(s), X.sum(), atol=1e-3)
        assert a.is_deleted()
        if i == 1:
            _wait(_tiered(f))
    assert on_cpu["launches"] > 0


def test_the_flag_and_ahead_of_time_compile_build_at_once(on_cpu, monkeypatch):
    monkeypatch.setenv("GPUXLA_CPU_TIERED", "0")
    f = gpuxla.jit(_softmax_ish)
    np.testing.assert_allclose(np.asarray(f(X)), _want(X), rtol=2e-6, atol=1e-7)
    (entry,) = f._cache.values()
    assert not isinstance(entry.fn, cpu.Tiered) and on_cpu["launches"] > 0
    n = on_cpu["launches"]
    np.testing.assert_allclose(np.asarray(jnp.asarray(X) * 5 - 1), X * 5 - 1, rtol=1e-6)       # eager too
    assert on_cpu["launches"] > n and len(on_cpu["built_on"]) >= 2 and set(on_cpu["built_on"]) == {"MainThread"}
    monkeypatch.delenv("GPUXLA_CPU_TIERED")
    g = gpuxla.jit(lambda v: jnp.cosh(v) + 1)
    exe = g.lower(X).compile()                        # ahead of time: the native executable
    assert isinstance(exe._exe.runtime, cpu_rt.CpuRuntime)
    n = on_cpu["launches"]
    np.testing.assert_allclose(np.asarray(exe(X)), np.cosh(X) + 1, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g(X)), np.cosh(X) + 1, rtol=1e-6)     # and calls use it
    assert on_cpu["launches"] == n + 2 * len(exe.kernels)


def test_a_program_built_before_is_native_from_its_first_call(counts, monkeypatch):
    monkeypatch.setattr(cpu, "_built", set())
    monkeypatch.setattr(cpu, "HOT_SECONDS", 0.0)

    def make():
        def h(v):
            return jnp.arctan(v) * 7 - 2
        return h
    f = gpuxla.jit(make())
    f(X)
    _wait(_tiered(f))
    program = _tiered(f).program
    assert cpu._known(program)
    cpu._built.clear()                                    # a new process: only the disk marker is left
    monkeypatch.setattr(cpu, "_on_disk", None)
    assert cpu._known(program)
    g = gpuxla.jit(make())                                # a new function: traced and compiled anew
    np.testing.assert_allclose(np.asarray(g(X)), np.arctan(X) * 7 - 2, rtol=1e-6, atol=1e-6)
    t = _tiered(g)
    assert t.calls == 0 and t.native is not None and isinstance(t.native.runtime, cpu_rt.CpuRuntime)
    assert counts["launches"] == len(t.native.kernels) and counts["built_on"][-1] == "MainThread"


def test_a_stale_marker_never_compiles_on_the_calling_thread(counts, monkeypatch):
    """A marker whose module is gone (evicted, another compiler or gpuxla version): the first call
    runs on NumPy and the program is tiered as any other."""
    monkeypatch.setattr(cpu, "_known", lambda program: True)
    monkeypatch.setattr(cpu, "HOT_SECONDS", 0.0)
    monkeypatch.setenv("GPUXLA_DISK_CACHE", "0")
    before = dict(cpu_rt.compile_stats)
    f = gpuxla.jit(lambda v: jnp.arcsinh(v) * 5 + 0.25)       # in no cache
    np.testing.assert_allclose(np.asarray(f(X)), np.arcsinh(X) * 5 + 0.25, rtol=1e-6, atol=1e-6)
    t = _tiered(f)
    assert counts["launches"] == 0 and t.calls == 1 and cpu_rt.compile_stats["compiled"] == before["compiled"]
    _wait(t)
    np.testing.assert_allclose(np.asarray(f(X)), np.arcsinh(X) * 5 + 0.25, rtol=1e-6, atol=1e-6)
    assert counts["launches"] > 0 and cpu_rt.compile_stats["compiled"] == before["compiled"] + 1


# ---------------------------------------------------------------------------------------------
# The default platform, in fresh processes with nothing set
# ---------------------------------------------------------------------------------------------
_PROBE = """
import time
t0 = time.perf_counter()
import numpy as np, gpuxla, gpuxla.numpy as jnp
from gpuxla import backends
y = np.asarray(jnp.tanh(jnp.arange(5.0)) * 2)
assert np.allclose(y, np.tanh(np.arange(5.0)) * 2)
print(backends.get_backend().platform, gpuxla.default_backend(), round(time.perf_counter() - t0, 3))
"""


def _fresh(**env):
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("GPUXLA_", "JAX_")) and k != "CXX"}
    keep.update(GPUXLA_CACHE_DIR=os.environ.get("GPUXLA_CACHE_DIR", ""), PYTHONPATH=str(ROOT), **env)
    p = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=keep, cwd=ROOT,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout.split(), p.stderr


def test_cpu_is_the_default_platform_without_a_gpu():
    (platform, jax_name, _), _ = _fresh()
    assert (platform, jax_name) == ("cpu", "cpu")
    (platform, _, _), err = _fresh(CXX="/bin/false")          # a compiler that builds nothing
    assert platform == "numpy" and "Warning" not in err
    (platform, _, _), _ = _fresh(GPUXLA_PLATFORM="numpy")
    assert platform == "numpy"


def test_the_compiler_probe_runs_once_per_compiler(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUXLA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cpu, "_available", {})
    runs = []
    works = cpu.compiler_works
    monkeypatch.setattr(cpu, "compiler_works", lambda: runs.append(1) or works())
    assert cpu.available() and cpu.available() and len(runs) == 1
    monkeypatch.setattr(cpu, "_available", {})            # a new process: the marker on disk answers
    assert cpu.available() and len(runs) == 1
    monkeypatch.setenv("CXX", "/bin/false")               # another compiler: probed, and failing
    assert not cpu.available() and len(runs) == 2
