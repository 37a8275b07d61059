#!/usr/bin/env python3
"""Writes docs/notebooks/*.ipynb from the cells below (so notebooks are reviewed as code).

    /usr/bin/python3 scripts/make-notebooks.py            # regenerate (no outputs)
    /usr/bin/python3 scripts/make-notebooks.py --check    # exit 1 if a committed notebook is stale

tests/python/test_notebooks.py executes every notebook with nbclient.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Dict, List, Tuple

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "notebooks"

Cell = Tuple[str, str]  # ("md" | "code", source)

QUICKSTART: List[Cell] = [
    ("md", """# trnx quickstart: PyTorch -> ONNX -> trnx -> simulate

A small PyTorch model is exported to ONNX, compiled for a `trn3` chip,
run in the simulator (numerics and timing in one run), checked against
PyTorch, and its engine timeline is plotted.

Run from the build tree with `PYTHONPATH=build/python` (see docs/python.md)."""),
    ("code", """import os
import tempfile

import numpy as np
import torch

import trnx
import trnx.plots"""),
    ("md", "## A model: LayerNorm, then a GELU MLP with a residual"),
    ("code", """class Block(torch.nn.Module):
    def __init__(self, d=128, hidden=512):
        super().__init__()
        self.norm = torch.nn.LayerNorm(d)
        self.up = torch.nn.Linear(d, hidden)
        self.down = torch.nn.Linear(hidden, d)

    def forward(self, x):
        return x + self.down(torch.nn.functional.gelu(self.up(self.norm(x))))

torch.manual_seed(0)
model = Block().eval()
x = torch.randn(64, 128)"""),
    ("md", "## Export to ONNX and compile\n\n`auto_cast=\"matmul\"` (the default) runs matmuls in bf16 with fp32 accumulation."),
    ("code", """workdir = tempfile.mkdtemp()
onnx_path = os.path.join(workdir, "block.onnx")
torch.onnx.export(model, x, onnx_path, input_names=["x"], output_names=["y"])

program = trnx.compile(onnx_path, target="trn3")
program"""),
    ("code", "program.tensors"),
    ("md", "## Simulate: outputs and timing in one run"),
    ("code", """result = trnx.simulate(program, inputs={"x": x.numpy()}, mode="both", trace=True)
print(result.report.summary())"""),
    ("md", "## Check the numerics against PyTorch"),
    ("code", """with torch.no_grad():
    expected = model(x).numpy()
got = result.outputs["y"]
relative_error = np.abs(got - expected).max() / np.abs(expected).max()
print(f"max relative error: {relative_error:.2e}")
assert relative_error < 3e-2, relative_error  # bf16 matmul operands"""),
    ("md", "## Where the time goes"),
    ("code", "result.report.engines"),
    ("code", "trnx.plots.op_table(result.report, top=8)"),
    ("code", "trnx.plots.timeline(result.trace, cores=[0]);"),
    ("code", "trnx.plots.energy_breakdown(result.report);"),
]

LLAMA_DECODE: List[Cell] = [
    ("md", """# Llama-3-8B decode on trn2, trn3 and trn4

One decode step (every sequence of the batch gets one token, each attending
over a 2048-token KV cache) of Llama-3-8B, compiled and simulated in timing
mode on each chip preset. `trnx.workloads` compiles the shape-only graph from
`trnx.models` (no weight data), simulates one decoder layer and the
embedding + LM head, and scales the layer by 32 (the result's `method` field
says so; `method="full"` simulates the whole model as one program)."""),
    ("code", """import matplotlib.pyplot as plt
import pandas as pd

import trnx
from trnx import models, workloads"""),
    ("code", """cfg = models.LLAMA3_8B
print(cfg.sources)
graph = models.decode(cfg, batch=1, context=2048)
pd.Series(graph.summary())"""),
    ("md", "## Tokens/s and tokens per MW, per chip and batch"),
    ("code", """chips = ["trn2", "trn3", "trn4"]
results = [workloads.decode("llama3-8b", batch=batch, context=2048, chip=chip)
           for batch in (1, 64) for chip in chips]
table = workloads.to_frame(results)[[
    "chip", "batch", "tpot_seconds", "tokens_per_second", "tokens_per_joule",
    "tokens_per_second_per_megawatt_chip", "tokens_per_second_per_megawatt_facility",
    "achieved_hbm_bytes_per_second", "method"]]
table"""),
    ("code", """assert (table["tokens_per_second"] > 0).all()
# decode is HBM-bound: a chip with more HBM bandwidth is faster at batch 1
batch1 = table[table.batch == 1].set_index("chip")
assert batch1.loc["trn4", "tokens_per_second"] > batch1.loc["trn2", "tokens_per_second"]"""),
    ("code", """fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
pivot = table.pivot(index="chip", columns="batch", values="tokens_per_second")
pivot.plot.bar(ax=axes[0], logy=True, rot=0, title="tokens/s")
mw = table.pivot(index="chip", columns="batch", values="tokens_per_second_per_megawatt_facility")
mw.plot.bar(ax=axes[1], logy=True, rot=0, title="tokens/s per MW (facility)")
fig.tight_layout()"""),
    ("md", "## How close to the HBM roof? (batch 1 on trn3)"),
    ("code", """trn3 = trnx.chips.load("trn3")
r = batch1.loc["trn3"]
weight_bytes = graph.parameter_bytes("bf16")
print(f"weights {weight_bytes / 1e9:.1f} GB; HBM bound {weight_bytes / trn3['hbm.bytes_per_second'] * 1e3:.2f} ms "
      f"per token; simulated {r.tpot_seconds * 1e3:.2f} ms")"""),
]

NOTEBOOKS: Dict[str, List[Cell]] = {"01_quickstart.ipynb": QUICKSTART, "02_llama_decode.ipynb": LLAMA_DECODE}


def build(cells: List[Cell]) -> nbformat.NotebookNode:
    """A notebook without outputs, python3 kernel."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: regenerating gives the same bytes
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed notebook differs")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for name, cells in NOTEBOOKS.items():
        text = nbformat.writes(build(cells)) + "\n"
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"error: stale notebooks {stale}: run scripts/make-notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
