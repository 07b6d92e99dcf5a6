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

The other distributions follow JAX's algorithms step for step (gamma: Marsaglia-Tsang with one key
and one rejection loop per element; poisson: Knuth below 10, transformed rejection above; binomial:
inversion or BTRS) and reproduce the rest of what XLA CPU computes: its exp kernels, its float32
rsqrt (the x86 RSQRTSS estimate, an Intel table, plus Newton steps), its simplifier's rewrites
(a / sqrt(b), division by a broadcast, (a/b)/(c/d)), its fma contractions and its reduction order.
tests/test_random_distributions.py lists what is not bit for bit: tan and pow (glibc's tanf/powf,
taken here from float64), multivariate_normal and orthogonal (LAPACK), and dirichlet over 4096 or
more values (XLA hands that exp and sum to YNNPACK, whose kernels are not modelled).

`jax_threefry_partitionable` (default True, as in JAX >= 0.5) picks the counter layout; set it to
False with `gpuxla.config.update` to get the numbers of JAX < 0.5 (and of old tutorials).
"""
import functools
import inspect
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
    """The dtype of typed keys: prints as JAX's `key<fry>`; `jnp.issubdtype(d, jax.dtypes.prng_key)`."""
    name = "key<fry>"
    itemsize = 8
    type = dtypes.prng_key

    def __repr__(self):
        return self.name

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, _KeyDtype) or other == self.name

    def __hash__(self):
        return hash(self.name)


KEY_DTYPE = _KeyDtype()


class KeyAval:
    """The abstract value of typed keys (`jax.typeof(key)`): shape and the key dtype."""
    __slots__ = ("shape",)
    dtype, weak_type = KEY_DTYPE, False

    def __init__(self, shape):
        self.shape = tuple(shape)

    ndim = property(lambda self: len(self.shape))

    def to_tangent_aval(self):
        return graph.Aval(self.shape, dtypes.float0)

    def __eq__(self, other):
        return isinstance(other, KeyAval) and other.shape == self.shape

    def __hash__(self):
        return hash(("key", self.shape))

    def str_short(self):
        return f"key<fry>[{','.join(map(str, self.shape))}]"

    __repr__ = __str__ = str_short


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
    gpuxla_aval = property(lambda self: KeyAval(self.shape))     # jax.typeof(key)

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


def key_dtype(impl=None):
    """The dtype of typed keys (key<fry>)."""
    _check_impl(impl)
    return KEY_DTYPE


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


# --- more of XLA CPU's float kernels: exp ---------------------------------------------------
_EXP_P32 = [_f32(b) for b in (0x39506967, 0x3AB743CE, 0x3C088908, 0x3D2AA9C1, 0x3E2AAAAA, 0x3F000000)]
_EXP_P64 = [_f64(b) for b in (0x3F2089CDD5E44BE8, 0x3F9F06D10CCA2C7E)] + [1.0]
_EXP_Q64 = [_f64(b) for b in (0x3EC92EB6BC365FA0, 0x3F64AE39B508B6C0, 0x3FCD17099887E074)] + [2.0]


def _full(x, value, dtype=None):
    """An array of x's shape filled with value, in x's dtype (or `dtype`) exactly: unlike
    lax.full_like it never canonicalizes, so float64 kernels work inside x32 programs too."""
    return lax.broadcast_in_dim(_c(value, x.dtype if dtype is None else dtype), x.shape, ())


def _flush(x):
    """XLA CPU runs with denormals flushed to zero: a subnormal kernel result comes out as 0."""
    return lax.select(lax.lt(lax.abs(x), _c(dtypes.finfo(x.dtype).tiny, x.dtype)), _full(x, 0), x)


def _exp32(x):
    """XLA CPU's float32 exp (Cephes expf: round to n = floor(x*log2(e) + 1/2), reduce by n*ln2 in
    two parts, degree-5 polynomial, scale by 2**n), with the multiply-adds contracted to fmas."""
    x = _eager_values(x)
    xc = lax.min(lax.max(x, _c(-87.8, _F32)), _c(88.8, _F32))
    n = lax.clamp(_c(-127.0, _F32), lax.floor(_fma(xc, _f32(0x3FB8AA3B), 0.5)), _c(127.0, _F32))
    r = _fma(lax.neg(n), _f32(0xB95E8083), _fma(lax.neg(n), _f32(0x3F318000), xc))
    r = _eager_values(r)
    y = lax.add(_fma(_horner(_EXP_P32, r), lax.mul(r, r), r), 1.0)
    scale = _bitcast(lax.shift_left(lax.add(_cvt(n, np.int32), 127), 23), _F32)
    return _flush(lax.mul(y, scale))


def _exp64(x):
    """XLA CPU's float64 exp (Cephes exp: a Pade form 1 + 2 g P(g^2) / (Q(g^2) - g P(g^2)), scaled
    by 2**n as three factors of 2**(n >> 2) and one of the rest, so that no factor overflows)."""
    x = _eager_values(x)
    lo, hi = _f64(0xC086232BDD7ABCD2), _f64(0x40862E42FEFA39EF)
    xc = lax.max(lax.min(x, _c(hi, _F64)), _c(lo, _F64))
    n = lax.floor(_fma(xc, _f64(0x3FF71547652B82FE), 0.5))
    g = _fma(lax.neg(n), _f64(0x3EB7F7D1CF79ABCA), _fma(lax.neg(n), _f64(0x3FE62E4000000000), xc))
    g = _eager_values(g)
    gg = lax.mul(g, g)
    pg = lax.mul(_horner(_EXP_P64, gg), g)
    r = lax.div(pg, lax.sub(_horner(_EXP_Q64, gg), pg))
    e = _fma(r, 2.0, 1.0)
    ni = _cvt(lax.clamp(_c(-2099, np.int32), _cvt(n, np.int32), _c(2099, np.int32)), np.int64)
    b = lax.shift_right_arithmetic(ni, 2)
    one = 0x3FF0000000000000
    f1 = _bitcast(lax.add(lax.shift_left(b, 52), one), _F64)
    f2 = _bitcast(lax.add(lax.shift_left(lax.sub(ni, lax.mul(b, 3)), 52), one), _F64)
    out = lax.mul(lax.mul(lax.mul(lax.mul(e, f1), f1), f1), f2)
    out = lax.select(lax.lt(x, lo), _full(out, 0), out)
    return _flush(lax.select(lax.gt(x, hi), _full(out, np.inf), out))


