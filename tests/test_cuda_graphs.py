"""CUDA-graph replay of an executable's steps (backends/cuda/plan.py, Executable._graph_frame), run on
the `cuda` platform over tests/fake_cupy.py, whose stream capture records launches, cuBLAS calls
and device copies and replays them in order, and refuses what CUDA refuses during a capture
(allocations, host copies, synchronisation):

  * after the first call, a call is one graph launch (plus the copies of inputs and outputs), and
    gives the same bits as plain launches (GPUXLA_CUDA_GRAPHS=0), call after call, on new inputs;
  * what cannot be captured (a while loop reading its predicate on the host, a library call, a
    capture that fails) runs as plain launches, and GPUXLA_DEBUG=1 says why;
  * donated inputs, a changed matmul precision and concurrent calls stay right.
Every result is compared with NumPy.
"""
import numpy as np
import pytest

import fake_cupy as fc

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.backends.cuda.runtime import CudaRuntime

from codegen_util import _session_cache, needs_cxx  # noqa: E402,F401
from test_runtime_arena import PROGRAMS, check
from thread_util import run_threads  # noqa: E402

pytestmark = needs_cxx
RNG = np.random.default_rng(7)


@pytest.fixture
def cuda():
    with fc.installed(nvrtc=False) as backend:
        yield backend


def _exe(g):
    return next(iter(g._cache.values())).fn


def _other(args, seed):
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(lambda a: (a + 0.1 * rng.standard_normal(a.shape)).astype(a.dtype), args)


def _counts(before):
    return {k: fc.stats[k] - before[k] for k in ("launches", "graph_launches", "matmuls", "allocs", "copies")}


@pytest.mark.parametrize("name", ["mlp_step", "matvecs"])
def test_replay_gives_the_bits_of_plain_launches(cuda, monkeypatch, name):
    f, ref, args = PROGRAMS[name]
    inputs = [args, _other(args, 1), _other(args, 2), args]
    g = jax.jit(f)
    on, per_call = [], []
    for a in inputs:        # the first call captures, the others replay (each on its own inputs)
        dev = jax.tree_util.tree_map(jnp.asarray, a)
        before = dict(fc.stats)
        out = g(*dev)
        per_call.append(_counts(before))
        on.append(jax.tree_util.tree_map(np.asarray, out))
    exe = _exe(g)
    assert exe.graph_reason is None and exe._free[0][0].replay is not None
    n_out = len(jax.tree_util.tree_leaves(on[0]))
    for c in per_call[1:]:
        assert c["launches"] == c["graph_launches"] == 1 and c["matmuls"] == 0 and c["allocs"] == n_out
        assert c["copies"] == len(jax.tree_util.tree_leaves(args)) + n_out
    monkeypatch.setenv("GPUXLA_CUDA_GRAPHS", "0")
    h = jax.jit(lambda *a: f(*a))
    for a, got in zip(inputs, on):
        check(got, ref(*a), rtol=1e-4, atol=1e-5)
        off = jax.tree_util.tree_map(np.asarray, h(*jax.tree_util.tree_map(jnp.asarray, a)))
        for x, y in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(off)):
            assert x.tobytes() == y.tobytes()
    assert _exe(h).graph_reason == "GPUXLA_CUDA_GRAPHS=0" and _exe(h)._free[0][0].replay is None


def test_results_of_earlier_calls_are_not_overwritten(cuda):
    # Outputs are copied out of the graph's static buffers: a result kept by the caller stays.
    g = jax.jit(lambda m, v: jnp.tanh(m @ v) * 2 + jnp.sum(v))
    m = RNG.standard_normal((16, 16)).astype(np.float32)
    vs = [RNG.standard_normal(16).astype(np.float32) for _ in range(4)]
    outs = [g(jnp.asarray(m), jnp.asarray(v)) for v in vs]
    assert _exe(g).graph_reason is None
    for v, o in zip(vs, outs):
        np.testing.assert_allclose(np.asarray(o), np.tanh(m @ v) * 2 + v.sum(), rtol=1e-5, atol=1e-5)


