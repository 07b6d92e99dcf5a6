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
import math

from . import (abs, add, asarray, bitwise_and, bitwise_not, bitwise_or, convert_element_type, digamma, div, eq, exp,
               floor, full_like, ge, gt, le, lgamma, log, log1p, lt, mul, ne, neg, pow, reduce_or, rem, select,
               sign, sqrt, sub)
from .control_flow import fori_loop, while_loop

__all__ = ["igamma", "igammac", "igamma_grad_a", "random_gamma_grad", "zeta", "polygamma", "bessel_i0e",
           "bessel_i1e", "betainc"]

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


# --- zeta, polygamma, scaled Bessel, incomplete beta (gpuxla.scipy.special and jnp call these) ----
def _same(name, *xs):
    """lax's contract for these functions: one float dtype and one shape (Python scalars take it)."""
    from . import _operands as _lax_operands
    xs = _lax_operands(*xs)
    if len({x.dtype for x in xs}) != 1 or not dtypes.is_float(xs[0].dtype):
        raise TypeError(f"{name} requires floating-point arguments of one dtype, got "
                        f"{', '.join(x.dtype.name for x in xs)}")
    if len({x.shape for x in xs}) != 1:
        raise TypeError(f"{name}: arguments must have equal shapes, got {', '.join(str(x.shape) for x in xs)}")
    return xs


# B_2j / (2j)! for the Euler-Maclaurin tail of zeta
_BERN = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330]
_EM = [b / math.factorial(2 * j + 2) for j, b in enumerate(_BERN)]


def zeta(x, q):
    """The Hurwitz zeta function sum_k (q + k)^-x (x > 1, q > 0) (lax.zeta), by Euler-Maclaurin
    summation: nine terms directly, then the integral, half a term and ten Bernoulli corrections.
    inf at x == 1, nan for x < 1 or q <= 0."""
    x, q = _same("zeta", x, q)
    n = 9
    acc = full_like(x, 0)
    for k in range(n):
        acc = add(acc, pow(add(q, float(k)), neg(x)))
    a = add(q, float(n))
    ax = pow(a, neg(x))
    acc = add(add(acc, div(mul(a, ax), sub(x, 1.0))), mul(ax, 0.5))
    fact, term = full_like(x, 1), div(ax, a)           # s(s+1)...(s+2j-2) and a^(-s-2j+1)
    for j, c in enumerate(_EM):
        fact = mul(fact, x) if j == 0 else mul(fact, mul(add(x, 2.0 * j - 1), add(x, 2.0 * j)))
        acc = add(acc, mul(mul(fact, term), c))
        term = div(term, mul(a, a))
    out = select(eq(x, 1.0), full_like(x, np.inf), acc)
    return select(bitwise_or(lt(x, 1.0), le(q, 0.0)), full_like(x, np.nan), out)


def polygamma(m, x):
    """The m-th derivative of digamma (lax.polygamma): digamma for m == 0, else
    (-1)^(m+1) m! zeta(m + 1, x); nan where m is not a non-negative integer."""
    m, x = _same("polygamma", m, x)
    fact = exp(lgamma(add(m, 1.0)))
    sgn = select(eq(rem(m, full_like(m, 2)), 0.0), full_like(m, -1), full_like(m, 1))
    out = select(eq(m, 0.0), digamma(x), mul(mul(sgn, fact), zeta(add(m, 1.0), x)))
    bad = bitwise_or(lt(m, 0.0), ne(floor(m), m))
    return select(bad, full_like(x, np.nan), out)


_SWITCH = 20.0            # Bessel: series below, Hankel's expansion above
_N_SERIES = 64            # the series term at x = 20, k = 64 is below 1e-17 of the sum
_N_ASYM = 16              # the expansion's 16th term at x = 20 is ~1e-14 of the sum


