"""gpuxla: a GPU-first array compiler for Python with JAX's programming model.

    import gpuxla as jax
    import gpuxla.numpy as jnp
"""
from . import config, backends  # noqa: F401  (backends installs the core's runtime port)
from .core.graph import Array
from .core.jaxpr import make_jaxpr
from . import errors, tree_util, lax, numpy
from ._api import (devices, local_devices, device_count, local_device_count, default_backend,
                   device_put, device_get, block_until_ready, ShapeDtypeStruct, eval_shape, default_matmul_precision,
                   typeof, disable_jit, clear_caches, linear_transpose, named_scope, named_call, pure_callback,
                   process_count, process_index, process_indices, host_count, host_id, host_ids,
                   enable_x64, debug_nans, debug_infs, log_compiles, numpy_rank_promotion, threefry_partitionable,
                   custom_gradient, closure_convert, ensure_compile_time_eval, live_arrays, transfer_guard,
                   transfer_guard_host_to_device, transfer_guard_device_to_host, transfer_guard_device_to_device,
                   print_environment_info)
from ._api import numpy_dtype_promotion
from .backends import Device
from .transforms.ad import grad, value_and_grad, vjp, jvp, linearize, jacfwd, jacrev, jacobian, hessian, custom_jvp, custom_vjp, checkpoint, remat  # noqa: E501
from .transforms.batching import vmap
from .transforms.jit import jit
from .parallel.devices import device_put_sharded, device_put_replicated
from .parallel.pmap import pmap
from . import distributed  # noqa: F401
from . import random, nn, scipy  # noqa: F401
from . import tree, typing, dtypes, debug, sharding, flatten_util, ad_checkpoint, experimental  # noqa: F401
from . import dlpack  # noqa: F401
from .ad_checkpoint import checkpoint_policies
from .core.dtypes import float0
from .sharding import NamedSharding, PartitionSpec as P, make_mesh  # noqa: F401
from .parallel.shard_map import shard_map  # noqa: F401

# The primitive families: each fills the rule tables (transforms/ad.py, transforms/batching.py)
# with its rows when imported, in any order. The NumPy and CUDA rows come with the backends.
from .transforms import ad_rules, batching_rules  # noqa: F401,E402
from .lax import collectives, control_flow, fft, linalg  # noqa: F401,E402
from .numpy import linalg as _numpy_linalg  # noqa: F401,E402  (linalg's derivative rows, still jnp-written)

__version__ = "0.1.0"
