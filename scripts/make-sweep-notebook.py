#!/usr/bin/python3
"""Writes docs/notebooks/03_design_sweep.ipynb: a small design sweep and its Pareto front.

    PYTHONPATH=build/python /usr/bin/python3 scripts/make-sweep-notebook.py [--execute] [-o PATH]

tests/python/test_notebooks.py checks the committed cells match this script
and executes a fresh copy with nbclient; ``--execute`` runs it here and
stores the outputs (the notebook is committed with them).
"""
from __future__ import annotations

import argparse
import os
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(ROOT, "docs", "notebooks", "03_design_sweep.ipynb")


def sweep_notebook() -> nbformat.NotebookNode:
    """The notebook: a spec, a local run, the results table, a Pareto front and its plot."""
    cells = [
        new_markdown_cell(
            "# 03 — Design sweep: HBM bandwidth vs PE clock for Llama-3-8B decode\n\n"
            "`trnx.sweep` derives chip variants from a preset, compiles and simulates a workload on each, "
            "stores one row per (design point, workload) in SQLite and finds the Pareto front. "
            "The same spec runs from a shell with `trnx-sweep` (docs/sweeps.md)."),
        new_code_cell(
            "import os, tempfile\n"
            "import matplotlib.pyplot as plt\n"
            "import trnx, trnx.sweep\n\n"
            "workdir = tempfile.mkdtemp(prefix='trnx-sweep-')\n"
            "db = os.path.join(workdir, 'hbm_vs_pe.sqlite')"),
        new_markdown_cell(
            "A spec is YAML (or the same structure as a dict). Here: a 4 x 3 grid over two keys that only the "
            "simulator reads, so the model compiles once for the whole sweep; a constraint drops one corner."),
        new_code_cell(
            "spec = {\n"
            "    'name': 'hbm_vs_pe',\n"
            "    'base': 'trn3',\n"
            "    'parameters': {\n"
            "        'hbm.bytes_per_second': {'min': 2e12, 'max': 16e12, 'steps': 4, 'scale': 'log'},\n"
            "        'pe.clock_hz': [1.4e9, 2.4e9, 3.2e9],\n"
            "    },\n"
            "    'constraints': ['not (pe.clock_hz > 3e9 and hbm.bytes_per_second > 10e12)'],\n"
            "    'workloads': [{'model': 'llama3-8b', 'phase': 'decode', 'batch': 64, 'context': 2048}],\n"
            "    'metrics': ['tpot_seconds', 'tokens_per_second', 'average_power_watts',\n"
            "                'tokens_per_second_per_megawatt_chip'],\n"
            "}\n"
            "points, tasks = trnx.sweep.plan(trnx.sweep.load(spec))\n"
            "len(points), len(tasks)"),
        new_code_cell(
            "summary = trnx.sweep.run(spec, jobs=2, db=db, progress=False)\n"
            "print(summary)"),
        new_markdown_cell("Running it again resumes: every finished row is already in the database."),
        new_code_cell(
            "again = trnx.sweep.run(spec, jobs=2, db=db, progress=False)\n"
            "assert again.completed == 0 and again.skipped == summary.tasks\n"
            "print(again)"),
        new_code_cell(
            "frame = summary.frame()\n"
            "frame[['point', 'hbm.bytes_per_second', 'pe.clock_hz', 'tpot_seconds', 'tokens_per_second',\n"
            "       'average_power_watts', 'compiles']].sort_values('tokens_per_second', ascending=False)"),
        new_markdown_cell(
            "Faster memory and a faster clock buy tokens per second but draw more power. The Pareto front keeps "
            "the design points no other point beats on both."),
        new_code_cell(
            "front = trnx.sweep.pareto_front(frame, 'tokens_per_second', 'average_power_watts')\n"
            "front[['point', 'hbm.bytes_per_second', 'pe.clock_hz', 'tokens_per_second', 'average_power_watts']]"),
        new_code_cell(
            "ax = trnx.sweep.plot_pareto(frame, 'tokens_per_second', 'average_power_watts')\n"
            "ax.set_title('Llama-3-8B decode, batch 64, on trn3 variants')\n"
            "plt.show()"),
        new_markdown_cell(
            "The results stay in SQLite (one column per parameter and metric) and export to CSV or JSON Lines:"),
        new_code_cell(
            "trnx.sweep.export(db, os.path.join(workdir, 'hbm_vs_pe.csv'))"),
    ]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT)
    parser.add_argument("--execute", action="store_true", help="run the notebook and keep its outputs")
    args = parser.parse_args()
    notebook = sweep_notebook()
    if args.execute:
        from nbclient import NotebookClient

        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": ROOT}}).execute()
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    nbformat.write(notebook, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