def _bessel_scaled(x, v):
    """exp(-|x|) * I_v(x) for v in {0, 1}: the power series (all terms positive, no cancellation)
    for |x| <= 20, Hankel's asymptotic expansion beyond. I_0 is even, I_1 odd: the series keeps
    x's sign, so the derivative at 0 is right."""
    ax = abs(x)
    small = le(ax, _SWITCH)
    xs = select(small, x, full_like(x, 0))
    xl = select(small, full_like(x, _SWITCH + 1.0), ax)
    q = div(mul(xs, xs), 4.0)                    # series: sum_k (x/2)^(2k+v) / (k! (k+v)!)
    term = full_like(xs, 1) if v == 0 else div(xs, 2.0)
    total = term
    for k in range(1, _N_SERIES):
        term = div(mul(term, q), float(k * (k + v)))
        total = add(total, term)
    series = mul(total, exp(neg(abs(xs))))
    # Hankel: e^x / sqrt(2 pi x) * sum_k (-1)^k prod_{j<=k} (4v^2 - (2j-1)^2) / (k! (8x)^k)
    mu = 4.0 * v * v
    t = full_like(xl, 1)
    s = t
    for k in range(1, _N_ASYM):
        t = neg(div(mul(t, mu - (2 * k - 1) ** 2), mul(xl, k * 8.0)))
        s = add(s, t)
    asym = div(s, sqrt(mul(xl, 2 * np.pi)))
    return select(small, series, asym if v == 0 else mul(sign(x), asym))


def bessel_i0e(x):
    """exp(-|x|) I_0(x), the exponentially scaled modified Bessel function of order 0 (lax.bessel_i0e)."""
    (x,) = _same("bessel_i0e", x)
    return _bessel_scaled(x, 0)


def bessel_i1e(x):
    """exp(-|x|) I_1(x), the exponentially scaled modified Bessel function of order 1 (lax.bessel_i1e)."""
    (x,) = _same("bessel_i1e", x)
    return _bessel_scaled(x, 1)


_N_INC = 200          # continued-fraction depth of the incomplete beta function


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b) (lax.betainc; a, b > 0, 0 <= x <= 1), by
    its continued fraction on the side of the mean where it converges fast and the symmetry
    1 - I_{1-x}(b, a); nan outside the domain."""
    a, b, x = _same("betainc", a, b, x)
    bad = bitwise_or(bitwise_or(bitwise_or(le(a, 0.0), le(b, 0.0)), bitwise_or(lt(x, 0.0), gt(x, 1.0))),
                     bitwise_or(bitwise_or(ne(a, a), ne(b, b)), ne(x, x)))
    swap = gt(x, div(add(a, 1.0), add(add(a, b), 2.0)))
    aa, bb, xx = select(swap, b, a), select(swap, a, b), select(swap, sub(1.0, x), x)
    interior = bitwise_and(gt(xx, 0.0), bitwise_not(bad))
    one = full_like(a, 1)
    aa, bb = select(bad, one, aa), select(bad, one, bb)
    xx = select(interior, xx, full_like(xx, 0.5))

    def body(i, t):
        k = sub(2 * _N_INC, i)                    # coefficients d_k from the deepest up
        kf = convert_element_type(k, a.dtype)
        m = _bcast(floor(div(kf, 2.0)), t)
        odd = eq(rem(k, 2), 1)
        a2m = add(aa, mul(m, 2.0))
        d_odd = neg(div(mul(mul(add(aa, m), add(add(aa, bb), m)), xx), mul(a2m, add(a2m, 1.0))))
        d_even = div(mul(mul(m, sub(bb, m)), xx), mul(sub(a2m, 1.0), a2m))
        return add(div(select(_bcast(odd, t), d_odd, d_even), t), 1.0)

    t = fori_loop(0, 2 * _N_INC, body, one)
    lbeta = sub(add(lgamma(aa), lgamma(bb)), lgamma(add(aa, bb)))
    front = div(exp(sub(add(mul(aa, log(xx)), mul(bb, log1p(neg(xx)))), lbeta)), aa)
    val = select(interior, div(front, t), full_like(t, 0))
    out = select(swap, sub(1.0, val), val)
    return select(bad, full_like(out, np.nan), out)


def _bcast(pred, like):
    from . import broadcast_in_dim
    return broadcast_in_dim(pred, like.shape, ())
