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
    """A multi-rank run on a system: each rank's outputs (``rank_outputs[r]``,
    functional modes) and, in timing modes, ``report`` (the simulated rank's
    report with a ``system`` section: ranks simulated and replicated, exposed
    communication, bytes per link class, link energy, system power; see
    docs/multichip.md) and ``trace`` when asked.

    ``outputs`` is rank 0's.
    """

    def __init__(self, system: str, rank_outputs: List[Dict[str, np.ndarray]], ranks: int = 0,
                 report: Optional[Report] = None, trace: Optional[Dict[str, Any]] = None) -> None:
        self.system = system
        self.ranks = ranks or len(rank_outputs)
        self.rank_outputs = rank_outputs
        self.outputs = rank_outputs[0] if rank_outputs else {}
        self.report = report
        self.trace = trace

    def save_trace(self, path: Union[str, "os.PathLike[str]"]) -> None:
        if self.trace is None:
            raise ValueError("no trace: simulate with trace=True and a timing mode")
        with open(path, "w") as f:
            json.dump(self.trace, f)

    def __repr__(self) -> str:
        return f"SystemResult(system={self.system!r}, ranks={self.ranks}, outputs={sorted(self.outputs)})"


def simulate(program: Union[Program, str, "os.PathLike[str]"], chip: Optional[ChipLike] = None, *,
             inputs: Optional[Mapping[str, Any]] = None, mode: str = "both", trace: bool = False,
             attribute_ops: bool = True, tokens: Optional[float] = None,
             system: Optional[Any] = None, max_instructions: Optional[int] = None,
             max_simulated_seconds: Optional[float] = None) -> Union[Result, SystemResult]:
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
            power), as ``trnx-sim --tokens``; with ``system=``, the whole
            system's tokens, in ``report["system"]["workload"]`` (per the
            system's IT and facility power).
        system: a system preset, YAML path or :class:`trnx.systems.System`:
            runs a multi-rank program one rank per chip, as ``trnx-sim
            --system``, and returns a :class:`SystemResult` (timing modes:
            one rank simulated and replicated, ``report["system"]``).
        max_instructions: stop with a TrnxError after this many executed
            instructions (default 1e10), as ``trnx-sim --max-instructions``.
        max_simulated_seconds: stop with a TrnxError past this much simulated
            time (default 3600 s, at most 4000), as ``trnx-sim
            --max-simulated-seconds``. Runs longer than 10 s of wall time
            print a progress note on stderr. Both limits apply to
            ``system=`` runs too.

    Raises:
        TrnxError: with the message ``trnx-sim`` prints after ``error:``.
    """
    if not isinstance(program, Program):
        from .program import load_program

        program = load_program(program)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {sorted(_MODES)}, not {mode!r}")
    functional, timing = _MODES[mode]
    if max_instructions is not None and (isinstance(max_instructions, bool) or int(max_instructions) != max_instructions
                                         or max_instructions < 1):
        raise ValueError(f"max_instructions must be a whole number of at least 1, not {max_instructions!r}")
    if max_simulated_seconds is not None and not 0 < max_simulated_seconds <= 4000:
        raise ValueError(f"max_simulated_seconds must be above 0 and at most 4000, not {max_simulated_seconds!r}")
    limits = (int(max_instructions or 0), float(max_simulated_seconds or 0))
    if system is not None:
        from .systems import load as load_system

        resolved = load_system(system)
        if tokens is not None and (not timing or tokens <= 0):
            raise ValueError("tokens needs a timing mode and a positive count")
        if trace and not timing:
            raise ValueError("trace=True needs timing (mode='timing' or 'both')")
        if chip is not None:
            raise ValueError(f"chip and system both name the chip: the system's is {resolved.chip!r}")
        rank_outputs: List[Dict[str, np.ndarray]] = []
        if functional:
            arrays = {str(k): np.asarray(v) for k, v in (inputs or {}).items()}
            ranks = _trnx.simulate_system(program._native, resolved.source, arrays, *limits)
            rank_outputs = [dict(r) for r in ranks]
        report = trace_data = None
        if timing:
            raw = _trnx.simulate_system_timing(program._native, resolved.source, trace, program.name, *limits,
                                               float(tokens or 0))
            data = json.loads(raw["report_json"])
            data["system"] = json.loads(raw["system_json"])
            report = Report(data)
            trace_data = json.loads(raw["trace_json"]) if raw["trace_json"] is not None else None
        return SystemResult(resolved.name, rank_outputs, program.num_ranks,
                            report, trace_data)
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
                         attribute_ops, float(tokens or 0), *limits)
    trace_data = json.loads(raw["trace_json"]) if raw["trace_json"] is not None else None
    return Result(dict(raw["outputs"]), Report.from_json(raw["report_json"]), trace_data)
