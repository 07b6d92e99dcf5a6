"""grad, value_and_grad, vjp, jvp, linearize, jacfwd, jacrev, hessian, stop_gradient.

Reference numbers come from JAX 0.10.2 (the autodiff cookbook's examples, run there and baked
in) or from finite differences / closed forms.
"""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.core import dtypes
from gpuxla.core.graph import Array

F32 = dict(rtol=2e-6, atol=2e-6)


def close(a, b, **kw):
    a, b = np.asarray(a), np.asarray(b)
    dt = np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(b) else np.float64
    np.testing.assert_allclose(a.astype(dt), b.astype(dt), **(kw or F32))


@pytest.fixture
def x64():
    with dtypes.enable_x64(True):
        yield


def sum_logistic(x):
    return jnp.sum(1.0 / (1.0 + jnp.exp(-x)))


# --- the seed examples ------------------------------------------------------------------------
def test_grad_sum_logistic():
    g = jax.grad(sum_logistic)(jnp.arange(3.))
    assert g.dtype == np.float32 and g.shape == (3,)
    close(g, [0.25, 0.19661197, 0.10499357])


def test_grad_matches_finite_differences():
    x = jnp.arange(3.)
    eps = 1e-3
    fd = [(sum_logistic(x + eps * v) - sum_logistic(x - eps * v)) / (2 * eps) for v in jnp.eye(3)]
    close(jax.grad(sum_logistic)(x), fd, rtol=1e-3, atol=1e-4)


def test_nested_grad_through_jit(x64):
    jit = getattr(jax, "jit", lambda f: f)   # the identity until gpuxla.jit exists
    g = jax.grad(jit(jax.grad(jit(jax.grad(sum_logistic)))))(1.0)
    close(g, -0.03532558051623558, rtol=1e-10, atol=0)


# --- the autodiff cookbook (values from JAX 0.10.2) ------------------------------------------
def test_higher_derivatives_of_tanh():
    close(jax.grad(jnp.tanh)(2.0), 0.07065081596374512)
    close(jax.grad(jax.grad(jnp.tanh))(2.0), -0.13621868193149567)
    close(jax.grad(jax.grad(jax.grad(jnp.tanh)))(2.0), 0.2526540458202362)


INPUTS = np.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]], np.float32)
TARGETS = np.array([True, True, False, True])
W0, B0 = np.array([0.3, -0.8, 1.1], np.float32), np.float32(-0.4)
W_GRAD = [-0.49986550211906433, -0.2336592823266983, -0.7291079163551331]
B_GRAD = -0.7457330226898193


def sigmoid(x):
    return 0.5 * (jnp.tanh(x / 2) + 1)


def predict(W, b, inputs):
    return sigmoid(jnp.dot(inputs, W) + b)


def loss(W, b):
    preds = predict(W, b, jnp.asarray(INPUTS))
    t = jnp.asarray(TARGETS)
    label_probs = preds * t + (1 - preds) * (1 - t)
    return -jnp.sum(jnp.log(label_probs))


def test_logistic_regression_argnums():
    W, b = jnp.asarray(W0), jnp.asarray(B0)
    close(jax.grad(loss)(W, b), W_GRAD, rtol=1e-5, atol=1e-6)
    close(jax.grad(loss, argnums=1)(W, b), B_GRAD, rtol=1e-5)
    gW, gb = jax.grad(loss, (0, 1))(W, b)
    close(gW, W_GRAD, rtol=1e-5, atol=1e-6)
    close(gb, B_GRAD, rtol=1e-5)
    val, (gW, gb) = jax.value_and_grad(loss, (0, 1))(W, b)
    close(val, 1.3926626443862915, rtol=1e-6)
    close(gb, B_GRAD, rtol=1e-5)
    # A finite-difference check of the b derivative, as in the cookbook.
    eps = 1e-3
    fd = (loss(W, b + eps / 2.) - loss(W, b - eps / 2.)) / eps
    close(gb, fd, rtol=2e-3)


