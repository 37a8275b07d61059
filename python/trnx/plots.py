"""Plots of simulation results (matplotlib): engine timeline, roofline, energy, per-op time.

Each function draws into ``ax`` when given, else into a new figure, and
returns the figure; nothing calls ``show()``, so they work under the Agg
backend (scripts, tests) and inline in notebooks.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .report import Report

# One colour per engine family, shared by every plot.
ENGINE_COLOURS = {"pe": "#4c72b0", "act": "#dd8452", "dve": "#55a868", "pool": "#c44e52", "sp": "#8172b3",
                  "dma": "#937860"}


def _axes(ax, figsize: Tuple[float, float]):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def _events(trace: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]) -> List[Mapping[str, Any]]:
    if isinstance(trace, Mapping):
        trace = trace.get("traceEvents", [])
    if not isinstance(trace, Sequence):
        raise TypeError("trace must be a Chrome trace dict or its traceEvents list (simulate with trace=True)")
    return list(trace)


def _colour(track: str) -> str:
    if track.startswith("q") and track[1:].isdigit():  # DMA queues are named q0, q1, ...
        return ENGINE_COLOURS["dma"]
    for key, colour in ENGINE_COLOURS.items():
        if track.startswith(key) or key in track:
            return colour
    return "#7f7f7f"


def timeline(trace, *, cores: Optional[Iterable[int]] = None, ax=None, max_tracks: int = 48):
    """Engine timeline: one row per (core, engine or DMA queue), a bar per instruction.

    Args:
        trace: ``Result.trace`` (simulate with ``trace=True``) or its ``traceEvents``.
        cores: only these cores (default: all).
        max_tracks: at most this many rows (the first ones, core-major).
    """
    events = _events(trace)
    names: Dict[Tuple[int, int], str] = {}
    cores_named: Dict[int, str] = {}
    spans: Dict[Tuple[int, int], List[Tuple[float, float]]] = {}
    wanted = set(cores) if cores is not None else None
    for e in events:
        pid, tid = e.get("pid", 0), e.get("tid", 0)
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(pid, tid)] = e["args"]["name"]
        elif e.get("ph") == "M" and e.get("name") == "process_name":
            cores_named[pid] = e["args"]["name"]
        elif e.get("ph") == "X" and (wanted is None or pid in wanted):
            spans.setdefault((pid, tid), []).append((float(e["ts"]), float(e.get("dur", 0))))
    if not spans:
        raise ValueError("the trace has no instruction slices (simulate with trace=True in a timing mode)")
    tracks = sorted(spans)[:max_tracks]
    fig, ax = _axes(ax, (10, 0.28 * len(tracks) + 1.2))
    labels = []
    for row, key in enumerate(tracks):
        track = names.get(key, f"tid {key[1]}")
        ax.broken_barh(spans[key], (row - 0.4, 0.8), facecolors=_colour(track), linewidth=0)
        labels.append(f"{cores_named.get(key[0], f'core {key[0]}')} {track}")
    ax.set_yticks(range(len(tracks)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time (us)")
    ax.set_title("engine timeline")
    fig.tight_layout()
    return fig


def roofline(reports: Union[Report, Mapping[str, Report], Sequence[Report]], *, ax=None,
             peak_flops_per_second: Optional[float] = None, peak_hbm_bytes_per_second: Optional[float] = None):
    """Roofline (log-log): FLOP/s against FLOPs per HBM byte, with each run as a point.

    ``reports`` is one :class:`Report`, a list, or ``{label: report}``. The
    roof comes from the first report's peaks unless given.
    """
    if isinstance(reports, Report):
        reports = {reports.program if "program" in reports else "run": reports}
    elif not isinstance(reports, Mapping):
        reports = {f"{r['program'] if 'program' in r else 'run'} #{i}": r for i, r in enumerate(reports)}
    if not reports:
        raise ValueError("roofline needs at least one report")
    first = next(iter(reports.values()))
    peak_f = peak_flops_per_second or first.peak_flops_per_second
    peak_b = peak_hbm_bytes_per_second or first.peak_hbm_bytes_per_second
    fig, ax = _axes(ax, (6, 4.5))
    points = []
    for label, r in reports.items():
        if r.hbm_bytes <= 0 or r.seconds <= 0:
            continue
        points.append((label, r.flops / r.hbm_bytes, r.flops / r.seconds))
    intensities = [p[1] for p in points] + [peak_f / peak_b]
    lo, hi = max(min(intensities) / 10, 1e-3), max(intensities) * 10
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    ax.plot(xs, [min(peak_f, x * peak_b) for x in xs], color="black", linewidth=1.5, label="roof")
    for label, x, y in points:
        ax.scatter([x], [y], s=30, zorder=3)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP / HBM byte)")
    ax.set_ylabel("achieved FLOP/s")
    ax.set_title(f"roofline: {peak_f / 1e12:.0f} TFLOP/s, {peak_b / 1e12:.2f} TB/s")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def energy_breakdown(report: Report, *, ax=None, include_static: bool = True):
    """Horizontal bars of chip energy by component (joules), largest first."""
    series = report.energy_breakdown
    if not include_static and "static" in series:
        series = series.drop("static")
    series = series[series > 0].sort_values()
    if series.empty:
        raise ValueError("the report has no energy (simulate in a timing mode)")
    fig, ax = _axes(ax, (6, 0.35 * len(series) + 1.2))
    ax.barh(series.index, series.values * 1e3, color=[_colour(k) for k in series.index])
    ax.set_xlabel("energy (mJ)")
    ax.set_title(f"energy: {report.energy_joules * 1e3:.3f} mJ, {report.average_power_watts:.0f} W average")
    fig.tight_layout()
    return fig


def op_table(report: Report, top: int = 20):
    """The ``top`` source ops by busy time, as a DataFrame (``busy_us``, ``time_share``, energy)."""
    frame = report.ops
    if frame.empty:
        raise ValueError("the report has no per-op data (simulate with attribute_ops=True in a timing mode)")
    frame = frame.sort_values("busy_seconds", ascending=False).head(top).copy()
    frame["busy_us"] = frame["busy_seconds"] * 1e6
    columns = [c for c in ("loc", "instructions", "busy_us", "time_share", "energy_joules", "energy_share")
               if c in frame]
    return frame[columns]


def op_times(report: Report, top: int = 15, *, ax=None):
    """Bar chart of :func:`op_table`: busy time per source op."""
    table = op_table(report, top)
    labels = [f"{op} {loc.rsplit(':', 2)[-2] if loc and ':' in loc else ''}".strip()
              for op, loc in zip(table.index, table.get("loc", [""] * len(table)))]
    fig, ax = _axes(ax, (7, 0.3 * len(table) + 1.2))
    ax.barh(range(len(table)), table["busy_us"].values, color="#4c72b0")
    ax.set_yticks(range(len(table)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("busy time (us, summed over engines)")
    ax.set_title("time by source op")
    fig.tight_layout()
    return fig
