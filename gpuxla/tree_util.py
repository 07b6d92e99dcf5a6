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
           "tree_transpose", "treedef_is_leaf", "all_leaves",
           # key paths
           "SequenceKey", "DictKey", "GetAttrKey", "FlattenedIndexKey", "KeyEntry", "KeyPath", "keystr",
           "register_pytree_with_keys", "register_pytree_with_keys_class", "register_dataclass", "register_static",
           "tree_flatten_with_path", "tree_leaves_with_path", "tree_map_with_path", "flatten_one_level",
           "flatten_one_level_with_keys", "treedef_children", "treedef_tuple", "tree_broadcast",
           "tree_reduce_associative", "is_tree_node", "Partial"]

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


def treedef_children(treedef):
    return treedef.children()


def treedef_tuple(treedefs):
    """The structure of a tuple whose elements have the structures `treedefs`."""
    treedefs = list(treedefs)
    return PyTreeDef((tuple, None, tuple(t._node for t in treedefs)), sum(t.num_leaves for t in treedefs))


def is_tree_node(x, is_leaf=None):
    """False for a leaf (what tree_flatten would not descend into), True for a container."""
    if is_leaf is not None and is_leaf(x):
        return False
    return _handler(type(x)) is not False


def flatten_one_level(tree):
    """(children, aux data) of one node; ValueError for a leaf, as JAX."""
    h = _handler(type(tree))
    if h is False:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    children, aux = h[0](tree)
    return list(children), aux


def tree_broadcast(prefix_tree, full_tree, is_leaf=None):
    """`prefix_tree`'s leaves repeated over the subtrees of `full_tree` that they stand for."""
    prefix_leaves, prefix_def = tree_flatten(prefix_tree, is_leaf)
    subtrees = prefix_def.flatten_up_to(full_tree)
    return prefix_def.unflatten([tree_map(lambda _, v=v: v, sub, is_leaf=is_leaf)
                                 for v, sub in zip(prefix_leaves, subtrees)])


def tree_reduce_associative(operation, tree, *, identity=_NO_INIT, is_leaf=None):
    """Reduce the leaves with an associative `operation`, pairing neighbours (a balanced tree of calls)."""
    xs = tree_leaves(tree, is_leaf)
    if not xs:
        if identity is _NO_INIT:
            raise TypeError("tree_reduce_associative() of an empty tree needs an identity")
        return identity
    while len(xs) > 1:
        xs = [operation(xs[i], xs[i + 1]) if i + 1 < len(xs) else xs[i] for i in range(0, len(xs), 2)]
    return xs[0]


# ---------------------------------------------------------------------------------------------
# key paths: each leaf's path from the root, a tuple of key entries, in tree_flatten's leaf order

class _Key:
    __slots__ = ()

    def _value(self):
        return getattr(self, self.__slots__[0])

    def __eq__(self, other):
        return type(other) is type(self) and other._value() == self._value()

    def __hash__(self):
        return hash((type(self).__name__, self._value()))

    def __repr__(self):
        return f"{type(self).__name__}({self.__slots__[0]}={self._value()!r})"

    def __init__(self, value):
        object.__setattr__(self, self.__slots__[0], value)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")


class SequenceKey(_Key):
    """The key of a tuple's or list's element: str is ``[0]``."""
    __slots__ = ("idx",)
    __match_args__ = ("idx",)

    def __str__(self):
        return f"[{self.idx!r}]"


class DictKey(_Key):
    """The key of a dict's value: str is ``['name']``."""
    __slots__ = ("key",)
    __match_args__ = ("key",)

    def __str__(self):
        return f"[{self.key!r}]"


class GetAttrKey(_Key):
    """The key of a namedtuple's or dataclass's field: str is ``.name``."""
    __slots__ = ("name",)
    __match_args__ = ("name",)

    def __str__(self):
        return f".{self.name}"


class FlattenedIndexKey(_Key):
    """The key of a child of a node registered without keys: its position among the children."""
    __slots__ = ("key",)
    __match_args__ = ("key",)

    def __str__(self):
        return f"[<flat index {self.key}>]"


KeyEntry = object   # any of the four classes above (or a user's own key object)
KeyPath = tuple


def keystr(keys, *, simple=False, separator=""):
    """``keystr((DictKey('a'), SequenceKey(0)))`` is ``"['a'][0]"``; with ``simple=True, separator='/'``
    it is ``"a/0"``."""
    return separator.join(str(k._value()) if simple and isinstance(k, _Key) else str(k) for k in keys)


# type -> flatten_with_keys(x) -> (((key, child), ...), aux); builtin containers get theirs in _keys_of
_key_registry = {}


