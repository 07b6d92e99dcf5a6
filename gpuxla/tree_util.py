"""Pytrees: nested tuples/lists/dicts/None/namedtuples (and registered classes) of leaves.

>>> leaves, treedef = tree_flatten((1, {'b': 2, 'a': [3]}))
>>> leaves, treedef
([1, 3, 2], PyTreeDef((*, {'a': [*], 'b': *})))
>>> tree_map(lambda x, y: x + y, (1, [2]), (10, [20]))
(11, [22])

A structure is stored as nested plain tuples `(type, aux, children)` with `None` for a leaf, so
PyTreeDef equality and hashing (jit cache keys) are single C-level tuple operations.
"""
from __future__ import annotations

import collections
import functools

__all__ = ["PyTreeDef", "tree_flatten", "tree_unflatten", "tree_map", "tree_leaves", "tree_structure",
           "register_pytree_node", "register_pytree_node_class", "tree_all", "tree_reduce",
           "tree_transpose", "treedef_is_leaf", "all_leaves"]

_LEAF = None  # the structure of a leaf


def _sorted_keys(d):
    try:
        return tuple(sorted(d))
    except TypeError:
        raise ValueError("Comparator raised exception while sorting pytree dictionary keys.") from None


def _flat_dict(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], keys


def _flat_defaultdict(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], (d.default_factory, keys)


# type -> (flatten(x) -> (children, aux), unflatten(aux, children) -> x). Tuples and lists are their
# own children list: no copy on the hot path.
_registry = {
    tuple: (lambda t: (t, None), lambda aux, ch: tuple(ch)),
    list: (lambda t: (t, None), lambda aux, ch: list(ch)),
    dict: (_flat_dict, lambda keys, ch: dict(zip(keys, ch))),
    type(None): (lambda _: ((), None), lambda aux, ch: None),
    collections.OrderedDict: (lambda d: (list(d.values()), tuple(d)),
                              lambda keys, ch: collections.OrderedDict(zip(keys, ch))),
    collections.defaultdict: (_flat_defaultdict,
                              lambda aux, ch: collections.defaultdict(aux[0], zip(aux[1], ch))),
}
_BUILTIN = frozenset(_registry)
# exact type -> handler, or False for a leaf type; filled lazily so namedtuples need no registration
_dispatch = dict(_registry)


def _handler(typ):
    h = _dispatch.get(typ)
    if h is None:
        if issubclass(typ, tuple) and hasattr(typ, "_fields"):  # a namedtuple class
            h = (lambda t: (t, None), lambda aux, ch, typ=typ: typ(*ch))
        else:
            h = False
        _dispatch[typ] = h
    return h


def register_pytree_node(nodetype, flatten_func, unflatten_func):
    """Make `nodetype` a pytree node: flatten_func(x) -> (children, aux_data) and
    unflatten_func(aux_data, children) -> x. aux_data should be hashable and comparable: it is part
    of the treedef, which keys the jit cache."""
    if nodetype in _registry:
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype}.")
    _registry[nodetype] = _dispatch[nodetype] = (flatten_func, unflatten_func)
    return nodetype


def register_pytree_node_class(cls):
    """Class decorator: uses `x.tree_flatten()` and `cls.tree_unflatten(aux, children)`."""
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def _flatten(x, leaves, is_leaf):
    if is_leaf is None:
        return _flat(x, leaves)
    if is_leaf(x):
        leaves.append(x)
        return _LEAF
    typ = type(x)
    h = _dispatch.get(typ)
    if h is None:
        h = _handler(typ)
    if h is False:
        leaves.append(x)
        return _LEAF
    children, aux = h[0](x)
    return (typ, aux, tuple([_flatten(c, leaves, is_leaf) for c in children]))


def _flat(x, leaves):
    # _flatten without is_leaf: the jit dispatch path, so tuples/lists skip the handler call
    typ = type(x)
    h = _dispatch.get(typ)
    if h is False:
        leaves.append(x)
        return _LEAF
    if typ is tuple or typ is list:
        return (typ, None, tuple([_flat(c, leaves) for c in x]))
    if h is None:
        h = _handler(typ)
        if h is False:
            leaves.append(x)
            return _LEAF
    children, aux = h[0](x)
    return (typ, aux, tuple([_flat(c, leaves) for c in children]))


def _unflatten(node, it):
    if node is _LEAF:
        return next(it)
    typ, aux, children = node
    return _dispatch[typ][1](aux, tuple([_unflatten(c, it) for c in children]))


def _count(node):
    return 1 if node is _LEAF else sum(_count(c) for c in node[2])


