"""Several processes under mpiexec (the `distributed` extra: mpi4py and an MPI runtime): pmap's
collectives across processes give what one process computes with vmap over all the slices; a
process that arrives late at initialize, or never at a collective, is a TimeoutError, not a hang;
a wrong num_processes is a ValueError.
Skipped where mpi4py or mpiexec is missing."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install gpuxla[distributed])")
WORKER = pathlib.Path(__file__).parent / "mpi" / "pmap_worker.py"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(n, mode, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT), GPUXLA_PLATFORM="numpy")
    r = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(WORKER), mode], env=env, timeout=timeout,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.parametrize("n", (2, 3))
def test_pmap_across_processes_matches_one_process(n):
    out = run(n, "check")
    for rank in range(n):
        for name in ("psum", "pmean_pmax_pmin", "all_gather", "all_gather_tiled", "psum_scatter", "ppermute",
                     "ppermute_partial", "psum_scatter_tiled_dim1", "all_to_all", "all_to_all_tiled",
                     "grad_scatter_permute", "axis_index", "grad"):
            assert f"{rank} ok {name}" in out, out


def test_a_late_process_is_a_timeout_then_joins():
    out = run(2, "late")
    assert "0 timeout: gpuxla.distributed.initialize (process 0 of 2): not every process arrived within 0.5 s" in out
    assert "0 ok late" in out and "1 ok late" in out


def test_a_process_absent_from_a_collective_is_a_timeout():
    out = run(2, "absent")
    assert "0 timeout: pmap: the collective 'psum': not every process arrived within 1 s" in out, out
    assert "1 late psum [[2.0, 2.0]]" in out, out


def test_mismatched_num_processes():
    out = run(2, "mismatch")
    assert out.count("mismatch: gpuxla.distributed.initialize: num_processes=7, but the MPI launcher started "
                     "2 processes") == 2, out
