"""pmap on several GPUs through the NCCL engine (gpuxla/parallel/nccl.py), run on fake GPUs
(tests/fake_cupy.py) with a fake NCCL (tests/fake_nccl.py): the same results as the host engine
on simulated CPU devices and as NumPy over the collectives table, grads through them, dtypes;
every device's kernels run on its own GPU (the fake faults otherwise) and every collective is one
NCCL call per device. Also the fake NCCL's own semantics, which the engine relies on."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from codegen_util import needs_cxx
from gpuxla import config, lax
from test_pmap import _table

import fake_cupy as fc
import fake_nccl

pytestmark = needs_cxx
RNG = np.random.default_rng(1616)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)


def on_host_devices(n, f, *args):
    """`f(*args)` on n simulated CPU devices of the numpy platform (the host engine)."""
    from gpuxla import backends
    from gpuxla.backends.numpy import NumpyBackend
    saved = backends._backend
    backends._backend = NumpyBackend()
    config.update("jax_num_cpu_devices", n)
    try:
        return jax.tree_util.tree_map(np.asarray, f(*args))
    finally:
        config.update("jax_num_cpu_devices", None)
        backends._backend = saved


@pytest.mark.parametrize("n", (1, 2, 4))
def test_collectives_match_the_host_engine_and_numpy(n):
    X = RNG.standard_normal((n, 3)).astype(np.float32)
    table = _table(n)
    want = {name: on_host_devices(n, jax.pmap(f, axis_name="i"), X) for name, f, _ in table}
    with fake_nccl.installed(4):
        assert [str(d) for d in jax.devices()] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
        for name, f, ref in table:
            fake_nccl.calls.clear()
            got = np.asarray(jax.pmap(f, axis_name="i")(jnp.asarray(X)))
            assert got.shape == want[name].shape, name
            close(got, want[name])
            close(got, ref(X.astype(np.float64)))
            # each collective of the trace is one NCCL call over a world of n, NCCL's own for it
            assert all(c[1] == n for c in fake_nccl.calls), (name, fake_nccl.calls)
            kinds = {c[0] for c in fake_nccl.calls}
            want_kind = next((k for p, k in _NCCL_CALL.items() if name.startswith(p)), "allReduce")
            if name == "axis_index" or (want_kind == "send/recv" and n == 1):    # (a world of one: a copy)
                assert not kinds, (name, kinds)
            else:
                assert kinds == {want_kind}, (name, kinds)


_NCCL_CALL = {"all_gather": "allGather", "psum_scatter": "reduceScatter", "ppermute": "send/recv"}


def _scatter_permute_table(n):
    """(name, per-device function of v of shape (2n, 2n), NumPy result for the stacked X, the NCCL
    calls expected: kind -> total count of elements (bytes for send/recv) over the world)."""
    def block(a, i, axis, k):
        return np.take(a, np.arange(i * k, (i + 1) * k), axis=axis)

    def scatter(axis, tiled):
        def ref(X):
            out = np.stack([block(X.sum(0), i, axis, 2) for i in range(n)])
            return out if tiled else np.expand_dims(out, axis + 1).reshape(out.shape)
        return ref

    def permute(perm):
        def ref(X):
            out = np.zeros_like(X)
            for s_, d in perm:
                out[d] = X[s_]
            return out
        return ref

    def a2a(split, concat):
        return lambda X: np.stack([np.concatenate([block(X[j], i, split, 2) for j in range(n)], axis=concat)
                                   for i in range(n)])
    nb = 4 * n * n * 4          # the bytes of one device's operand
    cyc, ident = [(i, (i + 1) % n) for i in range(n)], [(i, i) for i in range(n)]
    part = [(0, n - 1)] + ([(n - 1, 1)] if n > 2 else [])
    return [
        ("psum_scatter_tiled_dim0", lambda v: lax.psum_scatter(v, "i", tiled=True), scatter(0, True),
         {"reduceScatter": 2 * 2 * n}),
        ("psum_scatter_tiled_dim1", lambda v: lax.psum_scatter(v, "i", scatter_dimension=1, tiled=True),
         scatter(1, True), {"reduceScatter": 2 * 2 * n}),
        ("psum_scatter_dim0", lambda v: lax.psum_scatter(v.reshape(n, 2, 2 * n), "i"),
         lambda X: scatter(0, True)(X).reshape(n, 2, 2 * n), {"reduceScatter": 2 * 2 * n}),
        ("psum_scatter_dim1", lambda v: lax.psum_scatter(v.reshape(2 * n, n, 2), "i", scatter_dimension=1),
         scatter(1, True), {"reduceScatter": 2 * 2 * n}),
        # ppermute: one send/recv per edge that leaves a device, each moving one operand
        ("ppermute_cycle", lambda v: lax.ppermute(v, "i", cyc), permute(cyc), {"send/recv": n * nb}),
        ("ppermute_partial", lambda v: lax.ppermute(v, "i", part), permute(part), {"send/recv": len(part) * nb}),
        ("ppermute_identity", lambda v: lax.ppermute(v, "i", ident), lambda X: X, {}),
        ("all_to_all_tiled", lambda v: lax.all_to_all(v, "i", 1, 0, tiled=True), a2a(1, 0),
         {"send/recv": (n - 1) * nb}),
        ("all_to_all", lambda v: lax.all_to_all(v.reshape(n, 2, 2 * n), "i", 0, 2),
         lambda X: np.stack([np.stack([X[j].reshape(n, 2, 2 * n)[i] for j in range(n)], axis=2)
                             for i in range(n)]), {"send/recv": (n - 1) * nb}),
    ]


@pytest.mark.parametrize("n", (2, 4))
def test_scatter_permute_all_to_all_use_nccls_own_calls(n):
    X = RNG.standard_normal((n, 2 * n, 2 * n)).astype(np.float32)
    table = _scatter_permute_table(n)
    want = {name: on_host_devices(n, jax.pmap(f, axis_name="i"), X) for name, f, _, _ in table}
    with fake_nccl.installed(n):
        for name, f, ref, moved in table:
            fake_nccl.calls.clear()
            got = np.asarray(jax.pmap(f, axis_name="i")(jnp.asarray(X)))
            assert got.shape == want[name].shape, name
            close(got, want[name])
            close(got, ref(X.astype(np.float64)))
            total = {}
            for kind, world, _, count in fake_nccl.calls:
                assert world == n
                total[kind] = total.get(kind, 0) + count
            # reduceScatter logs each rank's block once per call (NCCL's recvcount); send/recv its bytes
            assert total == moved, (name, fake_nccl.calls)
        # psum_scatter in bfloat16 and ppermute of booleans: on NCCL's types, bytes for ppermute
        Xb = X[:, :, :2]
        got = jax.pmap(lambda v: lax.psum_scatter(v.astype(jnp.bfloat16), "i", tiled=True), axis_name="i")(
            jnp.asarray(Xb))
        assert got.dtype == jnp.bfloat16
        close(np.asarray(got.astype(np.float32)), Xb.sum(0).reshape(n, 2, 2), tol=2e-2)
        got = jax.pmap(lambda v: lax.ppermute(v > 0, "i", [(0, 1)]), axis_name="i")(jnp.asarray(Xb))
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(np.asarray(got), [np.zeros_like(Xb[0], bool), Xb[0] > 0] + [
            np.zeros_like(Xb[0], bool)] * (n - 2))


def test_gradients_through_collectives():
    n = 4
    X = RNG.standard_normal((n, 3)).astype(np.float32)
    fs = [lambda v: jnp.sum(lax.psum(v, "i") * v), lambda v: jnp.sum(jnp.sin(lax.pmax(v, "i")) * v),
          lambda v: jnp.sum(lax.all_gather(v, "i") * jnp.arange(float(n))[:, None]),
          lambda v: jnp.sum(lax.ppermute(v, "i", [(i, (i + 1) % n) for i in range(n)]) * v * v),
          lambda v: jnp.sum(lax.pmean(v * v, "i")),
          lambda v: jnp.sum(lax.psum_scatter(jnp.outer(jnp.ones(n), v), "i") ** 2),
          lambda v: jnp.sum(jnp.cos(lax.all_to_all(jnp.outer(jnp.arange(1.0, n + 1), v), "i", 0, 1)) * v[:, None])]
    want = [on_host_devices(n, jax.pmap(jax.grad(f), axis_name="i"), X) for f in fs]
    # the transposes: all_gather's is a reduce-scatter, psum_scatter's an all-gather, ppermute's the
    # inverse permutation (send/recv), all_to_all's an all_to_all (send/recv)
    calls = [None, None, {"reduceScatter"}, {"send/recv"}, None, {"reduceScatter", "allGather"},
             {"send/recv"}]
    with fake_nccl.installed(4):
        for f, w, c in zip(fs, want, calls):
            fake_nccl.calls.clear()
            close(jax.pmap(jax.grad(f), axis_name="i")(jnp.asarray(X)), w)
            assert c is None or {k for k, *_ in fake_nccl.calls} == c, fake_nccl.calls


def test_data_parallel_step_on_four_gpus_matches_one():
    n = 4

    def loss(params, x, y):
        w1, b1, w2 = params
        return jnp.mean((jnp.tanh(x @ w1 + b1) @ w2 - y) ** 2)

    def step(params, x, y):
        g = lax.pmean(jax.grad(loss)(params, x, y), "b")
        return [p - 0.1 * gi for p, gi in zip(params, g)]

    X = RNG.standard_normal((n, 8, 5)).astype(np.float32)
    Y = RNG.standard_normal((n, 8, 2)).astype(np.float32)
    P = [RNG.standard_normal((5, 16)).astype(np.float32) / 3, np.zeros(16, np.float32),
         RNG.standard_normal((16, 2)).astype(np.float32) / 4]
    train = jax.pmap(step, axis_name="b", in_axes=(None, 0, 0), out_axes=None)
    want = on_host_devices(n, lambda: train([jnp.asarray(p) for p in P], X, Y))
    with fake_nccl.installed(n):
        params = [jnp.asarray(p) for p in P]
        for _ in range(2):
            params = train(params, jnp.asarray(X), jnp.asarray(Y))
        one = [jnp.asarray(p) for p in P]
        for _ in range(2):
            g = jax.grad(loss)(one, jnp.asarray(X.reshape(-1, 5)), jnp.asarray(Y.reshape(-1, 2)))
            one = [p - 0.1 * gi for p, gi in zip(one, g)]
        for a, b in zip(params, one):
            close(a, b)
    first = on_host_devices(n, lambda: train([jnp.asarray(p) for p in P], X, Y))
    for a, b in zip(first, want):
        close(a, b)


def test_dtypes_on_the_wire():
    n = 2
    X = np.array([[1, -2, 3], [4, 5, -6]], np.float32)
    cases = [
        (lambda v: lax.psum(v.astype(jnp.int32), "i"), np.int32, X.sum(0)),
        (lambda v: lax.psum(v.astype(jnp.int16), "i"), np.int16, X.sum(0)),        # widened to int32
        (lambda v: lax.pmax(jnp.abs(v).astype(jnp.uint8), "i"), np.uint8, np.abs(X).max(0)),
        (lambda v: lax.pmin(v.astype(jnp.float16), "i"), np.float16, X.min(0)),
        (lambda v: lax.pmax(v.astype(jnp.bfloat16), "i"), jnp.bfloat16, X.max(0)),
        (lambda v: lax.psum(v.astype(jnp.bfloat16), "i"), jnp.bfloat16, X.sum(0)),
        (lambda v: lax.psum(v > 0, "i"), np.bool_, (X > 0).any(0)),
        (lambda v: lax.all_gather(v.astype(jnp.bfloat16), "i"), jnp.bfloat16, X),
        (lambda v: lax.all_gather(v > 0, "i"), np.bool_, X > 0),
    ]
    with fake_nccl.installed(n):
        for f, dt, ref in cases:
            got = jax.pmap(f, axis_name="i")(jnp.asarray(X))
            assert got.dtype == dt, (got.dtype, dt)
            want = np.broadcast_to(np.asarray(ref), (n,) + np.shape(ref))
            close(np.asarray(got.astype(np.float32) if dt == jnp.bfloat16 else got), want)
        z = jax.pmap(lambda v: lax.psum(v.astype(jnp.complex64) * (1 + 2j), "i"), axis_name="i")(jnp.asarray(X))
        assert z.dtype == np.complex64
        close(np.asarray(z).real, np.broadcast_to(X.sum(0), X.shape))
        close(np.asarray(z).imag, np.broadcast_to(2 * X.sum(0), X.shape))
        with pytest.raises(TypeError, match="'pmax' on complex64: NCCL has no complex max"):
            jax.pmap(lambda v: lax.pmax(v.astype(jnp.complex64), "i"), axis_name="i")(jnp.asarray(X))


def test_executables_devices_and_placement():
    n = 4
    X = RNG.standard_normal((n, 3)).astype(np.float32)
    c = jnp.arange(3.0)      # a constant on GPU 0 that every device's program reads
    with fake_nccl.installed(n):
        f = jax.pmap(lambda v, w: jnp.sin(v) * c + lax.psum(v * w, "i"), axis_name="i", in_axes=(0, None))
        w = jnp.ones(3) * 2
        x = jnp.asarray(X)
        got = f(x, w)
        d2h = fc.stats["d2h"]
        again = f(x, w)                     # (the first call's compile reads scalar constants)
        assert fc.stats["d2h"] == d2h       # split, collectives and stacking stay on the GPUs
        close(again, got)
        close(got, np.sin(X) * np.arange(3.0) + 2 * X.sum(0))
        plan = next(iter(f._cache.values()))
        exes = [e for e in plan._exes if e is not None]
        assert exes and all(len({id(x) for x in e}) == n for e in exes)        # one executable per device
        assert all(len({id(x.runtime) for x in e}) == n for e in exes)
        assert all(len({id(x.plan) for x in e}) == 1 for e in exes)            # compiled once
        # device_put onto GPU 2: the array lives there and knows it; computing with it copies it
        # to the default GPU; pmap over a subset of the devices
        d2 = jax.devices()[2]
        y = jax.device_put(jnp.arange(4.0), d2)
        assert y.device == d2 and y._buf.buf.device.id == 2
        close(y * 2, np.arange(4.0) * 2)
        sub = jax.pmap(lambda v, s: lax.psum(v, "i") + s, axis_name="i", in_axes=(0, None), devices=jax.devices()[2:])
        close(sub(jnp.asarray(X[:2]), y[:3]), np.broadcast_to(X[:2].sum(0) + np.arange(3.0), (2, 3)))
        assert jax.device_put(y, jax.devices()[0]).device == jax.devices()[0]
        with pytest.raises(fc.CUDARuntimeError, match="invalid device ordinal"):
            with fc.cuda.Device(7):
                pass


def test_one_gpu_without_nccl_uses_the_host_engine():
    X = RNG.standard_normal((1, 3)).astype(np.float32)
    with fc.installed():
        assert not hasattr(fc.cuda, "nccl")
        close(jax.pmap(lambda v: lax.psum(v, "i") * 2, axis_name="i")(jnp.asarray(X)), 2 * X)
        with pytest.raises(ValueError, match="requires 2 logical devices, but only 1"):
            jax.pmap(lambda v: v)(jnp.ones((2, 3)))
    with fc.installed(gpus=2):
        with pytest.raises(RuntimeError, match="pmap over several GPUs needs NCCL"):
            jax.pmap(lambda v: lax.psum(v, "i"), axis_name="i")(jnp.ones((2, 3)))


# --- the fake NCCL's semantics ------------------------------------------------------------------
def test_fake_nccl_is_strict_like_nccl():
    nccl = fake_nccl
    with fake_nccl.installed(3):
        cp = fc
        comms = nccl.NcclCommunicator.initAll(3)
        assert [c.device_id() for c in comms] == [0, 1, 2] and comms[1].size() == 3
        bufs = []
        for g in range(3):
            with cp.cuda.Device(g):
                bufs.append((cp.asarray(np.arange(6, dtype=np.float32) + 10 * g), cp.empty(6, np.float32)))
        with pytest.raises(nccl.NcclError, match="outside groupStart/groupEnd"):
            comms[0].allReduce(bufs[0][0].data.ptr, bufs[0][1].data.ptr, 6, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, 0)
        # reduceScatter: each rank gets its slice of the sum
        nccl.groupStart()
        for c, (s, r) in zip(comms, bufs):
            c.reduceScatter(s.data.ptr, r.data.ptr, 2, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, 0)
        nccl.groupEnd()
        total = sum(np.arange(6, dtype=np.float32) + 10 * g for g in range(3))
        for g, (_, r) in enumerate(bufs):
            close(r.get()[:2], total[2 * g:2 * g + 2])
        # send/recv around a ring
        nccl.groupStart()
        for g, (c, (s, r)) in enumerate(zip(comms, bufs)):
            c.send(s.data.ptr, 6, nccl.NCCL_FLOAT32, (g + 1) % 3, 0)
            c.recv(r.data.ptr, 6, nccl.NCCL_FLOAT32, (g - 1) % 3, 0)
        nccl.groupEnd()
        for g, (_, r) in enumerate(bufs):
            close(r.get(), np.arange(6) + 10 * ((g - 1) % 3))
        # a buffer on another GPU than the communicator's, a mismatched count, a bad datatype
        nccl.groupStart()
        for c, (s, r) in zip(comms, bufs[::-1]):
            c.allReduce(s.data.ptr, r.data.ptr, 6, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, 0)
        with pytest.raises(nccl.NcclError, match="on device 2, rank 0's communicator on device 0"):
            nccl.groupEnd()
        nccl.groupStart()
        for k, (c, (s, r)) in enumerate(zip(comms, bufs)):
            c.allReduce(s.data.ptr, r.data.ptr, 6 - k, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, 0)
        with pytest.raises(nccl.NcclError, match="different \\['count'\\]"):
            nccl.groupEnd()
        with pytest.raises(nccl.NcclError, match="invalid datatype"):
            comms[0].allGather(bufs[0][0].data.ptr, bufs[0][1].data.ptr, 2, 42, 0)
        nccl.groupStart()
        comms[0].allGather(bufs[0][0].data.ptr, bufs[0][1].data.ptr, 2, nccl.NCCL_FLOAT32, 0)
        with pytest.raises(nccl.NcclError, match="never|missing"):
            nccl.groupEnd()
        nccl.groupStart()
        comms[0].allGather(bufs[0][0].data.ptr, bufs[0][1].data.ptr, 7, nccl.NCCL_FLOAT32, 0)
        comms[1].allGather(bufs[1][0].data.ptr, bufs[1][1].data.ptr, 7, nccl.NCCL_FLOAT32, 0)
        comms[2].allGather(bufs[2][0].data.ptr, bufs[2][1].data.ptr, 7, nccl.NCCL_FLOAT32, 0)
        with pytest.raises(nccl.NcclError, match="not inside one device allocation"):
            nccl.groupEnd()
        # ranks of one world made one by one, outside a group, in one thread: NCCL would hang
        uid = nccl.get_unique_id()
        with pytest.raises(nccl.NcclError, match="never joined"):
            nccl.NcclCommunicator(2, uid, 0)
        uid = nccl.get_unique_id()
        nccl.groupStart()
        for g in range(2):
            with cp.cuda.Device(g):
                nccl.NcclCommunicator(2, uid, g)
        nccl.groupEnd()
        uid = nccl.get_unique_id()
        with cp.cuda.Device(0):
            nccl.groupStart()
            nccl.NcclCommunicator(2, uid, 0)
            with pytest.raises(nccl.NcclError, match="Duplicate GPU"):
                nccl.NcclCommunicator(2, uid, 1)
            with pytest.raises(nccl.NcclError, match="rank 0 joined twice"):
                nccl.NcclCommunicator(2, uid, 0)
            with pytest.raises(nccl.NcclError, match="never joined"):
                nccl.groupEnd()


def test_the_allreduce_bench_runs_on_fake_gpus(capsys):
    # bench/allreduce.py checks both sums before timing; here only that the script works.
    from bench import allreduce
    assert allreduce.main(["--fake", "2", "--repeats", "1", "--mbytes", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "2 fake GPUs" in out and "psum / NCCL bandwidth" in out
