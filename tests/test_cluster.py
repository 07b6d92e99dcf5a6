"""gpuxla.distributed without MPI: the launchers' variables (SLURM, Open MPI, MPICH's PMI) as JAX's
cluster detection reads them; the coordinator's TCP rendezvous between local processes, with a
process that never arrives (a TimeoutError in the others, no hang) and disagreeing num_processes;
on 4 fake GPUs, initialize through the coordinator joins them as one NCCL world
(NcclCommunicator(world, uid, rank) per GPU in one group) and pmap runs over it."""
import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import distributed, lax

WORKER = pathlib.Path(__file__).parent / "mpi" / "rendezvous_worker.py"
ROOT = pathlib.Path(__file__).resolve().parent.parent
LAUNCHER_VARS = [n for n in os.environ if n.startswith(("SLURM_", "OMPI_", "PMI_", "MPI_LOCALRANKID"))]


@pytest.fixture
def clean_env(monkeypatch):
    for n in LAUNCHER_VARS:
        monkeypatch.delenv(n, raising=False)
    return monkeypatch


def test_slurm(clean_env):
    env = {"SLURM_JOB_ID": "123456", "SLURM_STEP_NODELIST": "gpu[017-020,033],login2", "SLURM_NTASKS": "8",
           "SLURM_PROCID": "5", "SLURM_LOCALID": "1"}
    for k, v in env.items():
        clean_env.setenv(k, v)
    c = distributed.detect()
    port = 123456 % 4096 + 65536 - 4096
    assert (c.name, c.coordinator, c.num_processes, c.process_id, c.local_process_id) == \
        ("slurm", f"gpu017:{port}", 8, 5, 1)
    for nodes, first in (("node001", "node001"), ("node001,host2", "node001"), ("n[7,9-12]", "n7"),
                         ("a-b[3-4],c", "a-b3")):
        clean_env.setenv("SLURM_STEP_NODELIST", nodes)
        assert distributed.detect("slurm").coordinator == f"{first}:{port}"
    clean_env.delenv("SLURM_LOCALID")          # JAX needs all five
    assert distributed.detect() is None


def test_open_mpi_and_mpich(clean_env):
    for k, v in {"OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_LOCAL_RANK": "1"}.items():
        clean_env.setenv(k, v)
    c = distributed.detect()
    assert (c.name, c.coordinator, c.num_processes, c.process_id, c.local_process_id) == ("ompi", None, 4, 3, 1)
    clean_env.setenv("OMPI_MCA_orte_hnp_uri", "1531576320.0;tcp://10.96.0.1,10.148.0.1:34911")
    assert distributed.detect().coordinator == f"10.96.0.1:{1531576320 // 4096 % 4096 + 65536 - 4096}"
    assert distributed.detect("deactivate") is None and distributed.detect("mpich") is None
    for k in ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_MCA_orte_hnp_uri"):
        clean_env.delenv(k)
    clean_env.setenv("PMI_SIZE", "3")
    clean_env.setenv("PMI_RANK", "2")
    c = distributed.detect()
    assert (c.name, c.coordinator, c.num_processes, c.process_id, c.local_process_id) == ("mpich", None, 3, 2, None)
    with pytest.raises(ValueError, match="cluster_detection_method='k8s'"):
        distributed.detect("k8s")
    # SLURM comes first when several launchers' variables are present (srun --mpi=pmi2 sets PMI_*)
    for k, v in {"SLURM_JOB_ID": "1", "SLURM_STEP_NODELIST": "h", "SLURM_NTASKS": "3", "SLURM_PROCID": "0",
                 "SLURM_LOCALID": "0"}.items():
        clean_env.setenv(k, v)
    assert distributed.detect().name == "slurm"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def job(n, pids, timeout, ns=None):
    """Processes `pids` of a job of n at a fresh coordinator; their JSON lines by pid."""
    return collect(start(n, pids, timeout, ns))


