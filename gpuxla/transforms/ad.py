"""Automatic differentiation as graph rewrites: grad, value_and_grad, vjp, jvp, linearize,
jacfwd, jacrev, hessian.

Each input is wrapped in a fresh identity node (`wrap_p`), the function runs on those leaves
(eagerly, so Python control flow on values works), and the subgraph between the leaves and the
outputs is walked: forward with `jvp_rules` (tangents), backward with `vjp_rules` (cotangents).
Only nodes that depend on this level's leaves are walked, so nested levels (grad of grad) never
confuse each other's perturbations: an outer level sees an inner wrap as the identity.

The rule tables are here, with the helpers their rows use; the rows live with the primitives'
families (ad_rules.py for core's, lax/linalg.py, lax/fft.py, lax/collectives.py,
lax/control_flow.py). This module imports only core, so any family can fill the tables:
  jvp_rules[prim](primals, tangents, out, **params) -> tangent   (None: symbolic zero)
  vjp_rules[prim](ct, out, *inputs, **params) -> one cotangent per input (None: no contribution)
"""
import numpy as np

from ..core import dtypes
from ..core import primitives as P
from ..core.graph import Array, constant, proj_p, trace_scope
from ..core.trace import Traced, as_node, trace_nodes
from ..tree_util import tree_flatten, tree_structure, tree_unflatten
from .batching import vmap

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "linearize", "jacfwd", "jacrev", "jacobian",
           "hessian", "custom_jvp", "custom_vjp", "checkpoint", "remat", "jvp_rules", "vjp_rules"]

jvp_rules = {}
vjp_rules = {}
CUSTOM_CALLS = (P.custom_jvp_call_p, P.custom_vjp_call_p)


# --- helpers for the rows ---------------------------------------------------------------------
def _zeros(shape, dtype, weak_type=False):
    z = constant(np.zeros((), dtype), weak_type=weak_type)
    return z if shape == () else P.broadcast_in_dim_p.bind(z, shape=shape, broadcast_dimensions=())


def zeros_like(x):
    """Strongly typed zeros of x's shape and dtype."""
    return _zeros(x.shape, x.dtype)


def or_zeros(t, x):
    """A tangent `t`, with None (a symbolic zero) made into zeros like `x`."""
    return zeros_like(x) if t is None else t


def deflinear(p, transpose):
    """Rows for a primitive linear in all its (float) inputs: the JVP applies it to the tangents
    (zeros for None); the VJP is `transpose(ct, out, *inputs, **params)`."""
    def jvp(primals, tangents, out, **params):
        return p.bind(*[or_zeros(t, x) for t, x in zip(tangents, primals)], **params)
    jvp_rules[p] = jvp
    vjp_rules[p] = transpose


def _no_tangent(primals, tangents, out, **params):
    return None


def _no_cotangent(ct, out, *inputs, **params):
    return (None,) * len(inputs)


def defnondiff(*prims):
    """Rows for primitives through which no tangent flows (integer or bool results or inputs, or
    a zero derivative)."""
    for p in prims:
        jvp_rules[p], vjp_rules[p] = _no_tangent, _no_cotangent


# --- the walk ---------------------------------------------------------------------------------
def _ad_inputs(node):
    # A custom-derivative call's trailing inputs are the function's own results: its rules stand
    # in for that graph, so derivatives never walk into it.
    if node.prim in CUSTOM_CALLS:
        return node.inputs[:len(node.inputs) - node.params["num_outs"]]
    return node.inputs


def is_float_aval(aval):
    if isinstance(aval, tuple):
        return any(is_float_aval(a) for a in aval)
    return dtypes.is_inexact(aval.dtype)