def test_host_read_while_loop_falls_back_and_says_why(cuda, monkeypatch, capsys):
    monkeypatch.setenv("GPUXLA_DEBUG", "1")

    def f(x, n):
        return lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, jnp.sin(c[1]) * 2), (0, x))[1] + 1
    g = jax.jit(f)
    x = RNG.standard_normal(8).astype(np.float32)
    want = x.astype(np.float64)
    for _ in range(3):
        want = np.sin(want) * 2
    for _ in range(3):
        check(g(jnp.asarray(x), jnp.asarray(3)), want + 1, rtol=1e-5, atol=1e-5)
    exe = _exe(g)
    assert "the library call 'while'" in exe.graph_reason and exe._free[0][0].replay is None
    assert "no CUDA graph for" in capsys.readouterr().err


def test_a_failed_capture_falls_back_to_plain_launches(cuda, monkeypatch, capsys):
    # Something in the steps that CUDA refuses during a capture (here an allocation): the capture
    # fails, the executable launches its steps from the host from then on, and says why.
    monkeypatch.setenv("GPUXLA_DEBUG", "1")
    real = CudaRuntime.capture

    def capture(self, run):
        def allocating():
            fc.empty(4, np.float32)
            run()
        return real(self, allocating)
    monkeypatch.setattr(CudaRuntime, "capture", capture)
    f, ref, args = PROGRAMS["mlp_step"]
    g = jax.jit(f)
    for a in (args, _other(args, 3), _other(args, 4)):
        check(g(*jax.tree_util.tree_map(jnp.asarray, a)), ref(*a), rtol=1e-4, atol=1e-5)
    exe = _exe(g)
    assert "cudaErrorStreamCaptureUnsupported" in exe.graph_reason and exe._free[0][0].replay is None
    assert "the capture failed" in capsys.readouterr().err


def test_not_worth_a_graph(cuda):
    # One kernel on 4 MB: a replay saves no launch and adds copies.
    g = jax.jit(lambda x: jnp.tanh(x) * 2)
    x = RNG.standard_normal(1 << 20).astype(np.float32)
    for _ in range(2):
        np.testing.assert_allclose(np.asarray(g(jnp.asarray(x))), np.tanh(x) * 2, rtol=1e-6, atol=1e-6)
    assert _exe(g).graph_reason.startswith("not worth it")


def test_donated_inputs_receive_outputs(cuda):
    f, ref, (params, x) = PROGRAMS["mlp_step"]
    g = jax.jit(f, donate_argnums=0)
    p = [jnp.asarray(a) for a in params]
    want = [a.astype(np.float64) for a in params]
    for step in range(4):
        loss, p = g(p, jnp.asarray(x))
        want_loss, want = ref(want, x)
        check([loss] + list(p), [want_loss] + list(want), rtol=1e-4, atol=1e-5)
    assert _exe(g).graph_reason is None


def test_a_changed_matmul_precision_is_captured_again(cuda):
    a = RNG.standard_normal((8, 8)).astype(np.float32) * (1 + 2.0 ** -15)
    g = jax.jit(lambda x: jnp.sin(x) @ x + 1)
    ref = np.sin(a).astype(np.float64) @ a + 1
    for _ in range(3):
        np.testing.assert_allclose(np.asarray(g(jnp.asarray(a))), ref, rtol=1e-5, atol=1e-5)
    fc.matmul_log.clear()
    with jax.default_matmul_precision("tensorfloat32"):
        for _ in range(3):
            np.testing.assert_allclose(np.asarray(g(jnp.asarray(a))), ref, rtol=3e-3, atol=3e-3)
    assert fc.matmul_log and all(ct == fc.COMPUTE_TYPE_TF32 for _, ct in fc.matmul_log)
    fc.matmul_log.clear()
    np.testing.assert_allclose(np.asarray(g(jnp.asarray(a))), ref, rtol=1e-5, atol=1e-5)
    assert fc.matmul_log and all(ct == fc.COMPUTE_TYPE_DEFAULT for _, ct in fc.matmul_log)


