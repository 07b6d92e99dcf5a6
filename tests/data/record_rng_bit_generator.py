"""Records lax.rng_bit_generator and lax.mulhi outputs of real JAX (CPU) into
jax_rng_bit_generator.json for tests/test_lax_surface.py. Run with a JAX install:
    python tests/data/record_rng_bit_generator.py"""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

jax.config.update("jax_enable_x64", True)
KEYS = [[1, 2, 3, 4], [0, 0, 0, 0], [0xDEADBEEF, 0x12345678, 0xFFFFFFFE, 0xFFFFFFFF],
        [7, 9, 0xFFFFFFFF, 5]]
SHAPES = [(), (1,), (6,), (7,), (3, 5), (4, 1, 3), (1, 5), (5, 1), (2, 3, 5), (9, 4)]
out = {"rng_bit_generator": [], "mulhi": []}
for alg in ["RNG_DEFAULT", "RNG_THREE_FRY", "RNG_PHILOX"]:
    for k in KEYS:
        for shape in SHAPES:
            for dt in ["uint8", "uint16", "uint32", "uint64"]:
                if dt in ("uint8", "uint64") and shape not in [(7,), (3, 5), ()]:
                    continue
                nk, bits = lax.rng_bit_generator(jnp.array(k, jnp.uint32), shape, getattr(jnp, dt),
                                                 getattr(lax.RandomAlgorithm, alg))
                out["rng_bit_generator"].append({"algorithm": alg, "key": k, "shape": list(shape), "dtype": dt,
                                                 "new_key": np.asarray(nk).tolist(),
                                                 "bits": np.asarray(bits).ravel().tolist()})
rng = np.random.default_rng(0)
for dt in ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]:
    info = np.iinfo(dt)
    x = np.concatenate([np.array([info.min, info.max, 0, -1 if info.min else 1], dt),
                        rng.integers(info.min, info.max, 12, dtype=dt, endpoint=True)])
    y = np.concatenate([np.array([info.min, info.max, info.max, info.min], dt),
                        rng.integers(info.min, info.max, 12, dtype=dt, endpoint=True)])
    out["mulhi"].append({"dtype": dt, "x": x.tolist(), "y": y.tolist(),
                         "hi": np.asarray(lax.mulhi(jnp.asarray(x), jnp.asarray(y))).tolist()})
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_rng_bit_generator.json"), "w") as f:
    json.dump({"jax_version": jax.__version__, "backend": jax.default_backend(), **out}, f, separators=(",", ":"))