class Linear:
    """The part of a graph between `leaves` and `outs` that depends on the leaves, as a list of
    equations (node, prim, params, inputs) in topological order.

    The structure is copied out of the nodes because realizing a node outside a transformation
    drops its inputs (a user may print `vjp`'s output before calling the vjp function)."""

    def __init__(self, leaves, outs):
        self.leaves, self.outs = leaves, outs
        leaf_ids = {x.id for x in leaves}
        # Ids grow with creation, so nothing older than the first leaf can depend on it.
        t = Traced(leaves, outs, min(leaf_ids) if leaf_ids else 0)
        dep = set(leaf_ids)
        self.eqns = []
        for n in trace_nodes(t, inputs=_ad_inputs):
            if not is_float_aval(n.aval):
                continue
            ins = _ad_inputs(n)
            if any(x.id in dep for x in ins):
                dep.add(n.id)
                self.eqns.append((n, n.prim, n.params or {}, n.inputs))
        self.dep = dep

    def forward(self, tangents):
        """Tangents of `outs` (None for symbolic zeros) given tangents of the leaves."""
        tan = {x.id: t for x, t in zip(self.leaves, tangents) if t is not None}
        for node, prim, params, inputs in self.eqns:
            ts = [tan.get(x.id) for x in inputs]
            if all(t is None for t in ts):
                continue
            if prim is proj_p:
                t = ts[0][params["index"]]
            else:
                rule = jvp_rules.get(prim)
                if rule is None:
                    raise NotImplementedError(f"Differentiation rule for '{prim.name}' not implemented (jvp)")
                t = rule(list(inputs), ts, node, **params)
            if t is None:
                continue
            if isinstance(node.aval, tuple):
                t = [None if ti is None else fit(ti, a) for ti, a in zip(t, node.aval)]
                if all(ti is None for ti in t):
                    continue
            else:
                t = fit(t, node.aval)
            tan[node.id] = t
        return [tan.get(o.id) for o in self.outs]

    def backward(self, cts):
        """Cotangents of the leaves (None for zeros) given cotangents of `outs`."""
        ct = {}
        for o, c in zip(self.outs, cts):
            if c is not None and o.id in self.dep:
                _accum(ct, o.id, fit(c, o.aval))
        for node, prim, params, inputs in reversed(self.eqns):
            g = ct.pop(node.id, None)
            if g is None:
                continue
            if prim is proj_p:
                parent = inputs[0]
                lst = ct.setdefault(parent.id, [None] * len(parent.aval))
                i = params["index"]
                lst[i] = g if lst[i] is None else lax_add(lst[i], g)
                continue
            if isinstance(g, list) and all(c is None for c in g):
                continue
            rule = vjp_rules.get(prim)
            if rule is None:
                raise NotImplementedError(f"Differentiation rule for '{prim.name}' not implemented (vjp)")
            outs = rule(g, node, *inputs, **params)
            if len(outs) != len(inputs):
                raise RuntimeError(f"vjp rule of '{prim.name}' returned {len(outs)} cotangents "
                                   f"for {len(inputs)} inputs")
            for x, c in zip(inputs, outs):
                if c is not None and x.id in self.dep:
                    _accum(ct, x.id, fit(c, x.aval) if not isinstance(x.aval, tuple) else c)
        return [ct.get(x.id) for x in self.leaves]


def lax_add(a, b):
    return P.add_p.bind(a, b)


def _accum(ct, key, c):
    prev = ct.get(key)
    if prev is None:
        ct[key] = c
    elif isinstance(c, list):    # a multiple-results input: one cotangent per result
        ct[key] = [a if b is None else b if a is None else lax_add(a, b) for a, b in zip(prev, c)]
    else:
        ct[key] = lax_add(prev, c)


def fit(t, aval):
    """Make a tangent/cotangent match `aval`: rank-0 operands of n-ary ops meet arrays of any
    shape, so a tangent may need broadcasting and a cotangent summing; dtypes are matched."""
    t = as_node(t)
    if t.shape != aval.shape:
        if aval.shape == ():
            t = P.reduce_sum_p.bind(t, axes=tuple(range(t.ndim)))
        elif t.shape == ():
            t = P.broadcast_in_dim_p.bind(t, shape=aval.shape, broadcast_dimensions=())
        else:
            raise ValueError(f"tangent of shape {t.shape} cannot stand for an array {aval.str_short()}")
    if t.dtype != aval.dtype:
        t = P.convert_element_type_p.bind(t, new_dtype=aval.dtype, weak_type=False)
    return t


def zeros_like_aval(aval):
    """Zeros of `aval` (float0 zeros, a NumPy array as in JAX, for integer and bool avals)."""
    if not dtypes.is_inexact(aval.dtype):
        return np.zeros(aval.shape, dtypes.float0)
    return _zeros(aval.shape, aval.dtype, aval.weak_type)


