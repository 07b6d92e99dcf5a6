"""vmap: the seed workloads (naive loop = manual batching = vmap), graph structure, in_axes /
out_axes / axis_size, errors as JAX words them, named axes and collectives, and composition with
grad, jvp, vjp, jacobians, custom derivatives and jit. Reference values marked "JAX 0.10.2" were
computed with jax 0.10.2 on the same inputs."""
import collections

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.errors import ConcretizationTypeError


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


def prims(f, *args):
    return [e.prim.name for e in jax.make_jaxpr(f)(*args).eqns]


def R(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --- seed workloads ---------------------------------------------------------------------------
def test_quickstart_apply_matrix():
    mat = jnp.asarray(R(150, 100, seed=1701))
    batched_x = jnp.asarray(R(10, 100, seed=1702))

    def apply_matrix(x):
        return jnp.dot(mat, x)

    def naively_batched_apply_matrix(v_batched):
        return jnp.stack([apply_matrix(v) for v in v_batched])

    def batched_apply_matrix(batched_x):
        return jnp.dot(batched_x, mat.T)

    vmap_batched_apply_matrix = jax.vmap(apply_matrix)
    want = np.asarray(batched_x, np.float64) @ np.asarray(mat, np.float64).T
    for f in (naively_batched_apply_matrix, batched_apply_matrix, vmap_batched_apply_matrix):
        close(f(batched_x), want, 1e-4)
    # One matrix-matrix product, then the transpose to out_axes=0, exactly as JAX's jaxpr.
    assert prims(vmap_batched_apply_matrix, batched_x) == ["dot_general", "transpose"]
    assert prims(naively_batched_apply_matrix, batched_x).count("dot_general") == 10


def test_simple_linear_unbatched_weights():
    def simple_linear(x, w, b):
        return jnp.dot(x, w) + b
    x, w, b = R(8, 3), R(3, 2, seed=1), R(2, seed=2)
    out = jax.vmap(simple_linear, in_axes=(0, None, None))(x, w, b)
    close(out, x.astype(np.float64) @ w + b)
    assert collections.Counter(prims(jax.vmap(simple_linear, in_axes=(0, None, None)), x, w, b))["dot_general"] == 1


def test_vmap_model_has_the_hand_batched_graph():
    W, b = jnp.asarray(R(4, 3)), jnp.asarray(R(4, seed=1))
    V = jnp.asarray(R(5, 3, seed=2))

    def model(v):
        return jnp.tanh(jnp.dot(W, v) + b)

    def hand(V):
        return jnp.tanh(jnp.einsum("ij,bj->bi", W, V) + b)
    close(jax.vmap(model)(V), hand(V))
    assert collections.Counter(prims(jax.vmap(model), V)) == collections.Counter(prims(hand, V))


def test_per_example_gradients_jax_values():
    w = jnp.asarray(np.linspace(-1, 1, 4), jnp.float32)
    b = jnp.float32(0.3)
    X = jnp.asarray(np.sin(np.arange(20.0)).reshape(5, 4), jnp.float32)
    y = jnp.asarray([0., 1., 1., 0., 1.], jnp.float32)

    def loss(params, x, t):
        w, b = params
        p = 1 / (1 + jnp.exp(-(jnp.dot(x, w) + b)))
        return -(t * jnp.log(p) + (1 - t) * jnp.log(1 - p))

    gw, gb = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))((w, b), X, y)
    close(gw, [[0., 0.5165776, 0.55821615, 0.08663333], [0.09506633, 0.12045602, 0.035098992, -0.08252788],
               [-0.8722588, -0.36334056, 0.4796313, 0.8816323], [-0.4520669, 0.353994, 0.8345945, 0.5478726],
               [0.088770516, 0.296432, 0.23155525, -0.046212308]])            # JAX 0.10.2
    close(gb, [0.61389834, -0.12561578, -0.881641, 0.84250784, -0.30833447])   # JAX 0.10.2
    # grad of vmap: the gradient of the summed per-example losses.
    g = jax.grad(lambda w: jnp.sum(jax.vmap(loss, in_axes=(None, 0, 0))((w, b), X, y)))(w)
    close(g, [-1.1404889, 0.92411906, 2.1390963, 1.3873981])                   # JAX 0.10.2
    close(g, np.sum(np.asarray(gw), axis=0))


