"""gpuxla.example_libraries: `stax` (neural-network layers) and `optimizers`, with the signatures
of `jax.example_libraries`, written for gpuxla."""
