"""Tensor-parallel (Megatron) decode on a multi-chip system, by simulation.

:func:`decode` shards a dense model over ``tp`` chips as Megatron does
(column-parallel q/k/v, gate and up projections, row-parallel attention
output and down projections, so each rank holds ``heads/tp`` query heads,
``max(1, kv_heads/tp)`` key/value heads, ``ffn/tp`` of the FFN and
``vocab/tp`` of the LM head), compiles one sharded decoder layer for the
system's chip, and turns it into a multi-rank program
(:func:`tensor_parallel_program`): the compiled streams on every rank, plus
a DMA queue with the layer's two all-reduces of the batch x hidden bf16
activations over each tp group -- one after the phase that holds the
attention output projection, one after the down projection -- with a chip
barrier on every stream after each, so the rest of the layer waits for the
reduced activations (as the residual add does). That program runs on the
system in timing mode (:func:`trnx.simulate` with ``system=``: one rank
simulated and replicated), and the step is ``layers x layer + head`` (the
layers are identical, as ``trnx.workloads``' layer-scaled method). With
``tp`` < the system's chips the other chips are data-parallel replicas
(groups of ``tp`` consecutive chips).

What it leaves out: the all-reduces do not overlap the compute of their own
layer (in decode they sit on the critical path anyway); the LM head's
vocab-sharded logits are not gathered (sampling per shard); numerics are
not those of the full model (the compiled shards run on shape-only graphs).

::

    r = trnx.parallel.decode("llama3-70b", batch=1, context=2048, system="trn2-server", tp=16)
    r.tpot_seconds, r.exposed_communication_seconds, r.tokens_per_second_per_megawatt_facility
"""
from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Union

from . import _trnx
from . import chips as _chips
from . import models as _models
from .models.phases import ModelGraph
from .program import Program
from .program import compile as _compile
from .simulate import simulate as _simulate

_DTYPE_BYTES = {"fp32": 4, "int32": 4, "uint32": 4, "bf16": 2, "fp16": 2, "int16": 2, "uint16": 2,
                "int8": 1, "uint8": 1, "fp8e4m3": 1, "fp8e5m2": 1}
_BARRIER = "barrier scope=chip"


