"""pytest-benchmark suites over the same workloads as `python -m bench`.

    pytest bench/ --benchmark-only                      # full sizes
    GPUXLA_BENCH_QUICK=1 pytest bench/ --benchmark-only # the --quick sizes
    pytest bench/ --benchmark-only -k "selu and jit"    # pick by workload / impl

Rows for JAX and CuPy are skipped when those libraries are not installed (GPUXLA_BENCH_NO_JAX=1
skips JAX even when it is). A gpuxla failure is a test failure, except while the gpuxla package
itself is not importable, when its rows are skipped. `python -m pytest` from the repository root
does not collect this folder (pyproject.toml: testpaths = tests).
"""
import os

import pytest

from bench import workloads as W

QUICK = os.environ.get("GPUXLA_BENCH_QUICK", "") not in ("", "0")
BACKENDS = W.make_backends(jax=os.environ.get("GPUXLA_BENCH_NO_JAX", "") in ("", "0"),
                           as_gpuxla=os.environ.get("GPUXLA_BENCH_AS_GPUXLA") or None)
CASES = W.make_cases(W.WORKLOADS, BACKENDS, quick=QUICK)
BY_NAME = {b.name: b for b in BACKENDS}


def _id(case):
    return f"{case.name}[{case.size}]-{case.impl}".replace(" ", "_")


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_workload(benchmark, case):
    why = W.available(BY_NAME[case.impl])
    if why:
        pytest.skip(why)
    try:
        built = case.build()
    except W.Unavailable as exc:
        pytest.skip(str(exc))
    except ModuleNotFoundError as exc:
        if exc.name == "gpuxla" or (exc.name or "").startswith("gpuxla."):
            pytest.skip(f"gpuxla is not importable yet: {exc}")
        raise
    fn, sync = built[0], built[1]
    check = built[2] if len(built) > 2 else None
    benchmark.group = f"{case.name} {case.size}"
    benchmark.extra_info.update({"workload": case.name, "size": case.size, "impl": case.impl,
                                 **{k: v for k, v in case.info().items() if v is not None}})

    def once():
        return sync(fn())

    once()  # first call: compilation, kept out of the statistics
    rounds = 3 if QUICK else 10
    benchmark.pedantic(once, rounds=rounds, warmup_rounds=1, iterations=1)
    if check is not None:
        out = fn()
        sync(out)
        msg = check(out)
        assert not msg, f"{case.impl} disagrees with NumPy on {case.name} {case.size}: {msg}"
