"""Record JAX's outputs for the jax.random distributions into jax_random_distributions.json.

NEEDS REAL JAX (CPU); the test suite never runs this file, it only reads the JSON:
    python3 -m venv /tmp/jaxref && /tmp/jaxref/bin/pip install jax
    /tmp/jaxref/bin/python tests/data/record_random_distributions.py

Format: {"_about": ..., "x32": {call: [dtype, shape, hex]}, "x64": {...}, "grads": {...}, "legacy": {...},
"kernels": {fn: [in_hex..., out_hex]}}. Each call string is evaluated with `random`, `jnp`, `np`, `jax`
and `lax` in scope (the same string runs on gpuxla); "grads" holds derivatives (x32); "legacy" was
recorded with jax_threefry_partitionable=False (x32);
hex is the little-endian bytes of the result. x32/x64: jax_enable_x64 off/on. Default counter
layout (jax_threefry_partitionable=True).
"""
import json
import sys
from pathlib import Path

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax, random

K = "random.PRNGKey"
MV = "jnp.array([1.0, -2.0, 0.5])", "jnp.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]])"

CALLS_X32 = [
    f"random.laplace({K}(0), (64,))",
    f"random.laplace({K}(1), (4, 8), jnp.float16)",
    f"random.logistic({K}(0), (64,))",
    f"random.cauchy({K}(0), (64,))",
    f"random.lognormal({K}(0), shape=(64,))",
    f"random.lognormal({K}(2), 0.5, (64,))",
    f"random.maxwell({K}(0), (256,))",
    f"random.pareto({K}(0), 3.0, (64,))",
    f"random.weibull_min({K}(0), 2.0, 1.5, (64,))",
    f"random.triangular({K}(0), 0.0, 0.3, 1.0, (64,))",
    f"random.triangular({K}(5), jnp.array([-1.0, 0.0, 2.0]), 0.5, 3.0, (2, 3))",
    f"random.geometric({K}(0), 0.3, (64,))",
    f"random.geometric({K}(1), jnp.array([0.05, 0.5, 0.9]))",
    f"random.rademacher({K}(0), (64,))",
    f"random.rademacher({K}(1), (16,), jnp.float32)",
    f"random.gamma({K}(0), 2.5, (64,))",
    f"random.gamma({K}(1), 0.5, (64,))",
    f"random.gamma({K}(2), jnp.array([0.1, 1.0, 3.0, 10.0, 100.0]))",
    f"random.gamma({K}(3), jnp.array([[0.7], [4.0]]), (2, 8))",
    f"random.loggamma({K}(0), 0.3, (64,))",
    f"random.loggamma({K}(1), 5.0, (64,))",
    f"random.beta({K}(0), 2.0, 3.0, (64,))",
    f"random.beta({K}(1), 0.5, 0.5, (64,))",
    f"random.dirichlet({K}(0), jnp.array([0.5, 1.0, 2.0]), (16,))",
    f"random.chisquare({K}(0), 3.0, (64,))",
    f"random.t({K}(0), 5.0, (64,))",
    f"random.t({K}(1), 1.0, (64,))",
    f"random.f({K}(0), 4.0, 7.0, (64,))",
    f"random.poisson({K}(0), 3.0, (64,))",
    f"random.poisson({K}(1), 25.0, (64,))",
    f"random.poisson({K}(2), jnp.array([0.0, 1.0, 5.0, 9.9, 10.0, 12.0, 100.0, 1000.0]))",
    f"random.binomial({K}(0), 10.0, 0.3, (64,))",
    f"random.binomial({K}(1), 200.0, 0.6, (64,))",
    f"random.binomial({K}(2), jnp.array([5.0, 20.0, 100.0, 1000.0]), jnp.array([0.1, 0.5, 0.7, 0.02]))",
    f"random.multivariate_normal({K}(0), {MV[0]}, {MV[1]}, (8,))",
    f"random.multivariate_normal({K}(1), {MV[0]}, {MV[1]}, (8,), method='eigh')",
    f"random.multivariate_normal({K}(1), {MV[0]}, {MV[1]}, (8,), method='svd')",
    f"random.orthogonal({K}(0), 4)",
    f"random.orthogonal({K}(1), 3, (2,), m=5)",
    f"random.ball({K}(0), 3, 2, (16,))",
    f"random.ball({K}(1), 3, 1.5, (8,))",
    f"random.generalized_normal({K}(0), 1.5, (64,))",
    f"random.generalized_normal({K}(1), 2.0, (64,))",
    f"random.double_sided_maxwell({K}(0), 1.0, 2.0, (16,))",
    f"random.rayleigh({K}(0), 2.0, (64,))",
    f"random.wald({K}(0), 1.5, (64,))",
    "random.gamma(random.key(4), 2.5, (16,))",
    f"random.multinomial({K}(0), 20.0, jnp.array([0.1, 0.2, 0.3, 0.4]))",
    f"random.multinomial({K}(1), jnp.array([5.0, 100.0]), jnp.array([[0.5, 0.0, 0.5], [0.2, 0.7, 0.1]]), "
    "shape=(4, 2, 3))",
    # parameters at and beyond the edges of the domains
    f"random.gamma({K}(0), jnp.array([0.0, -1.0, jnp.nan, jnp.inf, 1e-30, 1e6]))",
    f"random.poisson({K}(0), jnp.array([0.0, -1.0, jnp.nan, jnp.inf, 1e6, 1e9]))",
    f"random.binomial({K}(0), jnp.array([0.0, 10.0, 10.0, 5.0, jnp.inf, -1.0, 1e6]), "
    "jnp.array([0.3, 0.0, 1.0, jnp.nan, 0.5, 0.5, 0.999]))",
    f"random.geometric({K}(0), jnp.array([0.0, 1.0, 0.5]))",
    f"random.beta({K}(0), jnp.array([1e-3, 0.0]), jnp.array([1e-3, 1.0]))",
]

