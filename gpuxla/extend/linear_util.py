"""`jax.extend.linear_util` on gpuxla: empty. flax imports it at import time and calls
`wrap_init` only in `lazy_init` and `nn.scan`; through the `jax` aliases each name raises
AttributeError saying it is not in gpuxla yet."""
