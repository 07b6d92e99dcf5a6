"""The kernel disk caches under hostile and concurrent conditions: planted entries, folders others
can write, read-only or impossible folders, consistent but unloadable entries, several processes
compiling the same kernels at once, a writer caught between its steps, and the size cap."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gpuxla.backends import cache
from gpuxla.backends.cuda import interpret

needs_cxx = pytest.mark.skipif(interpret.host_compiler() is None, reason="needs a host C++ compiler")
ROOT = Path(interpret.__file__).parents[3]
KERNEL = '#include "gx_common.cuh"\nextern "C" __global__ void k3(float* y) { y[threadIdx.x] = 3.0f; }\n'
SIG = [("k3", ["float*"])]


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty cache folder and no module in memory; the builds are counted."""
    monkeypatch.setenv("GPUXLA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GPUXLA_DISK_CACHE", raising=False)
    interpret.clear_memory_cache()
    builds = []
    real = interpret.subprocess.run

    def counting(cmd, *a, **k):
        if "-shared" in cmd:
            builds.append(cmd)
        return real(cmd, *a, **k)
    monkeypatch.setattr(interpret.subprocess, "run", counting)
    yield tmp_path / "cache", builds
    interpret.clear_memory_cache()


def run_k3(mod):
    y = np.zeros(4, np.float32)
    mod.launch("k3", 1, 4, [y])
    return y


def entry_path():
    (path,) = (interpret._disk.folder()).glob("*.so")
    return path


@needs_cxx
def test_entries_are_private_and_self_checking(fresh):
    root, builds = fresh
    run_k3(interpret.compile_module(KERNEL, SIG))
    folder = root / "interpret"
    assert (folder.stat().st_mode & 0o777) == 0o700 and (root.stat().st_mode & 0o777) == 0o700
    entry = entry_path()
    assert (entry.stat().st_mode & 0o077) == 0 and entry.read_bytes()[:8] == b"GXHOSTSO"
    assert sorted(p.name for p in folder.iterdir()) == [entry.name]      # no sidecar, no temp files


@needs_cxx
@pytest.mark.skipif(os.geteuid() != 0, reason="planting a file of another user needs root")
def test_a_planted_entry_of_another_user_is_never_loaded(fresh, tmp_path):
    root, builds = fresh
    interpret.compile_module(KERNEL, SIG)                 # learn the entry's name and key
    entry = entry_path()
    key = entry.name[:-len(".so")]
    # The attacker's shared object runs code when it is loaded; its entry is well formed.
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.c"
    evil.write_text(f'#include <stdio.h>\n__attribute__((constructor)) static void run(void) '
                    f'{{ FILE* f = fopen("{marker}", "w"); if (f) fclose(f); }}\n')
    subprocess.run(["gcc", "-shared", "-fPIC", str(evil), "-o", str(tmp_path / "evil.so")], check=True)
    interpret._disk.put(key, (tmp_path / "evil.so").read_bytes())
    os.chown(entry, 12345, 12345)
    interpret.clear_memory_cache()
    before = interpret.compile_stats["disk_rebuilt"]
    y = run_k3(interpret.compile_module(KERNEL, SIG))
    assert not marker.exists(), "a foreign cache entry was loaded"
    assert (y == 3).all() and interpret.compile_stats["disk_rebuilt"] == before + 1
    assert entry.stat().st_uid == os.geteuid()            # our rebuild replaced it


@needs_cxx
def test_a_folder_others_can_write_is_not_used(fresh, caplog):
    root, builds = fresh
    (root / "interpret").mkdir(parents=True)
    os.chmod(root / "interpret", 0o777)
    y = run_k3(interpret.compile_module(KERNEL, SIG))
    assert (y == 3).all() and len(builds) == 1
    assert list((root / "interpret").iterdir()) == []
    interpret.clear_memory_cache()
    run_k3(interpret.compile_module(KERNEL, SIG))
    assert len(builds) == 2                                 # memory only: compiled again


