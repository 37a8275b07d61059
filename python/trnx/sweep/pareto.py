"""Pareto fronts over any two metrics (each minimised or maximised), as a table and a plot."""
from __future__ import annotations

from typing import Any, Optional, Tuple

DIRECTIONS = ("min", "max")
# Default directions from metric names: time, energy and power are costs; rates and efficiencies gains.
_MINIMISE = ("seconds", "latency", "ttft", "tpot", "joules", "watts", "cycles", "bytes", "cost", "area")


def default_direction(metric: str) -> str:
    """``"min"`` for costs (``*_seconds``, ``*_joules``, ``*_watts``...), ``"max"`` for rates."""
    name = metric.lower()
    if "per_second" in name or "per_joule" in name or "per_megawatt" in name or "per_watt" in name:
        return "max"
    return "min" if any(word in name for word in _MINIMISE) else "max"


def parse_objective(text: str) -> Tuple[str, str]:
    """``"tpot_seconds"``, ``"tpot_seconds:min"`` or ``"max:tokens_per_second"`` -> (metric, direction)."""
    parts = text.strip().split(":")
    if len(parts) == 2 and parts[0] in DIRECTIONS:
        return parts[1], parts[0]
    if len(parts) == 2 and parts[1] in DIRECTIONS:
        return parts[0], parts[1]
    if len(parts) == 1 and parts[0]:
        return parts[0], default_direction(parts[0])
    raise ValueError(f"bad objective '{text}': use METRIC, METRIC:min or METRIC:max")


def pareto_front(frame: Any, x: str, y: str, x_direction: Optional[str] = None, y_direction: Optional[str] = None,
                 only_ok: bool = True) -> Any:
    """The rows of ``frame`` no other row beats on both ``x`` and ``y``, sorted by ``x``.

    Directions default from the metric names (:func:`default_direction`).
    Rows missing either metric (failed points) are left out. Ties: a row equal
    to another on both metrics is kept once per distinct (x, y).
    """
    x_direction = x_direction or default_direction(x)
    y_direction = y_direction or default_direction(y)
    for metric, direction in ((x, x_direction), (y, y_direction)):
        if direction not in DIRECTIONS:
            raise ValueError(f"direction for {metric} must be min or max, not {direction!r}")
        if metric not in frame.columns:
            raise KeyError(f"no metric '{metric}' in the results (columns: {', '.join(map(str, frame.columns))})")
    data = frame
    if only_ok and "status" in data.columns:
        data = data[data["status"] == "ok"]
    data = data.dropna(subset=[x, y])
    # Sort best-x first (best y breaking ties); a row is on the front if its y beats every y before it.
    sx = data[x] if x_direction == "min" else -data[x]
    sy = data[y] if y_direction == "min" else -data[y]
    order = sorted(range(len(data)), key=lambda i: (sx.iloc[i], sy.iloc[i]))
    keep, best_y = [], float("inf")
    for i in order:
        if sy.iloc[i] < best_y:
            keep.append(i)
            best_y = sy.iloc[i]
    front = data.iloc[keep]
    return front.sort_values(x).reset_index(drop=True)


def plot_pareto(frame: Any, x: str, y: str, x_direction: Optional[str] = None, y_direction: Optional[str] = None,
                ax: Any = None, label: Optional[str] = None, logx: bool = False, logy: bool = False) -> Any:
    """Scatter of every ok point with the Pareto front drawn over it; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    data = frame[frame["status"] == "ok"] if "status" in frame.columns else frame
    front = pareto_front(frame, x, y, x_direction, y_direction)
    ax.scatter(data[x], data[y], s=12, color="0.6", label="design points")
    ax.plot(front[x], front[y], "o-", color="C3", markersize=5, drawstyle="default",
            label=label or f"Pareto front ({len(front)})")
    ax.set_xlabel(f"{x} ({x_direction or default_direction(x)})")
    ax.set_ylabel(f"{y} ({y_direction or default_direction(y)})")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax
