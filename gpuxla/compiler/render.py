"""A lowered `Kernel` (compiler/lower.py) -> C: one C-style renderer, two dialects.

`CStyle` prints what both dialects share: the statements of the kernel IR (lets, stores, ifs,
argmax steps), the header and helper sections, the kernel's name (`gx_<kind>_<hash of its text>`).
A dialect spells the rest -- the skeleton statements (the loops over outputs and reduced values,
the cross-thread combine, the leader), the function signature and how it is launched:
  * `CudaDialect` (`render`): one `extern "C" __global__` function per kernel with shapes baked in
    as constants and grid-stride loops. The same text compiles under NVRTC for the GPU and under
    the host C++ compiler for the cuda-interpret platform (gpuxla/kernels/gx_interpret.h).
  * `CpuDialect` (`render_cpu`): plain C++ loops for the native `cpu` platform
    (backends/cpu/); see its docstring.
The C that only some kernels need (warp shuffles, the argmax/argmin step, nextafter in 16 bits)
lives in gpuxla/kernels/gx_reduce.cuh; each kernel's text carries the sections of it that it uses.

Loop kernels: `loop` (a thread per element, grid-stride), `loop-vec4` (4 elements a thread, one wide
load or store per buffer read or written at the output index, when aligned), `tile-transpose`
(lower.transpose_tiling: an operand read transposed goes through a 32x33 shared tile, so that both
its loads and the output's stores are coalesced; with 4-wide loads and stores for the rest when
aligned; the CPU dialect takes blocks of the same form through a local buffer, CpuDialect.tile).
Each computes every element by the same expression.

Reduction strategies (lower.choose_form), all deterministic -- the order in which values are
combined depends only on the shapes (baked into the text), never on timing or on the grid: every
form loops over its work items grid-stride, so any grid gives the same bits.
  thread  one thread per output row, a sequential loop over the row (short rows);
  warp    one warp per row: lanes stride the row, then a shuffle tree to lane 0 and a broadcast;
  block   one block per row: warp trees, per-warp partials in shared memory, every warp reduces
          the partials in the same order so all threads hold the same bits;
A reduction of several passes over a row (softmax, layernorm) reads each row once when the values
its passes share fit: in registers (CudaDialect.body, up to ROW_CACHE values a thread) or, for the
block form, in dynamic shared memory (CudaDialect._shared_rows, up to ROW_SHARED_BYTES a block).
  split   few long rows: each row is cut into fixed chunks, a block reduces a chunk into a
          scratch array, and the block that completes the row (atomic counter) reduces its
          partials in chunk order and runs the epilogue;
  tile    reductions whose neighbouring outputs are contiguous (column sums, middle axes): a block
          is (outputs x row lanes) threads, each striding the reduced axis for its output, the row
          lanes combined by a fixed halving tree in shared memory; long columns are cut into chunks
          combined like split's, by the block that completes the tile.
"""
import hashlib
import re
from pathlib import Path

import numpy as np

from .builder import _uses, _walk, prune, strides
from .cexpr import literal, stype
from .lower import ARG_REDUCE, ROW_CACHE, ROW_CACHE_VALUES, TILE, TILE_ROWS, reduce_combine

BLOCK = 256
MAX_GRID = 8192
# Rows of a multi-pass block reduction too long for registers stay in dynamic shared memory
# (CudaDialect._shared_rows) when the values its passes share take at most this many bytes a block:
# 96 KiB leaves room for two blocks of 512 threads on an SM of an H100 (228 KiB) and fits the opt-in
# limit of an A100 (163 KiB) and of sm_86/89 parts (99 KiB). Launches above 48 KiB opt in
# (backends/cuda/runtime.py). 0 switches the form off (the tests compare the two).
ROW_SHARED_BYTES = 96 * 1024


def _helper_sections():
    """{name: C text} of the guarded sections of kernels/gx_reduce.cuh (GX_FUSED_SHFL -> "shfl")."""
    text = (Path(__file__).resolve().parent.parent / "kernels" / "gx_reduce.cuh").read_text()
    return {m.group(1).lower(): m.group(0)
            for m in re.finditer(r"^#ifndef GX_FUSED_(\w+)\n.*?^#endif$", text, re.M | re.S)}


# Copied into the kernels that use them (see the header's comment for why not #included).
_HELPERS = _helper_sections()


class CStyle:
    """What both dialects print alike; a subclass spells the skeleton statements and the function."""

    def __init__(self, k):
        self.k = k
        self.helpers = set()
        info = k.info
        self.n_out, self.n_red = info.get("n_out", k.size), info.get("n_red", 1)

    def stmts(self, stmts, ind):
        out = []
        pad = "  " * ind
        for st in stmts:
            op = st[0]
            if op == "let":
                out.append(f"{pad}const {st[1]} {st[2]} = {st[3]};")
            elif op == "init":
                out.append(f"{pad}{st[1]} {st[2]} = {st[3]};")
            elif op == "decl":
                out.append(f"{pad}{st[1]} {st[2]};")
            elif op == "set":
                out.append(f"{pad}{st[1]} = {st[2]};")
            elif op == "store":
                out.append(self.store(st, pad))
            elif op == "if":
                for k, (cond, body) in enumerate(st[1]):
                    head = "if" if k == 0 else "} else if" if cond is not None else "} else"
                    out.append(f"{pad}{head} ({cond}) {{" if cond is not None else f"{pad}{head} {{")
                    out += self.stmts(body, ind + 1)
                out.append(f"{pad}}}")
            elif op == "argstep":
                s = st[1]
                out.append(f"{pad}gx_arg{ARG_REDUCE[s.prim]}_step({s.acc}, {s.idx}, {st[2]}, {st[3]});")
            else:
                out += self.skeleton(st, ind)
        return out

    def body(self):
        """The statements to print (a dialect may rewrite the kernel's)."""
        return self.k.body

    def store(self, st, pad):
        return f"{pad}{st[1]}[{st[2]}] = {st[3]};"

    def skeleton(self, st, ind):
        raise NotImplementedError(type(self).__name__)

    def prologue(self):
        """Lines at the top of the kernel body, after the index typedef."""
        return []

    def function(self, text):
        """The kernel function (named GX_NAME) around the body `text`."""
        raise NotImplementedError(type(self).__name__)

    def finish(self, k):
        """Set what the backend needs to launch `k` (k.launch, ...)."""

    def render(self):
        k = self.k
        if any(st.arg for st in k.info.get("stages", ())):
            self.helpers.add("arg")
        stmts = self.body()
        k.row_reads = _row_reads(stmts, [p.name for p in k.params if p.role == "in"])
        body = [f"  typedef {k.ix_type} gx_ix;"] + self.prologue() + self.stmts(stmts, 1)
        text = "\n".join(body)
        if "gx_nextafter_f16" in text or "gx_nextafter_bf16" in text:
            self.helpers.add("nextafter16")
        head = [_describe(k), '#include "gx_common.cuh"']
        head += [_HELPERS[h] for h in ("shfl", "arg", "nextafter16") if h in self.helpers]
        src = "\n".join(head) + "\n\n" + self.function(text)
        k.name = f"gx_{k.kind}_{hashlib.sha256(src.encode()).hexdigest()[:12]}"
        k.source = src.replace("GX_NAME", k.name)
        k.helpers = self.helpers
        self.finish(k)
        return k.source