@_differentiable(lambda out, x, t: lax.mul(t, out))
def _exp(x):
    """exp as XLA CPU computes it (its own float32 and float64 kernels; 16-bit through float32)."""
    if x.dtype == _F32:
        return _exp32(x)
    if x.dtype == _F64:
        return _exp64(x)
    if x.dtype in _LOW:
        return _cvt(_exp32(_cvt(x, _F32)), x.dtype)
    return lax.exp(x)


def _libm(fn, *xs):
    """tan and pow: XLA CPU calls the host libm (glibc's tanf/powf for float32). Without that
    library here, float32 is computed in float64 and rounded once, which is within an ulp of
    glibc and equal to it on almost every input (measured in tests/test_random_distributions.py)."""
    dt = xs[0].dtype
    if dt == _F32 or dt in _LOW:
        return _cvt(fn(*(_cvt(x, _F64) for x in xs)), dt)
    return fn(*xs)


# XLA CPU computes float32 rsqrt as the x86 RSQRTSS estimate refined by two Newton steps, and its
# simplifier turns `a / sqrt(b)` into `a * rsqrt(b)` (gamma's c = 1/3 / sqrt(d)). The estimate is a
# table lookup on Intel CPUs: for x = m * 4**k (m in [1, 4)) it is T[m] / 2**k, T indexed by the top
# 11 bits of m's (exponent parity, mantissa) and holding 12-bit mantissas. The table below was read
# from RSQRTSS on the Intel Xeon that recorded the JAX reference vectors (exhaustively over [1, 4),
# then checked scale-invariant on 2e7 random floats), stored as the zlib'd decreasing steps from
# 4096. AMD CPUs have a different table, so JAX itself gives other gamma samples there.
_RSQRTSS_STEPS = ("eNqdkkEOAyEMA0Xo/9/cqtqFOLZDu0DsCeeJVzqz0oRIQy/HKri57kg9kdakgNyN6E8IjlzBUWaXetBcBdNlNEF4PaSC30Go"
                  "cWWp1RsAzUd/RvcxmIavlC4AzLgSS3oN8iJ5VQJa7Nfnnj8rcIUQHk03nkvTq+LK8io02zytxbP31+lbHZ2PdR2MI56r+YuN"
                  "jYP/ucfakVjaM+kaoygTohH1U4ut4xiQQSiyrdUdAALjInb/eThvB3IQAA==")


def _rsqrtss_table():
    import base64
    import zlib
    steps = np.frombuffer(zlib.decompress(base64.b64decode(_RSQRTSS_STEPS)), np.uint8).astype(np.uint32)
    return (4096 - np.cumsum(steps)).astype(np.uint32)


def _rsqrt32(x):
    """XLA CPU's float32 rsqrt: the RSQRTSS estimate, then two Newton steps y += (-y/2)(x y y - 1)
    with their multiply-adds contracted; zeros, infinities, negatives and subnormals (flushed to
    zero) keep the estimate itself (inf, 0, NaN, inf)."""
    x = _eager_values(x)
    b = _bitcast(x, _U32)
    e = lax.sub(_cvt(lax.shift_right_logical(b, 23), np.int32), 127)
    k = lax.shift_right_arithmetic(e, 1)
    idx = lax.bitwise_or(lax.shift_left(lax.bitwise_and(e, 1), 10),
                         _cvt(lax.shift_right_logical(lax.bitwise_and(b, 0x7FFFFF), 13), np.int32))
    mant = jnp.take(_c(_rsqrtss_table(), _U32), idx, mode="clip")
    y = _bitcast(lax.bitwise_or(lax.shift_left(_cvt(lax.sub(126, k), _U32), 23), lax.shift_left(mant, 11)), _F32)
    for _ in range(2):
        y = _fma(lax.mul(y, -0.5), _fma(lax.mul(x, y), y, -1.0), y)
    normal = lax.bitwise_and(lax.ge(x, _c(np.finfo(np.float32).tiny, _F32)), lax.lt(x, np.inf))
    special = lax.select(lax.le(x, _c(np.finfo(np.float32).tiny, _F32)),
                         lax.select(lax.lt(x, 0.0), _c(np.nan, _F32), _c(np.inf, _F32)), _c(0.0, _F32))
    special = lax.select(lax.bitwise_and(lax.ge(x, 0.0), lax.lt(x, _c(np.finfo(np.float32).tiny, _F32))),
                         _c(np.inf, _F32), special)
    return lax.select(lax.bitwise_or(normal, lax.ne(x, x)), y, _full(x, 0) + special)


def _rsqrt(x):
    return _rsqrt32(x) if x.dtype == _F32 else lax.div(_c(1.0, x.dtype), lax.sqrt(x))


# --- batched keys: one key per element, as JAX's vmapped per-sample loops use ---------------
def _bhash(k0, k1, c0, c1):
    """hash of every key (k0[i], k1[i]) with the constant counter pair (c0, c1)."""
    return _hash(k0, k1, _full(k0, c0), _full(k0, c1))


def _bsplit(k0, k1, num):
    """split(key_i, num) for every key at once: a list of `num` (k0, k1) pairs."""
    if _partitionable():
        return [_bhash(k0, k1, 0, i) for i in range(num)]
    # Legacy layout: the flat pairing of iota(2 num) hashes pairs (j, num + j) for j < num.
    ys = [_bhash(k0, k1, j, num + j) for j in range(num)]
    words = [y[0] for y in ys] + [y[1] for y in ys]
    return [(words[2 * i], words[2 * i + 1]) for i in range(num)]


def _bbits32(k0, k1):
    """bits(key_i, (), uint32) for every key."""
    y0, y1 = _bhash(k0, k1, 0, 0)
    return lax.bitwise_xor(y0, y1) if _partitionable() else y0


def _bunit(k0, k1, dtype):
    """uniform(key_i, (), dtype) in [0, 1) for every key (float32/float64)."""
    if dtype == _F64:
        # Legacy layout: one 64-bit value is the two words of the pair (0, 1), high word first.
        y0, y1 = _bhash(k0, k1, 0, 0 if _partitionable() else 1)
        b = lax.bitwise_or(lax.shift_left(_cvt(y0, _U64), 32), _cvt(y1, _U64))
        m = lax.bitwise_or(lax.shift_right_logical(b, 12), _c(0x3FF0000000000000, _U64))
    else:
        m = lax.bitwise_or(lax.shift_right_logical(_bbits32(k0, k1), 9), _c(0x3F800000, _U32))
    return lax.sub(_bitcast(m, dtype), _c(1.0, dtype))


