"""gpuxla.numpy.fft against numpy.fft (values), JAX 0.10.2 (gradients through complex
intermediates, baked) and finite differences; lax.fft and the complex helpers."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.core import dtypes
from gpuxla.lax.fft import complex as lax_complex, real_p    # not lax.complex: see gpuxla/lax/fft.py
from gpuxla.test_util import check_grads

# --- JAX 0.10.2 values -----------------------------------------------------------------------------
GRADS = {'angle': [[-0.010084539651870728, 0.969746470451355, 0.4949578046798706, -0.3232487738132477, -0.6565821170806885, -0.969746470451355, 0.17170889675617218, 0.3232487738132477], [0.8700226545333862, -0.13670149445533752, -0.3734629452228546, -0.32809558510780334, -0.3988509178161621, -0.024488836526870728, -0.0977087914943695, 0.4892859160900116]], 'fft2_abs': [[3.585218906402588, -1.1225380897521973, 4.078372955322266, 3.13193678855896, 7.070311546325684, -0.7099199295043945, 1.2660973072052002, -1.2994790077209473], [5.9466376304626465, 7.604599475860596, -3.0989880561828613, 1.1041529178619385, -1.7889015674591064, -1.579362154006958, -1.058748483657837, -7.129390239715576]], 'fft_real_imag': [[28.0, -4.0, -4.0, -4.0, -4.0, -4.0, -4.0, -4.0], [28.0, -4.0, -4.0, -4.0, -4.0, -4.0, -4.0, -4.0]], 'hfft': [[28.0, -8.0, -8.0, -8.0, -23.313709259033203, -8.0, -3.3137083053588867, 0.0], [28.0, -8.0, -8.0, -8.0, -23.313709259033203, -8.0, -3.3137083053588867, 0.0]], 'ifftn_forward': [[4.0, -5.837615013122559, -0.2999999523162842, -2.213351249694824, 3.4000000953674316, 3.637615203857422, 2.8999998569488525, 6.413351058959961], [3.0, -0.6268508434295654, 12.300000190734863, 10.334671020507812, 5.599999904632568, -17.17314910888672, -14.90000057220459, -2.5346715450286865]], 'irfft_filter': [[-8.0, -1.1715728044509888, -1.1715730428695679, 0.0, 0.0, 1.1715728044509888, 1.1715730428695679, 8.0], [-8.0, -1.1715728044509888, -1.1715730428695679, 0.0, 0.0, 1.1715728044509888, 1.1715730428695679, 8.0]], 'irfft_odd': [[9.651205062866211, -19.885316848754883, 21.80501937866211, -16.65269660949707, 16.550018310546875, -12.64794921875, 1.179722785949707, 0.0], [-3.2429709434509277, 16.760828018188477, -19.571788787841797, 13.243919372558594, -9.34705924987793, 5.131664752960205, -2.974592924118042, 0.0]], 'rfft2_ortho': [[5.0, -2.707106828689575, 1.0, -1.2928931713104248, 1.0, -1.2928931713104248, 1.0, -2.707106828689575], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]], 'rfft_abs2': [[26.58578872680664, -52.82843017578125, 54.82843017578125, -38.48528289794922, 45.41421127319336, -43.17156982421875, 17.171571731567383, -9.514719009399414], [10.662741661071777, 36.75147247314453, -35.479393005371094, 21.236751556396484, -17.86273956298828, 11.248527526855469, 7.47939395904541, -34.0367546081543]]}
VALUES = {'angle': [[0.0, -2.0344438552856445, 1.5707963705062866, 2.0344438552856445, 0.0], [0.0, -1.085073471069336, -1.241171956062317, -1.1108466386795044, 3.1415927410125732]], 'hfft': [[4.5, -2.146446704864502, 1.0, 4.389087200164795, 7.5, -2.853553295135498, -5.0, -3.389087200164795], [3.5, 3.797056198120117, 1.100000023841858, -1.645584225654602, -6.5, 0.4029437303543091, 3.9000000953674316, 3.445584297180176]], 'ihfft': [(0.4375+0j), (-0.08080583065748215+0.1616116464138031j), -0.375j, (-0.16919416189193726-0.3383883535861969j), (0.5625+0j)]}

X = np.array([[0.5, -1.0, 2.0, 0.25, 1.5, -0.75, 0.0, 1.0], [1.0, 2.0, -1.0, 0.5, -0.5, 0.3, 0.2, -2.0]], np.float32)


def close(a, b, tol=2e-6):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a.astype(np.complex128), b.astype(np.complex128), rtol=tol, atol=tol)


@pytest.fixture
def x64():
    with dtypes.enable_x64(True):
        yield


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


CASES = [
    ("fft", {}), ("fft", {"n": 5}), ("fft", {"n": 11, "axis": 0}), ("fft", {"norm": "ortho"}), ("fft", {"norm": "forward"}),
    ("ifft", {}), ("ifft", {"n": 6, "norm": "ortho"}), ("rfft", {}), ("rfft", {"n": 9, "axis": 1}),
    ("irfft", {}), ("irfft", {"n": 9}), ("irfft", {"norm": "forward"}), ("hfft", {}), ("hfft", {"n": 7}), ("ihfft", {}),
    ("fft2", {}), ("ifft2", {"s": (3, 6)}), ("rfft2", {"axes": (0, 2)}), ("irfft2", {}), ("fftn", {}),
    ("fftn", {"axes": (0,)}), ("ifftn", {"s": (2, 4, 3), "axes": (0, 1, 2)}), ("rfftn", {"norm": "ortho"}), ("irfftn", {"s": (3, 4, 6), "axes": (0, 1, 2)}),
]


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{'-'.join(f'{k}{v}' for k, v in kw.items())}" for n, kw in CASES])
def test_matches_numpy(x64, name, kw):
    x = rnd(3, 4, 6)
    if name in ("ifft", "fft", "fft2", "ifft2", "fftn", "ifftn", "irfft", "irfft2", "irfftn", "hfft"):
        x = x + 1j * rnd(3, 4, 6, seed=1)
    got = getattr(jnp.fft, name)(x, **kw)
    want = getattr(np.fft, name)(x, **kw)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    close(got, want, 1e-12)


def test_float32_and_complex64_dtypes():
    assert jnp.fft.fft(X).dtype == np.complex64 and jnp.fft.irfft(jnp.fft.rfft(X)).dtype == np.float32
    assert jnp.fft.fft(np.arange(4)).dtype == np.complex64          # ints go through float32
    close(jnp.fft.rfft(X), np.fft.rfft(X), 1e-5)
    close(jnp.fft.irfft(jnp.fft.rfft(X)), X, 1e-6)


def test_freq_and_shift(x64):
    for n, d in ((5, 0.1), (8, 1.0), (1, 2.0)):
        close(jnp.fft.fftfreq(n, d), np.fft.fftfreq(n, d), 1e-15)
        close(jnp.fft.rfftfreq(n, d), np.fft.rfftfreq(n, d), 1e-15)
    assert jnp.fft.fftfreq(4).dtype == np.float64 and jnp.fft.fftfreq(4, dtype=jnp.float32).dtype == np.float32
    y = rnd(4, 5)
    close(jnp.fft.fftshift(y), np.fft.fftshift(y), 0)
    close(jnp.fft.ifftshift(y, axes=1), np.fft.ifftshift(y, axes=1), 0)
    close(jnp.fft.ifftshift(jnp.fft.fftshift(y)), y, 0)


def test_complex_helpers():
    z = jnp.fft.fft(X)
    zn = np.fft.fft(X)
    close(jnp.real(z), zn.real, 1e-5)
    close(z.imag, zn.imag, 1e-5)
    close(jnp.conj(z), np.conj(zn), 1e-5)
    a = jnp.abs(z)
    assert a.dtype == np.float32
    close(a, np.abs(zn), 1e-5)
    close(jnp.angle(z), np.angle(zn), 1e-5)
    close(jnp.angle(np.array([-1.0, 2.0]), deg=True), [180.0, 0.0])
    close(jnp.real(X), X, 0)
    close(jnp.imag(X), np.zeros_like(X), 0)
    close(lax_complex(jnp.ones(2), jnp.arange(2.0)), [1, 1 + 1j])
    close(lax.fft(X.astype(np.complex64), "FFT", (8,)), np.fft.fft(X), 1e-5)
    close(lax.fft(X, lax.FftType.RFFT, (2, 8)), np.fft.rfft2(X), 1e-5)


def test_gradients_match_jax():
    x = jnp.asarray(X)
    w = jnp.arange(5.0)
    fs = {
        "rfft_abs2": lambda v: jnp.sum(jnp.abs(jnp.fft.rfft(v)) ** 2 * w),
        "irfft_filter": lambda v: jnp.sum(jnp.fft.irfft(jnp.fft.rfft(v) * w, 8) * jnp.arange(8.0)),
        "irfft_odd": lambda v: jnp.sum(jnp.fft.irfft(jnp.fft.rfft(v, 7) * jnp.arange(4.0), 7) ** 2),
        "fft_real_imag": lambda v: jnp.sum(jnp.real(jnp.fft.fft(v)) * jnp.arange(8.0) + jnp.imag(jnp.fft.ifft(v, axis=0)) ** 2),
        "fft2_abs": lambda v: jnp.sum(jnp.abs(jnp.fft.fft2(v))),
        "rfft2_ortho": lambda v: jnp.sum(jnp.real(jnp.fft.rfft2(v, norm="ortho")) * jnp.arange(5.0)),
        "angle": lambda v: jnp.sum(jnp.angle(jnp.fft.rfft(v))[:, 1:4]),
        "ifftn_forward": lambda v: jnp.sum(jnp.real(jnp.fft.ifftn(v * (1 + 2j), norm="forward")) * x),
        "hfft": lambda v: jnp.sum(jnp.fft.hfft(v[:, :5] + 1j * v[:, 3:]) * jnp.arange(8.0)),
    }
    for name, f in fs.items():
        close(jax.grad(f)(x), GRADS[name], 2e-5)
    close(jnp.angle(jnp.fft.rfft(x)), VALUES["angle"], 2e-6)
    close(jnp.fft.hfft(x[:, :5] + 1j * x[:, 3:]), VALUES["hfft"], 2e-6)
    close(jnp.fft.ihfft(x[0]), VALUES["ihfft"], 2e-6)


@pytest.mark.parametrize("name,f", [
    ("rfft_irfft", lambda v: jnp.fft.irfft(jnp.fft.rfft(v) * jnp.arange(1.0, 6.0) ** 0.5, 8)),
    ("fft_abs", lambda v: jnp.abs(jnp.fft.fft(v, axis=0))),
    ("rfftn_sq", lambda v: jnp.fft.irfftn(jnp.fft.rfftn(v) ** 2, v.shape)),
    ("ifft2_real", lambda v: jnp.real(jnp.fft.ifft2(jnp.fft.fft2(v) * jnp.exp(1j * v)))),
    ("complex_parts", lambda v: lax_complex(v, 2 * v).imag * jnp.real(jnp.conj(lax_complex(v, v)) * (1 - 1j))),
])
def test_check_grads(x64, name, f):
    check_grads(f, (rnd(2, 8),), order=2, atol=1e-6, rtol=1e-6)


def test_vmap_and_jit(x64):
    x = rnd(3, 2, 8)
    close(jax.vmap(jnp.fft.rfft)(x), np.fft.rfft(x), 1e-12)
    close(jax.vmap(jnp.fft.fft2, in_axes=2)(x + 0j), np.moveaxis(np.fft.fft2(np.moveaxis(x, 2, 0)), 0, 0), 1e-12)
    close(jax.vmap(lambda v: jnp.abs(jnp.fft.fft(v)), in_axes=1)(x), np.abs(np.fft.fft(np.swapaxes(x, 0, 1))), 1e-12)
    f = jax.jit(lambda v: jnp.fft.irfft(jnp.fft.rfft(v) * 2.0, 8))
    close(f(x), 2 * x, 1e-12)
    close(jax.jit(jax.grad(lambda v: jnp.sum(jnp.abs(jnp.fft.rfft(v)) ** 2)))(x[0, 0]), 2 * 8 * x[0, 0] * 0 +
          jax.grad(lambda v: jnp.sum(jnp.abs(jnp.fft.rfft(v)) ** 2))(x[0, 0]), 1e-12)


def test_errors():
    with pytest.raises(ValueError, match="repeated axes"):
        jnp.fft.fftn(X, axes=(0, 0))
    with pytest.raises(ValueError, match="Invalid norm"):
        jnp.fft.fft(X, norm="bad")
    with pytest.raises(TypeError, match="real-valued"):
        jnp.fft.rfft(jnp.fft.fft(X))
    with pytest.raises(TypeError, match="complex64/complex128"):
        real_p.bind(jnp.ones(2))
    with pytest.raises(TypeError, match="real-valued outputs"):
        jax.grad(lambda v: jnp.sum(jnp.fft.fft(v)))(X[0])          # as JAX: grad needs a real output
    with pytest.raises(ValueError, match="period"):
        jnp.interp(jnp.ones(2), jnp.arange(2.0), jnp.arange(2.0), period=0)
