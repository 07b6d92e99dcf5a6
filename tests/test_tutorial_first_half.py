"""The first half of a JAX tutorial (arrays, dtypes, indexing, `.at`, pytrees, device_put/get,
make_jaxpr) runs unchanged after `import gpuxla as jax; import gpuxla.numpy as jnp` and prints
exactly what JAX 0.10.2 (jaxlib CPU, x64 off) printed for the same script, baked in below.

The script runs in a subprocess on the NumPy platform so device names read `CpuDevice(id=0)`
as on JAX's CPU backend, whatever the machine has.
"""
import os
import subprocess
import sys

import pytest

SCRIPT = r'''import numpy as np

import gpuxla as jax
import gpuxla.numpy as jnp

print("## arrays")
x = jnp.arange(5.0)
print(x)
print(repr(x))
print(x.shape, x.dtype, x.ndim, x.size)
print(type(x).__name__ in ("Array", "ArrayImpl"))
print(jnp.zeros((2, 3)))
print(jnp.ones(3, dtype=jnp.int32))
print(jnp.linspace(0.0, 1.0, 5))
print(jnp.eye(2))
print(jnp.array([[1, 2], [3, 4]]) * 2)
print(jnp.full((2, 2), 7))
print(repr(jnp.asarray(1.0)))
print(repr(jnp.float32(2.5)))
print(repr(jnp.array([True, False])))
print(repr(jnp.array(3)))
print(repr(jnp.zeros((2, 0))))

# arithmetic and reductions
y = jnp.arange(6).reshape(2, 3)
print(y + 1)
print(y.T)
print(y.sum(), y.sum(axis=0), y.mean(axis=1))
print(jnp.dot(y, y.T))
print(y @ jnp.ones(3, dtype=jnp.int32))
print(jnp.max(y), jnp.argmax(y), jnp.argmin(y, axis=1))
print(jnp.sqrt(jnp.array([4.0, 9.0])))
print(jnp.exp(jnp.array([0.0, 1.0])))
print(jnp.where(y > 2, y, -y))
print(jnp.concatenate([y, y], axis=1))
print(jnp.stack([x, x]).shape)
print(jnp.cumsum(jnp.arange(5)))
print(jnp.sort(jnp.array([3, 1, 2])))
print(float(jnp.sum(x)), int(jnp.argmax(x)), x[2].item())
print(np.asarray(x))
print(x.tolist())
print(len(y), [v.tolist() for v in y])

print("## dtypes")
print(jnp.array([1, 2, 3]).dtype)
print(jnp.array([1.0, 2.0]).dtype)
print(jnp.array(np.array([1.0, 2.0])).dtype)
print(jnp.array(np.arange(3)).dtype)
print((jnp.int32(1) + 1.0).dtype, (jnp.int32(1) + 1.0).weak_type)
print((jnp.float16(1) + 1.0).dtype)
print((jnp.ones(2, jnp.int8) + 3).dtype)
print((jnp.ones(2, jnp.int8) + jnp.ones(2, jnp.uint8)).dtype)
print((jnp.ones(2, jnp.bfloat16) + jnp.ones(2, jnp.float16)).dtype)
print(jnp.promote_types(jnp.int32, jnp.float16))
print(jnp.result_type(jnp.int8, 2.0))
print(jnp.arange(3).astype(jnp.float32) / 2)
print(jnp.array([1.7, -1.7]).astype(jnp.int32))
print(jnp.finfo(jnp.float32).eps, jnp.iinfo(jnp.int8).max)
print(repr(jnp.asarray(2) * 3))
print(repr(jnp.asarray(2.0) + jnp.float32(1)))
print(jnp.bfloat16(1.5) * 2)
print(jnp.mean(jnp.array([1, 2])).dtype, jnp.sum(jnp.ones(3, jnp.int8)).dtype)

print("## indexing")
z = jnp.arange(12).reshape(3, 4)
print(z[1])
print(z[1, 2], z[-1, -1])
print(z[:, 1])
print(z[1:, ::2])
print(z[::-1])
print(z[None, 0].shape, z[..., 0], z[..., None].shape)
print(z[jnp.array([0, 2])])
print(z[jnp.array([0, 2]), jnp.array([1, 3])])
print(z[z > 5])
print(z[10])
print(z[jnp.array([-1, 5])])
print(z.at[jnp.array([0, 7])].get(mode="fill", fill_value=-1))
try:
    z[0, 0] = 1
except TypeError as e:
    print("TypeError:", "at[" in str(e))

print("## functional updates")
w = jnp.zeros(5)
print(w.at[2].set(1.0))
print(w.at[jnp.array([0, 0, 1])].add(1.0))
print(jnp.ones(4).at[1:3].multiply(5.0))
print(jnp.arange(4.0).at[2].min(0.5), jnp.arange(4.0).at[0].max(9.0))
print(w.at[10].set(3.0))
print(z.at[1, :].set(0))
print(z.at[:, 0].add(jnp.array([10, 20, 30])))
print(w)

print("## pytrees")
tree = {"a": [1, 2.0, jnp.ones(2)], "b": (jnp.zeros(1), None), "c": 3}
leaves, treedef = jax.tree_util.tree_flatten(tree)
print(leaves)
print(treedef)
print(jax.tree_util.tree_map(lambda v: v * 2, tree))
print(jax.tree_util.tree_unflatten(treedef, list(range(len(leaves)))))
print(jax.tree_util.tree_leaves([1, (2, 3), {"k": 4}]))
print(jax.tree_util.tree_structure((1, [2, 3])))
params = {"w": jnp.ones((2, 2)), "b": jnp.zeros(2)}
print(jax.tree_util.tree_map(lambda p: p.shape, params))
print(jax.tree_util.tree_reduce(lambda a, b: a + b, [1, 2, 3]))

print("## devices, transfers")
print(jax.devices())
print(jax.default_backend())
print(jax.device_count())
a = jax.device_put(np.arange(3.0))
print(repr(a), a.device)
print(jax.device_put({"p": np.ones(2, np.float32)}))
h = jax.device_get({"p": jnp.arange(3), "q": [jnp.ones(1)]})
print(type(h["p"]).__name__, h["p"], type(h["q"][0]).__name__)
print(jax.block_until_ready(jnp.ones(2) * 3))
print(jnp.ones(2).block_until_ready())

print("## make_jaxpr")
def f(x):
    return jnp.sin(x) * 2.0 + x


print(jax.make_jaxpr(f)(jnp.ones(3)))
print(jax.make_jaxpr(lambda x, y: x @ y)(jnp.ones((2, 3)), jnp.ones((3, 4))))
print(jax.make_jaxpr(lambda x: (x ** 2).astype(jnp.int32) * 3)(jnp.ones((2, 3))))
c = jnp.arange(3.0)
print(jax.make_jaxpr(lambda x: jnp.exp(x * c) - c)(jnp.ones(3)))
print(jax.make_jaxpr(lambda x: (x + 1, x * x))(1.0))
'''

