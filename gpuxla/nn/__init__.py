"""gpuxla.nn: activation functions and friends, as in `jax.nn`.

>>> import gpuxla.numpy as jnp, gpuxla.nn as nn
>>> nn.relu(jnp.array([-1.0, 2.0]))
Array([0., 2.], dtype=float32)

Everything is a composite of gpuxla.numpy/lax ops, so grad, vmap and jit see ordinary primitives.
Stable forms follow JAX: softplus via logaddexp, logsumexp/softmax subtract a stop_gradient max,
relu/relu6 have custom JVPs so their derivative at the kinks is 0 (JAX's convention).
"""
import operator

import numpy as np

from .. import lax
from .. import numpy as jnp
from ..core import dtypes
from ..transforms.ad import custom_jvp
from ..scipy.special import logsumexp, expit as _expit
from . import initializers

__all__ = ["celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "identity",
           "initializers", "leaky_relu", "log1mexp", "log_sigmoid", "log_softmax", "logmeanexp", "logsumexp",
           "mish", "normalize", "one_hot", "relu", "relu6", "selu", "sigmoid", "silu", "soft_sign", "softmax",
           "softplus", "sparse_plus", "sparse_sigmoid", "squareplus", "standardize", "swish", "tanh",
           "dot_product_attention"]


def _inexact(x):
    """x as an Array with an inexact dtype (integers promote to the default float, weakly)."""
    x = jnp.asarray(x)
    if not dtypes.is_inexact(x.dtype):
        x = lax.convert_element_type(x, dtypes.default_float_dtype(), weak_type=x.weak_type)
    return x


def identity(x):
    return jnp.asarray(x)


@custom_jvp
def relu(x):
    """max(x, 0); the derivative at 0 is 0, as in JAX."""
    return jnp.maximum(x, 0)


relu.defjvps(lambda g, ans, x: lax.select(x > 0, g, lax.full_like(g, 0)))


@custom_jvp
def relu6(x):
    return jnp.minimum(jnp.maximum(x, 0), 6.0)


relu6.defjvps(lambda g, ans, x: lax.select((x > 0) & (x < 6), g, lax.full_like(g, 0)))


def sigmoid(x):
    return _expit(x)


def softplus(x):
    return jnp.logaddexp(_inexact(x), 0)


def sparse_plus(x):
    x = _inexact(x)
    return jnp.where(x <= -1.0, 0.0, jnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


def sparse_sigmoid(x):
    x = _inexact(x)
    return 0.5 * jnp.clip(x + 1.0, 0.0, 2.0)


def squareplus(x, b=4):
    x = _inexact(x)
    return (x + jnp.sqrt(jnp.square(x) + b)) / 2


def soft_sign(x):
    x = _inexact(x)
    return x / (jnp.abs(x) + 1)


def log_sigmoid(x):
    return -softplus(-_inexact(x))


def silu(x):
    x = _inexact(x)
    return x * sigmoid(x)


swish = silu


def mish(x):
    x = _inexact(x)
    return x * jnp.tanh(softplus(x))


def tanh(x):
    return jnp.tanh(x)


def elu(x, alpha=1.0):
    x = _inexact(x)
    safe = jnp.where(x > 0, 0.0, x)   # keeps expm1 of large positive x out of the gradient
    return jnp.where(x > 0, x, alpha * jnp.expm1(safe))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def celu(x, alpha=1.0):
    x = _inexact(x)
    return jnp.maximum(x, 0.0) + alpha * jnp.expm1(jnp.minimum(x, 0.0) / alpha)


def leaky_relu(x, negative_slope=1e-2):
    x = _inexact(x)
    return jnp.where(x >= 0, x, negative_slope * x)


def hard_tanh(x):
    x = _inexact(x)
    return jnp.where(x > 1, 1.0, jnp.where(x < -1, -1.0, x))


def hard_sigmoid(x):
    return relu6(_inexact(x) + 3.0) / 6.0


def hard_silu(x):
    x = _inexact(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def gelu(x, approximate=True):
    """Gaussian error linear unit: the tanh approximation by default, erf-exact with
    approximate=False."""
    x = _inexact(x)
    if approximate:
        c = np.sqrt(2 / np.pi).astype(x.dtype)
        return x * (0.5 * (1.0 + jnp.tanh(c * (x + 0.044715 * x ** 3))))
    return 0.5 * x * lax.erfc(-x * np.sqrt(0.5).astype(x.dtype))


def glu(x, axis=-1):
    x = jnp.asarray(x)
    n = x.shape[axis]
    if n % 2:
        raise ValueError(f"glu: axis {axis} of size {n} must be even (it is split in two halves)")
    a, b = jnp.split(x, 2, axis)
    return a * sigmoid(b)


def log1mexp(x):
    """log(1 - exp(-x)) for x >= 0, accurate on both sides of log 2."""
    x = _inexact(x)
    return jnp.where(x < np.log(2.0), jnp.log(-jnp.expm1(-x)), jnp.log1p(-jnp.exp(-x)))


def _shift_max(x, axis, where):
    # As JAX, the maximum is subtracted as it is: a +inf entry makes its whole slice NaN (inf - inf;
    # JAX documents "if any input values are +inf, the result will be all NaN"), never a 1 or 0.
    return lax.stop_gradient(jnp.max(x, axis, where=where, initial=-jnp.inf, keepdims=True))


def softmax(x, axis=-1, where=None, initial=-np.inf):
    """exp(x) / sum(exp(x)) along `axis`, computed with the maximum subtracted."""
    x = _inexact(x)
    e = jnp.exp((x if where is None else jnp.where(where, x, -jnp.inf)) - _shift_max(x, axis, where))
    out = e / jnp.sum(e, axis, where=where, keepdims=True)
    return out if where is None else jnp.where(where, out, 0.0)


def log_softmax(x, axis=-1, where=None):
    x = _inexact(x)
    shifted = (x if where is None else jnp.where(where, x, -jnp.inf)) - _shift_max(x, axis, where)
    out = shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis, where=where, keepdims=True))
    return out if where is None else jnp.where(where, out, -jnp.inf)


