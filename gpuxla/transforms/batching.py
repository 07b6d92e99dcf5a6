"""vmap as a graph rewrite, the batching table and the helpers its rows are written with.

`vmap(f)` calls f once on symbolic per-example leaves (shapes without the batch axis), then
rewrites the resulting graph forward onto the real batched inputs: each node that depends on the
leaves is rebuilt by its batching rule, every other node is kept as it is (so an outer grad still
walks through it).

  batch_rules[prim](args, dims, **params) -> (out, out_dim)      (lists for multiple results)

`dims[i]` is the batch axis of `args[i]`, or None when that argument is unbatched. The rows live
with the primitives' families (batching_rules.py for core's, lax/linalg.py, lax/fft.py,
lax/collectives.py, lax/control_flow.py) and are written with lax ops, so vmap composes with grad,
jvp, jit and itself; they move a batch axis only when the primitive needs it somewhere else. This
module imports only core, so any family can fill the table.

Named axes (`axis_name=`) live on a stack while f is traced, so collectives (`lax.psum`, ...)
can check their names; their batching rules reduce over the axis being rewritten.
"""
import functools
import threading

import numpy as np

from ..core import primitives as P
from ..core.extensions import COLLECTIVES
from ..core.trace import LEAVE, arg_names, as_node, trace, trace_nodes
from ..tree_util import tree_flatten, tree_leaves, tree_unflatten

__all__ = ["vmap", "batch_rules", "defvectorized", "defbroadcasting", "def_batch_leading"]

batch_rules = {}


# --- named axes -------------------------------------------------------------------------------
class AxisFrame:
    """One vmap level: its axis name (or None) and size."""
    __slots__ = ("name", "size")

    def __init__(self, name, size):
        self.name, self.size = name, size


class _Env(threading.local):
    def __init__(self):
        self.frames = []      # vmaps whose functions are being traced, innermost last
        self.rewriting = []   # the vmap whose graph is being rewritten, innermost last


_env = _Env()


def axis_frame(name, what="psum"):
    """The innermost vmap binding `name`; NameError (as in JAX) when none does."""
    for fr in reversed(_env.frames):
        if fr.name == name:
            return fr
    bound = [fr.name for fr in _env.frames if fr.name is not None]
    raise NameError(f"unbound axis name: {name}. {what} can only name the axis of an enclosing "
                    f"vmap(..., axis_name=...); the bound axis names here are {bound}.")


def axis_env_key():
    """The named axes bound here, as a hashable key: a function traced once (jit) bakes in the
    sizes its collectives saw, so its cache must tell these environments apart."""
    frames = _env.frames
    if not frames:          # outside any vmap: every jit call asks, so this stays cheap
        return ()
    return tuple((fr.name, fr.size) for fr in frames if fr.name is not None)


def rewriting_frame():
    """The vmap level whose batching rules are running (for the collectives' rules)."""
    return _env.rewriting[-1]




# --- helpers for the rows ---------------------------------------------------------------------
# Built from primitives directly (this module imports no ops); each call changes the rank or the
# axis order, so none of them is the identity lax's wrappers would skip.
def moveaxis(x, src, dst):
    if src == dst:
        return x
    perm = [i for i in range(x.ndim) if i != src]
    perm.insert(dst, src)
    return P.transpose_p.bind(x, permutation=tuple(perm))


def bdim_at_front(x, d, size):
    """x with its batch axis first; an unbatched x is broadcast along a new first axis."""
    if d is None:
        return P.broadcast_in_dim_p.bind(x, shape=(int(size),) + x.shape,
                                         broadcast_dimensions=tuple(range(1, x.ndim + 1)))
    return moveaxis(x, d, 0)


def broadcast_batched(x, size, axis):
    """Insert a batch axis of `size` at `axis` into an unbatched x."""
    shape = list(x.shape)
    shape.insert(axis, int(size))
    return P.broadcast_in_dim_p.bind(x, shape=tuple(shape),
                                     broadcast_dimensions=tuple(i for i in range(len(shape)) if i != axis))


def shift_axis(axis, d):
    """A per-example axis in the coordinates of the batched array (batch axis at d)."""
    return axis if axis < d else axis + 1


def batch_size(args, dims):
    return next(a.shape[d] for a, d in zip(args, dims) if d is not None)


def _unary_rule(prim):
    return lambda args, dims, **params: (prim.bind(args[0], **params), dims[0])


