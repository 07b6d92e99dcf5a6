"""Benchmark harness: timing, the terminal table, JSON lines and the speed-up chart.

Nothing here knows about gpuxla. A benchmark is a list of `Case`s; each case knows how to build a
zero-argument callable and the function that waits for its result (the device sync). `run_cases`
times them one by one and turns every failure into a row that says what went wrong, so one broken
implementation never stops the run.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import signal
import socket
import statistics
import sys
import textwrap
import time
import traceback
from typing import Any, Callable, Iterable, Sequence

BASELINE = "numpy"


# ----------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TimingConfig:
    """How hard to try. Repeats stop at `max_repeats`, or once `budget_s` is spent and at least
    `min_repeats` samples exist. A sample is `number` back-to-back synced calls (chosen so one sample
    lasts about `target_sample_s`), divided by `number`: that keeps timer resolution out of
    microsecond-scale measurements such as dispatch overhead."""
    warmup: int = 3
    min_repeats: int = 5
    max_repeats: int = 50
    budget_s: float = 2.0
    target_sample_s: float = 2e-3
    max_number: int = 10_000

    @classmethod
    def quick(cls) -> "TimingConfig":
        return cls(warmup=1, min_repeats=3, max_repeats=15, budget_s=0.25, target_sample_s=1e-3,
                   max_number=2_000)


@dataclasses.dataclass
class Stats:
    median_s: float
    p25: float
    p75: float
    min_s: float
    max_s: float
    repeats: int
    number: int
    first_call_s: float

    @property
    def compile_s(self) -> float:
        # The first call pays tracing, compilation and kernel loading once; whatever it took beyond
        # a steady-state call is what we call compile time. Never negative (noise).
        return max(0.0, self.first_call_s - self.median_s)


def percentile(samples: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (NumPy's default method) without needing NumPy."""
    xs = sorted(samples)
    if not xs:
        raise ValueError("percentile of no samples")
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(samples: Sequence[float], *, number: int = 1, first_call_s: float = float("nan")
              ) -> Stats:
    return Stats(median_s=statistics.median(samples), p25=percentile(samples, 25),
                 p75=percentile(samples, 75), min_s=min(samples), max_s=max(samples),
                 repeats=len(samples), number=number, first_call_s=first_call_s)


class BenchTimeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float | None):
    """Raise BenchTimeout in the main thread after `seconds` (POSIX only; a no-op elsewhere).
    Python-level code is interrupted; a call stuck inside C code is interrupted when it returns."""
    usable = (seconds and seconds > 0 and hasattr(signal, "setitimer")
              and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None, signal.default_int_handler)
              and _in_main_thread())
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise BenchTimeout(f"no result within {seconds:g}s (see --timeout)")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _in_main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


