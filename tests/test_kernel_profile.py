"""The measured kernel report, `jit(f).lower(...).compile().profile_kernels(*args)`: each step of
the static report (compiler/roofline.py) run on the arguments and timed (plan.Executable.profile),
on the `cpu` platform's native kernels (host clock) and on the `cuda` platform over
tests/fake_cupy.py (CUDA events on its deterministic clock). No timing is asserted: the rows'
structure and arithmetic, that every launched step has a time, and that the measured run computes
what a call does (against NumPy); other platforms refuse with a clear error. The printed form is
`python -m bench --kernels`'s (test_roofline.py for the static one)."""
import numpy as np
import pytest

import fake_cupy as fc

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import backends
from gpuxla.backends import cpu
from gpuxla.backends.cpu import runtime as cpu_runtime
from gpuxla.backends.cuda import runtime as cuda_runtime
from gpuxla.compiler import roofline

from codegen_util import needs_cxx
from test_runtime_arena import PROGRAMS, check

pytestmark = needs_cxx
RNG = np.random.default_rng(3)


def f(a, b):        # a kernel, a library call (dot_general), a reduction after it
    return jnp.sum(jnp.tanh(a @ b) * 2.0, axis=1), jnp.exp(a)


def f_ref(a, b):
    return np.sum(np.tanh(a @ b) * 2.0, axis=1), np.exp(a)


ARGS = (RNG.standard_normal((32, 48)).astype(np.float32), RNG.standard_normal((48, 24)).astype(np.float32))


@pytest.fixture
def on_cpu(monkeypatch):
    monkeypatch.setattr(backends, "_eager_cache", {})
    monkeypatch.setattr(backends, "_backend", cpu.CpuBackend())
    monkeypatch.setattr(cpu_runtime, "COPY_BYTES", 1 << 20)     # (the yardstick's size: kept small here)
    monkeypatch.setattr(cpu_runtime, "_copy_bandwidth", [])
    yield backends._backend


@pytest.fixture
def on_cuda(monkeypatch):
    monkeypatch.setattr(cuda_runtime, "COPY_BYTES", 1 << 20)
    monkeypatch.setattr(cuda_runtime, "_copy_bandwidth", {})
    with fc.installed(nvrtc=False) as backend:
        yield backend


def _measured(fun, args, repeats=3):
    dev = [jnp.asarray(a) for a in args]
    c = jax.jit(fun).lower(*dev).compile()
    rows, outs = c.profile_kernels(*dev, repeats=repeats, with_outputs=True)
    return c, rows, outs, c(*dev)


def _check_rows(c, rows):
    static = c.kernel_report()
    assert [r["name"] for r in rows] == [r["name"] for r in static]          # one row a step, in order
    for r, s in zip(rows, static):
        assert {k: r[k] for k in s} == s                                      # the static figures kept
    copy_gbs = rows[0]["copy_gbs"]
    assert copy_gbs > 0 and all(r["copy_gbs"] == copy_gbs for r in rows)
    for r in rows:
        if r["time_us"] is None:
            assert r["gbs"] is None and r["pct_copy"] is None and r["covers"] is None
            continue
        moved = sum(rows[m]["bytes_read"] + rows[m]["bytes_written"] for m in r["covers"])
        assert r["time_us"] > 0
        assert r["gbs"] == pytest.approx(moved / (r["time_us"] * 1e-6) / 1e9, rel=1e-12)
        assert r["pct_copy"] == pytest.approx(100 * r["gbs"] / copy_gbs, rel=1e-12)


@pytest.mark.parametrize("where", ["cpu", "fake-cuda"])
def test_every_step_is_timed_and_the_run_computes_what_a_call_does(where, request):
    request.getfixturevalue("on_cpu" if where == "cpu" else "on_cuda")
    c, rows, outs, called = _measured(f, ARGS)
    _check_rows(c, rows)
    assert [r["kind"] for r in rows].count("library") == 1
    assert [r["covers"] for r in rows] == [(n,) for n in range(len(rows))]     # (nothing here is folded away)
    want = f_ref(*ARGS)
    for got, call, ref in zip(outs, called, want):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(call))
        np.testing.assert_allclose(np.asarray(got), ref, rtol=2e-5, atol=2e-5)
    text = roofline.table(rows)
    assert "% copy" in text and len(text.splitlines()) == len(rows) + 1


