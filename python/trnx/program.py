"""Compiling models into programs, and the :class:`Program` they become."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from . import _trnx
from .chips import Chip, ChipLike

ModelLike = Union[str, "os.PathLike[str]", Any]


class Program:
    """A compiled trnx program (what a ``.tnx`` file holds).

    ``tensors`` lists its inputs, outputs, weights and scratch space;
    ``asm()`` is the assembly listing (``trnx-objdump -d``).
    """

    def __init__(self, native: _trnx.Program, name: str = "program") -> None:
        self._native = native
        self.name = name

    @property
    def target(self) -> str:
        """The chip the program was compiled for."""
        return self._native.target

    @property
    def num_cores(self) -> int:
        """NeuronCores the program runs on."""
        return self._native.num_cores

    @property
    def num_ranks(self) -> int:
        """Ranks (chips) a multi-rank program runs on; 1 for a single-chip program."""
        return self._native.num_ranks

    @property
    def instruction_count(self) -> int:
        """Static instruction count over all streams (loops count once)."""
        return self._native.instruction_count()

    @property
    def tensors(self):
        """The tensor table as a DataFrame (name, role, dtype, shape, bytes, has_data)."""
        import pandas as pd

        return pd.DataFrame(self._native.tensors())

    def _names(self, role: str) -> List[str]:
        return [t["name"] for t in self._native.tensors() if t["role"] == role]

    @property
    def inputs(self) -> List[str]:
        """Names of the input tensors (what :func:`trnx.simulate` takes)."""
        return self._names("input")

    @property
    def outputs(self) -> List[str]:
        """Names of the output tensors."""
        return self._names("output")

    @property
    def weights(self) -> List[str]:
        """Names of the weight tensors (constants or data-less weight arguments)."""
        return self._names("weight")

    def input_shapes(self) -> Dict[str, tuple]:
        """``{name: shape}`` of the inputs."""
        return {t["name"]: t["shape"] for t in self._native.tensors() if t["role"] == "input"}

    def streams(self):
        """Per (core, engine) instruction counts as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(self._native.streams())

    def asm(self, with_data: bool = False) -> str:
        """The assembly listing; ``with_data`` includes constant tensor bytes."""
        return self._native.asm(with_data)

    def to_bytes(self) -> bytes:
        """The ``.tnx`` container bytes."""
        return self._native.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "program") -> "Program":
        """A program from ``.tnx`` bytes (checked like a file would be)."""
        return cls(_trnx.program_from_bytes(data), name)

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the ``.tnx`` file (runnable with ``trnx-sim``)."""
        self._native.save(os.fspath(path))

    def __repr__(self) -> str:
        return (f"Program({self.name!r}, target={self.target!r}, cores={self.num_cores}, "
                f"instructions={self.instruction_count}, inputs={self.inputs}, outputs={self.outputs})")


def load_program(path: Union[str, "os.PathLike[str]"]) -> Program:
    """Reads a ``.tnx`` file."""
    text = os.fspath(path)
    return Program(_trnx.load_program(text), os.path.basename(text))


def _target_args(target: ChipLike):
    if isinstance(target, Chip):
        return target.name, target._native
    return os.fspath(target), None


def compile(model: ModelLike, target: ChipLike = "trn3", *, auto_cast: str = "matmul",
            auto_cast_type: str = "bf16", entry: Optional[str] = None,
            shapes: Optional[Mapping[str, Sequence[int]]] = None,
            weights_as_args: bool = False) -> Program:
    """Compiles a model for a chip.

    Args:
        model: a path to an ``.onnx`` or ``.mlir`` file, MLIR text (TOSA,
            linalg or trn), or a builder graph from :mod:`trnx.models`
            (anything with a ``to_mlir()`` method).
        target: a preset name, a chip YAML path, or a :class:`trnx.Chip`.
        auto_cast: ``"none"``, ``"matmul"`` (default: matmul operands in
            ``auto_cast_type`` with fp32 accumulation) or ``"all"``.
        auto_cast_type: ``"bf16"``, ``"fp16"`` or ``"fp8e4m3"``.
        entry: the function to compile (default ``main`` or the only public one).
        shapes: ONNX only: values for dynamic input dims, ``{name: dims}``.
        weights_as_args: ONNX only: initializers become data-less weights.

    Raises:
        TrnxError: with the message ``trnx-compile`` prints after ``error:``.
    """
    name, chip = _target_args(target)
    if hasattr(model, "to_mlir"):
        text = model.to_mlir()
        label = getattr(model, "name", "model")
        native = _trnx.compile_source(text, f"{label}.mlir", name, chip, auto_cast, auto_cast_type, entry or "")
        return Program(native, label)
    if isinstance(model, str) and ("func.func" in model or model.lstrip().startswith("module")):
        native = _trnx.compile_source(model, "<string>", name, chip, auto_cast, auto_cast_type, entry or "")
        return Program(native, "<string>")
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        dims = {k: [int(d) for d in v] for k, v in (shapes or {}).items()}
        native = _trnx.compile_file(path, name, chip, auto_cast, auto_cast_type, entry or "", dims,
                                    weights_as_args)
        return Program(native, os.path.splitext(os.path.basename(path))[0])
    raise TypeError(f"cannot compile a {type(model).__name__}: pass a path, MLIR text or a trnx.models graph")
