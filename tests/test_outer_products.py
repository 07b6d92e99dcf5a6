"""dot_general that contracts nothing (an outer product per batch element: the per-example weight
gradients of vmap(grad(loss))) runs as the product of two broadcasts (compiler/passes.py
`_dot_as_product`, the `expand` pass of FINAL): no library call, and the transpose a gradient puts
after it fuses into the one loop kernel that writes the result. Values are compared with NumPy's
einsum on the numpy, cpu, cuda-interpret and (fake) cuda platforms; kernels are counted through
`jit(f).lower(...).compile().kernel_report()`. Complex products stay dot_generals (kernels do not
compute in complex dtypes: expanded, they would be unfused library calls); their values are checked
all the same."""
import functools

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import backends, lax
from gpuxla.backends.cuda import interpret

from codegen_util import _session_cache  # noqa: F401  (fixture, autouse)

RNG = np.random.default_rng(15)
_cxx = pytest.mark.skipif(interpret.host_compiler() is None, reason="needs a host C++ compiler")


@pytest.fixture(params=["numpy", pytest.param("cpu", marks=_cxx), pytest.param("cuda-interpret", marks=_cxx),
                        pytest.param("fake-cuda", marks=_cxx)])
def plat(request, monkeypatch):
    """The active backend for one test: the reference, the native C++ loops, the CUDA text on the
    host, and the cuda platform over tests/fake_cupy.py (its kernels run as cuda-interpret's)."""
    monkeypatch.setattr(backends, "_eager_cache", {})
    if request.param == "fake-cuda":
        import fake_cupy
        with fake_cupy.installed():
            yield request.param
        return
    from gpuxla.backends.cpu import CpuBackend
    from gpuxla.backends.cuda import InterpretBackend
    from gpuxla.backends.numpy import NumpyBackend
    make = {"numpy": NumpyBackend, "cpu": CpuBackend, "cuda-interpret": InterpretBackend}[request.param]
    monkeypatch.setattr(backends, "_backend", make())
    yield request.param


def _data(shape, dt):
    dt = np.dtype(dt)
    if dt == np.bool_:
        return RNG.random(shape) < 0.5
    if dt.kind in "iu":
        return RNG.integers(-50, 50, shape).astype(dt)
    x = RNG.standard_normal(shape)
    if dt.kind == "c":
        x = x + 1j * RNG.standard_normal(shape)
    return x.astype(dt)


def _compiled(f, *args):
    """The native executable of jit(f) for these arguments, built now (never a NumPy tier)."""
    return jax.jit(f).lower(*args).compile()


# name: (lhs shape, rhs shape, dimension numbers, einsum spelling of the result)
CASES = {
    "vectors": ((5,), (7,), (((), ()), ((), ())), "i,j->ij"),
    "batch first": ((3, 5), (3, 7), (((), ()), ((0,), (0,))), "bi,bj->bij"),
    "batch last on lhs": ((5, 3), (3, 7), (((), ()), ((1,), (0,))), "ib,bj->bij"),
    "batch last on rhs": ((3, 5), (7, 3), (((), ()), ((0,), (1,))), "bi,jb->bij"),
    "two batch dims, swapped": ((2, 5, 3), (3, 4, 2), (((), ()), ((0, 2), (2, 0))), "aib,bja->abij"),
    "free dims around the batch": ((4, 3, 5), (3, 2, 6), (((), ()), ((1,), (0,))), "ibk,bjl->bikjl"),
    "contracting dims of size 1": ((5, 1, 3), (3, 1, 7), (((1,), (1,)), ((2,), (0,))), "iub,bvj->bij"),
}


@pytest.mark.parametrize("dt", ["float32", "float64", "int32", "bool", "complex64"])
def test_outer_products_as_einsum(dt, plat, x64):
    # every case in one program (one compile per platform and dtype), each result also transposed
    # the way a gradient reads it (its dims reversed)
    args, want, fns = [], [], []
    for ls, rs, dn, spec in CASES.values():
        a, b = _data(ls, dt), _data(rs, dt)
        w = np.einsum(spec.replace("u", "").replace("v", ""), a.squeeze(1), b.squeeze(1)) if "u" in spec \
            else np.einsum(spec, a, b)
        perm = tuple(reversed(range(w.ndim)))
        args += [a, b]
        want += [w, np.transpose(w, perm)]
        fns.append((functools.partial(lax.dot_general, dimension_numbers=dn), perm))

    def f(*xs):
        outs = []
        for (g, perm), a, b in zip(fns, xs[::2], xs[1::2]):
            outs += [g(a, b), jnp.transpose(g(a, b), perm)]
        return outs
    got = _compiled(f, *args)(*args)
    for name, g, w in zip([n for n in CASES for _ in (0, 1)], got, want):
        g = np.asarray(g)
        assert g.dtype == np.dtype(dt) and g.shape == w.shape, name
        if np.dtype(dt).kind == "c":      # (a complex product may be formed with fused multiply-adds)
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=0, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


PREFERRED = [
    ("int8", "int32"),           # products computed in int32 (no int8 wraparound)
    ("float16", "float32"),
    ("bool", "int32"),           # logical and, then converted
    ("float32", "float64"),
]