def start(n, pids, timeout, ns=None):
    coord = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, PYTHONPATH=str(ROOT), GPUXLA_PLATFORM="numpy")
    return pids, [subprocess.Popen([sys.executable, str(WORKER), coord, str((ns or {}).get(p, n)), str(p),
                                    str(timeout)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for p in pids]


def collect(started):
    pids, procs = started
    out = {}
    for p, proc in zip(pids, procs):
        so, se = proc.communicate(timeout=60)
        assert proc.returncode == 0, se
        out[p] = json.loads(so.strip().splitlines()[-1])
    return out


def test_rendezvous_of_three_processes():
    out = job(3, [0, 1, 2], timeout=30)
    for p in range(3):
        r = out[p]
        assert (r["index"], r["count"]) == (p, 3), r
        assert r["devices"] == [f"cpu:{i}" for i in range(6)]
        assert r["local"] == [2 * p, 2 * p + 1]
        assert "needs MPI" in r["refused"]      # CPU collectives across processes go through MPI only
        # arrays live on the process's first device (JAX: devices()[process_index * local count])
        assert r["array_device"] == f"cpu:{2 * p}" and r["array_devices"] == [f"cpu:{2 * p}"], r
        assert r["sharding"] == f"{{CpuDevice(id={2 * p})}}", r
        assert r["placed"] == f"cpu:{2 * p + 1}", r


def test_a_process_that_never_arrives_is_a_timeout_everywhere():
    t0 = time.monotonic()
    # (6 s: process 1 must reach the coordinator within it, started with it on a loaded CI machine)
    three = start(3, [0, 1], timeout=6)         # process 2 never starts
    two = start(2, [1], timeout=1.0)            # the coordinator (process 0) never starts
    out, alone = collect(three), collect(two)
    assert time.monotonic() - t0 < 30
    assert out[0]["error"] == out[1]["error"] == "TimeoutError", out
    for p in (0, 1):
        assert f"(process {p} of 3): process [2] never arrived at the coordinator within 6 s" in out[p]["msg"]
    assert alone[1]["error"] == "TimeoutError" and "could not be reached within 1 s" in alone[1]["msg"]


def test_mismatched_num_processes():
    out = job(2, [0, 1], timeout=20, ns={1: 3})
    assert out[0]["error"] == out[1]["error"] == "ValueError", out
    for p in (0, 1):
        assert "num_processes disagree: process 1 says 3, the coordinator (process 0) says 2" in out[p]["msg"]


def test_coordinator_joins_fake_gpus_as_one_nccl_world(clean_env):
    import fake_nccl
    from gpuxla.backends.cuda import interpret
    if interpret.host_compiler() is None:
        pytest.skip("the fake GPUs run kernels on cuda-interpret (a host C++ compiler)")
    # SLURM says: one task, on this host; the coordinator's port comes from the job id.
    job_id = next(k for k in range(7, 4096) if bindable(65536 - 4096 + k))
    for k, v in {"SLURM_JOB_ID": str(job_id), "SLURM_STEP_NODELIST": "localhost", "SLURM_NTASKS": "1",
                 "SLURM_PROCID": "0", "SLURM_LOCALID": "0"}.items():
        clean_env.setenv(k, v)
    X = np.arange(8.0, dtype=np.float32).reshape(4, 2)
    with fake_nccl.installed(4):
        try:
            jax.distributed.initialize(initialization_timeout=10)
            assert jax.process_count() == 1 and jax.device_count() == 4
            comms = distributed._devices.world.engine.comms
            assert [c.rank_id() for c in comms] == [0, 1, 2, 3] and comms[0].size() == 4
            got = jax.pmap(lambda v: lax.psum(v, "i") * (lax.axis_index("i") + 1), axis_name="i")(jnp.asarray(X))
            np.testing.assert_allclose(np.asarray(got), X.sum(0) * np.arange(1, 5)[:, None])
            assert fake_nccl.calls and fake_nccl.calls[-1][:2] == ("allReduce", 4)
            with pytest.raises(RuntimeError, match="only be called once"):
                jax.distributed.initialize()
        finally:
            jax.distributed.shutdown()
    assert jax.process_count() == 1
