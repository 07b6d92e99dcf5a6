"""gpuxla.nn.initializers: weight initializers, as `jax.nn.initializers`.

An initializer is `init(key, shape, dtype=float32) -> Array`; the factories below build them.
They draw from gpuxla.random, which reproduces JAX's PRNG bit for bit, so the same key gives the
same weights as JAX.

>>> from gpuxla import random
>>> from gpuxla.nn import initializers
>>> initializers.glorot_uniform()(random.PRNGKey(0), (2, 3)).shape
(2, 3)
"""
import math
import typing

import numpy as np

from .. import numpy as jnp
from ..core import dtypes

__all__ = ["Initializer", "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform", "he_normal",
           "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform", "normal", "ones",
           "orthogonal", "truncated_normal", "uniform", "variance_scaling", "xavier_normal", "xavier_uniform",
           "zeros"]


def _random():
    from .. import random
    return random


def _dt(dtype):
    return dtypes.default_float_dtype() if dtype is None else dtypes.canonicalize_dtype(dtype)


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


class Initializer(typing.Protocol):
    """The type of an initializer, `(key, shape, dtype) -> Array` (for annotations, as JAX's)."""

    def __call__(self, key, shape, dtype=None): ...


def zeros(key, shape, dtype=None, out_sharding=None):
    return jnp.zeros(_shape(shape), _dt(dtype))


def ones(key, shape, dtype=None, out_sharding=None):
    return jnp.ones(_shape(shape), _dt(dtype))


def constant(value, dtype=None):
    def init(key, shape, dtype=dtype, out_sharding=None):
        return jnp.full(_shape(shape), value, _dt(dtype))
    return init


def uniform(scale=1e-2, dtype=None):
    """Uniform on [0, scale)."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        dt = _dt(dtype)
        return _random().uniform(key, _shape(shape), dt) * jnp.array(scale, dt)
    return init


def normal(stddev=1e-2, dtype=None):
    def init(key, shape, dtype=dtype, out_sharding=None):
        dt = _dt(dtype)
        return _random().normal(key, _shape(shape), dt) * jnp.array(stddev, dt)
    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """stddev times a standard normal truncated to [lower, upper] (no variance correction)."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        dt = _dt(dtype)
        return _random().truncated_normal(key, lower, upper, _shape(shape), dt) * jnp.array(stddev, dt)
    return init


def _compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"Can't compute input and output sizes of a {len(shape)}-dimensional weights tensor with "
                         "default in_axis. Must be at least 2D or specify in_axis explicitly.")

    def size(axes):
        return shape[axes] if isinstance(axes, int) else math.prod(shape[i] for i in axes)
    in_size, out_size, batch = size(in_axis), size(out_axis), size(batch_axis)
    receptive = math.prod(shape) / in_size / out_size / batch
    return in_size * receptive, out_size * receptive


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """Samples with variance scale / n, n = fan_in, fan_out, their mean or geometric mean.
    distribution: 'truncated_normal' (cut at 2 standard deviations, rescaled to keep the
    variance), 'normal' or 'uniform'."""
    if distribution not in ("truncated_normal", "normal", "uniform"):
        raise ValueError(f"invalid distribution for variance scaling initializer: {distribution}")

    def init(key, shape, dtype=dtype, out_sharding=None):
        shape, dt = _shape(shape), _dt(dtype)
        if dtypes.is_complex(dt):
            raise NotImplementedError("variance_scaling with a complex dtype is not supported by gpuxla")
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        den = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
               "fan_geo_avg": (fan_in * fan_out) ** 0.5}.get(mode)
        if den is None:
            raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
        variance = jnp.array(scale / den, dtype=dt)
        rnd = _random()
        if distribution == "truncated_normal":
            # .8796... is the standard deviation of a standard normal truncated to [-2, 2]
            stddev = jnp.sqrt(variance) / jnp.array(.87962566103423978, dt)
            return rnd.truncated_normal(key, -2, 2, shape, dt) * stddev
        if distribution == "normal":
            return rnd.normal(key, shape, dt) * jnp.sqrt(variance)
        return rnd.uniform(key, shape, dt, -1) * jnp.sqrt(3 * variance)
    return init


def _family(scale, mode, distribution, name):
    def make(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)
    make.__name__ = name
    make.__doc__ = f"variance_scaling({scale}, {mode!r}, {distribution!r})"
    return make


glorot_uniform = xavier_uniform = _family(1.0, "fan_avg", "uniform", "glorot_uniform")
glorot_normal = xavier_normal = _family(1.0, "fan_avg", "truncated_normal", "glorot_normal")
lecun_uniform = _family(1.0, "fan_in", "uniform", "lecun_uniform")
lecun_normal = _family(1.0, "fan_in", "truncated_normal", "lecun_normal")
he_uniform = kaiming_uniform = _family(2.0, "fan_in", "uniform", "he_uniform")
he_normal = kaiming_normal = _family(2.0, "fan_in", "truncated_normal", "he_normal")


def _orthogonal_matrix(key, n, m, dt):
    from ..numpy import linalg
    z = _random().normal(key, (max(n, m), min(n, m)), dt)
    q, r = linalg.qr(z)
    x = q * jnp.expand_dims(jnp.sign(jnp.diagonal(r)), -2)
    return x.T if n < m else x


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """A (scaled) matrix with orthonormal rows or columns, reshaped to `shape` (the axis
    `column_axis` holds the columns)."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        shape, dt = _shape(shape), _dt(dtype)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if any(d == 0 for d in shape):
            return jnp.zeros(shape, dt)
        n_rows, n_cols = math.prod(shape) // shape[column_axis], shape[column_axis]
        q = _orthogonal_matrix(key, n_rows, n_cols, dt)
        q = jnp.reshape(q, tuple(np.delete(shape, column_axis)) + (shape[column_axis],))
        return jnp.array(scale, dt) * jnp.moveaxis(q, -1, column_axis)
    return init


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """Zeros except an orthogonal matrix at the spatial centre of a 3-5 D convolution kernel."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        shape, dt = _shape(shape), _dt(dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        mat = orthogonal(scale=scale, column_axis=column_axis, dtype=dt)(key, shape[-2:])
        centre = tuple(k // 2 for k in shape[:-2])
        return jnp.zeros(shape, dt).at[centre].set(mat)
    return init