def _bnormal(k0, k1, dtype):
    """normal(key_i, (), dtype) for every key."""
    lo = -1.0 + 2.0 ** -(dtypes.finfo(dtype).nmant + 1)
    u = lax.add(lax.mul(_bunit(k0, k1, dtype), 2.0), _c(lo, dtype))   # exact, as in _uniform
    return lax.mul(_sqrt2(dtype), _erf_inv(u))


# --- gamma family (Marsaglia-Tsang, one rejection loop per element as JAX's vmapped loop) -------
def _while_any(cond_each, body, state):
    """Run `body` on the elements where `cond_each(state)` holds until it holds nowhere: JAX's
    batched while_loop, which updates an element only while its own predicate is true."""
    def step(s):
        keep = cond_each(s)
        new = body(s)
        return tuple(lax.select(_to_shape(keep, o.shape) if o.ndim != keep.ndim else keep, n, o)
                     for n, o in zip(new, s))
    return lax.while_loop(lambda s: jnp.any(cond_each(s)), step, tuple(state))


def _gamma_flat(k0, k1, alpha, log_space):
    """One gamma (or log-gamma) sample per (key_i, alpha_i), all 1-D: JAX's `_gamma_one`."""
    dt = alpha.dtype
    if dt not in (_F32, _F64):
        raise NotImplementedError(f"random.gamma (and the samplers built on it) for dtype {dt.name} is not "
                                  "implemented in gpuxla; use float32 or float64")
    one, third = _c(1.0, dt), _c(1.0 / 3.0, dt)
    boost = lax.ge(alpha, one)
    alpha_b = lax.select(boost, alpha, lax.add(alpha, one))
    d = lax.sub(alpha_b, third)
    c = lax.mul(third, _rsqrt(d))   # XLA's rewrite of third / sqrt(d)
    (k0, k1), (s0, s1) = _bsplit(k0, k1, 2)

    def again(s):
        _, _, X, V, U = s
        # 1 - 0.0331 X^2 is one fma on XLA CPU; X/2 + d(...) is a plain add (X/2 is exact).
        squeeze = lax.ge(U, _fma(lax.mul(X, X), _c(-0.0331, dt), one))
        return lax.bitwise_and(squeeze, lax.ge(_log(U), lax.add(lax.mul(X, 0.5), lax.mul(
            d, lax.add(lax.sub(one, V), _log(V))))))

    def draw(s):
        (n0, n1), (x0, x1), (u0, u1) = _bsplit(s[0], s[1], 3)

        def next_x(t):
            (m0, m1), (q0, q1) = _bsplit(t[0], t[1], 2)
            x = _bnormal(q0, q1, dt)
            return m0, m1, x, _fma(x, c, one)
        _, _, x, v = _while_any(lambda t: lax.le(t[3], 0.0), next_x,
                                (x0, x1, _full(alpha, 0), _full(alpha, -1)))
        return n0, n1, lax.mul(x, x), lax.mul(lax.mul(v, v), v), _bunit(u0, u1, dt)

    zero = _full(alpha, 0)
    V = _while_any(again, draw, (k0, k1, zero, _full(alpha, 1), _full(alpha, 2)))[3]
    if log_space:
        log_u = _log1p(lax.neg(_bunit(s0, s1, dt)))       # -exponential(subkey)
        log_boost = lax.select(lax.bitwise_or(boost, lax.eq(log_u, 0.0)), zero,
                               lax.mul(log_u, lax.div(one, alpha)))
        return lax.add(lax.add(_log(d), _log(V)), log_boost)
    u = lax.sub(one, _bunit(s0, s1, dt))
    return lax.mul(lax.mul(d, V), lax.select(boost, _full(alpha, 1), _libm(lax.pow, u, lax.div(one, alpha))))


def _gamma_draw_impl(words, a, log_space):
    n = a.size
    if n == 0:
        return a
    keys = _split_words(words, (n,))
    k0, k1 = (lax.reshape(lax.slice_in_dim(keys, i, i + 1, axis=1), (n,)) for i in range(2))
    return lax.reshape(_gamma_flat(k0, k1, lax.reshape(a, (n,)), log_space), a.shape)


_gamma_draw = custom_jvp(_gamma_draw_impl, nondiff_argnums=(2,))


@_gamma_draw.defjvp
def _gamma_jvp(log_space, primals, tangents):
    """The implicit reparameterization gradient, as JAX: a sample moves with a so that its quantile
    P(a, x) stays fixed, dx/da = lax.random_gamma_grad(a, x); log-space samples divide it by x."""
    words, a = primals
    out = _gamma_draw(words, a, log_space)
    ta = tangents[1]
    if log_space:
        x = lax.exp(out)
        x = lax.select(lax.eq(x, 0.0), _full(x, dtypes.finfo(x.dtype).tiny), x)
        d = lax.div(lax.random_gamma_grad(a, x), x)
    else:
        d = lax.random_gamma_grad(a, out)
    return out, (None if ta is None else lax.mul(ta, d))


def _param(v, dtype, shape):
    """A distribution parameter converted to `dtype` and broadcast to `shape`."""
    v = _cvt(v if isinstance(v, Array) else jnp.asarray(v), dtype)
    return v if v.shape == tuple(shape) else jnp.broadcast_to(v, shape)


def _safe_cast(name, dtype, *args):
    for v in args:
        src = dtypes.canonicalize_dtype(v.dtype if isinstance(v, (Array, np.ndarray, np.generic))
                                        else np.asarray(v).dtype)
        weak = isinstance(v, (bool, int, float)) or (isinstance(v, Array) and v.weak_type)
        bad = dtypes.is_complex(src) and not dtypes.is_complex(dtype)
        if not weak and not bad and dtypes.is_float(src) and src.itemsize > dtype.itemsize:
            bad = True
        if bad:
            raise dtypes.TypePromotionError(f"In arguments to {name}, cannot safely cast argument of type "
                                            f"{np.dtype(src).name} to {np.dtype(dtype).name}")


def _div_param(x, v, dtype):
    """x / v for a parameter v that JAX broadcasts to x's shape: XLA's simplifier turns a division
    by a broadcast into a multiplication by the broadcast reciprocal (one division per value of v)."""
    v = _cvt(v if isinstance(v, Array) else jnp.asarray(v), dtype)
    if v.shape == x.shape:
        return lax.div(x, v)
    return lax.mul(x, jnp.broadcast_to(lax.div(_c(1.0, dtype), v), x.shape))


def _param_shape(name, shape, *params):
    if shape is None:
        try:
            return tuple(np.broadcast_shapes(*(np.shape(p) for p in params)))
        except ValueError:
            raise ValueError(f"{name}: Incompatible shapes for broadcasting: shapes="
                             f"{[tuple(np.shape(p)) for p in params]}") from None
    shape = _shape(shape, name)
    _check_shape(name, shape, *(np.shape(p) for p in params))
    return shape


