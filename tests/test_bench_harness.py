"""Unit tests of the benchmark harness (bench/harness.py) with fake workloads: timing statistics,
error rows, the table, the JSON-lines schema and the chart. Needs nothing from gpuxla."""
import json
import os
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness as H  # noqa: E402
from bench import workloads as W  # noqa: E402


class FakeClock:
    """A clock that only moves when the fake workload says so."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def fake_workload(clock, step=0.01, first_extra=0.5):
    calls = []

    def fn():
        clock.t += step + (first_extra if not calls else 0.0)
        calls.append(1)
        return len(calls)
    return fn, calls


def test_percentile_matches_numpy():
    xs = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
    for q in (0, 25, 50, 75, 100):
        assert H.percentile(xs, q) == pytest.approx(np.percentile(xs, q))


def test_summarize():
    s = H.summarize([3.0, 1.0, 2.0, 4.0], first_call_s=10.0)
    assert (s.median_s, s.min_s, s.max_s, s.repeats) == (2.5, 1.0, 4.0, 4)
    assert s.p25 == pytest.approx(1.75) and s.p75 == pytest.approx(3.25)
    assert s.compile_s == pytest.approx(7.5)
    assert H.summarize([2.0], first_call_s=1.0).compile_s == 0.0  # never negative


def test_measure_separates_compile_and_syncs_every_call():
    clock = FakeClock()
    fn, calls = fake_workload(clock)
    synced = []
    cfg = H.TimingConfig(warmup=2, min_repeats=4, max_repeats=7, budget_s=1e9,
                         target_sample_s=0.0)
    s = H.measure(fn, synced.append, cfg, clock=clock)
    assert s.repeats == 7 and s.number == 1
    assert s.median_s == pytest.approx(0.01)
    assert s.first_call_s == pytest.approx(0.51)
    assert s.compile_s == pytest.approx(0.5)
    assert synced == list(range(1, len(calls) + 1))  # each result waited for, in order
    assert len(calls) == 1 + 2 + 7


def test_measure_batches_fast_calls_and_respects_budget():
    clock = FakeClock()
    fn, calls = fake_workload(clock, step=1e-6, first_extra=0.0)
    cfg = H.TimingConfig(warmup=1, min_repeats=3, max_repeats=100, budget_s=0.0,
                         target_sample_s=1e-4)
    s = H.measure(fn, lambda out: None, cfg, clock=clock)
    assert s.number == 100                       # 1e-4 / 1e-6 calls per sample
    assert s.repeats == 3                        # budget spent: stop at min_repeats
    assert s.median_s == pytest.approx(1e-6)


@pytest.mark.skipif(not hasattr(__import__("signal"), "setitimer"), reason="POSIX only")
def test_measure_timeout():
    def slow():
        for _ in range(100):
            time.sleep(0.01)
    with pytest.raises(H.BenchTimeout):
        H.measure(slow, cfg=H.TimingConfig(warmup=0, min_repeats=1, max_repeats=1),
                  timeout_s=0.1)


def _case(name, impl, fn=lambda: 1, build_error=None, check=None, size="n"):
    def build():
        if build_error:
            raise build_error
        return (fn, lambda out: None) + ((check,) if check else ())
    return H.Case(name, size, impl, build, info=lambda: {"device": "cpu", "platform": "fake"})


QUICK = H.TimingConfig(warmup=0, min_repeats=2, max_repeats=3, budget_s=0.0,
                       target_sample_s=0.0)


def _results():
    def boom():
        raise ValueError("boom at call time")
    cases = [
        _case("work", "numpy", fn=lambda: sum(range(2000))),
        _case("work", "fast", fn=lambda: 1),
        _case("work", "broken", build_error=ModuleNotFoundError("No module named 'gpuxla'")),
        _case("work", "raises", fn=boom),
        _case("work", "wrong", fn=lambda: 1, check=lambda out: "relative error 1.0 > 0.001"),
        _case("other", "numpy", fn=lambda: 1, check=lambda out: None),
    ]
    return H.run_cases(cases, QUICK, progress=None)


def test_run_cases_turns_failures_into_rows_and_computes_speedups():
    res = {(r.name, r.impl): r for r in _results()}
    assert res["work", "broken"].error == "ModuleNotFoundError: No module named 'gpuxla'"
    assert res["work", "raises"].error == "ValueError: boom at call time"
    assert res["work", "broken"].stats is None and res["work", "broken"].speedup_vs_numpy is None
    assert res["work", "numpy"].speedup_vs_numpy == pytest.approx(1.0)
    fast = res["work", "fast"]
    assert fast.speedup_vs_numpy == pytest.approx(res["work", "numpy"].median_s / fast.median_s)
    assert res["work", "wrong"].check.startswith("mismatch: ") and res["work", "wrong"].bad_check
    assert res["other", "numpy"].check == "ok"
    assert res["work", "fast"].info == {"device": "cpu", "platform": "fake"}


def test_render_table():
    results = _results()
    text = H.render_table(results, title="T", notes=["--quick: smaller"])
    lines = text.splitlines()
    assert lines[0] == "T"
    for col in H.TABLE_COLUMNS:
        assert col in lines[1]
    assert "error: ValueError: boom at call time" in text
    assert "error: ModuleNotFoundError: No module named 'gpuxla'" in text
    assert "1.00x" in text and "WRONG" in text
    assert "note: --quick: smaller" in text
    md = H.render_table(results, title="T", notes=["n"], markdown=True)
    lines = md.splitlines()
    assert lines[2] == "| workload | size | numpy | fast | broken | raises | wrong |"
    assert lines[3].startswith("|---|---|--:|")
    work = next(line for line in lines if line.startswith("| work |"))
    assert "error: ValueError: boom at call time" in work and "WRONG" in work
    assert "x) |" in work  # speed-ups next to the medians
    assert "- n" in lines


def test_fmt_time_units():
    assert H.fmt_time(5e-7) == "500 ns"
    assert H.fmt_time(2.5e-5) == "25.0 µs"
    assert H.fmt_time(0.0125) == "12.50 ms"
    assert H.fmt_time(3.0) == "3.00 s"
    assert H.fmt_time(None) == "-"


REQUIRED = {"name", "impl", "size", "median_s", "p25", "p75", "repeats", "compile_s", "device",
            "platform", "gpuxla_version", "numpy_version", "timestamp", "speedup_vs_numpy"}


def test_jsonl_schema(tmp_path):
    results = _results()
    meta = H.run_meta(quick=True, gpuxla_version="0.0.test")
    path = H.write_jsonl(results, str(tmp_path / "sub" / (H.default_stem() + ".jsonl")),
                         meta=meta)
    recs = [json.loads(line) for line in open(path, encoding="utf-8")]
    assert len(recs) == len(results)
    for rec in recs:
        assert REQUIRED <= set(rec)
        assert set(H.JSONL_FIELDS) <= set(rec)
        assert rec["gpuxla_version"] == "0.0.test" and rec["numpy_version"] == np.__version__
        assert rec["platform"] == "fake" and rec["device"] == "cpu"
        if rec["error"]:
            assert rec["median_s"] is None and rec["repeats"] == 0
        else:
            assert rec["p25"] <= rec["median_s"] <= rec["p75"] and rec["repeats"] >= 2
            assert isinstance(rec["compile_s"], float)
    # a second run of the same day appends, told apart by run_id
    H.write_jsonl(results[:1], path, meta=meta)
    assert len(open(path, encoding="utf-8").read().splitlines()) == len(results) + 1


def test_default_stem():
    import datetime
    assert H.default_stem(datetime.datetime(2026, 1, 2), host="box") == "box-2026-01-02"


def test_chart_written(tmp_path):
    pytest.importorskip("matplotlib")
    path = H.write_chart(_results(), str(tmp_path / "c.png"), title="t")
    assert path and open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # nothing to plot still gives a picture, not a crash
    assert H.write_chart([], str(tmp_path / "empty.png"))


def test_chart_skipped_without_matplotlib(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert H.write_chart(_results(), str(tmp_path / "c.png")) is None
    assert "matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_select_by_substring_and_comma_lists():
    names = lambda ws: [w.name for w in ws]  # noqa: E731
    assert names(W.select(W.WORKLOADS, ["selu"])) == ["selu"]
    assert set(names(W.select(W.WORKLOADS, ["softmax,layernorm"]))) == {"softmax", "layernorm"}
    assert set(names(W.select(W.WORKLOADS, ["matvec", "random"]))) == {
        "matvec_naive", "matvec_manual", "matvec_vmap", "random_normal"}
    assert W.select(W.WORKLOADS, []) == W.WORKLOADS


def test_issue_workloads_present():
    names = {w.name for w in W.WORKLOADS}
    assert {"matmul", "selu", "grad_sum_logistic", "matvec_naive", "matvec_manual", "matvec_vmap",
            "mlp_train_step", "per_example_grads", "softmax", "layernorm", "random_normal",
            "dispatch_add", "compile_mlp_step"} <= names


def test_numpy_impls_agree_with_their_own_reference_on_tiny_sizes():
    numpy_backend = W.NumpyLike("numpy", "numpy")
    for w in W.WORKLOADS:
        if w.impls is not None and "numpy" not in w.impls:
            continue
        spec = w.make(w.quick_sizes[0] if not w.name.startswith("matmul") else 8)
        fn, sync = numpy_backend.bind(spec)
        out = fn()
        assert numpy_backend.check(spec, out) is None, w.name


def test_hand_written_mlp_backward_matches_finite_differences():
    sizes = (5, 4, 3)
    params = [tuple(a.astype(np.float64) for a in p) for p in W.mlp_init(sizes)]
    x, y = (a.astype(np.float64) for a in W.mlp_batch(6, sizes))
    new = W.mlp_step_by_hand(np)(params, x, y)
    per_ex = W.per_example_grads_by_hand(np)(params, x, y)
    grads = [((w - nw) / W.LR, (b - nb) / W.LR) for (w, b), (nw, nb) in zip(params, new)]
    loss = lambda ps: W.mlp_loss(np, ps, x, y)  # noqa: E731
    rng = np.random.default_rng(3)
    for i in range(len(params)):
        for j in range(2):
            d = rng.standard_normal(params[i][j].shape)
            bumped = lambda eps: [tuple(p + eps * d if (k, m) == (i, j) else p  # noqa: E731
                                        for m, p in enumerate(layer))
                                  for k, layer in enumerate(params)]
            fd = (loss(bumped(1e-6)) - loss(bumped(-1e-6))) / 2e-6
            assert np.sum(grads[i][j] * d) == pytest.approx(fd, rel=1e-5, abs=1e-8)
            # per-example gradients average to the batch gradient
            assert per_ex[i][j].mean(axis=0) == pytest.approx(grads[i][j], rel=1e-6, abs=1e-10)


def test_cli_always_completes(tmp_path, capsys):
    from bench.__main__ import main
    assert main(["--quick", "--only", "dispatch", "--no-jax", "--no-cupy",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "dispatch_add" in out and "numpy" in out
    jsonl = list(tmp_path.glob("*.jsonl"))
    assert len(jsonl) == 1
    recs = [json.loads(line) for line in jsonl[0].read_text().splitlines()]
    assert {r["impl"] for r in recs} == {"numpy", "gpuxla", "gpuxla-jit"}
    assert all(REQUIRED <= set(r) for r in recs)


def test_cli_list(capsys):
    from bench.__main__ import main
    assert main(["--list"]) == 0
    assert "grad_sum_logistic" in capsys.readouterr().out


def test_bandwidth_table_compares_with_the_largest_copy_on_the_same_kind_of_device():
    def row(name, size, impl, seconds, nbytes, platform):
        return H.Result(name, impl, size, stats=H.summarize([seconds] * 3),
                        info={"bytes": nbytes, "platform": platform, "device": "dev-" + platform})
    results = [
        row("copy", "1e5", "numpy", 1e-5, 8e5, "numpy"),      # 80 GB/s from cache: not the yardstick
        row("copy", "1e6", "numpy", 1e-3, 8e6, "numpy"),      # 8 GB/s
        row("copy", "1e6", "cupy", 8e-6, 8e6, "cuda"),        # 1000 GB/s
        row("selu", "1e6", "gpuxla", 2e-3, 8e6, "numpy"),     # 4 GB/s
        row("selu", "1e6", "gpuxla-jit", 1e-5, 8e6, "cuda"),  # 800 GB/s
        row("selu", "1e6", "jax-jit", 2e-5, 8e6, "gpu"),      # 400 GB/s
        row("matmul", "8x8", "numpy", 1e-3, None, "numpy"),   # not memory-bound: no row
    ]
    assert H.bandwidth_rows(results) == [
        ("selu", "1e6", "gpuxla", "4.00", "50%"),
        ("selu", "1e6", "gpuxla-jit", "800", "80%"),
        ("selu", "1e6", "jax-jit", "400", "40%"),
    ]
    text = H.render_bandwidth(results)
    assert "copy yardstick (CPU): numpy copy 1e6, 8 GB/s on dev-numpy" in text
    assert "copy yardstick (GPU): cupy copy 1e6, 1,000 GB/s on dev-cuda" in text
    assert H.render_bandwidth(results[-1:]) == ""


def test_memory_bound_workloads_count_their_bytes():
    for name, size, nbytes in [("selu", 10, 80), ("copy", 10, 80), ("grad_sum_logistic", 10, 80),
                               ("softmax", (4, 8), 256), ("layernorm", (4, 8), 256 + 64),
                               ("random_normal", 10, 40)]:
        (w,) = [w for w in W.WORKLOADS if w.name == name]
        assert w.make(size).bytes == nbytes, name


def test_cli_prints_and_saves_the_bandwidth_table(tmp_path, capsys):
    from bench.__main__ import main
    assert main(["--quick", "--only", "copy,selu", "--no-jax", "--no-cupy", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "memory bandwidth" in out and "copy yardstick (CPU): numpy copy 1e6" in out
    (jsonl,) = tmp_path.glob("*.jsonl")
    recs = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert {(r["name"], r["size"], r["bytes"]) for r in recs} == {
        ("copy", "1e5", 800_000), ("copy", "1e6", 8_000_000), ("selu", "1e5", 800_000), ("selu", "1e6", 8_000_000)}
    assert main(["--report", str(jsonl), "--no-save"]) == 0
    again = capsys.readouterr().out
    assert "memory bandwidth" in again and "copy yardstick (CPU): numpy copy 1e6" in again


def test_cli_warns_when_a_gpu_was_expected_but_the_cpu_runs(tmp_path, capsys, monkeypatch):
    """The Docker image sets GPUXLA_EXPECT_GPU=1: started without `--gpus all` it must say that
    it measures the CPU, in the header and in the table's notes, not pass CPU numbers off quietly."""
    from bench.__main__ import main, platform_report
    monkeypatch.delenv("GPUXLA_PLATFORM", raising=False)
    monkeypatch.setenv("GPUXLA_EXPECT_GPU", "1")
    platform, warning = platform_report()
    assert platform in ("numpy", "cpu", "cuda-interpret") and "no CUDA GPU is visible" in warning
    assert "--gpus all" in warning
    assert main(["--quick", "--only", "dispatch", "--no-jax", "--no-cupy", "--no-save"]) == 0
    captured = capsys.readouterr()
    assert f"gpuxla platform {platform}" in captured.err and "no CUDA GPU is visible" in captured.err
    assert "no CUDA GPU is visible" in captured.out
    monkeypatch.setenv("GPUXLA_PLATFORM", "numpy")       # chosen on purpose: no warning
    assert platform_report() == (platform, None)
