"""Sweep results in SQLite: one row per (design point, workload), committed as it finishes.

WAL journaling and a commit per row mean a killed sweep loses no finished
row; the unique (point_key, workload_key) pair lets a re-run skip them.
Besides the JSON columns, every parameter and metric gets a column of its own
(added as they appear), so plain SQL and pandas read the table directly.
docs/sweeps.md describes the schema.
"""
from __future__ import annotations

import datetime
import json
import os
import sqlite3
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

SCHEMA_VERSION = 1
FIXED_COLUMNS = ("id", "run_id", "sweep", "point_index", "point_key", "workload_key", "workload_name", "parameters",
                 "workload", "status", "error", "metrics", "compiles", "elapsed_seconds", "host", "finished_at")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep TEXT NOT NULL,
    spec_source TEXT,
    spec_digest TEXT,
    spec_text TEXT,
    executor TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    tasks INTEGER,
    skipped INTEGER,
    completed INTEGER,
    errors INTEGER
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    sweep TEXT NOT NULL,
    point_index INTEGER NOT NULL,
    point_key TEXT NOT NULL,
    workload_key TEXT NOT NULL,
    workload_name TEXT NOT NULL,
    parameters TEXT NOT NULL,
    workload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error TEXT,
    metrics TEXT NOT NULL,
    compiles INTEGER NOT NULL DEFAULT 0,
    elapsed_seconds REAL,
    host TEXT,
    finished_at TEXT NOT NULL,
    UNIQUE (point_key, workload_key)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


