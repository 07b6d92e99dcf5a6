"""The host path of a cached jit call (transforms/jit.py `_Fast.call`, cuda/plan.py
`Executable._lean_call`, cpu/runtime.py `launch_lines` and gx_cpu_call): each frame's kernel step
keeps one argument block and writes only the addresses of the arrays that changed into it, so
these check that nothing stale survives between calls -- new arrays each call, aliased and donated
inputs, buffers in another layout or dtype (the converting launch), concurrent calls -- that
outputs never share memory across calls, and that the same calls give the same values on the
numpy, cuda-interpret and (fake) cuda platforms, which share the plan."""
import threading

import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla import backends
from gpuxla.backends import cpu
from gpuxla.backends.cpu import runtime as cpu_rt
from gpuxla.core.graph import Aval, from_buffer

from codegen_util import needs_cxx

RNG = np.random.default_rng(7)


def _axpy(a, b):
    return a * 2.0 + b


def _vec(n=6, dtype=np.float32):
    return RNG.standard_normal(n).astype(dtype)


@pytest.fixture
def on_cpu(monkeypatch):
    """The cpu platform, native from the first call, counting how often a kernel step's launch
    lines (and so its argument block) are made."""
    monkeypatch.setenv("GPUXLA_CPU_TIERED", "0")
    monkeypatch.setattr(backends, "_eager_cache", {})
    monkeypatch.setattr(backends, "_backend", cpu.CpuBackend())
    made = []
    lines = cpu_rt.CpuRuntime.launch_lines

    def counting(self, k, fixed, exprs, ns):
        made.append(k.name)
        return lines(self, k, fixed, exprs, ns)
    monkeypatch.setattr(cpu_rt.CpuRuntime, "launch_lines", counting)
    yield made


def _frames(f):
    exe = f._fast.entry.fn        # (the last call's executable)
    assert isinstance(exe.runtime, cpu_rt.CpuRuntime)
    return exe, exe._free[None]


@needs_cxx
def test_numpys_array_fields_are_found():
    # (without them every launch builds its pointers in Python: right, but the slow way)
    assert cpu_rt._FIELDS is not None


@needs_cxx
def test_new_arrays_each_call_one_block_per_frame(on_cpu):
    f = gpuxla.jit(_axpy)
    converted = cpu_rt.launch_stats["converted"]
    outs = []
    for _ in range(40):
        a, b = _vec(), _vec()
        r = f(jnp.asarray(a), jnp.asarray(b))
        np.testing.assert_allclose(np.asarray(r), a * 2 + b, rtol=1e-6)
        outs.append((r, a * 2 + b))
    exe, frames = _frames(f)
    assert len(exe.kernels) == 1 and len(frames) == 1
    assert on_cpu == [exe.kernels[0].name]              # the block made once, reused by every call
    assert cpu_rt.launch_stats["converted"] == converted    # every launch through gx_cpu_call
    # outputs are fresh arrays: none shares memory with another or changed since it was made
    bufs = [r._buf for r, _ in outs]
    assert len({b.ctypes.data for b in bufs}) == len(bufs) or \
        not any(np.shares_memory(x, y) for i, x in enumerate(bufs) for y in bufs[i + 1:])
    for r, want in outs:
        np.testing.assert_allclose(np.asarray(r), want, rtol=1e-6)


@needs_cxx
def test_aliased_inputs_and_outputs_fed_back(on_cpu):
    f = gpuxla.jit(_axpy)
    a = _vec()
    x = jnp.asarray(a)
    np.testing.assert_allclose(np.asarray(f(x, x)), a * 3, rtol=1e-6)
    y = f(x, x)
    z = f(y, x)                 # an output of the last call as an input
    np.testing.assert_allclose(np.asarray(z), a * 3 * 2 + a, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(y), a * 3, rtol=1e-6)
    w = f(z, z)
    np.testing.assert_allclose(np.asarray(w), (a * 7) * 3, rtol=1e-5)
    assert not np.shares_memory(w._buf, z._buf) and not np.shares_memory(y._buf, z._buf)


@needs_cxx
def test_multiple_outputs_never_share_memory(on_cpu):
    f = gpuxla.jit(lambda a, b: (a * 2.0 + b, a - b, a * 2.0 + b))
    got = []
    for _ in range(3):
        a, b = _vec(), _vec()
        r = f(jnp.asarray(a), jnp.asarray(b))
        got.append((r, a, b))
    for r, a, b in got:
        np.testing.assert_allclose(np.asarray(r[0]), a * 2 + b, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(r[1]), a - b, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(r[2]), a * 2 + b, rtol=1e-6)
    assert not np.shares_memory(got[0][0][1]._buf, got[1][0][1]._buf)
    assert not np.shares_memory(got[0][0][0]._buf, got[1][0][0]._buf)


@needs_cxx
def test_donated_inputs_each_call(on_cpu):
    f = gpuxla.jit(_axpy, donate_argnums=0)
    for _ in range(5):
        a, b = _vec(), _vec()
        x = jnp.asarray(a)
        held = x._buf
        r = f(x, jnp.asarray(b))
        np.testing.assert_allclose(np.asarray(r), a * 2 + b, rtol=1e-6)
        assert x.is_deleted() and not np.shares_memory(r._buf, held) or r._buf is held


def test_donated_buffers_are_written_only_in_c_order():
    """jit's `_exclusive`: the cpu platform takes NumPy buffers in any layout as they are, so a
    donated buffer an output may be written into must be in C order (a planned view of it in
    another layout would be a copy)."""
    from gpuxla.transforms.jit import _exclusive
    aval = Aval((3, 4), np.float32)
    c_order = from_buffer(np.zeros((3, 4), np.float32), aval)
    fortran = from_buffer(np.asfortranarray(np.zeros((3, 4), np.float32)), aval)
    view = from_buffer(np.zeros((4, 4), np.float32)[1:], aval)
    assert _exclusive([c_order, fortran, view], (0, 1, 2)) == (0,)
    assert _exclusive([c_order, c_order], (0, 1)) == ()