def _nary_rule(prim):
    """Binary ops, comparisons and select_n. Operands share a per-example shape or are rank 0
    per example. Unbatched rank-0 operands stay rank 0 (lax ops accept them next to arrays);
    every other operand is brought to the batched shape, keeping the batch axis where the first
    full-rank batched operand has it."""
    def rule(args, dims, **params):
        size = batch_size(args, dims)
        ranks = [a.ndim - (d is not None) for a, d in zip(args, dims)]
        rank = max(ranks)
        if rank == 0:
            return prim.bind(*args, **params), 0
        out_d = next((d for d, r in zip(dims, ranks) if d is not None and r == rank), 0)
        a, d = next((a, d) for a, d, r in zip(args, dims, ranks) if r == rank)
        shape = list(a.shape)
        if d is not None:
            shape.pop(d)
        full = list(shape)
        full.insert(out_d, size)
        full = tuple(full)
        new = []
        for a, d, r in zip(args, dims, ranks):
            if d is None:
                new.append(a if r == 0 else P.broadcast_in_dim_p.bind(
                    a, shape=full, broadcast_dimensions=tuple(i for i in range(rank + 1) if i != out_d)))
            elif r == 0:
                new.append(P.broadcast_in_dim_p.bind(a, shape=full, broadcast_dimensions=(out_d,)))
            else:
                new.append(moveaxis(a, d, out_d))
        return prim.bind(*new, **params), out_d
    return rule


def _leading_rule(prim):
    def rule(args, dims, **params):
        size = batch_size(args, dims)
        out = prim.bind(*[bdim_at_front(a, d, size) for a, d in zip(args, dims)], **params)
        return (out, [0] * len(out)) if prim.multiple_results else (out, 0)
    return rule


def defvectorized(*prims):
    """Rows for primitives that act on each element: the batch axis stays where it is."""
    for p in prims:
        batch_rules[p] = _unary_rule(p)


def defbroadcasting(*prims):
    """Rows for elementwise primitives of several operands (binary ops, comparisons, select_n,
    fma): operands of equal shape or rank 0."""
    for p in prims:
        batch_rules[p] = _nary_rule(p)


def def_batch_leading(*prims):
    """Rows for primitives that already map over leading axes: every operand's batch axis moves
    to the front (unbatched operands are broadcast there)."""
    for p in prims:
        batch_rules[p] = _leading_rule(p)


# --- the rewrite ------------------------------------------------------------------------------
def batch_graph(t, values, dims, frame):
    """Rewrite the traced graph `t` onto batched `values` for its leaves (batch axes `dims`).
    Returns [(value, dim)] for its outs; dim None means unbatched."""
    env = {x.id: (v, d) for x, v, d in zip(t.leaves, values, dims)}
    name = frame.name

    _env.rewriting.append(frame)
    try:
        for node in trace_nodes(t):
            if node.sym is None:      # free of symbolic inputs: it cannot depend on the leaves
                continue
            ins = [env.get(x.id) for x in node.inputs]
            mine = node.prim in COLLECTIVES and name is not None and name in node.params["axis_name"]
            if all(e is None for e in ins) and not mine:
                continue
            args = [e[0] if e is not None else x for e, x in zip(ins, node.inputs)]
            bdims = [e[1] if e is not None else None for e in ins]
            if all(d is None for d in bdims) and not mine:
                # Only replaced, unbatched inputs (a collective's result): rebuild as it was.
                out = node.prim.bind(*args, **(node.params or {}))
                env[node.id] = (out, [None] * len(out) if node.prim.multiple_results else None)
                continue
            rule = batch_rules.get(node.prim)
            if rule is None:
                raise NotImplementedError(f"Batching rule for '{node.prim.name}' not implemented (vmap)")
            env[node.id] = rule(args, bdims, **(node.params or {}))
    finally:
        _env.rewriting.pop()
    return [env.get(o.id, (o, None)) for o in t.outs]


# --- vmap -------------------------------------------------------------------------------------
def _is_axis(a):
    return a is None or (isinstance(a, (int, np.integer)) and not isinstance(a, bool))


def _check_spec(spec, what):
    leaves = tree_leaves(spec)
    if not all(_is_axis(a) for a in leaves):
        raise TypeError(f"vmap {what} must be an int, None, or (nested) container with those types as leaves, "
                        f"but got {spec}.")


def _prefix_flatten(spec, tree, what, transform="vmap"):
    """Spread an axis spec (a pytree prefix of `tree`, None leaves allowed) to tree's leaves
    (`transform` names vmap or pmap in the error)."""
    spec_leaves, spec_def = tree_flatten(spec, is_leaf=lambda a: a is None)
    try:
        subtrees = spec_def.flatten_up_to(tree)
    except ValueError as e:
        raise ValueError(f"{transform} {what} specification must be a tree prefix of the corresponding value; "
                         f"{e}") from None
    out = []
    for a, sub in zip(spec_leaves, subtrees):
        out += [a] * len(tree_flatten(sub)[0])
    return out


def _leaf_names(args, kwargs, names):
    """A readable name per flat leaf of (args, kwargs): the parameter name plus a path."""
    out = []
    for nm, a in zip(names, args):
        k = len(tree_flatten(a)[0])
        out += [nm] if k == 1 and not isinstance(a, (tuple, list, dict)) else [f"{nm}[{i}]" for i in range(k)]
    for key in sorted(kwargs):
        k = len(tree_flatten(kwargs[key])[0])
        out += [key] * k
    return out