def _cast_like_leaf(c, aval):
    # JAX returns gradients with the primal's type, weak type included.
    if c is None:
        return zeros_like_aval(aval)
    if c.weak_type != aval.weak_type or c.dtype != aval.dtype:
        c = P.convert_element_type_p.bind(c, new_dtype=aval.dtype, weak_type=aval.weak_type)
    return c


def _wrap(x):
    return P.wrap_p.bind(as_node(x))


def _trace_linear(fun, primals, has_aux, what):
    """Call `fun` on wrapped leaves; returns (leaves, in_tree, out_nodes, out_tree, aux, Linear).
    Must run inside trace_scope."""
    flat, in_tree = tree_flatten(tuple(primals))
    leaves = [_wrap(x) for x in flat]
    out = fun(*tree_unflatten(in_tree, leaves))
    aux = None
    if has_aux:
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError("expected function with aux output to return a two-element tuple, but got "
                            f"type {type(out)} with value {out!r}")
        out, aux = out
    out_flat, out_tree = tree_flatten(out)
    try:
        out_nodes = [as_node(o) for o in out_flat]
    except TypeError as e:
        raise TypeError(f"{what}: the function must return arrays (pytrees of arrays); {e}") from None
    return leaves, in_tree, out_nodes, out_tree, aux, Linear(leaves, out_nodes)


# --- vjp, jvp, linearize ----------------------------------------------------------------------
def vjp(fun, *primals, has_aux=False, reduce_axes=()):
    """`(fun(*primals), vjp_fn)`; `vjp_fn(ct)` pulls a cotangent of the output back to the inputs.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> y, f_vjp = jax.vjp(jnp.sin, 0.0)
    >>> f_vjp(1.0)
    (Array(1., dtype=float32, weak_type=True),)
    """
    with trace_scope():
        leaves, in_tree, outs, out_tree, aux, lin = _trace_linear(fun, primals, has_aux, "vjp")

    def vjp_fn(ct):
        ct_flat, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise TypeError(f"Tree structure of cotangent input {ct_tree}, does not match structure of "
                            f"primal output {out_tree}.")
        cts = []
        for o, c in zip(outs, ct_flat):
            if not dtypes.is_inexact(o.dtype):
                cts.append(None)    # float0 (or any) cotangent of an integer output
                continue
            c = as_node(c)
            if c.shape != o.shape or (c.dtype != o.dtype and not c.weak_type):
                raise ValueError("unexpected JAX type (e.g. shape/dtype) for argument to VJP function: got "
                                 f"{_tname(c)}, but expected {_tname(o)} because the corresponding output of the "
                                 f"differentiated function had JAX type {_tname(o)}")
            cts.append(c)
        with trace_scope():
            res = lin.backward(cts)
            res = [_cast_like_leaf(c, x.aval) for c, x in zip(res, leaves)]
        return tuple(tree_unflatten(in_tree, res))

    out = tree_unflatten(out_tree, outs)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def _tname(x):
    return f"{x.dtype.name}[{','.join(map(str, x.shape))}]"


def _check_tangents(flat_p, flat_t):
    ts = []
    for p, t in zip(flat_p, flat_t):
        pa = as_node(p).aval
        if not dtypes.is_inexact(pa.dtype):
            tdt = np.asarray(t).dtype if not isinstance(t, Array) else t.dtype
            if tdt != dtypes.float0:
                raise TypeError("primal and tangent arguments to jax.jvp do not match; dtypes must be equal, or in "
                                "case of int/bool primal dtype the tangent dtype must be float0. Got primal dtype "
                                f"{pa.dtype.name} and so expected tangent dtype float0, but got tangent dtype "
                                f"{np.dtype(tdt).name} instead.")
            ts.append(None)
            continue
        t = as_node(t)
        if t.shape != pa.shape:
            raise ValueError(f"jvp called with different primal and tangent shapes;Got primal shape {pa.shape} "
                             f"and tangent shape as {t.shape}")
        if t.dtype != pa.dtype and not t.weak_type:
            raise TypeError("primal and tangent arguments to jax.jvp do not match; dtypes must be equal, or in "
                            "case of int/bool primal dtype the tangent dtype must be float0. Got primal dtype "
                            f"{pa.dtype.name} and so expected tangent dtype {pa.dtype.name}, but got tangent "
                            f"dtype {t.dtype.name} instead.")
        ts.append(t)
    return ts


