"""Chip configurations: load presets or YAML files, inspect and derive them.

A :class:`Chip` is an immutable view of one chip config. Keys are the dotted
names of the chip YAML (``hbm.bytes_per_second``, ``pe_array.rows``, ...);
:func:`fields` lists them all with type, range and meaning::

    trn3 = trnx.chips.load("trn3")
    trn3["hbm.bytes_per_second"]
    faster = trn3.derive({"hbm.bytes_per_second": 8e12}, name="trn3-fast-hbm")
"""
from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Union

from . import _trnx

ChipLike = Union[str, "os.PathLike[str]", "Chip"]


class Chip(Mapping[str, Any]):
    """One chip configuration (a preset, a YAML file, or a derived variant)."""

    def __init__(self, native: _trnx.ChipConfig, origin: str) -> None:
        self._native = native
        self._origin = origin

    @property
    def name(self) -> str:
        """The chip's name (``trn3``, or the name given to :meth:`derive`)."""
        return self._native.name

    @property
    def origin(self) -> str:
        """Where the config came from: a preset name, a file, or ``derived``."""
        return self._origin

    def __getitem__(self, key: str) -> Any:
        return self._native.get(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_keys())

    def __len__(self) -> int:
        return len(_keys())

    def derive(self, overrides: Optional[Mapping[str, Any]] = None, *, name: Optional[str] = None,
               **kwargs: Any) -> "Chip":
        """A new chip with some keys changed; checked like a YAML file would be.

        Keys with dots can be given in ``overrides``; keyword arguments use
        ``__`` for the dot (``hbm__bytes_per_second=8e12``).
        """
        changes: Dict[str, Any] = dict(overrides or {})
        changes.update({k.replace("__", "."): v for k, v in kwargs.items()})
        native = self._native.copy()
        for key, value in changes.items():
            native.set(key, value)
        if name is not None:
            native.set("name", name)
        origin = f"{self._origin} + {sorted(changes)}"
        native.validate(origin)
        return Chip(native, origin)

    def peak_flops(self, dtype: str = "bf16") -> float:
        """Dense PE peak of all cores for a matmul input dtype, in FLOP/s."""
        return self._native.peak_flops_per_second(dtype)

    def to_dict(self) -> Dict[str, Any]:
        """Every key and its value (after inheritance and overrides)."""
        return {k: self[k] for k in self}

    def to_yaml(self) -> str:
        """The full config as chip YAML (loadable with :func:`load`)."""
        return self._native.to_yaml()

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes :meth:`to_yaml` to ``path``."""
        with open(path, "w") as f:
            f.write(self.to_yaml())

    def __repr__(self) -> str:
        return f"Chip({self.name!r}, origin={self._origin!r})"


def _keys() -> List[str]:
    return [f["key"] for f in _trnx.chip_fields()]


def load(name_or_path: ChipLike) -> Chip:
    """A preset (``trn2``, ``trn3``, ``trn4``) or a chip YAML file."""
    if isinstance(name_or_path, Chip):
        return name_or_path
    text = os.fspath(name_or_path)
    return Chip(_trnx.load_chip(text), text)


def from_yaml(text: str, origin: str = "<string>") -> Chip:
    """A chip from YAML text (``base: trn3`` inherits a preset)."""
    return Chip(_trnx.chip_from_yaml(text, origin), origin)


def presets() -> List[str]:
    """Names of the built-in presets."""
    return list(_trnx.preset_names())


def fields():
    """Every chip key with its type, valid range, meaning and what it affects (``uses``:
    codegen, timing, energy, power, or no effect; held to the truth by an audit test), as a
    DataFrame."""
    import pandas as pd

    return pd.DataFrame(_trnx.chip_fields()).set_index("key")


def codegen_keys() -> List[str]:
    """The keys the compiler reads (its target limits): programs compiled for two chips that
    agree on these are identical."""
    return [f["key"] for f in _trnx.chip_fields() if "codegen" in f["uses"].split(", ")]