CALLS_X64 = [
    f"random.laplace({K}(0), (32,), jnp.float64)",
    f"random.logistic({K}(0), (32,), jnp.float64)",
    f"random.lognormal({K}(0), shape=(32,), dtype=jnp.float64)",
    f"random.gamma({K}(0), 2.5, (32,), jnp.float64)",
    f"random.gamma({K}(1), 0.5, (32,), jnp.float64)",
    f"random.loggamma({K}(0), 0.3, (32,), jnp.float64)",
    f"random.beta({K}(0), 2.0, 3.0, (32,), jnp.float64)",
    f"random.poisson({K}(0), 3.0, (32,))",
    f"random.poisson({K}(1), 25.0, (32,))",
    f"random.binomial({K}(0), 200.0, 0.6, (32,), jnp.float64)",
    f"random.geometric({K}(0), 0.3, (32,))",
    f"random.gamma({K}(0), 2.5, (32,))",
    f"random.maxwell({K}(0), (256,), jnp.float64)",
]


# The legacy counter layout (jax_threefry_partitionable=False, JAX < 0.5): the per-element keys of
# gamma and the loops of poisson/binomial split keys differently.
CALLS_LEGACY = [
    f"random.gamma({K}(0), 2.5, (64,))",
    f"random.gamma({K}(1), 0.5, (64,))",
    f"random.loggamma({K}(2), 0.2, (64,))",
    f"random.poisson({K}(3), 30.0, (64,))",
    f"random.binomial({K}(4), 100.0, 0.3, (64,))",
    f"random.beta({K}(5), 2.0, 0.5, (64,))",
    f"random.t({K}(7), 4.0, (64,))",
]

