"""The simulation report: the JSON of ``trnx-sim --report`` as an object.

Top-level fields read as attributes (``report.seconds``, ``report.cycles``,
``report.energy_joules``; units are in the names, see docs/report.md; every
``cycles`` field is a whole number of cycles of its clock, every ``seconds``
field exact);
per-engine, per-stream and per-op data come as pandas DataFrames.
"""
from __future__ import annotations

import json
from typing import Any, Dict


class Report:
    """A simulation report (see docs/report.md for every field and its unit)."""

    def __init__(self, data: Dict[str, Any]) -> None:
        self._data = data

    @classmethod
    def from_json(cls, text: str) -> "Report":
        return cls(json.loads(text))

    def __getattr__(self, name: str) -> Any:
        data = self.__dict__.get("_data", {})
        if name in data:
            return data[name]
        raise AttributeError(f"report has no field {name!r} (fields: {', '.join(sorted(data))})")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._data))

    def to_dict(self) -> Dict[str, Any]:
        """The report as plain Python data (a deep copy)."""
        return json.loads(json.dumps(self._data))

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self._data, indent=indent)

    @property
    def engines(self):
        """Per-engine busy cycles (whole cycles of the engine's clock), busy seconds (exact), busy fraction,
        clock and instruction counts."""
        import pandas as pd

        frame = pd.DataFrame.from_dict(self._data.get("engines", {}), orient="index")
        frame.index.name = "engine"
        return frame

    @property
    def streams(self):
        """Per (core, engine/queue) stream statistics."""
        import pandas as pd

        frame = pd.DataFrame.from_dict(self._data.get("streams", {}), orient="index")
        frame.index.name = "stream"
        return frame

    @property
    def ops(self):
        """Time and energy by source op (the profiler view), largest first."""
        import pandas as pd

        rows = self._data.get("ops", [])
        if isinstance(rows, dict):
            rows = [dict(op=k, **v) for k, v in rows.items()]
        frame = pd.DataFrame(rows)
        if not frame.empty and "op" in frame:
            frame = frame.set_index("op")
        return frame

    @property
    def energy_breakdown(self):
        """Chip energy by component, in joules (a pandas Series)."""
        import pandas as pd

        energy = self._data.get("energy", {})
        breakdown = energy.get("breakdown_joules") or energy.get("breakdown") or self._data.get(
            "energy_breakdown_joules", {})
        return pd.Series(breakdown, name="joules", dtype=float)

    @property
    def bound_by(self) -> str:
        """The resource holding up most of the critical path: pe, act, dve, pool, sp, dma_issue,
        dma_engines, hbm, latency or conflict ('' for functional-only runs)."""
        return self._data.get("bottleneck", {}).get("bound_by", "")

    @property
    def critical_path(self):
        """The run time split by what held it up, in seconds (a pandas Series summing to ``seconds``)."""
        import pandas as pd

        return pd.Series(self._data.get("bottleneck", {}).get("critical_path_seconds", {}), name="seconds",
                         dtype=float)

    @property
    def resources(self):
        """Each resource's busy time and utilisation over the run, and the limit it is measured against."""
        import pandas as pd

        frame = pd.DataFrame.from_dict(self._data.get("bottleneck", {}).get("resources", {}), orient="index")
        frame.index.name = "resource"
        return frame

    def summary(self) -> str:
        """A few lines: time, throughput, bandwidth, energy."""
        d = self._data
        lines = [
            f"{d.get('program', 'program')} on {d.get('chip')}: {d.get('seconds', 0) * 1e6:.2f} us "
            f"({d.get('cycles', 0):.0f} {d.get('cycles_clock', 'pe').upper()} cycles)",
            f"  compute  {d.get('achieved_flops_per_second', 0) / 1e12:.2f} TFLOP/s of "
            f"{d.get('peak_flops_per_second', 0) / 1e12:.1f} peak",
            f"  HBM      {d.get('achieved_hbm_bytes_per_second', 0) / 1e9:.1f} GB/s of "
            f"{d.get('peak_hbm_bytes_per_second', 0) / 1e9:.0f} peak",
            f"  energy   {d.get('energy_joules', 0) * 1e3:.3f} mJ, {d.get('average_power_watts', 0):.0f} W average",
        ]
        if "bottleneck" in d:
            lines.append(f"  bound    {d['bottleneck']['summary']}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def combined_critical_path(parts) -> "tuple[Dict[str, float], str, float]":
    """The critical path of a step made of simulated parts run one after another:
    ``parts`` is ``[(report_dict, count), ...]`` (e.g. one decoder layer x layers
    + the head). Returns (seconds per cause, the cause with the most, its share)."""
    total: Dict[str, float] = {}
    for report, count in parts:
        for cause, seconds in report.get("bottleneck", {}).get("critical_path_seconds", {}).items():
            total[cause] = total.get(cause, 0.0) + count * seconds
    if not total:
        return {}, "", 0.0
    bound = max(total, key=total.get)
    whole = sum(total.values())
    return total, bound, (total[bound] / whole if whole > 0 else 0.0)
