"""User-defined derivatives (custom_jvp, custom_vjp) and checkpoint/remat.

A call computes the function's outputs with its own graph, then binds
`custom_jvp_call(*args, *outs)` / `custom_vjp_call(*args, *outs)`, the identity on `outs`, whose
params carry the user's rules. The derivative walk stops at that node (see `ad._ad_inputs`) and
runs the rules instead of walking into the function's graph.

  * custom_jvp: the JVP rule calls the user's jvp; the VJP rule transposes it (the user's JVP is
    called on fresh tangent leaves and that linear graph is walked backward).
  * custom_vjp: the VJP rule calls fwd, then bwd; forward mode is an error, as in JAX.
  * checkpoint: a custom_jvp_call whose rules re-run the function under jvp/vjp, so the backward
    pass recomputes the forward values instead of reading the saved ones.
"""
import functools
import inspect

import numpy as np

from ..core import dtypes
from ..core import primitives as P
from ..core.graph import state
from ..core.trace import as_node
from ..tree_util import tree_flatten, tree_map, tree_structure, tree_unflatten
from . import ad
from .ad import jvp_rules, vjp_rules

__all__ = ["custom_jvp", "custom_vjp", "checkpoint", "remat", "SymbolicZero", "CustomVJPPrimal"]


class _Static:
    """Non-differentiable arguments, held in a node's params: hashable (by value when the
    values are, else by identity) so eager realization can cache by structure."""

    def __init__(self, items):
        self.items = tuple(items)          # ((position, value), ...)
        try:
            self._key = ("v", hash(self.items), self.items)
        except TypeError:
            self._key = ("id", id(self))

    def __hash__(self):
        return hash(self._key[:2])

    def __eq__(self, other):
        return isinstance(other, _Static) and self._key[0] == other._key[0] and (
            self._key[2] == other._key[2] if self._key[0] == "v" else self is other)

    def values(self):
        return [v for _, v in self.items]

    def merge(self, dyn):
        """All arguments in their original positions: the static ones and `dyn` (the rest)."""
        n = len(self.items) + len(dyn)
        pos = dict(self.items)
        it = iter(dyn)
        return tuple(pos[i] if i in pos else next(it) for i in range(n))

    def __repr__(self):
        return f"static{tuple(i for i, _ in self.items)}"


def _resolve(fun, args, kwargs):
    """Keyword arguments bound to positions, as JAX's custom rules see them."""
    if not kwargs:
        return tuple(args)
    sig = inspect.signature(fun)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"{getattr(fun, '__name__', 'function')}: keyword-only arguments are not supported with "
                        "custom derivatives; pass them positionally")
    return tuple(bound.args)


def _bind(prim, fun, args, static_argnums, **params):
    n = len(args)
    for i in static_argnums:
        if not -n <= i < n:
            raise ValueError(f"nondiff_argnums/static_argnums {tuple(static_argnums)} out of range for {n} arguments")
    nd = sorted({i % n for i in static_argnums})
    static = _Static((i, args[i]) for i in nd)
    dyn = tuple(a for i, a in enumerate(args) if i not in nd)
    flat, in_tree = tree_flatten(dyn)
    nodes = [as_node(x) for x in flat]
    out = fun(*static.merge(tree_unflatten(in_tree, nodes)))
    if state.trace_level == 0:
        # No transformation is running, so nothing can differentiate through these outputs
        # later (a later grad wraps new leaves): the call node would only cost a kernel input.
        return out
    out_flat, out_tree = tree_flatten(out)
    outs = [as_node(o) for o in out_flat]
    res = prim.bind(*nodes, *outs, num_outs=len(outs), in_tree=in_tree, out_tree=out_tree, static=static,
                    fun=fun, **params)
    return tree_unflatten(out_tree, res)


class SymbolicZero:
    """A zero tangent or cotangent that is not an array: what a rule defined with
    `symbolic_zeros=True` receives for an input (an output) that has none, and may return."""

    def __init__(self, aval):
        self.aval = aval

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)

    @staticmethod
    def from_primal_value(x):
        a = as_node(x).aval
        return SymbolicZero(a.update(dtype=dtypes.float0 if not dtypes.is_inexact(a.dtype) else a.dtype,
                                     weak_type=False))

    def __repr__(self):
        return f"SymbolicZero({self.aval})"


class CustomVJPPrimal:
    """An argument of a `custom_vjp` fwd rule defined with `symbolic_zeros=True`: its `value`, and
    whether it is `perturbed` (gpuxla counts every floating-point argument as perturbed)."""

    def __init__(self, value, perturbed):
        self.value, self.perturbed = value, perturbed

    def __repr__(self):
        return f"CustomVJPPrimal(value={self.value!r}, perturbed={self.perturbed})"


def _tangent_in(t, x, symbolic=False):
    if t is not None:
        return t
    return SymbolicZero(x.aval) if symbolic else ad.zeros_like_aval(x.aval)


def _leaf_or_none(v):
    """A user rule's tangent/cotangent leaf: None (zero), or an Array; float0 means zero."""
    if v is None or type(v) is SymbolicZero:
        return None
    if isinstance(v, np.ndarray) and v.dtype == dtypes.float0:
        return None
    return as_node(v)


def _flat_user(tree, expect, what, name):
    """A user rule's result flattened against the structure it must have (None leaves: zero)."""
    try:
        flat = expect.flatten_up_to(tree)
    except ValueError as e:
        raise TypeError(f"Custom {what} rule of {name} must produce an output with the container (pytree) "
                        f"structure {expect}: {e}") from None
    return [_leaf_or_none(v) for v in flat]


def _name(fun):
    return getattr(fun, "__name__", repr(fun))


