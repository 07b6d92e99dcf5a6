"""gpuxla.debug: `print` and `callback`, as `jax.debug`, and the host-callback machinery that
`gpuxla.pure_callback` and `gpuxla.experimental.io_callback` share.

>>> import gpuxla as jax, gpuxla.numpy as jnp
>>> jax.debug.print("x = {x}", x=jnp.arange(3))
x = [0 1 2]
>>> f = jax.jit(lambda x: (jax.debug.print("inside: {}", x), x * 2)[1])
>>> y = f(jnp.ones(2))
inside: [1. 1.]

When every array argument already has a value (eager code, eager grad), the callback runs at
the call. On traced values (jit, vmap, scan bodies) the call becomes a `host_callback` node
(core/extensions.py) that the compiled program runs on the host with NumPy values, every time
it runs; under vmap it runs once per example ("sequential"), or once on the whole batch for
pure callbacks with ``vmap_method="broadcast_all"``/``"expand_dims"``. Callbacks with effects
(print, callback, io_callback) are tied to the traced function's outputs, so nothing drops them.
Differentiating through a pure_callback raises, as in JAX (use custom_jvp around it).
"""
import builtins

import numpy as np

from .core import extensions as X
from .core import graph
from .core.graph import Array, Aval
from .tree_util import tree_flatten, tree_unflatten

__all__ = ["breakpoint", "callback", "print"]


class _HostFn:
    """The Python callable behind a host_callback node and how to rebuild its arguments: the
    pytree of (args, kwargs) with the array leaves at `array_pos` and the other leaves static."""

    def __init__(self, fn, api, tree, static, array_pos):
        self.fn, self.api, self.tree, self.static, self.array_pos = fn, api, tree, static, array_pos

    def __call__(self, arrays):
        leaves = list(self.static)
        for i, a in zip(self.array_pos, arrays):
            leaves[i] = a
        args, kwargs = tree_unflatten(self.tree, leaves)
        return self.fn(*args, **kwargs)

    def __repr__(self):
        return f"<{self.api} {getattr(self.fn, '__name__', 'callback')}>"


def _call(api, fn, args, kwargs, result_specs, effect, vmap_method=None):
    """Run `fn` now when the arrays have values, else bind a host_callback node. Returns the
    results (arrays matching `result_specs`)."""
    from . import numpy as jnp
    leaves, tree = tree_flatten((tuple(args), dict(kwargs)))
    # As JAX, pure_callback and io_callback pass Python scalar arguments as arrays too (equinox's
    # error_if calls `.item()` on one).
    kinds = (Array, np.ndarray, np.generic) + ((bool, int, float, complex) if effect in ("pure", "io") else ())
    pos = [i for i, x in enumerate(leaves) if isinstance(x, kinds)]
    arrays = [jnp.asarray(leaves[i]) for i in pos]
    static = [None if i in set(pos) else x for i, x in enumerate(leaves)]
    host_fn = _HostFn(fn, api, tree, static, pos)
    spec_leaves, spec_tree = tree_flatten(result_specs)
    avals = tuple(Aval(s.shape, s.dtype) for s in spec_leaves)
    traced = any(a.sym is not None and a._buf is None for a in arrays)
    # Inside grad/jvp the inputs may carry tangents even when their values exist: a pure callback
    # becomes a node there, so differentiating through it raises instead of giving a zero.
    in_ad = effect == "pure" and graph.state.trace_level > 0 and any(a.prim is not None for a in arrays)
    # Inside a trace (jit, vmap, a loop body, a cond branch) a callback runs when the traced code
    # runs, not now: a pure one too, since it may raise (equinox's error_if raises from a cond
    # branch that only runs when the check fails).
    staged = X.collecting_effects()
    if not traced and not in_ad and not staged:
        out = _run(host_fn, [np.asarray(a) for a in arrays], avals)
        return tree_unflatten(spec_tree, [jnp.asarray(o) for o in out])
    outs = X.host_callback_p.bind(*arrays, fn=host_fn, result_avals=avals, effect=effect,
                                  vmap_method=vmap_method, n_batch=0)
    if effect != "pure":
        if not X.add_effect(outs[-1]):
            raise NotImplementedError(f"{api}: a traced value outside any trace")
        outs = outs[:-1]
    return tree_unflatten(spec_tree, list(outs))


def _check_results(host_fn, out, avals):
    leaves = [] if out is None and not avals else tree_flatten(out)[0]
    if len(leaves) != len(avals):
        raise TypeError(f"{host_fn.api}: the callback returned {len(leaves)} arrays, expected {len(avals)} "
                        f"(result_shape_dtypes)")
    res = []
    for o, a in zip(leaves, avals):
        o = np.asarray(o)
        if o.shape != a.shape or o.dtype != a.dtype:
            raise TypeError(f"{host_fn.api}: the callback returned {o.dtype}{list(o.shape)}, expected "
                            f"{a.dtype}{list(a.shape)} (result_shape_dtypes)")
        res.append(o)
    return res


