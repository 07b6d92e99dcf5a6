"""lax.custom_linear_solve and lax.custom_root: the solution of `matvec(x) = b` by a user's `solve`, differentiated by
the implicit function theorem instead of through the solver's iterations.

`matvec` may close over arrays (a matrix, a network's parameters): they are found by tracing it
with the control-flow policy (core/trace.py, INPUTS: every outer array read becomes an explicit
input) and passed to a custom_vjp as explicit arguments. For x = A(p)^-1 b the backward pass is
    b_bar = A^-T x_bar          (`transpose_solve`, or `solve` when `symmetric`)
    p_bar = -(d(A(p) x)/dp)^T b_bar
so a solver written with while_loop (not reverse-differentiable itself) gets exact gradients.
"""
from ..core import dtypes
from ..core.trace import INPUTS, aval_of, substitute, trace
from ..transforms.ad import vjp
from ..transforms.custom import custom_vjp
from ..tree_util import tree_flatten, tree_unflatten
from . import asarray, neg


def custom_linear_solve(matvec, b, solve, transpose_solve=None, symmetric=False, has_aux=False):
    """x with `matvec(x) == b`, computed as `solve(matvec, b)`; `transpose_solve(vecmat, b)` solves
    with the transposed operator for reverse-mode differentiation (not needed when `symmetric`)."""
    if has_aux:
        raise NotImplementedError("lax.custom_linear_solve(has_aux=True) is not in gpuxla yet")
    b_flat, b_tree = tree_flatten(b)
    b_flat = [asarray(v) for v in b_flat]
    t = trace(lambda *v: matvec(tree_unflatten(b_tree, list(v))), [aval_of(v) for v in b_flat],
              what="custom_linear_solve", names=["an argument of matvec traced for custom_linear_solve"] * len(b_flat),
              closed=INPUTS)
    if t.out_tree != b_tree or [o.aval.shape for o in t.outs] != [v.shape for v in b_flat]:
        raise TypeError(f"custom_linear_solve: matvec must map b's structure and shapes to themselves; b is "
                        f"{b_tree} with shapes {[v.shape for v in b_flat]}, matvec(b) is {t.out_tree} with shapes "
                        f"{[o.aval.shape for o in t.outs]}")
    params = list(t.captured)
    n_b = len(b_flat)

    def apply(ps, v_flat):
        return substitute(t, list(v_flat), captured=list(ps))

    def operator(ps):
        return lambda v: tree_unflatten(b_tree, apply(ps, tree_flatten(v)[0]))

    def solved(flat):
        x = solve(operator(flat[n_b:]), tree_unflatten(b_tree, list(flat[:n_b])))
        return tuple(asarray(v) for v in tree_flatten(x)[0])

    def fwd(*flat):
        x = solved(flat)
        return x, (x, flat[n_b:])

    def bwd(res, x_bar):
        x, ps = res
        if not symmetric and transpose_solve is None:
            raise TypeError("custom_linear_solve: reverse-mode differentiation needs transpose_solve "
                            "(or symmetric=True)")
        _, pull = vjp(lambda *v: tuple(apply(ps, v)), *x)
        vecmat = (lambda u: tree_unflatten(b_tree, list(pull(tuple(tree_flatten(u)[0])))))
        b_bar = (solve(operator(ps), tree_unflatten(b_tree, list(x_bar))) if symmetric
                 else transpose_solve(vecmat, tree_unflatten(b_tree, list(x_bar))))
        b_bar = tuple(asarray(v) for v in tree_flatten(b_bar)[0])
        diff = [k for k, p in enumerate(ps) if dtypes.is_inexact(p.dtype)]
        p_bar = [None] * len(ps)
        if diff:
            def residual(*dp):
                full = list(ps)
                for k, v in zip(diff, dp):
                    full[k] = v
                return tuple(apply(full, x))
            _, pull_p = vjp(residual, *[ps[k] for k in diff])
            for k, g in zip(diff, pull_p(b_bar)):
                p_bar[k] = neg(g)
        return b_bar + tuple(p_bar)

    run = custom_vjp(_named(solved, "custom_linear_solve"))
    run.defvjp(fwd, bwd)
    return tree_unflatten(b_tree, list(run(*b_flat, *params)))


def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """A root of `f` found by `solve(f, initial_guess)`, differentiated implicitly: for parameters
    p that f closes over, dx/dp = -(df/dx)^-1 df/dp at the root. `tangent_solve(g, y)` solves the
    linear `g(x) = y`; for reverse mode it is given the transposed map (a scalar or a dense solve
    of `jacobian(g)` serves both)."""
    if has_aux:
        raise NotImplementedError("lax.custom_root(has_aux=True) is not in gpuxla yet")
    g_flat, g_tree = tree_flatten(initial_guess)
    g_flat = [asarray(v) for v in g_flat]
    t = trace(lambda *v: f(tree_unflatten(g_tree, list(v))), [aval_of(v) for v in g_flat],
              what="custom_root", names=["an argument of f traced for custom_root"] * len(g_flat), closed=INPUTS)
    if t.out_tree != g_tree:
        raise TypeError(f"custom_root: f must map initial_guess's structure {g_tree} to itself, got {t.out_tree}")
    params = list(t.captured)
    n_g = len(g_flat)

    def apply(ps, v_flat):
        return substitute(t, list(v_flat), captured=list(ps))

    def solved(flat):
        fn = (lambda v: tree_unflatten(g_tree, apply(flat[n_g:], tree_flatten(v)[0])))
        x = solve(fn, tree_unflatten(g_tree, list(flat[:n_g])))
        return tuple(asarray(v) for v in tree_flatten(x)[0])

    def fwd(*flat):
        x = solved(flat)
        return x, (x, flat[n_g:])

    def bwd(res, x_bar):
        x, ps = res
        _, pull = vjp(lambda *v: tuple(apply(ps, v)), *x)
        vecmat = (lambda u: tree_unflatten(g_tree, list(pull(tuple(tree_flatten(u)[0])))))
        lam = tree_flatten(tangent_solve(vecmat, tree_unflatten(g_tree, list(x_bar))))[0]
        lam = tuple(asarray(v) for v in lam)
        diff = [k for k, p in enumerate(ps) if dtypes.is_inexact(p.dtype)]
        p_bar = [None] * len(ps)
        if diff:
            def at_root(*dp):
                full = list(ps)
                for k, v in zip(diff, dp):
                    full[k] = v
                return tuple(apply(full, x))
            _, pull_p = vjp(at_root, *[ps[k] for k in diff])
            for k, g in zip(diff, pull_p(lam)):
                p_bar[k] = neg(g)
        return (None,) * n_g + tuple(p_bar)

    run = custom_vjp(_named(solved, "custom_root"))
    run.defvjp(fwd, bwd)
    return tree_unflatten(g_tree, list(run(*g_flat, *params)))


def _named(solved, name):
    """The custom_vjp's function, named for errors (forward mode is not supported: "can't apply
    forward-mode autodiff (jvp) to a custom_vjp function (custom_root)")."""
    def call(*flat):
        return solved(flat)
    call.__name__ = call.__qualname__ = name
    return call
