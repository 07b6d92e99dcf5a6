"""lax.rng_bit_generator and lax.mulhi, as composites of uint32 arithmetic.

rng_bit_generator reproduces what XLA computes for its RngBitGenerator on CPU (where the default
algorithm is Philox), bit for bit. JAX hands XLA the uint32[4] key as a uint64[2] state s
(s[i] = word[2i] | word[2i+1] << 32); XLA keys the generator with s[0] and counts from s[1]:

  * THREE_FRY: Threefry-2x32 (20 rounds) of the 64-bit counter s[1] + i, i the row-major position
    in a "half shape" (the first even dimension, or else the largest, halved and rounded up); the
    two output words of each counter are interleaved along that dimension. 64-bit outputs use one
    counter per element (low word | high word << 32). The state's counter advances by the number
    of counters used.
  * PHILOX: Philox-4x32 (10 rounds) of the 128-bit counter (low s[1], high s[0]) + j; the four
    output words of counter j are elements 4j..4j+3 (two per 64-bit element). The new state keeps
    the key and the low 64 bits of the advanced counter.
  * 8- and 16-bit outputs are the low bits of the 32-bit outputs of the same shape.

64-bit arithmetic is done on pairs of uint32 words, so nothing here needs jax_enable_x64 except
uint64 keys and outputs themselves.
"""
import enum

import numpy as np

from ..core import dtypes
from . import (_operands, add, asarray, bitcast_convert_type, bitwise_and, bitwise_or, bitwise_xor,
               broadcast_in_dim, broadcasted_iota, concatenate, convert_element_type, full, lt, mul, reshape, select,
               shift_left, shift_right_logical, slice, slice_in_dim, sub)

__all__ = ["RandomAlgorithm", "rng_bit_generator", "mulhi"]

_U32 = np.dtype(np.uint32)


class RandomAlgorithm(enum.IntEnum):
    """The algorithm of lax.rng_bit_generator (XLA's RandomAlgorithm)."""
    RNG_DEFAULT = 0
    RNG_THREE_FRY = 1
    RNG_PHILOX = 2

    def __str__(self):
        return self.name


# --- mulhi ----------------------------------------------------------------------------------------
def _unsigned(dt):
    return np.dtype(f"uint{np.dtype(dt).itemsize * 8}")


def _c(v, like):
    return full(like.shape, v, like.dtype)


def _mulhi_unsigned(a, b):
    """High half of the 2N-bit product of N-bit unsigned a and b, by N/2-bit limbs (no wider type)."""
    h = a.dtype.itemsize * 4
    mask = _c((1 << h) - 1, a)
    sh = _c(h, a)
    alo, ahi = bitwise_and(a, mask), shift_right_logical(a, sh)
    blo, bhi = bitwise_and(b, mask), shift_right_logical(b, sh)
    p0, p1, p2, p3 = mul(alo, blo), mul(alo, bhi), mul(ahi, blo), mul(ahi, bhi)
    mid = add(add(shift_right_logical(p0, sh), bitwise_and(p1, mask)), bitwise_and(p2, mask))
    return add(add(add(p3, shift_right_logical(p1, sh)), shift_right_logical(p2, sh)), shift_right_logical(mid, sh))


def mulhi(x, y):
    """The upper N bits of the 2N-bit product of N-bit integers (lax.mulhi), elementwise.

    >>> lax.mulhi(jnp.uint8(200), jnp.uint8(200))   # 40000 = 156 * 256 + 64   # doctest: +SKIP
    Array(156, dtype=uint8)
    """
    x, y = _operands(x, y)
    if x.dtype != y.dtype or not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"mulhi requires integer operands of one dtype, got {x.dtype.name} and {y.dtype.name}")
    if x.shape != y.shape:
        raise TypeError(f"mulhi: shapes must be equal, got {x.shape} and {y.shape}")
    if np.issubdtype(x.dtype, np.unsignedinteger):
        return _mulhi_unsigned(x, y)
    # Signed: hi(x*y) = hi_u(x, y) - (x < 0 ? y : 0) - (y < 0 ? x : 0), modulo 2^N.
    u = _unsigned(x.dtype)
    xu, yu = bitcast_convert_type(x, u), bitcast_convert_type(y, u)
    hi = _mulhi_unsigned(xu, yu)
    zero = _c(0, xu)
    hi = sub(hi, select(lt(x, _c(0, x)), yu, zero))
    hi = sub(hi, select(lt(y, _c(0, y)), xu, zero))
    return bitcast_convert_type(hi, x.dtype)