A16 = "jnp.linspace(0.05, 6.0, 16)"
CALLS_GRAD = [
    f"jax.grad(lambda a: random.gamma({K}(0), a).sum())({A16})",
    f"jax.grad(lambda a: random.loggamma({K}(1), a).sum())({A16})",
    f"jax.grad(lambda a: random.beta({K}(2), a, 2.0).sum())({A16})",
    f"jax.grad(lambda a: random.dirichlet({K}(3), a)[0])(jnp.array([0.5, 1.0, 2.0, 4.0]))",
    f"jax.grad(lambda df: random.t({K}(4), df).sum())({A16} + 0.5)",
    f"jax.grad(lambda df: random.chisquare({K}(5), df).sum())({A16} + 0.5)",
    "lax.random_gamma_grad(jnp.array([0.1, 0.5, 1.0, 2.5, 7.0, 30.0, 0.3, 5.0]), "
    "jnp.array([0.05, 0.7, 3.0, 1.0, 9.0, 25.0, 4.0, 0.2]))",
    "lax.igamma(jnp.array([0.1, 0.5, 1.0, 2.5, 7.0, 30.0, 0.3, 5.0]), jnp.array([0.05, 0.7, 3.0, 1.0, 9.0, 25.0, 4.0, 0.2]))",
    "lax.igammac(jnp.array([0.1, 0.5, 1.0, 2.5, 7.0, 30.0, 0.3, 5.0]), jnp.array([0.05, 0.7, 3.0, 1.0, 9.0, 25.0, 4.0, 0.2]))",
    "lax.igamma_grad_a(jnp.array([0.1, 0.5, 1.0, 2.5, 7.0, 30.0, 0.3, 5.0]), "
    "jnp.array([0.05, 0.7, 3.0, 1.0, 9.0, 25.0, 4.0, 0.2]))",
]


def _hex(a):
    return np.ascontiguousarray(np.asarray(a)).tobytes().hex()


def record(calls):
    env = {"random": random, "jnp": jnp, "np": np, "jax": jax, "lax": lax}
    out = {}
    for call in calls:
        v = np.asarray(eval(call, env))
        out[call] = [v.dtype.name, list(v.shape), _hex(v)]
    return out


def kernels():
    rng = np.random.default_rng(0)
    f32 = {"exp": (rng.uniform(-90, 90, 256),), "tan": (rng.uniform(-1.6, 1.6, 256),),
           "pow": (rng.uniform(0, 2, 256), rng.uniform(-5, 5, 256))}
    res = {}
    for fn, args in f32.items():
        args = [a.astype(np.float32) for a in args]
        res[fn + "_float32"] = [_hex(a) for a in args] + [_hex(jax.jit(getattr(lax, fn))(*args))]
    jax.config.update("jax_enable_x64", True)
    x = rng.uniform(-700, 700, 256)
    res["exp_float64"] = [_hex(x), _hex(jax.jit(lax.exp)(x))]
    jax.config.update("jax_enable_x64", False)
    return res


if __name__ == "__main__":
    data = {"_about": f"Reference outputs of jax {jax.__version__} / jaxlib {jax.lib.__version__} on CPU "
                      "(x86-64 with FMA), default partitionable counter layout, made by "
                      "tests/data/record_random_distributions.py. x32/x64: jax_enable_x64 off/on; each call -> "
                      "[dtype, shape, hex of the little-endian bytes]. kernels: fn_dtype -> [input hex..., "
                      "jax.jit(lax.fn)(inputs) hex].",
            "x32": record(CALLS_X32)}
    data["grads"] = record(CALLS_GRAD)
    jax.config.update("jax_threefry_partitionable", False)
    data["legacy"] = record(CALLS_LEGACY)
    jax.config.update("jax_threefry_partitionable", True)
    data["kernels"] = kernels()
    jax.config.update("jax_enable_x64", True)
    data["x64"] = record(CALLS_X64)
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("jax_random_distributions.json")
    path.write_text(json.dumps(data, indent=0) + "\n")
    print(f"wrote {path}: {len(data['x32'])} x32 + {len(data['x64'])} x64 calls, {path.stat().st_size} bytes")
