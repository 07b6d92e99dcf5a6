"""The graph core: avals and dtypes, primitives, the lazy Array node, programs and jaxpr printing."""