# --- in_axes, out_axes, axis_size, pytrees ----------------------------------------------------
def test_in_axes_variants_match_loops():
    x, y = R(3, 4), R(4, 3, seed=1)
    f = lambda a, b: jnp.sin(a) * b
    close(jax.vmap(f, in_axes=(0, 1))(x, y), np.stack([np.sin(x[i]) * y[:, i] for i in range(3)]))
    close(jax.vmap(f, in_axes=(-2, -1))(x, y), np.stack([np.sin(x[i]) * y[:, i] for i in range(3)]))
    close(jax.vmap(f, in_axes=[1, None])(x, y[0]), np.stack([np.sin(x[:, i]) * y[0] for i in range(4)]))
    close(jax.vmap(f, in_axes=(1, 0), out_axes=1)(x, y), np.stack([np.sin(x[:, i]) * y[i] for i in range(4)], axis=1))
    close(jax.vmap(f, in_axes=(1, 0), out_axes=-1)(x, y), np.stack([np.sin(x[:, i]) * y[i] for i in range(4)], axis=-1))


def test_pytree_in_axes_and_out_axes():
    p = {"w": R(3, 2), "b": R(2, seed=1)}
    xs = R(5, 3, seed=2)
    f = lambda p, x: {"out": x @ p["w"] + p["b"], "norm": jnp.sum(x * x)}
    out = jax.vmap(f, in_axes=({"w": None, "b": None}, 0), out_axes={"out": 1, "norm": 0})(p, xs)
    close(out["out"], (xs @ p["w"] + p["b"]).T, 1e-5)
    close(out["norm"], np.sum(xs * xs, axis=1))
    # A prefix: one spec for the whole dict; tuples of specs inside a tuple argument.
    out2 = jax.vmap(f, in_axes=(None, 0))(p, xs)
    close(out2["out"], xs @ p["w"] + p["b"])
    g = lambda t: t[0] + t[1]
    close(jax.vmap(g, in_axes=((0, 1),))((R(2, 3), R(3, 2, seed=1))), R(2, 3) + R(3, 2, seed=1).T)


def test_kwargs_are_mapped_over_axis_0():
    f = lambda x, *, y: x * y
    close(jax.vmap(f)(R(3, 2), y=R(3, 2, seed=1)), R(3, 2) * R(3, 2, seed=1))


def test_unbatched_outputs_are_broadcast_and_out_axes_none():
    x = R(3, 2)
    close(jax.vmap(lambda a: 1.0)(x), np.ones(3))
    v, s = jax.vmap(lambda a, c: (a + c, c), in_axes=(0, None), out_axes=(0, None))(x, jnp.float32(2.0))
    close(v, x + 2)
    close(s, 2.0)
    assert jax.vmap(lambda a: a, in_axes=None, axis_size=4)(jnp.asarray(x)).shape == (4, 3, 2)
    assert jax.vmap(lambda: jnp.zeros(2), axis_size=3)().shape == (3, 2)


def test_scalar_and_dtype_preservation():
    x = jnp.arange(4, dtype=jnp.int32)
    out = jax.vmap(lambda i: i * 2)(x)
    assert out.dtype == jnp.int32 and out.tolist() == [0, 2, 4, 6]
    out = jax.vmap(lambda v: v * 2.0)(jnp.ones(3, jnp.float16))
    assert out.dtype == jnp.float16


