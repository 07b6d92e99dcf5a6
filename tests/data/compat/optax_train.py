# An unchanged JAX + optax training script (run by tests/test_compat.py as `python -m gpuxla`).
import json
import sys

import jax
import jax.numpy as jnp
import optax

steps = int(sys.argv[1])
x = jnp.asarray([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-1.0, 2.0, 0.75], [0.1, 0.2, 0.3]])
y = jnp.asarray([1.0, -2.0, 0.5, 3.0])
configs = {
    "adam": optax.adam(0.05),
    "adamw": optax.adamw(0.05, weight_decay=0.1),
    "sgd_momentum": optax.sgd(0.02, momentum=0.9),
    "clip_adam_schedule": optax.chain(optax.clip_by_global_norm(1.0),
                                      optax.adam(optax.exponential_decay(0.1, transition_steps=5, decay_rate=0.5))),
}


def loss(params, x, y):
    pred = jnp.tanh(x @ params["w"] + params["b"])
    return jnp.mean((pred - y) ** 2)


out = {}
for name, opt in configs.items():
    params = {"w": jnp.asarray([0.1, -0.2, 0.3]), "b": jnp.asarray(0.05)}
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    losses = []
    for _ in range(steps):
        params, state, value = step(params, state)
        losses.append(float(value))
    out[name] = {"w": params["w"].tolist(), "b": float(params["b"]), "losses": losses}
print(json.dumps(out))
