"""Printing graphs as jaxpr-like text, and make_jaxpr."""
import itertools

import numpy as np

from .graph import proj_p, toposort
from .trace import trace_values


def _names():
    # a..z, then ba, bb, ...: the digits of n in base 26 (JAX's naming).
    for n in itertools.count():
        name = ""
        while not name or n:
            n, r = divmod(n, 26)
            name = chr(97 + r) + name
        yield name


def _fmt_param(v):
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return np.dtype(v).name
    if callable(v):
        return getattr(v, "__name__", repr(v))
    if not isinstance(v, tuple):
        return repr(v)
    return "(" + ", ".join(_fmt_param(x) for x in v) + ("," if len(v) == 1 else "") + ")"


def _literal(node):
    v = np.asarray(node._buf if not hasattr(node._buf, "get") else node._buf.get()).reshape(())
    return f"{v.item()}:{node.aval.str_short()}"


# --- a small Wadler-style layout engine (the one JAX's jaxpr printer uses, width 80) ----------
# Docs: str (text), ("brk", s) (s when flat, else a newline), ("nest", n, doc), ("group", doc),
# and lists (concatenation). A group prints flat when its own flat text fits in what is left of
# the line (text after the group does not count).
def _brk(s=" "):
    return ("brk", s)


def _nest(n, doc):
    return ("nest", n, doc)


def _group(doc):
    return ("group", doc)


def _join(sep, docs):
    out = []
    for i, d in enumerate(docs):
        if i:
            out.append(sep)
        out.append(d)
    return out


def _flat_width(doc, limit):
    stack, w = [doc], 0
    while stack and w <= limit:
        d = stack.pop()
        if isinstance(d, str):
            w += len(d)
        elif isinstance(d, list):
            stack.extend(reversed(d))
        elif d[0] == "brk":
            w += len(d[1])
        else:
            stack.append(d[-1])
    return w


def _layout(doc, width=80):
    out, col = [], 0
    stack = [(0, False, doc)]          # (indent, flat, doc), next item last
    while stack:
        ind, flat, d = stack.pop()
        if isinstance(d, str):
            out.append(d)
            col += len(d)
        elif isinstance(d, list):
            stack.extend((ind, flat, x) for x in reversed(d))
        elif d[0] == "brk":
            if flat:
                out.append(d[1])
                col += len(d[1])
            else:
                out.append("\n" + " " * ind)
                col = ind
        elif d[0] == "nest":
            stack.append((ind + d[1], flat, d[2]))
        else:
            stack.append((ind, flat or _flat_width(d[1], width - col) <= width - col, d[1]))
    return "".join(out)


def _pp_dot_general(params):
    # As JAX prints it: no None params, dimension numbers as lists (shorter).
    (lc, rc), (lb, rb) = params["dimension_numbers"]
    out = {k: v for k, v in params.items() if v is not None}
    out["dimension_numbers"] = ((list(lc), list(rc)), (list(lb), list(rb)))
    return out.items()


_PP_PARAMS = {"dot_general": _pp_dot_general}


def _pp_vars(items, sep=""):
    return _nest(2, _group(_join([sep, _group(_brk())], items)))


def pp_graph(in_leaves, outs, indent=2):
    """The graph as JAX prints a jaxpr: `{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }`, on one
    line when it fits in 80 columns, else one equation per line."""
    in_ids = {x.id for x in in_leaves}
    order = toposort(outs, stop=lambda n: n.id in in_ids)
    is_leaf = lambda n: n.prim is None or (n._buf is not None and n.inputs == ())  # noqa: E731
    literal = lambda n: n.aval.shape == () and n._buf is not None  # noqa: E731
    consts = [n for n in order if n.id not in in_ids and is_leaf(n) and not literal(n)]
    names, name = _names(), {}
    for x in consts + list(in_leaves):     # JAX names constvars first
        name[x.id] = next(names)
    eqns = []
    for node in order:
        if node.id in name or node.prim is proj_p:
            continue
        if is_leaf(node):
            name[node.id] = _literal(node)
            continue
        if node.prim.multiple_results:
            projs = sorted((n for n in order if n.prim is proj_p and n.inputs[0] is node),
                           key=lambda p: p.params["index"])
            outs_ = projs
        else:
            outs_ = [node]
        for o in outs_:
            name[o.id] = next(names)
        lhs = _pp_vars([f"{name[o.id]}:{o.aval.str_short()}" for o in outs_])
        params = sorted(_PP_PARAMS.get(node.prim.name, dict.items)(node.params or {}))
        kv = _group([_nest(2, ["[", _brk(""), _join(_brk(), [f"{k}={_fmt_param(v)}" for k, v in params])]),
                     _brk(""), "]"]) if params else []
        eqns.append([lhs, " = ", node.prim.name, kv, " ", _pp_vars([name[x.id] for x in node.inputs])])
    binders = lambda xs: _pp_vars([f"{name[x.id]}:{x.aval.str_short()}" for x in xs])  # noqa: E731
    outvars = ["(", _pp_vars([name[o.id] for o in outs], sep=","), ")" if len(outs) != 1 else ",)"]
    doc = _group([_nest(2, ["{ lambda ", binders(consts), "; ", binders(in_leaves), ". let",
                            _nest(2, [_brk(), _join(_brk("; "), eqns)]), _brk(), "in ", outvars]), " }"])
    text = _layout(doc)
    if indent != 2:     # callers nesting a graph in their own text
        text = text.replace("\n", "\n" + " " * (indent - 2))
    return text


class ClosedJaxpr:
    """What make_jaxpr returns: prints as jaxpr text; `.jaxpr`, `.in_avals`, `.out_avals`."""

    def __init__(self, traced):
        self.traced = traced
        self.in_avals = [x.aval for x in traced.leaves]
        self.out_avals = [o.aval for o in traced.outs]
        self.jaxpr = self

    @property
    def eqns(self):
        ids = {x.id for x in self.traced.leaves}
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
            t = trace_values(g, dyn, kwargs, what="make_jaxpr")
        else:
            t = trace_values(fun, args, kwargs, what="make_jaxpr")
        cj = ClosedJaxpr(t)
        if return_shape:
            from ..tree_util import tree_unflatten as tu
            from types import SimpleNamespace
            shapes = tu(t.out_tree, [SimpleNamespace(shape=o.shape, dtype=o.dtype) for o in t.outs])
            return cj, shapes
        return cj
    return wrapped