def measure(fn: Callable[[], Any], sync: Callable[[Any], Any] = lambda out: None,
            cfg: TimingConfig = TimingConfig(), clock: Callable[[], float] = time.perf_counter,
            timeout_s: float | None = None) -> Stats:
    """Time `sync(fn())`. The clock is read only after `sync` returns, so asynchronous devices are
    measured to completion. The first call is timed on its own (it includes compilation)."""
    samples: list[float] = []
    number = 1
    first = float("nan")
    try:
        with _deadline(timeout_s):
            t0 = clock()
            sync(fn())
            first = clock() - t0
            est = first
            # A first call longer than the whole budget has warmed things up already.
            for _ in range(cfg.warmup if first < cfg.budget_s else 0):
                t0 = clock()
                sync(fn())
                est = clock() - t0
            if est > 0:
                number = int(min(cfg.max_number, max(1, cfg.target_sample_s // est)))
            started = clock()
            while len(samples) < cfg.max_repeats:
                t0 = clock()
                for _ in range(number):
                    sync(fn())
                samples.append((clock() - t0) / number)
                if len(samples) >= cfg.min_repeats and clock() - started >= cfg.budget_s:
                    break
    except BenchTimeout:
        if not samples:  # nothing steady-state to report: let the caller record the error
            raise
    return summarize(samples, number=number, first_call_s=first)


# ----------------------------------------------------------------------------------------------
# Cases and results
# ----------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    """One (workload, size, implementation). `build()` returns `(fn, sync)`: `fn()` runs the
    workload once on prepared inputs; `sync(out)` waits for the device. Building happens outside
    the timed region (data transfers, jit wrapping) and may raise: the row then shows the error."""
    name: str
    size: str
    impl: str
    build: Callable[[], tuple[Callable[[], Any], Callable[[Any], Any]]]
    info: Callable[[], dict] = dict          # device, platform, versions: asked after build()
    baseline: bool | None = None             # None: true when impl == BASELINE
    note: str = ""


@dataclasses.dataclass
class Result:
    name: str
    impl: str
    size: str
    stats: Stats | None = None
    error: str | None = None
    info: dict = dataclasses.field(default_factory=dict)
    speedup_vs_numpy: float | None = None
    note: str = ""
    check: str | None = None      # "ok", "mismatch: ...", "check failed: ...", or None (not checked)

    @property
    def bad_check(self) -> bool:
        return bool(self.check) and self.check != "ok"

    @property
    def median_s(self) -> float | None:
        return self.stats.median_s if self.stats else None


def format_error(exc: BaseException, limit: int = 160) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_cases(cases: Iterable[Case], cfg: TimingConfig = TimingConfig(), *,
              progress: Any = sys.stderr, timeout_s: float | None = None,
              verbose_errors: bool = False, clock: Callable[[], float] = time.perf_counter) -> list[Result]:
    cases = list(cases)
    results: list[Result] = []
    width = len(str(len(cases)))
    for i, case in enumerate(cases, 1):
        label = f"[{i:>{width}}/{len(cases)}] {case.name} {case.size} {case.impl}"
        tty = bool(progress) and getattr(progress, "isatty", lambda: False)()
        if progress:
            print(f"{label} ...", end="", file=progress, flush=True)
        res = Result(case.name, case.impl, case.size, note=case.note)
        t0 = time.perf_counter()
        try:
            built = case.build()
            fn, sync = built[0], built[1]
            res.stats = measure(fn, sync, cfg, clock=clock, timeout_s=timeout_s)
            if len(built) > 2 and built[2] is not None:
                res.check = _run_check(fn, sync, built[2])
        except (Exception, BenchTimeout) as exc:  # noqa: BLE001 - every failure becomes a row
            res.error = format_error(exc)
            if verbose_errors and progress:
                print("", file=progress)
                traceback.print_exc(file=progress)
        except KeyboardInterrupt:
            if progress:
                print(" interrupted", file=progress)
            raise
        try:
            res.info = dict(case.info() or {})
        except Exception as exc:  # noqa: BLE001
            res.info = {"info_error": format_error(exc)}
        results.append(res)
        if progress:
            took = time.perf_counter() - t0
            what = (f"error: {res.error}" if res.error else
                    f"{fmt_time(res.stats.median_s)} (x{res.stats.repeats}"
                    + (f"·{res.stats.number}" if res.stats.number > 1 else "") + ")")
            # On a terminal, rewrite the line; in a log, finish it.
            head = f"\r{label} " if tty else ""
            print(f"{head} {what}  [{took:.1f}s]", file=progress, flush=True)
    add_speedups(results)
    return results


def _run_check(fn, sync, check) -> str:
    """'ok', or what differs from NumPy (a wrong answer must not hide behind a good time)."""
    try:
        out = fn()
        sync(out)
        msg = check(out)
    except Exception as exc:  # noqa: BLE001
        return f"check failed: {format_error(exc)}"
    return "ok" if not msg else f"mismatch: {msg}"


def add_speedups(results: list[Result]) -> None:
    """speedup_vs_numpy = numpy's median / this median, for the same workload and size."""
    base = {(r.name, r.size): r.median_s for r in results if r.impl == BASELINE and r.median_s}
    for r in results:
        b = base.get((r.name, r.size))
        r.speedup_vs_numpy = (b / r.median_s) if (b and r.median_s) else None


# ----------------------------------------------------------------------------------------------
# Output: table, JSON lines, chart
# ----------------------------------------------------------------------------------------------

def fmt_time(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _fmt_speedup(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 10:
        return f"{x:.0f}x"
    return f"{x:.2f}x" if x >= 0.1 else f"{x:.2g}x"


TABLE_COLUMNS = ("workload", "size", "impl", "median", "p25–p75", "compile", "vs numpy")


def table_rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    rows = []
    for r in results:
        if r.error:
            rows.append((r.name, r.size, r.impl, f"error: {r.error}", "", "", ""))
            continue
        s = r.stats
        rows.append((r.name, r.size, r.impl, fmt_time(s.median_s),
                     f"{fmt_time(s.p25)}–{fmt_time(s.p75)}",
                     fmt_time(s.compile_s) if s.compile_s >= 1e-4 else "-",
                     _fmt_speedup(r.speedup_vs_numpy) + (" WRONG" if r.bad_check else "")))
    return rows


def render_table(results: Sequence[Result], *, title: str = "", notes: Sequence[str] = (),
                 markdown: bool = False, max_error: int = 90) -> str:
    rows = [tuple(c if not c.startswith("error: ") or len(c) <= max_error
                  else c[: max_error - 1] + "…" for c in row) for row in table_rows(results)]
    if markdown:
        return _render_markdown(results, title=title, notes=notes)
    # Error rows span the timing columns, so they do not widen them.
    widths = [len(h) for h in TABLE_COLUMNS]
    for row in rows:
        span = 3 if row[3].startswith("error: ") else len(row)
        for j in range(span):
            widths[j] = max(widths[j], len(row[j]))
    right = {3, 4, 5, 6}

    def line(cells):
        return "  ".join(c.rjust(widths[j]) if j in right else c.ljust(widths[j])
                         for j, c in enumerate(cells)).rstrip()

    out = [title] if title else []
    out.append(line(TABLE_COLUMNS))
    out.append("  ".join("-" * w for w in widths))
    prev = None
    for row in rows:
        key = (row[0], row[1])
        shown = list(row)
        if prev is not None and key[0] == prev[0]:
            shown[0] = ""  # group rows of one workload visually
            if key[1] == prev[1]:
                shown[1] = ""
        prev = key
        if row[3].startswith("error: "):
            head = "  ".join(c.ljust(widths[j]) for j, c in enumerate(shown[:3]))
            out.append(head + "  " + row[3])
        else:
            out.append(line(shown))
    out += [textwrap.fill(n, 100, initial_indent="note: ", subsequent_indent="      ")
            for n in notes]
    out += [f"WRONG: {r.name} {r.size} {r.impl}: {r.check}" for r in results if r.bad_check]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------------
# Memory bandwidth: achieved GB/s of the memory-bound rows against a plain copy on the same kind of
# device (the `copy` workload: CuPy's for GPU rows, NumPy's for CPU rows).
# ----------------------------------------------------------------------------------------------

YARDSTICK = "copy"
BANDWIDTH_COLUMNS = ("workload", "size", "impl", "GB/s", "of copy")


def _on_gpu(r: Result) -> bool:
    return str(r.info.get("platform", "")).lower() in ("cuda", "gpu")


def copy_bandwidth(results: Sequence[Result]) -> dict[bool, tuple[float, Result]]:
    """{on_gpu: (GB/s, row)}: per kind of device, the copy of the largest size (a small one runs
    from cache, or pays the launch overhead)."""
    best: dict[bool, tuple[float, Result]] = {}
    for r in results:
        if r.name == YARDSTICK and r.stats and r.info.get("bytes"):
            old = best.get(_on_gpu(r))
            if old is None or r.info["bytes"] > old[1].info["bytes"]:
                best[_on_gpu(r)] = (r.info["bytes"] / r.stats.median_s / 1e9, r)
    return best


def bandwidth_rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    copies = copy_bandwidth(results)
    rows = []
    for r in results:
        if r.name == YARDSTICK or not r.stats or not r.info.get("bytes"):
            continue
        gbps = r.info["bytes"] / r.stats.median_s / 1e9
        ref = copies.get(_on_gpu(r))
        rows.append((r.name, r.size, r.impl, f"{gbps:,.0f}" if gbps >= 10 else f"{gbps:.2f}",
                     f"{100 * gbps / ref[0]:.0f}%" if ref else "-"))
    return rows


def render_bandwidth(results: Sequence[Result]) -> str:
    rows = bandwidth_rows(results)
    if not rows:
        return ""
    widths = [max(len(h), *(len(row[j]) for row in rows)) for j, h in enumerate(BANDWIDTH_COLUMNS)]

    def line(cells):
        return "  ".join(c.rjust(widths[j]) if j >= 3 else c.ljust(widths[j]) for j, c in enumerate(cells)).rstrip()
    out = ["memory bandwidth: bytes a perfect implementation moves / median time", line(BANDWIDTH_COLUMNS),
           "  ".join("-" * w for w in widths)] + [line(row) for row in rows]
    for on_gpu, (gbps, r) in sorted(copy_bandwidth(results).items()):
        out.append(f"copy yardstick ({'GPU' if on_gpu else 'CPU'}): {r.impl} {r.name} {r.size}, {gbps:,.0f} GB/s "
                   f"on {r.info.get('device', '?')}")
    return "\n".join(out) + "\n"


def _render_markdown(results: Sequence[Result], *, title: str, notes: Sequence[str]) -> str:
    """One row per (workload, size), one column per implementation: "median (speed-up)"."""
    impls: list[str] = []
    groups: list[tuple[str, str]] = []
    cell: dict = {}
    for r in results:
        impls += [r.impl] if r.impl not in impls else []
        groups += [(r.name, r.size)] if (r.name, r.size) not in groups else []
        if r.error:
            text = "error: " + (r.error if len(r.error) <= 60 else r.error[:59] + "…")
        else:
            text = fmt_time(r.stats.median_s)
            if r.impl != BASELINE and r.speedup_vs_numpy is not None:
                text += f" ({_fmt_speedup(r.speedup_vs_numpy)})"
            elif r.speedup_vs_numpy is None and not math.isnan(r.stats.first_call_s):
                text += f" (first call {fmt_time(r.stats.first_call_s)})"
            if r.bad_check:
                text += " WRONG"
        cell[r.name, r.size, r.impl] = text.replace("|", "\\|")
    out = [f"**{title}**", ""] if title else []
    out.append("| workload | size | " + " | ".join(impls) + " |")
    out.append("|---|---|" + "|".join("--:" for _ in impls) + "|")
    for name, size in groups:
        out.append(f"| {name} | {size} | "
                   + " | ".join(cell.get((name, size, i), "") for i in impls) + " |")
    extra = list(notes) + [f"WRONG: {r.name} {r.size} {r.impl}: {r.check}"
                           for r in results if r.bad_check]
    if extra:
        out += [""] + [f"- {n}" for n in extra]
    return "\n".join(out) + "\n"


JSONL_FIELDS = ("name", "impl", "size", "median_s", "p25", "p75", "min_s", "max_s", "repeats",
                "number", "first_call_s", "compile_s", "speedup_vs_numpy", "device", "platform",
                "gpuxla_version", "numpy_version", "timestamp", "run_id", "host", "quick", "error", "check")


def result_record(r: Result, *, meta: dict) -> dict:
    s = r.stats
    rec = {
        "name": r.name, "impl": r.impl, "size": r.size,
        "median_s": s.median_s if s else None, "p25": s.p25 if s else None,
        "p75": s.p75 if s else None, "min_s": s.min_s if s else None,
        "max_s": s.max_s if s else None, "repeats": s.repeats if s else 0,
        "number": s.number if s else 0,
        "first_call_s": s.first_call_s if s and not math.isnan(s.first_call_s) else None,
        "compile_s": s.compile_s if s and not math.isnan(s.first_call_s) else None,
        "speedup_vs_numpy": r.speedup_vs_numpy,
        "device": r.info.get("device"), "platform": r.info.get("platform"),
        "gpuxla_version": meta.get("gpuxla_version"), "numpy_version": meta.get("numpy_version"),
        "timestamp": meta.get("timestamp"), "run_id": meta.get("run_id"),
        "host": meta.get("host"), "quick": meta.get("quick"), "error": r.error,
        "check": r.check,
    }
    rec.update({k: v for k, v in meta.items() if k not in rec})  # loadavg, cpu_count, ...
    extra = {k: v for k, v in r.info.items() if k not in rec and v is not None}
    if r.note:
        extra["note"] = r.note
    rec.update(extra)
    return rec


def write_jsonl(results: Sequence[Result], path: str, *, meta: dict) -> str:
    """Append one JSON object per (workload, size, impl) to `path` (runs of one day share a file;
    `run_id` tells them apart)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(result_record(r, meta=meta), sort_keys=False) + "\n")
    return path


def load_jsonl(path: str, run_id: str | None = None) -> tuple[list[Result], dict]:
    """The results of one run (the last in the file unless `run_id` is given) and its meta, to
    re-render a table or chart from a results file."""
    with open(path, encoding="utf-8") as f:
        recs = [json.loads(line) for line in f if line.strip()]
    if not recs:
        raise ValueError(f"{path}: no results")
    run_id = run_id or recs[-1].get("run_id")
    recs = [r for r in recs if r.get("run_id") == run_id]
    if not recs:
        raise ValueError(f"{path}: no results with run_id {run_id}")
    results = []
    for r in recs:
        stats = None
        if r.get("median_s") is not None:
            first = r.get("first_call_s")
            stats = Stats(r["median_s"], r["p25"], r["p75"], r.get("min_s", r["p25"]),
                          r.get("max_s", r["p75"]), r.get("repeats", 0), r.get("number", 1),
                          float("nan") if first is None else first)
        results.append(Result(r["name"], r["impl"], r["size"], stats=stats, error=r.get("error"),
                              info={k: r.get(k) for k in ("device", "platform", "bytes")},
                              speedup_vs_numpy=r.get("speedup_vs_numpy"), check=r.get("check")))
    meta = {k: recs[0].get(k) for k in ("timestamp", "run_id", "host", "quick",
                                         "gpuxla_version", "numpy_version")}
    return results, meta


def default_stem(now: _dt.datetime | None = None, host: str | None = None, tag: str = "") -> str:
    now = now or _dt.datetime.now()
    host = (host or socket.gethostname().split(".")[0] or "host").replace(os.sep, "_")
    tag = "".join(c if c.isalnum() or c in "-_." else "_" for c in tag)
    return f"{host}-{now:%Y-%m-%d}" + (f"-{tag}" if tag else "")


def write_chart(results: Sequence[Result], path: str, *, title: str = "") -> str | None:
    """Horizontal grouped bars of speed-up vs NumPy (log scale), one group per workload and size.
    Returns the path, or None (with a note on stderr) when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed (pip install -e '.[bench]'); no chart written",
              file=sys.stderr)
        return None
    groups: list[tuple[str, str]] = []
    impls: list[str] = []
    for r in results:
        if r.speedup_vs_numpy is None or r.impl == BASELINE:
            continue
        if (r.name, r.size) not in groups:
            groups.append((r.name, r.size))
        if r.impl not in impls:
            impls.append(r.impl)
    fig_h = max(2.5, 0.3 * len(groups) * max(1, len(impls)) ** 0.6 + 1.5)
    fig, ax = plt.subplots(figsize=(9, fig_h))
    if not groups:
        ax.text(0.5, 0.5, "no speed-ups to show (no successful non-NumPy rows)",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        n = len(impls)
        height = 0.8 / n
        by_key = {(r.name, r.size, r.impl): r.speedup_vs_numpy for r in results}
        wrong = {(r.name, r.size, r.impl) for r in results if r.bad_check}
        cmap = plt.get_cmap("tab10")
        for j, impl in enumerate(impls):
            ys, xs, bad = [], [], []
            for g, (name, size) in enumerate(groups):
                v = by_key.get((name, size, impl))
                if v:
                    ys.append(g + (j - (n - 1) / 2) * height)
                    xs.append(v)
                    bad.append((name, size, impl) in wrong)
            # Bars grow from 1 (as fast as NumPy): right is faster, left is slower.
            ax.barh(ys, [x - 1.0 for x in xs], height=height, left=1.0, label=impl,
                    color=cmap(j % 10))
            for y, x, b in zip(ys, xs, bad):
                ax.text(x, y, f" {_fmt_speedup(x)}{' WRONG' if b else ''} ",
                        va="center", ha="left" if x >= 1 else "right", fontsize=6,
                        color="red" if b else "black")
        ax.set_xscale("log")
        vals = [v for v in by_key.values() if v]
        lo, hi = min(vals + [1.0]), max(vals + [1.0])
        ax.set_xlim(lo / 3.0, hi * 3.0)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(groups)))
        ax.set_yticklabels([f"{n} {s}" for n, s in groups], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("speed-up vs NumPy (median time ratio, log scale; >1 is faster)")
        ax.legend(fontsize=8, loc="best")
        ax.grid(axis="x", which="both", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_meta(*, quick: bool, gpuxla_version: str | None, extra: dict | None = None) -> dict:
    import numpy
    now = _dt.datetime.now().astimezone()
    meta = {"timestamp": now.isoformat(timespec="seconds"), "run_id": now.strftime("%Y%m%dT%H%M%S"),
            "host": socket.gethostname(), "quick": quick, "gpuxla_version": gpuxla_version,
            "numpy_version": numpy.__version__}
    meta.update(extra or {})
    return meta