class PyTreeDef:
    """The shape of a pytree without its leaves. Hashable; equal iff the structures match."""
    __slots__ = ("_node", "num_leaves", "_hash")

    def __init__(self, node, num_leaves=None):
        self._node = node
        self.num_leaves = _count(node) if num_leaves is None else num_leaves
        self._hash = None

    def unflatten(self, leaves):
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            few = "few" if len(leaves) < self.num_leaves else "many"
            raise ValueError(f"Too {few} leaves for {self}; expected {self.num_leaves}, "
                             f"got {len(leaves)}.")
        return _unflatten(self._node, iter(leaves))

    @property
    def num_nodes(self):
        def n(node):
            return 1 if node is _LEAF else 1 + sum(n(c) for c in node[2])
        return n(self._node)

    def children(self):
        return [] if self._node is _LEAF else [PyTreeDef(c) for c in self._node[2]]

    def flatten_up_to(self, tree):
        """Leaves of `tree` cut at this structure: where self has a leaf, tree may hold a subtree."""
        out = []
        _flatten_up_to(self._node, tree, out, self, tree, "")
        return out

    def __eq__(self, other):
        return isinstance(other, PyTreeDef) and self._node == other._node

    def __hash__(self):
        if self._hash is None:
            try:
                self._hash = hash(self._node)
            except TypeError:  # unhashable aux data: hash the shape only; __eq__ still decides
                self._hash = hash(_shape_only(self._node))
        return self._hash

    def __repr__(self):
        return f"PyTreeDef({_node_repr(self._node)})"


def _shape_only(node):
    return _LEAF if node is _LEAF else (node[0], tuple(_shape_only(c) for c in node[2]))


def _node_repr(node):
    if node is _LEAF:
        return "*"
    typ, aux, ch = node
    parts = [_node_repr(c) for c in ch]
    if typ is tuple:
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    if typ is list:
        return "[" + ", ".join(parts) + "]"
    if typ is dict:
        return "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(aux, parts)) + "}"
    if typ is type(None):
        return "None"
    name = f"namedtuple[{typ.__name__}]" if typ not in _registry else f"{typ.__name__}[{aux}]"
    return f"CustomNode({name}, [{', '.join(parts)}])"


def _flatten_up_to(node, x, out, treedef, tree, path):
    if node is _LEAF:
        out.append(x)
        return
    typ, aux, children = node
    h = _handler(type(x))
    problem = None
    if type(x) is not typ or h is False:
        problem = f"a {typ.__name__} node where the other tree has {type(x).__name__}"
    else:
        xs, xaux = h[0](x)
        xs = tuple(xs)
        if xaux != aux:
            problem = f"{typ.__name__} metadata {aux!r} where the other tree has {xaux!r}"
        elif len(xs) != len(children):
            problem = f"{typ.__name__} of length {len(children)} where the other tree's has {len(xs)}"
    if problem:
        try:
            other = repr(tree_structure(tree))
        except ValueError:
            other = repr(tree)
        raise ValueError(f"pytree structure mismatch at path '{path or '<root>'}': expected {problem}."
                         f"\n  expected structure: {treedef}\n  got structure:      {other}")
    keys = aux if typ is dict or typ is collections.OrderedDict else range(len(xs))
    for k, c, xc in zip(keys, children, xs):
        _flatten_up_to(c, xc, out, treedef, tree, f"{path}[{k!r}]")


# ---------------------------------------------------------------------------------------------
# the public functions

def tree_flatten(tree, is_leaf=None):
    """(leaves, treedef). None is an empty node; dicts flatten in sorted-key order."""
    leaves = []
    node = _flatten(tree, leaves, is_leaf)
    return leaves, PyTreeDef(node, len(leaves))


def tree_unflatten(treedef, leaves):
    return treedef.unflatten(leaves)


def tree_leaves(tree, is_leaf=None):
    leaves = []
    _flatten(tree, leaves, is_leaf)
    return leaves


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply f to corresponding leaves. Each tree in `rest` must have `tree`'s structure, or a
    deeper one: where `tree` has a leaf, f receives the whole subtree of the others."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    others = [treedef.flatten_up_to(r) for r in rest]
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])


def tree_all(tree, is_leaf=None):
    return all(tree_leaves(tree, is_leaf))


_NO_INIT = object()


def tree_reduce(function, tree, initializer=_NO_INIT, is_leaf=None):
    if initializer is _NO_INIT:
        return functools.reduce(function, tree_leaves(tree, is_leaf))
    return functools.reduce(function, tree_leaves(tree, is_leaf), initializer)


def tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose):
    """Turn an outer-of-inner pytree into an inner-of-outer one."""
    outer_parts = outer_treedef.flatten_up_to(pytree_to_transpose)
    inner_leaves = [inner_treedef.flatten_up_to(p) for p in outer_parts]
    columns = zip(*inner_leaves) if inner_leaves else [[]] * inner_treedef.num_leaves
    return inner_treedef.unflatten([outer_treedef.unflatten(list(c)) for c in columns])


def treedef_is_leaf(treedef):
    return treedef.num_nodes == 1  # as in JAX, so None and () count too


def all_leaves(iterable, is_leaf=None):
    """True iff every element of `iterable` is a leaf (flattens to itself)."""
    return all(_flatten(x, [], is_leaf) is _LEAF for x in iterable)