def test_nested_vmap_is_an_outer_product():
    x, y = R(3), R(4, seed=1)
    close(jax.vmap(jax.vmap(lambda a, b: a * b, in_axes=(None, 0)), in_axes=(0, None))(x, y), np.outer(x, y))
    # Nested matrix-vector products still become one dot_general.
    m = jnp.asarray(R(5, 4, seed=2))
    vv = jnp.asarray(R(2, 3, 4, seed=3))
    f = jax.vmap(jax.vmap(lambda v: m @ v))
    close(f(vv), np.einsum("ij,abj->abi", np.asarray(m), np.asarray(vv)), 1e-5)
    assert collections.Counter(prims(f, vv))["dot_general"] == 1


def test_per_example_indexing_and_dynamic_slices():
    x = jnp.asarray(R(4, 6))
    idx = jnp.asarray([0, 5, 2, -1])
    close(jax.vmap(lambda r, i: r[i])(x, idx), [x[0, 0], x[1, 5], x[2, 2], x[3, -1]])
    close(jax.vmap(lambda r, i: lax.dynamic_slice(r, [i], [3]))(x, idx),
          np.stack([np.asarray(x[k])[min(max(int(i) % 6 if int(i) < 0 else int(i), 0), 3):][:3]
                    for k, i in enumerate([0, 5, 2, -1])]))
    out = jax.vmap(lambda r, i: r.at[i].add(10.0))(x, idx)
    want = np.asarray(x).copy()
    for k, i in enumerate([0, 5, 2, -1]):
        want[k, i] += 10
    close(out, want)


# --- errors -----------------------------------------------------------------------------------
def test_inconsistent_sizes_name_each_argument():
    with pytest.raises(ValueError) as e:
        jax.vmap(lambda a, b: a + b)(jnp.ones((2, 3)), jnp.ones((3,)))
    assert str(e.value) == ("vmap got inconsistent sizes for array axes to be mapped:\n"
                            "  * one axis had size 2: axis 0 of argument a of type float32[2,3];\n"
                            "  * one axis had size 3: axis 0 of argument b of type float32[3]")
    with pytest.raises(ValueError, match=r"the `axis_size` argument was 3;\n  \* one axis had size 2: axis 0 of argument a"):
        jax.vmap(lambda a, b: a + b, in_axes=(0, None), axis_size=3)(jnp.ones((2, 3)), jnp.ones((2, 3)))


def test_in_axes_errors():
    x = jnp.ones((2, 3))
    with pytest.raises(ValueError, match=r"but got len\(in_axes\)=3, len\(args\)=2"):
        jax.vmap(lambda a, b: a + b, in_axes=(0, 0, 0))(x, x)
    with pytest.raises(ValueError, match="along axis 2, which implies that its rank should be at least 3, but is only 2 "
                                         r"\(its shape is \(2, 3\)\)"):
        jax.vmap(lambda a: a, in_axes=2)(x)
    with pytest.raises(ValueError, match="along axis -3, which implies that its rank should be at least 3"):
        jax.vmap(lambda a: a, in_axes=-3)(x)
    with pytest.raises(ValueError, match="rank should be at least 1, but is only 0"):
        jax.vmap(lambda a: a)(1.0)
    with pytest.raises(ValueError, match="at least one non-None value in in_axes or axis_size"):
        jax.vmap(lambda a: a, in_axes=None)(x)
    with pytest.raises(ValueError, match="in_axes specification must be a tree prefix"):
        jax.vmap(lambda a: a, in_axes=((0, 0),))((x,))
    with pytest.raises(ValueError, match="in_axes specification must be a tree prefix"):
        jax.vmap(lambda a: a, in_axes=({"a": 0},))({"b": x})
    with pytest.raises(TypeError, match="vmap in_axes must be an int, None, or a tuple"):
        jax.vmap(lambda a: a, in_axes=1.0)
    with pytest.raises(ValueError, match="passed at least one argument containing an array or axis_size"):
        jax.vmap(lambda: 1.0)()