def test_fake_device_times_are_its_event_ticks(on_cuda):
    """On the fake the clock advances one tick a mark, so each launched step takes exactly one."""
    _, rows, _, _ = _measured(f, ARGS)
    assert [r["time_us"] for r in rows] == pytest.approx([fc.EVENT_TICK_MS * 1e3] * len(rows))


def update(w, x, g):    # w - 0.1 * x.T @ g: on cpu the update is folded into the product's BLAS call
    return w - 0.1 * (x.T @ g)


def update_ref(w, x, g):
    return w - np.float32(0.1) * (x.T @ g)


UPDATE_ARGS = (RNG.standard_normal((256, 128)).astype(np.float32), RNG.standard_normal((64, 256)).astype(np.float32),
               RNG.standard_normal((64, 128)).astype(np.float32))


@pytest.mark.parametrize("where", ["cpu", "fake-cuda"])
@pytest.mark.parametrize("name", ["matvecs", "update"])
def test_a_step_that_runs_others_work_covers_them(where, name, request):
    """Six matrix-vector dots batched into one product: its time is at the last and covers all six
    (the GB/s are the six's bytes over it); on cpu the update folded into the product's call is
    covered by the product. Steps covered by another, and the view kernels the product reads
    instead, have no time of their own. Results as NumPy's."""
    request.getfixturevalue("on_cpu" if where == "cpu" else "on_cuda")
    fun, ref, args = PROGRAMS["matvecs"] if name == "matvecs" else (update, update_ref, UPDATE_ARGS)
    c, rows, outs, _ = _measured(fun, args, repeats=2)
    _check_rows(c, rows)
    exe = c._exe
    covered = {m for r in rows if r["covers"] for m in r["covers"]}
    untimed = {n for n, r in enumerate(rows) if r["time_us"] is None}
    assert covered | untimed == set(range(len(rows))) and untimed - covered == exe._skipped
    dots = [n for n, r in enumerate(rows) if r["name"] == "dot_general"]
    timed_dots = [n for n in dots if rows[n]["time_us"] is not None]
    if name == "matvecs":
        assert len(dots) == 6 and timed_dots == dots[-1:] and rows[dots[-1]]["covers"] == tuple(dots)
    elif where == "cpu":
        (n,) = dots
        assert rows[n]["covers"] == (n, n + 1) and rows[n + 1]["time_us"] is None
    else:
        assert all(r["covers"] == (n,) for n, r in enumerate(rows))
    check(outs, ref(*args))


@pytest.mark.parametrize("platform", ["numpy", "cuda-interpret"], indirect=True)
def test_other_platforms_refuse_to_measure_but_keep_the_static_rows(platform):
    dev = [jnp.asarray(a) for a in ARGS]
    c = jax.jit(f).lower(*dev).compile()
    assert len(c.kernel_report()) == 3
    with pytest.raises(NotImplementedError, match=f"need the cuda or cpu platform.*'{platform}'"):
        c.profile_kernels(*dev)


def test_cross_platform_executables_refuse_to_measure(on_cpu):
    dev = [jnp.asarray(a) for a in ARGS]
    c = jax.jit(f).lower(*dev).compile(platform="numpy")
    with pytest.raises(NotImplementedError, match="'numpy' platform"):
        c.profile_kernels(*dev)


def test_bench_kernels_prints_the_measured_columns(on_cpu):
    from bench import kernels, workloads
    lines = []
    kernels.main([w for w in workloads.WORKLOADS if w.name == "softmax"], quick=True, out=lines.append, repeats=2,
                 measure_cpu=True)
    text = "\n".join(lines)
    assert "copy bandwidth of this cpu device" in text
    head = [ln for ln in text.splitlines() if ln.startswith("step")]
    assert head and all("time µs" in h and "% copy" in h for h in head)
