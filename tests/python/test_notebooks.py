"""Executes the notebooks scripts/make-notebooks.py writes (docs/notebooks/) with nbclient:
kernel python3 with this interpreter's environment, so PYTHONPATH reaches the kernel. Also
checks the committed files match the generator."""
import os
import pathlib
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

SOURCE_DIR = pathlib.Path(os.environ.get("TRNX_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
# The generator's notebooks; 03 (scripts/make-sweep-notebook.py, committed with outputs) is tested below.
NOTEBOOKS = [SOURCE_DIR / "docs" / "notebooks" / name for name in ("01_quickstart.ipynb", "02_llama_decode.ipynb")]


def test_notebooks_are_generated_from_the_script():
    done = subprocess.run([sys.executable, str(SOURCE_DIR / "scripts" / "make-notebooks.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    # The kernel starts in tmp_path: make a relative PYTHONPATH (build/python) absolute.
    paths = [str(pathlib.Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError with the failing cell and traceback
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


def _sweep_notebook_generator():
    """scripts/make-sweep-notebook.py as a module (its name has a hyphen)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_sweep_notebook", SOURCE_DIR / "scripts" / "make-sweep-notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_design_sweep_notebook_matches_its_generator_and_runs(tmp_path, monkeypatch):
    """03_design_sweep.ipynb is committed with its outputs (scripts/make-sweep-notebook.py
    --execute); its cells must be the generator's, and a fresh copy must run."""
    fresh = _sweep_notebook_generator().sweep_notebook()
    committed = nbformat.read(SOURCE_DIR / "docs" / "notebooks" / "03_design_sweep.ipynb", as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in fresh.cells], \
        "docs/notebooks/03_design_sweep.ipynb is stale: run scripts/make-sweep-notebook.py --execute"
    paths = [str(pathlib.Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = NotebookClient(fresh, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in fresh.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert any(o.output_type == "display_data" for c in fresh.cells if c.cell_type == "code" for o in c.outputs), \
        "the Pareto plot"
