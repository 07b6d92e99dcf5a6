"""scipy.special hyp2f1, boxcox, boxcox1p and bessel_jn (as jax.scipy.special), composites of jnp
operations.

hyp2f1(a, b; c; x) sums its power series where it converges fast and otherwise maps x there
first: Pfaff's transformation takes x < 0 to x / (x - 1) in (0, 1); for 0.5 < x < 1 the
connection formula to 1 - x applies when d = c - a - b is not (close to) an integer, else the
series is summed with more terms. x == 1 is Gauss's sum (inf when d <= 0); a non-positive integer
c gives inf and a or b == 0 gives 1, as JAX; x > 1 is outside the real domain (inf, as JAX).
"""


from .. import lax
from .. import numpy as jnp
from .special import _inexact, gamma

__all__ = ["hyp2f1", "boxcox", "boxcox1p", "bessel_jn"]

_N_FAST = 200         # x <= 0.5 (after Pfaff): 0.5**200 is far below float64's eps
_N_SLOW = 1500        # 0.5 < x < 1 with integral d: float64's eps reached up to x ~ 0.975


def _series(a, b, c, x, n):
    """sum_k (a)_k (b)_k / (c)_k x^k / k!, n terms; a terminating series ends by itself."""
    def body(k, st):
        term, total = st
        kf = lax.convert_element_type(k, x.dtype)
        # A terminated series stays 0 past its end (where (c)_k may reach a pole).
        term = jnp.where(term == 0, 0.0, term * (a + kf) * (b + kf) / ((c + kf) * (kf + 1)) * x)
        return term, total + term
    one = jnp.ones_like(x)
    return lax.fori_loop(0, n, body, (one, one))[1]


def _near_int(v, tol):
    return jnp.abs(v - jnp.round(v)) < tol


def hyp2f1(a, b, c, x):
    """The Gauss hypergeometric function 2F1(a, b; c; x) for real arguments, x <= 1."""
    a, b, c, x = _inexact(a, b, c, x)
    # Pfaff: 2F1(a, b; c; x) = (1 - x)^-a 2F1(a, c - b; c; x / (x - 1)) for x < 0.
    neg = x < 0
    pre = jnp.where(neg, (1 - x) ** (-a), 1.0)
    b1 = jnp.where(neg, c - b, b)
    z = jnp.where(neg, x / (x - 1), x)
    z = jnp.where(z >= 1, 0.0, z)          # (x == 1 and x > 1 are handled below)
    d = c - a - b1
    far = z > 0.5
    connect = far & ~_near_int(d, 1e-2)
    zs = jnp.where(far, 0.0, z)
    direct = _series(a, b1, c, zs, _N_FAST)
    slow = _series(a, b1, c, jnp.where(far & ~connect, z, 0.0), _N_SLOW)
    # 1 - x connection: G1 F(a, b; a+b-c+1; 1-z) + (1-z)^d G2 F(c-a, c-b; d+1; 1-z)
    w = jnp.where(connect, 1 - z, 0.0)
    ds = jnp.where(connect, d, 0.5)
    g1 = gamma(c) * gamma(ds) / (gamma(c - a) * gamma(c - b1))
    g2 = gamma(c) * gamma(-ds) / (gamma(a) * gamma(b1))
    conn = g1 * _series(a, b1, 1 - ds, w, _N_FAST) + w ** ds * g2 * _series(c - a, c - b1, 1 + ds, w, _N_FAST)
    val = pre * jnp.where(far, jnp.where(connect, conn, slow), direct)
    dd = c - a - b
    gauss = jnp.where(dd > 0, gamma(c) * gamma(jnp.where(dd > 0, dd, 1.0)) /
                      (gamma(c - a) * gamma(c - b)), jnp.inf)
    val = jnp.where(x == 1, gauss, val)
    val = jnp.where(x > 1, jnp.inf, val)
    c_pole = (c <= 0) & _near_int(c, 0.0) & ~(((a <= 0) & _near_int(a, 0.0) & (a > c))
                                              | ((b <= 0) & _near_int(b, 0.0) & (b > c)))
    val = jnp.where(c_pole, jnp.inf, val)
    return jnp.where(((a == 0) | (b == 0)) & (c != 0), 1.0, val)


def boxcox(x, lmbda):
    """The Box-Cox transform: (x**lmbda - 1) / lmbda, log(x) at lmbda == 0 (scipy.special.boxcox)."""
    x, lmbda = _inexact(x, lmbda)
    safe = jnp.where(lmbda == 0, 1.0, lmbda)
    return jnp.where(lmbda == 0, jnp.log(x), jnp.expm1(lmbda * jnp.log(x)) / safe)


def boxcox1p(x, lmbda):
    """Box-Cox of 1 + x: ((1 + x)**lmbda - 1) / lmbda, log1p(x) at lmbda == 0 (scipy.special.boxcox1p)."""
    x, lmbda = _inexact(x, lmbda)
    safe = jnp.where(lmbda == 0, 1.0, lmbda)
    return jnp.where(lmbda == 0, jnp.log1p(x), jnp.expm1(lmbda * jnp.log1p(x)) / safe)





def bessel_jn(z, *, v, n_iter=50):
    """J_0(z) ... J_v(z), the Bessel functions of the first kind of integer order, stacked on a new
    leading axis (jax.scipy.special.bessel_jn): Miller's backward recurrence
    f_{k-1} = (2k / z) f_k - f_{k+1} from order v + n_iter down, normalised by
    J_0 + 2 (J_2 + J_4 + ...) = 1. The recurrence is rescaled whenever it grows past 1e30, so small
    |z| neither overflows nor loses orders; accurate while |z| stays below about n_iter."""
    import operator
    v, n_iter = operator.index(v), operator.index(n_iter)
    if v < 0:
        raise ValueError(f"bessel_jn: order v must be non-negative, got {v}")
    (z,) = _inexact(z)
    if not jnp.issubdtype(z.dtype, jnp.floating):
        raise ValueError(f"bessel_jn: z must be real floating-point, got {z.dtype}")
    zero = z == 0
    zs = jnp.where(zero, 1.0, z)
    top = v + max(n_iter, 1)
    big, tiny = 1e30, 1e-30
    f_next, f = jnp.zeros_like(z), jnp.full_like(z, tiny)
    outs = {}
    norm = jnp.zeros_like(z)
    for k in range(top, 0, -1):
        if k <= v:
            outs[k] = f
        if k % 2 == 0:
            norm = norm + 2 * f
        f_prev = (2.0 * k / zs) * f - f_next
        # Rescale everything kept so far when the recurrence grows large.
        scale = jnp.where(jnp.abs(f_prev) > big, 1.0 / big, 1.0)
        f_next, f = f * scale, f_prev * scale
        norm = norm * scale
        outs = {j: o * scale for j, o in outs.items()}
    outs[0] = f
    norm = norm + f
    vals = jnp.stack([outs[k] / norm for k in range(v + 1)])
    at_zero = jnp.stack([jnp.where(zero, 1.0 if k == 0 else 0.0, 0.0) for k in range(v + 1)])
    return jnp.where(zero[None], at_zero, vals)