def _out_tangents(outs, ts):
    return [t if t is not None else zeros_like_aval(o.aval) for o, t in zip(outs, ts)]


def jvp(fun, primals, tangents, has_aux=False):
    """`(fun(*primals), J(primals) @ tangents)` by a forward walk.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.jvp(jnp.sin, (0.0,), (2.0,))
    (Array(0., dtype=float32, weak_type=True), Array(2., dtype=float32, weak_type=True))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("primal and tangent arguments to jax.jvp must be tuples or lists; found "
                        f"{type(primals).__name__} and {type(tangents).__name__}.")
    flat_p, tree_p = tree_flatten(tuple(primals))
    flat_t, tree_t = tree_flatten(tuple(tangents))
    if tree_p != tree_t:
        raise TypeError(f"primal and tangent arguments to jax.jvp must have the same tree structure; "
                        f"primals have tree structure {tree_p} whereas tangents have tree structure {tree_t}.")
    with trace_scope():
        ts = _check_tangents(flat_p, flat_t)
        leaves, in_tree, outs, out_tree, aux, lin = _trace_linear(fun, primals, has_aux, "jvp")
        out_t = _out_tangents(outs, lin.forward(ts))
    res = (tree_unflatten(out_tree, outs), tree_unflatten(out_tree, out_t))
    return res + (aux,) if has_aux else res


def linearize(fun, *primals, has_aux=False):
    """`(fun(*primals), f_jvp)` where `f_jvp(*tangents)` evaluates the JVP at `primals` without
    re-running `fun`."""
    with trace_scope():
        leaves, in_tree, outs, out_tree, aux, lin = _trace_linear(fun, primals, has_aux, "linearize")

    def f_jvp(*tangents):
        flat_t, tree_t = tree_flatten(tuple(tangents))
        if tree_t != in_tree:
            raise TypeError(f"linearized function called on tangent values inconsistent with the original "
                            f"primal values: expected tree {in_tree}, got {tree_t}")
        with trace_scope():
            ts = _check_tangents(leaves, flat_t)
            out_t = _out_tangents(outs, lin.forward(ts))
        return tree_unflatten(out_tree, out_t)

    out = tree_unflatten(out_tree, outs)
    return (out, f_jvp, aux) if has_aux else (out, f_jvp)


# --- grad -------------------------------------------------------------------------------------
def _argnums_tuple(argnums):
    if isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool):
        return (int(argnums),)
    if isinstance(argnums, (tuple, list)) and all(isinstance(a, (int, np.integer)) for a in argnums):
        if not argnums:
            raise ValueError("argnums must be a non-empty int or tuple of ints; got ()")
        return tuple(int(a) for a in argnums)
    raise TypeError(f"argnums must be an int or a tuple of ints, got {argnums!r}")


def _split_args(fun, args, kwargs, argnums):
    """The differentiated positional arguments and a function of them alone."""
    nums = _argnums_tuple(argnums)
    n = len(args)
    if any(a >= n or a < -n for a in nums):
        shown = argnums if isinstance(argnums, (tuple, list)) else nums[0]
        need = max(a if a >= 0 else -a - 1 for a in nums) + 1
        raise TypeError(f"differentiating with respect to argnums={shown} requires at least {need} positional "
                        f"arguments to be passed by the caller, but got only {n} positional arguments.")
    nums = tuple(a % n for a in nums)

    def f_partial(*dyn):
        full = list(args)
        for i, v in zip(nums, dyn):
            full[i] = v
        return fun(*full, **kwargs)
    return nums, tuple(args[i] for i in nums), f_partial


def _check_input_dtypes(name, dyn, allow_int, holomorphic, real_only=False):
    for x in tree_flatten(dyn)[0]:
        dt = x.dtype if isinstance(x, Array) else as_node(x).dtype
        if holomorphic:
            if not dtypes.is_complex(dt):
                raise TypeError(f"{name} with holomorphic=True requires inputs with complex dtype, but got {dt.name}.")
        elif real_only and not dtypes.is_float(dt):
            raise TypeError(f"{name} requires real-valued inputs (input dtype that is a sub-dtype of np.floating), "
                            f"but got {dt.name}. For holomorphic differentiation, pass holomorphic=True. For "
                            "differentiation of non-holomorphic functions involving complex inputs or integer "
                            "inputs, use jax.jvp directly.")
        elif not (dtypes.is_inexact(dt) or (allow_int and dt != dtypes.float0)):
            raise TypeError(f"{name} requires real- or complex-valued inputs (input dtype that is a sub-dtype of "
                            f"np.inexact), but got {dt.name}. If you want to use Boolean- or integer-valued inputs, "
                            "use vjp or set allow_int to True.")


def _check_output_dtype(name, dt, holomorphic):
    if holomorphic:
        if not dtypes.is_complex(dt):
            raise TypeError(f"{name} with holomorphic=True requires outputs with complex dtype, but got {dt.name}.")
    elif not dtypes.is_float(dt):
        hint = ("For holomorphic differentiation, pass holomorphic=True. For differentiation of non-holomorphic "
                "functions involving complex outputs, use jax.vjp directly." if dtypes.is_complex(dt) else
                "For differentiation of functions with integer outputs, use jax.vjp directly.")
        raise TypeError(f"{name} requires real-valued outputs (output dtype that is a sub-dtype of np.floating), "
                        f"but got {dt.name}. {hint}")


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False, reduce_axes=()):
    """A function returning `(fun(*args), gradient)`; with has_aux, `((value, aux), gradient)`.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.value_and_grad(lambda x: x ** 2)(3.0)
    (Array(9., dtype=float32, weak_type=True), Array(6., dtype=float32, weak_type=True))
    """
    _argnums_tuple(argnums)

    def vg(*args, **kwargs):
        nums, dyn, f_partial = _split_args(fun, args, kwargs, argnums)
        _check_input_dtypes("grad", dyn, allow_int, holomorphic)
        with trace_scope():
            leaves, in_tree, outs, out_tree, aux, lin = _trace_linear(f_partial, dyn, has_aux, "grad")
            if out_tree != tree_structure(0) or len(outs) != 1:
                out = tree_unflatten(out_tree, outs)
                raise TypeError(f"Gradient only defined for scalar-output functions. Output was {out!r}.")
            (y,) = outs
            if y.shape != ():
                raise TypeError(f"Gradient only defined for scalar-output functions. Output had shape: {y.shape}.")
            _check_output_dtype("grad", y.dtype, holomorphic)
            one = constant(np.ones((), y.dtype))
            cts = lin.backward([one])
            g = tree_unflatten(in_tree, [_cast_like_leaf(c, x.aval) for c, x in zip(cts, leaves)])
        g = g[0] if isinstance(argnums, (int, np.integer)) else g
        return ((y, aux), g) if has_aux else (y, g)

    vg.__name__ = f"value_and_grad({getattr(fun, '__name__', 'fun')})"
    vg.__wrapped__ = fun
    return vg


def grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False, reduce_axes=()):
    """The gradient of a scalar-valued `fun` with respect to the arguments at `argnums`.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.grad(lambda x: jnp.sum(x ** 2))(jnp.arange(3.0))
    Array([0., 2., 4.], dtype=float32)
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int, reduce_axes)

    def g(*args, **kwargs):
        if has_aux:
            (_, aux), gr = vg(*args, **kwargs)
            return gr, aux
        return vg(*args, **kwargs)[1]

    g.__name__ = f"grad({getattr(fun, '__name__', 'fun')})"
    g.__wrapped__ = fun
    return g


