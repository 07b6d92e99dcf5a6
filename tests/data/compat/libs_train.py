"""Small training runs with JAX libraries, for tests/test_compat_libs.py: `python libs_train.py
LIB STEPS` prints JSON (losses, initial parameters, a few library checks). Run by plain Python it
uses the installed JAX (how tests/data/compat/libs_reference.json was recorded, JAX 0.10.2,
equinox 0.13.8, flax 0.12.8, chex 0.1.92, optax 0.2.8); run by `python -m gpuxla` it uses gpuxla."""
import json
import sys

import numpy as np
import jax
import jax.numpy as jnp
import optax

LIB, STEPS = sys.argv[1], int(sys.argv[2])
rng = np.random.RandomState(0)
X = jnp.asarray(rng.randn(16, 3).astype(np.float32))
Y = jnp.asarray(rng.randn(16, 1).astype(np.float32))
out = {}


def leaves(tree):
    return [np.asarray(a).tolist() for a in jax.tree_util.tree_leaves(tree)]


if LIB == "equinox":
    import chex
    import equinox as eqx

    model = eqx.nn.MLP(in_size=3, out_size=1, width_size=8, depth=2, activation=jax.nn.tanh,
                       key=jax.random.PRNGKey(0))
    opt = optax.adam(1e-2)
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_value_and_grad
    def loss_fn(m, x, y):
        return jnp.mean((jax.vmap(m)(x) - y) ** 2)

    @eqx.filter_jit
    def step(m, s, x, y):
        loss, g = loss_fn(m, x, y)
        upd, s = opt.update(g, s, eqx.filter(m, eqx.is_inexact_array))
        return eqx.apply_updates(m, upd), s, loss

    out["params0"] = leaves(eqx.filter(model, eqx.is_inexact_array))
    losses = []
    for _ in range(STEPS):
        model, state, loss = step(model, state, X, Y)
        losses.append(float(loss))
    out["losses"] = losses
    chex.assert_shape(model(X[0]), (1,))
    chex.assert_trees_all_close(model(X[0]), model(X[0]))
    # equinox's own primitives: unvmap_max ignores the batch axis under vmap
    out["unvmap_max"] = np.asarray(jax.vmap(eqx.internal.unvmap_max)(jnp.arange(6).reshape(3, 2))).tolist()
    out["typed_key_is_array"] = [isinstance(jax.random.key(1), jax.Array), eqx.is_array(jax.random.key(1))]
elif LIB == "flax.linen":
    import flax.linen as nn

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.tanh(nn.Dense(8)(x))
            x = nn.relu(nn.Dense(8)(x))
            return nn.Dense(1)(x)

    model = MLP()
    params = model.init(jax.random.PRNGKey(0), X)
    opt = optax.sgd(0.05, momentum=0.9)
    state = opt.init(params)

    @jax.jit
    def step(p, s, x, y):
        loss, g = jax.value_and_grad(lambda p: jnp.mean((model.apply(p, x) - y) ** 2))(p)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, loss

    out["params0"] = leaves(params)
    losses = []
    for _ in range(STEPS):
        params, state, loss = step(params, state, X, Y)
        losses.append(float(loss))
    out["losses"] = losses
elif LIB == "flax.nnx":
    from flax import nnx

    class NnxMLP(nnx.Module):
        def __init__(self, rngs):
            self.l1 = nnx.Linear(3, 8, rngs=rngs)
            self.l2 = nnx.Linear(8, 1, rngs=rngs)

        def __call__(self, x):
            return self.l2(jnp.tanh(self.l1(x)))

    model = NnxMLP(nnx.Rngs(0))            # typed keys inside nnx.Rngs
    opt = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt, x, y):
        loss, g = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
        opt.update(model, g)
        return loss

    out["params0"] = leaves(nnx.state(model, nnx.Param))
    out["losses"] = [float(step(model, opt, X, Y)) for _ in range(STEPS)]
    # Dropout: a bernoulli mask from a typed key, with out_sharding=the input's sharding
    out["dropout"] = np.asarray(nnx.Dropout(0.5, rngs=nnx.Rngs(1))(jnp.ones(8))).tolist()
print(json.dumps(out))
