"""Started by tests/test_cluster.py: one process of a job joined through the coordinator's
rendezvous (no MPI). argv: coordinator num_processes process_id timeout. Prints one JSON line:
what the job looks like from here, or the error initialize raised."""
import json
import sys

import gpuxla as jax

coord, n, pid, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
jax.config.update("jax_num_cpu_devices", 2)
try:
    jax.distributed.initialize(coord, n, pid, initialization_timeout=timeout)
except Exception as e:  # noqa: BLE001 - reported to the test
    print(json.dumps({"pid": pid, "error": type(e).__name__, "msg": str(e)}), flush=True)
    sys.exit(0)
try:
    jax.pmap(lambda v: jax.lax.psum(v, "i"), axis_name="i")(jax.numpy.ones((2, 1)))
    refused = None
except NotImplementedError as e:
    refused = str(e)
x = jax.numpy.zeros(1)
placed = jax.device_put(x, jax.local_devices()[1])
print(json.dumps({"pid": pid, "index": jax.process_index(), "count": jax.process_count(),
                  "devices": [str(d) for d in jax.devices()], "local": [d.id for d in jax.local_devices()],
                  "refused": refused, "array_device": str(x.device), "array_devices": sorted(map(str, x.devices())),
                  "sharding": str(x.sharding.device_set), "placed": str(placed.device)}),
      flush=True)