def test_concurrent_calls_from_threads_each_replay_their_own_graph(cuda):
    f, ref, (params, _) = PROGRAMS["mlp_step"]
    g = jax.jit(f)
    n = 4
    xs = [np.random.default_rng(20 + t).standard_normal((5, 8)).astype(np.float32) for t in range(n)]
    wants = [ref(params, x) for x in xs]
    dev = [jnp.asarray(p) for p in params]
    g(dev, jnp.asarray(xs[0]))

    def work(t):
        x = jnp.asarray(xs[t])
        for _ in range(6):
            check(g(dev, x), wants[t], rtol=1e-4, atol=1e-5)
    run_threads(work, n)
    frames = _exe(g)._free[0]
    assert 1 <= len(frames) <= n and all(fr.replay is not None for fr in frames)


# --- the fake's capture itself -----------------------------------------------------------------
def test_fake_capture_records_and_refuses_like_cuda():
    with fc.installed(nvrtc=False):
        x = fc.asarray(np.arange(4, dtype=np.float32))
        y = fc.zeros(4, np.float32)
        with pytest.raises(RuntimeError, match="legacy"):
            fc.cuda.Stream.null.begin_capture()
        s = fc.cuda.Stream(non_blocking=True)
        with s:
            s.begin_capture()
            fc.cuda.runtime.memcpyAsync(y.data.ptr, x.data.ptr, 16, 3, s.ptr)
            graph = s.end_capture()
        assert y.get().tolist() == [0, 0, 0, 0]          # recorded, not run
        graph.launch()
        assert y.get().tolist() == [0, 1, 2, 3]
        for refused in (lambda: x.get(), lambda: fc.empty(3), lambda: s.synchronize(), lambda: x + 1):
            with s:
                s.begin_capture()
                with pytest.raises(fc.CUDARuntimeError, match="cudaErrorStreamCaptureUnsupported"):
                    refused()
                with pytest.raises(fc.CUDARuntimeError, match="cudaErrorStreamCaptureInvalidated"):
                    s.end_capture()


# --- loops of a trip count known at trace time, on the device -----------------------------------
def _fori_ref(lo, hi, body, init):
    v = init
    for i in range(lo, hi):
        v = body(i, v)
    return v


M8 = RNG.standard_normal((8, 8)).astype(np.float32) * 0.3
LOOPS = {
    # name: (function of (x, w), NumPy reference)
    "decay": (lambda x, w: lax.fori_loop(0, 7, lambda i, u: u * 0.9 + 0.01 * i, x) * 2,
              lambda x, w: _fori_ref(0, 7, lambda i, u: u * 0.9 + 0.01 * i, x) * 2),
    "even_length_captured_input": (lambda x, w: lax.fori_loop(1, 5, lambda i, u: jnp.sin(u) * w + i, x),
                                   lambda x, w: _fori_ref(1, 5, lambda i, u: np.sin(u) * w + i, x)),
    "passed_through_carry": (lambda x, w: lax.fori_loop(0, 3, lambda i, c: (c[0], c[1] * 0.5 + c[0]), (w, x))[1],
                             lambda x, w: _fori_ref(0, 3, lambda i, c: (c[0], c[1] * 0.5 + c[0]), (w, x))[1]),
    "matmul_body": (lambda x, w: lax.fori_loop(0, 5, lambda i, u: jnp.tanh(jnp.asarray(M8) @ u + w), x),
                    lambda x, w: _fori_ref(0, 5, lambda i, u: np.tanh(M8.astype(np.float64) @ u + w), x)),
    "nested": (lambda x, w: lax.fori_loop(0, 3, lambda i, u: lax.fori_loop(0, 2, lambda j, v: v * 0.5 + w, u) + 1, x),
               lambda x, w: _fori_ref(0, 3, lambda i, u: _fori_ref(0, 2, lambda j, v: v * 0.5 + w, u) + 1, x)),
    "no_iterations": (lambda x, w: lax.fori_loop(3, 3, lambda i, u: u * 2, x) + w,
                      lambda x, w: x + w),
}


