"""The `numpy` platform's executable: a Program run equation by equation on the reference rules,
each slot freed after its last use; a long chain of elementwise equations over one large shape runs
slice by slice (`_Chunked`), bit-identical to equation by equation."""
import numpy as np

from ...core import primitives as P
from ..host_loops import host_rules
from .reference import impl_rules


class NumpyExecutable:
    """Runs a Program equation by equation, freeing each slot after its last use. A long chain of
    elementwise equations over one large shape runs as one step, chunk by chunk (`_Chunked`)."""

    def __init__(self, program):
        self.program = program
        lu = program.last_use()
        aval = dict(enumerate(program.in_avals))
        aval.update((slot, a) for slot, _, a in program.consts)
        eqns = program.eqns
        for e in eqns:
            aval[e.out] = e.aval
        self.steps = []
        self.n_in = len(program.in_avals)
        const_slots = {slot for slot, _, _ in program.consts}
        readers, producers = {}, {e.out: e for e in eqns}
        for e in eqns:
            for s in set(e.ins):
                readers.setdefault(s, []).append(e)
        k = 0
        while k < len(eqns):
            j = k
            while j < len(eqns) and _chunkable(eqns[j], aval) and eqns[j].aval.shape == eqns[k].aval.shape:
                j += 1
            if j - k >= CHUNK_MIN_RUN:
                run = eqns[k:j]
                made = {e.out for e in run}
                ext = tuple(dict.fromkeys(s for e in run for s in e.ins if s not in made))
                outs = tuple(e.out for e in run if lu.get(e.out, -1) >= j)
                self.steps.append((_Chunked(run, ext, outs), {}, ext, outs, tuple(s for s in ext if lu[s] < j)))
                k = j
                continue
            e = eqns[k]
            impl = host_rules.get(e.prim) or impl_rules[e.prim]
            if _may_reuse(e, k, lu, aval, impl, readers, producers, self.n_in, const_slots):
                impl = _reusing(impl)
            self.steps.append((impl, e.params or {}, e.ins, e.out, tuple(s for s in set(e.ins) if lu.get(s) == k)))
            k += 1

    def __call__(self, args):
        env = [None] * self.program.n_slots
        env[:self.n_in] = args
        for s, buf, _ in self.program.consts:
            env[s] = buf
        with np.errstate(all="ignore"):
            for impl, params, ins, out, dead in self.steps:
                r = impl(*[env[i] for i in ins], **params)
                if type(out) is tuple:          # a chunked run: several outputs
                    for s, v in zip(out, r):
                        env[s] = v
                else:
                    # NumPy reductions of 0-d results give scalars; buffers are always ndarrays.
                    env[out] = r if isinstance(r, (np.ndarray, tuple)) else np.asarray(r)
                for s in dead:
                    env[s] = None
        return [env[s] for s in self.program.outs]


# An elementwise equation may write its result into its first operand's buffer when that operand
# dies there: softmax's exp(x - max) and its division then reuse one buffer (peak 1x the input, not
# 3x). Only where nothing else can still see those bytes: the operand is made by this executable
# (not an argument or a constant), and every other reader is an earlier equation that makes a new
# array (an elementwise op of the same family or a reduction), never a view (reshape, slice,
# broadcast, a convert to the same dtype); and its producer made it new too (not a marker that
# passes another live slot's array on). At run time the buffer must own its memory.
_FRESH_READERS = {P.reduce_sum_p, P.reduce_max_p, P.reduce_min_p, P.reduce_prod_p}


def _may_reuse(e, k, lu, aval, impl, readers, producers, n_in, const_slots):
    if not getattr(impl, "takes_out", False) or not e.ins or isinstance(e.aval, (tuple, list)):
        return False
    s = e.ins[0]
    a = aval[s]
    if s < n_in or s in const_slots or lu.get(s) != k or isinstance(a, (tuple, list)) \
            or a.shape != e.aval.shape or a.dtype != e.aval.dtype:
        return False
    made_by = producers.get(s)
    return made_by is not None and _fresh(made_by) and all(r is e or _fresh(r) for r in readers[s])


def _fresh(e):
    """Whether equation e's result is a new array (never one of its operands or a view of one)."""
    return e.prim in _FRESH_READERS or getattr(impl_rules.get(e.prim), "takes_out", False)


def _reusing(impl):
    def run(x, *rest, **params):
        if type(x) is np.ndarray and x.base is None and x.flags.writeable and x.flags.c_contiguous and x.ndim:
            return impl(x, *rest, out=x, **params)
        return impl(x, *rest, **params)
    return run


# A chain of elementwise primitives can run on slices. Running a long chain over a large array
# slice by slice keeps the intermediates in the CPU cache instead of streaming each through memory
# (the bit-exact random.normal is ~900 such equations).
CHUNK = 16384            # elements per slice: a float32 slice is 64 KB
CHUNK_MIN_SIZE = 1 << 18  # smaller arrays (1 MB of float32) stay in the cache anyway
CHUNK_MIN_RUN = 3        # shorter chains gain less than the slicing costs


def _chunkable(e, aval):
    a = e.aval
    return (e.prim.elementwise and not isinstance(a, (tuple, list)) and a.size >= CHUNK_MIN_SIZE
            and all(aval[s].shape in ((), a.shape) for s in e.ins))


class _Chunked:
    """A run of elementwise equations of one shape, evaluated CHUNK elements at a time. Operands
    are the run's external slots (full arrays of the run's shape, or 0-d); results are the slots
    read after the run. Every element goes through the same rules as unchunked, so the bits are
    the same."""

    def __init__(self, run, ext, outs):
        local = {s: i for i, s in enumerate(ext)}
        for e in run:
            local[e.out] = len(local)
        self.n_local = len(local)
        # A slice is dropped after its last use in the run, so the allocator hands the same few
        # blocks around and they stay in the cache.
        last = {local[s]: k for k, e in enumerate(run) for s in e.ins}
        keep = {local[s] for s in outs}
        self.code = [(impl_rules[e.prim], e.params or {}, [local[s] for s in e.ins], local[e.out],
                      [local[s] for s in set(e.ins) if last[local[s]] == k and local[s] not in keep])
                     for k, e in enumerate(run)]
        dtype = {e.out: e.aval.dtype for e in run}
        self.outs = [(local[s], dtype[s]) for s in outs]
        self.shape = run[0].aval.shape
        self.size = run[0].aval.size

    def __call__(self, *xs):
        flat = [x.reshape(-1) if x.ndim else x for x in xs]     # (a non-contiguous operand is copied once)
        res = [np.empty(self.size, dt) for _, dt in self.outs]
        env = [None] * self.n_local
        for a in range(0, self.size, CHUNK):
            b = a + CHUNK
            for i, f in enumerate(flat):
                env[i] = f[a:b] if f.ndim else f
            for impl, params, ins, out, dead in self.code:
                env[out] = impl(*[env[i] for i in ins], **params)
                for i in dead:
                    env[i] = None
            for r, (i, _) in zip(res, self.outs):
                r[a:b] = env[i]
        return tuple(r.reshape(self.shape) for r in res)
