"""The regularized incomplete gamma functions and their derivatives (lax.igamma, lax.igammac,
lax.igamma_grad_a, lax.random_gamma_grad), as composites with a while_loop per evaluation.

P(a, x) = gamma(a, x) / Gamma(a) comes from its power series when x < a or x < 1 (each term is the
previous one times x / (a + n)), and from the Legendre continued fraction of Q = 1 - P otherwise
(evaluated by the three-term recurrence of its convergents, rescaled when they grow past 1/eps).
Both loops also carry the derivative of their terms with respect to a, which gives
dP/da and, by implicit differentiation of P(a, x(a)) = u, the derivative of a gamma sample x with
respect to its shape parameter: dx/da = -(dP/da) / (dP/dx), the "implicit reparameterization"
gradient JAX's random.gamma uses. Each loop stops per element once its term (or, for the
derivatives, the term's derivative) is below eps relative to the sum; the continued fraction stops
after 2000 steps at the latest.
"""
import numpy as np

from ..core import dtypes
from . import (abs, add, asarray, bitwise_and, bitwise_not, bitwise_or, convert_element_type, digamma, div, eq, exp,
               full_like, ge, gt, le, lgamma, log, lt, mul, ne, neg, reduce_or, select, sub)
from .control_flow import while_loop

__all__ = ["igamma", "igammac", "igamma_grad_a", "random_gamma_grad"]

_VALUE, _DERIV, _SAMPLE = "value", "derivative", "sample"


def _any(pred):
    return reduce_or(pred, tuple(range(pred.ndim)))


def _operands(name, a, x):
    a, x = asarray(a), asarray(x)
    if a.shape != x.shape:
        raise TypeError(f"{name}: a and x must have equal shapes, got {a.shape} and {x.shape}")
    dt = dtypes.promote_types(a.dtype, x.dtype) if a.weak_type == x.weak_type else (
        x.dtype if a.weak_type else a.dtype)
    if not dtypes.is_float(dt):
        raise TypeError(f"{name} requires floating-point arguments, got {a.dtype} and {x.dtype}")
    return convert_element_type(a, dt), convert_element_type(x, dt)


def _series(a, x, enabled, mode):
    """sum_n x^n / ((a+1)...(a+n)) and its a-derivative, term by term."""
    eps = float(dtypes.finfo(a.dtype).eps)
    one, zero = full_like(a, 1), full_like(a, 0)

    def body(s):
        on, r, c, ans, dc, dans = s
        r2 = add(r, 1.0)
        dc2 = sub(mul(dc, div(x, r2)), div(mul(c, x), mul(r2, r2)))
        c2 = mul(c, div(x, r2))
        ans2, dans2 = add(ans, c2), add(dans, dc2)
        more = gt(div(c2, ans2), eps) if mode == _VALUE else gt(abs(div(dc2, dans2)), eps)
        keep = lambda new, old: select(on, new, old)  # noqa: E731
        return bitwise_and(on, more), keep(r2, r), keep(c2, c), keep(ans2, ans), keep(dc2, dc), keep(dans2, dans)
    _, _, _, ans, _, dans = while_loop(lambda s: _any(s[0]), body, (enabled, a, one, one, zero, zero))
    return ans, dans


def _continued_fraction(a, x, enabled, mode):
    """The continued fraction for Q(a, x) / (x^a e^-x / Gamma(a)) and its a-derivative."""
    eps = float(dtypes.finfo(a.dtype).eps)
    zero = full_like(a, 0)
    y0 = sub(1.0, a)
    z0 = add(add(x, y0), 1.0)
    pkm2, qkm2, pkm1, qkm1 = full_like(x, 1), x, add(x, 1.0), mul(z0, x)
    ans0 = div(pkm1, qkm1)
    dqkm1 = neg(x)
    dans0 = div(neg(mul(ans0, dqkm1)), qkm1)

    def body(s):
        on, ans, y, z, c, pkm1, qkm1, pkm2, qkm2, dpkm2, dqkm2, dpkm1, dqkm1, dans = s
        c2, y2, z2 = add(c, 1.0), add(y, 1.0), add(z, 2.0)
        yc = mul(y2, c2)
        pk = sub(mul(pkm1, z2), mul(pkm2, yc))
        qk = sub(mul(qkm1, z2), mul(qkm2, yc))
        nz = ne(qk, 0.0)
        r = div(pk, qk)
        t = select(nz, abs(div(sub(ans, r), r)), full_like(r, 1))
        ans2 = select(nz, r, ans)
        dpk = add(sub(sub(mul(dpkm1, z2), pkm1), mul(dpkm2, yc)), mul(pkm2, c2))
        dqk = add(sub(sub(mul(dqkm1, z2), qkm1), mul(dqkm2, yc)), mul(qkm2, c2))
        dans2 = select(nz, div(sub(dpk, mul(ans2, dqk)), qk), dans)
        dt = select(nz, abs(sub(dans2, dans)), full_like(dans, 1))
        # Rescale the convergents (and their derivatives) before they overflow.
        big = gt(abs(pk), 1.0 / eps)
        sc = lambda v: select(big, mul(v, eps), v)  # noqa: E731
        nxt = (sc(pk), sc(qk), sc(pkm1), sc(qkm1), sc(dpkm1), sc(dqkm1), sc(dpk), sc(dqk))
        more = gt(t, eps) if mode == _VALUE else gt(dt, eps)
        keep = lambda new, old: select(on, new, old)  # noqa: E731
        # The new (k-1, k-2) convergents are (k, k-1); derivatives likewise.
        new = (nxt[0], nxt[1], nxt[2], nxt[3], nxt[6], nxt[7], nxt[4], nxt[5])
        old = (pkm1, qkm1, pkm2, qkm2, dpkm1, dqkm1, dpkm2, dqkm2)
        k = [keep(n, o) for n, o in zip(new, old)]
        return (bitwise_and(on, more), keep(ans2, ans), keep(y2, y), keep(z2, z), c2,
                k[0], k[1], k[2], k[3], k[6], k[7], k[4], k[5], keep(dans2, dans))

    # state: on, ans, y, z, c (a scalar step count), pkm1, qkm1, pkm2, qkm2, dpkm2, dqkm2, dpkm1, dqkm1, dans
    init = (enabled, ans0, y0, z0, asarray(np.zeros((), a.dtype)), pkm1, qkm1, pkm2, qkm2, zero, zero, zero, dqkm1,
            dans0)
    out = while_loop(lambda s: bitwise_and(lt(s[4], 2000.0), _any(s[0])), body, init)
    return out[1], out[13]


