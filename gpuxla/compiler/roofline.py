"""The static roofline of a fused program: per kernel and library call, the bytes it must move, the
arithmetic it does and its launch shape (#19).

"Must move" is each operand read once and each result written once: what a kernel at the memory
bandwidth limit costs. A kernel that reads more (a stencil, a row read twice) is slower than its
figure says, which is what the report is for: a kernel far from its roofline on a GPU is the one to
fix. The counts follow each primitive's `cost` trait: an element of an arithmetic primitive is one
flop, of a transcendental one transcendental (as XLA's cost analysis counts them), index movement
and converts are free; a reduction stage is one flop per element it reads; dot_general is
2*M*N*K flops.

What a kernel "does move" (bytes_traffic) also counts loads whose neighbouring lanes read apart: a
loop kernel reading an operand transposed (x.T + y) without the shared-memory tiles of
lower.transpose_tiling fetches a SECTOR-byte sector for each element, unless another warp happens to
share it in cache -- the figure is the bound without that reuse, which a GPU run can only improve.
"""
import math

from ..core import primitives as P
from ..core.graph import TRANSCENDENTAL
from .lower import FILL_WARPS
from .render import render

SECTOR = 32     # bytes: the unit a GPU's L1/L2 move



def _nbytes(aval):
    return aval.size * aval.dtype.itemsize


def _kernel_row(info, g):
    k, ctx = g.lowered.kernel, g.lowered.ctx
    flops = trans = 0
    for s in ctx.inlined:
        e = info.eqns.get(s)
        if e is None or not e.prim.cost or s in g.stages:   # stages are counted below, per element read
            continue
        n = e.aval.size * max(1, ctx.evals.get(s, 1))
        if e.prim.cost >= TRANSCENDENTAL:
            trans += n
        else:
            flops += n
    for s in g.stages:                                   # a reduction stage: one op per element read
        flops += info.avals[info.eqns[s].ins[0]].size
    grid, block = k.launch
    reads = getattr(k, "row_reads", {})
    by_name = {p.name: p.slot for p in k.params if p.role == "in"}
    written = sum(_nbytes(info.avals[s]) for s in k.outputs)
    strided = {n: by_name[n] for n in k.info.get("strided", ())}
    sectors = sum(info.avals[s].size * max(SECTOR, info.avals[s].dtype.itemsize) - _nbytes(info.avals[s])
                  for s in strided.values())
    return {
        "name": k.name, "kind": k.kind, "strategy": k.strategy,
        "grid": grid, "block": block, "threads": math.prod(grid) * math.prod(block),
        "bytes_read": sum(_nbytes(info.avals[s]) for s in k.inputs),
        "bytes_written": written,
        "passes": max(reads.values(), default=1),
        "bytes_traffic": written + sectors + sum(_nbytes(info.avals[s]) * max(1, reads.get(n, 1))
                                                 for n, s in by_name.items()),
        "bytes_strided": sum(_nbytes(info.avals[s]) for s in strided.values()),
        "fill": min(1.0, math.prod(grid) * math.prod(block) / 32 / FILL_WARPS),
        "flops": flops, "transcendentals": trans,
        "shared_mem": k.shared_mem,
    }


def _library_row(info, g):
    e = g.eqn
    outs = e.aval if isinstance(e.aval, tuple) else (e.aval,)
    flops = 0
    if e.prim is P.dot_general_p:
        (lc, _), _ = e.params["dimension_numbers"]
        lhs = info.avals[e.ins[0]]
        flops = 2 * outs[0].size * math.prod(lhs.shape[d] for d in lc)
    return {
        "name": e.prim.name, "kind": "library", "strategy": "", "grid": None, "block": None, "threads": None,
        "bytes_read": sum(_nbytes(info.avals[s]) for s in e.ins if not isinstance(info.avals[s], tuple)),
        "bytes_written": sum(_nbytes(a) for a in outs), "passes": 1, "fill": None, "bytes_strided": 0,
        "flops": flops, "transcendentals": 0, "shared_mem": 0,
    }