def _gamma(name, key, a, shape, dtype, log_space):
    words = _single_key(key, name)
    dtype = _float_dtype(dtype, name if name != "loggamma" else "gamma")
    shape = _param_shape(name, shape, a)
    return _gamma_draw(words, _param(a, dtype, shape), log_space)


def gamma(key, a, shape=None, dtype=None):
    """Standard gamma samples (shape parameter a, unit scale): Marsaglia-Tsang rejection, one loop
    per element with its own key, as JAX; a < 1 is boosted through Gamma(a + 1) * U**(1/a)."""
    return _gamma("gamma", key, a, shape, dtype, False)


def loggamma(key, a, shape=None, dtype=None):
    """log of gamma samples, computed in log space (accurate for small a)."""
    return _gamma("loggamma", key, a, shape, dtype, True)


def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) samples: Ga / (Ga + Gb) from two log-gamma draws."""
    words = _single_key(key, "beta")
    dtype = _float_dtype(dtype, "beta")
    _safe_cast("beta", dtype, a, b)
    shape = _param_shape("beta", shape, a, b)
    ka, kb = _split2(words)
    lga = _gamma_draw(ka, _param(a, dtype, shape), True)
    lgb = _gamma_draw(kb, _param(b, dtype, shape), True)
    top = lax.max(lga, lgb)
    ga, gb = _exp(lax.sub(lga, top)), _exp(lax.sub(lgb, top))
    return lax.div(ga, lax.add(ga, gb))


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) samples over the last axis: a softmax of log-gamma draws."""
    words = _single_key(key, "dirichlet")
    dtype = _float_dtype(dtype, "dirichlet")
    if np.ndim(alpha) < 1:
        raise ValueError(f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == {np.ndim(alpha)}")
    batch = np.shape(alpha)[:-1]
    if shape is None:
        shape = batch
    else:
        shape = _shape(shape, "dirichlet")
        _check_shape("dirichlet", shape, batch)
    full = tuple(shape) + np.shape(alpha)[-1:]
    lg = _gamma_draw(words, _param(alpha, dtype, full), True)
    e = _exp(lg - lax.stop_gradient(jnp.max(lg, axis=-1, keepdims=True)))
    total = _row_sum(_columns(e), e.size) if e.shape[-1] <= 8 else jnp.sum(e, axis=-1)
    return _div_param(e, lax.expand_dims(total, (e.ndim - 1,)), dtype)


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square samples: 2 * exp(loggamma(df / 2))."""
    words = _single_key(key, "chisquare")
    dtype = _float_dtype(dtype, "chisquare")
    shape = _param_shape("chisquare", shape, df)
    _safe_cast("chisquare", dtype, df)
    return _chisquare(words, _param(df, dtype, shape))


def _chisquare(words, df):
    return lax.mul(_exp(_gamma_draw(words, lax.mul(df, 0.5), True)), 2.0)


def t(key, df, shape=None, dtype=None):
    """Student's t samples: normal * sqrt((df/2) / gamma(df/2))."""
    words = _single_key(key, "t")
    dtype = _float_dtype(dtype, "t")
    shape = _param_shape("t", shape, df)
    _safe_cast("t", dtype, df)
    kn, kg = _split2(words)
    n = _normal_real(kn, shape, dtype)
    half = lax.mul(_param(df, dtype, shape), 0.5)
    g = _gamma_draw(kg, half, False)
    return lax.mul(n, lax.sqrt(lax.div(half, g)))


def f(key, dfnum, dfden, shape=None, dtype=None):
    """F-distribution samples: (chi2(dfnum) / dfnum) / (chi2(dfden) / dfden)."""
    words = _single_key(key, "f")
    dtype = _float_dtype(dtype, "f")
    shape = _param_shape("f", shape, dfnum, dfden)
    _safe_cast("f", dtype, dfnum, dfden)
    kd, kn = _split2(words)
    dn, dd = _param(dfnum, dtype, shape), _param(dfden, dtype, shape)
    # XLA's simplifier rewrites (a / b) / (c / d) as (a * d) / (b * c).
    return lax.div(lax.mul(_chisquare(kn, dn), dd), lax.mul(dn, _chisquare(kd, dd)))


def generalized_normal(key, p, shape=(), dtype=None):
    """Generalized normal samples with exponent p: sign * gamma(1/p) ** (1/p)."""
    words = _single_key(key, "generalized_normal")
    dtype = _float_dtype(dtype, "generalized_normal")
    return _generalized_normal(words, p, _shape(shape, "generalized_normal"), dtype)


def _generalized_normal(words, p, shape, dtype):
    k1, k2 = _split2(words)
    inv = 1 / p if not isinstance(p, Array) else lax.div(_c(1, p.dtype), p)
    g = _gamma_draw(k1, _param(inv, dtype, shape), False)
    r = _rademacher(k2, shape, dtype)
    return lax.mul(r, _libm(lax.pow, g, _param(inv, dtype, shape)))


def ball(key, d, p=2, shape=(), dtype=None):
    """Uniform samples from the unit Lp ball in d dimensions, shape (*shape, d)."""
    words = _single_key(key, "ball")
    dtype = _float_dtype(dtype, "ball")
    shape = _shape(shape, "ball")
    d = operator.index(d)
    k1, k2 = _split2(words)
    g = _generalized_normal(k1, p, shape + (d,), dtype)
    e = lax.neg(_log1p(lax.neg(_uniform(k2, shape, dtype))))
    ag = lax.abs(g)
    powed = lax.integer_pow(ag, p) if isinstance(p, int) else _libm(lax.pow, ag, _param(p, dtype, ag.shape))
    s = lax.add(_row_sum(_columns(powed), powed.size), e)
    # XLA rewrites g / pow(s, 1/p) as g * pow(s, -1/p).
    r = _libm(lax.pow, s, lax.neg(_param(1 / p, dtype, s.shape)))
    return lax.mul(g, jnp.broadcast_to(lax.expand_dims(r, (s.ndim,)), g.shape))


# --- simple transforms of uniform / normal draws ------------------------------------------------
def laplace(key, shape=(), dtype=None):
    """Laplace samples: sign(u) * log1p(-|u|), u uniform on (-1, 1)."""
    words = _single_key(key, "laplace")
    dtype = _float_dtype(dtype, "laplace")
    lo = -1.0 + float(dtypes.finfo(dtype).epsneg)
    u = _uniform(words, _shape(shape, "laplace"), dtype, lo, 1.0)
    return lax.mul(lax.sign(u), _log1p(lax.neg(lax.abs(u))))


def logistic(key, shape=(), dtype=None):
    """Logistic samples: log(u) - log1p(-u)."""
    words = _single_key(key, "logistic")
    dtype = _float_dtype(dtype, "logistic")
    # As in gumbel: XLA folds uniform(tiny, 1) to max(tiny, u).
    x = lax.max(_uniform(words, _shape(shape, "logistic"), dtype), _c(dtypes.finfo(dtype).tiny, dtype))
    return lax.sub(_log(x), _log1p(lax.neg(x)))


def cauchy(key, shape=(), dtype=None):
    """Cauchy samples: tan(pi * (u - 1/2)), u uniform on [eps, 1)."""
    words = _single_key(key, "cauchy")
    dtype = _float_dtype(dtype, "cauchy")
    u = _uniform(words, _shape(shape, "cauchy"), dtype, float(dtypes.finfo(dtype).eps), 1.0)
    return _libm(lax.tan, lax.mul(_c(np.pi, dtype), lax.sub(u, 0.5)))


def lognormal(key, sigma=np.float32(1), shape=None, dtype=None):
    """Log-normal samples exp(sigma * normal)."""
    words = _single_key(key, "lognormal")
    dtype = _dtype(dtype, "lognormal", float)
    if not dtypes.is_inexact(dtype):
        raise ValueError(f"dtype argument to `lognormal` must be a float or complex dtype, got {dtype}")
    if dtypes.is_complex(dtype):
        raise NotImplementedError("random.lognormal with a complex dtype is not implemented in gpuxla")
    shape = _param_shape("lognormal", shape, sigma)
    _safe_cast("lognormal", dtype, sigma)
    return _exp(lax.mul(_normal_real(words, shape, dtype), _param(sigma, dtype, shape)))


def _row_sum(terms, size, roots=None):
    """XLA CPU's sum along a short last axis (the terms are its columns), in the order its code
    takes: for a reduced operand of fewer than 4096 elements, sequential, and with `roots` (a sum
    of squares) each `acc + x*x` contracted into an fma, the first pair as fma(x0, x0, x1*x1) in
    float32 and fma(x1, x1, x0*x0) in float64; from 4096 elements on (where XLA hands the reduction
    to YNNPACK), two interleaved partial sums (x0 + x2 + ...) + (x1 + x3 + ...) without fmas.
    Measured against JAX's maxwell and softmax for 3 and 4 columns, on both sides of the threshold."""
    if size >= 4096:
        even, odd = terms[0::2], terms[1::2]
        acc = even[0]
        for x in even[1:]:
            acc = lax.add(acc, x)
        if odd:
            acc2 = odd[0]
            for x in odd[1:]:
                acc2 = lax.add(acc2, x)
            acc = lax.add(acc, acc2)
        return acc
    if roots is None or len(terms) < 2:
        acc = terms[0]
        for x in terms[1:]:
            acc = lax.add(acc, x)
        return acc
    first, second = (0, 1) if roots[0].dtype != _F64 else (1, 0)
    acc = _fma(roots[first], roots[first], terms[second])
    for r in roots[2:]:
        acc = _fma(r, r, acc)
    return acc


def _columns(x):
    return [lax.index_in_dim(x, i, axis=x.ndim - 1, keepdims=False) for i in range(x.shape[-1])]


def maxwell(key, shape=(), dtype=None):
    """Maxwell samples: the norm of three standard normals."""
    words = _single_key(key, "maxwell")
    dtype = _float_dtype(dtype, "maxwell")
    return _maxwell(words, _shape(shape, "maxwell"), dtype)


def _maxwell(words, shape, dtype):
    x = _normal_real(words, tuple(shape) + (3,), dtype)
    xs = _columns(x)
    return lax.sqrt(_row_sum([lax.mul(v, v) for v in xs], x.size, xs))


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Double-sided Maxwell samples: random sign * maxwell * scale + loc."""
    words = _single_key(key, "double_sided_maxwell")
    dtype = _float_dtype(dtype, "double_sided_maxwell")
    shape = _shape(shape, "double_sided_maxwell")
    params = tuple(np.broadcast_shapes(np.shape(loc), np.shape(scale)))
    shape = (shape or params) + params
    km, kr = _split2(words)
    m = _maxwell(km, shape, dtype)
    r = _rademacher(kr, shape, dtype)
    return lax.add(lax.mul(lax.mul(r, m), _param(scale, dtype, shape)), _param(loc, dtype, shape))


def pareto(key, b, shape=None, dtype=None):
    """Pareto samples exp(e / b), e exponential."""
    words = _single_key(key, "pareto")
    dtype = _float_dtype(dtype, "pareto")
    shape = _param_shape("pareto", shape, b)
    _safe_cast("pareto", dtype, b)
    e = lax.neg(_log1p(lax.neg(_uniform(words, shape, dtype))))
    return _exp(_div_param(e, b, dtype))


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull samples: (-log1p(-u)) ** (1 / concentration) * scale."""
    words = _single_key(key, "weibull_min")
    dtype = _float_dtype(dtype, "weibull_min")
    shape = _shape(shape, "weibull_min")
    e = lax.neg(_log1p(lax.neg(_uniform(words, shape, dtype))))
    inv = 1.0 / concentration if not isinstance(concentration, Array) else lax.div(1.0, concentration)
    out = lax.mul(_libm(lax.pow, e, _param(inv, dtype, shape)), _param(scale, dtype, shape))
    return out


def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh samples scale * sqrt(-2 log u)."""
    words = _single_key(key, "rayleigh")
    dtype = _float_dtype(dtype, "rayleigh")
    shape = _param_shape("rayleigh", shape, scale)
    _safe_cast("rayleigh", dtype, scale)
    u = _uniform(words, shape, dtype)
    return lax.mul(_param(scale, dtype, shape), lax.sqrt(lax.mul(_log(u), -2.0)))


def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian) samples by Michael, Schucany and Haas' transformation."""
    words = _single_key(key, "wald")
    dtype = _float_dtype(dtype, "wald")
    shape = _param_shape("wald", shape, mean)
    _safe_cast("wald", dtype, mean)
    k1, k2 = _split2(words)
    mu = _param(mean, dtype, shape)
    v = _normal_real(k1, shape, dtype)
    z = _uniform(k2, shape, dtype)
    y = lax.mul(v, v)
    mu2 = lax.mul(mu, mu)
    # XLA CPU contracts a*b + c*d into fma(a, b, c*d) and the / 2 become * 0.5.
    root = lax.sqrt(_fma(lax.mul(mu, 4.0), y, lax.mul(mu2, lax.mul(y, y))))
    x = _fma(lax.neg(lax.mul(mu, 0.5)), root, _fma(lax.mul(mu2, y), 0.5, mu))
    return lax.select(lax.le(z, lax.div(mu, lax.add(mu, x))), x, lax.div(mu2, x))


def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular samples on [left, right] peaking at mode (inverse CDF)."""
    words = _single_key(key, "triangular")
    dtype = _float_dtype(dtype, "triangular")
    shape = _param_shape("triangular", shape, left, mode, right)
    _safe_cast("triangular", dtype, left, mode, right)
    lo, m, hi = (_param(v, dtype, shape) for v in (left, mode, right))
    fc = lax.div(lax.sub(m, lo), lax.sub(hi, lo))
    u = _uniform(words, shape, dtype)
    out1 = lax.add(lo, lax.sqrt(lax.mul(lax.mul(u, lax.sub(hi, lo)), lax.sub(m, lo))))
    out2 = lax.sub(hi, lax.sqrt(lax.mul(lax.mul(lax.sub(1.0, u), lax.sub(hi, lo)), lax.sub(hi, m))))
    return lax.select(lax.lt(u, fc), out1, out2)


def rademacher(key, shape=(), dtype=None):
    """Random signs: -1 or +1 with equal probability (integer dtype by default)."""
    words = _single_key(key, "rademacher")
    dtype = _dtype(dtype, "rademacher", int)
    return _rademacher(words, _shape(shape, "rademacher"), dtype)


def _rademacher(words, shape, dtype):
    # bernoulli(key, 0.5): the Python float p has the default float dtype (float64 under x64).
    fd = dtypes.default_float_dtype()
    b = _cvt(lax.lt(_uniform(words, shape, fd), _c(0.5, fd)), dtype)
    return lax.sub(lax.mul(b, _c(2, dtype)), _c(1, dtype))


def geometric(key, p, shape=None, dtype=None):
    """Geometric samples (number of trials to the first success), integer dtype."""
    words = _single_key(key, "geometric")
    dtype = _dtype(dtype, "geometric", int)
    if not dtypes.is_int(dtype):
        raise ValueError(f"dtype argument to `geometric` must be an int dtype, got {dtype}")
    shape = _param_shape("geometric", shape, p)
    p = p if isinstance(p, Array) else jnp.asarray(p)
    if not dtypes.is_inexact(p.dtype):
        p = _cvt(p, dtypes.default_float_dtype())
    u = _uniform(words, shape, p.dtype)
    u = lax.select(lax.eq(u, 0.0), _full(u, 1), u)
    return _cvt(lax.add(lax.floor(_div_param(_log(u), _log1p(lax.neg(p)), p.dtype)), 1.0), dtype)


# --- discrete samplers with rejection loops ------------------------------------------------------
def _split_n(words, n):
    keys = _split_words(words, (n,))
    return [lax.index_in_dim(keys, i, keepdims=False) for i in range(n)]


def _poisson_knuth(words, lam, shape):
    """Knuth: count uniforms until their product falls below exp(-lam); one key per step for all."""
    def body(s):
        i, k, w, logp = s
        w, sub = _split2(w)
        k = lax.select(lax.gt(logp, lax.neg(lam)), lax.add(k, 1.0), k)
        return lax.add(i, 1), k, w, lax.add(logp, _log(_uniform(sub, shape, _F32)))
    init = (_c(0, np.int32), _full(lam, 0), words, _full(lam, 0))
    k = lax.while_loop(lambda s: jnp.any(lax.gt(s[3], lax.neg(lam))), body, init)[1]
    return lax.sub(k, 1.0)


def _poisson_rejection(words, lam, shape):
    """Hormann's transformed rejection (PTRS); later acceptances overwrite earlier ones, as in JAX."""
    log_lam = _log(lam)
    b = _fma(lax.sqrt(lam), 2.53, 0.931)
    a = _fma(b, 0.02483, -0.059)
    inv_alpha = lax.add(lax.div(1.1328, lax.sub(b, 3.4)), 1.1239)
    v_r = lax.sub(0.9277, lax.div(3.6224, lax.sub(b, 2.0)))

    def body(s):
        i, k_out, accepted, w = s
        w, k0, k1 = _split_n(w, 3)
        u = lax.sub(_uniform(k0, shape, _F32), 0.5)
        v = _uniform(k1, shape, _F32)
        us = lax.sub(0.5, lax.abs(u))
        k = lax.floor(lax.add(_fma(lax.add(lax.div(lax.mul(a, 2.0), us), b), u, lam), 0.43))
        sv = _log(lax.div(lax.mul(v, inv_alpha), lax.add(lax.div(a, lax.mul(us, us)), b)))
        tv = lax.sub(_fma(k, log_lam, lax.neg(lam)), lax.lgamma(lax.add(k, 1.0)))
        accept1 = lax.bitwise_and(lax.ge(us, 0.07), lax.le(v, v_r))
        reject = lax.bitwise_or(lax.lt(k, 0.0), lax.bitwise_and(lax.lt(us, 0.013), lax.gt(v, us)))
        accept = lax.bitwise_or(accept1, lax.bitwise_and(lax.bitwise_not(reject), lax.le(sv, tv)))
        return lax.add(i, 1), lax.select(accept, k, k_out), lax.bitwise_or(accepted, accept), w
    init = (_c(0, np.int32), _full(lam, -1), _full(lam, False, np.bool_), words)
    return lax.while_loop(lambda s: jnp.any(lax.bitwise_not(s[2])), body, init)[1]


def poisson(key, lam, shape=None, dtype=None):
    """Poisson samples (integer dtype): Knuth's method for lam < 10, transformed rejection above;
    both run over the whole array with the same key, as in JAX."""
    words = _single_key(key, "poisson")
    dtype = _dtype(dtype, "poisson", int)
    if not dtypes.is_int(dtype):
        raise ValueError(f"dtype argument to `poisson` must be an int dtype, got {dtype}")
    shape = tuple(np.shape(lam)) if shape is None else _shape(shape, "poisson")
    lam = _param(lam, _F32, shape)
    knuth = lax.bitwise_or(lax.ne(lam, lam), lax.lt(lam, 10.0))
    lam_k = lax.select(knuth, lam, _full(lam, 0))
    lam_r = lax.select(knuth, _full(lam, 1e5), lam)
    out = lax.select(knuth, _poisson_knuth(words, lam_k, shape), _poisson_rejection(words, lam_r, shape))
    out = _cvt(out, dtype)
    return lax.select(lax.eq(lam, 0.0), _full(out, 0), out)


_STIRLING_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
                  0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.010411265261972,
                  0.00925546218271273, 0.00833056343336287)