# --- Jacobians --------------------------------------------------------------------------------
def _std_basis(leaves):
    """Stacked one-hot vectors for flat `leaves`: one (N,) + leaf.shape array per leaf, N the
    total size."""
    from .. import numpy as jnp
    sizes = [int(np.prod(x.shape, dtype=np.int64)) for x in leaves]
    total = sum(sizes)
    basis, off = [], 0
    for x, s in zip(leaves, sizes):
        dt = x.dtype if dtypes.is_inexact(x.dtype) else dtypes.default_float_dtype()
        e = jnp.eye(total, s, -off, dtype=dt)
        basis.append(jnp.reshape(e, (total,) + tuple(x.shape)))
        off += s
    return basis, sizes


def _split_jac(stacked, sizes, shapes, batch_first):
    """Split a stacked (N, *other) Jacobian block (or (*other, N)) by the basis leaves' sizes."""
    from .. import numpy as jnp
    parts, off = [], 0
    for s, shp in zip(sizes, shapes):
        if batch_first:
            blk = stacked[off:off + s]
            parts.append(jnp.reshape(blk, tuple(shp) + stacked.shape[1:]))
        else:
            blk = stacked[..., off:off + s]
            parts.append(jnp.reshape(blk, stacked.shape[:-1] + tuple(shp)))
        off += s
    return parts


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """The Jacobian of `fun` by reverse mode: one VJP per output element (batched with vmap).
    The result nests the input structure inside the output structure, leaves shaped
    out.shape + in.shape."""
    _argnums_tuple(argnums)

    def jacfun(*args, **kwargs):
        nums, dyn, f_partial = _split_args(fun, args, kwargs, argnums)
        _check_input_dtypes("jacrev", dyn, allow_int, holomorphic)
        res = vjp(f_partial, *dyn, has_aux=has_aux)
        y, pullback = res[0], res[1]
        y_flat, y_tree = tree_flatten(y)
        y_flat = [as_node(v) for v in y_flat]
        for v in y_flat:
            _check_output_dtype("jacrev", v.dtype, holomorphic)
        basis, sizes = _std_basis(y_flat)
        cts = tree_unflatten(y_tree, [b if dtypes.is_inexact(v.dtype) else b.astype(v.dtype)
                                      for b, v in zip(basis, y_flat)])
        jac = vmap(pullback)(cts)                      # tuple over dyn, leaves (N,) + in.shape
        jac_flat, jac_tree = tree_flatten(jac)
        per_in = [_split_jac(as_node(j), sizes, [v.shape for v in y_flat], True) for j in jac_flat]
        # Regroup: for each output leaf k, the tree of inputs with blocks per_in[*][k].
        outs = [tree_unflatten(jac_tree, [blocks[k] for blocks in per_in]) for k in range(len(y_flat))]
        outs = [o[0] if isinstance(argnums, (int, np.integer)) else o for o in outs]
        j = tree_unflatten(y_tree, outs)
        return (j, res[2]) if has_aux else j

    return jacfun