def test_grad_of_dict_params():
    def loss2(params):
        return loss(params["W"], params["b"])
    g = jax.grad(loss2)({"W": jnp.asarray(W0), "b": jnp.asarray(B0)})
    assert set(g) == {"W", "b"}
    close(g["W"], W_GRAD, rtol=1e-5, atol=1e-6)
    close(g["b"], B_GRAD, rtol=1e-5)


def test_jacobians_and_hessian():
    f = lambda W: predict(W, jnp.asarray(B0), jnp.asarray(INPUTS))
    J = [[0.1272493451833725, 0.27407553791999817, 0.1884269118309021],
         [0.18137329816818237, -0.2225945144891739, 0.03091590292751789],
         [0.0668860375881195, 0.007717619650065899, -0.16721509397029877],
         [0.02439086139202118, -0.082071952521801, 0.04581526666879654]]
    W = jnp.asarray(W0)
    close(jax.jacfwd(f)(W), J, rtol=1e-5, atol=1e-6)
    close(jax.jacrev(f)(W), J, rtol=1e-5, atol=1e-6)
    close(jax.jacobian(f)(W), J, rtol=1e-5, atol=1e-6)
    H = jax.hessian(f)(W)
    assert H.shape == (4, 3, 3)
    close(H[0], [[0.009625094942748547, 0.020730970427393913, 0.014252541586756706],
                 [0.02073097415268421, 0.044651322066783905, 0.030697781592607498],
                 [0.01425254438072443, 0.030697783455252647, 0.0211047250777483]], rtol=1e-5, atol=1e-7)
    close(H[3, 1], [0.05658818408846855, -0.19041158258914948, 0.10629402101039886], rtol=1e-5, atol=1e-7)


def test_hessian_vector_products():
    f = lambda W: loss(W, jnp.asarray(B0))
    W, v = jnp.asarray(W0), jnp.array([1., 2., -1.])
    expected = [-0.01369929127395153, 1.3407574892044067, -0.2515774667263031]

    def hvp_rev_rev(f, x, v):
        return jax.grad(lambda x: jnp.vdot(jax.grad(f)(x), v))(x)

    def hvp_fwd_rev(f, x, v):
        return jax.jvp(jax.grad(f), (x,), (v,))[1]

    def hvp_rev_fwd(f, x, v):
        return jax.grad(lambda x: jax.jvp(f, (x,), (v,))[1])(x)

    for hvp in (hvp_rev_rev, hvp_fwd_rev, hvp_rev_fwd):
        close(hvp(f, W, v), expected, rtol=1e-4, atol=1e-6)
    close(jax.hessian(f)(W) @ v, expected, rtol=1e-4, atol=1e-6)


def test_jvp_and_vjp_of_predict():
    f = lambda W: predict(W, jnp.asarray(B0), jnp.asarray(INPUTS))
    y, t = jax.jvp(f, (jnp.asarray(W0),), (jnp.array([1., 2., -1.]),))
    close(y, [0.4272695779800415, 0.7095088958740234, 0.15161371231079102, 0.9658748507499695])
    close(t, [0.48697346448898315, -0.29473161697387695, 0.24953636527061462, -0.18556830286979675], rtol=1e-5)
    y, f_vjp = jax.vjp(f, jnp.asarray(W0))
    (g,) = f_vjp(jnp.array([1., 0.5, -1., 2.]))
    close(g, [0.19983167946338654, -0.009083271957933903, 0.4627304971218109], rtol=1e-5, atol=1e-6)


def test_stop_gradient_td_update():
    value_fn = lambda theta, state: jnp.dot(theta, state)

    def td_loss(theta, s_tm1, r_t, s_t):
        v_tm1 = value_fn(theta, s_tm1)
        target = r_t + value_fn(theta, s_t)
        return -0.5 * ((lax.stop_gradient(target) - v_tm1) ** 2)
    g = jax.grad(td_loss)(jnp.array([0.1, -0.1, 0.]), jnp.array([1., 2., -1.]), jnp.array(1.), jnp.array([2., 1., 0.]))
    close(g, [1.2000000476837158, 2.4000000953674316, -1.2000000476837158])