def _stirling_tail(k):
    """log k! - Stirling's approximation: tabulated for k <= 9, a series above."""
    table = _c(np.asarray(_STIRLING_TAIL, k.dtype), k.dtype)
    kc = lax.clamp(_c(0.0, k.dtype), k, _c(9.0, k.dtype))
    k1 = lax.add(kc, 1.0)
    kp1sq = lax.mul(k1, k1)
    approx = lax.div(lax.sub(1.0 / 12, lax.div(lax.sub(1.0 / 360, lax.div(1.0 / 1260, kp1sq)), kp1sq)), k1)
    tab = jnp.take(table, _cvt(lax.floor(kc), np.int32))
    return lax.select(lax.le(k, 9.0), tab, approx)


def _binomial_inversion(words, count, prob, shape):
    log_q = _log1p(lax.neg(prob))

    def body(s):
        i, num, total, w = s
        sub, w = _split2(w)
        num = lax.select(lax.le(total, count), lax.add(num, 1.0), num)
        geom = lax.ceil(lax.div(_log(_uniform(sub, shape, prob.dtype)), log_q))
        return lax.add(i, 1), num, lax.add(total, geom), w
    init = (_c(0, np.int32), _full(prob, 0), _full(prob, 0), words)
    k = lax.while_loop(lambda s: jnp.any(lax.le(s[2], count)), body, init)[1]
    return lax.sub(k, 1.0)


