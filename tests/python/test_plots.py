"""trnx.plots under the Agg backend: every plot draws from a real run and returns a figure."""
import matplotlib

matplotlib.use("Agg")

import pytest

import trnx
from trnx import models, plots


@pytest.fixture(scope="module")
def result():
    program = trnx.compile(models.decode("tiny", batch=1, context=64, layers=1))
    return trnx.simulate(program, mode="timing", trace=True)


def test_timeline(result, tmp_path):
    fig = plots.timeline(result.trace)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (us)" and len(ax.get_yticklabels()) > 2
    fig.savefig(tmp_path / "timeline.png")
    assert len(plots.timeline(result.trace, cores=[0]).axes[0].get_yticks()) < len(ax.get_yticks())


def test_roofline_and_energy(result, tmp_path):
    fig = plots.roofline({"decode": result.report})
    assert fig.axes[0].get_xscale() == "log"
    fig.savefig(tmp_path / "roofline.png")
    fig = plots.energy_breakdown(result.report)
    assert "mJ" in fig.axes[0].get_title()
    fig.savefig(tmp_path / "energy.png")


def test_op_table_and_chart(result):
    table = plots.op_table(result.report, top=5)
    assert len(table) == 5 and table["busy_us"].is_monotonic_decreasing
    assert plots.op_times(result.report, top=5).axes


def test_plots_reject_runs_without_data():
    program = trnx.compile(models.decode("tiny", batch=1, context=64, layers=1))
    unattributed = trnx.simulate(program, mode="timing", attribute_ops=False)
    with pytest.raises(ValueError, match="no per-op data"):
        plots.op_table(unattributed.report)
    with pytest.raises(ValueError, match="no instruction slices"):
        plots.timeline({"traceEvents": []})