def _prefactor(a, x):
    """log(x^a e^-x / Gamma(a)) and whether it underflows."""
    la = sub(sub(mul(a, log(x)), x), lgamma(a))
    return la, lt(la, -float(np.log(dtypes.finfo(a.dtype).max)))


def igamma(a, x):
    """Regularized lower incomplete gamma P(a, x)."""
    a, x = _operands("igamma", a, x)
    nan = bitwise_or(ne(a, a), ne(x, x))
    a0, x0, xinf = eq(a, 0.0), eq(x, 0.0), eq(x, np.inf)
    bad = bitwise_or(bitwise_or(lt(x, 0.0), lt(a, 0.0)), bitwise_or(bitwise_and(a0, x0), nan))
    cf = bitwise_and(ge(x, 1.0), gt(x, a))
    la, under = _prefactor(a, x)
    on = bitwise_not(bitwise_or(bitwise_or(x0, bad), bitwise_or(under, xinf)))
    ax = exp(la)
    s, _ = _series(a, x, bitwise_and(on, bitwise_not(cf)), _VALUE)
    f, _ = _continued_fraction(a, x, bitwise_and(on, cf), _VALUE)
    out = select(cf, sub(1.0, mul(f, ax)), div(mul(s, ax), a))
    out = select(x0, full_like(out, 0), out)
    out = select(xinf, full_like(out, 1), out)
    return select(bad, full_like(out, np.nan), out)


def igammac(a, x):
    """Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x)."""
    a, x = _operands("igammac", a, x)
    nan = bitwise_or(ne(a, a), ne(x, x))
    a0, x0, xinf = eq(a, 0.0), eq(x, 0.0), eq(x, np.inf)
    bad = bitwise_or(bitwise_or(lt(x, 0.0), lt(a, 0.0)), bitwise_or(bitwise_and(a0, x0), nan))
    series = bitwise_or(lt(x, 1.0), lt(x, a))
    la, under = _prefactor(a, x)
    on = bitwise_not(bitwise_or(bitwise_or(bad, under), bitwise_or(xinf, a0)))
    ax = exp(la)
    s, _ = _series(a, x, bitwise_and(on, series), _VALUE)
    f, _ = _continued_fraction(a, x, bitwise_and(on, bitwise_not(series)), _VALUE)
    out = select(series, sub(1.0, div(mul(s, ax), a)), mul(f, ax))
    out = select(bitwise_or(xinf, a0), full_like(out, 0), out)
    return select(bad, full_like(out, np.nan), out)


def _derivative(name, a, x, mode):
    a, x = _operands(name, a, x)
    nan = bitwise_or(ne(a, a), ne(x, x))
    x0 = eq(x, 0.0)
    bad = bitwise_or(lt(x, 0.0), le(a, 0.0))
    cf = bitwise_and(gt(x, 1.0), gt(x, a))
    la, under = _prefactor(a, x)
    on = bitwise_not(bitwise_or(bitwise_or(x0, bad), bitwise_or(under, nan)))
    ax = exp(la)
    s, ds = _series(a, x, bitwise_and(on, bitwise_not(cf)), mode)
    f, df = _continued_fraction(a, x, bitwise_and(on, cf), mode)
    dls = sub(log(x), digamma(add(a, 1.0)))     # d/da log(x^a e^-x / Gamma(a + 1))
    dlf = sub(log(x), digamma(a))               # d/da log(x^a e^-x / Gamma(a))
    if mode == _DERIV:
        from_s = div(mul(ax, add(mul(s, dls), ds)), a)
        from_f = neg(mul(ax, add(mul(f, dlf), df)))
    else:   # dx/da = -(dP/da) / (dP/dx), with dP/dx = x^(a-1) e^-x / Gamma(a)
        from_s = div(mul(neg(add(ds, mul(s, dls))), x), a)
        from_f = mul(add(df, mul(f, dlf)), x)
    out = select(cf, from_f, from_s)
    out = select(x0, full_like(out, 0), out)
    return select(bitwise_or(bad, nan), full_like(out, np.nan), out)


def igamma_grad_a(a, x):
    """dP(a, x)/da."""
    return _derivative("igamma_grad_a", a, x, _DERIV)


def random_gamma_grad(a, x):
    """d x / d a for a Gamma(a) sample x held at its quantile: -(dP/da) / (dP/dx)."""
    return _derivative("random_gamma_grad", a, x, _SAMPLE)
