"""Op-table rows for the API-breadth modules: gpuxla.nn, gpuxla.scipy.special/stats, numpy.linalg,
numpy.fft and the lax convolution/window ops (appended to `op_table.OPS`).

Each lambda runs with `numpy` (the reference) and with `gpuxla.numpy`; `nn_of`, `sp_of` and
`blax_of` give gpuxla.nn / gpuxla.scipy.special / gpuxla.lax, or NumPy reference
implementations written independently of gpuxla's (direct formulas, loops over windows).
Factorisations whose outputs are defined up to signs (eigh, svd, qr) are compared after fixing
the signs; linear-algebra inputs are shifted inside the lambda to be well conditioned.
"""
import itertools
import math

import numpy as np

from op_table import F32, F64, F3264, FLOATS, Idx, Op, _digamma, _erfinv, _vec

F32_ = (F32,)


# --- NumPy references ----------------------------------------------------------------------------
def _erf(x):
    return _vec(math.erf)(x)


def _ndtr(x):
    return (0.5 * _vec(math.erfc)(-np.asarray(x, np.float64) / math.sqrt(2))).astype(np.asarray(x).dtype)


def _lse(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    r = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis)


def _cast(f):
    """Run a float64 reference and return the input's dtype."""
    return lambda x, *a, **k: np.asarray(f(np.asarray(x, np.float64), *a, **k)).astype(np.asarray(x).dtype)


class _NumpyNN:
    relu = staticmethod(lambda x: np.maximum(x, 0))
    relu6 = staticmethod(lambda x: np.minimum(np.maximum(x, 0), 6))
    sigmoid = staticmethod(_cast(lambda x: 1 / (1 + np.exp(-x))))
    softplus = staticmethod(_cast(lambda x: np.logaddexp(x, 0)))
    log_sigmoid = staticmethod(_cast(lambda x: -np.logaddexp(-x, 0)))
    silu = swish = staticmethod(_cast(lambda x: x / (1 + np.exp(-x))))
    elu = staticmethod(_cast(lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))))
    selu = staticmethod(_cast(lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0)))))
    celu = staticmethod(_cast(lambda x, alpha=1.0: np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0) / alpha)))
    leaky_relu = staticmethod(lambda x, negative_slope=0.01: np.where(x >= 0, x, negative_slope * x).astype(x.dtype))
    hard_tanh = staticmethod(lambda x: np.clip(x, -1, 1))
    soft_sign = staticmethod(_cast(lambda x: x / (np.abs(x) + 1)))
    mish = staticmethod(_cast(lambda x: x * np.tanh(np.logaddexp(x, 0))))
    hard_sigmoid = staticmethod(_cast(lambda x: np.clip(x + 3, 0, 6) / 6))
    hard_silu = staticmethod(_cast(lambda x: x * np.clip(x + 3, 0, 6) / 6))

    @staticmethod
    def gelu(x, approximate=True):
        v = np.asarray(x, np.float64)
        if approximate:
            r = 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3)))
        else:
            r = 0.5 * v * (1 + _erf(v / np.sqrt(2)))
        return r.astype(x.dtype)

    @staticmethod
    def softmax(x, axis=-1):
        v = np.asarray(x, np.float64)
        e = np.exp(v - np.max(v, axis=axis, keepdims=True))
        return (e / np.sum(e, axis=axis, keepdims=True)).astype(x.dtype)

    @staticmethod
    def log_softmax(x, axis=-1):
        v = np.asarray(x, np.float64)
        return (v - _lse(v, axis, keepdims=True)).astype(x.dtype)

    @staticmethod
    def logsumexp(x, axis=None):
        return _lse(np.asarray(x, np.float64), axis).astype(x.dtype)

    @staticmethod
    def standardize(x, axis=-1, epsilon=1e-5):
        v = np.asarray(x, np.float64)
        return ((v - v.mean(axis, keepdims=True)) / np.sqrt(v.var(axis, keepdims=True) + epsilon)).astype(x.dtype)

    @staticmethod
    def glu(x, axis=-1):
        a, b = np.split(np.asarray(x, np.float64), 2, axis)
        return (a / (1 + np.exp(-b))).astype(x.dtype)

    @staticmethod
    def one_hot(x, n):
        return (x[..., None] == np.arange(n)).astype(np.float32)


def nn_of(xnp):
    if xnp is np:
        return _NumpyNN
    from gpuxla import nn
    return nn


