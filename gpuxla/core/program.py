"""A graph flattened into numbered slots: what backends compile and executables run.

A Program is `inputs -> equations -> outputs` over integer slots. Constant leaves of the graph
(closed-over arrays, literals) become `consts` baked into the program. Programs are built both by
eager realization (the pending subgraph; buffers it reads are inputs) and by jit (symbolic leaves
are inputs).
"""
from .graph import toposort
from ..errors import UnexpectedTracerError


def params_key(params):
    return tuple(sorted(params.items())) if params else ()


class Eqn:
    __slots__ = ("prim", "params", "ins", "out", "aval")

    def __init__(self, prim, params, ins, out, aval):
        self.prim, self.params, self.ins, self.out, self.aval = prim, params or {}, tuple(ins), out, aval


class Program:
    def __init__(self, in_avals, consts, eqns, outs, out_avals, n_slots):
        self.in_avals = in_avals      # slot i < len(in_avals) is input i
        self.consts = consts          # [(slot, buffer, aval)]
        self.eqns = eqns
        self.outs = outs              # output slots
        self.out_avals = out_avals
        self.n_slots = n_slots
        self._last_use = None

    @staticmethod
    def from_graph(inputs, outputs, order=None):
        """Flatten the graph between `inputs` (nodes) and `outputs` (nodes)."""
        slot = {}
        for i, x in enumerate(inputs):
            slot.setdefault(x.id, i)
        n = len(inputs)
        consts, eqns = [], []
        if order is None:
            order = toposort(outputs, stop=lambda node: node.id in slot)
        for node in order:
            if node.id in slot:
                continue
            # A realized node that still has inputs (kept while a transformation runs) is read as
            # its buffer: recomputing it would be wasted work.
            if node.prim is None or node._buf is not None:
                if node._buf is None:
                    raise UnexpectedTracerError(
                        f"A symbolic array {node.aval.str_short()} from {node.sym} leaked into a graph it "
                        "does not belong to (an array from an inner transformation stored outside it?)")
                slot[node.id] = n
                consts.append((n, node._buf, node.aval))
            else:
                eqns.append(Eqn(node.prim, node.params, tuple(slot[x.id] for x in node.inputs), n, node.aval))
                slot[node.id] = n
            n += 1
        return Program([x.aval for x in inputs], consts, eqns, [slot[o.id] for o in outputs],
                       [o.aval for o in outputs], n)

    def text(self):
        """The program as text: `s2:f32[3] = add s0 s1` per equation."""
        ins = " ".join(f"s{i}:{a.str_short()}" for i, a in enumerate(self.in_avals))
        lines = [f"program ({ins}) -> ({', '.join(f's{s}' for s in self.outs)})"]
        for s, _, a in self.consts:
            lines.append(f"  s{s}:{a.str_short()} = const")
        for e in self.eqns:
            aval = (e.aval.str_short() if not isinstance(e.aval, tuple)
                    else "(" + ", ".join(a.str_short() for a in e.aval) + ")")
            ps = " ".join(f"{k}={v!r}" for k, v in sorted((e.params or {}).items()))
            lines.append(f"  s{e.out}:{aval} = {e.prim.name}{'[' + ps + ']' if ps else ''} "
                         f"{' '.join(f's{i}' for i in e.ins)}")
        return "\n".join(lines)

    def last_use(self):
        """Slot -> index of the last equation reading it (outputs live to the end)."""
        if self._last_use is None:
            lu = {}
            for k, e in enumerate(self.eqns):
                for s in e.ins:
                    lu[s] = k
            for s in self.outs:
                lu[s] = len(self.eqns)
            self._last_use = lu
        return self._last_use
