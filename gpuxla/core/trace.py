"""The one tracer and the one substitution loop.

`trace` calls a Python function on symbolic leaves and returns what it built (`Traced`); jit, vmap,
control-flow bodies, make_jaxpr and eval_shape all trace through it. They differ only in what they
do with the outer arrays the function closed over, and that choice is the `closed` argument:

  REALIZE  make_jaxpr, eval_shape: outer arrays still pending are values from outside, as in JAX
           (constants), not operations of the function: they are computed now.
  BAKE     jit: outside any transformation, outer eager arrays are computed now and baked in as
           constants; what stays in `captured` (nodes of an active grad/vmap) makes jit trace
           again per call.
  INPUTS   control-flow bodies: every outer node read, constants included, becomes an explicit
           input of the primitive (`captured`), so grad and vmap of the enclosing function see it.
  LEAVE    vmap: outer nodes stay where they are; the batching rewrite keeps every node that does
           not depend on the leaves.

`substitute` copies a traced graph onto new inputs (jit's inlining, calling a body, the compiler's
rewrites), and `trace_nodes` lists the nodes a trace built. Node ids grow with creation, so a
trace's nodes are exactly those reachable from its outputs with an id from `start` on.
"""
import inspect

import numpy as np

from . import dtypes
from . import graph
from . import extensions as X
from . import primitives as P
from .graph import Array, Aval, constant, proj_p, symbolic, toposort, trace_scope
from ..tree_util import tree_flatten

REALIZE, BAKE, INPUTS, LEAVE = "realize", "bake", "inputs", "leave"


class Traced:
    """A function traced on symbolic `leaves`: its outputs `outs`, the pytree structures of its
    arguments and results, the outer nodes it reads (`captured`, as its `closed` policy left them:
    none collected for LEAVE, only those jit could not bake in for BAKE), and `start`, the first
    node id that belongs to the trace."""

    def __init__(self, leaves, outs, start, in_tree=None, out_tree=None, captured=()):
        self.leaves, self.outs, self.start = leaves, outs, start
        self.in_tree, self.out_tree, self.captured = in_tree, out_tree, list(captured)
        self.nodes = None       # trace_nodes(self), kept by substitute: jit inlines one trace per call

    def pretty(self):
        from .jaxpr import pp_graph     # (the printer's make_jaxpr traces through this module)
        return pp_graph(self.leaves, self.outs)

    __str__ = pretty

    def __repr__(self):
        return self.pretty()


def trace(fun, args_or_avals, *, what, names, in_tree=None, closed):
    """Trace `fun`. `args_or_avals` is flat: each Aval becomes a symbolic leaf named `names[i]`,
    anything else is passed as it is. With `in_tree` (the structure of `(args, kwargs)`) fun is
    called as fun(*args, **kwargs), else as fun(*flat). `what` names the tracing transformation
    in errors; `closed` is the policy for closed-over arrays (module docstring)."""
    start = next(graph._ids)
    leaves, flat = [], []
    for x, name in zip(args_or_avals, names, strict=True):
        if isinstance(x, Aval):
            x = symbolic(x, name)
            leaves.append(x)
        flat.append(x)
    with trace_scope(), X.effect_frame() as effects:
        if in_tree is None:
            out = fun(*flat)
        else:
            args, kwargs = in_tree.unflatten(flat)
            out = fun(*args, **kwargs)
    out_flat, out_tree = tree_flatten(out)
    try:
        outs = [as_node(o) for o in out_flat]
    except TypeError as e:
        raise TypeError(f"{what}: {getattr(fun, '__name__', 'fun')} must return arrays (or pytrees of arrays); "
                        f"{e}") from None
    if effects.tokens:
        # Host callbacks with effects (debug.print, io_callback) must run whenever the outputs are
        # computed: tie them to every output. With no output, the tokens are outputs past the end
        # of out_tree (jit computes them and unflattening drops them).
        if outs:
            outs = X.attach_effects(outs, effects.tokens)
        elif closed in (BAKE, REALIZE):
            outs = list(effects.tokens)
        else:
            raise NotImplementedError(
                f"{what}: {getattr(fun, '__name__', 'fun')} returns no array but calls a host callback with "
                "effects (jax.debug.print/callback, io_callback); gpuxla runs those only when tied to an output: "
                "return a value from the function")
    t = Traced(leaves, outs, start, in_tree, out_tree)
    if closed != LEAVE:
        t.captured = _closed_over(t, closed)
    return t


def _closed_over(t, closed):
    ids = {x.id for x in t.leaves}
    outer = [n for n in toposort(t.outs, stop=lambda n: n.id < t.start or n.id in ids)
             if n.id < t.start and n.id not in ids]
    if closed == INPUTS:
        return outer
    if closed == REALIZE:
        graph.realize([n for n in outer if n._buf is None and n.sym is None])
        return outer
    # BAKE: constants are values already; the rest is computed now unless a transformation runs.
    outer = [n for n in outer if not (n.prim is None and n._buf is not None)]
    if outer and not graph.state.trace_level:
        graph.realize([n for n in outer if n.sym is None and n._buf is None])
        for n in outer:
            if n._buf is not None:
                n.prim, n.params, n.inputs = None, None, ()
        outer = [n for n in outer if n._buf is None]
    return outer