# --- custom_jvp --------------------------------------------------------------------------------
class custom_jvp:
    """A function with a user-defined JVP (and, by transposing it, VJP).

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> @jax.custom_jvp
    ... def f(x):
    ...     return jnp.sin(x)
    >>> @f.defjvp
    ... def f_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return f(x), 2.0 * t
    >>> jax.grad(f)(1.0)
    Array(2., dtype=float32, weak_type=True)
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp, symbolic_zeros=False):
        """`jvp(primals, tangents) -> (primal_out, tangent_out)`. With `symbolic_zeros=True` an
        input without a tangent gets a `SymbolicZero` instead of an array of zeros (under `vmap`,
        arrays of zeros), and the rule may return one."""
        self.jvp = _SymbolicZerosRule(jvp) if symbolic_zeros else jvp
        return jvp

    def defjvps(self, *jvps):
        """One rule per argument: `jvps[i](t_i, primal_out, *primals)`; their results are summed."""
        if self.nondiff_argnums:
            raise TypeError("Can't use ``defjvps`` with ``nondiff_argnums``.")

        def jvp(primals, tangents):
            out = self(*primals)
            parts = [f(t, out, *primals) for f, t in zip(jvps, tangents) if f is not None]
            if not parts:
                return out, tree_map(lambda o: ad.zeros_like_aval(as_node(o).aval), out)
            return out, functools.reduce(lambda a, b: tree_map(lambda u, v: u + v, a, b), parts)
        self.defjvp(jvp)

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {_name(self.fun)} using defjvp.")
        args = _resolve(self.fun, args, kwargs)
        return _bind(P.custom_jvp_call_p, self.fun, args, self.nondiff_argnums, jvp=self.jvp, remat=False)


class _SymbolicZerosRule:
    """A rule defined with symbolic_zeros=True (the flag travels with it in the call's params)."""
    symbolic_zeros = True

    def __init__(self, rule):
        self.rule = rule
        functools.update_wrapper(self, rule)

    def __call__(self, *args):
        return self.rule(*args)

    def __eq__(self, other):
        return type(other) is _SymbolicZerosRule and other.rule == self.rule

    def __hash__(self):
        return hash(self.rule)


def _symbolic(rule):
    return getattr(rule, "symbolic_zeros", False)


def batched_symbolic_fwd(fwd, vmapped):
    """The fwd rule of a batched custom_vjp call whose fwd takes `CustomVJPPrimal`s: `vmapped`
    (the vmap of a function of plain values) on their values. (Its bwd, batched, gets arrays of
    zeros for zero cotangents: vmap cannot map over a SymbolicZero.)"""
    def fwd_b(*args):
        return vmapped(*tree_map(lambda a: a.value if type(a) is CustomVJPPrimal else a, args))
    return _SymbolicZerosRule(fwd_b)


def _call_user_jvp(xs, ts, in_tree, out_tree, static, jvp, fun):
    primals = tuple(tree_unflatten(in_tree, list(xs)))
    tangents = tuple(tree_unflatten(in_tree, list(ts)))
    res = jvp(*static.values(), primals, tangents)
    if not (isinstance(res, (tuple, list)) and len(res) == 2):
        raise TypeError(f"Custom JVP rule of {_name(fun)} must produce a pair (list or tuple of length two) "
                        f"representing primal and tangent outputs, but got {res!r}.")
    return _flat_user(res[1], out_tree, "JVP", _name(fun))


def _custom_jvp_jvp(primals, tangents, out, num_outs, in_tree, out_tree, static, fun, jvp, remat, batch=None):
    n = len(primals) - num_outs
    sym = not remat and _symbolic(jvp)
    xs, ts = primals[:n], [_tangent_in(t, x, sym) for t, x in zip(tangents[:n], primals[:n])]
    if remat:
        t_out = ad.jvp(lambda *d: fun(*static.merge(d)), tuple(tree_unflatten(in_tree, list(xs))),
                       tuple(tree_unflatten(in_tree, ts)))[1]
        return [_leaf_or_none(v) for v in tree_flatten(t_out)[0]]
    return _call_user_jvp(xs, ts, in_tree, out_tree, static, jvp, fun)


def _custom_jvp_vjp(ct, out, *inputs, num_outs, in_tree, out_tree, static, fun, jvp, remat, batch=None):
    n = len(inputs) - num_outs
    xs = inputs[:n]
    if remat:
        # Re-run the function on fresh leaves: the backward pass recomputes what it needs.
        outs = inputs[n:]
        g = tree_unflatten(out_tree, [c if c is not None else ad.zeros_like_aval(o.aval) for c, o in zip(ct, outs)])
        _, pullback = ad.vjp(lambda *d: fun(*static.merge(d)), *tree_unflatten(in_tree, list(xs)))
        cts = [_leaf_or_none(v) for v in tree_flatten(pullback(g))[0]]
        return tuple(cts) + (None,) * num_outs
    # Transpose the user's JVP: it is linear in the tangents, so walking its tangent graph
    # backward from the output cotangents to fresh tangent leaves gives the VJP.
    leaves = [P.wrap_p.bind(ad.zeros_like_aval(x.aval)) if dtypes.is_inexact(x.dtype) else None for x in xs]
    ts = [lf if lf is not None else _tangent_in(None, x, _symbolic(jvp)) for lf, x in zip(leaves, xs)]
    t_out = _call_user_jvp(xs, ts, in_tree, out_tree, static, jvp, fun)
    live = [lf for lf in leaves if lf is not None]
    pairs = [(t, c) for t, c in zip(t_out, ct) if t is not None and c is not None]
    cts = ad.Linear(live, [t for t, _ in pairs]).backward([c for _, c in pairs]) if pairs else [None] * len(live)
    it = iter(cts)
    return tuple(next(it) if lf is not None else None for lf in leaves) + (None,) * num_outs


jvp_rules[P.custom_jvp_call_p], vjp_rules[P.custom_jvp_call_p] = _custom_jvp_jvp, _custom_jvp_vjp


# --- custom_vjp --------------------------------------------------------------------------------
class custom_vjp:
    """A function with a user-defined VJP: `defvjp(fwd, bwd)` where `fwd(*args) -> (out,
    residuals)` and `bwd(residuals, ct) -> tuple of cotangents, one per argument` (None for a
    zero cotangent). Residuals may be any pytree.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> @jax.custom_vjp
    ... def clip_gradient(lo, hi, x):
    ...     return x
    >>> clip_gradient.defvjp(lambda lo, hi, x: (x, (lo, hi)),
    ...                      lambda res, g: (None, None, jnp.clip(g, *res)))
    >>> jax.grad(lambda x: clip_gradient(-0.5, 0.5, 3.0 * x))(1.0)
    Array(1.5, dtype=float32, weak_type=True)
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd, symbolic_zeros=False, optimize_remat=False):
        """With `symbolic_zeros=True`, fwd receives each argument as a `CustomVJPPrimal`, bwd
        receives a `SymbolicZero` for an output without a cotangent, and may return them."""
        self.fwd, self.bwd = (_SymbolicZerosRule(fwd), _SymbolicZerosRule(bwd)) if symbolic_zeros else (fwd, bwd)

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {_name(self.fun)} using defvjp.")
        args = _resolve(self.fun, args, kwargs)
        return _bind(P.custom_vjp_call_p, self.fun, args, self.nondiff_argnums, fwd=self.fwd, bwd=self.bwd)


def _custom_vjp_jvp(primals, tangents, out, fun, **params):
    raise TypeError(f"can't apply forward-mode autodiff (jvp) to a custom_vjp function ({_name(fun)}).")


def _custom_vjp_vjp(ct, out, *inputs, num_outs, in_tree, out_tree, static, fun, fwd, bwd):
    n = len(inputs) - num_outs
    xs, outs = inputs[:n], inputs[n:]
    dyn = tuple(tree_unflatten(in_tree, list(xs)))
    sym = _symbolic(fwd)
    if sym:
        res = fwd(*static.merge(tree_map(lambda x: CustomVJPPrimal(x, dtypes.is_inexact(as_node(x).dtype)), dyn)))
    else:
        res = fwd(*static.merge(dyn))
    if not (isinstance(res, (tuple, list)) and len(res) == 2):
        raise TypeError(f"Custom VJP fwd rule {_name(fwd)} for function {_name(fun)} must produce a pair (list or "
                        f"tuple of length two) where the first element represents the primal output and the "
                        f"second element represents residuals, but got {res!r}.")
    sym_ct = _symbolic(bwd)
    g = tree_unflatten(out_tree, [c if c is not None else _tangent_in(None, o, sym_ct) for c, o in zip(ct, outs)])
    cts = bwd(*static.values(), res[1], g)
    if not isinstance(cts, (tuple, list)) or len(cts) != len(dyn):
        raise TypeError(f"Custom VJP bwd rule {_name(bwd)} must produce a tuple with one cotangent per primal "
                        f"input (None for zero): expected length {len(dyn)}, got "
                        f"{len(cts) if isinstance(cts, (tuple, list)) else type(cts).__name__}.")
    flat = []
    for arg, c in zip(dyn, cts):
        k = len(tree_flatten(arg)[0])
        if c is None:
            flat += [None] * k
            continue
        flat += _flat_user(c, tree_structure(arg), "VJP", _name(fun))
    return tuple(flat) + (None,) * num_outs


jvp_rules[P.custom_vjp_call_p], vjp_rules[P.custom_vjp_call_p] = _custom_vjp_jvp, _custom_vjp_vjp


# --- checkpoint --------------------------------------------------------------------------------
def checkpoint(fun=None, *, prevent_cse=True, policy=None, static_argnums=()):
    """Recompute `fun`'s intermediate values in the backward pass instead of keeping them.

    Gradients are exactly those of `fun`. `policy` is accepted for JAX compatibility; gpuxla
    recomputes everything inside the checkpointed function."""
    if fun is None:
        return functools.partial(checkpoint, prevent_cse=prevent_cse, policy=policy, static_argnums=static_argnums)
    static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def remat_fun(*args, **kwargs):
        args = _resolve(fun, args, kwargs)
        return _bind(P.custom_jvp_call_p, fun, args, static_argnums, jvp=None, remat=True)
    return remat_fun


remat = checkpoint
