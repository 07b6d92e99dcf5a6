"""The on-disk kernel caches and the kernel headers, shared by the two compilers of CUDA C
(NVRTC for the `cuda` platform, the host C++ compiler for `cuda-interpret`).

The headers (`gx_common.cuh`, ...) live in `gpuxla/kernels/` (package data), or in
`$GPUXLA_KERNELS_DIR`; their digest is part of every cache key, so editing one rebuilds every kernel.
The caches live under JAX's `jax_compilation_cache_dir` option when a script sets it, else
`$GPUXLA_CACHE_DIR`, else `$JAX_COMPILATION_CACHE_DIR` (default `~/.cache/gpuxla/`); `GPUXLA_DISK_CACHE=0` turns
them off. `DiskCache` is one folder of entries:

- An entry is one file that carries its own checksum (magic, length, SHA-256, payload) and is
  published by one rename, so another process sees no entry or a whole one; readers never delete.
- The folder is created 0700 and used only if it belongs to this user and nobody else can write
  it; an entry that is not a regular file of this user is refused. Anything else that goes wrong
  (read-only or full disk, a foreign folder) turns the disk cache off for that call, with a warning
  once, and compiling goes on in memory.
- Each folder is capped (`GPUXLA_CACHE_MAX_BYTES`, 1 GiB): after a write, the least recently used
  entries of this user go until the folder fits. Hits refresh an entry's time.

Like JAX's compilation cache, the cache is trusted code: whoever can write your cache folder can
run code in your process. Point `GPUXLA_CACHE_DIR` only at folders of your own.
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import stat
import struct
import tempfile
import weakref
from collections import OrderedDict
from pathlib import Path

from .. import config


def kernels_dir() -> Path:
    """The folder holding gx_common.cuh and gx_interpret.h."""
    here = Path(__file__).resolve().parent  # gpuxla/backends
    candidates = []
    env = config.KERNELS_DIR.get()
    if env:
        candidates.append(Path(env))
    candidates.append(here.parent / "kernels")
    for c in candidates:
        if (c / "gx_common.cuh").is_file():
            return c
    raise FileNotFoundError(
        "gpuxla kernel headers (gx_common.cuh) not found; looked in "
        + ", ".join(str(c) for c in candidates) + " (set GPUXLA_KERNELS_DIR)")


def cache_root() -> Path | None:
    """Root of the on-disk caches, or None when disabled (GPUXLA_DISK_CACHE=0)."""
    if not config.DISK_CACHE.get():
        return None
    # A script's jax_compilation_cache_dir is the most specific choice, then the environment.
    env = config.read("jax_compilation_cache_dir") or config.CACHE_DIR.get() or config.JAX_COMPILATION_CACHE_DIR.get()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gpuxla"


def numbered_source(source: str) -> str:
    width = len(str(source.count("\n") + 1))
    return "\n".join(f"{i:>{width}} | {line}" for i, line in enumerate(source.splitlines(), 1))


log = logging.getLogger("gpuxla")


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file, the new file, or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_header_cache: dict = {}


def headers_state():
    """(headers dict, digest), re-read only when a file of the kernels folder changes."""
    d = kernels_dir()
    sig = tuple((p.name, st.st_mtime_ns, st.st_size) for p in sorted(d.iterdir())
                if p.suffix in (".cuh", ".h") and p.is_file() for st in (p.stat(),))
    hit = _header_cache.get((str(d), sig))
    if hit is None:
        texts = {name: (d / name).read_text() for name, _, _ in sig}
        h = hashlib.sha256()
        for name in sorted(texts):
            h.update(name.encode() + b"\0" + texts[name].encode() + b"\0\2")
        hit = (texts, h.hexdigest())
        _header_cache[(str(d), sig)] = hit
    return hit


def headers_digest() -> str:
    """SHA-256 over the kernels-folder headers: part of every cache key."""
    return headers_state()[1]


class DiskCache:
    """Entries `<key><suffix>` under `cache_root()/<name>`; see the module docstring."""

    _HEAD = struct.Struct("<8sQ32s")   # magic, payload length, sha256(payload)

    def __init__(self, name: str, suffix: str, magic: bytes):
        self.name, self.suffix, self.magic = name, suffix, magic
        self._warned = set()

    def _warn(self, what, detail):
        if what not in self._warned:
            self._warned.add(what)
            log.warning("gpuxla: the %s kernel cache is not used (%s): %s", self.name, what, detail)

    def folder(self) -> Path | None:
        """The folder, created if needed; None when the disk cache is off or the folder unsafe."""
        root = cache_root()
        if root is None:
            return None
        d = root / self.name
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            d.mkdir(mode=0o700, exist_ok=True)
            st = os.lstat(d)
        except OSError as e:
            self._warn("cannot create it", e)
            return None
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            self._warn("not a folder of this user, or writable by others", f"{d} (mode {st.st_mode:o}, "
                       f"owner {st.st_uid})")
            return None
        return d

    def path(self, key: str) -> Path | None:
        d = self.folder()
        return None if d is None else d / f"{key}{self.suffix}"

    def get(self, key: str):
        """("hit", payload), ("miss", None) when there is no entry, ("bad", None) for an entry that
        is corrupt, foreign or unreadable (it is left alone: the next `put` replaces it)."""
        path = self.path(key)
        if path is None:
            return "miss", None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return "miss", None
        except OSError:
            return "bad", None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                log.warning("gpuxla: refusing cache entry %s: not a regular file of this user", path)
                return "bad", None
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read()
            if os.utime in os.supports_fd:
                os.utime(fd)              # least recently used goes first
        except OSError:
            return "bad", None
        finally:
            os.close(fd)
        if len(data) < self._HEAD.size:
            return "bad", None
        magic, n, digest = self._HEAD.unpack_from(data)
        payload = data[self._HEAD.size:]
        if magic != self.magic or n != len(payload) or hashlib.sha256(payload).digest() != digest:
            return "bad", None
        return "hit", payload

    def put(self, key: str, payload: bytes) -> bool:
        """Publish an entry (one rename); False when the disk cannot take it."""
        path = self.path(key)
        if path is None:
            return False
        try:
            atomic_write(path, self._HEAD.pack(self.magic, len(payload), hashlib.sha256(payload).digest()) + payload)
        except OSError as e:
            self._warn("cannot write it", e)
            return False
        self.evict(path.parent)
        return True

    def evict(self, folder: Path, cap: int | None = None) -> None:
        """Remove this user's least recently used entries until the folder holds at most `cap` bytes."""
        cap = config.CACHE_MAX_BYTES.get() if cap is None else cap
        entries = []
        try:
            with os.scandir(folder) as it:
                for e in it:
                    if e.name.endswith(self.suffix):
                        st = e.stat(follow_symlinks=False)
                        if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
                            entries.append((st.st_mtime_ns, st.st_size, e.path))
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for _, size, p in sorted(entries):
            if total <= cap:
                break
            try:
                os.unlink(p)
                total -= size
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# Loaded modules: kept for reuse, but not forever
# ---------------------------------------------------------------------------------------------
class Recent:
    """A map that keeps its `cap` most recently used entries (callers hold their own lock). The
    host platforms keep loaded kernel modules here: a long-running process that builds many
    programs drops the modules no executable uses any more, and `unload_when_unused` unmaps them
    (each shared object costs about five memory maps; Linux allows 65,530 per process)."""

    def __init__(self, cap):
        self.cap, self._d = cap, OrderedDict()

    def get(self, key, default=None):
        v = self._d.get(key)
        if v is None:
            return default
        self._d.move_to_end(key)
        return v

    def __getitem__(self, key):
        v = self._d[key]
        self._d.move_to_end(key)
        return v

    def __setitem__(self, key, value):
        self._d[key] = value
        self._d.move_to_end(key)
        while len(self._d) > self.cap:
            self._d.popitem(last=False)

    def update(self, pairs):
        for k, v in pairs:
            self[k] = v

    def __contains__(self, key):
        return key in self._d

    def __len__(self):
        return len(self._d)

    def clear(self):
        self._d.clear()


