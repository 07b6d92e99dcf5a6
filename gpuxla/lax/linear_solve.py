"""lax.custom_linear_solve and lax.custom_root: the solution of `matvec(x) = b` (a root of `f`) by a
user's `solve`, differentiated by the implicit function theorem instead of through the solver's
iterations.

The operator may close over arrays (a matrix, a network's parameters): they are found by tracing it
with the control-flow policy (core/trace.py, INPUTS: every outer array read becomes an explicit
input) and passed to a custom_vjp as explicit arguments. For x = A(p)^-1 b the backward pass is
    b_bar = A^-T x_bar          (`transpose_solve`, or `solve` when `symmetric`)
    p_bar = -(d(A(p) x)/dp)^T b_bar
and for a root of f(x, p), with lam = (df/dx)^-T x_bar, p_bar = -(df/dp)^T lam. So a solver written
with while_loop (not reverse-differentiable itself) gets exact gradients.
"""
from ..core import dtypes
from ..core.trace import INPUTS, aval_of, substitute, trace
from ..transforms.ad import vjp
from ..transforms.custom import custom_vjp
from ..tree_util import tree_flatten, tree_unflatten
from . import asarray, neg


class _Operator:
    """`fun`, a map from pytrees like `example` to the same, traced once: the arrays it closes over
    (`params`) become explicit, so it can be applied with other values of them."""

    def __init__(self, fun, example, api, arg):
        self.api = api
        flat, self.tree = tree_flatten(example)
        self.flat = [asarray(v) for v in flat]
        self.t = trace(lambda *v: fun(self.unflat(v)), [aval_of(v) for v in self.flat], what=api,
                       names=[f"an argument of {arg} traced for {api}"] * len(self.flat), closed=INPUTS)
        self.params = list(self.t.captured)

    def unflat(self, flat):
        return tree_unflatten(self.tree, list(flat))

    def flat_of(self, tree):
        return tuple(asarray(v) for v in tree_flatten(tree)[0])

    def apply(self, ps, v_flat):
        return substitute(self.t, list(v_flat), captured=list(ps))

    def at(self, ps):
        """The operator as a function of a pytree, with the parameters `ps`."""
        return lambda v: self.unflat(self.apply(ps, tree_flatten(v)[0]))

    def transposed(self, ps, x):
        """The transpose of the operator's derivative at `x` (the operator itself when linear)."""
        _, pull = vjp(lambda *v: tuple(self.apply(ps, v)), *x)
        return lambda u: self.unflat(pull(self.flat_of(u)))

    def params_cotangent(self, ps, x, lam):
        """-(d op(x; p)/dp)^T lam, one entry per parameter (None for integer ones)."""
        diff = [k for k, p in enumerate(ps) if dtypes.is_inexact(p.dtype)]
        out = [None] * len(ps)
        if diff:
            def at_x(*dp):
                full = list(ps)
                for k, v in zip(diff, dp):
                    full[k] = v
                return tuple(self.apply(full, x))
            _, pull = vjp(at_x, *[ps[k] for k in diff])
            for k, g in zip(diff, pull(lam)):
                out[k] = neg(g)
        return tuple(out)

    def solve_implicitly(self, solve, cotangents):
        """solve(operator, example) as a custom_vjp of (example leaves, params) whose backward
        pass is `cotangents(params, x, x_bar)`."""
        n = len(self.flat)

        def solved(flat):
            return self.flat_of(solve(self.at(flat[n:]), self.unflat(flat[:n])))

        def call(*flat):
            return solved(flat)
        # (named for errors: "can't apply forward-mode autodiff (jvp) to a custom_vjp function (custom_root)")
        call.__name__ = call.__qualname__ = self.api

        def fwd(*flat):
            x = solved(flat)
            return x, (x, flat[n:])

        run = custom_vjp(call)
        run.defvjp(fwd, lambda res, x_bar: cotangents(res[1], res[0], x_bar))
        return self.unflat(run(*self.flat, *self.params))


def custom_linear_solve(matvec, b, solve, transpose_solve=None, symmetric=False, has_aux=False):
    """x with `matvec(x) == b`, computed as `solve(matvec, b)`; `transpose_solve(vecmat, b)` solves
    with the transposed operator for reverse-mode differentiation (not needed when `symmetric`)."""
    if has_aux:
        raise NotImplementedError("lax.custom_linear_solve(has_aux=True) is not in gpuxla yet")
    op = _Operator(matvec, b, "custom_linear_solve", "matvec")
    if op.t.out_tree != op.tree or [o.aval.shape for o in op.t.outs] != [v.shape for v in op.flat]:
        raise TypeError(f"custom_linear_solve: matvec must map b's structure and shapes to themselves; b is "
                        f"{op.tree} with shapes {[v.shape for v in op.flat]}, matvec(b) is {op.t.out_tree} with "
                        f"shapes {[o.aval.shape for o in op.t.outs]}")

    def cotangents(ps, x, x_bar):
        if not symmetric and transpose_solve is None:
            raise TypeError("custom_linear_solve: reverse-mode differentiation needs transpose_solve "
                            "(or symmetric=True)")
        rhs = op.unflat(x_bar)
        b_bar = op.flat_of(solve(op.at(ps), rhs) if symmetric else transpose_solve(op.transposed(ps, x), rhs))
        return b_bar + op.params_cotangent(ps, x, b_bar)
    return op.solve_implicitly(solve, cotangents)


def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """A root of `f` found by `solve(f, initial_guess)`, differentiated implicitly: for parameters
    p that f closes over, dx/dp = -(df/dx)^-1 df/dp at the root. `tangent_solve(g, y)` solves the
    linear `g(x) = y`; for reverse mode it is given the transposed map (a scalar or a dense solve
    of `jacobian(g)` serves both)."""
    if has_aux:
        raise NotImplementedError("lax.custom_root(has_aux=True) is not in gpuxla yet")
    op = _Operator(f, initial_guess, "custom_root", "f")
    if op.t.out_tree != op.tree:
        raise TypeError(f"custom_root: f must map initial_guess's structure {op.tree} to itself, got {op.t.out_tree}")

    def cotangents(ps, x, x_bar):
        lam = op.flat_of(tangent_solve(op.transposed(ps, x), op.unflat(x_bar)))
        return (None,) * len(x) + op.params_cotangent(ps, x, lam)
    return op.solve_implicitly(solve, cotangents)