def test_out_axes_errors():
    x = jnp.ones((2, 3))
    with pytest.raises(ValueError, match="axis 2 is out of bounds for array of dimension 2"):
        jax.vmap(lambda a: a, out_axes=2)(x)
    with pytest.raises(ValueError, match="axis -3 is out of bounds for array of dimension 2"):
        jax.vmap(lambda a: a, out_axes=-3)(x)
    with pytest.raises(ValueError, match="got axis spec None but output was batched on axis 0"):
        jax.vmap(lambda a: a, out_axes=None)(x)
    with pytest.raises(ValueError, match="out_axes specification must be a tree prefix"):
        jax.vmap(lambda a: a, out_axes=(0, 0))(x)
    with pytest.raises(TypeError, match="vmap out_axes must be an int, None, or"):
        jax.vmap(lambda a: a, out_axes="0")


def test_value_dependent_control_flow_raises_concretization_error():
    def f(x):
        return x if x.sum() > 0 else -x
    with pytest.raises(ConcretizationTypeError, match="the argument 'x' of f traced for vmap"):
        jax.vmap(f)(jnp.ones((2, 3)))
    # Unmapped arguments stay concrete, so Python control flow on them works, as in JAX.
    g = lambda x, flag: x * 2 if flag > 0 else x
    close(jax.vmap(g, in_axes=(0, None))(jnp.ones(3), jnp.float32(1.0)), [2, 2, 2])


# --- named axes and collectives ---------------------------------------------------------------
X6 = np.arange(6.0, dtype=np.float32).reshape(2, 3)


def test_collectives_jax_values():
    f = lambda v: (lax.psum(v, "i"), lax.pmean(v, "i"), lax.pmax(v, "i"), lax.pmin(-v, "i"),
                   lax.all_gather(v, "i"), lax.axis_index("i"))
    s, m, mx, mn, g, i = jax.vmap(f, axis_name="i")(jnp.asarray(X6))
    close(s, [[3, 5, 7]] * 2)
    close(m, [[1.5, 2.5, 3.5]] * 2)
    close(mx, [[3, 4, 5]] * 2)
    close(mn, [[-3, -4, -5]] * 2)
    close(g, [X6, X6])
    assert i.dtype == jnp.int32 and i.tolist() == [0, 1]
    assert jax.vmap(lambda v: lax.psum(1.0, "i"), axis_name="i")(jnp.asarray(X6)).tolist() == [2.0, 2.0]


def test_all_gather_axis_and_tiled():
    x = jnp.asarray(X6)
    assert jax.vmap(lambda a: lax.all_gather(a, "i", axis=1), axis_name="i")(x).shape == (2, 3, 2)
    close(jax.vmap(lambda a: lax.all_gather(a, "i", axis=1), axis_name="i")(x)[0], X6.T)
    close(jax.vmap(lambda a: lax.all_gather(a, "i", tiled=True), axis_name="i")(x), [X6.ravel()] * 2)


def test_nested_named_axes_jax_values():
    x = jnp.asarray(X6)
    f = jax.vmap(jax.vmap(lambda v: lax.psum(v, "i") * lax.axis_index("j"), axis_name="j"), axis_name="i")
    close(f(x), [[0, 5, 14], [0, 5, 14]])                                         # JAX 0.10.2
    f = jax.vmap(jax.vmap(lambda v: lax.psum(v, ("i", "j")) + lax.axis_index(("i", "j")), axis_name="j"), axis_name="i")
    close(f(x), [[15, 16, 17], [18, 19, 20]])                                     # JAX 0.10.2
    # An inner axis with the same name shadows the outer one.
    f = jax.vmap(jax.vmap(lambda v: lax.psum(v, "i"), axis_name="i"), axis_name="i")
    close(f(x), [[3, 3, 3], [12, 12, 12]])


def test_normalising_with_psum():
    x = jnp.asarray(np.arange(1.0, 4.0, dtype=np.float32))
    close(jax.vmap(lambda v: v / lax.psum(v, "i"), axis_name="i")(x), np.arange(1.0, 4.0) / 6)


