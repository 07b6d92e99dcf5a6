"""The on-disk kernel caches and the kernel headers, shared by the two compilers of CUDA C
(NVRTC for the `cuda` platform, the host C++ compiler for `cuda-interpret`).

The headers (`gx_common.cuh`, ...) live in `gpuxla/kernels/` (package data), or in
`$GPUXLA_KERNELS_DIR`; their digest is part of every cache key, so editing one rebuilds every kernel.
The caches live under `$GPUXLA_CACHE_DIR` (default `~/.cache/gpuxla/`); `GPUXLA_DISK_CACHE=0` turns
them off. Entries are written atomically, so a reader never sees half a file.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
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
    env = config.CACHE_DIR.get()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gpuxla"


def numbered_source(source: str) -> str:
    width = len(str(source.count("\n") + 1))
    return "\n".join(f"{i:>{width}} | {line}" for i, line in enumerate(source.splitlines(), 1))


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