def _btrs(words, count, prob, shape):
    """Hormann's BTRS transformed rejection for binomial samples."""
    stddev = lax.sqrt(lax.mul(lax.mul(count, prob), lax.sub(1.0, prob)))
    b = _fma(stddev, 2.53, 1.15)
    a = _fma(prob, 0.01, _fma(b, 0.0248, -0.0873))
    c = _fma(count, prob, 0.5)
    v_r = lax.sub(0.92, lax.div(4.2, b))
    r = lax.div(prob, lax.sub(1.0, prob))
    alpha = lax.mul(lax.add(lax.div(5.1, b), 2.83), stddev)
    m = lax.floor(lax.mul(lax.add(count, 1.0), prob))
    n1 = lax.add(count, 1.0)

    def body(s):
        i, k_out, accepted, w = s
        w, k0, k1 = _split_n(w, 3)
        u = lax.sub(_uniform(k0, shape, prob.dtype), 0.5)
        v = _uniform(k1, shape, prob.dtype)
        us = lax.sub(0.5, lax.abs(u))
        accept1 = lax.bitwise_and(lax.ge(us, 0.07), lax.le(v, v_r))
        k = lax.floor(_fma(lax.add(lax.div(lax.mul(a, 2.0), us), b), u, c))
        reject = lax.bitwise_or(lax.lt(k, 0.0), lax.gt(k, count))
        v = _log(lax.div(lax.mul(v, alpha), lax.add(lax.div(a, lax.mul(us, us)), b)))
        t1 = lax.mul(lax.add(m, 0.5), _log(lax.div(lax.add(m, 1.0), lax.mul(r, lax.add(lax.sub(count, m), 1.0)))))
        t2 = lax.mul(n1, _log(lax.div(lax.add(lax.sub(count, m), 1.0), lax.add(lax.sub(count, k), 1.0))))
        t3 = lax.mul(lax.add(k, 0.5), _log(lax.div(lax.mul(r, lax.add(lax.sub(count, k), 1.0)), lax.add(k, 1.0))))
        ub = lax.add(lax.add(t1, t2), t3)
        ub = lax.add(lax.add(ub, _stirling_tail(m)), _stirling_tail(lax.sub(count, m)))
        ub = lax.sub(lax.sub(ub, _stirling_tail(k)), _stirling_tail(lax.sub(count, k)))
        accept = lax.bitwise_or(accept1, lax.bitwise_and(lax.bitwise_not(reject), lax.le(v, ub)))
        return lax.add(i, 1), lax.select(accept, k, k_out), lax.bitwise_or(accepted, accept), w
    init = (_c(0, np.int32), _full(prob, -1), _full(prob, False, np.bool_), words)
    return lax.while_loop(lambda s: jnp.any(lax.bitwise_not(s[2])), body, init)[1]