def logmeanexp(x, axis=None, where=None, keepdims=False):
    x = _inexact(x)
    lse = logsumexp(x, axis=axis, where=where, keepdims=keepdims)
    ones = jnp.ones_like(x) if where is None else jnp.where(where, 1.0, 0.0).astype(x.dtype) * jnp.ones_like(x)
    return lse - jnp.log(jnp.sum(ones, axis, keepdims=keepdims))


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None):
    """(x - mean) / sqrt(variance + epsilon) with the statistics taken along `axis`."""
    x = _inexact(x)
    if mean is None:
        mean = jnp.mean(x, axis, keepdims=True, where=where)
    if variance is None:
        # JAX's default ("fast") form, clipped so rounding cannot make it negative.
        variance = jnp.clip(jnp.mean(jnp.square(x), axis, keepdims=True, where=where) - jnp.square(mean), 0)
    return (x - mean) * lax.rsqrt(variance + epsilon)


normalize = standardize


def one_hot(x, num_classes, *, dtype=None, axis=-1):
    """Indices to one-hot vectors along `axis`; out-of-range indices give all zeros.

    >>> one_hot(jnp.array([0, 2]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    try:
        num_classes = operator.index(num_classes)
    except TypeError:
        raise TypeError(f"one_hot: num_classes must be a concrete integer, got {num_classes!r}") from None
    x = jnp.asarray(x)
    out_axis = axis % (x.ndim + 1) if -(x.ndim + 1) <= axis <= x.ndim else None
    if out_axis is None:
        raise ValueError(f"one_hot: axis {axis} is out of bounds for an output of rank {x.ndim + 1}")
    shape = list(x.shape)
    shape.insert(out_axis, num_classes)
    lhs = lax.expand_dims(x, (out_axis,))
    rhs = lax.broadcasted_iota(x.dtype, shape, out_axis)
    return (lhs == rhs).astype(dtypes.canonicalize_dtype(dtype or dtypes.default_float_dtype()))


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None, is_causal=False, **kwargs):
    """softmax(q k^T * scale + bias) v for inputs shaped (B, T, N, H) or (T, N, H), as the
    'xla' implementation of jax.nn.dot_product_attention (grouped key/value heads included)."""
    unsupported = {k: v for k, v in kwargs.items() if v not in (None, False) and k != "implementation"}
    if unsupported or kwargs.get("implementation") not in (None, "xla"):
        raise NotImplementedError(f"dot_product_attention: options {sorted(kwargs)} are not supported by gpuxla")
    q, k, v = (jnp.asarray(a) for a in (query, key, value))
    squeeze = q.ndim == 3
    if squeeze:
        q, k, v = q[None], k[None], v[None]
    B, T, N, H = q.shape
    S, K = k.shape[1], k.shape[2]
    if N % K:
        raise ValueError(f"dot_product_attention: {N} query heads are not a multiple of {K} key/value heads")
    scale = 1.0 / np.sqrt(H) if scale is None else scale
    qg = jnp.reshape(q, (B, T, K, N // K, H))
    logits = jnp.einsum("BTKGH,BSKH->BKGTS", qg, k) * scale
    logits = jnp.reshape(logits, (B, N, T, S))
    if bias is not None:
        logits = logits + jnp.asarray(bias).astype(logits.dtype)
    if mask is not None or is_causal:
        m = jnp.ones((T, S), bool) if mask is None else jnp.asarray(mask, bool)
        if is_causal:
            m = m & jnp.tril(jnp.ones((T, S), bool))
        big = (np.float32(0.7 * np.finfo(np.float32).max) if logits.dtype != np.float64
               else 0.7 * np.finfo(np.float64).max)
        logits = jnp.where(m, logits, -big)
    probs = softmax(logits.astype(np.float32), axis=-1).astype(logits.dtype)
    out = jnp.einsum("BKGTS,BSKH->BTKGH", jnp.reshape(probs, (B, K, N // K, T, S)), v)
    out = jnp.reshape(out, (B, T, N, H))
    return out[0] if squeeze else out
