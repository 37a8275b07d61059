"""trnx-sim --gemm / --topology: GEMM layers compiled by the real compiler and
simulated; per-layer cycles, utilisation and bytes in the table and JSON; the
issue's GEMM quality bar; one `error:` line for bad shapes and CSV files."""
import json

import pytest

from conftest import assert_one_error_line


def gemm_report(tools, tmp_path, *args):
    out = tmp_path / "gemm.json"
    proc = tools.run("trnx-sim", *args, "--report", out)
    return proc.stdout, json.loads(out.read_text())


def test_one_gemm_reports_its_layer_and_reaches_pe_peak_on_trn3(tools, tmp_path):
    stdout, report = gemm_report(tools, tmp_path, "--gemm", "4096,4096,4096", "--chip", "trn3")
    (layer,) = report["layers"]
    assert (layer["m"], layer["n"], layer["k"]) == (4096, 4096, 4096)
    assert layer["flops"] == 2 * 4096**3
    assert 0.85 <= layer["pe_utilization"] <= 1.0
    # Operands are read at least once (bf16), the fp32 result written once.
    assert layer["hbm_bytes"] >= 2 * 4096 * 4096 * 2 + 4096 * 4096 * 4
    assert "gemm_4096x4096x4096" in stdout and "pe_util" in stdout


def test_topology_csv_gives_one_row_per_layer_and_totals(tools, tmp_path):
    csv = tmp_path / "topo.csv"
    csv.write_text("Layer, M, N, K,\n# a comment\nfc1, 128, 4096, 1024,\nragged, 1000, 300, 700,\ngemv, 1, 2048, 2048,\n")
    stdout, report = gemm_report(tools, tmp_path, "--topology", csv, "--chip", "trn2", "--dtype", "fp8e4m3")
    assert report["chip"] == "trn2" and report["dtype"] == "fp8e4m3"
    assert [l["name"] for l in report["layers"]] == ["fc1", "ragged", "gemv"]
    for layer in report["layers"]:
        assert layer["flops"] == 2 * layer["m"] * layer["n"] * layer["k"]
        assert 0 < layer["pe_utilization"] <= 1.0
        assert 0 <= layer["pe_busy_fraction"] <= 1.0
        assert layer["cycles"] > 0 and layer["hbm_bytes"] > 0
    total = report["total"]
    assert total["seconds"] == pytest.approx(sum(l["seconds"] for l in report["layers"]))
    assert "total" in stdout


def test_bigger_gemms_take_longer_and_dtypes_change_the_bytes(tools, tmp_path):
    _, small = gemm_report(tools, tmp_path, "--gemm", "512,512,512")
    _, big = gemm_report(tools, tmp_path, "--gemm", "2048,2048,2048")
    _, fp32 = gemm_report(tools, tmp_path, "--gemm", "512,512,512", "--dtype", "fp32")
    assert big["layers"][0]["cycles"] > 4 * small["layers"][0]["cycles"]
    assert fp32["layers"][0]["hbm_bytes"] > small["layers"][0]["hbm_bytes"]


@pytest.mark.parametrize("args, message", [
    (["--gemm", "4096,4096"], "expected M,N,K"),
    (["--gemm", "0,4,4"], "not a positive integer"),
    (["--gemm", "4,4,4", "--dtype", "int4"], "--dtype must be"),
    (["--gemm", "4,4,4", "--topology", "x.csv"], "not both"),
    (["--topology", "/nonexistent/topo.csv"], "cannot open file"),
])
def test_bad_gemm_arguments_are_one_error_line(tools, args, message):
    proc = tools.run("trnx-sim", *args, check=False)
    assert_one_error_line(proc)
    assert message in proc.stderr


def test_bad_topology_rows_name_the_line(tools, tmp_path):
    bad_header = tmp_path / "h.csv"
    bad_header.write_text("name,rows,cols\nx,1,2,3\n")
    proc = tools.run("trnx-sim", "--topology", bad_header, check=False)
    assert_one_error_line(proc)
    assert f"{bad_header}:1:" in proc.stderr
    bad_row = tmp_path / "r.csv"
    bad_row.write_text("Layer, M, N, K,\nok, 4, 4, 4,\nbad, 4, x, 4,\n")
    proc = tools.run("trnx-sim", "--topology", bad_row, check=False)
    assert_one_error_line(proc)
    assert f"{bad_row}:3: N 'x'" in proc.stderr