def _tname(aval):
    return f"{aval.dtype.name}[{','.join(map(str, aval.shape))}]"


def vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None, spmd_axis_name=None):
    """Vectorize `fun` over a batch axis of its arguments.

    `in_axes` (an int, None, or a tuple over the positional arguments whose entries are pytree
    prefixes of them) says which axis of each argument is mapped (None: not mapped; keyword
    arguments are mapped over axis 0). `out_axes` says where the batch axis goes in each output.
    `axis_name` names the axis for collectives such as `lax.psum`.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.vmap(lambda v: jnp.dot(v, v))(jnp.arange(6.0).reshape(2, 3))
    Array([ 5., 50.], dtype=float32)
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (in_axes is None or _is_axis(in_axes) or isinstance(in_axes, tuple)):
        raise TypeError("vmap in_axes must be an int, None, or a tuple of entries corresponding to the positional "
                        f"arguments passed to the function, but got {in_axes}.")
    _check_spec(in_axes, "in_axes")
    _check_spec(out_axes, "out_axes")
    if axis_size is not None and (not isinstance(axis_size, (int, np.integer)) or axis_size < 0):
        raise TypeError(f"vmap axis_size must be a non-negative int, got {axis_size!r}")

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        fname = getattr(fun, "__name__", "fun")
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError("vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
                             f"positional arguments passed to the function, but got len(in_axes)={len(in_axes)}, "
                             f"len(args)={len(args)}")
        flat, in_tree = tree_flatten((args, kwargs))
        if not flat and axis_size is None:
            raise ValueError("vmap wrapped function must be passed at least one argument containing an array or "
                             f"axis_size must be specified, got empty *args={args} and **kwargs={kwargs}")
        spec = (in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args), {k: 0 for k in kwargs})
        axes = _prefix_flatten(spec, (args, kwargs), "in_axes")
        names = _leaf_names(args, kwargs, arg_names(fun, len(args)))
        if all(a is None for a in axes) and axis_size is None:
            raise ValueError("vmap must have at least one non-None value in in_axes or axis_size must be specified")
        mapped = []           # (flat index, node, normalized axis)
        for i, (x, a) in enumerate(zip(flat, axes)):
            if a is None:
                continue
            node = as_node(x)
            if not -node.ndim <= a < node.ndim:
                raise ValueError(f"vmap was requested to map its argument along axis {a}, which implies that its "
                                 f"rank should be at least {a + 1 if a >= 0 else -a}, but is only {node.ndim} "
                                 f"(its shape is {node.shape})")
            mapped.append((i, node, a % node.ndim))
        sizes = {n.shape[a] for _, n, a in mapped}
        if axis_size is not None:
            sizes.add(int(axis_size))
        if len(sizes) > 1:
            lines = [f"  * the `axis_size` argument was {axis_size};"] if axis_size is not None else []
            lines += [f"  * one axis had size {n.shape[a]}: axis {a} of argument {names[i]} of type {_tname(n.aval)};"
                      for i, n, a in mapped]
            lines[-1] = lines[-1][:-1]
            raise ValueError("vmap got inconsistent sizes for array axes to be mapped:\n" + "\n".join(lines))
        size = sizes.pop()
        per_example, leaf_names = list(flat), [None] * len(flat)
        for i, n, a in mapped:
            per_example[i] = n.aval.update(shape=n.shape[:a] + n.shape[a + 1:])
            leaf_names[i] = f"the argument '{names[i]}' of {fname} traced for vmap"
        frame = AxisFrame(axis_name, size)

        def in_frame(*a, **k):
            _env.frames.append(frame)
            try:
                return fun(*a, **k)
            finally:
                _env.frames.pop()
        in_frame.__name__ = fname
        t = trace(in_frame, per_example, what="vmap", names=leaf_names, in_tree=in_tree, closed=LEAVE)
        out_nodes = t.outs
        oaxes = _prefix_flatten(out_axes, t.out_tree.unflatten(out_nodes), "out_axes")
        res = batch_graph(t, [n for _, n, _ in mapped], [a for _, _, a in mapped], frame)
        final = []
        for (v, d), oa, o in zip(res, oaxes, out_nodes):
            if oa is None:
                if d is not None:
                    raise ValueError(f"at vmap out_axes, got axis spec None but output was batched on axis {d}")
                final.append(v)
                continue
            nd = o.ndim + 1
            if not -nd <= oa < nd:
                raise ValueError(f"axis {oa} is out of bounds for array of dimension {nd}")
            oa %= nd
            final.append(broadcast_batched(v, size, oa) if d is None else moveaxis(v, d, oa))
        return tree_unflatten(t.out_tree, final)

    return batched