@needs_cxx
def test_an_unusable_cache_folder_degrades_to_memory(fresh, monkeypatch, tmp_path):
    root, builds = fresh
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GPUXLA_CACHE_DIR", str(blocker / "cache"))     # cannot be created
    assert (run_k3(interpret.compile_module(KERNEL, SIG)) == 3).all()
    monkeypatch.setenv("GPUXLA_CACHE_DIR", str(root))
    monkeypatch.setattr(cache, "atomic_write", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left")))
    interpret.clear_memory_cache()
    assert (run_k3(interpret.compile_module(KERNEL, SIG)) == 3).all()  # a full disk: still runs
    assert len(builds) == 2


@needs_cxx
def test_a_consistent_but_unloadable_entry_is_rebuilt(fresh):
    root, builds = fresh
    interpret.compile_module(KERNEL, SIG)
    entry = entry_path()
    interpret._disk.put(entry.name[:-3], b"\x7fELF but not really")   # checksum right, not loadable
    interpret.clear_memory_cache()
    assert (run_k3(interpret.compile_module(KERNEL, SIG)) == 3).all() and len(builds) == 2
    interpret.clear_memory_cache()
    assert (run_k3(interpret.compile_module(KERNEL, SIG)) == 3).all() and len(builds) == 2   # fixed for good


@needs_cxx
def test_a_writer_between_its_steps_is_left_alone(fresh):
    root, builds = fresh
    interpret.compile_module(KERNEL, SIG)
    entry = entry_path()
    # Another process has written half its temporary file and not renamed it yet.
    pending = entry.parent / (entry.name + ".Xq1z.tmp")
    pending.write_bytes(entry.read_bytes()[:100])
    entry.unlink()
    interpret.clear_memory_cache()
    assert (run_k3(interpret.compile_module(KERNEL, SIG)) == 3).all() and len(builds) == 2
    assert len(pending.read_bytes()) == 100             # not ours to delete
    interpret._disk.evict(entry.parent, cap=0)
    assert pending.exists() and not entry.exists()          # eviction takes entries, never temp files


@needs_cxx
def test_processes_compiling_the_same_kernels_at_once(tmp_path):
    code = ("import numpy as np; from gpuxla.backends.cuda import interpret as I\n"
            f"m = I.compile_module({KERNEL!r}, {SIG!r})\n"
            "y = np.zeros(4, np.float32); m.launch('k3', 1, 4, [y]); assert (y == 3).all()\n"
            "print(I.compile_stats['compiled'], I.compile_stats['disk_hits'], I.compile_stats['disk_rebuilt'])\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), GPUXLA_CACHE_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    stats = [tuple(map(int, o.split())) for o, _ in outs]
    assert all(rebuilt == 0 for _, _, rebuilt in stats), stats      # nobody saw a half entry
    assert len(list((tmp_path / "interpret").iterdir())) == 1
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert again.stdout.split() == ["0", "1", "0"]                 # a later process: a disk hit


def test_the_cap_evicts_the_least_recently_used(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUXLA_CACHE_DIR", str(tmp_path))
    d = cache.DiskCache("unit", ".bin", b"GXUNIT01")
    for i in range(5):
        assert d.put(f"k{i}", bytes(1000))
        os.utime(d.path(f"k{i}"), ns=(10**18 + i, 10**18 + i))
    assert d.get("k0")[0] == "hit"                                   # k0 is now the most recent
    monkeypatch.setenv("GPUXLA_CACHE_MAX_BYTES", str(3 * 1100))
    d.put("k5", bytes(1000))
    left = sorted(p.name for p in d.folder().iterdir())
    assert left == ["k0.bin", "k4.bin", "k5.bin"], left
    assert d.get("k1") == ("miss", None)


def _maps_of_loaded_modules():
    with open("/proc/self/maps") as f:
        return sum(interpret._private in line for line in f) if interpret._private else 0


@needs_cxx
@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="counts memory maps through /proc")
def test_modules_no_executable_uses_are_unloaded(fresh, monkeypatch):
    # Each loaded shared object costs a few memory maps (Linux allows 65,530): the process keeps
    # MODULES_KEPT modules for reuse and unmaps the others once nothing can call them.
    import gc
    monkeypatch.setattr(interpret, "_memory", cache.Recent(2))
    held = interpret.compile_module(KERNEL.replace("3.0f", "7.0f"), SIG)
    gc.collect()
    base = _maps_of_loaded_modules()
    for v in range(6):                   # six more modules, none kept by the caller
        mod = interpret.compile_module(KERNEL.replace("3.0f", f"{v}.5f"), SIG)
        assert run_k3(mod)[0] == v + 0.5
    del mod
    gc.collect()
    per_module = max(1, base)
    # At most the two the cache keeps (the held module among them or not) are mapped beside it.
    assert _maps_of_loaded_modules() <= base + 2 * per_module
    assert run_k3(held)[0] == 7.0        # a module still referenced stays loaded and callable