def rows(fusion):
    """One dict per step of a fused program (compiler.fusion.Fusion), in order: name, kind,
    strategy, grid, block, threads, bytes_read, bytes_written (what it must move), passes (reads
    of a reduction's rows), bytes_traffic (what it does move: several passes, a sector per element
    of a strided read), bytes_strided (operand bytes read with neighbouring lanes apart), fill (share
    of a GPU its launch keeps busy), est_bandwidth (the two together), flops, transcendentals,
    shared_mem (dynamic shared memory a block of it takes: rows kept in shared memory)."""
    for k in fusion.kernels:
        if k.launch is None:
            render(k)
    info = fusion.info
    out = [_library_row(info, g) if g.kind == "library" else _kernel_row(info, g) for g in fusion.groups]
    for r in out:
        r.setdefault("bytes_traffic", r["bytes_read"] + r["bytes_written"])
        # The share of the memory bandwidth a kernel can reach, statically: bytes it must move over
        # bytes it does move (a row read in several passes), times how much of the GPU its launch
        # keeps busy (warps over lower.FILL_WARPS). 1.0 is the roofline; a GPU run measures the rest.
        r["est_bandwidth"] = None if r["fill"] is None else \
            (r["bytes_read"] + r["bytes_written"]) / max(r["bytes_traffic"], 1) * r["fill"]
    return out


def measured(report, timed, copy_bandwidth):
    """`report` with each step's measured time added to its row. `timed`: {step: (seconds, the
    steps whose work that is)} (Executable.profile: a batched product covers its members, a
    product with an update folded in the update's kernel). Each row gets time_us, covers (those
    steps; None for a step that launches nothing or whose work another's time includes), gbs (the
    bytes the covered steps must move over that time, in GB/s: a folded update's intermediate
    counted as written and read), copy_gbs (`copy_bandwidth`, bytes/s, in GB/s) and pct_copy
    (100 * gbs / copy_gbs); time_us, gbs and pct_copy are None where covers is."""
    copy_gbs = copy_bandwidth / 1e9
    out = []
    for n, r in enumerate(report):
        r = dict(r)
        t, covers = timed.get(n, (None, None))
        gbs = None if t is None else \
            sum(report[m]["bytes_read"] + report[m]["bytes_written"] for m in covers) / max(t, 1e-12) / 1e9
        r.update(time_us=None if t is None else t * 1e6, covers=covers, gbs=gbs, copy_gbs=copy_gbs,
                 pct_copy=None if gbs is None else 100 * gbs / copy_gbs)
        out.append(r)
    return out


def totals(report):
    """XLA's cost-analysis keys, summed over the steps."""
    return {"flops": float(sum(r["flops"] for r in report)),
            "transcendentals": float(sum(r["transcendentals"] for r in report)),
            "bytes accessed": float(sum(r["bytes_read"] + r["bytes_written"] for r in report))}


def table(report, bandwidth=None):
    """The report as text. With `bandwidth` (bytes/s), each row also gets the time its bytes take
    at that bandwidth: the floor a kernel can reach. A measured report (`measured`) also gets each
    step's time, GB/s and share of the copy bandwidth."""
    head = (f"{'step':<28} {'strategy':<14} {'launch':<18} {'MB moved':>9} {'passes':>6} {'est %bw':>7} "
            f"{'MFLOP':>8} {'trans/M':>8} {'F/B':>6}")
    timed = any("time_us" in r for r in report)
    lines = [head + (f" {'floor µs':>9}" if bandwidth else "") + (f" {'time µs':>9} {'GB/s':>8} {'% copy':>6}"
                                                                    if timed else "")]
    for r in report:
        moved = r["bytes_read"] + r["bytes_written"]
        launch = f"{r['grid'][0]}x{r['grid'][1]}x{r['block'][0]}" if r["grid"] else "-"
        est = f"{100 * r['est_bandwidth']:.0f}" if r["est_bandwidth"] is not None else "-"
        line = (f"{r['name'][:28]:<28} {r['strategy'][:14]:<14} {launch:<18} {moved / 1e6:>9.3f} "
                f"{r['passes']:>6} {est:>7} {r['flops'] / 1e6:>8.3f} {r['transcendentals'] / 1e6:>8.3f} "
                f"{(r['flops'] + r['transcendentals']) / max(moved, 1):>6.2f}")
        if bandwidth:
            line += f" {moved / bandwidth * 1e6:>9.2f}"
        if timed:
            line += f" {'-':>9} {'-':>8} {'-':>6}" if r.get("time_us") is None else \
                f" {r['time_us']:>9.2f} {r['gbs']:>8.2f} {r['pct_copy']:>6.1f}"
        lines.append(line)
    return "\n".join(lines)
