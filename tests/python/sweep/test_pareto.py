"""Pareto fronts on known data, both directions on both axes, and the plot."""
import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from trnx.sweep import pareto_front, plot_pareto  # noqa: E402
from trnx.sweep.pareto import default_direction, parse_objective  # noqa: E402

DATA = pd.DataFrame({
    "point": range(7),
    "status": ["ok"] * 6 + ["error"],
    "seconds": [1.0, 2.0, 3.0, 2.0, 4.0, 1.0, 0.1],
    "tokens_per_joule": [1.0, 3.0, 4.0, 2.0, 4.0, 0.5, 99.0],
})


def points(front):
    return sorted(front["point"])


def test_min_seconds_max_efficiency():
    front = pareto_front(DATA, "seconds", "tokens_per_joule", "min", "max")
    assert points(front) == [0, 1, 2]  # 3 is beaten by 1, 4 by 2, 5 by 0; 6 failed
    assert list(front["seconds"]) == sorted(front["seconds"])


def test_every_direction_pair():
    assert points(pareto_front(DATA, "seconds", "tokens_per_joule", "max", "max")) == [4]  # 2 ties on y, loses on x
    assert points(pareto_front(DATA, "seconds", "tokens_per_joule", "min", "min")) == [5]
    assert points(pareto_front(DATA, "seconds", "tokens_per_joule", "max", "min")) == [3, 4, 5]


def test_failed_rows_can_be_included():
    front = pareto_front(DATA, "seconds", "tokens_per_joule", "min", "max", only_ok=False)
    assert points(front) == [6]


def test_directions_default_from_names_and_parse():
    assert default_direction("tpot_seconds") == "min" and default_direction("energy_joules") == "min"
    assert default_direction("tokens_per_second_per_megawatt_chip") == "max"
    assert parse_objective("seconds:max") == ("seconds", "max")
    assert parse_objective("min:tokens_per_joule") == ("tokens_per_joule", "min")
    assert parse_objective("tokens_per_joule") == ("tokens_per_joule", "max")
    with pytest.raises(ValueError):
        parse_objective("a:b:c")
    with pytest.raises(KeyError, match="no metric 'watts'"):
        pareto_front(DATA, "watts", "seconds")


def test_plot_draws_points_and_front(tmp_path):
    ax = plot_pareto(DATA, "seconds", "tokens_per_joule", "min", "max")
    scatter, line = ax.collections[0], ax.get_lines()[0]
    assert len(scatter.get_offsets()) == 6 and list(line.get_xdata()) == [1.0, 2.0, 3.0]
    ax.figure.savefig(tmp_path / "front.png")
    assert (tmp_path / "front.png").stat().st_size > 1000
