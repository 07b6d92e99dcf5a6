"""`jax.interpreters.pxla` on gpuxla: empty (flax imports it for its fp8 dot only); through the
`jax` aliases any name raises AttributeError saying it is not in gpuxla yet."""
