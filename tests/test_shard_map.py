"""jax.make_mesh, Mesh / NamedSharding / PartitionSpec over simulated CPU devices and shard_map
(jax.shard_map and jax.experimental.shard_map.shard_map) on 1, 2 and 4 devices, against NumPy;
the 2x2 mesh's values were recorded from JAX 0.10.2 with 4 forced host devices."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import config, lax
from gpuxla.experimental.shard_map import shard_map as old_shard_map
from gpuxla.sharding import Mesh, NamedSharding, PartitionSpec as P

RNG = np.random.default_rng(21)


@pytest.fixture(autouse=True)
def four_devices():
    config.update("jax_num_cpu_devices", 4)
    yield
    config.update("jax_num_cpu_devices", None)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)


def test_meshes():
    m = jax.make_mesh((2, 2), ("x", "y"))
    assert m.shape == {"x": 2, "y": 2} and m.size == 4 and m.axis_names == ("x", "y")
    assert [[d.id for d in row] for row in m.devices] == [[0, 1], [2, 3]]
    assert m.device_ids.tolist() == [[0, 1], [2, 3]]
    assert jax.make_mesh((2,), "x").devices.tolist() == jax.devices()[:2]
    with pytest.raises(ValueError, match="needs 8 devices, but only 4"):
        jax.make_mesh((4, 2), ("x", "y"))
    with pytest.raises(ValueError, match="devices must be distinct"):
        Mesh(np.array([jax.devices()[0]] * 2), ("x",))
    s = NamedSharding(m, P("x", None))
    assert s.device_set == set(jax.devices()) and s.spec == P("x", None)
    x = jax.device_put(jnp.arange(4.0), s)              # kept whole on the default device
    close(x, np.arange(4.0))
    assert x.device == jax.devices()[0]


@pytest.mark.parametrize("n", (1, 2, 4))
def test_one_axis_against_numpy(n):
    mesh = Mesh(np.array(jax.devices()[:n]), ("x",))
    X = RNG.standard_normal((4 * n, 3)).astype(np.float32)
    W = RNG.standard_normal((3, 5)).astype(np.float32)
    blocks = X.reshape(n, 4, 3)
    # data parallel: each block times the replicated W, the blocks back in order
    f = jax.shard_map(lambda x, w: jnp.tanh(x @ w), mesh=mesh, in_specs=(P("x"), P()), out_specs=P("x"))
    close(f(jnp.asarray(X), jnp.asarray(W)), np.tanh(X @ W))
    # a psum'd result is replicated: out_specs P()
    g = jax.shard_map(lambda x: lax.psum(jnp.sum(x, 0), "x"), mesh=mesh, in_specs=P("x"), out_specs=P())
    close(g(jnp.asarray(X)), X.sum(0))
    # split along dimension 1, per-block axis_index, and a pytree with a P(None, 'x') spec
    h = jax.shard_map(lambda d: {"y": d["a"] * (lax.axis_index("x") + 1), "m": lax.pmax(d["a"].max(), "x")},
                      mesh=mesh, in_specs=({"a": P(None, "x")},), out_specs={"y": P(None, "x"), "m": P()})
    Z = RNG.standard_normal((3, 2 * n)).astype(np.float32)
    got = h({"a": jnp.asarray(Z)})
    close(got["y"], Z * np.repeat(np.arange(1, n + 1), 2)[None])
    close(got["m"], Z.max())
    # all_gather of the blocks, ppermute around the ring (the older API, positional)
    k = old_shard_map(lambda x: (lax.all_gather(x, "x", tiled=True), lax.ppermute(x, "x", [(i, (i + 1) % n)
                                                                                          for i in range(n)])),
                      mesh, in_specs=P("x"), out_specs=(P(), P("x")))
    gathered, rolled = k(jnp.asarray(X))
    close(gathered, X)
    close(rolled, np.roll(blocks, 1, axis=0).reshape(X.shape))
    # under jit and grad: pmap means vmap there
    loss = jax.jit(jax.grad(lambda w, x: jnp.sum(jax.shard_map(lambda a, b: lax.psum(jnp.sum((a @ b) ** 2), "x"),
                                                               mesh=mesh, in_specs=(P("x"), P()),
                                                               out_specs=P())(x, w))))
    close(loss(jnp.asarray(W), jnp.asarray(X)), 2 * X.T @ (X @ W), tol=1e-4)


def test_two_axes_as_jax():
    mesh = jax.make_mesh((2, 2), ("x", "y"))
    A = np.arange(16.0, dtype=np.float32).reshape(4, 4)
    k = jax.shard_map(lambda a: lax.psum(a, "y") + lax.axis_index("x") * 100, mesh=mesh, in_specs=P("x", "y"),
                      out_specs=P("x", "y"))
    close(k(jnp.asarray(A)), [[2, 4, 2, 4], [10, 12, 10, 12], [118, 120, 118, 120], [126, 128, 126, 128]])
    s = jax.shard_map(lambda a: lax.psum(a, ("x", "y")), mesh=mesh, in_specs=P("x", "y"), out_specs=P())
    close(s(jnp.asarray(A)), [[20, 24], [36, 40]])
    with mesh:                                           # the mesh in scope
        t = jax.shard_map(lambda a: lax.psum(a, "x"), in_specs=P(None, "y"), out_specs=P(None, "y"))
        close(t(jnp.asarray(A)), 2 * A)


def test_errors():
    mesh = Mesh(np.array(jax.devices()), ("x",))
    with pytest.raises(ValueError, match="not evenly divisible .* mesh axis 'x' of size 4"):
        jax.shard_map(lambda a: a, mesh=mesh, in_specs=P("x"), out_specs=P("x"))(jnp.ones(6))
    with pytest.raises(ValueError, match="require replication over a mesh axis"):
        jax.shard_map(lambda a: a * 2, mesh=mesh, in_specs=P("x"), out_specs=P())(jnp.ones(8))
    close(jax.shard_map(lambda a: a * 2, mesh=mesh, in_specs=P("x"), out_specs=P(), check_vma=False)(jnp.ones(8)),
          np.full(2, 2.0))
    with pytest.raises(ValueError, match="names 'y', which is not an axis"):
        jax.shard_map(lambda a: a, mesh=mesh, in_specs=P("y"), out_specs=P("x"))(jnp.ones(8))
    with pytest.raises(ValueError, match="no mesh given"):
        jax.shard_map(lambda a: a, in_specs=P("x"), out_specs=P("x"))(jnp.ones(8))
    with pytest.raises(NotImplementedError, match="several mesh axes"):
        m2 = jax.make_mesh((2, 2), ("x", "y"))
        jax.shard_map(lambda a: a, mesh=m2, in_specs=P(("x", "y")), out_specs=P(("x", "y")))(jnp.ones(8))