class _NumpySpecial:
    erf = staticmethod(_erf)
    erfc = staticmethod(_vec(math.erfc))
    erfinv = staticmethod(_vec(_erfinv))
    gammaln = staticmethod(_vec(math.lgamma))
    digamma = staticmethod(_vec(_digamma))
    expit = staticmethod(_cast(lambda x: 1 / (1 + np.exp(-x))))
    logit = staticmethod(_cast(lambda x: np.log(x / (1 - x))))
    ndtr = staticmethod(_ndtr)
    log_ndtr = staticmethod(lambda x: np.log(_ndtr(np.asarray(x, np.float64))).astype(x.dtype))
    ndtri = staticmethod(lambda p: (math.sqrt(2) * _vec(_erfinv)(2 * np.asarray(p, np.float64) - 1)).astype(p.dtype))
    entr = staticmethod(_cast(lambda x: np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)), np.where(x == 0, 0, -np.inf))))
    xlogy = staticmethod(lambda x, y: np.where(x == 0, 0, x * np.log(y)).astype(x.dtype))
    xlog1py = staticmethod(lambda x, y: np.where(x == 0, 0, x * np.log1p(y)).astype(x.dtype))
    gamma = staticmethod(_vec(math.gamma))
    betaln = staticmethod(lambda a, b: (_vec(math.lgamma)(a) + _vec(math.lgamma)(b) - _vec(math.lgamma)(a + b)).astype(a.dtype))

    @staticmethod
    def logsumexp(a, axis=None, b=None):
        v = np.asarray(a, np.float64)
        if b is None:
            return _lse(v, axis).astype(a.dtype)
        m = np.max(v, axis=axis, keepdims=True)
        s = np.sum(b * np.exp(v - m), axis=axis, keepdims=True)
        return np.squeeze(np.log(s) + m, axis=axis).astype(a.dtype)


def sp_of(xnp):
    if xnp is np:
        return _NumpySpecial
    from gpuxla.scipy import special
    return special


