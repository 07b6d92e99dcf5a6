"""Devices and pmap on simulated host devices (jax_num_cpu_devices): results against NumPy, a loop
over devices and vmap with the same axis name over the collectives; gradients through them; nesting
with vmap, grad and jit; the errors JAX gives; compiled once per signature."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import config, lax

RNG = np.random.default_rng(16)
SIZES = (1, 2, 4, 8)


@pytest.fixture(autouse=True)
def eight_devices():
    config.update("jax_num_cpu_devices", 8)
    yield
    config.update("jax_num_cpu_devices", None)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


# --- devices ----------------------------------------------------------------------------------
def test_devices_follow_the_option_and_the_variable(monkeypatch):
    assert jax.device_count() == jax.local_device_count() == len(jax.devices()) == 8
    assert [d.id for d in jax.local_devices()] == list(range(8))
    assert jax.devices()[0] == jax.numpy.zeros(1).device
    assert jax.process_index() == 0 and jax.process_count() == 1
    config.update("jax_num_cpu_devices", None)
    monkeypatch.setenv("GPUXLA_NUM_CPU_DEVICES", "3")
    assert [str(d) for d in jax.devices()] == ["cpu:0", "cpu:1", "cpu:2"]
    monkeypatch.setenv("GPUXLA_NUM_CPU_DEVICES", "0")
    with pytest.raises(ValueError, match="positive integer"):
        jax.devices()


def test_device_put_places_and_keeps_values():
    d = jax.devices()[5]
    x = jax.device_put(np.arange(3.0, dtype=np.float32), d)
    assert x.device == d and x.devices() == {d}
    close(x, [0.0, 1.0, 2.0])
    tree = jax.device_put({"a": jnp.ones(2), "b": 3.0}, d)
    assert tree["a"].device == tree["b"].device == d
    assert jax.device_put(jnp.ones(2)).device == jax.devices()[0]
    with pytest.raises(TypeError, match="expected a Device"):
        jax.device_put(jnp.ones(2), 1)


# --- the collectives: pmap == vmap == NumPy ---------------------------------------------------
def _table(n):
    """(name, per-device function, NumPy result for the stacked input X of shape (n, 3))."""
    perm = [(i, (i + 1) % n) for i in range(n)]
    half = [(i, i + 1) for i in range(n - 1)]
    return [
        ("psum", lambda v: lax.psum(v, "i"), lambda X: np.broadcast_to(X.sum(0), X.shape)),
        ("pmean", lambda v: lax.pmean(v, "i"), lambda X: np.broadcast_to(X.mean(0), X.shape)),
        ("pmax", lambda v: lax.pmax(v, "i"), lambda X: np.broadcast_to(X.max(0), X.shape)),
        ("pmin", lambda v: lax.pmin(v, "i"), lambda X: np.broadcast_to(X.min(0), X.shape)),
        ("all_gather", lambda v: lax.all_gather(v, "i"), lambda X: np.broadcast_to(X, (n,) + X.shape)),
        ("all_gather_tiled_axis1", lambda v: lax.all_gather(v[None], "i", axis=1, tiled=True),
         lambda X: np.broadcast_to(X.reshape(1, -1), (n, 1, 3 * n))),
        ("psum_scatter", lambda v: lax.psum_scatter(jnp.outer(jnp.ones(n), v) * jnp.arange(1.0, n + 1)[:, None], "i"),
         lambda X: np.arange(1.0, n + 1)[:, None] * X.sum(0)),
        ("psum_scatter_tiled", lambda v: lax.psum_scatter(jnp.tile(v, n), "i", tiled=True),
         lambda X: np.broadcast_to(X.sum(0), X.shape)),
        ("ppermute_cycle", lambda v: lax.ppermute(v, "i", perm), lambda X: np.roll(X, 1, axis=0)),
        ("ppermute_shift", lambda v: lax.ppermute(v, "i", half),
         lambda X: np.concatenate([np.zeros_like(X[:1]), X[:-1]])),
        ("axis_index", lambda v: v * lax.axis_index("i"), lambda X: X * np.arange(n)[:, None]),
        ("normalise", lambda v: v / lax.psum(jnp.abs(v), "i") + lax.pmax(jnp.sin(v), "i"),
         lambda X: X / np.abs(X).sum(0) + np.sin(X).max(0)),
        ("chained", lambda v: lax.psum(jnp.exp(lax.pmean(v, "i") - v), "i") * lax.axis_index("i"),
         lambda X: np.exp(X.mean(0) - X).sum(0) * np.arange(n)[:, None]),
    ]


@pytest.mark.parametrize("n", SIZES)
def test_collectives_match_numpy_and_vmap(n):
    X = RNG.standard_normal((n, 3)).astype(np.float32)
    for name, f, ref in _table(n):
        got = jax.pmap(f, axis_name="i")(jnp.asarray(X))
        close(got, ref(X.astype(np.float64)))
        close(got, jax.vmap(f, axis_name="i")(jnp.asarray(X)))
        assert got.shape == jax.vmap(f, axis_name="i")(jnp.asarray(X)).shape, name


@pytest.mark.parametrize("n", SIZES)
def test_without_collectives_is_a_loop_over_devices(n):
    W = RNG.standard_normal((3, 4)).astype(np.float32)
    X = RNG.standard_normal((n, 5, 3)).astype(np.float32)
    f = lambda x, w: (jnp.tanh(x @ w), {"s": jnp.sum(x, axis=0)})
    got = jax.pmap(f, in_axes=(0, None))(jnp.asarray(X), jnp.asarray(W))
    for d in range(n):
        want = f(jnp.asarray(X[d]), jnp.asarray(W))
        close(got[0][d], want[0])
        close(got[1]["s"][d], want[1]["s"])


@pytest.mark.parametrize("n", (2, 4, 8))
def test_gradients_through_collectives(n):
    X = RNG.standard_normal((n, 3)).astype(np.float32)
    fs = [lambda v: jnp.sum(lax.psum(v, "i") * v), lambda v: jnp.sum(jnp.sin(lax.pmax(v, "i")) * v),
          lambda v: jnp.sum(lax.all_gather(v, "i") * jnp.arange(float(n))[:, None]),
          lambda v: jnp.sum(lax.ppermute(v, "i", [(i, (i + 1) % n) for i in range(n)]) * v * v),
          lambda v: jnp.sum(lax.pmean(v * v, "i"))]
    for f in fs:
        got = jax.pmap(jax.grad(f), axis_name="i")(jnp.asarray(X))
        close(got, jax.vmap(jax.grad(f), axis_name="i")(jnp.asarray(X)))
    # Per device f = S.v with S = psum(v): the direct term S, plus psum's transpose (a psum) of
    # the cotangent v: S again.
    g = jax.pmap(jax.grad(lambda v: jnp.sum(lax.psum(v, "i") * v)), axis_name="i")(jnp.asarray(X))
    close(g, np.broadcast_to(2 * X.sum(0), X.shape))


def test_gradient_of_the_mean_loss_matches_finite_differences():
    n = 4
    X = RNG.standard_normal((n, 6, 3)).astype(np.float32)
    w0 = RNG.standard_normal(3).astype(np.float32)

    def step(w, x):
        return lax.pmean(jax.grad(lambda w: jnp.mean(jnp.tanh(x @ w) ** 2))(w), "i")
    g = jax.pmap(step, axis_name="i", in_axes=(None, 0))(jnp.asarray(w0), jnp.asarray(X))
    loss = lambda w: np.mean([np.mean(np.tanh(X[d].astype(np.float64) @ w) ** 2) for d in range(n)])
    eps = 1e-4
    fd = [(loss(w0 + eps * e) - loss(w0 - eps * e)) / (2 * eps) for e in np.eye(3)]
    for d in range(n):
        close(g[d], fd, tol=2e-3)


# --- nesting ----------------------------------------------------------------------------------
def test_nested_with_vmap_jit_and_grad():
    X = RNG.standard_normal((4, 2, 3)).astype(np.float32)
    x = jnp.asarray(X)
    # vmap inside pmap, collectives over both axes and over one.
    f = lambda v: lax.psum(v, ("i", "j")) + lax.psum(v, "j") * lax.axis_index("i")
    close(jax.pmap(jax.vmap(f, axis_name="j"), axis_name="i")(x),
          jax.vmap(jax.vmap(f, axis_name="j"), axis_name="i")(x))
    # jit inside pmap.
    g = jax.jit(lambda v: jnp.cos(v) * lax.psum(v, "i"))
    close(jax.pmap(g, axis_name="i")(x), np.cos(X) * X.sum(0))
    # pmap under jit, grad and vmap: the same values (computed as vmap on the default device).
    h = jax.pmap(lambda v: v * lax.psum(v, "i"), axis_name="i")
    close(jax.jit(h)(x), X * X.sum(0))
    gw = jax.grad(lambda w: jnp.sum(h(x * w)))(2.0)
    close(gw, np.sum(2 * 2.0 * X * X.sum(0)), tol=1e-4)
    close(jax.vmap(h)(jnp.asarray(np.stack([X, 2 * X]))), np.stack([X * X.sum(0), 4 * X * X.sum(0)]))


def test_axes_statics_and_pytrees():
    X = RNG.standard_normal((3, 4)).astype(np.float32)
    x = jnp.asarray(X)
    # in_axes=1, out_axes=1 and None.
    got = jax.pmap(lambda v: v * 2, in_axes=1, out_axes=1)(x.T)
    close(got, X.T * 2)
    s = jax.pmap(lambda v: lax.psum(v, "i"), axis_name="i", out_axes=None)(x)
    close(s, X.sum(0))
    # a static argument, a keyword argument (mapped over axis 0) and a dict output.
    f = jax.pmap(lambda v, k, *, b: {"y": v * k + b}, static_broadcasted_argnums=(1,))
    close(f(x, 3, b=x)["y"], X * 4)
    close(f(x, 5, b=x)["y"], X * 6)
    with pytest.raises(ValueError, match="Non-hashable static arguments"):
        f(x, [1], b=x)


def test_compiled_once_and_cut_at_collectives():
    calls = []

    def f(v):
        calls.append(1)
        return lax.psum(jnp.sin(v), "i") * v + lax.pmax(v, "i")
    pf = jax.pmap(f, axis_name="i")
    x = jnp.asarray(RNG.standard_normal((4, 3)).astype(np.float32))
    a = pf(x)
    b = pf(x + 1)
    assert len(calls) == 1
    close(b, np.sin(np.asarray(x) + 1).sum(0) * (np.asarray(x) + 1) + (np.asarray(x) + 1).max(0))
    (plan,) = pf._cache.values()
    # One collective level: the stage before (sin) and the stage after (the products), each one executable.
    assert plan.levels == 1 and all(st is not None for _, st in plan.steps)
    assert [len(c) for c, _ in plan.steps] == [0, 2]
    close(a, np.sin(np.asarray(x)).sum(0) * np.asarray(x) + np.asarray(x).max(0))
    pf(jnp.ones((2, 3)))        # a new device count is a new signature
    assert len(calls) == 2


def test_on_the_cuda_interpret_platform(monkeypatch):
    from codegen_util import needs_cxx  # noqa: F401  (the skip below)
    from gpuxla import backends
    from gpuxla.backends.cuda import InterpretBackend, interpret
    if interpret.host_compiler() is None:
        pytest.skip("cuda-interpret needs a host C++ compiler")
    monkeypatch.setattr(backends, "_backend", InterpretBackend())
    X = RNG.standard_normal((2, 3)).astype(np.float32)
    got = jax.pmap(lambda v: jnp.exp(v) / lax.psum(jnp.exp(v), "i"), axis_name="i")(jnp.asarray(X))
    close(got, np.exp(X) / np.exp(X).sum(0))


# --- errors -----------------------------------------------------------------------------------
def test_errors_as_jax_words_them():
    f = jax.pmap(lambda v: lax.psum(v, "i"), axis_name="i")
    with pytest.raises(ValueError, match="requires 9 logical devices, but only 8"):
        f(jnp.ones((9, 2)))
    g = jax.pmap(lambda v: v, devices=jax.devices()[:2])
    with pytest.raises(ValueError, match="Got axis_size=3, num_local_devices=2"):
        g(jnp.ones((3, 2)))
    close(g(jnp.ones((2, 2))), np.ones((2, 2)))
    with pytest.raises(ValueError, match="inconsistent sizes"):
        jax.pmap(lambda a, b: a + b)(jnp.ones((2, 3)), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="rank should be at least 1"):
        jax.pmap(lambda a: a)(jnp.float32(1.0))
    with pytest.raises(TypeError, match="pmap in_axes must be an int"):
        jax.pmap(lambda a: a, in_axes="x")
    with pytest.raises(ValueError, match="at least one argument"):
        jax.pmap(lambda: 1.0)()
    with pytest.raises(NameError, match="unbound axis name: j"):
        jax.pmap(lambda v: lax.psum(v, "j"), axis_name="i")(jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="must be non-empty"):
        jax.pmap(lambda a: a, devices=[])
    with pytest.raises(ValueError, match="ppermute sources and destinations must be unique"):
        jax.pmap(lambda v: lax.ppermute(v, "i", [(0, 1), (1, 1)]), axis_name="i")(jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="must equal the axis size 2"):
        jax.pmap(lambda v: lax.psum_scatter(v, "i"), axis_name="i")(jnp.ones((2, 3)))
    with pytest.raises(NotImplementedError, match="'psum' inside the body of 'scan'"):
        jax.pmap(lambda v: lax.scan(lambda c, _: (lax.psum(c, "i"), None), v, None, length=2)[0],
                 axis_name="i")(jnp.ones((2, 2)))


def test_scalars_constants_dtypes_and_control_flow():
    n = 4
    X = np.arange(2.0 * n, dtype=np.float32).reshape(n, 2)
    x = jnp.asarray(X)
    # a per-device scalar keeps rank 0; psum of a constant is the device count.
    close(jax.pmap(lambda v: v * lax.psum(1, "i"), axis_name="i")(jnp.arange(4.0)), np.arange(4.0) * n)
    assert jax.pmap(lambda v: lax.psum(1, "i"), axis_name="i")(x).tolist() == [n] * n
    c = jnp.ones(2) * 5
    close(jax.pmap(lambda v: c)(x), np.full((n, 2), 5.0))
    idx, three = jax.pmap(lambda v: (lax.axis_index("i"), 3.0), axis_name="i")(x)
    assert idx.dtype == np.int32 and idx.tolist() == list(range(n)) and three.weak_type
    s = jax.pmap(lambda v: lax.psum(v.astype(jnp.int32), "i"), axis_name="i")(x)
    assert s.dtype == np.int32 and s.tolist() == [X.sum(0).astype(int).tolist()] * n
    b = jax.pmap(lambda v: lax.pmax(v.astype(jnp.bfloat16), "i"), axis_name="i")(x)
    assert b.dtype == jnp.bfloat16
    close(b.astype(np.float32), np.broadcast_to(X.max(0), X.shape))
    # axis_index inside loop and branch bodies (a per-device input, not a collective).
    f = lambda v: lax.fori_loop(0, 3, lambda i, a: a + lax.axis_index("i"), v)
    close(jax.pmap(f, axis_name="i")(x), X + 3 * np.arange(n)[:, None])
    g = lambda v: lax.cond(lax.axis_index("i") > 1, lambda a: a * 2, lambda a: -a, v)
    close(jax.pmap(g, axis_name="i")(x), np.where(np.arange(n)[:, None] > 1, 2 * X, -X))
    # per-device random keys: the same numbers as vmap.
    keys = jax.random.split(jax.random.PRNGKey(0), n)
    close(jax.pmap(lambda k: jax.random.normal(k, (3,)))(keys), jax.vmap(lambda k: jax.random.normal(k, (3,)))(keys))


@pytest.mark.parametrize("n", (2, 4))
def test_data_parallel_training_matches_one_device(n):
    # The README's step: pmean of the per-device gradients over equal slices is the gradient of
    # the whole batch, so N devices train exactly as one device on the concatenated batch.
    def loss(params, x, y):
        for w, b in params[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = params[-1]
        return jnp.mean((x @ w + b - y) ** 2)

    def step(params, x, y):
        grads = lax.pmean(jax.grad(loss)(params, x, y), "batch")
        return jax.tree_util.tree_map(lambda p, g: p - 0.05 * g, params, grads)

    one = jax.jit(lambda params, x, y: jax.tree_util.tree_map(lambda p, g: p - 0.05 * g, params,
                                                              jax.grad(loss)(params, x, y)))
    train = jax.pmap(step, axis_name="batch", in_axes=(None, 0, 0), out_axes=None)
    rng = np.random.default_rng(n)
    params = [(jnp.asarray(rng.standard_normal((a, b)) / np.sqrt(a), dtype=jnp.float32), jnp.zeros(b))
              for a, b in ((5, 16), (16, 1))]
    X = rng.standard_normal((n, 8, 5)).astype(np.float32)
    Y = np.sin(X.sum(-1, keepdims=True))
    p_dp, p_one = params, params
    for _ in range(5):
        p_dp = train(p_dp, X, Y)
        p_one = one(p_one, X.reshape(-1, 5), Y.reshape(-1, 1))
    for a, b in zip(jax.tree_util.tree_leaves(p_dp), jax.tree_util.tree_leaves(p_one)):
        close(a, b, tol=1e-5)
    assert float(loss(p_one, X.reshape(-1, 5), Y.reshape(-1, 1))) < float(loss(params, X.reshape(-1, 5),
                                                                            Y.reshape(-1, 1)))


def test_device_put_sharded_and_replicated_feed_pmap():
    devs = jax.devices()[:3]
    shards = [{"a": np.full(2, i, np.float32)} for i in range(3)]
    s = jax.device_put_sharded(shards, devs)
    close(s["a"], np.repeat(np.arange(3.0)[:, None], 2, 1))
    r = jax.device_put_replicated(jnp.arange(2.0), devs)
    close(r, np.tile(np.arange(2.0), (3, 1)))
    close(jax.pmap(lambda a, b: a["a"] + lax.psum(b, "i"), axis_name="i")(s, r), np.arange(3.0)[:, None] + 3 * np.arange(2.0))
    with pytest.raises(ValueError, match="len\\(shards\\) = 3 must equal len\\(devices\\) = 2"):
        jax.device_put_sharded(shards, devs[:2])


def test_on_the_fake_cuda_platform(monkeypatch):
    # The cuda platform's code path (CuPy buffers through the host engine) on tests/fake_cupy.py:
    # one GPU without NCCL is a world of one; several GPUs are listed, and pmap over them needs
    # NCCL (tests/test_nccl.py runs it on a fake NCCL).
    import fake_cupy as fc
    X = RNG.standard_normal((1, 3)).astype(np.float32)
    with fc.installed():
        assert [str(d) for d in jax.devices()] == ["cuda:0"]
        got = jax.pmap(lambda v: jnp.exp(v) * lax.psum(v, "i") + lax.axis_index("i"), axis_name="i")(jnp.asarray(X))
        close(np.asarray(got), np.exp(X) * X)
    with fc.installed(gpus=2):
        assert jax.device_count() == 2 and str(jax.devices()[1]) == "cuda:1"
        with pytest.raises(RuntimeError, match="pmap over several GPUs needs NCCL"):
            jax.pmap(lambda v: lax.psum(v, "i"), axis_name="i")(jnp.ones((2, 3)))
        close(jax.pmap(lambda v: jnp.exp(v))(jnp.asarray(np.r_[X, X])), np.exp(np.r_[X, X]))
        assert jax.device_put(jnp.ones(2), jax.devices()[1]).device == jax.devices()[1]


def test_num_cpu_devices_option_is_checked():
    with pytest.raises(ValueError, match="jax_num_cpu_devices must be a positive integer"):
        config.update("jax_num_cpu_devices", 0)
    assert jax.device_count() == 8


def test_scatter_permute_all_to_all_nested_with_vmap():
    # Each collective over the pmap axis and over an inner vmap axis at once: pmap(vmap) runs the
    # inner one's batching rule on a batched operand ("not mine") and the engine's per-device
    # rule; vmap(vmap) in both nesting orders batches each the other way. JAX 0.10.2 gives the
    # same values (its vmap needs full permutations, so these are full).
    X = RNG.standard_normal((2, 3, 6, 2)).astype(np.float32)
    fs = [lambda v: lax.psum_scatter(v, "i", scatter_dimension=1) * lax.psum_scatter(v, "j", tiled=True).sum(),
          lambda v: lax.ppermute(v, "i", [(0, 1), (1, 0)]) + lax.ppermute(v, "j", [(0, 2), (2, 1), (1, 0)]),
          lambda v: (lax.all_to_all(v, "i", 1, 0, tiled=True).sum() + lax.all_to_all(v, "i", 1, 0)
                     + lax.all_to_all(v, "j", 0, 1, tiled=True).sum()),
          jax.grad(lambda v: jnp.sum(jnp.sin(lax.all_to_all(v, "i", 1, 0, tiled=True))
                                     * lax.ppermute(v, "j", [(0, 1), (1, 2), (2, 0)]).sum()))]
    x = jnp.asarray(X)
    for f in fs:
        want = jax.vmap(jax.vmap(f, axis_name="j"), axis_name="i")(x)
        close(jax.pmap(jax.vmap(f, axis_name="j"), axis_name="i")(x), want)
        close(jax.vmap(jax.vmap(f, axis_name="i"), axis_name="j", in_axes=1, out_axes=1)(x), want)
    # against NumPy: the sum over both axes, scattered over both
    got = jax.pmap(jax.vmap(fs[0], axis_name="j"), axis_name="i")(x)
    tot_i = X.sum(0)                                        # (3, 6, 2): psum_scatter over i, dim 1
    tot_j = X.sum(1)                                        # (2, 6, 2): tiled over j, dim 0
    ref = np.stack([np.stack([tot_i[j][:, i] * tot_j[i][2 * j:2 * j + 2].sum() for j in range(3)])
                    for i in range(2)])
    close(got, ref)
    with pytest.raises(ValueError, match="all_to_all: the split axis 0 of an operand of shape \\(3, 2\\) must equal "
                                         "the axis size 2"):
        jax.pmap(lambda v: lax.all_to_all(v, "i", 0, 1), axis_name="i")(jnp.ones((2, 3, 2)))
    with pytest.raises(ValueError, match="all_to_all: concat_axis 2 is out of bounds"):
        jax.vmap(lambda v: lax.all_to_all(v, "i", 0, 2, tiled=True), axis_name="i")(jnp.ones((2, 4, 2)))
    with pytest.raises(NotImplementedError, match="all_to_all: axis_index_groups"):
        jax.vmap(lambda v: lax.all_to_all(v, "i", 0, 0, axis_index_groups=[[0, 1]]), axis_name="i")(jnp.ones((2, 2)))
