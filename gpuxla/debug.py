"""gpuxla.debug: `print` and `callback`, as `jax.debug`, and the host-callback machinery that
`gpuxla.pure_callback` and `gpuxla.experimental.io_callback` share.

Outside transformations the arrays' values exist, so the callback runs at the call, on NumPy
arrays. Inside jit, vmap or grad the values exist only when the compiled program runs; gpuxla
has no host-callback primitive in its programs yet, so a callback on traced values raises
NotImplementedError naming the API, never prints a tracer or skips the call silently.

>>> import gpuxla.numpy as jnp
>>> from gpuxla import debug
>>> debug.print("x = {x}", x=jnp.arange(3))
x = [0 1 2]
"""
import builtins

import numpy as np

from .core.graph import Array
from .tree_util import tree_flatten, tree_map, tree_unflatten

__all__ = ["breakpoint", "callback", "print"]


def _host_values(api, args, kwargs):
    """args and kwargs with every Array as a NumPy array; NotImplementedError for a traced one."""
    leaves, tree = tree_flatten((args, kwargs))
    out = []
    for x in leaves:
        if isinstance(x, Array):
            if x.sym is not None and x._buf is None:
                raise NotImplementedError(
                    f"{api} on a traced value ({x.sym}): gpuxla runs host callbacks only outside jit, vmap and "
                    f"grad for now (the callback would need a host-callback primitive in the compiled program)")
            x = np.asarray(x)
        out.append(x)
    return tree_unflatten(tree, out)


def callback(callback, *args, ordered=False, partitioned=False, **kwargs):
    """Call `callback(*args, **kwargs)` with the arrays as NumPy values; returns None."""
    a, k = _host_values("jax.debug.callback", args, kwargs)
    callback(*a, **k)


def print(fmt, *args, ordered=False, **kwargs):  # noqa: A001  (JAX's name)
    """Print `fmt.format(*args, **kwargs)` with the arrays' values, as jax.debug.print."""
    a, k = _host_values("jax.debug.print", args, kwargs)
    builtins.print(fmt.format(*a, **k))


def breakpoint(*args, **kwargs):  # noqa: A001
    raise NotImplementedError("jax.debug.breakpoint is not in gpuxla yet")


def _pure_callback(callback, result_shape_dtypes, args, kwargs, vmap_method):
    from . import numpy as jnp
    a, k = _host_values("jax.pure_callback", args, kwargs)
    out = callback(*a, **k)
    spec_leaves, spec_tree = tree_flatten(result_shape_dtypes)
    out_leaves, out_tree = tree_flatten(out)
    if out_tree != spec_tree:
        raise TypeError(f"pure_callback: the callback returned structure {out_tree}, expected {spec_tree}")
    res = []
    for o, s in zip(out_leaves, spec_leaves):
        o = np.asarray(o)
        if o.shape != tuple(s.shape) or o.dtype != np.dtype(s.dtype):
            raise TypeError(f"pure_callback: the callback returned {o.dtype}{list(o.shape)}, expected "
                            f"{np.dtype(s.dtype)}{list(s.shape)} (result_shape_dtypes)")
        res.append(jnp.asarray(o))
    return tree_map(lambda x: x, tree_unflatten(spec_tree, res))