def test_unbound_axis_names():
    with pytest.raises(NameError, match="unbound axis name: j"):
        jax.vmap(lambda a: lax.psum(a, "j"), axis_name="i")(jnp.ones(3))
    with pytest.raises(NameError, match="unbound axis name: i"):
        lax.psum(jnp.ones(3), "i")
    with pytest.raises(NameError, match="unbound axis name: i"):
        lax.axis_index("i")
    with pytest.raises(NameError, match="unbound axis name"):
        jax.vmap(lambda a: lax.pmean(a, "i"))(jnp.ones(3))    # an unnamed vmap binds no name


def test_gradients_through_collectives_jax_values():
    x = jnp.asarray(X6)
    g = jax.vmap(jax.grad(lambda v: jnp.sum(lax.psum(v, "i") * v)), axis_name="i")(x)
    close(g, [[6, 10, 14]] * 2)                                                   # JAX 0.10.2
    c = jnp.arange(6.0).reshape(2, 3)
    g = jax.vmap(jax.grad(lambda v: jnp.sum(lax.all_gather(v, "i") * c)), axis_name="i")(x)
    close(g, [[0, 2, 4], [6, 8, 10]])                                             # JAX 0.10.2
    # pmax (JAX has no rule): the summed cotangent goes to the examples holding the maximum.
    xm = jnp.asarray([[1., 5., 2.], [3., 1., 2.]])
    g = jax.vmap(jax.grad(lambda v: jnp.sum(lax.pmax(v, "i") * jnp.array([1., 2., 3.]))), axis_name="i")(xm)
    close(g, [[0, 4, 3], [2, 0, 3]])
    # grad of a vmap with psum is the gradient of the whole batched function.
    f = lambda w: jnp.sum(jax.vmap(lambda v: v * lax.psum(v * w, "i"), axis_name="i")(x))
    eps = 1e-3
    fd = (np.asarray(f(jnp.float32(1 + eps))) - np.asarray(f(jnp.float32(1 - eps)))) / (2 * eps)
    close(jax.grad(f)(jnp.float32(1.0)), fd, 1e-2)


# --- composition --------------------------------------------------------------------------------
def _fd_grad(f, x, eps=1e-3):
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (float(f(jnp.asarray((x + e).astype(np.float32)))) - float(f(jnp.asarray((x - e).astype(np.float32))))) / (2 * eps)
    return g


def test_grad_of_vmap_and_vmap_of_grad():
    xs, w = R(4, 3), R(3, seed=1)
    f = lambda w, x: jnp.sin(jnp.dot(x, w)) ** 2
    per = jax.vmap(jax.grad(f), in_axes=(None, 0))(w, xs)
    close(per, np.stack([np.asarray(jax.grad(f)(w, x)) for x in xs]))
    tot = jax.grad(lambda w: jnp.sum(jax.vmap(f, in_axes=(None, 0))(w, xs)))(w)
    close(tot, np.sum(np.asarray(per), axis=0))
    close(tot, _fd_grad(lambda w: jnp.sum(jax.vmap(f, in_axes=(None, 0))(w, xs)), w), 2e-2)
    # Second order: vmap of a Hessian-vector product, grad of grad inside vmap.
    h = jax.vmap(jax.grad(jax.grad(lambda x: jnp.sin(x) * x)))(jnp.asarray(R(5)))
    x5 = R(5).astype(np.float64)
    close(h, 2 * np.cos(x5) - x5 * np.sin(x5), 1e-5)


def test_vmap_of_jvp_and_vjp():
    x = jnp.asarray(R(3))
    f = lambda x: jnp.sin(x) * jnp.sum(x)
    basis = jnp.eye(3)
    J = jax.vmap(lambda t: jax.jvp(f, (x,), (t,))[1])(basis)
    _, pull = jax.vjp(f, x)
    JT = jax.vmap(lambda c: pull(c)[0])(basis)
    xn = np.asarray(x, np.float64)
    want = np.diag(np.cos(xn) * xn.sum()) + np.sin(xn)[:, None]
    close(np.asarray(J).T, want)
    close(JT, want)
    close(jax.jacfwd(f)(x), want)
    close(jax.jacrev(f)(x), want)