def test_has_aux():
    g, aux = jax.grad(lambda x: (x ** 2, x * 3), has_aux=True)(2.)
    close(g, 4.0)
    close(aux, 6.0)
    (v, aux), g = jax.value_and_grad(lambda x: (jnp.sum(x ** 2), {"n": x}), has_aux=True)(jnp.ones(2))
    close(v, 2.0)
    close(aux["n"], [1, 1])
    close(g, [2, 2])
    with pytest.raises(TypeError, match="two-element tuple"):
        jax.grad(lambda x: x, has_aux=True)(1.0)


def test_python_control_flow_on_values():
    def f(x):
        if x < 3:
            return 3. * x ** 2
        return -4 * x
    close(jax.grad(f)(2.), 12.0)
    close(jax.grad(f)(4.), -4.0)

    def g(x):          # a while loop on values
        while x < 10:
            x = 2 * x
        return x
    close(jax.grad(g)(3.0), 4.0)    # 3 -> 6 -> 12

    def fact_pow(x, n):  # recursion
        return x if n == 1 else x * fact_pow(x, n - 1)
    close(jax.grad(fact_pow)(1.5, 4), 4 * 1.5 ** 3)
    close(jax.grad(jax.grad(f))(2.), 6.0)


# --- errors as JAX raises them ----------------------------------------------------------------
def test_error_nonscalar_output():
    with pytest.raises(TypeError, match=r"Gradient only defined for scalar-output functions. Output had shape: \(3,\)"):
        jax.grad(lambda x: x)(jnp.ones(3))
    with pytest.raises(TypeError, match="Gradient only defined for scalar-output functions"):
        jax.grad(lambda x: (x, x))(1.0)


def test_error_integer_input_and_allow_int():
    with pytest.raises(TypeError, match="grad requires real- or complex-valued inputs .* but got int32"):
        jax.grad(lambda x: x * 2)(3)
    g = jax.grad(lambda x, y: x * y, argnums=(0, 1), allow_int=True)(jnp.int32(3), 2.0)
    assert isinstance(g[0], np.ndarray) and g[0].dtype == dtypes.float0 and g[0].shape == ()
    close(g[1], 3.0)


def test_error_integer_output():
    with pytest.raises(TypeError, match="grad requires real-valued outputs .* but got int32"):
        jax.grad(lambda x: x.astype(jnp.int32))(3.0)


def test_error_argnums():
    with pytest.raises(TypeError, match=r"argnums=2 requires at least 3 positional arguments .* only 1"):
        jax.grad(lambda x: x, argnums=2)(1.0)
    with pytest.raises(TypeError, match=r"argnums=\(0, 5\) requires at least 6"):
        jax.grad(lambda x, y: x, argnums=(0, 5))(1.0, 2.0)
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints"):
        jax.grad(lambda x: x, argnums=1.5)
    close(jax.grad(lambda x, y: x * y, argnums=-1)(2.0, 5.0), 2.0)


def test_error_mismatched_cotangent_and_tangent():
    _, f_vjp = jax.vjp(lambda x: x ** 2, 1.0)
    with pytest.raises(ValueError, match=r"got float32\[3\], but expected float32\[\]"):
        f_vjp(jnp.ones(3))
    with pytest.raises(ValueError, match="different primal and tangent shapes"):
        jax.jvp(lambda x: x ** 2, (1.0,), (jnp.ones(3),))
    with pytest.raises(TypeError, match="must be tuples or lists"):
        jax.jvp(lambda x: x, 1.0, 1.0)
    with pytest.raises(TypeError, match="tangent dtype must be float0"):
        jax.jvp(lambda x: x * 2, (1.0,), (jnp.int32(1),))


def test_unimplemented_rule_names_primitive():
    with pytest.raises(NotImplementedError, match="'nextafter'"):
        jax.grad(lambda x: jnp.nextafter(x, 2.0))(1.0)


# --- types ------------------------------------------------------------------------------------
def test_gradient_types_follow_the_primal():
    g = jax.grad(lambda x: x ** 2)(1.0)
    assert g.dtype == np.float32 and g.weak_type
    g = jax.grad(lambda x: x * jnp.float32(2))(1.0)
    assert g.weak_type
    g = jax.grad(lambda x: x ** 2)(jnp.float32(1.0))
    assert g.dtype == np.float32 and not g.weak_type
    g = jax.grad(lambda x: x)(jnp.asarray(1.0, jnp.float16))
    assert g.dtype == np.float16
    close(jax.grad(lambda x: 1.0)(2.0), 0.0)    # output independent of the input


