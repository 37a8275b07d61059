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
# The generator's notebooks (other notebooks in docs/notebooks are tested by their owners).
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