def trace_values(fun, args, kwargs=None, *, what):
    """`fun` traced on leaves shaped like the concrete `args` and `kwargs` (make_jaxpr,
    eval_shape), each named after the argument it belongs to; pending outer arrays are realized."""
    kwargs = kwargs or {}
    flat, in_tree = tree_flatten((tuple(args), kwargs))
    fname = getattr(fun, "__name__", "fun")
    params = arg_names(fun, len(args))
    names = []
    for name, a in zip(params, args):
        names += [f"the argument '{name}' of {fname} traced for {what}"] * len(tree_flatten(a)[0])
    names += [f"a keyword argument of {fname} traced for {what}"] * (len(flat) - len(names))
    return trace(fun, [aval_of(x) for x in flat], what=what, names=names, in_tree=in_tree, closed=REALIZE)


def trace_nodes(t, inputs=None):
    """The nodes `t` built (operations, not leaves), inputs before consumers; `inputs(node)`
    chooses the edges to follow."""
    ids = {x.id for x in t.leaves}
    order = toposort(t.outs, stop=lambda n: n.id in ids or n.id < t.start or n.prim is None, inputs=inputs)
    return [n for n in order if n.prim is not None and n.id >= t.start and n.id not in ids]


def substitute(t, inputs, captured=None, visit=None):
    """`t`'s graph copied onto new `inputs` (for its leaves) and `captured` (for its captured
    nodes; default: themselves). `visit(node, ins)` gets each node and its substituted inputs and
    returns its replacement (default: the node bound again, or itself when nothing changed)."""
    m = {x.id: a for x, a in zip(t.leaves, inputs)}
    if captured is not None:
        m.update((x.id, a) for x, a in zip(t.captured, captured))
    visit = visit or _rebind
    if t.nodes is None:
        t.nodes = trace_nodes(t)
    for n in t.nodes:
        ins = tuple(m.get(x.id, x) for x in n.inputs)
        r = visit(n, ins)
        if r is not n:
            m[n.id] = r
    return [m.get(o.id, o) for o in t.outs]


def _rebind(n, ins):
    if all(a is b for a, b in zip(ins, n.inputs)):
        return n
    if n.prim is proj_p and isinstance(ins[0], list):
        return ins[0][n.params["index"]]
    # For a multiple-results node this is the list of its projections, which the proj nodes
    # after it pick from.
    return n.prim.bind(*ins, **(n.params or {}))


# --- argument values --------------------------------------------------------------------------
def aval_of(x):
    """The aval a traced argument gets: Arrays keep theirs, Python scalars are weak."""
    if isinstance(x, Array):
        return x.aval
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        return Aval((), dtypes.scalar_dtype_for_value(x), weak_type=not isinstance(x, bool))
    own = getattr(type(x), "gpuxla_aval", None)
    if own is not None:         # a value that is not an Array but has an abstract value (typed keys)
        return own.__get__(x)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return Aval(x.shape, dtypes.canonicalize_dtype(x.dtype))
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"Argument {x!r} of type {type(x).__name__} is not a valid gpuxla type")
    return Aval(arr.shape, dtypes.canonicalize_dtype(arr.dtype))


def as_node(x):
    """`x` as an Array, as jnp.asarray makes it: Python scalars weakly typed, lists of Python
    scalars in JAX's promotion of their elements, nested lists holding Arrays stacked."""
    if isinstance(x, Array):
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(v, Array) for v in iter_nested(x)):
        return _stack([as_node(v) for v in x])
    if isinstance(x, (list, tuple)) and len(x) and all(isinstance(v, (int, float, bool, complex))
                                                       for v in iter_nested(x)):
        dt = dtypes.result_type_and_weak(*iter_nested(x))[0]
        arr = np.array(x)
        return constant(dtypes.astype_numpy(arr, dt) if arr.dtype != dt else arr)
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        dt = dtypes.scalar_dtype_for_value(x)
        if type(x) is int:
            info = np.iinfo(dt)
            if not info.min <= x <= info.max:
                raise OverflowError(f"Python int {x} too large to convert to {dt.name}")
        return constant(np.asarray(x, dt), weak_type=type(x) is not bool)
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"gpuxla cannot make an array from {type(x).__name__} values")
    dt = dtypes.canonicalize_dtype(arr.dtype)
    return constant(dtypes.astype_numpy(arr, dt) if arr.dtype != dt else arr)


def iter_nested(a):
    """The leaves of nested lists and tuples (the elements of an array literal)."""
    for v in a:
        if isinstance(v, (list, tuple)):
            yield from iter_nested(v)
        else:
            yield v


def _stack(xs):
    # jnp.stack's graph: a new leading axis on each, each converted to the common dtype (keeping
    # its weak type), then one concatenate when there are several.
    if any(x.shape != xs[0].shape for x in xs):
        raise ValueError(f"stack: all input arrays must have the same shape, got {[x.shape for x in xs]}")
    dt = dtypes.result_type(*xs)
    xs = [P.reshape_p.bind(x, new_sizes=(1,) + x.shape) for x in xs]
    xs = [P.convert_element_type_p.bind(x, new_dtype=dt, weak_type=x.weak_type) if x.dtype != dt else x
          for x in xs]
    return xs[0] if len(xs) == 1 else P.concatenate_p.bind(*xs, dimension=0)


def arg_names(f, n):
    """Names for the first n positional arguments of f, for error messages."""
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"args[{i}]" for i in range(n)]
