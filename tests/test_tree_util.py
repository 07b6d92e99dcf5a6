"""gpuxla.tree_util: leaves, structures and reprs checked against values recorded from JAX 0.10.2."""
import collections

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from gpuxla import tree_util as tu

P = collections.namedtuple("P", "x y")

# tree -> (leaves, repr of the treedef, num_leaves, num_nodes), as JAX gives them
CASES = [
    ((1, {"a": 2}), [1, 2], "PyTreeDef((*, {'a': *}))", 2, 4),
    (None, [], "PyTreeDef(None)", 0, 1),
    ([1, None, (2, 3)], [1, 2, 3], "PyTreeDef([*, None, (*, *)])", 3, 6),
    ({"b": 1, "a": 2}, [2, 1], "PyTreeDef({'a': *, 'b': *})", 2, 3),
    (collections.OrderedDict([("b", 1), ("a", 2)]), [1, 2],
     "PyTreeDef(CustomNode(OrderedDict[('b', 'a')], [*, *]))", 2, 3),
    (P(1, [2]), [1, 2], "PyTreeDef(CustomNode(namedtuple[P], [*, [*]]))", 2, 4),
    ((), [], "PyTreeDef(())", 0, 1),
    ([], [], "PyTreeDef([])", 0, 1),
    ({}, [], "PyTreeDef({})", 0, 1),
    (5, [5], "PyTreeDef(*)", 1, 1),
    ((1,), [1], "PyTreeDef((*,))", 1, 2),
    (collections.defaultdict(list, {"z": 1, "a": 2}), [2, 1],
     "PyTreeDef(CustomNode(defaultdict[(<class 'list'>, ('a', 'z'))], [*, *]))", 2, 3),
    ({"a": None, "b": (None,)}, [], "PyTreeDef({'a': None, 'b': (None,)})", 0, 4),
    ([[]], [], "PyTreeDef([[]])", 0, 2),
    ({1: "x", 2: "y"}, ["x", "y"], "PyTreeDef({1: *, 2: *})", 2, 3),
    ((1, [2, (3, {"a": 4, "b": [5]})]), [1, 2, 3, 4, 5],
     "PyTreeDef((*, [*, (*, {'a': *, 'b': [*]})]))", 5, 10),
]


@pytest.mark.parametrize("tree,leaves,rep,n_leaves,n_nodes", CASES, ids=[c[2] for c in CASES])
def test_flatten_matches_jax(tree, leaves, rep, n_leaves, n_nodes):
    got_leaves, treedef = tu.tree_flatten(tree)
    assert got_leaves == leaves and tu.tree_leaves(tree) == leaves
    assert repr(treedef) == rep and str(treedef) == rep
    assert (treedef.num_leaves, treedef.num_nodes) == (n_leaves, n_nodes)
    back = tu.tree_unflatten(treedef, leaves)
    assert back == tree and type(back) is type(tree)
    assert tu.tree_structure(tree) == treedef


def test_containers_rebuilt_faithfully():
    back = tu.tree_structure({"b": 0, "a": 0}).unflatten([5, 6])
    assert back == {"a": 5, "b": 6} and list(back) == ["a", "b"]
    od = tu.tree_map(lambda x: x * 2, collections.OrderedDict([("b", 1), ("a", 2)]))
    assert list(od.items()) == [("b", 2), ("a", 4)] and type(od) is collections.OrderedDict
    dd = tu.tree_map(lambda x: -x, collections.defaultdict(list, {"z": 1}))
    assert dd.default_factory is list and dd["z"] == -1 and dd["new"] == []
    assert tu.tree_map(str, P(1, 2)) == P("1", "2") and type(tu.tree_map(str, P(1, 2))) is P


def test_leaves_are_not_descended():
    class L(list):  # registration is by exact type, so container subclasses are leaves (as in JAX)
        pass
    a = np.ones(3)
    assert tu.tree_leaves(L([1, 2])) == [L([1, 2])]
    leaves = tu.tree_leaves([a, "str", b"b", 1.5, {"k": a}])
    assert leaves[0] is a and leaves[1:4] == ["str", b"b", 1.5] and leaves[4] is a
    assert tu.all_leaves([1, a]) and not tu.all_leaves([1, (2,)])
    assert tu.treedef_is_leaf(tu.tree_structure(1)) and tu.treedef_is_leaf(tu.tree_structure(None))
    assert not tu.treedef_is_leaf(tu.tree_structure((1,)))