# --- 64- and 128-bit counters on uint32 words ---------------------------------------------------
def _add_words(words, inc):
    """(w0 + inc, w1 + carry, ...): a little-endian multiword number plus a uint32 array."""
    out, carry = [], inc
    for w in words:
        s = add(w, carry)
        carry = convert_element_type(lt(s, w), _U32)
        out.append(s)
    return out


def _threefry2x32(k0, k1, x0, x1):
    rot = ((13, 15, 26, 6), (17, 29, 16, 24))
    ks = (k0, k1, bitwise_xor(bitwise_xor(k0, k1), _c(0x1BD11BDA, k0)))
    x0, x1 = add(x0, ks[0]), add(x1, ks[1])
    for j in range(1, 6):
        for r in rot[(j - 1) % 2]:
            x0 = add(x0, x1)
            x1 = bitwise_xor(bitwise_or(shift_left(x1, _c(r, x1)), shift_right_logical(x1, _c(32 - r, x1))), x0)
        x0, x1 = add(x0, ks[j % 3]), add(x1, add(ks[(j + 1) % 3], _c(j, x1)))
    return x0, x1


_PHILOX_M = (0xD2511F53, 0xCD9E8D57)
_PHILOX_W = (0x9E3779B9, 0xBB67AE85)


def _philox4x32(c, k0, k1):
    c = list(c)
    for _ in range(10):
        m0, m1 = _c(_PHILOX_M[0], c[0]), _c(_PHILOX_M[1], c[2])
        hi0, lo0 = _mulhi_unsigned(c[0], m0), mul(c[0], m0)
        hi1, lo1 = _mulhi_unsigned(c[2], m1), mul(c[2], m1)
        c = [bitwise_xor(bitwise_xor(hi1, c[1]), k0), lo1, bitwise_xor(bitwise_xor(hi0, c[3]), k1), lo0]
        k0, k1 = add(k0, _c(_PHILOX_W[0], k0)), add(k1, _c(_PHILOX_W[1], k1))
    return c


# --- the generators -------------------------------------------------------------------------------
def _bcast(w, shape):
    return broadcast_in_dim(w, shape, ())


def _counter_iota(shape):
    n = int(np.prod(shape, dtype=np.int64))
    if n >= 2 ** 32:
        raise NotImplementedError("rng_bit_generator: more than 2**32 counters per call are not in gpuxla yet")
    return reshape(broadcasted_iota(_U32, (n,), 0), shape)


def _split_dim(shape):
    for i, d in enumerate(shape):
        if d % 2 == 0:
            return i
    return int(np.argmax(shape))