# Printed by the same script with `import jax; import jax.numpy as jnp` (JAX 0.10.2, CPU).
JAX_OUTPUT = r'''## arrays
[0. 1. 2. 3. 4.]
Array([0., 1., 2., 3., 4.], dtype=float32)
(5,) float32 1 5
True
[[0. 0. 0.]
 [0. 0. 0.]]
[1 1 1]
[0.   0.25 0.5  0.75 1.  ]
[[1. 0.]
 [0. 1.]]
[[2 4]
 [6 8]]
[[7 7]
 [7 7]]
Array(1., dtype=float32, weak_type=True)
Array(2.5, dtype=float32)
Array([ True, False], dtype=bool)
Array(3, dtype=int32, weak_type=True)
Array([], shape=(2, 0), dtype=float32)
[[1 2 3]
 [4 5 6]]
[[0 3]
 [1 4]
 [2 5]]
15 [3 5 7] [1. 4.]
[[ 5 14]
 [14 50]]
[ 3 12]
5 5 [0 0]
[2. 3.]
[1.        2.7182817]
[[ 0 -1 -2]
 [ 3  4  5]]
[[0 1 2 0 1 2]
 [3 4 5 3 4 5]]
(2, 5)
[ 0  1  3  6 10]
[1 2 3]
10.0 4 2.0
[0. 1. 2. 3. 4.]
[0.0, 1.0, 2.0, 3.0, 4.0]
2 [[0, 1, 2], [3, 4, 5]]
## dtypes
int32
float32
float32
int32
float32 True
float16
int8
int16
float32
float16
float32
[0.  0.5 1. ]
[ 1 -1]
1.1920929e-07 127
Array(6, dtype=int32, weak_type=True)
Array(3., dtype=float32)
3
float32 int32
## indexing
[4 5 6 7]
6 11
[1 5 9]
[[ 4  6]
 [ 8 10]]
[[ 8  9 10 11]
 [ 4  5  6  7]
 [ 0  1  2  3]]
(1, 4) [0 4 8] (3, 4, 1)
[[ 0  1  2  3]
 [ 8  9 10 11]]
[ 1 11]
[ 6  7  8  9 10 11]
[ 8  9 10 11]
[[ 8  9 10 11]
 [ 8  9 10 11]]
[[ 0  1  2  3]
 [-1 -1 -1 -1]]
TypeError: True
## functional updates
[0. 0. 1. 0. 0.]
[2. 1. 0. 0. 0.]
[1. 5. 5. 1.]
[0.  1.  0.5 3. ] [9. 1. 2. 3.]
[0. 0. 0. 0. 0.]
[[ 0  1  2  3]
 [ 0  0  0  0]
 [ 8  9 10 11]]
[[10  1  2  3]
 [24  5  6  7]
 [38  9 10 11]]
[0. 0. 0. 0. 0.]
## pytrees
[1, 2.0, Array([1., 1.], dtype=float32), Array([0.], dtype=float32), 3]
PyTreeDef({'a': [*, *, *], 'b': (*, None), 'c': *})
{'a': [2, 4.0, Array([2., 2.], dtype=float32)], 'b': (Array([0.], dtype=float32), None), 'c': 6}
{'a': [0, 1, 2], 'b': (3, None), 'c': 4}
[1, 2, 3, 4]
PyTreeDef((*, [*, *]))
{'b': (2,), 'w': (2, 2)}
6
## devices, transfers
[CpuDevice(id=0)]
cpu
1
Array([0., 1., 2.], dtype=float32) cpu:0
{'p': Array([1., 1.], dtype=float32)}
ndarray [0 1 2] ndarray
[3. 3.]
[1. 1.]
## make_jaxpr
{ lambda ; a:f32[3]. let
    b:f32[3] = sin a
    c:f32[3] = mul b 2.0:f32[]
    d:f32[3] = add c a
  in (d,) }
{ lambda ; a:f32[2,3] b:f32[3,4]. let
    c:f32[2,4] = dot_general[
      dimension_numbers=(([1], [0]), ([], []))
      preferred_element_type=float32
    ] a b
  in (c,) }
{ lambda ; a:f32[2,3]. let
    b:f32[2,3] = integer_pow[y=2] a
    c:i32[2,3] = convert_element_type[new_dtype=int32 weak_type=False] b
    d:i32[2,3] = mul c 3:i32[]
  in (d,) }
{ lambda a:f32[3]; b:f32[3]. let
    c:f32[3] = mul b a
    d:f32[3] = exp c
    e:f32[3] = sub d a
  in (e,) }
{ lambda ; a:f32[]. let b:f32[] = add a 1.0:f32[]; c:f32[] = mul a a in (b, c) }
'''


def _sections(text):
    out, name = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            name = line[3:]
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def printed():
    env = dict(os.environ, GPUXLA_PLATFORM="numpy")
    env.pop("JAX_ENABLE_X64", None)
    env.pop("GPUXLA_ENABLE_X64", None)
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


EXPECTED = _sections(JAX_OUTPUT)


@pytest.mark.parametrize("section", list(EXPECTED))
def test_section_prints_what_jax_prints(printed, section):
    got = _sections(printed)
    assert section in got, f"section {section!r} missing; output:\n{printed[-2000:]}"
    assert got[section] == EXPECTED[section]


def test_whole_output_identical(printed):
    assert printed == JAX_OUTPUT