def test_integer_outputs_get_float0_tangents():
    y, t = jax.jvp(lambda x: (x * 2, x), (1,), (np.zeros((), dtypes.float0),))
    assert t[0].dtype == dtypes.float0 and t[1].dtype == dtypes.float0
    _, f_vjp = jax.vjp(lambda x: x * 2, 1)
    (c,) = f_vjp(2)
    assert c.dtype == dtypes.float0


def test_int_paths_do_not_carry_gradients():
    # argmax and comparisons have no tangent; the gradient flows only through the float path.
    f = lambda x: x[jnp.argmax(x)] * jnp.sum((x > 0).astype(jnp.float32))
    close(jax.grad(f)(jnp.array([1., -2., 3.])), [0., 0., 2.])


# --- vjp / jvp / linearize / pytrees ----------------------------------------------------------
def test_vjp_pytree_and_late_call():
    def f(d):
        return {"s": jnp.sin(d["a"]) * d["b"], "t": (d["a"] ** 2,)}
    d = {"a": jnp.array([0.1, 0.2]), "b": 3.0}
    out, f_vjp = jax.vjp(f, d)
    # Printing the output realizes it; the pullback must still see the graph.
    repr(out["s"])
    (g,) = f_vjp({"s": jnp.ones(2), "t": (jnp.array([1., -1.]),)})
    close(g["a"], np.cos([0.1, 0.2]) * 3 + 2 * np.array([0.1, -0.2]), rtol=1e-6)
    close(g["b"], np.sum(np.sin([0.1, 0.2])), rtol=1e-6)
    with pytest.raises(TypeError, match="Tree structure of cotangent"):
        f_vjp(jnp.ones(2))


def test_jvp_multiple_inputs_outputs():
    f = lambda x, y: (x * y, jnp.sum(x ** 2) + y)
    (a, b), (ta, tb) = jax.jvp(f, (jnp.array([1., 2.]), 3.0), (jnp.array([1., 0.]), 2.0))
    close(ta, [1 * 3 + 1 * 2, 0 * 3 + 2 * 2])
    close(tb, 2 * 1 * 1 + 2)


def test_linearize():
    f = lambda x: jnp.sin(x) * x
    x = jnp.array([0.3, 1.2])
    y, f_jvp = jax.linearize(f, x)
    close(y, np.sin([0.3, 1.2]) * np.array([0.3, 1.2]))
    for v in (jnp.array([1., 0.]), jnp.array([0.5, -2.])):
        close(f_jvp(v), jax.jvp(f, (x,), (v,))[1])


def test_jacobians_of_pytrees():
    f = lambda d: {"a": d["p"] * d["q"], "b": jnp.sum(d["p"] ** 2)}
    d = {"p": jnp.array([1., 2.]), "q": 3.0}
    for jac in (jax.jacfwd, jax.jacrev):
        J = jac(f)(d)
        assert J["a"]["p"].shape == (2, 2) and J["a"]["q"].shape == (2,) and J["b"]["p"].shape == (2,)
        close(J["a"]["p"], 3 * np.eye(2))
        close(J["a"]["q"], [1, 2])
        close(J["b"]["p"], [2, 4])
        close(J["b"]["q"], 0.0)


def test_jacobian_argnums_and_has_aux():
    f = lambda x, y: (jnp.outer(x, y), x)
    x, y = jnp.array([1., 2.]), jnp.array([3., 4., 5.])
    for jac in (jax.jacfwd, jax.jacrev):
        (Jx, Jy), aux = jac(f, argnums=(0, 1), has_aux=True)(x, y)
        assert Jx.shape == (2, 3, 2) and Jy.shape == (2, 3, 3)
        close(Jx, np.einsum("ik,j->ijk", np.eye(2), [3, 4, 5]))
        close(Jy, np.einsum("i,jk->ijk", [1, 2], np.eye(3)))
        close(aux, x)