def shard_config(model: Union[str, _models.ModelConfig], tp: int) -> _models.ModelConfig:
    """The per-rank shapes of a dense model under Megatron tensor parallelism of degree ``tp``."""
    cfg = _models.get_config(model)
    if isinstance(tp, bool) or not isinstance(tp, int) or tp < 1:
        raise ValueError(f"tp must be a positive integer, not {tp!r}")
    if cfg.experts:
        raise NotImplementedError(f"{cfg.name}: tensor parallelism of MoE models (expert parallel) is not done yet")
    if cfg.heads % tp or cfg.ffn % tp:
        raise ValueError(f"{cfg.name}: tp={tp} must divide heads ({cfg.heads}) and ffn ({cfg.ffn})")
    heads = cfg.heads // tp
    kv = max(1, cfg.kv_heads // tp)  # fewer KV heads than ranks: each rank keeps a copy of one
    if heads % kv:
        raise ValueError(f"{cfg.name}: tp={tp} leaves {heads} query heads and {kv} KV heads per rank")
    return cfg.replace(name=f"{cfg.name}-tp{tp}", heads=heads, kv_heads=kv, ffn=cfg.ffn // tp,
                       vocab=-(-cfg.vocab // tp))


def _row_parallel_lines(mlir: str, batch: int, hidden: int) -> List[int]:
    """MLIR lines of the attention output and FFN down projections: the matmuls producing [1, batch, hidden]."""
    pattern = re.compile(r"tosa\.matmul .*-> tensor<1x%dx%dx" % (batch, hidden))
    lines = [i for i, text in enumerate(mlir.splitlines(), 1) if pattern.search(text)]
    if len(lines) < 2:
        raise ValueError(f"expected the attention output and down projections among the layer's matmuls, "
                         f"found {len(lines)} matmul(s) producing [1, {batch}, {hidden}]")
    return [lines[0], lines[-1]]


def tensor_parallel_program(layer: Program, mlir: str, batch: int, hidden: int, ranks: int, tp: int) -> Program:
    """A multi-rank program of ``ranks`` ranks from one compiled sharded layer (see the module docs)."""
    if ranks % tp:
        raise ValueError(f"tp={tp} must divide the system's {ranks} chips")
    text = layer.asm(with_data=False).splitlines()
    first = next(i for i, l in enumerate(text) if l.startswith(".stream"))
    header, body = text[:first], text[first:]
    streams: List[List[str]] = []
    for line in body:
        if line.startswith(".stream"):
            streams.append([line])
        else:
            streams[-1].append(line)
    # Where the two row-parallel matmuls end: the chip-barrier phase of their last instruction.
    row_lines = _row_parallel_lines(mlir, batch, hidden)
    loc_line = {}
    for line in header:
        m = re.match(r'\.loc (\d+) ".*" (\d+) \d+ ', line)
        if m:
            loc_line[int(m.group(1))] = int(m.group(2))
    after = [0, 0]
    counts = set()
    for s in streams:
        phase = 0
        for line in s[1:]:
            if line.strip() == _BARRIER:
                if line != "  " + _BARRIER:
                    raise ValueError("a chip barrier inside a loop: cannot place the all-reduces")
                phase += 1
                continue
            m = re.search(r" loc=(\d+)$", line)
            if m and loc_line.get(int(m.group(1))) in row_lines:
                k = row_lines.index(loc_line[int(m.group(1))])
                after[k] = max(after[k], phase + 1)
        counts.add(phase)
    if len(counts) != 1:
        raise ValueError("the compiled streams reach different numbers of chip barriers")
    n = counts.pop()
    if after[1] < after[0]:
        after[1] = after[0]
    # Every stream gets a barrier after its after[0]-th and after[1]-th chip barriers.
    out_streams = []
    used = set()
    for s in streams:
        used.add(s[0])
        lines, seen = [s[0]], 0
        extra = [a for a in after]
        if 0 in extra:  # before the first barrier (a phase-0 matmul would need one; the compiler always opens with one)
            raise ValueError("the row-parallel matmuls come before the first chip barrier")
        for line in s[1:]:
            lines.append(line)
            if line.strip() == _BARRIER:
                seen += 1
                lines.extend(["  " + _BARRIER] * extra.count(seen))
        lines.extend(["  " + _BARRIER] * sum(1 for a in extra if a > seen))
        out_streams.append(lines)
    queue = next((f".stream core=0 engine=q{q}" for q in range(15, -1, -1)
                  if f".stream core=0 engine=q{q}" not in used), None)
    if queue is None:
        raise ValueError("core 0 has no free DMA queue for the collectives")
    # Two scratch tensors for the activations after the layer's tensors.
    end = 0
    for line in header:
        m = re.match(r"\.tensor (\S+) \S+ (\S+) \[([0-9,]*)\] hbm=(0x[0-9a-f]+)", line)
        if m:
            elems = 1
            for d in filter(None, m.group(3).split(",")):
                elems *= int(d)
            end = max(end, int(m.group(4), 16) + elems * _DTYPE_BYTES.get(m.group(2), 4))
    count = batch * hidden
    base = -(-end // 4096) * 4096
    size = -(-count * 2 // 4096) * 4096
    tensors = [f".tensor tp_allreduce_src scratch bf16 [{batch},{hidden}] hbm={hex(base)}",
               f".tensor tp_allreduce_dst scratch bf16 [{batch},{hidden}] hbm={hex(base + size)}"]
    groups = " ".join("[" + ",".join(str(r) for r in range(g, g + tp)) + "]" for g in range(0, ranks, tp))
    ap = "+0x0:bf16[[0,1],[1,%d]]" % count
    all_reduce = f"  all_reduce dst=hbm[tp_allreduce_dst]{ap} src=hbm[tp_allreduce_src]{ap} op=add groups=0"
    # The collective queue meets every barrier; an all-reduce placed after the
    # k-th original barrier runs before the extra one (the others wait for
    # it); one placed after the last instruction runs after the extra barrier.
    coll = [queue]
    for k in range(1, n + 1):
        coll.append("  " + _BARRIER)
        for a in after:
            if a == k:
                coll += [all_reduce, "  " + _BARRIER]
    for a in after:
        if a > n:
            coll += ["  " + _BARRIER, all_reduce]
    head_end = next((i for i, l in enumerate(header) if l.startswith(".tensor")), len(header))
    new_header = header[:head_end] + [f".ranks {ranks}", f".replica_group 0 {groups}"] + header[head_end:]
    last_tensor = max(i for i, l in enumerate(new_header) if l.startswith(".tensor"))
    new_header = new_header[:last_tensor + 1] + tensors + new_header[last_tensor + 1:]
    asm = "\n".join(new_header + [l for s in out_streams for l in s] + coll) + "\n"
    return Program(_trnx.assemble(asm, f"{layer.name}-tp{tp}.s"), name=f"{layer.name}-tp{tp}x{ranks // tp}")


@dataclass
class ParallelResult:
    """A tensor-parallel decode step on a system. Times in seconds, power in watts.

    ``tokens_per_second`` is the system's (every data-parallel replica's
    batch); ``tokens_per_second_per_user`` is 1 / ``tpot_seconds``.
    """

    model: str
    system: str
    chips: int
    tp: int
    dp: int
    batch: int
    context: int
    layers: int
    tpot_seconds: float
    layer_seconds: float
    head_seconds: float
    exposed_communication_seconds: float
    tokens_per_second: float
    tokens_per_second_per_user: float
    facility_watts: float
    tokens_per_second_per_megawatt_facility: float
    replication: str
    method_detail: str
    layer_system: Dict[str, Any] = dataclasses.field(default_factory=dict)
    compile_seconds: float = 0.0
    simulate_seconds: float = 0.0

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def __repr__(self) -> str:
        return (f"ParallelResult({self.model} decode b{self.batch} on {self.system} tp={self.tp} dp={self.dp}: "
                f"{self.tpot_seconds * 1e3:.3f} ms/token, exposed comm {self.exposed_communication_seconds * 1e3:.3f} "
                f"ms, {self.tokens_per_second:,.1f} tokens/s)")


def decode(model: Union[str, _models.ModelConfig], batch: int = 1, context: int = 2048, *, system: Any,
           tp: Optional[int] = None, weight_dtype: str = "bf16", kv_dtype: str = "bf16", auto_cast: str = "matmul",
           layers: Optional[int] = None) -> ParallelResult:
    """One tensor-parallel decode step of ``model`` on ``system`` (see the module docs).

    Args:
        tp: tensor-parallel degree (default: every chip of the system); it
            must divide the system's chips, the model's heads and FFN width.
        layers: decoder layers (default: the model's).

    Raises:
        trnx.workloads.DoesNotFitError: a rank's shard does not fit its chip's HBM.
        ValueError, NotImplementedError: bad degrees, or an MoE model.
    """
    from . import systems as _systems
    from .workloads import check_fits

    resolved = _systems.load(system)
    cfg = _models.get_config(model)
    tp = resolved.chips if tp is None else tp
    shard = shard_config(cfg, tp)
    if resolved.chips % tp:
        raise ValueError(f"tp={tp} must divide {resolved.name}'s {resolved.chips} chips")
    n_layers = cfg.layers if layers is None else layers
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or not 1 <= n_layers <= cfg.layers:
        raise ValueError(f"layers must be between 1 and {cfg.layers} for {cfg.name}, not {n_layers!r}")
    chip = _chips.load(resolved.chip)
    check_fits(ModelGraph(shard.replace(layers=n_layers), "decode", batch, context, n_layers, "full", weight_dtype,
                          kv_dtype), chip)
    t0 = time.perf_counter()
    layer_graph = ModelGraph(shard, "decode", batch, context, 1, "layers", weight_dtype, kv_dtype)
    head_graph = ModelGraph(shard, "decode", batch, context, 0, "head", weight_dtype, kv_dtype)
    layer_program = _compile(layer_graph, target=chip, auto_cast=auto_cast)
    head_program = _compile(head_graph, target=chip, auto_cast=auto_cast)
    program = tensor_parallel_program(layer_program, layer_graph.to_mlir(), batch, cfg.hidden, resolved.chips, tp)
    t1 = time.perf_counter()
    layer = _simulate(program, mode="timing", system=resolved).report
    head = _simulate(head_program, chip, mode="timing", attribute_ops=False).report
    t2 = time.perf_counter()
    sysrep = layer["system"]
    step = n_layers * layer.seconds + head.seconds
    dp = resolved.chips // tp
    tokens = dp * batch
    facility_joules = (n_layers * sysrep["power_watts"]["facility"] * layer.seconds +
                       resolved.chips * head.energy["facility_joules"])
    detail = (f"one sharded decoder layer with its 2 all-reduces simulated on {resolved.name} (one rank, "
              f"replicated) x {n_layers} layers, plus the vocab-sharded embedding and LM head simulated on one chip")
    return ParallelResult(
        model=cfg.name, system=resolved.name, chips=resolved.chips, tp=tp, dp=dp, batch=batch, context=context,
        layers=n_layers, tpot_seconds=step, layer_seconds=layer.seconds, head_seconds=head.seconds,
        exposed_communication_seconds=n_layers * sysrep["exposed_communication_seconds"],
        tokens_per_second=tokens / step, tokens_per_second_per_user=1 / step,
        facility_watts=facility_joules / step, tokens_per_second_per_megawatt_facility=1e6 * tokens / facility_joules,
        replication=sysrep["replication"], method_detail=detail, layer_system=sysrep,
        compile_seconds=t1 - t0, simulate_seconds=t2 - t1)