def binomial(key, n, p, shape=None, dtype=None):
    """Binomial(n, p) samples as floats: geometric inversion when n*min(p, 1-p) <= 10, BTRS above."""
    words = _single_key(key, "binomial")
    dtype = _float_dtype(dtype, "binomial")
    shape = _param_shape("binomial", shape, n, p)
    p = p if isinstance(p, Array) else jnp.asarray(p)
    if not dtypes.is_inexact(p.dtype):
        p = _cvt(p, dtypes.default_float_dtype())
    prob = _param(p, p.dtype, shape)
    count = _param(n, p.dtype, shape)
    low = lax.lt(prob, 0.5)
    q = lax.select(low, prob, lax.sub(1.0, prob))
    bad_n = lax.bitwise_or(lax.ne(count, count), lax.lt(count, 0.0))
    inf_n = lax.eq(lax.abs(count), np.inf)
    nan_q, neg_q = lax.ne(q, q), lax.lt(q, 0.0)
    q = lax.select(lax.bitwise_or(nan_q, neg_q), _full(q, 0.01), q)
    inv = lax.bitwise_or(bad_n, lax.le(lax.mul(count, q), 10.0))
    count = lax.floor(count)
    c_inv = lax.select(inv, count, _full(count, 0))
    c_btrs = lax.select(inv, _full(count, 10000.0), count)
    q_btrs = lax.select(inv, _full(q, 0.5), q)
    out = _cvt(lax.select(inv, _binomial_inversion(words, c_inv, q, shape), _btrs(words, c_btrs, q_btrs, shape)),
               dtype)
    invalid = lax.bitwise_or(lax.bitwise_or(neg_q, nan_q), bad_n)
    out = lax.select(invalid, _full(out, np.nan), out)
    out = lax.select(lax.bitwise_and(inf_n, lax.bitwise_not(invalid)), _full(out, np.inf), out)
    keep = lax.bitwise_or(lax.bitwise_or(low, bad_n), lax.bitwise_or(nan_q, inf_n))
    return lax.select(keep, out, lax.sub(_cvt(count, dtype), out))


