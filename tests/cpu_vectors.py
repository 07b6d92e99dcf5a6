"""Run the PRNG reference vectors on the cpu platform (a helper of tests/test_cpu_platform.py).

    GPUXLA_PLATFORM=cpu python tests/cpu_vectors.py 0|1     # x64 off|on

Eager calls compile one program each; a host module per program would cost minutes. So: a first
pass runs every vector on NumPy and records the programs it compiled, their kernels are built as
a few modules in parallel, and the second pass -- the one checked -- runs on the cpu platform and
finds every kernel already loaded. Prints {"platform", "kernels_run", "results"} as JSON.
"""
import json
import sys

from gpuxla import backends
from gpuxla.backends import cpu
from gpuxla.backends.cpu import runtime as cpu_rt
from gpuxla.backends.numpy import NumpyBackend

from test_random import check_vectors


class _Recording(NumpyBackend):
    platform = "cpu"        # control-flow bodies are cached per platform name

    def __init__(self):
        super().__init__()
        self.programs = []

    def compile(self, program):
        self.programs.append(program)
        return super().compile(program)


def main(x64):
    rec = _Recording()
    backends._backend = rec
    check_vectors(x64)
    be = cpu.CpuBackend()
    be.compile_many(rec.programs)
    backends._eager_cache.clear()
    # Eager graphs go native at once (their kernels are built): the tiered default would run
    # them on NumPy until a background build lands, so how many ran native depended on timing.
    be.compile_tiered = be.compile
    backends._backend = be
    launches = [0]
    launch, lines = cpu_rt.CpuRuntime.launch, cpu_rt.CpuRuntime.launch_lines

    def counting(self, k, args):
        launches[0] += 1
        return launch(self, k, args)

    def counting_lines(self, k, fixed, exprs, ns):      # (what a frame's kernel steps launch with)
        ns["gx_counted"] = counting_step
        return ["gx_counted()"] + lines(self, k, fixed, exprs, ns)

    def counting_step():
        launches[0] += 1
    cpu_rt.CpuRuntime.launch, cpu_rt.CpuRuntime.launch_lines = counting, counting_lines
    res = check_vectors(x64)
    assert be.fallback is None, be.fallback
    print(json.dumps({"platform": backends.get_backend().platform, "kernels_run": launches[0],
                      "programs": len(rec.programs), "compiled": cpu_rt.compile_stats, "results": res}))


if __name__ == "__main__":
    main(bool(int(sys.argv[1])))
