"""trnx: compile model graphs for Trainium-like accelerators and simulate them.

The three calls most code needs::

    import trnx
    program = trnx.compile("model.onnx", target="trn3")       # -> Program
    result = trnx.simulate(program, inputs={"x": x})           # -> Result
    result.outputs["y"], result.report.seconds, result.report.engines

Submodules: :mod:`trnx.chips` (chip configs), :mod:`trnx.models` (shape-only
transformer builders), :mod:`trnx.workloads` (tokens/s and tokens per MW from
simulation), :mod:`trnx.plots`, :mod:`trnx.sweep`.
"""
from ._trnx import TrnxError
from . import chips
from .chips import Chip
from .program import Program, compile, load_program
from .report import Report
from .simulate import Result, simulate

__all__ = [
    "Chip",
    "Program",
    "Report",
    "Result",
    "TrnxError",
    "chips",
    "compile",
    "load_program",
    "simulate",
]
