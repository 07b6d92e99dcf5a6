"""Tracing a Python function to a graph, and printing graphs as jaxpr-like text."""
import inspect
import itertools

import numpy as np

from . import dtypes
from .graph import Array, Aval, constant, proj_p, symbolic, toposort, trace_scope
from ..tree_util import tree_flatten, tree_unflatten


def aval_of(x):
    """The aval a traced argument gets: Arrays keep theirs, Python scalars are weak."""
    if isinstance(x, Array):
        return x.aval
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        return Aval((), dtypes.scalar_dtype_for_value(x), weak_type=not isinstance(x, bool))
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return Aval(x.shape, dtypes.canonicalize_dtype(x.dtype))
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"Argument {x!r} of type {type(x).__name__} is not a valid gpuxla type")
    return Aval(arr.shape, dtypes.canonicalize_dtype(arr.dtype))


def as_node(x):
    if isinstance(x, Array):
        return x
    from .. import numpy as jnp
    return jnp.asarray(x)


def arg_names(f, n):
    """Names for the first n positional arguments of f, for error messages."""
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"args[{i}]" for i in range(n)]


class Traced:
    """A function traced on symbolic leaves: inputs, outputs and their pytree structures."""

    def __init__(self, in_leaves, in_tree, outs, out_tree):
        self.in_leaves, self.in_tree, self.outs, self.out_tree = in_leaves, in_tree, outs, out_tree

    def pretty(self):
        return pp_graph(self.in_leaves, self.outs)

    __str__ = pretty

    def __repr__(self):
        return self.pretty()


def trace(f, args, kwargs=None, what="jit", fname=None):
    """Call f on symbolic leaves shaped like `args` (a tuple); kwargs are traced too."""
    kwargs = kwargs or {}
    flat, in_tree = tree_flatten((tuple(args), kwargs))
    fname = fname or getattr(f, "__name__", "fun")
    names = arg_names(f, len(args))
    leaves = []
    for i, x in enumerate(flat):
        leaves.append(symbolic(aval_of(x), _leaf_name(what, fname, names, args, i, flat)))
    a, k = tree_unflatten(in_tree, leaves)
    with trace_scope():
        out = f(*a, **k)
    out_flat, out_tree = tree_flatten(out)
    return Traced(leaves, in_tree, [as_node(o) for o in out_flat], out_tree)


def _leaf_name(what, fname, names, args, i, flat):
    # Which positional argument does flat leaf i belong to?
    count = 0
    for k, a in enumerate(args):
        n = len(tree_flatten(a)[0])
        if i < count + n:
            return f"the argument '{names[k]}' of {fname} traced for {what}"
        count += n
    return f"a keyword argument of {fname} traced for {what}"


def _names():
    for n in itertools.count(1):
        for t in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=n):
            yield "".join(t)


def _fmt_param(v):
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return np.dtype(v).name
    if callable(v):
        return getattr(v, "__name__", repr(v))
    return repr(v) if not isinstance(v, tuple) else "(" + ", ".join(_fmt_param(x) for x in v) + ("," if len(v) == 1 else "") + ")"


def _literal(node):
    v = np.asarray(node._buf if not hasattr(node._buf, "get") else node._buf.get()).reshape(())
    if v.dtype == np.bool_:
        return str(bool(v))
    if dtypes.is_float(v.dtype):
        return repr(float(v))
    return str(v.item())


def pp_graph(in_leaves, outs, indent=2):
    """`{ lambda c:f32[3] ; a:f32[3]. let b:f32[3] = add a 2.0 in (b,) }`"""
    names = _names()
    name = {}
    for x in in_leaves:
        name[x.id] = next(names)
    in_ids = set(name)
    order = toposort(outs, stop=lambda n: n.id in in_ids)
    consts, lines = [], []
    for node in order:
        if node.id in name:
            continue
        if node.prim is None or (node._buf is not None and node.inputs == ()):
            if node.aval.shape == () and node._buf is not None:
                name[node.id] = _literal(node)
            else:
                name[node.id] = next(names)
                consts.append(node)
            continue
        if node.prim is proj_p:
            continue
        if node.prim.multiple_results:
            projs = [n for n in order if n.prim is proj_p and n.inputs[0] is node]
            for p in sorted(projs, key=lambda p: p.params["index"]):
                name[p.id] = next(names)
            lhs = " ".join(f"{name[p.id]}:{p.aval.str_short()}" for p in sorted(projs, key=lambda p: p.params["index"]))
        else:
            name[node.id] = next(names)
            lhs = f"{name[node.id]}:{node.aval.str_short()}"
        params = node.params or {}
        ps = ("[" + " ".join(f"{k}={_fmt_param(v)}" for k, v in sorted(params.items())) + "]") if params else ""
        args = " ".join(name[x.id] for x in node.inputs)
        lines.append(f"{lhs} = {node.prim.name}{ps} {args}".rstrip())
    cv = " ".join(f"{name[c.id]}:{c.aval.str_short()}" for c in consts)
    iv = " ".join(f"{name[x.id]}:{x.aval.str_short()}" for x in in_leaves)
    pad = " " * indent
    body = ("\n" + pad + "  ").join(lines)
    outs_s = ", ".join(name[o.id] for o in outs)
    head = f"{{ lambda {cv}{' ' if cv else ''}; {iv}. let"
    if not lines:
        return f"{head}  in ({outs_s},) }}"
    return f"{head}\n{pad}  {body}\n{pad}in ({outs_s}{',' if len(outs) == 1 else ''}) }}"


class ClosedJaxpr:
    """What make_jaxpr returns: prints as jaxpr text; `.jaxpr`, `.in_avals`, `.out_avals`."""

    def __init__(self, traced):
        self.traced = traced
        self.in_avals = [x.aval for x in traced.in_leaves]
        self.out_avals = [o.aval for o in traced.outs]
        self.jaxpr = self

    @property
    def eqns(self):
        ids = {x.id for x in self.traced.in_leaves}
        return [n for n in toposort(self.traced.outs, stop=lambda n: n.id in ids)
                if n.id not in ids and n.prim is not None and n.prim is not proj_p]

    def __str__(self):
        return self.traced.pretty()

    __repr__ = __str__

    def pretty_print(self, **kw):
        return str(self)


def make_jaxpr(fun, static_argnums=(), axis_env=None, return_shape=False, abstracted_axes=None):
    """Trace `fun` and return its graph, printed like a jaxpr.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> print(jax.make_jaxpr(lambda x: x + 2.0)(jnp.ones(3)))
    { lambda ; a:f32[3]. let b:f32[3] = add a 2.0 in (b,) }
    """
    static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    def wrapped(*args, **kwargs):
        if static_argnums:
            dyn = [a for i, a in enumerate(args) if i not in static_argnums]

            def g(*dargs, **kw):
                it = iter(dargs)
                full = [args[i] if i in static_argnums else next(it) for i in range(len(args))]
                return fun(*full, **kw)
            g.__name__ = getattr(fun, "__name__", "fun")
            t = trace(g, dyn, kwargs, what="make_jaxpr")
        else:
            t = trace(fun, args, kwargs, what="make_jaxpr")
        cj = ClosedJaxpr(t)
        if return_shape:
            from ..tree_util import tree_unflatten as tu
            from types import SimpleNamespace
            shapes = tu(t.out_tree, [SimpleNamespace(shape=o.shape, dtype=o.dtype) for o in t.outs])
            return cj, shapes
        return cj
    return wrapped
