"""Exporting sweep results: CSV and JSON Lines always, Parquet where pyarrow is installed."""
from __future__ import annotations

import json
import os
from typing import Optional

from .store import Store, flatten

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}


def export_format(path: "str | os.PathLike[str]") -> str:
    """The format a path's extension asks for; ValueError naming the choices otherwise."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"cannot export to '{os.fspath(path)}': use a .csv, .jsonl or .parquet file")
    if FORMATS[ext] == "parquet" and not parquet_available():
        raise ValueError(f"cannot export to '{os.fspath(path)}': Parquet needs pyarrow, which is not installed "
                         "(Debian 12 has no package); use .csv or .jsonl")
    return FORMATS[ext]


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def load_results(db: "str | os.PathLike[str]", sweep: Optional[str] = None):
    """The stored results as a flat DataFrame (one column per parameter and metric)."""
    with Store(db) as store:
        return store.frame(sweep)


def export(db: "str | os.PathLike[str]", path: "str | os.PathLike[str]", sweep: Optional[str] = None) -> int:
    """Writes the results to ``path`` (format from the extension); returns the rows written.

    CSV and Parquet get one flat column per parameter and metric; JSON Lines
    keeps ``parameters``, ``workload`` and ``metrics`` as nested objects.
    """
    kind = export_format(path)
    with Store(db) as store:
        rows = store.rows(sweep)
    if kind == "jsonl":
        with open(path, "w") as f:
            for row in rows:
                f.write(json.dumps({k: v for k, v in row.items() if k != "id"}, sort_keys=True) + "\n")
        return len(rows)
    import pandas as pd

    frame = pd.DataFrame([flatten(r) for r in rows])
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return len(rows)
