"""trnx: compile model graphs for Trainium-like accelerators and simulate them.

The three calls most code needs::

    import trnx
    program = trnx.compile("model.onnx", target="trn3")       # -> Program
    result = trnx.simulate(program, inputs={"x": x})           # -> Result
    result.outputs["y"], result.report.seconds, result.report.engines

Submodules: :mod:`trnx.chips` (chip configs), :mod:`trnx.systems` (multi-chip
systems), :mod:`trnx.models` (shape-only
transformer builders), :mod:`trnx.workloads` (tokens/s and tokens per MW from
simulation), :mod:`trnx.plots`, :mod:`trnx.sweep`.
"""
from ._trnx import TrnxError
from ._trnx import git_revision as __git_revision__
from ._trnx import version as __version__
from ._trnx import version_string

# __version__ is the CMake project version ("0.1.0"); __git_revision__ the
# checkout it was built from ("" outside git); version_string both, as every
# tool's --version, report ("trnx_version") and trace print them.
from . import chips
from .chips import Chip
from .program import Program, compile, load_program
from .report import Report
from .simulate import Result, SystemResult, simulate

# Heavier submodules load on first use (``trnx.models``, ``trnx.plots`` pulls
# in matplotlib, ``trnx.sweep`` pulls in SQLite/Dask helpers).
_LAZY_SUBMODULES = ("models", "mx", "parallel", "plots", "sweep", "systems", "workloads")


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'trnx' has no attribute {name!r}")


__all__ = [
    "Chip",
    "Program",
    "Report",
    "Result",
    "TrnxError",
    "chips",
    "compile",
    "load_program",
    "models",
    "plots",
    "simulate",
    "sweep",
    "SystemResult",
    "systems",
    "workloads",
    "version_string",
]