def cached_module(memory, disk: DiskCache, key: str, load, stats, unloadable=(OSError,)):
    """(module, status) for `key`: from `memory` (a Recent), else loaded by `load(payload)` from
    the disk cache into memory; else (None, the disk status: "miss", or "bad" for an entry that is
    damaged or does not load, which the caller rebuilds). Callers hold their compile lock."""
    mod = memory.get(key)
    if mod is not None:
        stats["memory_hits"] += 1
        return mod, "hit"
    status, payload = disk.get(key)
    if status == "hit":
        try:
            mod = load(payload)
        except unloadable:        # consistent but unloadable (another libc, ...): rebuild it
            return None, "bad"
        memory[key] = mod
        stats["disk_hits"] += 1
    return mod, status


def unload_when_unused(lib: ctypes.CDLL) -> None:
    """dlclose `lib` once nothing references it. Every ctypes function taken from it holds it, so
    no kernel is unmapped while an executable can still call it. Not at interpreter exit: threads
    of the module's OpenMP pool may still be parked in it then."""
    if _dlclose is not None:
        weakref.finalize(lib, _dlclose, lib._handle).atexit = False


try:
    from _ctypes import dlclose as _dlclose          # POSIX
except ImportError:                                   # Windows: modules stay loaded
    _dlclose = None