def test_hessian_closed_form(x64):
    x = jnp.array([0.1, 0.7, -0.3])
    H = jax.hessian(lambda x: jnp.sum(jnp.sin(x) * x[::-1]))(x)
    xv = np.array([0.1, 0.7, -0.3])
    # d2/dxi dxj of sum_k sin(x_k) x_{n-1-k}
    expect = np.zeros((3, 3))
    for k in range(3):
        expect[k, k] += -np.sin(xv[k]) * xv[2 - k]
        expect[k, 2 - k] += np.cos(xv[k])
        expect[2 - k, k] += np.cos(xv[k])
    close(H, expect, rtol=1e-12, atol=1e-12)


# --- nesting and perturbation confusion ---------------------------------------------------------
def test_no_perturbation_confusion():
    # d/dx [x * d/dy (x * y)] = d/dx x^2 = 2x
    f = lambda x: x * jax.grad(lambda y: x * y)(x)
    close(jax.grad(f)(3.0), 6.0)
    g = lambda x: jax.jvp(lambda y: x * y, (1.0,), (1.0,))[1]
    close(jax.jvp(g, (2.0,), (1.0,))[1], 1.0)


def test_mixed_modes_agree(x64):
    f = lambda x: jnp.sum(jnp.tanh(x) ** 3 * jnp.cos(x[::-1]))
    x = jnp.array([0.3, -0.4, 1.1])
    H1 = jax.jacfwd(jax.jacrev(f))(x)
    H2 = jax.jacrev(jax.jacfwd(f))(x)
    H3 = jax.jacrev(jax.jacrev(f))(x)
    close(H1, H2, rtol=1e-12, atol=1e-12)
    close(H1, H3, rtol=1e-12, atol=1e-12)
    # third order: grad(grad(grad)) against forward-over-reverse-over-reverse
    g3 = jax.grad(jax.grad(jax.grad(lambda s: f(x * s))))(1.0)
    g3b = jax.jvp(jax.grad(jax.grad(lambda s: f(x * s))), (1.0,), (1.0,))[1]
    close(g3, g3b, rtol=1e-10)


def test_grad_result_is_lazy_array():
    g = jax.grad(lambda x: jnp.sum(x * x))(jnp.ones(4))
    assert isinstance(g, Array)
    close(g, 2 * np.ones(4))


def test_complex_values_follow_jax():
    # JAX's convention: cotangents pair with tangents through Re(u v) (no conjugate).
    z = jnp.asarray(1 + 2j, jnp.complex64)
    f = lambda z: z * z + jnp.exp(z)
    y, t = jax.jvp(f, (z,), (jnp.asarray(0.5 - 1j, jnp.complex64),))
    close(y, -4.1312046 + 6.4717264j, rtol=1e-6)
    close(t, 6.9061246 + 2.3670678j, rtol=1e-6)
    close(jax.vjp(f, z)[1](jnp.asarray(0.5 - 1j, jnp.complex64))[0], 6.9061246 + 2.3670678j, rtol=1e-6)
    close(jax.grad(f, holomorphic=True)(z), 0.86879563 + 6.4717264j, rtol=1e-6)
    close(jax.grad(lambda z: jnp.real(z * jnp.conj(z)) + jnp.imag(z) * 3)(z), 2 - 7j)
    zs = jnp.array([1 + 1j, 2 - 1j], jnp.complex64)
    for jac in (jax.jacrev, jax.jacfwd):
        close(jac(f, holomorphic=True)(zs), np.diag([3.4686937 + 4.2873554j, 7.992324 - 8.217676j]), rtol=1e-6)
    with pytest.raises(TypeError, match="For holomorphic differentiation, pass holomorphic=True"):
        jax.grad(f)(z)
    with pytest.raises(TypeError, match="holomorphic=True requires inputs with complex dtype, but got float32"):
        jax.grad(f, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match="holomorphic=True requires outputs with complex dtype, but got float32"):
        jax.grad(jnp.real, holomorphic=True)(z)
    with pytest.raises(TypeError, match="jacrev requires real-valued outputs"):
        jax.jacrev(f)(z)
    with pytest.raises(TypeError, match="jacfwd requires real-valued inputs"):
        jax.jacfwd(f)(z)
