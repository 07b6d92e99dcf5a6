"""lax.associative_scan: all prefix combinations of an associative `fn` in O(log n) levels.

A composite of slices, concatenations and `fn` itself, so grad, vmap and jit need no rules of their
own. The recursion is the classic odd/even one: combine neighbouring pairs, scan the half-length
sequence of pair results (those are the prefixes ending at odd positions), then one more `fn` gives
the prefixes ending at even positions; interleave the two. Results are combined in a fixed order,
so they do not depend on the platform."""
from ..tree_util import tree_flatten, tree_unflatten
from . import asarray, concatenate, reshape, rev, slice_in_dim


def associative_scan(fn, elems, reverse=False, axis=0):
    """Prefix combinations of `elems` (a pytree of arrays sharing the length of `axis`) under the
    associative `fn(a, b)`: result[i] = elems[0] ⊕ ... ⊕ elems[i] (with `reverse`, elems[i] ⊕ ... ⊕ elems[-1])."""
    leaves, tree = tree_flatten(elems)
    leaves = [asarray(x) for x in leaves]
    if not leaves:
        raise ValueError("associative_scan: elems has no arrays")
    nd = leaves[0].ndim
    if not all(x.ndim == nd for x in leaves) or not -nd <= axis < nd:
        raise ValueError(f"associative_scan: axis {axis} is out of bounds for elems of shapes "
                         f"{[x.shape for x in leaves]}")
    axis %= nd
    lengths = {x.shape[axis] for x in leaves}
    if len(lengths) != 1:
        raise ValueError(f"associative_scan: array inputs to associative_scan must have the same first dimension "
                         f"(along axis {axis}); got shapes {[x.shape for x in leaves]}")

    def combine(a, b):
        out, out_tree = tree_flatten(fn(tree_unflatten(tree, a), tree_unflatten(tree, b)))
        if out_tree != tree:
            raise TypeError(f"associative_scan: fn must return a pytree of the structure of elems, {tree}; "
                            f"got {out_tree}")
        return [asarray(x) for x in out]

    def part(xs, start, stop=None, step=1):
        return [slice_in_dim(x, start, x.shape[axis] if stop is None else stop, step, axis) for x in xs]

    def scan(xs):
        n = xs[0].shape[axis]
        if n < 2:
            return xs
        odd = scan(combine(part(xs, 0, n - 1, 2), part(xs, 1, None, 2)))      # prefixes ending at 1, 3, ...
        if n % 2:
            even = combine(odd, part(xs, 2, None, 2))
        else:
            even = combine(part(odd, 0, len_of(odd) - 1), part(xs, 2, None, 2))
        even = [concatenate([first, e], axis) for first, e in zip(part(xs, 0, 1), even)]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    def len_of(xs):
        return xs[0].shape[axis]

    if reverse:
        leaves = [rev(x, (axis,)) for x in leaves]
    out = scan(leaves)
    if reverse:
        out = [rev(x, (axis,)) for x in out]
    return tree_unflatten(tree, out)


def _interleave(a, b, axis):
    """a[0], b[0], a[1], b[1], ... along `axis`; `a` is as long as `b` or one longer."""
    na, nb = a.shape[axis], b.shape[axis]
    if na > nb:
        b = concatenate([b, slice_in_dim(a, 0, 1, 1, axis)], axis)          # a pad, cut off below
    pair = a.shape[:axis + 1] + (1,) + a.shape[axis + 1:]
    both = concatenate([reshape(a, pair), reshape(b, pair)], axis + 1)
    shape = a.shape[:axis] + (2 * na,) + a.shape[axis + 1:]
    out = reshape(both, shape)
    return slice_in_dim(out, 0, na + nb, 1, axis)