class _NumpyNorm:
    logpdf = staticmethod(_cast(lambda x, loc=0.0, scale=1.0: -0.5 * ((x - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi)))
    pdf = staticmethod(_cast(lambda x, loc=0.0, scale=1.0: np.exp(-0.5 * ((x - loc) / scale) ** 2) / (scale * np.sqrt(2 * np.pi))))
    cdf = staticmethod(lambda x, loc=0.0, scale=1.0: _ndtr((np.asarray(x, np.float64) - loc) / scale).astype(x.dtype))


def norm_of(xnp):
    if xnp is np:
        return _NumpyNorm
    from gpuxla.scipy.stats import norm
    return norm


# lax convolutions and windows: direct loops over output positions and window taps.
def _np_dilate_pad(x, padding, dilation, fill):
    """x (spatial axes last len(padding)) dilated with `fill` holes and padded (negative: cropped)."""
    nsp = len(padding)
    lead = x.shape[:x.ndim - nsp]
    shape = lead + tuple((s - 1) * d + 1 if s else 0 for s, d in zip(x.shape[-nsp:], dilation))
    xd = np.full(shape, fill, x.dtype)
    xd[(Ellipsis,) + tuple(slice(None, None, d) for d in dilation)] = x
    pads = [(0, 0)] * len(lead) + [(max(lo, 0), max(hi, 0)) for lo, hi in padding]
    xp = np.pad(xd, pads, constant_values=fill)
    crop = tuple(slice(None) for _ in lead) + tuple(slice(-min(lo, 0), xp.shape[len(lead) + i] + min(hi, 0))
                                                    for i, (lo, hi) in enumerate(padding))
    return xp[crop]


def _np_pads(in_sp, win, strides, padding):
    if not isinstance(padding, str):
        return [tuple(p) for p in padding]
    if padding == "VALID":
        return [(0, 0)] * len(in_sp)
    out = [-(-i // s) for i, s in zip(in_sp, strides)]
    tot = [max((o - 1) * s + w - i, 0) for o, s, w, i in zip(out, strides, win, in_sp)]
    return [(t // 2, t - t // 2) for t in tot]


class _NumpyConvLax:
    @staticmethod
    def conv_general_dilated(x, w, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                             dimension_numbers=None, feature_group_count=1, batch_group_count=1):
        nsp, dt = x.ndim - 2, x.dtype
        specs = dimension_numbers or ("NC" + "HWD"[:nsp], "OI" + "HWD"[:nsp], "NC" + "HWD"[:nsp])
        sp_chars = [c for c in specs[1] if c not in "OI"]
        x = np.transpose(x, [specs[0].index(c) for c in "NC"] + [specs[0].index(c) for c in sp_chars]).astype(np.float64)
        w = np.transpose(w, [specs[1].index(c) for c in "OI"] + [specs[1].index(c) for c in sp_chars]).astype(np.float64)
        ld, rd = lhs_dilation or (1,) * nsp, rhs_dilation or (1,) * nsp
        k_eff = [(k - 1) * d + 1 for k, d in zip(w.shape[2:], rd)]
        xp = _np_dilate_pad(x, _np_pads(x.shape[2:], k_eff, window_strides, padding), ld, 0.0)
        out_sp = [(s - k) // st + 1 for s, k, st in zip(xp.shape[2:], k_eff, window_strides)]
        N, C = x.shape[:2]
        O, I = w.shape[:2]
        G, B = feature_group_count, batch_group_count
        out = np.zeros((N // B, O) + tuple(out_sp))
        for o in itertools.product(*map(range, out_sp)):
            for k in itertools.product(*map(range, w.shape[2:])):
                pos = tuple(oi * st + ki * d for oi, ki, st, d in zip(o, k, window_strides, rd))
                xv = xp[(slice(None), slice(None)) + pos]          # (N, C)
                wv = w[(slice(None), slice(None)) + k]              # (O, I)
                for g in range(G):
                    og = slice(g * O // G, (g + 1) * O // G)
                    for b in range(B):
                        ob = slice(b * O // B, (b + 1) * O // B) if B > 1 else og
                        nb = slice(b * N // B, (b + 1) * N // B)
                        xs = xv[nb, g * I:(g + 1) * I]
                        out[(slice(None), ob) + o] += xs @ wv[ob].T
        perm = [specs[2].index(c) for c in "NC"] + [specs[2].index(c) for c in sp_chars]
        return np.transpose(out, np.argsort(perm)).astype(dt)

    @staticmethod
    def reduce_window(x, init, op, window, strides, padding, base_dilation=None, window_dilation=None):
        nd = x.ndim
        bd, wd = base_dilation or (1,) * nd, window_dilation or (1,) * nd
        w_eff = [(k - 1) * d + 1 for k, d in zip(window, wd)]
        xp = _np_dilate_pad(x.astype(np.float64), _np_pads(x.shape, w_eff, strides, padding), bd, init)
        out_sp = [(s - k) // st + 1 for s, k, st in zip(xp.shape, w_eff, strides)]
        red = {"max": np.max, "min": np.min, "add": np.sum, "mul": np.prod}[op]
        out = np.empty(out_sp)
        for o in itertools.product(*map(range, out_sp)):
            vals = [xp[tuple(oi * st + ki * d for oi, ki, st, d in zip(o, k, strides, wd))]
                    for k in itertools.product(*map(range, window))]
            out[o] = red(vals + [init])
        return out.astype(x.dtype)


class _GpuxlaConvLax:
    @staticmethod
    def conv_general_dilated(x, w, *a, **k):
        from gpuxla import lax
        return lax.conv_general_dilated(x, w, *a, **k)

    @staticmethod
    def reduce_window(x, init, op, *a, **k):
        from gpuxla import lax
        return lax.reduce_window(x, init, {"max": lax.max, "min": lax.min, "add": lax.add, "mul": lax.mul}[op], *a, **k)


def blax_of(xnp):
    return _NumpyConvLax if xnp is np else _GpuxlaConvLax


# --- linear-algebra helpers usable with both libraries --------------------------------------------
def _spd(xnp, a):
    n = a.shape[-1]
    return a @ xnp.swapaxes(a, -1, -2) + n * xnp.eye(n, dtype=a.dtype)


def _wellcond(xnp, a):
    n = a.shape[-1]
    return a + 3 * xnp.eye(n, dtype=a.dtype)


def _colsign(xnp, v, ref):
    """Columns of v with the sign that makes the matching entries of ref positive."""
    return v * xnp.sign(ref)[..., None, :]


def _eigh_vecs(xnp, a):
    w, v = xnp.linalg.eigh(_spd(xnp, a))
    return _colsign(xnp, v, v[..., 0, :])


def _svd_u(xnp, a):
    u, s, vh = xnp.linalg.svd(a, full_matrices=False)
    return _colsign(xnp, u, u[..., 0, :]), s


def _qr(xnp, a):
    q, r = xnp.linalg.qr(a)
    d = xnp.sign(xnp.diagonal(r, axis1=-2, axis2=-1))
    return q * d[..., None, :], r * d[..., :, None]


def _lintol(t32=2e-4):
    return {F32: (t32, t32), F64: (1e-9, 1e-9)}


N = nn_of
S = sp_of
BL = blax_of
NN_SHAPE = [(3, 5)]

OPS_BREADTH = [
    # gpuxla.nn activations
    *[Op(f"nn.{name}", (lambda name: lambda xnp, x: getattr(nn_of(xnp), name)(x))(name), NN_SHAPE, FLOATS, tol=1e-5)
      for name in ("relu", "relu6", "sigmoid", "softplus", "log_sigmoid", "silu", "elu", "selu", "celu", "leaky_relu",
                   "hard_tanh", "soft_sign", "mish", "hard_sigmoid", "hard_silu")],
    Op("nn.relu6_wide", lambda xnp, x: nn_of(xnp).relu6(4 * x), NN_SHAPE, F3264),
    Op("nn.gelu_tanh", lambda xnp, x: N(xnp).gelu(x), NN_SHAPE, FLOATS, tol=1e-5),
    Op("nn.gelu_exact", lambda xnp, x: N(xnp).gelu(x, approximate=False), NN_SHAPE, F3264, tol=1e-5),
    Op("nn.elu_alpha", lambda xnp, x: N(xnp).elu(x, 0.5), NN_SHAPE, F3264),
    Op("nn.leaky_relu_slope", lambda xnp, x: N(xnp).leaky_relu(x, 0.2), NN_SHAPE, F3264),
    Op("nn.softmax", lambda xnp, x: N(xnp).softmax(x), [(4, 6)], FLOATS, tol=1e-5),
    Op("nn.softmax_axis0", lambda xnp, x: N(xnp).softmax(x, axis=0), [(4, 6)], F3264),
    Op("nn.softmax_large", lambda xnp, x: N(xnp).softmax(60 * x), [(3, 5)], F3264, tol=1e-5),
    Op("nn.log_softmax", lambda xnp, x: N(xnp).log_softmax(x), [(4, 6)], FLOATS, tol=1e-5),
    Op("nn.log_softmax_large", lambda xnp, x: N(xnp).log_softmax(80 * x, axis=0), [(3, 5)], F3264, tol=1e-4),
    Op("nn.logsumexp", lambda xnp, x: N(xnp).logsumexp(x, axis=1), [(4, 6)], F3264, tol=1e-5),
    Op("nn.standardize", lambda xnp, x: N(xnp).standardize(x), [(4, 6)], F3264, tol=1e-4),
    Op("nn.glu", lambda xnp, x: N(xnp).glu(x), [(3, 6)], F3264),
    Op("nn.one_hot", lambda xnp, i: N(xnp).one_hot(i, 5), [Idx((2, 3), -1, 6)], (np.int32,), grad=False,
       jax_dtype=lambda d: np.dtype(np.float64)),     # JAX's default float (float32 without x64)
    # scipy.special / stats
    Op("special.erf", lambda xnp, x: S(xnp).erf(x), [(3, 4)], F3264),
    Op("special.erfc", lambda xnp, x: S(xnp).erfc(x), [(3, 4)], F3264),
    Op("special.erfinv", lambda xnp, x: S(xnp).erfinv(x), [(3, 4)], F3264, rng="unit", tol=1e-5),
    Op("special.gammaln", lambda xnp, x: S(xnp).gammaln(x), [(3, 4)], F3264, rng="positive", tol=1e-5),
    Op("special.digamma", lambda xnp, x: S(xnp).digamma(x), [(3, 4)], F32_, rng="positive", tol=1e-4),
    Op("special.expit", lambda xnp, x: S(xnp).expit(x), [(3, 4)], FLOATS),
    Op("special.logit", lambda xnp, x: S(xnp).logit(0.5 + 0.5 * x), [(3, 4)], F3264, rng="unit"),
    Op("special.ndtr", lambda xnp, x: S(xnp).ndtr(3 * x), [(3, 4)], F3264),
    Op("special.log_ndtr", lambda xnp, x: S(xnp).log_ndtr(3 * x), [(3, 4)], F3264, tol=1e-5),
    Op("special.ndtri", lambda xnp, x: S(xnp).ndtri(0.5 + 0.45 * x), [(3, 4)], F3264, rng="unit", tol=1e-5),
    Op("special.entr", lambda xnp, x: S(xnp).entr(x), [(3, 4)], F3264, rng="positive"),
    Op("special.xlogy", lambda xnp, x, y: S(xnp).xlogy(x, y), [(3, 4), (3, 4)], F3264, rng="positive"),
    Op("special.xlog1py", lambda xnp, x, y: S(xnp).xlog1py(x, y), [(3, 4), (3, 4)], F3264, rng="positive"),
    Op("special.gamma", lambda xnp, x: S(xnp).gamma(x), [(3, 4)], F3264, rng="gt1", tol=1e-5),
    Op("special.betaln", lambda xnp, a, b: S(xnp).betaln(a, b), [(3, 4), (3, 4)], F3264, rng="positive", tol=1e-5),
    Op("special.logsumexp", lambda xnp, x: S(xnp).logsumexp(x, axis=0), [(4, 3)], F3264),
    Op("special.logsumexp_b", lambda xnp, x, b: S(xnp).logsumexp(x, axis=1, b=b), [(4, 3), (4, 3)], F3264,
       rng="positive"),
    Op("stats.norm.logpdf", lambda xnp, x, m: norm_of(xnp).logpdf(x, m, 1.5), [(3, 4), (4,)], F3264),
    Op("stats.norm.pdf", lambda xnp, x: norm_of(xnp).pdf(x, 0.5, 2.0), [(3, 4)], F3264),
    Op("stats.norm.cdf", lambda xnp, x: norm_of(xnp).cdf(x, 0.5, 2.0), [(3, 4)], F3264),
    # numpy.linalg
    Op("linalg.cholesky", lambda xnp, a: xnp.linalg.cholesky(_spd(xnp, a)), [(4, 4)], F3264, tol=_lintol()),
    Op("linalg.cholesky_batch", lambda xnp, a: xnp.linalg.cholesky(_spd(xnp, a)), [(2, 3, 3)], F3264, tol=_lintol()),
    Op("linalg.solve", lambda xnp, a, b: xnp.linalg.solve(_wellcond(xnp, a), b), [(4, 4), (4, 2)], F3264,
       tol=_lintol()),
    Op("linalg.solve_vec", lambda xnp, a, b: xnp.linalg.solve(_wellcond(xnp, a), b), [(2, 3, 3), (3,)], F3264,
       tol=_lintol()),
    Op("linalg.inv", lambda xnp, a: xnp.linalg.inv(_wellcond(xnp, a)), [(4, 4)], F3264, tol=_lintol()),
    Op("linalg.det", lambda xnp, a: xnp.linalg.det(a), [(4, 4)], F3264, tol=_lintol()),
    Op("linalg.det_batch", lambda xnp, a: xnp.linalg.det(a), [(2, 3, 3)], F3264, tol=_lintol()),
    Op("linalg.slogdet", lambda xnp, a: tuple(xnp.linalg.slogdet(a)), [(4, 4)], F3264, tol=_lintol()),
    Op("linalg.eigh_values", lambda xnp, a: xnp.linalg.eigh(_spd(xnp, a))[0], [(4, 4)], F3264, tol=_lintol()),
    Op("linalg.eigh_vectors", lambda xnp, a: _eigh_vecs(xnp, a), [(4, 4)], F3264, tol=_lintol(1e-3)),
    Op("linalg.svd_values", lambda xnp, a: xnp.linalg.svd(a, compute_uv=False), [(5, 3)], F3264, tol=_lintol()),
    Op("linalg.svd_u", lambda xnp, a: _svd_u(xnp, a), [(5, 3)], F3264, tol=_lintol(1e-3)),
    Op("linalg.qr", lambda xnp, a: _qr(xnp, a), [(5, 3)], F3264, tol=_lintol()),
    Op("linalg.pinv", lambda xnp, a: xnp.linalg.pinv(a), [(3, 5)], F3264, tol=_lintol()),
    Op("linalg.matrix_power", lambda xnp, a: xnp.linalg.matrix_power(a, 3), [(3, 3)], F3264, tol=_lintol()),
    Op("linalg.matrix_power_neg", lambda xnp, a: xnp.linalg.matrix_power(_wellcond(xnp, a), -2), [(3, 3)], F3264,
       tol=_lintol()),
    Op("linalg.norm", lambda xnp, a: xnp.linalg.norm(a), [(3, 4)], F3264),
    Op("linalg.norm_vec_ord", lambda xnp, a: (xnp.linalg.norm(a, 1, axis=1), xnp.linalg.norm(a, 3, axis=0),
                                              xnp.linalg.norm(a, np.inf, axis=1)), [(3, 4)], F3264, tol=1e-5),
    Op("linalg.norm_mat_ord", lambda xnp, a: (xnp.linalg.norm(a, 1), xnp.linalg.norm(a, -np.inf),
                                              xnp.linalg.norm(a, "fro")), [(3, 4)], F3264),
    Op("linalg.norm_2_nuc", lambda xnp, a: (xnp.linalg.norm(a, 2), xnp.linalg.norm(a, "nuc")), [(3, 4)], F3264,
       tol=_lintol()),
    # numpy.fft (real inputs and outputs at the boundary, complex inside)
    Op("fft.rfft_abs", lambda xnp, x: xnp.abs(xnp.fft.rfft(x)), [(3, 8)], F3264, tol=1e-5),
    Op("fft.fft_real_imag", lambda xnp, x: (xnp.real(xnp.fft.fft(x, axis=0)), xnp.imag(xnp.fft.fft(x, axis=0))),
       [(6, 3)], F3264, tol=1e-5),
    Op("fft.irfft_rfft_filter", lambda xnp, x, w: xnp.fft.irfft(xnp.fft.rfft(x) * w, 8), [(2, 8), (5,)], F3264,
       tol=1e-5),
    Op("fft.ifft_roundtrip", lambda xnp, x: xnp.real(xnp.fft.ifft(xnp.fft.fft(x) * (1 + 0.5j))), [(7,)], F3264,
       tol=1e-5),
    Op("fft.fft2", lambda xnp, x: xnp.abs(xnp.fft.fft2(x)), [(2, 4, 5)], F3264, tol=1e-5),
    Op("fft.rfftn_irfftn", lambda xnp, x: xnp.fft.irfftn(xnp.fft.rfftn(x) ** 2, x.shape, axes=(0, 1)), [(4, 6)], F3264,
       tol=1e-4),
    Op("fft.ortho", lambda xnp, x: xnp.real(xnp.fft.fft(x, n=10, norm="ortho")), [(3, 8)], F3264, tol=1e-5),
    # lax convolutions and windows
    Op("lax.conv_nchw", lambda xnp, x, w: BL(xnp).conv_general_dilated(x, w, (1, 1), "SAME"), [(2, 3, 5, 5), (4, 3, 3, 3)],
       F3264, tol=1e-4),
    Op("lax.conv_nhwc_stride", lambda xnp, x, w: BL(xnp).conv_general_dilated(
        x, w, (2, 1), ((1, 0), (0, 2)), dimension_numbers=("NHWC", "HWIO", "NHWC")), [(2, 6, 5, 2), (3, 2, 2, 3)],
       F3264, tol=1e-4),
    Op("lax.conv_dilated_grouped", lambda xnp, x, w: BL(xnp).conv_general_dilated(
        x, w, (1, 1), ((0, 1), (1, 0)), lhs_dilation=(2, 1), rhs_dilation=(1, 2), feature_group_count=2),
       [(1, 4, 4, 6), (4, 2, 2, 2)], F3264, tol=1e-4),
    Op("lax.conv_1d", lambda xnp, x, w: BL(xnp).conv_general_dilated(x, w, (2,), "SAME"), [(2, 3, 9), (2, 3, 4)],
       F3264, tol=1e-4),
    Op("lax.max_pool", lambda xnp, x: BL(xnp).reduce_window(x, -np.inf, "max", (1, 1, 2, 2), (1, 1, 2, 2), "VALID"),
       [(2, 2, 4, 6)], FLOATS, rng="distinct"),
    Op("lax.max_pool_same", lambda xnp, x: BL(xnp).reduce_window(x, -np.inf, "max", (3, 3), (2, 2), "SAME"),
       [(5, 6)], F3264, rng="distinct"),
    Op("lax.avg_pool", lambda xnp, x: BL(xnp).reduce_window(x, 0.0, "add", (1, 2, 3), (1, 1, 2), "VALID") / 6,
       [(2, 4, 7)], FLOATS, tol=1e-5),
    Op("lax.reduce_window_dilated", lambda xnp, x: BL(xnp).reduce_window(x, 0.0, "add", (2, 2), (1, 2), ((1, 0), (0, 1)),
                                                                      (2, 1), (1, 2)), [(3, 5)], F3264),
    Op("lax.min_pool", lambda xnp, x: BL(xnp).reduce_window(x, np.inf, "min", (1, 2), (1, 1), "VALID"), [(3, 6)],
       F3264, rng="distinct"),
]