class CudaDialect(CStyle):
    """CUDA C: grid-stride loops, warp/block trees for reductions (the strategies above)."""

    def __init__(self, k):
        super().__init__(k)
        self.block = launch_block(k)
        self.form = k.info.get("form")
        self.chunks = k.info.get("chunks", 1)
        self.cache = None      # (values per thread, first lane, stride) when rows live in registers
        self.tail = 0          # where the scalar loop starts (the tail of a vectorised loop)
        self.smem_rows = None  # [(buffer, C type)] when rows live in shared memory (_shared_rows)

    def prologue(self):
        k, out = self.k, []
        if k.strategy in ("warp", "block", "split"):
            out.append("  const int gx_lane = threadIdx.x & 31;")
        if k.strategy in ("block", "split"):
            out.append("  const int gx_warp = threadIdx.x >> 5;")
            for st in k.info["stages"]:
                out.append(f"  __shared__ {st.acc_type} gx_sm{st.k}[32];")
                if st.arg:
                    out.append(f"  __shared__ {st.idx_type} gx_si{st.k}[32];")
        if k.strategy == "tile":
            w, h = self.form.tile
            out += [f"  const int gx_ol = threadIdx.x & {w - 1};", f"  const int gx_rl = threadIdx.x / {w};"]
            for st in k.info["stages"]:
                out.append(f"  __shared__ {st.acc_type} gx_sm{st.k}[{w * h}];")
                if st.arg:
                    out.append(f"  __shared__ {st.idx_type} gx_si{st.k}[{w * h}];")
        if self.chunks > 1:
            out.append("  __shared__ bool gx_last;")
        if self.smem_rows:
            out.append("  GX_DYNAMIC_SHARED(unsigned char, gx_dsm);")
            at = 0
            for b, ct in self.smem_rows:
                out.append(f"  {ct}* const gx_rs{b} = reinterpret_cast<{ct}*>(gx_dsm + {at});")
                at += _smem_row_bytes(self.n_red, ct)
        if k.strategy == "tile-transpose":
            t = k.info["tiling"]
            out.append(f"  const int gx_tx = threadIdx.x & {TILE - 1}, gx_ty = threadIdx.x / {TILE};")
            params = {p.name: p for p in k.params}
            # 33 columns: a warp reading a column of the tile touches 32 different banks.
            out += [f"  __shared__ {stype(params[name].dtype)} {sm}[{TILE}][{TILE + 1}];"
                    for (name, _), sm in zip(t.loads, t.smem)]
        return out

    def function(self, text):
        args = ", ".join(f"{p.ctype} __restrict__ {p.name}" for p in self.k.params)
        return f'extern "C" __global__ __launch_bounds__({self.block}) void GX_NAME({args}) {{\n{text}\n}}\n'

    def finish(self, k):
        k.launch = launch_config(k)
        k.shared_mem = sum(_smem_row_bytes(self.n_red, ct) for _, ct in self.smem_rows or ())

    # --- rows kept in registers ---------------------------------------------------------------
    def body(self):
        """A reduction of several passes over rows short enough to sit in registers (at most
        ROW_CACHE values per thread) reads each row once: a value a pass computes (or loads) at
        the reduced index that a later pass needs again -- the same builder key -- is kept in a
        per-thread array indexed by the pass's unrolled iteration and read back there, so the row
        is loaded in the first pass and exp/tanh are evaluated in one. The passes visit the same
        indices in the same order as without the cache: the same bits."""
        k = self.k
        lanes = {"thread": ("0", 1), "warp": ("gx_lane", 32), "block": ("threadIdx.x", self.block)}
        if k.strategy == "tile" and self.chunks == 1:
            lanes["tile"] = ("gx_rl", self.form.tile[1])
        if k.kind != "reduction" or k.strategy not in lanes or self.n_red == 0:
            return k.body
        lane, step = lanes[k.strategy]
        j = -(-self.n_red // step)
        if j > ROW_CACHE:
            return self._shared_rows() if k.strategy == "block" and ROW_SHARED_BYTES else k.body
        out, cached = [], False
        for st in k.body:
            if st[0] == "for_out":
                row = self._cache_passes(st[1], j)
                cached = row is not None
                st = ("for_out", row) if cached else st
            out.append(st)
        if cached:
            self.cache = (j, lane, step)
        return out

    def _cache_passes(self, row, j):
        """The row's statements with values shared by its passes kept in registers, or None."""
        passes = [i for i, st in enumerate(row) if st[0] == "for_red"]
        if len(passes) < 2:
            return None
        allowed = None
        while True:
            new, arrays, first = self._rewrite(row, passes, allowed, "gx_j")
            used = {}
            _uses(prune(new), used)
            live = [key for key, arr in arrays.items() if used.get(arr)]
            if len(live) * j <= ROW_CACHE_VALUES:
                break
            allowed = set(live[:ROW_CACHE_VALUES // j])
        if not live:
            return None
        for key in live:               # the first pass to compute a kept value stores it
            n, name, ct = first[key]
            body = new[passes[n]][1]
            at = next(i for i, st in enumerate(body) if st[0] == "let" and st[2] == name)
            body.insert(at + 1, ("set", f"{arrays[key]}[gx_j]", name))
        decls = [("decl", first[key][2], f"{arrays[key]}[{j}]") for key in live]
        return decls + prune(new)

    def _rewrite(self, row, passes, allowed, ix):
        keys = self.k.info.get("keys", {})
        first, arrays, new = {}, {}, list(row)
        for n, i in enumerate(passes):
            body = []
            for st in row[i][1]:
                key = keys.get(st[2]) if st[0] == "let" else None
                if key is not None and key[0] != "e":
                    if key in first and first[key][0] < n and (allowed is None or key in allowed):
                        st = ("let", st[1], st[2], f"{arrays.setdefault(key, f'gx_c{len(arrays)}')}[{ix}]")
                    else:
                        first.setdefault(key, (n, st[2], st[1]))
                body.append(st)
            new[i] = ("for_red", body)
        return new, arrays, first

    # --- rows kept in shared memory -------------------------------------------------------------
    def _shared_rows(self):
        """A block-per-row reduction of several passes over rows too long for registers keeps the
        values its passes share (the same builder keys as the register cache: loads, exp, tanh...)
        in rows of dynamic shared memory, at most ROW_SHARED_BYTES a block: a pass stores a value
        at gx_rs<b>[r] where it first computes it, a later pass reads it back at the same r. Each
        thread only ever touches the r it visits itself (r = threadIdx.x + k * block in every
        pass), so no barrier is needed, and a buffer is reused by a value computed after the last
        read of the previous one (softmax: x in the max pass, exp(x - max) from the sum pass on).
        The passes combine the same values in the same order as without the rows: the same bits."""
        k = self.k
        out = []
        for st in k.body:
            if st[0] == "for_out" and self.smem_rows is None:
                row = self._shared_passes(st[1])
                st = ("for_out", row) if row is not None else st
            out.append(st)
        return out

    def _shared_passes(self, row):
        passes = [i for i, st in enumerate(row) if st[0] == "for_red"]
        if len(passes) < 2:
            return None
        allowed = None
        while True:
            new, arrays, first = self._rewrite(row, passes, allowed, "r")
            used = {}
            _uses(prune(new), used)
            live = [key for key, arr in arrays.items() if used.get(arr)]
            if not live:
                return None
            buffers, total = self._share_buffers(prune(new), live, arrays, first)
            if total <= ROW_SHARED_BYTES:
                break
            allowed = set(live[:-1])
        names = {}
        for key in live:               # the first pass to compute a kept value stores it
            n, name, ct = first[key]
            buf = names[arrays[key]] = f"gx_rs{buffers[key][0]}"
            body = new[passes[n]][1]
            at = next(i for i, st in enumerate(body) if st[0] == "let" and st[2] == name)
            body.insert(at + 1, ("set", f"{buf}[r]", name))
        for i in passes:               # reads of a kept value: from its buffer
            new[i] = ("for_red", [("let", st[1], st[2], f"{names[st[3][:-3]]}[r]")
                                  if st[0] == "let" and st[3].endswith("[r]") and st[3][:-3] in names else st
                                  for st in new[i][1]])
        layout = sorted({b: ct for b, ct in buffers.values()}.items())
        self.smem_rows = layout
        return prune(new)

    def _share_buffers(self, new, live, arrays, first):
        """{key: (buffer number, C type)} and the bytes of the buffers: a value takes the buffer of
        one of the same type whose reads are all done, in an earlier pass or earlier in its own
        pass than the value is computed; otherwise a new one."""
        passes = [st[1] for st in new if st[0] == "for_red"]
        reads = {}                     # array -> [(pass, position)]
        for n, body in enumerate(passes):
            for at, st in enumerate(body):
                if st[0] == "let" and st[3].endswith("[r]"):
                    reads.setdefault(st[3][:-3], []).append((n, at))
        writes = {}
        for key in live:
            n, name, _ = first[key]
            at = next(i for i, st in enumerate(passes[n]) if st[0] == "let" and st[2] == name)
            writes[key] = (n, at)
        held, out = [], {}             # held[b] = [C type, last read of its value]
        for key in sorted(live, key=lambda key: writes[key]):
            ct = first[key][2]
            free = next((b for b, (t, last) in enumerate(held) if t == ct and last < writes[key]), None)
            if free is None:
                free = len(held)
                held.append([ct, None])
            held[free][1] = max(reads[arrays[key]])
            out[key] = (free, ct)
        total = sum(_smem_row_bytes(self.n_red, ct) for ct, _ in held)
        return out, total

    def store(self, st, pad):
        # A tile's threads past the last output compute a copy of it (their index is clamped) and
        # must not write.
        guard = "if (gx_live) " if self.k.strategy == "tile" else ""
        return f"{pad}{guard}{st[1]}[{st[2]}] = {st[3]};"

    def skeleton(self, st, ind):
        k, pad, op = self.k, "  " * ind, st[0]
        s = k.strategy
        if op == "for_out":
            p1 = pad + "  "
            if s.startswith("loop"):
                start = f"{self.tail} + " if self.tail else ""
                head = [f"for (gx_ix i = {start}(gx_ix)blockIdx.x * blockDim.x + threadIdx.x; i < {k.size}; "
                        f"i += (gx_ix)gridDim.x * blockDim.x) {{"]
            elif s == "thread":
                head = [f"for (gx_ix o = (gx_ix)blockIdx.x * blockDim.x + threadIdx.x; o < {self.n_out}; "
                        f"o += (gx_ix)gridDim.x * blockDim.x) {{"]
            elif s == "warp":
                head = [f"for (gx_ix o = ((gx_ix)blockIdx.x * blockDim.x + threadIdx.x) >> 5; o < {self.n_out}; "
                        f"o += ((gx_ix)gridDim.x * blockDim.x) >> 5) {{"]
            elif s == "block":
                head = [f"for (gx_ix o = blockIdx.x; o < {self.n_out}; o += gridDim.x) {{"]
            elif s == "split":   # work item t: chunk t % chunks of row t / chunks
                c = self.chunks
                head = [f"for (gx_ix gx_t = blockIdx.x; gx_t < {self.n_out * c}; gx_t += gridDim.x) {{",
                        f"{p1}const gx_ix o = gx_t / {c}, gx_c = gx_t % {c};"]
            else:                # tile: work item t is chunk t % chunks of tile t / chunks
                c, (w, _) = self.chunks, self.form.tile
                n_t = -(-self.n_out // w)
                item = f"gx_tile = gx_t / {c}, gx_c = gx_t % {c}" if c > 1 else "gx_tile = gx_t"
                head = [f"for (gx_ix gx_t = blockIdx.x; gx_t < {n_t * c}; gx_t += gridDim.x) {{",
                        f"{p1}const gx_ix {item};",
                        f"{p1}const bool gx_live = gx_tile * {w} + gx_ol < {self.n_out};",
                        f"{p1}const gx_ix o = gx_live ? gx_tile * {w} + gx_ol : {self.n_out - 1};"]
            return [pad + head[0]] + head[1:] + self.stmts(st[1], ind + 1) + [pad + "}"]
        if op == "for_red" and self.cache is not None:
            j, lane, step = self.cache
            p1 = pad + "  "
            r = f"{lane} + (gx_ix)gx_j * {step}" if step > 1 else "gx_j"
            exact = j * step == self.n_red      # every lane's last index exists
            head = [f"{pad}#pragma unroll", f"{pad}for (int gx_j = 0; gx_j < {j}; ++gx_j) {{",
                    f"{p1}const gx_ix r = {r};"]
            if exact:
                return head + self.stmts(st[1], ind + 1) + [pad + "}"]
            return head + [f"{p1}if (r < {self.n_red}) {{"] + self.stmts(st[1], ind + 2) + [p1 + "}", pad + "}"]
        if op == "for_red":
            if s == "thread":
                head = f"for (gx_ix r = 0; r < {self.n_red}; ++r) {{"
            elif s == "warp":
                head = f"for (gx_ix r = gx_lane; r < {self.n_red}; r += 32) {{"
            elif s == "block":
                head = f"for (gx_ix r = threadIdx.x; r < {self.n_red}; r += {self.block}) {{"
            else:
                lane, step = ("threadIdx.x", self.block) if s == "split" else ("gx_rl", self.form.tile[1])
                head = self._chunk_loop(lane, step)
            return [pad + head] + self.stmts(st[1], ind + 1) + [pad + "}"]
        if op == "group_reduce":
            return [pad + line for line in self.group_reduce(st[1])]
        if op == "leader":
            if s == "thread":
                return [pad + "{"] + self.stmts(st[1], ind + 1) + [pad + "}"]
            cond = {"warp": "gx_lane == 0", "tile": "gx_rl == 0"}.get(s, "threadIdx.x == 0")
            return [f"{pad}if ({cond}) {{"] + self.stmts(st[1], ind + 1) + [pad + "}"]
        if op == "vec":
            return self.vec(st, ind)
        if op == "tile":
            return self.tile(st, ind)
        raise ValueError(f"unknown kernel IR statement {op!r}")

    def _chunk_loop(self, lane, step):
        """The loop head over chunk gx_c of the reduced axis (the whole axis when there is one chunk)."""
        c, n = self.chunks, self.n_red
        if c == 1:
            return f"for (gx_ix r = {lane}; r < {n}; r += {step}) {{"
        size = -(-n // c)
        return (f"for (gx_ix r = gx_c * {size} + {lane}, gx_end = gx_c < {c - 1} ? (gx_c + 1) * {size} : {n}; "
                f"r < gx_end; r += {step}) {{")

    # --- reductions ---------------------------------------------------------------------------
    def _combine(self, st, a, b, ai=None, bi=None):
        if st.arg:
            return f"gx_arg{ARG_REDUCE[st.prim]}_step({a}, {ai}, {b}, {bi});"
        return f"{a} = {reduce_combine(st.prim, st.in_dtype, a, b)};"

    def _warp_tree(self, st):
        self.helpers.add("shfl")
        if st.arg:
            return ["for (int gx_d = 16; gx_d > 0; gx_d >>= 1) {",
                    f"  const {st.acc_type} gx_v = gx_shfl_down({st.acc}, gx_d);",
                    f"  const {st.idx_type} gx_i = gx_shfl_down({st.idx}, gx_d);",
                    f"  {self._combine(st, st.acc, 'gx_v', st.idx, 'gx_i')}", "}"]
        # The shuffle is a statement of its own: every lane must execute it (`a && shfl(..)` would not).
        return ["for (int gx_d = 16; gx_d > 0; gx_d >>= 1) {",
                f"  const {st.acc_type} gx_v = gx_shfl_down({st.acc}, gx_d);",
                f"  {self._combine(st, st.acc, 'gx_v')}", "}"]

    def _bcast(self, st):
        out = [f"{st.acc} = gx_shfl0({st.acc});"]
        if st.arg:
            out.append(f"{st.idx} = gx_shfl0({st.idx});")
        return out

    def _idx_max(self, st):
        return literal(np.iinfo(st.eqn.aval.dtype).max, st.eqn.aval.dtype)

    def _block_tree(self, st):
        nw = self.block // 32
        sm, si = f"gx_sm{st.k}", f"gx_si{st.k}"
        out = self._warp_tree(st)
        out += [f"if (gx_lane == 0) {sm}[gx_warp] = {st.acc};"]
        if st.arg:
            out[-1] = f"if (gx_lane == 0) {{ {sm}[gx_warp] = {st.acc}; {si}[gx_warp] = {st.idx}; }}"
        out += ["__syncthreads();",
                f"{st.acc} = gx_lane < {nw} ? {sm}[gx_lane] : {st.identity};"]
        if st.arg:
            out.append(f"{st.idx} = gx_lane < {nw} ? {si}[gx_lane] : {self._idx_max(st)};")
        return out + self._warp_tree(st) + self._bcast(st) + ["__syncthreads();"]

    def _tile_tree(self, st):
        """The row lanes of a tile combined in shared memory by a fixed halving tree (lane j takes
        j + h at each step); every thread then reads its output's value."""
        w, h = self.form.tile
        sm, si = f"gx_sm{st.k}", f"gx_si{st.k}"
        at = f"gx_rl * {w} + gx_ol"
        out = [f"{sm}[{at}] = {st.acc};"] + ([f"{si}[{at}] = {st.idx};"] if st.arg else []) + ["__syncthreads();"]
        d = h // 2
        while d:
            out.append(f"if (gx_rl < {d}) {{")
            if st.arg:
                out += [f"  {st.acc_type} gx_a = {sm}[{at}]; {st.idx_type} gx_ai = {si}[{at}];",
                        f"  {self._combine(st, 'gx_a', f'{sm}[{at} + {d * w}]', 'gx_ai', f'{si}[{at} + {d * w}]')}",
                        f"  {sm}[{at}] = gx_a; {si}[{at}] = gx_ai;"]
            else:
                pair = reduce_combine(st.prim, st.in_dtype, f"{sm}[{at}]", f"{sm}[{at} + {d * w}]")
                out.append(f"  {sm}[{at}] = {pair};")
            out += ["}", "__syncthreads();"]
            d //= 2
        out.append(f"{st.acc} = {sm}[gx_ol];")
        if st.arg:
            out.append(f"{st.idx} = {si}[gx_ol];")
        return out + ["__syncthreads();"]

    def group_reduce(self, st):
        s = self.k.strategy
        if s == "thread":
            return []
        if s == "warp":
            return self._warp_tree(st) + self._bcast(st)
        out = self._block_tree(st) if s in ("block", "split") else self._tile_tree(st)
        if self.chunks > 1:
            out += self._chunk_combine(st)
        return out

    def _chunk_combine(self, st):
        """Partials of the chunks to scratch; the block that completes a row (split) or a tile
        counts last, combines the partials in chunk order, and carries on with the row; the others
        go to their next work item. The counter is left at zero for the next launch."""
        c, ws, wi = self.chunks, "ws0", "ws1"
        split = self.k.strategy == "split"
        writer, counter = ("threadIdx.x == 0", "o") if split else ("gx_rl == 0 && gx_live", "gx_tile")
        vol = f"((const volatile {st.acc_type}*){ws})[o * {c} + gx_j]"
        out = [f"if ({writer}) {{", f"  {ws}[o * {c} + gx_c] = {st.acc};"]
        if st.arg:
            out.append(f"  {wi}[o * {c} + gx_c] = {st.idx};")
        out += ["}", "__threadfence();", "__syncthreads();",
                f"if (threadIdx.x == 0) gx_last = atomicAdd(&cnt[{counter}], 1u) == {c - 1}u;",
                "__syncthreads();", "if (!gx_last) continue;", "__threadfence();",
                f"{st.acc} = {st.identity};"]
        if st.arg:
            out.append(f"{st.idx} = {self._idx_max(st)};")
            step = self._combine(st, st.acc, vol, st.idx, f"((const volatile {st.idx_type}*){wi})[o * {c} + gx_j]")
        else:
            step = self._combine(st, st.acc, vol)
        if split:   # the block's threads share the partials of the row, then combine as a block
            out.append(f"for (gx_ix gx_j = threadIdx.x; gx_j < {c}; gx_j += {self.block}) {step}")
            out += self._block_tree(st)
        else:       # each thread combines its output's partials in chunk order
            out.append(f"for (gx_ix gx_j = 0; gx_j < {c}; ++gx_j) {step}")
        out.append(f"if (threadIdx.x == 0) cnt[{counter}] = 0u;  // ready for the next launch")
        return out

    # --- transposed operands through shared tiles -----------------------------------------------
    def tile(self, st, ind):
        """Work item gx_t is the 32x32 tile (gx_m0.., gx_l0..) of output axes (m, l) at batch index
        gx_d*: the block copies each transposed operand's tile to shared memory, lanes along the
        operand's last axis (m), then computes its outputs, lanes along l, each reading the tile
        transposed; a thread handles rows gx_ty, gx_ty + 8, ... of the tile in each phase. With
        vectors (lower.TILE_VECTORS: the last axis a multiple of 4, every buffer aligned), a thread
        of the compute phase takes 4 neighbouring outputs of row threadIdx.x / 8 instead, with one
        16-byte load per operand read at the output's index and one store per output. Every
        element is computed by the same expression as in the plain loop: the same bits, on any grid."""
        _, t, top, per_tile, body, vtop, vper_tile, vbody, _ = st
        if t.vec is None:
            return self._tile_loop(t, top, per_tile, self._tile_rows(t, body, ind + 1), ind)
        direct, outs = t.vec
        pad = "  " * ind
        conds = [f"((unsigned long long){p.name} & {4 * p.dtype.itemsize - 1}) == 0" for p in direct + outs]
        out = [f"{pad}if ({' && '.join(conds)}) {{"]
        out += self._tile_loop(t, vtop, vper_tile, self._tile_vectors(t, direct, outs, vbody, ind + 2), ind + 1)
        out += [f"{pad}  return;", f"{pad}}}"]
        return out + self._tile_loop(t, top, per_tile, self._tile_rows(t, body, ind + 1), ind)

    def _tile_loop(self, t, top, per_tile, compute, ind):
        """The loop over tiles: each tile's transposed operands to shared memory, then `compute`."""
        pad, n, rows = "  " * ind, TILE, TILE // TILE_ROWS
        p1, p2, p3 = pad + "  ", pad + "    ", pad + "      "
        dm, dl = t.shape[t.m], t.shape[t.l]
        out = self.stmts(top, ind)
        wrap = f" % {t.tm}" if t.batch else ""
        out += [f"{pad}for (gx_ix gx_t = blockIdx.x; gx_t < {t.n_tiles}; gx_t += gridDim.x) {{",
                f"{p1}const gx_ix gx_l0 = gx_t % {t.tl} * {n}, gx_m0 = gx_t / {t.tl}{wrap} * {n};"]
        inner = t.tl * t.tm
        for a in reversed(t.batch):
            e = f"gx_t / {inner}" if inner > 1 else "gx_t"
            out.append(f"{p1}const gx_ix gx_d{a} = {e}{f' % {t.shape[a]}' if a != t.batch[0] else ''};")
            inner *= t.shape[a]
        out += self.stmts(per_tile, ind + 1)
        if t.loads:
            out += [f"{p1}#pragma unroll", f"{p1}for (int gx_k = 0; gx_k < {rows}; ++gx_k) {{",
                    f"{p2}const int gx_j = gx_ty + {TILE_ROWS} * gx_k;",
                    f"{p2}const gx_ix gx_lm = gx_m0 + gx_tx, gx_ll = gx_l0 + gx_j;",
                    f"{p2}if (gx_lm < {dm} && gx_ll < {dl}) {{"]
            out += [f"{p3}{sm}[gx_j][gx_tx] = {name}[{flat}];"
                    for (name, _), sm, flat in zip(t.loads, t.smem, t.flats)]
            out += [f"{p2}}}", f"{p1}}}", f"{p1}__syncthreads();"]
        out += compute
        if t.loads:
            out.append(f"{p1}__syncthreads();   // the tiles are refilled for the next work item")
        return out + [f"{pad}}}"]

    def _tile_rows(self, t, body, ind):
        """The compute phase, a thread per output: rows gx_ty, gx_ty + 8, ... of the tile, lane gx_tx."""
        pad, rows = "  " * ind, TILE // TILE_ROWS
        p1 = pad + "  "
        dm, dl = t.shape[t.m], t.shape[t.l]
        out = [f"{pad}#pragma unroll", f"{pad}for (int gx_k = 0; gx_k < {rows}; ++gx_k) {{",
               f"{p1}const int gx_j = gx_ty + {TILE_ROWS} * gx_k;",
               f"{p1}const gx_ix gx_m = gx_m0 + gx_j, gx_l = gx_l0 + gx_tx;",
               f"{p1}if (gx_m < {dm} && gx_l < {dl}) {{"]
        return out + self.stmts(body, ind + 2) + [f"{p1}}}", f"{pad}}}"]

    def _tile_vectors(self, t, direct, outs, body, ind):
        """The compute phase, 4 outputs a thread: row gx_j = threadIdx.x / 8 of the tile, columns
        gx_c = 4 * (threadIdx.x % 8) + gx_k. A group of 4 is in the output or out of it as a whole
        (the last axis is a multiple of 4 long), and starts at a multiple of 4 of every buffer."""
        pad = "  " * ind
        p1, p2, p3 = pad + "  ", pad + "    ", pad + "      "
        dm, dl = t.shape[t.m], t.shape[t.l]
        vt = {4: "unsigned", 8: "uint2", 16: "uint4"}
        names = ["0" if d == 1 else "gx_m" if a == t.m else "gx_lv" if a == t.l else f"gx_d{a}"
                 for a, d in enumerate(t.shape)]
        flat = " + ".join(nm if st == 1 else f"{nm} * {st}"
                          for nm, st in zip(names, strides(t.shape)) if nm != "0") or "0"
        out = [f"{pad}{{", f"{p1}const int gx_j = threadIdx.x >> 3;",
               f"{p1}const gx_ix gx_m = gx_m0 + gx_j, gx_lv = gx_l0 + 4 * (threadIdx.x & 7);",
               f"{p1}if (gx_m < {dm} && gx_lv < {dl}) {{",
               f"{p2}const gx_ix gx_fv = ({flat}) / 4;"]
        for p in direct:
            ty = vt[4 * p.dtype.itemsize]
            out.append(f"{p2}__align__(16) {stype(p.dtype)} {p.name}_v[4];")
            out.append(f"{p2}*reinterpret_cast<{ty}*>({p.name}_v) = reinterpret_cast<const {ty}*>({p.name})[gx_fv];")
        out += [f"{p2}__align__(16) {stype(p.dtype)} {p.name}_v[4];" for p in outs]
        out += [f"{p2}#pragma unroll", f"{p2}for (int gx_k = 0; gx_k < 4; ++gx_k) {{",
                f"{p3}const int gx_c = 4 * (threadIdx.x & 7) + gx_k;",
                f"{p3}const gx_ix gx_l = gx_lv + gx_k;"]
        out += self.stmts(body, ind + 3) + [f"{p2}}}"]
        for p in outs:
            ty = vt[4 * p.dtype.itemsize]
            out.append(f"{p2}reinterpret_cast<{ty}*>({p.name})[gx_fv] = *reinterpret_cast<const {ty}*>({p.name}_v);")
        return out + [f"{p1}}}", f"{pad}}}"]

    # --- vectorised loop ----------------------------------------------------------------------
    def vec(self, st, ind):
        _, direct, outs, top, body, scalar = st
        pad = "  " * ind
        vt = {4: "unsigned", 8: "uint2", 16: "uint4"}
        conds = [f"((unsigned long long){p.name} & {4 * p.dtype.itemsize - 1}) == 0" for p in direct + outs]
        out = [f"{pad}if ({' && '.join(conds)}) {{"]
        out += self.stmts(top, ind + 1)
        p1, p2, p3 = pad + "  ", pad + "    ", pad + "      "
        out.append(f"{p1}for (gx_ix gx_v = (gx_ix)blockIdx.x * blockDim.x + threadIdx.x; gx_v < {self.k.size // 4}; "
                   f"gx_v += (gx_ix)gridDim.x * blockDim.x) {{")
        for p in direct:
            t = vt[4 * p.dtype.itemsize]
            out.append(f"{p2}__align__(16) {stype(p.dtype)} {p.name}_v[4];")
            out.append(f"{p2}*reinterpret_cast<{t}*>({p.name}_v) = reinterpret_cast<const {t}*>({p.name})[gx_v];")
        for p in outs:
            out.append(f"{p2}__align__(16) {stype(p.dtype)} {p.name}_v[4];")
        out.append(f"{p2}#pragma unroll")
        out.append(f"{p2}for (int gx_k = 0; gx_k < 4; ++gx_k) {{")
        out.append(f"{p3}const gx_ix i = gx_v * 4 + gx_k;")
        out += self.stmts(body, ind + 3)
        out.append(f"{p2}}}")
        for p in outs:
            t = vt[4 * p.dtype.itemsize]
            out.append(f"{p2}reinterpret_cast<{t}*>({p.name})[gx_v] = *reinterpret_cast<const {t}*>({p.name}_v);")
        out.append(f"{p1}}}")
        if self.k.size % 4:      # the last n % 4 elements: the scalar loop from there
            self.tail = self.k.size // 4 * 4
            out += self.stmts(scalar, ind + 1)
            self.tail = 0
        out += [f"{p1}return;", f"{pad}}}"]
        return out + self.stmts(scalar, ind)


class CpuDialect(CStyle):
    """Plain C++ loops for the native `cpu` platform (gpuxla/kernels/gx_cpu.h, backends/cpu/).

    Every kernel becomes `GX_NAME_run(params..., lo, hi)`, which computes the outputs of items
    [lo, hi) -- elements of a loop kernel, rows of a reduction -- with ordinary loops, and an
    exported `GX_NAME(void* const* args, int threads)` that hands chunks of CPU_GRAIN elements'
    worth of items to gx_parallel (the worker pool of gx_pool.h). Whatever the GPU strategy, a
    row is reduced by one thread in a fixed order: LANES interleaved accumulators (value r goes
    to lane r % LANES, so the compiler can vectorise the row) combined in lane order at the end. A kernel of at most
    SPLIT_ROWS long rows (a full reduction) instead cuts each pass over a row into fixed chunks that
    threads take in parallel, and combines the chunks' partials in chunk order. The result depends
    on the shapes only, never on the thread count. Loop kernels' element loops carry `omp simd`:
    their iterations are independent, so the vectoriser needs no proof of it, and no float
    operation is reassociated (the module is built without -ffast-math and with -ffp-contract=off).
    A loop kernel that reads an operand transposed (the `tile-transpose` form) hands out blocks of
    its output instead of elements (`tile`), so that neither the operand nor the output is walked
    a cache line per element.
    """

    def __init__(self, k):
        super().__init__(k)
        self.stages = {st.acc: st for st in k.info.get("stages", ())}
        # Few long rows: the rows' passes run chunks of one row in parallel instead of rows.
        self.split = k.kind == "reduction" and self.n_out <= SPLIT_ROWS and self.n_red >= 2 * CPU_GRAIN
        # Rows that are not contiguous (a sum over the batch axis): COL_BLOCK rows at a time, r outside.
        self.columns = k.kind == "reduction" and not self.split and not k.info.get("row_like", True)

    def skeleton(self, st, ind):
        k, pad, op = self.k, "  " * ind, st[0]
        if op == "for_out":
            v = "i" if k.kind == "loop" else "o"
            head = [f"{pad}for (gx_ix {v} = (gx_ix)gx_lo; {v} < (gx_ix)gx_hi; ++{v}) {{"]
            if k.kind == "loop":
                head.insert(0, f"{pad}GX_SIMD")
            if self.columns:
                return self.column_block(st[1], ind)
            rows = self.row_column(st[1], ind) if k.kind == "loop" else None
            if rows is not None:
                return rows
            body = st[1] if k.kind == "loop" or self.split else self.reuse_row_values(st[1])
            return head + self.stmts(body, ind + 1) + [pad + "}"]
        if op == "for_red":
            return self.for_red(st[1], ind)
        if op == "group_reduce":
            return []
        if op == "leader":
            return [pad + "{"] + self.stmts(st[1], ind + 1) + [pad + "}"]
        if op == "tile":
            return self.tile(st, ind)
        if op == "vec":             # the CUDA 4-wide twin: a CPU vectorises the plain loop itself
            return self.stmts(st[-1], ind)
        raise ValueError(f"unknown kernel IR statement {op!r}")

    def row_column(self, body, ind):
        """A loop kernel whose elements read `i % C` (a bias broadcast along the rows: `dot + b`)
        as rows of C: an outer loop over rows and an inner one over columns, where `i % C` is the
        column and `i / C` the row. The flat loop computed a remainder per element and gathered
        the bias through it, which does not vectorise (relu(x + b) on 128x512 float32, one
        thread: 21.7 -> 8.5 us). The same elements in the same order: the same bits. None when
        no index of the body has that form, or rows are shorter than ROW_MIN."""
        forms = {}
        for st in body:
            if st[0] == "let" and st[1] == "gx_ix":
                m = _ROW_INDEX.fullmatch(st[3])
                if m:
                    forms.setdefault(int(m.group(2)), set()).add(m.group(1))
        c = next((c for c, ops in forms.items() if "%" in ops), None)
        if c is None or c < ROW_MIN or self.k.size % c:
            return None
        def row_div(m):
            # i / (k*C) is gx_row / k (i = gx_row*C + gx_col, gx_col < C): invariant in the inner loop
            n = int(m.group(1))
            return m.group(0) if n % c else "gx_row" if n == c else f"(gx_row / {n // c})"

        def sub(st):
            if st[0] != "let" or st[1] != "gx_ix":
                return st
            m = _ROW_INDEX.fullmatch(st[3])
            if m is None or int(m.group(2)) != c:
                return ("let", st[1], st[2], _ROW_DIV.sub(row_div, st[3]))
            return ("let", st[1], st[2], "gx_col" if m.group(1) == "%" else "gx_row")
        body = [sub(st) for st in body]
        pad = "  " * ind
        p1, p2 = pad + "  ", pad + "    "
        return [f"{pad}for (gx_ix gx_row = (gx_ix)gx_lo / {c}; gx_row * {c} < (gx_ix)gx_hi; ++gx_row) {{",
                f"{p1}const gx_ix gx_c0 = (gx_ix)gx_lo > gx_row * {c} ? (gx_ix)gx_lo - gx_row * {c} : 0;",
                f"{p1}const gx_ix gx_c1 = (gx_ix)gx_hi < (gx_row + 1) * {c} ? (gx_ix)gx_hi - gx_row * {c} : {c};",
                f"{p1}GX_SIMD",
                f"{p1}for (gx_ix gx_col = gx_c0; gx_col < gx_c1; ++gx_col) {{",
                f"{p2}const gx_ix i = gx_row * {c} + gx_col;"] + self.stmts(body, ind + 2) + [f"{p1}}}", f"{pad}}}"]

    def column_block(self, body, ind):
        """Rows whose values lie apart in memory (the reduced axis is not the last, as in a bias
        gradient's sum over the batch) reduced COL_BLOCK rows at a time: each pass runs r in the
        outer loop and the rows in the inner one, which reads neighbouring values and vectorises.
        Every value the row body binds outside a pass (lets, accumulators) becomes an array of
        COL_BLOCK, which the inner loops alias by name. A row still combines its values in the
        order r = 0, 1, ...: the result does not depend on the block or the thread count."""
        # Every bound value takes an array of b on the stack: at most COL_BLOCK_BYTES of them (a
        # fused epilogue may bind dozens; a worker thread's stack is a few MiB).
        pad, b = "  " * ind, COL_BLOCK
        n_bound = sum(st[0] in ("let", "init", "decl") for st in body)
        while b > 64 and n_bound * b * 8 > COL_BLOCK_BYTES:
            b //= 2
        p1, p2, p3 = pad + "  ", pad + "    ", pad + "      "
        out = [f"{pad}for (gx_ix gx_o0 = (gx_ix)gx_lo; gx_o0 < (gx_ix)gx_hi; gx_o0 += {b}) {{",
               f"{p1}const int gx_nb = (gx_ix)gx_hi - gx_o0 < {b} ? (int)((gx_ix)gx_hi - gx_o0) : {b};"]
        bound = []                    # (name, type, is a value)

        def rows(stmts, ip):
            q = ip + "  "
            head = [f"{ip}GX_SIMD", f"{ip}for (int gx_j = 0; gx_j < gx_nb; ++gx_j) {{",
                    f"{q}const gx_ix o = gx_o0 + gx_j;"]
            used = _names_in(stmts)
            head += [f"{q}const {t} {n} = {n}_b[gx_j];" if value else f"{q}{t}& {n} = {n}_b[gx_j];"
                     for n, t, value in bound if n in used]
            return head + self.stmts(stmts, len(q) // 2) + [f"{ip}}}"]
        for st in body:
            op = st[0]
            if op in ("let", "init", "decl"):
                out.append(f"{p1}{st[1]} {st[2]}_b[{b}];")
                if op != "decl":
                    out += rows([("set", f"{st[2]}_b[gx_j]", st[3])], p1)
                bound.append((st[2], st[1], op == "let"))
            elif op == "for_red":
                out += self.column_pass(st[1], rows, p1, p2)
            elif op != "group_reduce":
                out += rows([st], p1)
        del p3
        return out + [f"{pad}}}"]

    def column_pass(self, stmts, rows, p1, p2):
        """One pass of column_block over r: COL_UNROLL rows of the reduced axis per sweep over the
        block (each output still takes r = 0, 1, ... in order), so the block's accumulators are
        loaded and stored once per COL_UNROLL values instead of once per value."""
        n, u = self.n_red, COL_UNROLL
        if n < 2 * u:
            return [f"{p1}for (gx_ix r = 0; r < {n}; ++r) {{"] + rows(stmts, p2) + [f"{p1}}}"]
        body = rows(stmts, p2 + "  ")
        # rows() opens `for gx_j` and binds o; the unrolled steps go inside it, each its own r.
        head, inner, tail = body[:3], body[3:-1], body[-1:]
        q = p2 + "    "
        steps = []
        for i in range(u):
            steps += [f"{q}{{", f"{q}  const gx_ix r = gx_r0 + {i};"] + ["  " + x for x in inner] + [f"{q}}}"]
        main = ([f"{p1}gx_ix gx_r0 = 0;", f"{p1}for (; gx_r0 + {u} <= {n}; gx_r0 += {u}) {{"]
                + head + steps + tail + [f"{p1}}}"])
        rest = [f"{p1}for (gx_ix r = gx_r0; r < {n}; ++r) {{"] + rows(stmts, p2) + [f"{p1}}}"] if n % u else []
        return [f"{p1}{{"] + main + rest + [f"{p1}}}"]

    def reuse_row_values(self, body):
        """A row's later pass that recomputes a costly value of an earlier pass (softmax's output
        pass redoes exp(x - max) of the sum's pass) reads it from a row buffer the earlier pass
        filled instead: the same expression of the same operands, so the same bits, one exp per
        value instead of two. Only top-level lets of full passes over the row, only values whose
        operands hold still between the two passes, only rows whose buffer fits ROW_REUSE_BYTES."""
        passes = [n for n, s in enumerate(body) if s[0] == "for_red"]
        if len(passes) < 2:
            return body
        names = _ident_re()
        # Each let's value as a key: its expression with operand lets replaced by their keys'
        # numbers (hash-consing: linear in the text, where expanding the operands could double it
        # per use), the free names it depends on, and whether it calls anything costly.
        key, free, costly, numbers = {}, {}, {}, {}
        for n in passes:
            for s in body[n][1]:
                if s[0] != "let":
                    continue
                idents = names.findall(s[3])
                ops = [x for x in idents if x in key]
                text = names.sub(lambda m: f"#{numbers[key[m.group(0)]]}" if m.group(0) in key else m.group(0), s[3])
                key[s[2]] = k = (s[1], text)
                numbers.setdefault(k, len(numbers))
                free[s[2]] = {x for x in idents if x not in ops}.union(*(free[x] for x in ops))
                costly[s[2]] = bool(_COSTLY.search(s[3])) or any(costly[x] for x in ops)
        assigned = [_assigned(s) for s in body]
        offers = {}                   # key -> (statement index, let name)
        found = {}                    # later let -> the earlier let of the same value
        for n in passes:
            for s in body[n][1]:
                if s[0] != "let" or not costly[s[2]]:
                    continue
                got = offers.get(key[s[2]])
                if got is not None and got[0] < n and not set().union(*assigned[got[0]:n + 1]) & free[s[2]]:
                    found[s[2]] = got[1]
                    continue
                offers.setdefault(key[s[2]], (n, s[2]))
        # Only values a pass still needs once its found values are loads: the last of a chain, not
        # every step of it (a buffer per step would be stores for nothing).
        reuse, fill = {}, {}          # later let -> buffer; earlier let -> buffer
        for n in passes:
            stmts = body[n][1]
            needed = _names_in([x for x in stmts if not (x[0] == "let" and x[2] in found)])
            for s in stmts:
                if s[0] == "let" and s[2] in found and s[2] in needed:
                    first = found[s[2]]
                    size = self.n_red * _CTYPE_BYTES.get(s[1], 8) * (len(fill) + (first not in fill))
                    if first in fill or size <= ROW_REUSE_BYTES:
                        reuse[s[2]] = fill.setdefault(first, f"gx_row{len(fill)}")
        out = list(body)
        if not reuse:
            return body
        for n in passes:
            new = []
            for s in body[n][1]:
                if s[0] == "let" and s[2] in reuse:
                    new.append(("let", s[1], s[2], f"{reuse[s[2]]}[r]"))
                    continue
                new.append(s)
                if s[0] == "let" and s[2] in fill:
                    new.append(("store", fill[s[2]], "r", s[2]))
            out[n] = ("for_red", new)
        decls = [("decl", key[first][0], f"{buf}[{self.n_red}]") for first, buf in fill.items()]
        return decls + out

    def for_red(self, body, ind):
        """One pass over a row: interleaved accumulators for the stage it reduces, if any; a long
        row of a kernel with few rows is cut into chunks run in parallel (`split`)."""
        pad, n = "  " * ind, self.n_red
        sets = [s for s in body if s[0] == "set" and s[1] in self.stages]
        st = self.stages[sets[0][1]] if len(sets) == 1 else None
        serial = len(sets) > 1 or any(s[0] == "argstep" for s in body)
        if not self.split or serial:
            return self.row_pass(body, st if not serial else None, "0", str(n), ind, serial)
        # Chunk c covers [c*CH, (c+1)*CH); its partial lands in gx_part[c], combined in chunk order
        # after the parallel loop: the same bits for any number of threads.
        ch = cpu_split_chunk(n)
        nc = -(-n // ch)
        p1, p2 = pad + "  ", pad + "    "
        out = [f"{pad}{{"]
        if st is not None:
            out.append(f"{p1}{st.acc_type} gx_part[{nc}];")
        out += [f"{p1}gx_parallel({nc}LL, 1LL, gx_threads, [&](long long gx_clo, long long gx_chi) {{",
                f"{p1}for (gx_ix gx_c = gx_clo; gx_c < gx_chi; ++gx_c) {{",
                f"{p2}const gx_ix gx_rlo = gx_c * {ch}, gx_rhi = gx_c < {nc - 1} ? gx_rlo + {ch} : {n};"]
        if st is not None:   # a chunk-local accumulator shadows the row's
            out.append(f"{p2}{st.acc_type} {st.acc} = {st.identity};")
        out += self.row_pass(body, st, "gx_rlo", "gx_rhi", ind + 2, False)
        if st is not None:
            out.append(f"{p2}gx_part[gx_c] = {st.acc};")
        out += [f"{p1}}}", f"{p1}}});"]
        if st is not None:
            out.append(f"{p1}for (gx_ix gx_c = 0; gx_c < {nc}; ++gx_c) "
                       f"{st.acc} = {reduce_combine(st.prim, st.in_dtype, st.acc, 'gx_part[gx_c]')};")
        return out + [f"{pad}}}"]

    def row_pass(self, body, st, lo, hi, ind, serial):
        """The loop over r in [lo, hi) (lo a multiple of LANES); stage `st` into LANES accumulators."""
        pad = "  " * ind
        plain = [f"{pad}for (gx_ix r = {lo}; r < {hi}; ++r) {{"]
        if st is None and not serial:
            plain.insert(0, f"{pad}GX_SIMD")   # row-wise outputs only: independent iterations
        if st is None or (lo == "0" and int(hi) < 2 * LANES):
            return plain + self.stmts(body, ind + 1) + [pad + "}"]
        exact = self.laned(body, st, lo, hi, ind + 1, fast=False)
        if st.prim.name not in ("reduce_max", "reduce_min") or st.acc_type not in ("float", "double"):
            return [f"{pad}{{"] + exact + [f"{pad}}}"]
        # Float max/min: lanes take a plain compare-and-select, which agrees with gx_max/gx_min
        # except on NaN (one can be dropped) and on -0 vs +0. So the pass notes NaNs, and when it
        # saw one or its result is a zero, the exact pass runs again from the same start.
        p1 = pad + "  "
        return ([f"{pad}{{", f"{p1}const {st.acc_type} gx_acc_in = {st.acc};", f"{p1}gx_u32 gx_odd = 0;"]
                + self.laned(body, st, lo, hi, ind + 1, fast=True)
                + [f"{p1}if (gx_odd || {st.acc} == 0) {{", f"{p1}  {st.acc} = gx_acc_in;"]
                + self.laned(body, st, lo, hi, ind + 2, fast=False) + [f"{p1}}}", f"{pad}}}"])

    def laned(self, body, st, lo, hi, ind, fast):
        pad = "  " * ind
        lane = f"{st.acc}_l"
        pat = re.compile(rf"\b{st.acc}\b")
        op = ">" if st.prim.name == "reduce_max" else "<"

        def step(s, at):
            if s[0] != "set" or s[1] != st.acc:
                return [s]
            if not fast:
                return [("set", f"{lane}[{at}]", pat.sub(f"{lane}[{at}]", s[2]))]
            head = f"{'gx_max' if op == '>' else 'gx_min'}({st.acc}, "
            assert s[2].startswith(head) and s[2].endswith(")"), s[2]
            v = s[2][len(head):-1]
            return [("let", st.acc_type, "gx_v", v),
                    ("set", f"{lane}[{at}]", f"gx_v {op} {lane}[{at}] ? gx_v : {lane}[{at}]"),
                    ("set", f"gx_odd_l[{at}]", f"gx_odd_l[{at}] | (gx_u32)(gx_v != gx_v)")]
        laned = [x for s in body for x in step(s, "gx_j")]
        tail = [x for s in body for x in step(s, f"r % {LANES}")]
        p1, p2 = pad + "  ", pad + "    "
        out = [f"{pad}{{",
               f"{p1}{st.acc_type} {lane}[{LANES}];",
               f"{p1}for (int gx_j = 0; gx_j < {LANES}; ++gx_j) {lane}[gx_j] = {st.acc};"]
        if fast:
            out.append(f"{p1}gx_u32 gx_odd_l[{LANES}] = {{0}};")
        out += [f"{p1}gx_ix gx_r0 = {lo};",
                f"{p1}for (; gx_r0 + {LANES} <= {hi}; gx_r0 += {LANES}) {{",
                f"{p2}GX_SIMD",
                f"{p2}for (int gx_j = 0; gx_j < {LANES}; ++gx_j) {{",
                f"{p2}  const gx_ix r = gx_r0 + gx_j;"]
        out += self.stmts(laned, ind + 3) + [f"{p2}}}", f"{p1}}}"]
        out += [f"{p1}for (gx_ix r = gx_r0; r < {hi}; ++r) {{"] + self.stmts(tail, ind + 2) + [f"{p1}}}"]
        if fast:
            out.append(f"{p1}for (int gx_j = 0; gx_j < {LANES}; ++gx_j) gx_odd |= gx_odd_l[gx_j];")
        # Lanes combined pairwise in a fixed order (0+1, 2+3, ...), then into the accumulator.
        w = LANES
        while w > 1:
            w //= 2
            pair = reduce_combine(st.prim, st.in_dtype, f"{lane}[2 * gx_j]", f"{lane}[2 * gx_j + 1]")
            out.append(f"{p1}for (int gx_j = 0; gx_j < {w}; ++gx_j) {lane}[gx_j] = {pair};")
        out += [f"{p1}{st.acc} = {lane}[0];", f"{pad}}}"]
        return out

    def tile(self, st, ind):
        """Work item gx_t is a bm x bl block (gx_m0.., gx_l0..) of output axes (m, l) at batch index
        gx_d* (cpu_tile_shape): each transposed operand's block is first copied into a local buffer,
        8 x 8 elements at a time read along the operand's own contiguous axis (m) and written
        transposed (gx_transpose8, gx_cpu.h), then the outputs are computed row by row of m, the
        inner loop along l -- the output's and the buffer's contiguous axis -- so both loops stream.
        The body is the tiled twin's (lower._tiled_twin), which reads `tile[gx_tx][gx_j]`: here
        gx_tx is the offset along m and gx_j the one along l. Each element is computed by the same
        expression as in the plain loop: the same bits, whatever the thread count."""
        _, t, top, per_tile, body = st[:5]   # (the 4-wide twin and the plain loop are the CUDA side's)
        k, pad = self.k, "  " * ind
        p1, p2, p3 = pad + "  ", pad + "    ", pad + "      "
        bm, bl = cpu_tile_shape(k)
        row = bl + CPU_TILE_PAD
        dm, dl = t.shape[t.m], t.shape[t.l]
        tm, tl = -(-dm // bm), -(-dl // bl)
        dtypes = {p.name: p.dtype for p in k.params}
        out = self.stmts(top, ind)
        out += [f"{pad}{stype(dtypes[name])} {sm}[{bm}][{row}];" for (name, _), sm in zip(t.loads, t.smem)]
        wrap = f" % {tm}" if t.batch else ""
        out += [f"{pad}for (gx_ix gx_t = (gx_ix)gx_lo; gx_t < (gx_ix)gx_hi; ++gx_t) {{",
                f"{p1}const gx_ix gx_l0 = gx_t % {tl} * {bl}, gx_m0 = gx_t / {tl}{wrap} * {bm};",
                f"{p1}const int gx_nm = {dm} - gx_m0 < {bm} ? (int)({dm} - gx_m0) : {bm};",
                f"{p1}const int gx_nl = {dl} - gx_l0 < {bl} ? (int)({dl} - gx_l0) : {bl};"]
        inner = tl * tm
        for a in reversed(t.batch):
            e = f"gx_t / {inner}" if inner > 1 else "gx_t"
            out.append(f"{p1}const gx_ix gx_d{a} = {e}{f' % {t.shape[a]}' if a != t.batch[0] else ''};")
            inner *= t.shape[a]
        out += self.stmts(per_tile, ind + 1)
        # The load phase. An operand whose m axis has stride 1 (every one but a strided slice's) of
        # an element size gx_transpose8 moves goes 8 x 8 at a time; the rest of a ragged block,
        # and other operands, element-wise with the inner loop along m.
        shuffled, rest = [], []
        for (name, pat), sm, flat, sh in zip(t.loads, t.smem, t.flats, t.shapes):
            step_l, step_m = (sum(s for a, s in zip(pat, strides(sh)) if a == axis) for axis in (t.l, t.m))
            u = _BITS_TYPE.get(dtypes[name].itemsize)
            fast = step_m == 1 and u is not None
            if fast:
                shuffled.append(f"{p3}gx_transpose8<{u}>((const {u}*)({name} + {flat}), {step_l}, "
                                f"({u}*)&{sm}[gx_tx][gx_j], {row});")
            start = "gx_j < gx_nl8 ? gx_nm8 : 0" if fast else "0"
            rest += [f"{p2}for (int gx_tx = {start}; gx_tx < gx_nm; ++gx_tx) {{",
                     f"{p3}const gx_ix gx_lm = gx_m0 + gx_tx;", f"{p3}{sm}[gx_tx][gx_j] = {name}[{flat}];", f"{p2}}}"]
        if shuffled:
            out += [f"{p1}const int gx_nm8 = gx_nm & ~7, gx_nl8 = gx_nl & ~7;",
                    f"{p1}for (int gx_j = 0; gx_j < gx_nl8; gx_j += 8) {{",
                    f"{p2}const gx_ix gx_ll = gx_l0 + gx_j;",
                    f"{p2}for (int gx_tx = 0; gx_tx < gx_nm8; gx_tx += 8) {{",
                    f"{p3}const gx_ix gx_lm = gx_m0 + gx_tx;"] + shuffled + [f"{p2}}}", f"{p1}}}"]
        if rest:
            out += [f"{p1}for (int gx_j = 0; gx_j < gx_nl; ++gx_j) {{", f"{p2}const gx_ix gx_ll = gx_l0 + gx_j;"]
            out += rest + [f"{p1}}}"]
        # The compute phase: the tiled twin's body, a row of the block at a time.
        out += [f"{p1}for (int gx_tx = 0; gx_tx < gx_nm; ++gx_tx) {{",
                f"{p2}const gx_ix gx_m = gx_m0 + gx_tx;",
                f"{p2}GX_SIMD",
                f"{p2}for (int gx_j = 0; gx_j < gx_nl; ++gx_j) {{",
                f"{p3}const gx_ix gx_l = gx_l0 + gx_j;"]
        out += self.stmts(body, ind + 3) + [f"{p2}}}", f"{p1}}}"]
        return out + [f"{pad}}}"]

    def function(self, text):
        k = self.k
        params = ", ".join(f"{p.ctype} __restrict__ {p.name}" for p in k.params)
        run = f"static void GX_NAME_run({params}, long long gx_lo, long long gx_hi, int gx_threads) {{\n{text}\n}}\n"
        casts = ", ".join(f"({p.ctype})gx_args[{i}]" for i, p in enumerate(k.params))
        n, grain = cpu_items(k)
        # Column blocks: an output's order does not depend on the chunks, so they are the thread
        # count's even share (one chunk on one thread: whole rows of the block read per r).
        grain = f"gx_even_grain({n}LL, gx_threads)" if self.columns else f"{grain}LL"
        return run + (f"GX_EXPORT void GX_NAME(void* const* gx_args, int gx_threads) {{\n"
                      f"  gx_parallel({n}LL, {grain}, gx_threads, [&](long long gx_lo, long long gx_hi) {{\n"
                      f"    GX_NAME_run({casts}, gx_lo, gx_hi, gx_threads);\n  }});\n}}\n")

    def finish(self, k):
        n, grain = cpu_items(k)
        k.launch = ((-(-n // grain), 1, 1), (1, 1, 1))


# Row buffers of CpuDialect.reuse_row_values: at most this many bytes per row (L1/L2-resident), and
# the values worth keeping (a call to one of these costs more than a store and a load).
ROW_REUSE_BYTES = 1 << 16
_COSTLY = re.compile(r"\bgx_(exp|exp2|expm1|log|log1p|logistic|tanh|pow|sin|cos|tan|asin|acos|atan|atan2|sinh|"
                     r"cosh|asinh|acosh|atanh|erf|erfc|erf_inv|lgamma|digamma|cbrt|div|sqrt|rsqrt|rem)\(")
_CTYPE_BYTES = {"float": 4, "double": 8, "gx_i32": 4, "gx_u32": 4, "bool": 1, "gx_f16": 2, "gx_bf16": 2}


def _ident_re():
    return re.compile(r"\b[A-Za-z_]\w*\b")


def _names_in(stmts):
    """Every identifier in statements and what they nest (a superset of the names they read)."""
    out, ident = set(), _ident_re()

    def walk(x):
        if isinstance(x, str):
            out.update(ident.findall(x))
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif hasattr(x, "acc"):       # an argmax/argmin Stage
            out.update(n for n in (x.acc, x.idx) if n)
    walk(stmts)
    return out


def _assigned(st):
    """Names a statement (and what it nests) assigns: accumulators, argmax indices, declared ones."""
    op = st[0]
    if op in ("init", "decl"):
        return {st[2]}
    if op == "set":
        return {re.match(r"\w+", st[1]).group(0)}
    if op == "argstep":
        return {st[1].acc, st[1].idx}
    if op == "if":
        return set().union(*(_assigned(x) for _, b in st[1] for x in b))
    if op in ("for_red", "for_out", "leader"):
        return set().union(*(_assigned(x) for x in st[1]))
    return set()


# Accumulators per row in the CPU dialect, and about how many elements one chunk of work handles.
LANES = 16
CPU_GRAIN = 1 << 15


# Rows reduced together by CpuDialect.column_block (a row of 1024 float32 is 4 KiB: one page read
# in full per value of r, which the hardware prefetcher follows; blocks of 64 went page to page
# 256 bytes at a time, 1.4x slower on column_sum 1024^2), and values of r per sweep over them.
COL_BLOCK = 1024
COL_BLOCK_BYTES = 1 << 16
COL_UNROLL = 4


# Blocks of a tiled loop kernel on the CPU (CpuDialect.tile): m x l outputs, the buffer rows'
# padding, and the most bytes of buffers per block (they live on the thread's stack). Measured on
# x.T + y float32, one thread (Xeon, AVX-512, 48 KiB L1, 2 MiB L2), median ms at 1024^2 / 4096^2:
# 32x32 (the CUDA tile) 0.90 / 42, 32x64 0.67-0.80 / 37, 64x64 0.69 / 36, 32x128 0.65 / 36,
# 64x128 0.61-0.65 / 34.5-35.7, 128x128 0.78 / 38, 64x256 0.84 / 35.5; a 33-column pad did not
# help (the buffer's writes are 8-wide rows, not single elements). The plain element loop: 7.7 / 155.
CPU_TILE_M = 64
CPU_TILE_L = 128
CPU_TILE_PAD = 0
CPU_TILE_BYTES = 1 << 16
# The unsigned type of each element size: gx_transpose8 moves bits.
_BITS_TYPE = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long"}
# Loop kernels reading `i % C` for rows of at least ROW_MIN elements loop over rows and columns
# (CpuDialect.row_column); shorter rows would pay the inner loop's start per few elements.
ROW_MIN = 64
_ROW_INDEX = re.compile(r"(?:\(i\)|i) (%|/) (\d+)")
_ROW_DIV = re.compile(r"(?<![\w)])(?:\(i\)|\bi) / (\d+)\b")


# Reductions with at most this many rows, each at least 2 CPU_GRAIN long, split their rows.
SPLIT_ROWS = 4


def cpu_split_chunk(n_red):
    """Values of a split row per chunk: CPU_GRAIN, or more so that there are at most 4096 chunks."""
    return max(CPU_GRAIN, -(-n_red // (4096 * LANES)) * LANES)


def cpu_tile_shape(k):
    """(bm, bl): the outputs along (m, l) of one block of a tiled loop kernel in the CPU dialect:
    CPU_TILE_M x CPU_TILE_L, fewer rows while the operands' buffers exceed CPU_TILE_BYTES."""
    t, bm = k.info["tiling"], CPU_TILE_M
    size = {p.name: p.dtype.itemsize for p in k.params}
    per_row = CPU_TILE_L * sum(size[name] for name, _ in t.loads)
    while bm > 8 and bm * per_row > CPU_TILE_BYTES:
        bm //= 2
    return bm, CPU_TILE_L


def cpu_tiles(k):
    """Work items of a tiled loop kernel in the CPU dialect (CpuDialect.tile): blocks of its output."""
    t, (bm, bl) = k.info["tiling"], cpu_tile_shape(k)
    n = -(-t.shape[t.m] // bm) * -(-t.shape[t.l] // bl)
    return n * int(np.prod([t.shape[a] for a in t.batch], dtype=np.int64))


def cpu_items(k):
    """(items, items per chunk) of a kernel in the CPU dialect: elements, blocks of a tiled loop
    kernel, or rows of a reduction."""
    if k.kind == "loop" and k.strategy == "tile-transpose":
        bm, bl = cpu_tile_shape(k)
        return cpu_tiles(k), max(1, CPU_GRAIN // (bm * bl))
    if k.kind == "loop":
        return k.size, CPU_GRAIN
    n_out, n_red = k.info["n_out"], max(1, k.info["n_red"])
    if n_out <= SPLIT_ROWS and n_red >= 2 * CPU_GRAIN:
        return n_out, max(1, n_out)     # one chunk of rows: the threads share each row instead
    if not k.info.get("row_like", True):   # column_block: whole blocks (<= COL_BLOCK) per chunk
        return n_out, max(COL_BLOCK, CPU_GRAIN // n_red // COL_BLOCK * COL_BLOCK)
    return n_out, max(1, CPU_GRAIN // n_red)


def render_cpu(k):
    """Fill in k.source, k.name, k.launch with the CPU dialect (and return the source)."""
    return CpuDialect(k).render()


def _smem_row_bytes(n_red, ct):
    """Bytes of one shared row buffer of n_red values of C type `ct`, rounded up to 16 (alignment)."""
    return -(-n_red * _CTYPE_BYTES.get(ct, 8) // 16) * 16


def launch_block(k):
    s = k.strategy
    if s == "tile-transpose":
        return TILE * TILE_ROWS
    if s.startswith("loop") or s == "thread":
        n = k.size if s != "loop-vec4" else k.size // 4
        return int(min(BLOCK, max(32, -(-n // 32) * 32)))
    return k.info["form"].threads


def launch_config(k):
    """(grid, block) as 3-tuples, from the shapes only (the same on every device). Every form
    loops over its work items grid-stride, so any grid computes the same bits; MAX_GRID caps it."""
    s, nt = k.strategy, launch_block(k)
    if s.startswith("loop"):
        work = k.size // 4 if s == "loop-vec4" else k.size
        return (max(1, min(-(-work // nt), MAX_GRID)), 1, 1), (nt, 1, 1)
    if s == "tile-transpose":
        return (max(1, min(k.info["tiling"].n_tiles, MAX_GRID)), 1, 1), (nt, 1, 1)
    n_out, c = k.info["n_out"], k.info.get("chunks", 1)
    if s == "thread":
        grid = -(-n_out // nt)
    elif s == "warp":
        grid = -(-n_out // (nt // 32))
    elif s == "block":
        grid = n_out
    elif s == "split":
        grid = n_out * c
    else:
        grid = -(-n_out // k.info["form"].tile[0]) * c
    return (max(1, min(grid, MAX_GRID)), 1, 1), (nt, 1, 1)


def _row_reads(stmts, inputs):
    """{input: passes over a row that load it} (loop kernels: one pass)."""
    loops = [st for st in _walk(stmts) if st[0] == "for_red"]
    if not loops:
        return dict.fromkeys(inputs, 1)
    out = {}
    for st in loops:
        used = {}
        _uses([st], used)
        for name in inputs:
            if used.get(name):
                out[name] = out.get(name, 0) + 1
    return out


def _describe(k):
    if k.kind == "loop":
        outs = ", ".join(f"{stype(p.dtype)}[{p.size}]" for p in k.params if p.role == "out")
        return f"// gpuxla loop kernel: {len(k.outputs)} output(s) of shape {k.info['shape']}: {outs}"
    i = k.info
    ops = ", ".join(s.prim.name for s in i["stages"])
    return (f"// gpuxla reduction kernel ({k.strategy} per row): {ops} over axes {i['axes']} of {i['in_shape']}"
            f" -> {i['n_out']} row(s) of {i['n_red']}")


def row_traffic(k):
    """(bytes reduction `k` moves as lowered, bytes the CUDA dialect's text moves): each input times
    the passes over the rows that read it, plus the outputs. They differ when the dialect keeps a
    multi-pass row in registers or shared memory. `k` is left as it was."""
    ins = [p for p in k.params if p.role == "in"]
    written = sum(p.size * p.dtype.itemsize for p in k.params if p.role == "out")

    def traffic(stmts):
        reads = _row_reads(stmts, [p.name for p in ins])
        return written + sum(p.size * p.dtype.itemsize * max(1, reads.get(p.name, 1)) for p in ins)
    return traffic(k.body), traffic(CudaDialect(k).body())


def render(k):
    """Fill in k.source, k.name, k.launch with the CUDA dialect (and return the source)."""
    return CudaDialect(k).render()


def module_source(kernels):
    """One translation unit holding several kernels (each is self-contained; headers are guarded)."""
    seen, parts = set(), []
    for k in kernels:
        if k.name not in seen:
            seen.add(k.name)
            parts.append(k.source)
    return "\n".join(parts)
