"""Run under `mpiexec -n P` by tests/test_distributed.py: a pmap over 2 simulated devices per
process (a global axis of 2P) against the same function vmapped over all 2P slices in this
process. Prints `rank ok` per check; any mismatch raises (a non-zero exit)."""
import sys
import time

import numpy as np

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax

mode = sys.argv[1]
if mode == "late":
    # Process 1 arrives late: process 0's first initialize times out (a clear error), its retry
    # then completes once process 1 arrives.
    from mpi4py import MPI
    rank = MPI.COMM_WORLD.Get_rank()
    if rank == 1:
        time.sleep(3)
        jax.distributed.initialize()
    else:
        try:
            jax.distributed.initialize(initialization_timeout=0.5)
        except TimeoutError as e:
            print(f"{rank} timeout: {e}", flush=True)
        jax.distributed.initialize(initialization_timeout=60)
    print(f"{rank} ok late", flush=True)
    sys.exit(0)
if mode == "absent":
    # Process 1 skips a collective: process 0's pmap raises TimeoutError naming it instead of
    # hanging; process 1 then arrives, so the abandoned call completes and both exit cleanly.
    jax.config.update("jax_num_cpu_devices", 1)
    jax.distributed.initialize(initialization_timeout=1)
    rank = jax.process_index()
    f = jax.pmap(lambda v: lax.psum(v, "i"), axis_name="i")
    if rank == 0:
        try:
            f(jnp.ones((1, 2)))
        except TimeoutError as e:
            print(f"0 timeout: {e}", flush=True)
    else:
        time.sleep(2)
        print(f"1 late psum {np.asarray(f(jnp.ones((1, 2)))).tolist()}", flush=True)
    sys.exit(0)
if mode == "mismatch":
    try:
        jax.distributed.initialize(num_processes=7)
    except ValueError as e:
        print(f"mismatch: {e}", flush=True)
    sys.exit(0)

jax.config.update("jax_num_cpu_devices", 2)
jax.distributed.initialize(initialization_timeout=60)
rank, P = jax.process_index(), jax.process_count()
assert jax.device_count() == 2 * P and jax.local_device_count() == 2
assert [d.id for d in jax.local_devices()] == [2 * rank, 2 * rank + 1]
X = np.random.default_rng(0).standard_normal((2 * P, 3)).astype(np.float32)
mine = X[2 * rank:2 * rank + 2]
fs = {
    "psum": lambda v: lax.psum(v, "i"),
    "pmean_pmax_pmin": lambda v: lax.pmean(v, "i") + lax.pmax(v, "i") * lax.pmin(v, "i"),
    "all_gather": lambda v: lax.all_gather(v, "i"),
    "all_gather_tiled": lambda v: lax.all_gather(v, "i", tiled=True),
    "psum_scatter": lambda v: lax.psum_scatter(jnp.outer(jnp.arange(2.0 * P), v), "i"),
    "ppermute": lambda v: lax.ppermute(v, "i", [(i, (i + 1) % (2 * P)) for i in range(2 * P)]),
    # edges inside a process and across, a device that receives nothing
    "ppermute_partial": lambda v: lax.ppermute(v, "i", [(0, 1), (1, 2 * P - 1), (2 * P - 1, 2)]),
    "psum_scatter_tiled_dim1": lambda v: lax.psum_scatter(jnp.outer(v, jnp.arange(4.0 * P)), "i",
                                                          scatter_dimension=1, tiled=True),
    "all_to_all": lambda v: lax.all_to_all(jnp.outer(jnp.arange(2.0 * P), v), "i", 0, 1),
    "all_to_all_tiled": lambda v: lax.all_to_all(jnp.outer(v, jnp.arange(4.0 * P)), "i", 1, 0, tiled=True),
    "grad_scatter_permute": jax.grad(lambda v: jnp.sum(lax.psum_scatter(jnp.outer(jnp.arange(2.0 * P), v), "i") ** 2
                                                       * lax.ppermute(v, "i", [(0, 1), (1, 0)]))),
    "axis_index": lambda v: v * lax.axis_index("i"),
    "grad": jax.grad(lambda v: jnp.sum(jnp.sin(lax.psum(v, "i")) * v)),
}
for name, f in fs.items():
    got = np.asarray(jax.pmap(f, axis_name="i")(jnp.asarray(mine)))
    want = np.asarray(jax.vmap(f, axis_name="i")(jnp.asarray(X)))[2 * rank:2 * rank + 2]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=name)
    print(f"{rank} ok {name}", flush=True)
