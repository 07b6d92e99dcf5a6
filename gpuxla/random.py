"""gpuxla.random: JAX's default PRNG (threefry2x32), bit for bit.

    >>> from gpuxla import random
    >>> key = random.PRNGKey(0)
    >>> random.normal(key, (3,))
    Array([ 1.6226422 ,  2.0252647 , -0.43359444], dtype=float32)
    >>> k1, k2 = random.split(key)

There is no RNG primitive: the Threefry-2x32 hash and every sampler are composites of uint32 and
float primitives, so a sampler fuses into one kernel, runs on every backend, and batches (vmap)
and traces (jit) like any other gpuxla code. `/work/shared/spec/jax_random.md` is the
specification this follows (section numbers below refer to it):
  * keys, split, fold_in, bits, randint, permutation and choice are exact integer arithmetic;
  * uniform with default bounds and bernoulli are bitcasts and exact float steps;
  * uniform with other bounds needs a correctly rounded fused multiply-add, built here from
    exact float64 arithmetic and round-to-odd (float32) or Dekker's product (float64);
  * normal, truncated_normal, gumbel, categorical and exponential reproduce XLA-CPU's own
    float32 erf_inv/log1p/log/erf kernels (section 7.3), so they match JAX on CPU. The float64
    kernels take `log` from the backend, which agrees with glibc's almost always.

`jax_threefry_partitionable` (default True, as in JAX >= 0.5) picks the counter layout; set it to
False with `gpuxla.config.update` to get the numbers of JAX < 0.5 (and of old tutorials).
"""
import operator
import warnings
from collections.abc import Sequence

import numpy as np

from . import lax
from . import numpy as jnp
from .core import dtypes
from .core import primitives as P
from . import config
from .core import graph
from .core.graph import Array, constant
from .transforms.custom import custom_jvp
from .tree_util import register_pytree_node

__all__ = ["PRNGKey", "key", "key_data", "wrap_key_data", "key_impl", "clone", "threefry_2x32",
           "split", "fold_in", "bits", "uniform", "normal", "bernoulli", "randint",
           "truncated_normal", "gumbel", "categorical", "exponential", "permutation", "choice",
           "PRNGKeyArray"]

_U32, _U64, _F32, _F64 = (np.dtype(t) for t in (np.uint32, np.uint64, np.float32, np.float64))
_UINT = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: _U32, 64: _U64}
_LOW = (np.dtype(np.float16), np.dtype(dtypes.bfloat16))


# --- small helpers: exact dtypes, never canonicalized (internal float64/uint64 is fine in x32) ---
def _c(value, dtype):
    return constant(np.asarray(value, dtype))


def _cvt(x, dtype):
    dtype = np.dtype(dtype)
    return x if x.dtype == dtype else P.convert_element_type_p.bind(x, new_dtype=dtype, weak_type=False)


def _bitcast(x, dtype):
    return P.bitcast_convert_type_p.bind(x, new_dtype=np.dtype(dtype))


def _f32(bits):
    return np.uint32(bits).view(np.float32)


def _f64(bits):
    return np.uint64(bits).view(np.float64)


def _shape(shape, name):
    if isinstance(shape, (int, np.integer)) or (isinstance(shape, Array) and shape.ndim == 0):
        shape = (shape,)
    try:
        shape = tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"{name}: shape must be a tuple of non-negative integers, got {shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"{name}: shape {shape} has a negative dimension")
    return shape


def _dtype(dtype, name, default):
    want = dtypes._to_dtype(default if dtype is None else dtype)
    got = dtypes.canonicalize_dtype(want)
    if dtype is not None and got != want:
        warnings.warn(f"Explicitly requested dtype {want.name} requested in {name} is not available, and will "
                      f"be truncated to dtype {got.name}. To enable more dtypes, set the jax_enable_x64 "
                      "configuration option or the JAX_ENABLE_X64 shell environment variable.", stacklevel=3)
    return got


def _check_shape(name, shape, *param_shapes):
    if param_shapes:
        try:
            b = np.broadcast_shapes(shape, *param_shapes)
        except ValueError:
            b = None
        if b != tuple(shape):
            raise ValueError(f"{name} parameter shapes {tuple(map(tuple, param_shapes))} must be broadcast-compatible "
                             f"with shape argument, and the result of broadcasting the shapes must equal the shape "
                             f"argument {tuple(shape)}.")


def _to_shape(x, shape):
    """Broadcast `x` (already of the right dtype) to `shape`; rank-0 stays rank-0 (lax ops accept it)."""
    return x if x.shape == () or x.shape == tuple(shape) else jnp.broadcast_to(x, shape)


def _eager_values(*xs):
    """Outside transformations, compute `xs` now. The float kernels below are chains longer than
    the pending-depth bound, which realizes nodes as it goes; without this, each such cut would
    recompute the shared inputs (the whole hash) once more. Traced code keeps one fused graph."""
    pending = [x for x in xs if x._buf is None and x.sym is None]
    if pending and graph.state.trace_level == 0:
        graph.realize(pending)
    return xs if len(xs) > 1 else xs[0]


def _partitionable():
    return bool(config.read("jax_threefry_partitionable"))


# --- keys (section 2 and 3) -----------------------------------------------------------------
class _KeyDtype:
    """The dtype of typed keys: prints as JAX's `key<fry>`."""
    name = "key<fry>"
    itemsize = 8

    def __repr__(self):
        return self.name

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, _KeyDtype) or other == self.name

    def __hash__(self):
        return hash(self.name)


KEY_DTYPE = _KeyDtype()


