"""`jax.extend` on gpuxla: `core` (library-defined primitives, honoured; see extend/core.py),
and the modules flax imports at import time (`linear_util`, `source_info_util`), which hold only
what gpuxla can give honestly."""
from . import core, linear_util, source_info_util
