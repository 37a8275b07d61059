"""Running programs in the simulator: :func:`simulate` and its :class:`Result`."""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np

from . import _trnx
from .chips import ChipLike, load
from .program import Program
from .report import Report

_MODES = {"functional": (True, False), "timing": (False, True), "both": (True, True)}


class Result:
    """What a simulation returns: output arrays, the report and the trace."""

    def __init__(self, outputs: Dict[str, np.ndarray], report: Report, trace: Optional[Dict[str, Any]]) -> None:
        self.outputs = outputs
        self.report = report
        self.trace = trace

    def save_trace(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the Perfetto/Chrome trace JSON (simulate with ``trace=True``)."""
        if self.trace is None:
            raise ValueError("no trace: simulate with trace=True")
        with open(path, "w") as f:
            json.dump(self.trace, f)

    def __repr__(self) -> str:
        return f"Result(outputs={sorted(self.outputs)}, seconds={self.report.seconds:.3e})"


class SystemResult:
    """A multi-rank run on a system: each rank's outputs (``rank_outputs[r]``).

    ``outputs`` is rank 0's. Functional only for now: there is no report
    (docs/multichip.md says what the system model does so far).
    """

    def __init__(self, system: str, rank_outputs: List[Dict[str, np.ndarray]]) -> None:
        self.system = system
        self.ranks = len(rank_outputs)
        self.rank_outputs = rank_outputs
        self.outputs = rank_outputs[0] if rank_outputs else {}

    def __repr__(self) -> str:
        return f"SystemResult(system={self.system!r}, ranks={self.ranks}, outputs={sorted(self.outputs)})"


def simulate(program: Union[Program, str, "os.PathLike[str]"], chip: Optional[ChipLike] = None, *,
             inputs: Optional[Mapping[str, Any]] = None, mode: str = "both", trace: bool = False,
             attribute_ops: bool = True, tokens: Optional[float] = None,
             system: Optional[Any] = None) -> Union[Result, SystemResult]:
    """Simulates a program on a chip.

    Args:
        program: a :class:`Program` or a ``.tnx`` path.
        chip: preset name, YAML path or :class:`trnx.Chip`; default: the
            program's target.
        inputs: ``{name: array}`` for every input (functional modes); arrays
            are converted to the tensor's dtype with the hardware's rounding.
        mode: ``"functional"``, ``"timing"`` or ``"both"``.
        trace: also record a Perfetto/Chrome trace (timing modes).
        attribute_ops: fill ``report.ops`` (time and energy per source op);
            costs about 3x simulation speed in timing-only runs.
        tokens: the run produced this many tokens: adds ``report.workload``
            (tokens/s, tokens/J, tokens/s per MW at chip, node and facility
            power), as ``trnx-sim --tokens``.
        system: a system preset, YAML path or :class:`trnx.systems.System`:
            runs a multi-rank program one rank per chip, as ``trnx-sim
            --system`` (``mode="functional"`` only so far) and returns a
            :class:`SystemResult`.

    Raises:
        TrnxError: with the message ``trnx-sim`` prints after ``error:``.
    """
    if not isinstance(program, Program):
        from .program import load_program

        program = load_program(program)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {sorted(_MODES)}, not {mode!r}")
    functional, timing = _MODES[mode]
    if system is not None:
        from .systems import load as load_system

        resolved = load_system(system)
        if mode != "functional" or trace or tokens is not None:
            raise ValueError("a system simulation is functional only so far: pass mode='functional' "
                             "and no trace or tokens")
        if chip is not None:
            raise ValueError(f"chip and system both name the chip: the system's is {resolved.chip!r}")
        arrays = {str(k): np.asarray(v) for k, v in (inputs or {}).items()}
        ranks = _trnx.simulate_system(program._native, resolved.source, arrays)
        return SystemResult(resolved.name, [dict(r) for r in ranks])
    if trace and not timing:
        raise ValueError("trace=True needs timing (mode='timing' or 'both')")
    config = load(chip if chip is not None else program.target)
    arrays = {str(k): np.asarray(v) for k, v in (inputs or {}).items()}
    missing = [n for n in program.inputs if n not in arrays] if functional else []
    if missing and set(arrays) <= set(program.inputs):  # (unknown names: the simulator's error)
        raise _trnx.TrnxError(f"input '{missing[0]}' of {program.name} was not given: pass "
                              f"inputs={{'{missing[0]}': array, ...}} (or mode='timing')")
    if tokens is not None and (not timing or tokens <= 0):
        raise ValueError("tokens needs a timing mode and a positive count")
    raw = _trnx.simulate(program._native, config._native, arrays, functional, timing, trace, program.name,
                         attribute_ops, float(tokens or 0))
    trace_data = json.loads(raw["trace_json"]) if raw["trace_json"] is not None else None
    return Result(dict(raw["outputs"]), Report.from_json(raw["report_json"]), trace_data)