class PRNGKeyArray:
    """Typed keys (`random.key`): an array of keys whose shape leaves out the two uint32 words of
    each key. `key_data` gives the uint32[..., 2] words; both kinds of key give identical numbers.

    >>> random.split(random.key(0), 3).shape
    (3,)
    """
    __slots__ = ("_base",)

    def __init__(self, base):
        self._base = base

    shape = property(lambda self: self._base.shape[:-1])
    ndim = property(lambda self: self._base.ndim - 1)
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))
    dtype = property(lambda self: KEY_DTYPE)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object (a single key)")
        return self.shape[0]

    def __getitem__(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        return PRNGKeyArray(self._base[idx + (slice(None),)])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return PRNGKeyArray(self._base.reshape(tuple(shape) + (2,)))

    def block_until_ready(self):
        self._base.block_until_ready()
        return self

    def __repr__(self):
        if self._base.sym is not None and not self._base.is_concrete:
            return f"Traced<key<fry>[{','.join(map(str, self.shape))}]>with<{self._base.sym}>"
        return f"Array({self.shape}, dtype=key<fry>) overlaying:\n{np.asarray(self._base)}"


# Under jit and vmap a typed key travels as its uint32 words.
register_pytree_node(PRNGKeyArray, lambda k: ((k._base,), None), lambda _, ch: PRNGKeyArray(ch[0]))


def _key_words(key, name):
    """The uint32[..., 2] words of a key (typed or raw), validated as JAX does."""
    if isinstance(key, PRNGKeyArray):
        return key._base
    if isinstance(key, (Array, np.ndarray, list, tuple)):
        data = key if isinstance(key, Array) else jnp.asarray(np.asarray(key))
        if data.dtype != _U32:
            raise TypeError(f"JAX encountered invalid PRNG key data: expected key_data.dtype = uint32; got "
                            f"dtype={data.dtype}. Make keys with random.PRNGKey(seed) or random.key(seed) "
                            f"(passed to {name}).")
        if data.ndim < 1 or data.shape[-1] != 2:
            raise TypeError(f"JAX encountered invalid PRNG key data: expected key_data.shape to end with (2,); "
                            f"got shape={data.shape} for impl=threefry2x32 (passed to {name}).")
        return data
    raise TypeError(f"unexpected PRNG key type {type(key)} passed to {name}")


def _single_key(key, name):
    words = _key_words(key, name)
    if words.ndim != 1:
        raise ValueError(f"{name} accepts a single key, but was given a key array of shape "
                         f"{np.shape(key) if not isinstance(key, PRNGKeyArray) else key.shape} != (). "
                         "Use jax.vmap for batching.")
    return words


def _wrap_like(key, words):
    return PRNGKeyArray(words) if isinstance(key, PRNGKeyArray) else words


def _check_impl(impl):
    if impl not in (None, "threefry2x32"):
        raise ValueError(f"PRNG implementation {impl!r} is not supported by gpuxla; only 'threefry2x32' "
                         "(JAX's default) is.")


def _seed_words(seed, name):
    if isinstance(seed, PRNGKeyArray):
        raise TypeError(f"{name} expects an integer seed, got a key")
    if isinstance(seed, (bool, int)) and not isinstance(seed, np.generic):
        if not -2 ** 63 <= seed < 2 ** 63:
            raise OverflowError(f"{name}: Python int seed {seed} does not fit in int64")
        # JAX makes a Python int an int64 first, which x32 then wraps to int32.
        s = constant(np.asarray(np.int64(seed)).astype(dtypes.default_int_dtype()))
    else:
        s = seed if isinstance(seed, Array) else jnp.asarray(np.asarray(seed))
        if s.ndim != 0:
            raise TypeError(f"{name} accepts a scalar seed, but was given an array of shape {s.shape} != (). "
                            "Use jax.vmap for batching")
        if not dtypes.is_int(s.dtype):
            raise TypeError(f"PRNG key seed must be an integer; got {s.dtype}")
        s = _cvt(s, dtypes.canonicalize_dtype(s.dtype))
    if s.dtype.itemsize == 8:
        k0 = _cvt(lax.shift_right_logical(s, 32), _U32)
        k1 = _cvt(lax.bitwise_and(s, 0xFFFFFFFF), _U32)
    else:
        # XLA defines a shift by >= the width as 0, so narrow seeds give k0 = 0; k1 sign-extends.
        k0, k1 = _c(0, _U32), _cvt(s, _U32)
    return _stack_words(k0, k1)


def _stack_words(y0, y1):
    nd = y0.ndim
    return lax.concatenate([lax.expand_dims(y0, (nd,)), lax.expand_dims(y1, (nd,))], nd)


def PRNGKey(seed, *, impl=None):
    """A legacy key: uint32[2] = (hi32(seed), lo32(seed)) (just (0, seed mod 2**32) under x32).

    >>> random.PRNGKey(42)
    Array([ 0, 42], dtype=uint32)
    """
    _check_impl(impl)
    return _seed_words(seed, "PRNGKey")


def key(seed, *, impl=None):
    """A typed key (shape (), dtype key<fry>); it gives the same numbers as PRNGKey(seed)."""
    _check_impl(impl)
    return PRNGKeyArray(_seed_words(seed, "key"))


def key_data(keys):
    """The uint32[..., 2] words of typed (or raw) keys."""
    return _key_words(keys, "key_data")


def wrap_key_data(key_bits_array, *, impl=None):
    """Typed keys from uint32[..., 2] words."""
    _check_impl(impl)
    return PRNGKeyArray(_key_words(key_bits_array, "wrap_key_data"))


def key_impl(keys):
    _key_words(keys, "key_impl")
    return "threefry2x32"


def clone(key):
    return key


# --- Threefry-2x32 (section 4) --------------------------------------------------------------
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _hash(k0, k1, x0, x1):
    """Threefry-2x32, 20 rounds, of counter words (x0, x1) under key (k0, k1); all uint32."""
    ks = (k0, k1, lax.bitwise_xor(lax.bitwise_xor(k0, k1), 0x1BD11BDA))
    x0, x1 = lax.add(x0, ks[0]), lax.add(x1, ks[1])
    for j in range(1, 6):
        for r in _ROTATIONS[(j - 1) % 2]:
            x0 = lax.add(x0, x1)
            x1 = lax.bitwise_xor(lax.bitwise_or(lax.shift_left(x1, r), lax.shift_right_logical(x1, 32 - r)), x0)
        x0, x1 = lax.add(x0, ks[j % 3]), lax.add(x1, lax.add(ks[(j + 1) % 3], j))
    return x0, x1


def _split_key(words):
    return lax.squeeze(lax.slice(words, (0,), (1,)), (0,)), lax.squeeze(lax.slice(words, (1,), (2,)), (0,))


def _hash_words(words, count):
    """JAX's `threefry_2x32(key, count)` on a flat uint32 vector: pairs (c[i], c[h+i])."""
    n = count.shape[0]
    if n % 2:
        count = lax.concatenate([count, _c([0], _U32)], 0)
    h = (n + 1) // 2
    y0, y1 = _hash(*_split_key(words), lax.slice(count, (0,), (h,)), lax.slice(count, (h,), (2 * h,)))
    out = lax.concatenate([y0, y1], 0)
    return lax.slice(out, (0,), (n,)) if n % 2 else out


def threefry_2x32(keypair, count):
    """The Threefry-2x32 hash of the uint32 array `count` under a key (a uint32[2] array or a pair
    of uint32 scalars), as `jax.extend.random.threefry_2x32`: the flat words are hashed as pairs
    (c[i], c[n/2 + i]) and the outputs laid back out in the same order and shape.

    >>> random.threefry_2x32(jnp.array([0, 0], jnp.uint32), jnp.array([0, 0], jnp.uint32))
    Array([1797259609, 2579123966], dtype=uint32)
    """
    if isinstance(keypair, (tuple, list)):
        if len(keypair) != 2:
            raise TypeError(f"threefry_2x32: keypair must have two words, got {len(keypair)}")
        words = _stack_words(*(_cvt(lax.asarray(k, _U32), _U32) for k in keypair))
    else:
        words = _key_words(keypair, "threefry_2x32")
        if words.ndim != 1:
            raise TypeError(f"threefry_2x32: keypair must be a uint32[2] array, got shape {words.shape}")
    count = count if isinstance(count, Array) else jnp.asarray(np.asarray(count))
    if count.dtype != _U32:
        raise TypeError(f"threefry_2x32 requires uint32 counts, got {count.dtype}")
    return lax.reshape(_hash_words(words, lax.reshape(count, (count.size,))), count.shape)


def _counters(shape):
    """Partitionable layout: element i (row-major) is hashed with counter (i >> 32, i & 0xffffffff)."""
    n = int(np.prod(shape, dtype=np.int64))
    if n < 2 ** 32:
        return _c(0, _U32), lax.reshape(lax.iota(_U32, n), shape)
    i = lax.reshape(P.iota_p.bind(dtype=_U64, shape=(n,), dimension=0), shape)
    return _cvt(lax.shift_right_logical(i, 32), _U32), _cvt(lax.bitwise_and(i, 0xFFFFFFFF), _U32)


def _split_words(words, shape):
    """split (section 5): new keys uint32[*shape, 2] from one key's words."""
    if _partitionable():
        return _stack_words(*_hash(*_split_key(words), *_counters(shape)))
    n = int(np.prod(shape, dtype=np.int64))
    return lax.reshape(_hash_words(words, lax.iota(_U32, 2 * n)), tuple(shape) + (2,))


def _split2(words):
    keys = _split_words(words, (2,))
    return lax.index_in_dim(keys, 0, keepdims=False), lax.index_in_dim(keys, 1, keepdims=False)


def _random_bits(words, bit_width, shape):
    """random_bits (section 6): unsigned ints of `bit_width` bits filling `shape`."""
    out_dtype = _UINT[bit_width]
    if _partitionable():
        y0, y1 = _hash(*_split_key(words), *_counters(shape))
        if bit_width == 64:
            return lax.bitwise_or(lax.shift_left(_cvt(y0, _U64), 32), _cvt(y1, _U64))
        return _cvt(lax.bitwise_xor(y0, y1), out_dtype)
    n = int(np.prod(shape, dtype=np.int64))
    nwords = -(-bit_width * n // 32)
    if nwords >= 2 ** 32 - 1:
        raise NotImplementedError(f"random bits: {n} values of {bit_width} bits need {nwords} words; the legacy "
                                  "(jax_threefry_partitionable=False) layout supports fewer than 2**32-1 words. "
                                  "Use the default partitionable layout for arrays this large.")
    w = _hash_words(words, lax.iota(_U32, nwords))
    if bit_width == 32:
        return lax.reshape(w, shape)
    if bit_width == 64:
        hi, lo = lax.slice(w, (0,), (n,)), lax.slice(w, (n,), (2 * n,))
        return lax.reshape(lax.bitwise_or(lax.shift_left(_cvt(hi, _U64), 32), _cvt(lo, _U64)), shape)
    # 8/16 bits: each word is cut into sub-words, least significant first.
    per = 32 // bit_width
    shifts = lax.broadcast_in_dim(_c(np.arange(per) * bit_width, _U32), (nwords, per), (1,))
    parts = lax.shift_right_logical(lax.broadcast_in_dim(w, (nwords, per), (0,)), shifts)
    return lax.reshape(lax.slice(lax.reshape(_cvt(parts, out_dtype), (nwords * per,)), (0,), (n,)), shape)


def split(key, num=2):
    """Split a key into `num` new keys (`num` may be a shape tuple).

    >>> random.split(random.PRNGKey(0))
    Array([[1797259609, 2579123966],
           [ 928981903, 3453687069]], dtype=uint32)
    """
    words = _single_key(key, "split")
    if isinstance(num, (int, np.integer)) and num < 0:
        raise ValueError(f"split: num must be a non-negative integer (or a shape tuple), got {num}")
    shape = _shape(num, "split")
    return _wrap_like(key, _split_words(words, shape))


def fold_in(key, data):
    """A new key from `key` and the 32-bit integer `data`: hash(key, (0, data)) in both layouts."""
    words = _single_key(key, "fold_in")
    if isinstance(data, (bool, int)) and not isinstance(data, np.generic):
        if not 0 <= data < 2 ** 32:
            raise OverflowError(f"Python integer {data} out of bounds for uint32 (fold_in data)")
        d = _c(data, _U32)
    else:
        d = data if isinstance(data, Array) else constant(np.asarray(data))
        if d.ndim != 0:
            raise TypeError(f"fold_in: data must be a scalar, got shape {d.shape}; use jax.vmap to fold in many")
        d = _cvt(d, _U32)    # an int32 -1 is reinterpreted as 2**32-1, as in JAX
    return _wrap_like(key, _stack_words(*_hash(*_split_key(words), _c(0, _U32), d)))


def bits(key, shape=(), dtype=None):
    """Random unsigned integers (uint32 by default, uint64 under x64)."""
    words = _single_key(key, "bits")
    dtype = dtypes.default_uint_dtype() if dtype is None else _dtype(dtype, "bits", None)
    if not dtypes.is_unsigned(dtype) or dtype.itemsize * 8 not in _UINT:
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dtype}")
    return _random_bits(words, dtype.itemsize * 8, _shape(shape, "bits"))


# --- XLA CPU's float kernels (section 7.3) --------------------------------------------------
def _differentiable(deriv):
    """Give an exact kernel the derivative of the function it computes (as JAX's primitives have):
    its bit manipulations have none. deriv(out, *primals, *tangents) -> tangent."""
    def wrap(fn):
        f = custom_jvp(fn)

        def jvp(primals, tangents):
            out = f(*primals)
            return out, deriv(out, *primals, *tangents)
        f.defjvp(jvp)
        return f
    return wrap


def _fma(a, b, c):
    """Correctly rounded a*b + c, as XLA CPU's contracted multiply-add: the fma primitive (fmaf/fma
    on the kernel platforms, a correctly rounded reference on NumPy). XLA does not contract 16-bit
    (or 8-bit) arithmetic: there each op rounds to the dtype."""
    dt = next(v.dtype for v in (a, b, c) if isinstance(v, Array))
    a, b, c = (v if isinstance(v, Array) else _c(v, dt) for v in (a, b, c))
    if dt in (_F32, _F64):
        return lax.fma(a, b, c)
    return lax.add(lax.mul(a, b), c)


def _horner(coeffs, x):
    p = _c(coeffs[0], x.dtype)
    for c in coeffs[1:]:
        p = _fma(p, x, c)
    return p


_LOG_A = [_f32(b) for b in (0x3D9021BB, 0xBDEBD1B8, 0x3DEF251A)]
_LOG_B = [_f32(b) for b in (0xBDFE5D4F, 0x3E11E9BF, 0xBE2AAE50)]
_LOG_C = [_f32(b) for b in (0x3E4CCEAC, 0xBE7FFFFC, 0x3EAAAAAA)]


def _log32(y):
    """XLA CPU's float32 log (a Cephes logf variant with fma)."""
    y = _eager_values(y)
    yc = lax.max(y, _c(np.finfo(np.float32).tiny, _F32))
    b = _bitcast(yc, _U32)
    e = _cvt(lax.sub(_cvt(lax.shift_right_logical(b, 23), np.int32), 126), _F32)
    m = _bitcast(lax.bitwise_or(lax.bitwise_and(b, 0x7FFFFF), 0x3F000000), _F32)
    small = lax.lt(m, _c(_f32(0x3F3504F3), _F32))
    x, e = _eager_values(lax.select(small, lax.add(lax.sub(m, 1.0), m), lax.sub(m, 1.0)),
                         lax.select(small, lax.sub(e, 1.0), e))
    z = lax.mul(x, x)
    x3 = lax.mul(z, x)
    A, B, C = (_fma(_fma(x, k[0], k[1]), x, k[2]) for k in (_LOG_A, _LOG_B, _LOG_C))
    t = _fma(_fma(_fma(A, x3, B), x3, C), x3, lax.mul(e, _f32(0xB95E8083)))
    r = _fma(e, _f32(0x3F318000), lax.add(lax.sub(x, lax.mul(z, 0.5)), t))
    special = lax.select(lax.eq(y, 0.0), _c(-np.inf, _F32), lax.select(lax.eq(y, np.inf), y, _c(np.nan, _F32)))
    return lax.select(lax.bitwise_and(lax.gt(y, 0.0), lax.lt(y, np.inf)), r,
                      lax.select(lax.ne(y, y), y, special))


_LOG1P_P32 = [np.float32(4.527e-05)] + [_f32(b) for b in (0x3EFF40C5, 0x40D284FA, 0x41EF4B9C, 0x4273CC76,
                                                           0x426473AD, 0x41A05101)]
_LOG1P_Q32 = [np.float32(1.0)] + [_f32(b) for b in (0x417101AD, 0x42A6185B, 0x435DC32D, 0x439A8CA3,
                                                    0x43586D8A, 0x42707982)]
_LOG1P_P64 = [_f64(b) for b in (0x3F07BC0962B395CA, 0x3FDFE818A0FE1A83, 0x401A509F46F4FA53, 0x403DE9738B8CB9C9,
                                0x404E798EB86C3351, 0x404C8E7597479A10, 0x40340A202D99830A)]
_LOG1P_Q64 = [1.0] + [_f64(b) for b in (0x402E20359E903E37, 0x4054C30B52213498, 0x406BB86590FCFB56,
                                        0x407351945DC908A5, 0x406B0DB13E48E066, 0x404E0F304466448E)]


@_differentiable(lambda out, x, t: lax.div(t, x))
def _log(x):
    """log as XLA CPU computes it: its own float32 kernel; float64 from the backend."""
    if x.dtype == _F32:
        return _log32(x)
    if x.dtype in _LOW:
        return _cvt(_log32(_cvt(x, _F32)), x.dtype)
    return lax.log(x)


@_differentiable(lambda out, x, t: lax.div(t, lax.add(x, 1.0)))
def _log1p(x):
    """XLA CPU's log1p: a Cephes rational for |x| < ~sqrt(2)-1, else log(1 + x)."""
    if x.dtype in _LOW:
        return _cvt(_log1p(_cvt(x, _F32)), x.dtype)
    if x.dtype == _F32:
        P_, Q_, thr = _LOG1P_P32, _LOG1P_Q32, _f32(0x3ED413CD)
    elif x.dtype == _F64:
        P_, Q_, thr = _LOG1P_P64, _LOG1P_Q64, _f64(0x3FDA827999FCEF32)
    else:
        return lax.log1p(x)
    x = _eager_values(x)
    x2 = lax.mul(x, x)
    r = lax.mul(lax.mul(x, x2), lax.div(_horner(P_, x), _horner(Q_, x)))
    small = lax.add(x, _fma(x2, -0.5, r))
    return lax.select(lax.lt(lax.abs(x), _c(thr, x.dtype)), small, _log(lax.add(x, 1.0)))


_ERFINV32 = ([np.float32(c) for c in ("2.81022636e-08 3.43273939e-07 -3.5233877e-06 -4.39150654e-06 0.00021858087 "
                                      "-0.00125372503 -0.00417768164 0.246640727 1.50140941").split()],
             [np.float32(c) for c in ("-0.000200214257 0.000100950558 0.00134934322 -0.00367342844 0.00573950773 "
                                      "-0.0076224613 0.00943887047 1.00167406 2.83297682").split()])
# Giles' double-precision branches (w < 6.25, w < 16, else), read from XLA's HLO by the spec.
_ERFINV64 = tuple([float(c) for c in s.split()] for s in (
    "-3.64441206401782e-21 -1.6850591381820166e-19 1.28584807152564e-18 1.1157877678025181e-17 "
    "-1.3331716628546209e-16 2.0972767875968562e-17 6.6376381343583238e-15 -4.0545662729752069e-14 "
    "-8.1519341976054722e-14 2.6335093153082323e-12 -1.2975133253453532e-11 -5.4154120542946279e-11 "
    "1.0512122733215323e-09 -4.1126339803469837e-09 -2.9070369957882005e-08 4.2347877827932404e-07 "
    "-1.3654692000834679e-06 -1.3882523362786469e-05 0.00018673420803405714 -0.000740702534166267 "
    "-0.0060336708714301491 0.24015818242558962 1.6536545626831027",
    "2.2137376921775787e-09 9.0756561938885391e-08 -2.7517406297064545e-07 1.8239629214389228e-08 "
    "1.5027403968909828e-06 -4.013867526981546e-06 2.9234449089955446e-06 1.2475304481671779e-05 "
    "-4.7318229009055734e-05 6.8284851459573175e-05 2.4031110387097894e-05 -0.00035503752036284748 "
    "0.0009532893797373805 -0.0016882755560235047 0.0024914420961078508 -0.0037512085075692412 "
    "0.0053709145535900636 1.0052589676941592 3.0838856104922208",
    "-2.7109920616438573e-11 -2.5556418169965252e-10 1.5076572693500548e-09 -3.789465440126737e-09 "
    "7.61570120807834e-09 -1.496002662714924e-08 2.9147953450901081e-08 -6.7711997758452339e-08 "
    "2.2900482228026655e-07 -9.9298272942317e-07 4.5260625972231537e-06 -1.9681778105531671e-05 "
    "7.5995277030017761e-05 -0.00021503011930044477 -0.00013871931833623122 1.0103004648645344 "
    "4.8499064014085844"))


@_differentiable(lambda out, x, t: lax.mul(t, lax.mul(lax.exp(lax.mul(out, out)), np.sqrt(np.pi) / 2)))
def _erf_inv(x):
    """XLA CPU's erf_inv (Giles' approximations, fma Horner); 16-bit floats go through float32."""
    if x.dtype not in (_F32, _F64):
        return _cvt(_erf_inv(_cvt(x, _F32)), x.dtype)
    dt = x.dtype
    x = _eager_values(x)
    w = _eager_values(lax.neg(_log1p(lax.mul(x, lax.neg(x)))))
    sw = lax.sqrt(w)
    if dt == _F32:
        which = lax.ge(w, 5.0)
        t = lax.select(which, lax.sub(sw, 3.0), lax.sub(w, 2.5))
        tables = _ERFINV32
    else:
        which = lax.add(_cvt(lax.ge(w, 6.25), np.int32), _cvt(lax.ge(w, 16.0), np.int32))
        t = lax.select_n(which, lax.sub(w, 3.125), lax.sub(sw, 3.25), lax.sub(sw, 5.0))
        # Leading zeros make the tables one length: fma(0, t, c) = c.
        n = max(map(len, _ERFINV64))
        tables = [[0.0] * (n - len(tb)) + tb for tb in _ERFINV64]
    which, t = _eager_values(which, t)
    # One Horner pass whose coefficients are chosen per element by the branch.
    p = lax.select_n(which, *(_c(tb[0], dt) for tb in tables))
    for k in range(1, len(tables[0])):
        p = _fma(p, t, lax.select_n(which, *(_c(tb[k], dt) for tb in tables)))
    return lax.select(lax.eq(lax.abs(x), 1.0), lax.mul(x, np.inf), lax.mul(p, x))


_ERF_P = [_f32(b) for b in (0x39702D51, 0x3B5F5DA2, 0x3D50B6EB, 0x3E3DA740, 0x3F906EBA)]
_ERF_Q = [_f32(b) for b in (0xB3FD3906, 0x37C588DF, 0x3A856D28, 0x3C6687D4, 0x3DE34C21, 0x3EFEB44A)] + [np.float32(1.0)]


@_differentiable(lambda out, x, t: lax.mul(t, lax.mul(lax.exp(lax.neg(lax.mul(x, x))), 2 / np.sqrt(np.pi))))
def _erf(x):
    """XLA CPU's float32 erf (a rational approximation, not correctly rounded)."""
    if x.dtype in _LOW:
        return _cvt(_erf(_cvt(x, _F32)), x.dtype)
    if x.dtype != _F32:
        return lax.erf(x)
    z = lax.mul(x, x)
    r = lax.div(lax.mul(x, _horner(_ERF_P, z)), _horner(_ERF_Q, z))
    return lax.select(lax.ge(lax.abs(x), _c(_f32(0x407547CB), _F32)), lax.sign(x), r)


# --- floating-point samplers (section 7) ----------------------------------------------------
def _static(v, dtype):
    """v as a NumPy scalar of dtype when it is a concrete Python/NumPy number, else None."""
    if isinstance(v, Array) or np.ndim(v) != 0:
        return None
    return np.asarray(v).astype(dtype)


def _float_operand(v, dtype, shape):
    v = v if isinstance(v, Array) else jnp.asarray(v)
    return _to_shape(_cvt(v, dtype), shape)


def _uniform(words, shape, dtype, minval=0.0, maxval=1.0):
    fi = dtypes.finfo(dtype)
    nbits, nmant = fi.bits, fi.nmant
    rbits = 8 if nmant < 8 else nbits
    b = _cvt(_random_bits(words, rbits, shape), _UINT[nbits])
    # The top nmant random bits become the mantissa of a number in [1, 2).
    one = _c(np.asarray(1.0, dtype).view(_UINT[nbits]), _UINT[nbits])
    m = lax.bitwise_or(lax.shift_right_logical(b, rbits - nmant), one)
    f = lax.sub(_bitcast(m, dtype), _c(1.0, dtype))
    lo_s, hi_s = _static(minval, dtype), _static(maxval, dtype)
    if lo_s is not None and hi_s is not None:
        span = np.asarray(hi_s - lo_s, dtype)
        if lo_s == 0 and span == 1:
            return f
        lo = _c(lo_s, dtype)
        mant, _ = np.frexp(np.float64(span))
        if np.isfinite(np.float64(span)) and mant in (0.5, -0.5):
            v = lax.add(lax.mul(f, _c(span, dtype)), lo)   # exact product: the fma's rounding
        else:
            v = _fma(f, _c(span, dtype), lo)
        return lax.max(lo, v)
    lo, hi = _float_operand(minval, dtype, shape), _float_operand(maxval, dtype, shape)
    return lax.max(lo, _fma(f, lax.sub(hi, lo), lo))


def _float_dtype(dtype, name):
    dtype = _dtype(dtype, name, float)
    if not dtypes.is_float(dtype):
        raise ValueError(f"dtype argument to `{name}` must be a float dtype, got {dtype}")
    return dtype


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform floats in [minval, maxval).

    >>> random.uniform(random.PRNGKey(0), (2,))
    Array([0.947667 , 0.9785799], dtype=float32)
    """
    words = _single_key(key, "uniform")
    dtype = _float_dtype(dtype, "uniform")
    shape = _shape(shape, "uniform")
    _check_shape("uniform", shape, *(np.shape(v) for v in (minval, maxval) if np.ndim(v)))
    return _uniform(words, shape, dtype, minval, maxval)


def _sqrt2(dtype):
    return _c(np.sqrt(2.0), dtype)


def _normal_real(words, shape, dtype):
    # u is uniform on [nextafter(-1, 0), 1): erf_inv stays finite.
    lo = -1.0 + 2.0 ** -(dtypes.finfo(dtype).nmant + 1)
    return lax.mul(_sqrt2(dtype), _erf_inv(_uniform(words, shape, dtype, lo, 1.0)))


def normal(key, shape=(), dtype=None):
    """Standard normal samples: sqrt(2) * erf_inv(u) (not Box-Muller), as JAX.

    >>> random.normal(random.PRNGKey(0), (3,))
    Array([ 1.6226422 ,  2.0252647 , -0.43359444], dtype=float32)
    """
    words = _single_key(key, "normal")
    shape = _shape(shape, "normal")
    dtype = _dtype(dtype, "normal", float)
    if dtypes.is_complex(dtype):
        real = np.dtype(np.finfo(dtype).dtype)
        kr, ki = _split2(words)
        # (re + 1j*im) / sqrt(2) with XLA's division by a constant: a multiply by 1/sqrt(2).
        inv = _c(1.0 / np.sqrt(2.0), real)
        re, im = lax.mul(_normal_real(kr, shape, real), inv), lax.mul(_normal_real(ki, shape, real), inv)
        return lax.add(_cvt(re, dtype), lax.mul(_cvt(im, dtype), _c(1j, dtype)))
    if not dtypes.is_float(dtype):
        raise ValueError(f"dtype argument to `normal` must be a float or complex dtype, got {dtype}")
    return _normal_real(words, shape, dtype)


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Standard normal samples conditioned on the open interval (lower, upper)."""
    words = _single_key(key, "truncated_normal")
    dtype = _float_dtype(dtype, "truncated_normal")
    if shape is None:
        shape = np.broadcast_shapes(np.shape(lower), np.shape(upper))
    else:
        shape = _shape(shape, "truncated_normal")
        _check_shape("truncated_normal", shape, np.shape(lower), np.shape(upper))
    lower, upper = (_cvt(v if isinstance(v, Array) else jnp.asarray(v), dtype) for v in (lower, upper))
    # XLA turns `bound / sqrt(2)` into `bound * (1 / sqrt(2))`, rounded in the dtype.
    inv = _c(1.0 / np.sqrt(2.0), dtype)
    a, b = _erf(lax.mul(lower, inv)), _erf(lax.mul(upper, inv))
    u = _uniform(words, shape, dtype, a, b)
    out = lax.mul(_sqrt2(dtype), _erf_inv(u))
    lo = _to_shape(lax.nextafter(lax.stop_gradient(lower), _c(np.inf, dtype)), shape)
    hi = _to_shape(lax.nextafter(lax.stop_gradient(upper), _c(-np.inf, dtype)), shape)
    return lax.min(lax.max(out, lo), hi)


def bernoulli(key, p=0.5, shape=None, mode="low"):
    """Booleans that are True with probability p (the dtype of p sets the precision)."""
    if mode not in ("high", "low"):
        raise ValueError(f"got mode={mode!r}, expected 'high' or 'low'")
    words = _single_key(key, "bernoulli")
    p = p if isinstance(p, Array) else jnp.asarray(p)
    if not dtypes.is_float(p.dtype):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {p.dtype}.")
    shape = p.shape if shape is None else _shape(shape, "bernoulli")
    _check_shape("bernoulli", shape, p.shape)
    p = _to_shape(p, shape)
    if mode == "high":
        u = _uniform(words, (2,) + tuple(shape), p.dtype)
        u1, u2 = lax.index_in_dim(u, 0, keepdims=False), lax.index_in_dim(u, 1, keepdims=False)
        u2 = lax.mul(u2, _c(2.0 ** -dtypes.finfo(p.dtype).nmant, p.dtype))
        return lax.lt(u2, lax.sub(p, u1))
    return lax.lt(_uniform(words, shape, p.dtype), p)


def _gumbel(words, shape, dtype, mode):
    fi = dtypes.finfo(dtype)
    tiny = float(fi.tiny)
    if mode == "highest" and dtype == _F32:
        b = _random_bits(words, 32, (2,) + tuple(shape))
        neg = lax.bitwise_not(b)
        nhi, nlo = lax.index_in_dim(neg, 0, keepdims=False), lax.index_in_dim(neg, 1, keepdims=False)
        # 1 - bits in 64-bit fixed point: two's complement across the (hi, lo) words.
        carry = _cvt(lax.eq(nlo, 0xFFFFFFFF), _U32)
        neg = lax.concatenate([lax.expand_dims(lax.add(nhi, carry), (0,)), lax.expand_dims(lax.add(nlo, 1), (0,))], 0)
        flip = lax.lt(lax.index_in_dim(b, 0, keepdims=False), 2 ** 31)
        x = _u64_to_unit_float(lax.select(lax.broadcast(flip, (2,)), b, neg))
        return lax.select(flip, lax.neg(_log(lax.neg(_log1p(lax.neg(x))))), lax.neg(_log(lax.neg(_log(x)))))
    if mode in ("high", "highest"):
        u = _uniform(words, (2,) + tuple(shape), dtype)
        hi, lo = lax.index_in_dim(u, 0, keepdims=False), lax.index_in_dim(u, 1, keepdims=False)
        x = lax.select(lax.ge(hi, 0.5), hi, lax.add(lax.add(hi, lax.mul(lo, 2.0 ** -fi.nmant)), tiny))
        return lax.neg(_log(lax.neg(_log1p(lax.neg(x)))))
    # uniform(tiny, 1) is f*1 + tiny; XLA folds it to (bits - 1) + (tiny - 1 rounded), i.e. max(tiny, f),
    # which differs from f + tiny only in float16.
    u = lax.max(_uniform(words, shape, dtype), _c(tiny, dtype))
    return lax.neg(_log(lax.neg(_log(u))))


def _u64_to_unit_float(b):
    """uint32[2, ...] words (hi, lo) of a 64-bit fixed-point fraction -> float32 in (0, 1), with
    the exponent taken from the leading zeros so small values keep their precision."""
    hi, lo = lax.index_in_dim(b, 0, keepdims=False), lax.index_in_dim(b, 1, keepdims=False)
    hiclz, loclz = lax.clz(hi), lax.clz(lo)
    all_lo = lax.eq(hiclz, 32)
    from_lo = lax.select(all_lo, lax.shift_left(lo, loclz), lax.shift_right_logical(lo, lax.sub(32, hiclz)))
    mant = lax.bitwise_or(lax.shift_left(hi, hiclz), from_lo)
    mant = lax.bitwise_and(lax.shift_right_logical(mant, 8), (1 << 23) - 1)
    exp = lax.shift_left(lax.sub(126, lax.select(all_lo, lax.add(loclz, 32), hiclz)), 23)
    exp = lax.bitwise_and(exp, (1 << 30) - (1 << 22))
    return _bitcast(lax.bitwise_or(exp, mant), _F32)


def _gumbel_mode(mode):
    mode = "low" if mode is None else mode
    if mode not in ("highest", "high", "low"):
        raise ValueError(f"Must provide valid mode for gumbel got: {mode}")
    return mode


def gumbel(key, shape=(), dtype=None, mode=None):
    """Gumbel samples -log(-log(u)); mode 'high'/'highest' use more random bits."""
    words = _single_key(key, "gumbel")
    dtype = _float_dtype(dtype, "gumbel")
    return _gumbel(words, _shape(shape, "gumbel"), dtype, _gumbel_mode(mode))


def exponential(key, shape=(), dtype=None):
    """Exponential samples -log1p(-u)."""
    words = _single_key(key, "exponential")
    dtype = _float_dtype(dtype, "exponential")
    return lax.neg(_log1p(lax.neg(_uniform(words, _shape(shape, "exponential"), dtype))))


def categorical(key, logits, axis=-1, shape=None, replace=True, mode=None):
    """Samples of categorical distributions given by `logits` along `axis` (Gumbel-max; Gumbel
    top-k without replacement)."""
    words = _single_key(key, "categorical")
    logits = logits if isinstance(logits, Array) else jnp.asarray(logits)
    if logits.ndim == 0:
        raise ValueError("categorical: logits must have at least one dimension")
    axis = operator.index(axis)
    if not -logits.ndim <= axis < logits.ndim:
        raise ValueError(f"categorical: axis {axis} out of bounds for logits of shape {logits.shape}")
    axis %= logits.ndim
    batch_shape = tuple(d for i, d in enumerate(logits.shape) if i != axis)
    if shape is None:
        shape = batch_shape
    else:
        shape = _shape(shape, "categorical")
        _check_shape("categorical", shape, batch_shape)
    mode = _gumbel_mode(mode)
    prefix = shape[:len(shape) - len(batch_shape)]
    if replace:
        gshape = list(shape[len(prefix):])
        gshape.insert(axis, logits.shape[axis])
        g = _gumbel(words, tuple(prefix) + tuple(gshape), _float_dtype(logits.dtype, "categorical"), mode)
        lg = lax.broadcast(logits, tuple(prefix)) if prefix else logits
        lg = jnp.broadcast_to(lg, g.shape)
        return jnp.argmax(lax.add(g, lg), axis=len(prefix) + axis)
    k = int(np.prod(prefix, dtype=np.int64))
    if k > logits.shape[axis]:
        raise ValueError(f"Number of samples without replacement ({k}) cannot exceed number of categories "
                         f"({logits.shape[axis]}).")
    noisy = lax.add(logits, _gumbel(words, logits.shape, _float_dtype(logits.dtype, "categorical"), mode))
    _, idx = lax.top_k(jnp.moveaxis(noisy, axis, -1), k)
    return lax.reshape(lax.transpose(idx, (idx.ndim - 1,) + tuple(range(idx.ndim - 1))), shape)


# --- integer samplers (section 8) -----------------------------------------------------------
def _convert_and_clip(val, dtype):
    lo = max(int(dtypes.iinfo(dtype).min), int(dtypes.iinfo(val.dtype).min))
    hi = min(int(dtypes.iinfo(dtype).max), int(dtypes.iinfo(val.dtype).max))
    return _cvt(lax.clamp(_c(lo, val.dtype), val, _c(hi, val.dtype)), dtype)


def _int_operand(v):
    v = v if isinstance(v, Array) else jnp.asarray(v)
    return v if dtypes.is_int(v.dtype) else _cvt(v, dtypes.default_int_dtype())


def _randint(words, shape, minval, maxval, dtype):
    minval, maxval = _int_operand(minval), _int_operand(maxval)
    # maxval above the dtype's range (randint(k, s, 0, 256, uint8)) widens the span by one.
    top = _convert_and_clip(_c(dtypes.iinfo(dtype).max, dtype), maxval.dtype)
    out_of_range = _to_shape(lax.gt(maxval, top), shape)
    minval, maxval = (_to_shape(_convert_and_clip(v, dtype), shape) for v in (minval, maxval))
    nb = dtype.itemsize * 8
    ut = _UINT[nb]
    k1, k2 = _split2(words)
    hi, lo = _random_bits(k1, nb, shape), _random_bits(k2, nb, shape)
    span = _cvt(lax.sub(maxval, minval), ut)
    span = lax.select(lax.le(maxval, minval), lax.full_like(span, 1), span)
    span = lax.select(lax.bitwise_and(out_of_range, lax.gt(maxval, minval)), lax.add(span, 1), span)
    # 2**nb mod span from ((2**(nb/2) mod span)**2 mod 2**nb) mod span; the square wraps for
    # spans above 2**(nb/2) exactly as in JAX (the high word then adds nothing).
    mult = lax.rem(_c(2 ** (nb // 2), ut), span)
    mult = lax.rem(lax.mul(mult, mult), span)
    off = lax.rem(lax.add(lax.mul(lax.rem(hi, span), mult), lax.rem(lo, span)), span)
    return lax.add(minval, _cvt(off, dtype))


def randint(key, shape, minval, maxval, dtype=None):
    """Integers in [minval, maxval) (modulo-biased unless the span is a power of 2, as in JAX)."""
    words = _single_key(key, "randint")
    dtype = _dtype(dtype, "randint", int)
    if not dtypes.is_int(dtype):
        raise TypeError(f"randint only accepts integer dtypes, got {dtype}")
    shape = _shape(shape, "randint")
    _check_shape("randint", shape, np.shape(minval), np.shape(maxval))
    info = dtypes.iinfo(dtype)
    if info.bits < 32:
        # Narrow ints are drawn as int32 to keep the modulo bias small, then wrapped.
        i32 = np.dtype(np.int32)
        lo, hi = _c(int(info.min), i32), _c(int(info.max), i32)
        minval = lax.clamp(lo, _cvt(_int_operand(minval), i32), hi)
        maxval = lax.clamp(lo, _cvt(_int_operand(maxval), i32), lax.add(hi, 1))
        return _cvt(_randint(words, shape, minval, maxval, i32), dtype)
    return _randint(words, shape, minval, maxval, dtype)


def _shuffle(words, x, axis):
    # Stable sorts by fresh 32-bit keys; enough rounds that all keys differ with high probability.
    rounds = int(np.ceil(3 * np.log(max(1, x.size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        words, sub = _split2(words)
        order = lax.argsort(_random_bits(sub, 32, x.shape), axis)
        x = jnp.take_along_axis(x, order, axis)
    return x


def permutation(key, x, axis=0, independent=False):
    """A random permutation of arange(x) (x an int) or of x along `axis`."""
    words = _single_key(key, "permutation")
    if np.ndim(x) == 0 and not (isinstance(x, Array) and x.ndim):
        if not dtypes.is_int(np.asarray(x).dtype if not isinstance(x, Array) else x.dtype):
            raise TypeError("x must be an integer or at least 1-dimensional")
        return _shuffle(words, jnp.arange(operator.index(x)), 0)
    x = x if isinstance(x, Array) else jnp.asarray(x)
    axis = _axis(axis, x.ndim, "permutation")
    if independent or x.ndim == 1:
        return _shuffle(words, x, axis)
    return jnp.take(x, _shuffle(words, jnp.arange(x.shape[axis]), 0), axis)


def _axis(axis, ndim, name):
    axis = operator.index(axis)
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{name}: axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % max(ndim, 1)


def choice(key, a, shape=(), replace=True, p=None, axis=0, mode=None):
    """Samples from `a` (or arange(a)), with or without replacement, optionally weighted by p."""
    words = _single_key(key, "choice")
    if not isinstance(shape, Sequence):
        raise TypeError(f"shape argument of jax.random.choice must be a sequence, got {shape}")
    shape = _shape(shape, "choice")
    arr = a if isinstance(a, Array) else jnp.asarray(a)
    if arr.ndim == 0:
        n_inputs = operator.index(a)
    else:
        axis = _axis(axis, arr.ndim, "choice")
        n_inputs = arr.shape[axis]
    n_draws = int(np.prod(shape, dtype=np.int64))
    if n_draws == 0:
        return jnp.zeros(shape, dtype=arr.dtype)
    if n_inputs <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(f"Cannot take a larger sample (size {n_draws}) than population (size {n_inputs}) "
                         "when 'replace=False'")
    if p is None:
        if replace:
            ind = randint(words, shape, 0, n_inputs)
            result = ind if arr.ndim == 0 else jnp.take(arr, ind, axis)
        else:
            perm = permutation(words, n_inputs if arr.ndim == 0 else arr, axis)
            result = lax.slice_in_dim(perm, 0, n_draws, axis=axis if arr.ndim else 0)
    else:
        p = p if isinstance(p, Array) else jnp.asarray(p)
        if not dtypes.is_inexact(p.dtype):
            p = _cvt(p, dtypes.default_float_dtype())
        if p.shape != (n_inputs,):
            raise ValueError("p must be None or a 1D vector with the same size as a.shape[axis]. "
                             f"p has shape {p.shape} and a.shape[axis] is {n_inputs}.")
        if replace:
            c = lax.cumsum(p, 0)
            r = lax.mul(lax.index_in_dim(c, n_inputs - 1, keepdims=False),
                        lax.sub(_c(1, p.dtype), _uniform(words, shape, p.dtype)))
            ind = _cvt(jnp.searchsorted(c, r), dtypes.default_int_dtype())
        else:
            g = lax.add(_gumbel(words, (n_inputs,), p.dtype, _gumbel_mode(mode)), _log(p))
            ind = _cvt(lax.top_k(g, n_draws)[1], dtypes.default_int_dtype())
        result = ind if arr.ndim == 0 else jnp.take(arr, ind, axis)
    return lax.reshape(result, shape if arr.ndim == 0 else arr.shape[:axis] + shape + arr.shape[axis + 1:])
