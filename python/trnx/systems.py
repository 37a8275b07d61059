"""Multi-chip system presets and files (docs/multichip.md).

::

    import trnx
    trnx.systems.names()                      # ['trn2-server', 'trn2-ultraserver', ...]
    s = trnx.systems.load("trn3-ultraserver")
    s.chips, s.topology, s.levels[0]["chip_bytes_per_second"]
    s.route(0, 100)                           # {'hops': 4, 'latency_seconds': ..., 'links': [...]}

The C++ loader (``simulator/system/SystemConfig.cpp``) reads the YAML; this
module only holds what it resolved.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Union

import yaml

from . import _trnx

SystemLike = Union[str, "os.PathLike[str]", "System"]


def names() -> List[str]:
    """Names of the system presets."""
    return list(_trnx.system_preset_names())


class System:
    """A resolved system config: chip, chip count, topology, links, scale-out."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._config: Dict[str, Any] = yaml.safe_load(_trnx.system_yaml(source))

    name = property(lambda self: self._config["name"])
    description = property(lambda self: self._config["description"])
    chip = property(lambda self: self._config["chip"], doc="chip preset or file, as the YAML names it")
    chips = property(lambda self: int(self._config["chips"]), doc="chips in all systems")
    topology = property(lambda self: self._config["topology"], doc="torus, ring or switch")
    levels = property(lambda self: [dict(level) for level in self._config["levels"]])
    scale_out = property(lambda self: dict(self._config["scale_out"]))
    collectives = property(lambda self: dict(self._config["collectives"]))
    energy = property(lambda self: dict(self._config["energy"]))

    def to_dict(self) -> Dict[str, Any]:
        """Every key, as ``trnx-sim`` reads it."""
        return yaml.safe_load(yaml.safe_dump(self._config))

    def route(self, from_chip: int, to_chip: int) -> Dict[str, Any]:
        """Hops, latency, slowest link and the links a message crosses."""
        return dict(_trnx.system_route(self.source, int(from_chip), int(to_chip)))

    def __repr__(self) -> str:
        return f"System({self.name!r}, {self.chips} x {self.chip}, {self.topology})"


def load(system: SystemLike) -> System:
    """A system preset name, a system YAML path, or a :class:`System`."""
    if isinstance(system, System):
        return system
    return System(os.fspath(system))