@pytest.mark.parametrize("name", list(LOOPS))
def test_device_loops_graphs_on_and_off(cuda, monkeypatch, name):
    f, ref = LOOPS[name]
    inputs = [(RNG.standard_normal(8).astype(np.float32), RNG.standard_normal(8).astype(np.float32))
              for _ in range(3)]
    g = jax.jit(f)
    on = []
    for x, w in inputs:
        dev = (jnp.asarray(x), jnp.asarray(w))
        before = dict(fc.stats)
        on.append(np.asarray(g(*dev)))
        counts = _counts(before)
    exe = _exe(g)
    assert exe._loops
    if name == "no_iterations":     # (the loop copies the initial value: not worth a graph)
        assert exe.graph_reason.startswith("not worth it")
    else:
        assert exe.graph_reason is None
        assert counts["launches"] == counts["graph_launches"] == 1 and counts["allocs"] == 1   # (the result)
    monkeypatch.setenv("GPUXLA_CUDA_GRAPHS", "0")
    h = jax.jit(lambda *a: f(*a))
    for k, ((x, w), got) in enumerate(zip(inputs, on)):
        want = ref(x.astype(np.float64), w.astype(np.float64))
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
        dev = (jnp.asarray(x), jnp.asarray(w))
        before = dict(fc.stats)
        off = np.asarray(h(*dev))
        assert off.tobytes() == got.tobytes()
        assert k == 0 or _counts(before)["allocs"] == 1     # no allocation per iteration, graphs or not
    assert _exe(h)._loops


def test_device_loop_launches_per_iteration(cuda, monkeypatch):
    # Without graphs an iteration is the body's launches (two kernels here: the counter and the
    # value); a loop too long to unroll into the program's graph replays its body's graph, one
    # launch an iteration.
    body = lambda i, u: u * 0.5 + 1     # noqa: E731
    x = RNG.standard_normal(16).astype(np.float32)
    want = _fori_ref(0, 9, body, x.astype(np.float64))

    def per_call(f):
        f(jnp.asarray(x))
        f(jnp.asarray(x))
        dev = jnp.asarray(x)
        before = dict(fc.stats)
        np.testing.assert_allclose(np.asarray(f(dev)), want, rtol=1e-5, atol=1e-5)
        return _counts(before)
    monkeypatch.setenv("GPUXLA_CUDA_GRAPHS", "0")
    c = per_call(jax.jit(lambda v: lax.fori_loop(0, 9, body, v)))
    assert c["launches"] == 2 * 9 and c["allocs"] == 1
    monkeypatch.delenv("GPUXLA_CUDA_GRAPHS")
    from gpuxla.backends.cuda import plan
    monkeypatch.setattr(plan, "GRAPH_MAX_UNROLLED", 10)
    g = jax.jit(lambda v: lax.fori_loop(0, 9, body, v))
    c = per_call(g)
    assert c["launches"] == c["graph_launches"] == 9 and c["allocs"] == 1
    assert "too long to unroll" in _exe(g).graph_reason


def test_a_loop_bodys_matmul_precision_is_captured_again(cuda):
    f = jax.jit(lambda x: lax.fori_loop(0, 3, lambda i, u: jnp.tanh(jnp.asarray(M8) @ u), x))
    x = RNG.standard_normal(8).astype(np.float32)
    want = _fori_ref(0, 3, lambda i, u: np.tanh(M8.astype(np.float64) @ u), x.astype(np.float64))
    for _ in range(3):
        np.testing.assert_allclose(np.asarray(f(jnp.asarray(x))), want, rtol=1e-5, atol=1e-5)
    assert _exe(f).graph_reason is None
    fc.matmul_log.clear()
    with jax.default_matmul_precision("tensorfloat32"):
        np.testing.assert_allclose(np.asarray(f(jnp.asarray(x))), want, rtol=3e-3, atol=3e-3)
    assert len(fc.matmul_log) == 3 and all(ct == fc.COMPUTE_TYPE_TF32 for _, ct in fc.matmul_log)