def _threefry_bits(state, shape, wide):
    """state: 4 uint32 words (key lo, key hi, counter lo, counter hi)."""
    k0, k1, c0, c1 = state
    if wide:
        n = int(np.prod(shape, dtype=np.int64))
        lo, hi = _add_words([_bcast(c0, shape), _bcast(c1, shape)], _counter_iota(shape))
        y0, y1 = _threefry2x32(_bcast(k0, shape), _bcast(k1, shape), lo, hi)
        return (y0, y1), n
    if not shape:
        half, split = (1,), None
    else:
        split = _split_dim(shape)
        half = tuple((d + 1) // 2 if i == split else d for i, d in enumerate(shape))
    lo, hi = _add_words([_bcast(c0, half), _bcast(c1, half)], _counter_iota(half))
    y0, y1 = _threefry2x32(_bcast(k0, half), _bcast(k1, half), lo, hi)
    n = int(np.prod(half, dtype=np.int64))
    if split is None:
        return reshape(y0, ()), n
    ex = half[:split + 1] + (1,) + half[split + 1:]
    both = concatenate([reshape(y0, ex), reshape(y1, ex)], split + 1)
    full_shape = half[:split] + (2 * half[split],) + half[split + 1:]
    out = reshape(both, full_shape)
    if full_shape != tuple(shape):
        out = slice(out, (0,) * len(shape), shape)
    return out, n


def _philox_bits(state, n_words):
    """state: key (k0, k1), counter words (s1 lo, s1 hi, s0 lo, s0 hi) -> n_words uint32, flat."""
    k0, k1, c0, c1 = state
    n4 = -(-n_words // 4)
    shape = (n4,)
    ctr = _add_words([_bcast(c0, shape), _bcast(c1, shape), _bcast(k0, shape), _bcast(k1, shape)],
                     _counter_iota(shape))
    out = _philox4x32(ctr, _bcast(k0, shape), _bcast(k1, shape))
    flat = reshape(concatenate([reshape(o, (n4, 1)) for o in out], 1), (4 * n4,))
    return slice(flat, (0,), (n_words,)) if 4 * n4 != n_words else flat, n4


def rng_bit_generator(key, shape, dtype=np.uint32, algorithm=RandomAlgorithm.RNG_DEFAULT, *, out_sharding=None):
    """Stateless random bits (lax.rng_bit_generator): returns (new_key, bits of `shape`/`dtype`).

    Bit for bit as XLA on CPU, where RNG_DEFAULT is RNG_PHILOX. `key` is a uint32[4] array (or a
    uint64[2] one with jax_enable_x64); `dtype` is uint8, uint16, uint32 or uint64.
    """
    shape = tuple(int(d) for d in shape)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32), np.dtype(np.uint64)):
        raise TypeError(f"rng_bit_generator: unsupported dtype {dtype}")
    if dtype == np.uint64 and dtypes.canonicalize_dtype(np.uint64) != np.uint64:
        raise TypeError("rng_bit_generator: dtype uint64 needs jax_enable_x64")
    alg = RandomAlgorithm(int(algorithm)) if not isinstance(algorithm, str) else RandomAlgorithm[algorithm]
    key = asarray(key)
    if key.shape == (4,) and key.dtype == _U32:
        words = key
    elif key.shape == (2,) and key.dtype == np.uint64:
        words = reshape(bitcast_convert_type(key, _U32), (4,))
    else:
        raise TypeError(f"rng_bit_generator: key must be uint32[4] (or uint64[2]), got {key.aval.str_short()}")
    w = [reshape(slice_in_dim(words, i, i + 1), ()) for i in range(4)]
    wide = dtype == np.uint64
    if alg is RandomAlgorithm.RNG_THREE_FRY:
        bits, used = _threefry_bits(w, shape, wide)
        if wide:
            lo, hi = (convert_element_type(b, np.uint64) for b in bits)
            bits = bitwise_or(lo, shift_left(hi, _c(32, hi)))
        nc = _add_words([w[2], w[3]], full((), used, _U32))
    else:   # RNG_DEFAULT is Philox on CPU (and on GPU, per XLA's expander there)
        n = int(np.prod(shape, dtype=np.int64))
        flat, used = _philox_bits(w, 2 * n if wide else n)
        if wide:
            pairs = reshape(convert_element_type(flat, np.uint64), (n, 2))
            lo, hi = (reshape(slice_in_dim(pairs, i, i + 1, axis=1), (n,)) for i in (0, 1))
            flat = bitwise_or(lo, shift_left(hi, _c(32, hi)))
        bits = reshape(flat, shape)
        nc = _add_words([w[2], w[3]], full((), used, _U32))
    if dtype in (np.uint8, np.uint16):
        bits = convert_element_type(bits, dtype)
    new_words = concatenate([reshape(v, (1,)) for v in (w[0], w[1], nc[0], nc[1])], 0)
    new_key = new_words if key.dtype == _U32 else bitcast_convert_type(reshape(new_words, (2, 2)), np.uint64)
    return new_key, bits
