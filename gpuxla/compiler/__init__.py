"""The compiler: graph -> passes -> (fusion -> kernel IR -> CUDA C) -> executable.

`passes` holds the graph rewrites jit runs on every trace (dead code, common subexpressions,
constant folding, algebraic identities) as named lists; the backends take the resulting
`core.program.Program`. Fusion, kernel IR and rendering for the CUDA platforms live beside it.
"""