class Store:
    """An open results database (``with Store(path) as store: ...``)."""

    def __init__(self, path: "str | os.PathLike[str]") -> None:
        self.path = os.fspath(path)
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a killed process
        with self._db:
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self._columns: Set[str] = self._existing_columns()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _existing_columns(self) -> Set[str]:
        return {row[1] for row in self._db.execute("PRAGMA table_info(results)")}

    def _ensure_column(self, name: str, sql_type: str) -> str:
        if name not in self._columns:
            with self._db:
                self._db.execute(f"ALTER TABLE results ADD COLUMN {_quote(name)} {sql_type}")
            self._columns.add(name)
        return name

    def finished(self, include_errors: bool = True) -> Set[Tuple[str, str]]:
        """(point_key, workload_key) pairs already stored (optionally only the ``ok`` ones)."""
        query = "SELECT point_key, workload_key FROM results"
        if not include_errors:
            query += " WHERE status = 'ok'"
        return {(p, w) for p, w in self._db.execute(query)}

    def start_run(self, sweep: str, source: str, digest: str, text: str, executor: str, tasks: int,
                  skipped: int) -> int:
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO runs (sweep, spec_source, spec_digest, spec_text, executor, started_at, tasks, skipped,"
                " completed, errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
                (sweep, source, digest, text, executor, _now(), tasks, skipped))
        return int(cursor.lastrowid)

    def finish_run(self, run_id: int, completed: int, errors: int) -> None:
        with self._db:
            self._db.execute("UPDATE runs SET finished_at = ?, completed = ?, errors = ? WHERE id = ?",
                             (_now(), completed, errors, run_id))

    def add(self, run_id: int, sweep: str, point_index: int, parameters: Mapping[str, Any],
            workload: Mapping[str, Any], row: Mapping[str, Any]) -> None:
        """Stores one finished task and commits (replacing an earlier row of the same pair)."""
        metric_column = {m: self._metric_column(m) for m in row["metrics"]}
        for key, value in parameters.items():
            self._ensure_column(key, _sql_type(value))
        values: Dict[str, Any] = {
            "run_id": run_id, "sweep": sweep, "point_index": point_index, "point_key": row["point_key"],
            "workload_key": row["workload_key"], "workload_name": workload["name"],
            "parameters": json.dumps(parameters, sort_keys=True), "workload": json.dumps(workload, sort_keys=True),
            "status": row["status"], "error": row["error"], "metrics": json.dumps(row["metrics"], sort_keys=True),
            "compiles": row.get("compiles", 0), "elapsed_seconds": row.get("elapsed_seconds"),
            "host": row.get("host"), "finished_at": _now(),
        }
        values.update({k: _sql_value(v) for k, v in parameters.items()})
        values.update({metric_column[m]: v for m, v in row["metrics"].items()})
        if row.get("trnx_version"):
            values[self._ensure_column("trnx_version", "TEXT")] = row["trnx_version"]
        if row.get("bound_by"):
            values[self._ensure_column("bound_by", "TEXT")] = row["bound_by"]
        names = ", ".join(_quote(k) for k in values)
        marks = ", ".join("?" for _ in values)
        with self._db:
            self._db.execute(f"INSERT OR REPLACE INTO results ({names}) VALUES ({marks})", list(values.values()))
            if row["status"] == "error":
                self._db.execute("UPDATE runs SET errors = errors + 1, completed = completed + 1 WHERE id = ?",
                                 (run_id,))
            else:
                self._db.execute("UPDATE runs SET completed = completed + 1 WHERE id = ?", (run_id,))

    def _metric_column(self, metric: str) -> str:
        # A metric may not shadow a fixed column or a chip key column.
        name = metric if metric not in FIXED_COLUMNS and "." not in metric else f"metric:{metric}"
        return self._ensure_column(name, "REAL")

    def count(self, status: Optional[str] = None) -> int:
        if status is None:
            return int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM results WHERE status = ?", (status,)).fetchone()[0])

    def rows(self, sweep: Optional[str] = None) -> List[Dict[str, Any]]:
        """Every result as a dict: fixed columns plus ``parameters``/``workload``/``metrics`` decoded."""
        query = "SELECT id, run_id, sweep, point_index, point_key, workload_key, workload_name, parameters, " \
                "workload, status, error, metrics, compiles, elapsed_seconds, host, finished_at FROM results"
        args: Iterable[Any] = ()
        if sweep is not None:
            query += " WHERE sweep = ?"
            args = (sweep,)
        extra = [c for c in ("bound_by", "trnx_version") if c in self._columns]
        if extra:
            query = query.replace(" FROM results", "".join(f", {c}" for c in extra) + " FROM results")
        out = []
        for values in self._db.execute(query + " ORDER BY point_index, workload_name", tuple(args)):
            row = dict(zip(FIXED_COLUMNS, values))
            for c in ("bound_by", "trnx_version"):
                row[c] = values[len(FIXED_COLUMNS) + extra.index(c)] if c in extra else None
            for key in ("parameters", "workload", "metrics"):
                row[key] = json.loads(row[key])
            out.append(row)
        return out

    def frame(self, sweep: Optional[str] = None):
        """The results as a flat DataFrame: one column per parameter and metric (see :func:`flatten`)."""
        import pandas as pd

        return pd.DataFrame([flatten(r) for r in self.rows(sweep)])

    def runs(self):
        import pandas as pd

        return pd.read_sql_query("SELECT * FROM runs ORDER BY id", self._db)


def flatten(row: Mapping[str, Any]) -> Dict[str, Any]:
    """A stored row as one flat record: ids, workload, status, then parameters, then metrics."""
    out: Dict[str, Any] = {"point": row["point_index"], "workload": row["workload_name"], "status": row["status"]}
    out.update(row["parameters"])
    out.update(row["metrics"])
    out["bound_by"] = row.get("bound_by")
    out["error"] = row["error"]
    out["compiles"] = row["compiles"]
    out["elapsed_seconds"] = row["elapsed_seconds"]
    out["run_id"] = row["run_id"]
    out["trnx_version"] = row.get("trnx_version")
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_type(value: Any) -> str:
    if isinstance(value, bool) or isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "REAL"
    return "TEXT"


def _sql_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value