jacobian = jacrev


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian of `fun` by forward mode: one JVP per input element (batched with vmap)."""
    _argnums_tuple(argnums)

    def jacfun(*args, **kwargs):
        nums, dyn, f_partial = _split_args(fun, args, kwargs, argnums)
        _check_input_dtypes("jacfwd", dyn, False, holomorphic, real_only=True)
        flat, in_tree = tree_flatten(dyn)
        flat = [as_node(x) for x in flat]
        basis, sizes = _std_basis(flat)

        def push(*ts):
            r = jvp(f_partial, tree_unflatten(in_tree, flat), tree_unflatten(in_tree, list(ts)), has_aux=has_aux)
            return (r[1], r[2]) if has_aux else r[1]

        out = vmap(push, out_axes=(0, None) if has_aux else 0)(*basis)
        tans, aux = out if has_aux else (out, None)
        t_flat, t_tree = tree_flatten(tans)
        outs = []
        for t in t_flat:
            t = as_node(t)                                # (N,) + out.shape
            blocks = _split_jac(t, sizes, [x.shape for x in flat], True)
            # blocks[j]: in.shape + out.shape -> out.shape + in.shape
            blocks = [_move_front_to_back(b, len(x.shape)) for b, x in zip(blocks, flat)]
            tree = tree_unflatten(in_tree, blocks)
            outs.append(tree[0] if isinstance(argnums, (int, np.integer)) else tree)
        j = tree_unflatten(t_tree, outs)
        return (j, aux) if has_aux else j

    return jacfun


def _move_front_to_back(x, k):
    from .. import numpy as jnp
    if k == 0 or k == x.ndim:
        return x
    return jnp.transpose(x, tuple(range(k, x.ndim)) + tuple(range(k)))


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """`jacfwd(jacrev(fun))`: the matrix of second derivatives."""
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic)


# custom.py registers the custom_jvp/custom_vjp call rules; its API is exported from here.
from .custom import checkpoint, custom_jvp, custom_vjp, remat  # noqa: E402,F401