def register_pytree_with_keys(nodetype, flatten_with_keys, unflatten_func, flatten_func=None):
    """Like register_pytree_node, with `flatten_with_keys(x) -> (((key, child), ...), aux)` giving
    each child's key for the *_with_path functions."""
    if flatten_func is None:
        def flatten_func(x):
            pairs, aux = flatten_with_keys(x)
            return [c for _, c in pairs], aux
    register_pytree_node(nodetype, flatten_func, unflatten_func)
    _key_registry[nodetype] = flatten_with_keys
    return nodetype


def register_pytree_with_keys_class(cls):
    """Class decorator: uses `x.tree_flatten_with_keys()` and `cls.tree_unflatten(aux, children)`
    (and `x.tree_flatten()` when the class has one)."""
    flat = (lambda x: x.tree_flatten()) if hasattr(cls, "tree_flatten") else None
    return register_pytree_with_keys(cls, lambda x: x.tree_flatten_with_keys(), cls.tree_unflatten, flat)


def register_dataclass(nodetype, data_fields=None, meta_fields=None, drop_fields=()):
    """Register a dataclass: `data_fields` are children (keys GetAttrKey), `meta_fields` static aux
    data. Without them, a dataclass's fields are data unless marked ``field(metadata={'static': True})``."""
    import dataclasses
    if data_fields is None and meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"register_dataclass: {nodetype.__name__} is not a dataclass; pass data_fields and "
                            "meta_fields")
        fields = [f for f in dataclasses.fields(nodetype) if f.init and f.name not in drop_fields]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
    elif data_fields is None or meta_fields is None:
        raise TypeError("register_dataclass: pass both data_fields and meta_fields, or neither")
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)

    def unflatten(meta, data):
        obj = object.__new__(nodetype)
        for k, v in zip(meta_fields + data_fields, tuple(meta) + tuple(data)):
            object.__setattr__(obj, k, v)
        return obj
    register_pytree_with_keys(
        nodetype, lambda x: ([(GetAttrKey(k), getattr(x, k)) for k in data_fields],
                             tuple(getattr(x, k) for k in meta_fields)),
        unflatten, lambda x: ([getattr(x, k) for k in data_fields], tuple(getattr(x, k) for k in meta_fields)))
    return nodetype


def register_static(cls):
    """Instances of `cls` become nodes without children: the whole object is static aux data."""
    register_pytree_with_keys(cls, lambda x: ((), x), lambda aux, _: aux, lambda x: ((), x))
    return cls


def _keys_of(x, typ):
    """(keys, children) of the node x (its handler is not False)."""
    kf = _key_registry.get(typ)
    if kf is not None:
        pairs, _ = kf(x)
        pairs = list(pairs)
        return [k for k, _ in pairs], [c for _, c in pairs]
    children, aux = _handler(typ)[0](x)
    children = list(children)
    if typ is tuple or typ is list:
        keys = [SequenceKey(i) for i in range(len(children))]
    elif typ is dict or typ is collections.OrderedDict:
        keys = [DictKey(k) for k in aux]
    elif typ is collections.defaultdict:
        keys = [DictKey(k) for k in aux[1]]
    elif issubclass(typ, tuple) and hasattr(typ, "_fields") and typ not in _registry:
        keys = [GetAttrKey(f) for f in typ._fields]
    else:
        keys = [FlattenedIndexKey(i) for i in range(len(children))]
    return keys, children


def _flatten_keys(x, path, out, is_leaf):
    if is_leaf is not None and is_leaf(x):
        out.append((path, x))
        return
    typ = type(x)
    if _handler(typ) is False:
        out.append((path, x))
        return
    keys, children = _keys_of(x, typ)
    for k, c in zip(keys, children):
        _flatten_keys(c, path + (k,), out, is_leaf)


def flatten_one_level_with_keys(tree):
    """(((key, child), ...), aux data) of one node; ValueError for a leaf."""
    children, aux = flatten_one_level(tree)
    keys, _ = _keys_of(tree, type(tree))
    return list(zip(keys, children)), aux


def tree_flatten_with_path(tree, is_leaf=None):
    """([(key_path, leaf), ...], treedef), e.g. ``[((DictKey('a'),), 1)]`` for ``{'a': 1}``."""
    out = []
    _flatten_keys(tree, (), out, is_leaf)
    return out, tree_structure(tree, is_leaf)


def tree_leaves_with_path(tree, is_leaf=None):
    out = []
    _flatten_keys(tree, (), out, is_leaf)
    return out


def tree_map_with_path(f, tree, *rest, is_leaf=None):
    """Like tree_map, with each leaf's key path as f's first argument."""
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = [treedef.flatten_up_to(r) for r in rest]
    return treedef.unflatten([f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)])


class Partial(functools.partial):
    """functools.partial as a pytree: the bound arguments are children, the function static
    (so it can be passed through jit/vmap)."""


register_pytree_node(Partial, lambda p: ((p.args, p.keywords), p.func),
                     lambda func, xs: Partial(func, *xs[0], **xs[1]))