def multinomial(key, n, p, *, shape=None, dtype=None, unroll=1):
    """Multinomial counts over the last axis of p (n trials): category i takes a binomial draw of
    what is left, with probability p_i / (p_i + ... + p_last), as JAX's scan does."""
    words = _single_key(key, "multinomial")
    n = n if isinstance(n, Array) else jnp.asarray(n)
    p = p if isinstance(p, Array) else jnp.asarray(p)
    ft = dtypes.promote_types(n.dtype, p.dtype)
    ft = ft if dtypes.is_inexact(ft) else dtypes.default_float_dtype()
    n, p = _cvt(n, ft), _cvt(p, ft)
    if p.ndim < 1:
        raise ValueError(f"multinomial: p must have at least one dimension, got shape {p.shape}")
    shape = p.shape if shape is None else _shape(shape, "multinomial")
    n, p = jnp.broadcast_to(n, shape[:-1]), jnp.broadcast_to(p, shape)
    cols = _columns(p)
    # remaining[i] = p_i + remaining[i + 1], summed from the last category
    remaining = [cols[-1]]
    for c in reversed(cols[:-1]):
        remaining.insert(0, lax.add(c, remaining[0]))
    keys = _split_n(words, len(cols))
    left, counts = n, []
    for c, r, k in zip(cols, remaining, keys):
        ratio = lax.div(c, lax.select(lax.eq(r, 0.0), _full(r, 1), r))
        count = binomial(k, left, jnp.clip(ratio, 0, 1), dtype=left.dtype)
        left = lax.sub(left, count)
        counts.append(count)
    out = jnp.stack(counts, axis=-1)
    return out.astype(dtypes.default_float_dtype() if dtype is None else dtype)


# --- linear-algebra samplers ----------------------------------------------------------------------
def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Samples mean + factor @ normal, the factor from cholesky (default), eigh or svd of cov."""
    words = _single_key(key, "multivariate_normal")
    mean = mean if isinstance(mean, Array) else jnp.asarray(mean)
    cov = cov if isinstance(cov, Array) else jnp.asarray(cov)
    ct = dtypes.promote_types(mean.dtype, cov.dtype)
    ct = ct if dtypes.is_inexact(ct) else dtypes.default_float_dtype()
    mean, cov = _cvt(mean, ct), _cvt(cov, ct)
    if method not in ("svd", "eigh", "cholesky"):
        raise ValueError("method must be one of {'svd', 'eigh', 'cholesky'}")
    dtype = mean.dtype if dtype is None else _dtype(dtype, "multivariate_normal", None)
    if not dtypes.is_float(dtype):
        raise ValueError(f"dtype argument to `multivariate_normal` must be a float dtype, got {dtype}")
    if mean.ndim < 1:
        raise ValueError(f"multivariate_normal requires mean.ndim >= 1, got mean.ndim == {mean.ndim}")
    if cov.ndim < 2:
        raise ValueError(f"multivariate_normal requires cov.ndim >= 2, got cov.ndim == {cov.ndim}")
    n = mean.shape[-1]
    if cov.shape[-2:] != (n, n):
        raise ValueError(f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, but got "
                         f"cov.shape == {cov.shape}.")
    if shape is None:
        shape = tuple(np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2]))
    else:
        shape = _shape(shape, "multivariate_normal")
        _check_shape("normal", shape, mean.shape[:-1], cov.shape[:-2])
    if method == "svd":
        u, s, _ = jnp.linalg.svd(cov)
        factor = u * jnp.sqrt(s[..., None, :])
    elif method == "eigh":
        w, v = jnp.linalg.eigh(cov)
        factor = v * jnp.sqrt(w[..., None, :])
    else:
        factor = jnp.linalg.cholesky(cov)
    z = _normal_real(words, tuple(shape) + (n,), dtype)
    return mean + jnp.einsum("...ij,...j->...i", factor, z)


def orthogonal(key, n, shape=(), dtype=None, m=None):
    """Haar-random matrices with orthonormal rows or columns, shape (*shape, n, m) (m defaults to n)."""
    words = _single_key(key, "orthogonal")
    dtype = _dtype(dtype, "orthogonal", float)
    shape = _shape(shape, "orthogonal")
    n = operator.index(n)
    m = n if m is None else operator.index(m)
    z = _normal_real(words, tuple(shape) + (max(n, m), min(n, m)), dtype)
    q, r = jnp.linalg.qr(z)
    d = jnp.diagonal(r, axis1=-2, axis2=-1)
    x = q * jnp.expand_dims(jnp.sign(d), -2)
    return jnp.swapaxes(x, -1, -2) if n < m else x


__all__ += ["laplace", "logistic", "cauchy", "gamma", "loggamma", "beta", "dirichlet", "poisson", "binomial",
            "chisquare", "t", "f", "multivariate_normal", "orthogonal", "rademacher", "ball", "lognormal",
            "maxwell", "pareto", "weibull_min", "triangular", "geometric", "generalized_normal",
            "double_sided_maxwell", "rayleigh", "wald", "multinomial", "key_dtype"]


# --- out_sharding ---------------------------------------------------------------------------
# JAX's samplers take `out_sharding=` (flax.nnx passes its input's). gpuxla places every result on
# its one device and its shardings all name that device (nothing is split), so None or a gpuxla
# Sharding is accepted; anything else (a PartitionSpec) raises, naming the sampler.
def _one_device(sharding):
    from .sharding import Sharding
    return isinstance(sharding, Sharding)


def _takes_out_sharding(fn):
    @functools.wraps(fn)
    def sampler(*args, out_sharding=None, **kwargs):
        if out_sharding is not None and not _one_device(out_sharding):
            raise NotImplementedError(f"random.{fn.__name__}(out_sharding={out_sharding!r}) is not in gpuxla yet: "
                                      "only None or a one-device Sharding is accepted")
        return fn(*args, **kwargs)
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    params.insert(at, inspect.Parameter("out_sharding", inspect.Parameter.KEYWORD_ONLY, default=None))
    sampler.__signature__ = sig.replace(parameters=params)
    return sampler


_SHARDED = ("ball", "bernoulli", "beta", "bits", "categorical", "cauchy", "chisquare", "dirichlet", "exponential",
            "f", "gamma", "generalized_normal", "geometric", "gumbel", "laplace", "loggamma", "logistic", "lognormal",
            "maxwell", "multivariate_normal", "normal", "orthogonal", "pareto", "permutation", "poisson",
            "rademacher", "randint", "rayleigh", "t", "triangular", "truncated_normal", "uniform", "wald")
for _name in _SHARDED:
    globals()[_name] = _takes_out_sharding(globals()[_name])
del _name