@needs_cxx
def test_buffers_in_another_layout_or_dtype_take_the_converting_launch(on_cpu):
    f = gpuxla.jit(_axpy)
    a, b = _vec(12).reshape(3, 4), _vec(12).reshape(3, 4)
    f(jnp.asarray(a), jnp.asarray(b))
    # A Fortran-order buffer, a misaligned one and one of another dtype than the aval says (the
    # last two only reachable from inside gpuxla): gx_cpu_call refuses them, each is converted.
    fortran = np.asfortranarray(a)
    misaligned = np.zeros(12 * 4 + 1, np.uint8)[1:].view(np.float32).reshape(3, 4)
    misaligned[...] = b
    wide = a.astype(np.float64)
    aval = Aval((3, 4), np.float32)
    for x, y in ((fortran, b), (a, misaligned), (wide, b)):
        before = cpu_rt.launch_stats["converted"]
        r = f(from_buffer(x, aval), from_buffer(y, aval))
        np.testing.assert_allclose(np.asarray(r), a * 2 + b, rtol=1e-6)
        assert cpu_rt.launch_stats["converted"] == before + 1
    # An output array in another layout (a donated Fortran-order input an output is written
    # into): the kernel writes a copy, which is copied back into it.
    exe, _ = _frames(f)
    k = exe.kernels[0]
    out = np.asfortranarray(np.zeros((3, 4), np.float32))
    cpu_rt._launch_converted(exe.runtime.fns[k.name], 1, k, [None] * 3, [0, 1, 2], (a, b, out))
    np.testing.assert_allclose(out, a * 2 + b, rtol=1e-6)
    # NumPy arguments in any layout are copied (C order) by the call: no conversion at the launch
    before = cpu_rt.launch_stats["converted"]
    np.testing.assert_allclose(np.asarray(f(np.asfortranarray(a), b.T.copy().T)), a * 2 + b, rtol=1e-6)
    assert cpu_rt.launch_stats["converted"] == before


@needs_cxx
def test_without_numpys_field_offsets_launches_build_pointers(on_cpu, monkeypatch):
    monkeypatch.setattr(cpu_rt, "_FIELDS", None)
    f = gpuxla.jit(_axpy)
    for _ in range(3):
        a, b = _vec(), _vec()
        np.testing.assert_allclose(np.asarray(f(jnp.asarray(a), jnp.asarray(b))), a * 2 + b, rtol=1e-6)
    x = jnp.asarray(_vec())
    np.testing.assert_allclose(np.asarray(f(x, x)), np.asarray(x) * 3, rtol=1e-6)


@needs_cxx
def test_small_launches_keep_the_gil_large_ones_release_it(on_cpu, monkeypatch):
    monkeypatch.setattr(cpu_rt, "HELD_GIL_ELEMENTS", 1000)
    for n, held in ((300, True), (3000, False)):
        f = gpuxla.jit(lambda a, b: _axpy(a, b))
        a, b = _vec(n), _vec(n)
        np.testing.assert_allclose(np.asarray(f(jnp.asarray(a), jnp.asarray(b))), a * 2 + b, rtol=1e-6)
        exe, frames = _frames(f)
        fn = exe.runtime.fns[exe.kernels[0].name]
        calls = [v for k, v in frames[0].run.__globals__.items() if k.endswith("gx_call")]
        assert calls == [fn.gx_call_held if held else fn.gx_call]
        a, b = _vec(n), _vec(n)     # (and again, on the frame's block)
        np.testing.assert_allclose(np.asarray(f(jnp.asarray(a), jnp.asarray(b))), a * 2 + b, rtol=1e-6)


@needs_cxx
def test_concurrent_calls_each_have_their_frame(on_cpu):
    f = gpuxla.jit(_axpy)
    f(jnp.asarray(_vec()), jnp.asarray(_vec()))
    errors = []

    def work(seed):
        r = np.random.default_rng(seed)
        try:
            for _ in range(200):
                a, b = r.standard_normal(6).astype(np.float32), r.standard_normal(6).astype(np.float32)
                got = np.asarray(f(jnp.asarray(a), jnp.asarray(b)))
                if not np.allclose(got, a * 2 + b, rtol=1e-6):
                    errors.append((seed, got, a * 2 + b))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:2]
    exe, frames = _frames(f)
    assert 1 <= len(frames) <= 4 and len(on_cpu) == len(frames)    # (a block per frame made)


def test_fast_call_results_on_every_platform(platform):
    """The generated call (match, run, build) and the plan's lean call on the shared plan: values,
    outputs that are None or inputs passed through, fresh outputs each call."""
    f = gpuxla.jit(lambda a, b: {"s": _axpy(a, b), "none": None, "same": b})
    g = gpuxla.jit(lambda a: None)
    outs = []
    for _ in range(4):
        a, b = _vec(), _vec()
        y = jnp.asarray(b)
        r = f(jnp.asarray(a), y)
        np.testing.assert_allclose(np.asarray(r["s"]), a * 2 + b, rtol=1e-6)
        np.testing.assert_array_equal(np.asarray(r["same"]), b)
        assert r["none"] is None and g(y) is None
        outs.append((r["s"], a * 2 + b))
    for r, want in outs:
        np.testing.assert_allclose(np.asarray(r), want, rtol=1e-6)
    x = jnp.asarray(_vec())
    np.testing.assert_allclose(np.asarray(f(x, x)["s"]), np.asarray(x) * 3, rtol=1e-6)