def test_vmap_of_jacobian_and_jacobian_of_vmap():
    xs = jnp.asarray(R(4, 3))
    f = lambda x: jnp.tanh(x) * x[0]
    per = jax.vmap(jax.jacrev(f))(xs)
    close(per, np.stack([np.asarray(jax.jacfwd(f)(x)) for x in xs]))


@jax.custom_jvp
def half_sin(x):
    return jnp.sin(x)


half_sin.defjvp(lambda p, t: (half_sin(p[0]), 0.5 * t[0]))     # deliberately not cos: shows the rule is used


@jax.custom_vjp
def scale_grad(x, s):
    return x


scale_grad.defvjp(lambda x, s: (x, s), lambda s, g: (g * s, None))


def test_custom_rules_survive_vmap():
    xs = jnp.asarray(np.array([0.1, 0.2, 0.3], np.float32))
    close(jax.vmap(half_sin)(xs), np.sin([0.1, 0.2, 0.3]))
    # grad of vmap: the user's JVP, not sin's derivative.
    close(jax.grad(lambda x: jnp.sum(jax.vmap(half_sin)(x) * 3.0))(xs), [1.5, 1.5, 1.5])
    close(jax.jvp(jax.vmap(half_sin), (xs,), (jnp.asarray([0.1, 2.0, -2.0]),))[1], [0.05, 1.0, -1.0])
    close(jax.vmap(jax.grad(half_sin))(xs), [0.5, 0.5, 0.5])
    close(jax.vmap(half_sin, in_axes=None, axis_size=2)(jnp.float32(0.1)), np.sin([0.1, 0.1]))
    # custom_vjp with a per-example and an unbatched residual.
    s = jnp.asarray([1.0, 2.0, 3.0])
    close(jax.grad(lambda x: jnp.sum(jax.vmap(scale_grad)(x, s)))(xs), [1, 2, 3])
    close(jax.grad(lambda x: jnp.sum(jax.vmap(scale_grad, in_axes=(0, None))(x, 4.0)))(xs), [4, 4, 4])
    gs = jax.grad(lambda x, s: jnp.sum(jax.vmap(lambda a, b: scale_grad(a * b, b), in_axes=(0, None))(x, s)),
                  argnums=(0, 1))(xs, jnp.float32(2.0))
    close(gs[0], [4, 4, 4])
    close(gs[1], np.sum([0.1, 0.2, 0.3]) * 2)


def test_checkpoint_under_vmap():
    f = jax.checkpoint(lambda x: jnp.sin(x) * x)
    xs = jnp.asarray(R(4))
    close(jax.grad(lambda x: jnp.sum(jax.vmap(f)(x)))(xs), np.cos(R(4)) * R(4) + np.sin(R(4)))


def test_jit_and_vmap_compose():
    jit = getattr(jax, "jit", None)
    if jit is None:
        pytest.skip("gpuxla.jit is not available yet")
    mat = jnp.asarray(R(6, 4))
    xs = jnp.asarray(R(5, 4, seed=1))
    f = lambda v: jnp.tanh(mat @ v)
    want = np.tanh(np.asarray(xs, np.float64) @ np.asarray(mat, np.float64).T)
    close(jit(jax.vmap(f))(xs), want)
    close(jax.vmap(jit(f))(xs), want)
    close(jit(jax.vmap(jax.grad(lambda v: jnp.sum(f(v)))))(xs), jax.vmap(jax.grad(lambda v: jnp.sum(f(v))))(xs))


def test_jitted_collective_of_a_constant_under_vmaps_of_two_sizes():
    # psum(1, 'i') is the axis size: a jitted function must neither fold it as a constant nor
    # reuse a trace made under an axis of another size.
    f = jax.jit(lambda v: v / lax.psum(1, "i") + lax.axis_index("i"))
    close(jax.vmap(f, axis_name="i")(jnp.ones(3)), [1 / 3, 4 / 3, 7 / 3])
    close(jax.vmap(f, axis_name="i")(jnp.ones(5)), [0.2, 1.2, 2.2, 3.2, 4.2])