def test_preferred_element_type(plat, x64):
    args = []
    for dt, _ in PREFERRED:
        a, b = _data((3, 6), dt), _data((3, 4), dt)
        args += [(a * 3).astype(dt) if dt == "int8" else a, b]   # (int8 products beyond its range)

    def f(*xs):
        return [lax.dot_general(a, b, (((), ()), ((0,), (0,))), preferred_element_type=np.dtype(p))
                for (_, p), a, b in zip(PREFERRED, xs[::2], xs[1::2])]
    got = _compiled(f, *args)(*args)
    for (dt, p), g, a, b in zip(PREFERRED, got, args[::2], args[1::2]):
        wide = np.float32 if dt == "float16" else p
        want = np.einsum("bi,bj->bij", a.astype(wide), b.astype(wide)).astype(p)
        assert np.asarray(g).dtype == np.dtype(p)
        np.testing.assert_array_equal(np.asarray(g), want, err_msg=dt)


def test_the_expanded_program_has_no_outer_dot():
    # the lowered program (what every platform compiles) has a product instead of the dot
    a, b = _data((4, 6), "float32"), _data((4, 5), "float32")
    text = _compiled(lambda a, b: jnp.einsum("bi,bj->bji", a, b), a, b).as_text()
    assert "dot_general" not in text and " mul " in text, text
    # a contraction stays a dot_general (a library call), and so does a complex outer product
    text = _compiled(lambda a, b: jnp.einsum("bi,bj->ij", a, b), a, b).as_text()
    assert "dot_general" in text
    a, b = a.astype(np.complex64), b.astype(np.complex64)
    assert "dot_general" in _compiled(lambda a, b: jnp.einsum("bi,bj->bji", a, b), a, b).as_text()


# --- per-example gradients of a small MLP ------------------------------------------------------
SIZES = (12, 16, 8, 5)


def _mlp_loss(params, x, y):
    h = x
    for i, (w, b) in enumerate(params):
        h = jnp.dot(h, w) + b
        if i < len(params) - 1:
            h = jnp.maximum(h, 0.0)
    logp = jax.nn.log_softmax(h)
    return -jnp.sum(y * logp)


def _mlp_data(batch):
    params = [(RNG.standard_normal((m, n)).astype(np.float32) / np.sqrt(m), RNG.standard_normal(n).astype(np.float32))
              for m, n in zip(SIZES[:-1], SIZES[1:])]
    x = RNG.standard_normal((batch, SIZES[0])).astype(np.float32)
    y = np.eye(SIZES[-1], dtype=np.float32)[RNG.integers(0, SIZES[-1], batch)]
    return params, x, y


def _per_example_by_hand(params, x, y):
    """d loss_b / d (w, b) for each example b, in float64: the outer products of each layer's
    input and the cotangent of its output."""
    params = [(w.astype(np.float64), b.astype(np.float64)) for w, b in params]
    acts, pre = [x.astype(np.float64)], []
    for i, (w, b) in enumerate(params):
        h = acts[-1] @ w + b
        pre.append(h)
        acts.append(np.maximum(h, 0) if i < len(params) - 1 else h)
    h = acts[-1]
    p = np.exp(h - h.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    d = p - y
    out = [None] * len(params)
    for i in reversed(range(len(params))):
        out[i] = (np.einsum("bi,bj->bij", acts[i], d), d)
        if i:
            d = (d @ params[i][0].T) * (pre[i - 1] > 0)
    return out


def _assert_grads(got, want):
    for (gw, gb), (ww, wb) in zip(got, want):
        np.testing.assert_allclose(np.asarray(gw), ww, rtol=2e-5, atol=2e-5)
        np.testing.assert_allclose(np.asarray(gb), wb, rtol=2e-5, atol=2e-5)


def test_per_example_grads_of_an_mlp(plat, monkeypatch):
    monkeypatch.setenv("GPUXLA_CUDA_GRAPHS", "0")     # (library calls counted as made one by one)
    params, x, y = _mlp_data(6)
    f = jax.vmap(jax.grad(_mlp_loss), in_axes=(None, 0, 0))
    want = _per_example_by_hand(params, x, y)
    # eagerly: the pending graph is expanded the same way before it is compiled (on the cuda
    # platform the library calls are counted: the 5 contractions, no outer product)
    dev = jax.tree_util.tree_map(jnp.asarray, (params, x, y))
    if plat == "fake-cuda":
        import fake_cupy
        before = fake_cupy.stats["matmuls"]
    eager = jax.block_until_ready(f(*dev))
    if plat == "fake-cuda":
        assert fake_cupy.stats["matmuls"] - before == 5
    _assert_grads(eager, want)
    c = _compiled(f, params, x, y)
    _assert_grads(c(params, x, y), want)
    # the program keeps the contractions (forward 3, backward 2) as dot_generals, not the products
    assert c.as_text().count("dot_general") == 5
    if plat == "numpy":
        return
    # every weight gradient is written once, by a loop kernel that reads the layer's input and
    # the cotangent only; no library call and no transpose kernel produces it
    rows = c.kernel_report()
    assert sum(r["kind"] == "library" for r in rows) == 5
    for m, n in zip(SIZES[:-1], SIZES[1:]):
        size = 6 * m * n * 4
        (k,) = [r for r in rows if r["bytes_written"] == size]
        assert k["kind"] == "loop" and k["bytes_read"] <= 6 * (m + n) * 4, k
