"""A graph flattened into numbered slots: what backends compile and executables run.

A Program is `inputs -> equations -> outputs` over integer slots. Constant leaves of the graph
(closed-over arrays, literals) become `consts` baked into the program. Programs are built both by
eager realization (the pending subgraph; buffers it reads are inputs) and by jit (symbolic leaves
are inputs).
"""
from .graph import Array, toposort
from ..errors import ConcretizationTypeError, UnexpectedTracerError


def params_key(params):
    return tuple(sorted(params.items())) if params else ()


class Eqn:
    __slots__ = ("prim", "params", "ins", "out", "aval")

    def __init__(self, prim, params, ins, out, aval):
        self.prim, self.params, self.ins, self.out, self.aval = prim, params, ins, out, aval


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


def structure_key(order, outputs):
    """Key of a pending subgraph by structure (primitives, params, avals), not values."""
    pos = {}
    key = []
    for i, node in enumerate(order):
        pos[node.id] = i
        if node._buf is not None:
            key.append(("in", node.aval.key()))
        else:
            key.append((node.prim.name, params_key(node.params), tuple(pos[x.id] for x in node.inputs),
                        node.aval.key() if not isinstance(node.aval, tuple) else tuple(a.key() for a in node.aval)))
    return tuple(key), tuple(pos[o.id] for o in outputs)