def _run(host_fn, values, avals):
    return _check_results(host_fn, host_fn(values), avals)


# --- the node's host implementation, derivatives and batching -----------------------------------
def _host_impl(*bufs, fn, result_avals, effect, vmap_method, n_batch):
    rt = graph.runtime
    values = [np.asarray(rt.to_numpy(b)) for b in bufs]
    if n_batch and vmap_method not in ("broadcast_all", "expand_dims", "legacy_vectorized"):
        batch = values[0].shape[:n_batch] if values else ()
        per = [Aval(a.shape[n_batch:], a.dtype) for a in result_avals]
        outs = [np.empty(a.shape, a.dtype) for a in result_avals]
        for idx in np.ndindex(*batch):
            for o, r in zip(outs, _run(fn, [v[idx] for v in values], per)):
                o[idx] = r
    else:
        outs = _run(fn, values, result_avals)
    outs = [rt.from_numpy(np.array(o, order="C")) for o in outs]
    if effect != "pure":
        outs.append(rt.from_numpy(np.zeros((), np.bool_)))
    return tuple(outs)


def _barrier_impl(x, *tokens):
    return x


def _callback_jvp(primals, tangents, out, fn, result_avals, effect, **params):
    if effect == "pure" and any(t is not None for t in tangents):
        raise NotImplementedError(f"Pure callbacks do not support JVP ({fn.api}, jvp of 'host_callback'): "
                                  "wrap the callback in jax.custom_jvp to differentiate through it")
    return [None] * len(out)


def _callback_vjp(ct, out, *inputs, fn, result_avals, effect, **params):
    if effect == "pure" and any(c is not None for c in ct):
        raise NotImplementedError(f"Pure callbacks do not support VJP ({fn.api}, vjp of 'host_callback'): "
                                  "wrap the callback in jax.custom_vjp to differentiate through it")
    return (None,) * len(inputs)


def _barrier_jvp(primals, tangents, out):
    # The tangent waits for the callbacks too, so a jitted jvp still runs them.
    return None if tangents[0] is None else X.effect_barrier_p.bind(tangents[0], *primals[1:])


def _barrier_vjp(ct, out, x, *tokens):
    # Likewise the cotangent: jit(grad(f)) runs f's debug prints, as JAX does.
    return (None if ct is None else X.effect_barrier_p.bind(ct, *tokens),) + (None,) * len(tokens)


def _callback_batch(args, dims, *, fn, result_avals, effect, vmap_method, n_batch):
    from .transforms.batching import batch_size, bdim_at_front
    size = batch_size(args, dims)
    moved = [bdim_at_front(a, d, size) for a, d in zip(args, dims)]
    avals = tuple(Aval((size,) + a.shape, a.dtype) for a in result_avals)
    outs = X.host_callback_p.bind(*moved, fn=fn, result_avals=avals, effect=effect, vmap_method=vmap_method,
                                  n_batch=n_batch + 1)
    return outs, [0] * len(result_avals) + [None] * (len(outs) - len(result_avals))


def _barrier_batch(args, dims):
    return X.effect_barrier_p.bind(*args), dims[0]


def _install_rules():
    from .backends.host_loops import host_rules
    from .backends.numpy.reference import impl_rules
    from .transforms.ad import jvp_rules, vjp_rules
    from .transforms.batching import batch_rules
    host_rules[X.host_callback_p] = impl_rules[X.host_callback_p] = _host_impl
    host_rules[X.effect_barrier_p] = impl_rules[X.effect_barrier_p] = _barrier_impl
    jvp_rules[X.host_callback_p], vjp_rules[X.host_callback_p] = _callback_jvp, _callback_vjp
    jvp_rules[X.effect_barrier_p], vjp_rules[X.effect_barrier_p] = _barrier_jvp, _barrier_vjp
    batch_rules[X.host_callback_p], batch_rules[X.effect_barrier_p] = _callback_batch, _barrier_batch


_install_rules()


# --- the public functions -----------------------------------------------------------------------
def callback(callback, *args, ordered=False, partitioned=False, **kwargs):
    """Call `callback(*args, **kwargs)` on the host with the arrays as NumPy values (once per
    example under vmap); returns None."""
    _call("jax.debug.callback", callback, args, kwargs, (), "debug")


def print(fmt, *args, ordered=False, **kwargs):  # noqa: A001  (JAX's name)
    """Print `fmt.format(*args, **kwargs)` with the arrays' values, as jax.debug.print."""
    _call("jax.debug.print", lambda *a, **k: builtins.print(fmt.format(*a, **k)), args, kwargs, (), "debug")


def breakpoint(*args, **kwargs):  # noqa: A001
    raise NotImplementedError("jax.debug.breakpoint is not in gpuxla yet")


def _pure_callback(callback, result_shape_dtypes, args, kwargs, vmap_method, effect="pure",
                   api="jax.pure_callback"):
    return _call(api, callback, args, kwargs, result_shape_dtypes, effect, vmap_method)
