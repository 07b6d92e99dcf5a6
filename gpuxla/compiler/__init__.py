"""The compiler: graph -> passes -> (fusion -> lowering -> CUDA C) -> executable.

`passes` holds the graph rewrites jit runs on every trace (dead code, common subexpressions,
constant folding, algebraic identities) as named lists; the backends take the resulting
`core.program.Program`. For the CUDA platforms, beside it:
  fusion       cuts a Program into kernels and library calls;
  lower        lowers each kernel's group to a `Kernel`: buffers and a statement tree over C;
  lower_rules  LOWER, each primitive's C expression at an index, and the per-primitive cost;
  builder      let-binding, hoisting and symbolic indices (`Ix`) for the statement tree;
  cexpr        C spelling of values: types, literals, conversions, 16-bit loads and stores;
  render       prints a Kernel as CUDA C.
"""