def test_unsortable_dict_keys():
    with pytest.raises(ValueError, match="sorting pytree dictionary keys"):
        tu.tree_flatten({1: 2, "a": 3})


def test_is_leaf():
    assert tu.tree_leaves([None, 1]) == [1]
    assert tu.tree_leaves([None, 1], is_leaf=lambda x: x is None) == [None, 1]
    assert tu.tree_leaves(None, is_leaf=lambda x: x is None) == [None]
    leaves, td = tu.tree_flatten([1, (2, 3)], is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [1, (2, 3)] and repr(td) == "PyTreeDef([*, *])"
    # is_leaf is also offered the root
    leaves, td = tu.tree_flatten((1, 2), is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [(1, 2)] and td.num_leaves == 1
    assert tu.tree_map(lambda t: t[0], [(1, 2), (3, 4)], is_leaf=lambda x: isinstance(x, tuple)) == [1, 3]


def test_treedef_equality_and_hash():
    s = tu.tree_structure
    assert s((1, 2)) == s((3, 4)) and hash(s((1, 2))) == hash(s(("a", np.ones(2))))
    assert s((1, 2)) != s([1, 2]) and s((1, 2)) != s((1, 2, 3)) and s((1,)) != s(1)
    assert s({"a": 1, "b": 2}) == s({"b": 1, "a": 2})
    od = collections.OrderedDict
    assert s(od([("b", 1), ("a", 2)])) != s(od([("a", 1), ("b", 2)]))
    assert s(P(1, 2)) != s((1, 2)) and s([None]) != s([1]) and s(None) != s(())
    assert s((1, 2)) != (1, 2)
    cache = {s((1, {"a": 2})): "hit"}  # the jit cache uses treedefs as keys
    assert cache[s((7, {"a": 8}))] == "hit" and s((7, {"b": 8})) not in cache


def test_children_and_unflatten_errors():
    td = tu.tree_structure([1, {"a": 2}])
    assert td.children() == [tu.tree_structure(0), tu.tree_structure({"a": 0})]
    assert tu.tree_structure((1, 2)).unflatten([9, 8]) == (9, 8)
    assert tu.tree_structure((1, 2)).unflatten(iter([9, 8])) == (9, 8)
    with pytest.raises(ValueError, match="Too few leaves"):
        tu.tree_unflatten(tu.tree_structure((1, 2)), [1])
    with pytest.raises(ValueError, match="Too many leaves"):
        tu.tree_unflatten(tu.tree_structure((1, 2)), [1, 2, 3])


def test_tree_map_multiple_trees():
    assert tu.tree_map(lambda a, b: (a, b), (1, [2]), (3, [4])) == ((1, 3), [(2, 4)])
    # where the first tree has a leaf the others may hold whole subtrees
    assert tu.tree_map(lambda a, b: (a, b), (1, 2), ({"q": 3}, [4])) == ((1, {"q": 3}), (2, [4]))
    assert tu.tree_map(lambda a, b: (a, b), [1, 2], [1, None]) == [(1, 1), (2, None)]
    assert tu.tree_map(lambda a, b: a, [1, None], [1, None]) == [1, None]
    assert tu.tree_map(lambda a, b, c: a + b + c, {"x": 1}, {"x": 2}, {"x": 3}) == {"x": 6}
    assert tu.tree_map(lambda x: x + 1, (1, None)) == (2, None)


@pytest.mark.parametrize("a,b,what", [
    ((1, 2), [1, 2], "tuple node where the other tree has list"),
    ((1, 2), (1, 2, 3), "tuple of length 2"),
    ({"a": 1}, {"b": 1}, "dict metadata ('a',)"),
    ((1, [2]), (3, 4), "list node where the other tree has int"),
    ([1, None], [1, 3], "NoneType node where the other tree has int"),
    (P(1, 2), (1, 2), "P node where the other tree has tuple"),
])
def test_tree_map_mismatch_names_both_structures(a, b, what):
    with pytest.raises(ValueError) as e:
        tu.tree_map(lambda x, y: x, a, b)
    msg = str(e.value)
    assert what in msg
    assert repr(tu.tree_structure(a)) in msg and repr(tu.tree_structure(b)) in msg


def test_mismatch_reports_path():
    with pytest.raises(ValueError, match=r"path '\[1\]\['k'\]'"):
        tu.tree_map(lambda x, y: x, (0, {"k": (1, 2)}), (0, {"k": [1, 2]}))


def test_register_pytree_node_class():
    @tu.register_pytree_node_class
    class Box:
        def __init__(self, a, b):
            self.a, self.b = a, b

        def tree_flatten(self):
            return (self.a,), self.b

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(children[0], aux)

    leaves, td = tu.tree_flatten(Box([1, 2], "aux"))
    assert leaves == [1, 2] and repr(td) == "PyTreeDef(CustomNode(Box[aux], [[*, *]]))"
    back = td.unflatten([7, 8])
    assert type(back) is Box and back.a == [7, 8] and back.b == "aux"
    assert tu.tree_structure(Box(1, "x")) == tu.tree_structure(Box(2, "x"))
    assert tu.tree_structure(Box(1, "x")) != tu.tree_structure(Box(1, "y"))
    assert tu.tree_map(lambda v: v * 10, Box({"k": 1}, "z")).a == {"k": 10}
    with pytest.raises(ValueError, match="Duplicate"):
        tu.register_pytree_node(Box, lambda b: ((), None), lambda aux, ch: None)


def test_register_after_use_as_leaf():
    class Q:
        def __init__(self, v):
            self.v = v
    q = Q({"k": 3})
    assert tu.tree_leaves(q) == [q]  # unregistered: a leaf, and that decision gets cached
    tu.register_pytree_node(Q, lambda q: ((q.v,), None), lambda aux, ch: Q(ch[0]))
    leaves, td = tu.tree_flatten(q)
    assert leaves == [3] and repr(td) == "PyTreeDef(CustomNode(Q[None], [{'k': *}]))"
    assert td.unflatten([4]).v == {"k": 4}


def test_unhashable_aux_still_hashable_treedef():
    class U:
        def __init__(self, v, meta):
            self.v, self.meta = v, meta
    tu.register_pytree_node(U, lambda u: ((u.v,), u.meta), lambda meta, ch: U(ch[0], meta))
    a, b = tu.tree_structure(U(1, [1, 2])), tu.tree_structure(U(2, [1, 2]))
    assert a == b and hash(a) == hash(b) and a != tu.tree_structure(U(1, [3]))


def test_reductions_and_transpose():
    assert tu.tree_all([True, (1, None)]) and not tu.tree_all([True, 0]) and tu.tree_all(None)
    assert tu.tree_reduce(lambda a, b: a + b, [1, (2, 3)]) == 6
    assert tu.tree_reduce(lambda a, b: a + b, [], 10) == 10
    with pytest.raises(TypeError):
        tu.tree_reduce(lambda a, b: a + b, [])
    out = tu.tree_transpose(tu.tree_structure([0, 0]), tu.tree_structure((0, 0, 0)),
                            [(1, 2, 3), (4, 5, 6)])
    assert out == ([1, 4], [2, 5], [3, 6])


# random nested trees: flatten/unflatten round-trips, and structure equality ignores leaf values
leaf = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=3))
trees = st.recursive(
    st.one_of(leaf, st.none()),
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.lists(kids, max_size=4).map(tuple),
                           st.dictionaries(st.text(max_size=2), kids, max_size=4),
                           st.builds(P, kids, kids)),
    max_leaves=25)


@settings(max_examples=200, deadline=None)
@given(trees)
def test_roundtrip_random(tree):
    leaves, td = tu.tree_flatten(tree)
    assert td.num_leaves == len(leaves) and all(tu.tree_leaves(x) == [x] for x in leaves)
    assert td.unflatten(leaves) == tree
    relabelled = td.unflatten(list(range(len(leaves))))
    assert tu.tree_structure(relabelled) == td and hash(tu.tree_structure(relabelled)) == hash(td)
    assert tu.tree_leaves(relabelled) == list(range(len(leaves)))
    assert tu.tree_map(lambda a, b: (a, b), tree, relabelled) == \
        td.unflatten(list(zip(leaves, range(len(leaves)))))
