# Records tests/data/compat/jax_surface.json with real JAX (0.10.2): python record_jax_surface.py > jax_surface.json
import json
import collections
import numpy as np
import jax
import jax.numpy as jnp
from jax import tree_util as tu
out = {}
P = collections.namedtuple("P", "x y")
t = {"foo": {"bar": {"baz": 1, "bat": [2, 3]}}, "p": P(4, (5,)), "n": None, "od": collections.OrderedDict([("z", 6), ("a", 7)])}
out["paths"] = [[tu.keystr(p), tu.keystr(p, simple=True, separator="/"), repr(p), v] for p, v in tu.tree_leaves_with_path(t)]
class C:
    def __init__(self, a, b): self.a, self.b = a, b
tu.register_pytree_node(C, lambda c: ((c.a, c.b), None), lambda aux, ch: C(*ch))
out["flat_index"] = [[tu.keystr(p), repr(p)] for p, v in tu.tree_leaves_with_path([C(1, 2)])]
out["map_with_path"] = jax.tree.map_with_path(lambda p, x: tu.keystr(p) + str(x), {"a": [1, 2], "b": 3})
out["transpose"] = jax.tree.transpose(jax.tree.structure([0, 0]), jax.tree.structure((0, 0)), [(1, 2), (3, 4)])
out["reduce"] = jax.tree.reduce(lambda a, b: a * 10 + b, [1, [2, 3]], 0)
out["broadcast"] = jax.tree.broadcast((1, 2), ([3, 4], {"a": 5}))
out["canon"] = [str(jax.dtypes.canonicalize_dtype(d)) for d in ("float64", "int64", "uint64", "complex128", "bfloat16", "float16", "bool")]
out["result_type"] = [str(jax.dtypes.result_type(*a)) for a in [(1.0, jnp.int32), (jnp.bfloat16, jnp.float16), (1, jnp.uint8), (jnp.float16, 2.0)]]
out["scalar_type_of"] = [jax.dtypes.scalar_type_of(v).__name__ for v in (1.0, 1, True, 1j, jnp.ones(2, jnp.int8))]
out["typeof"] = [str(jax.typeof(v)) for v in (1.0, jnp.ones((2, 3)), 2, np.ones(3, np.float32))]
f = lambda x: jnp.dot(jnp.arange(6.).reshape(2, 3), x) * 2.0 - x[:2]
out["linear_transpose"] = [a.tolist() for a in jax.linear_transpose(f, jnp.zeros(3))(jnp.array([1.0, -2.0]))]
print(json.dumps(out))
