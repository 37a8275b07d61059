"""The README's main job (scripts/demo.sh) cannot silently break: the bundled
decoder layer (examples/models/decoder_layer.mlir) compiles for trn3, its
composites are recognised, and the functional simulation matches the float64
numpy reference of examples/models/decoder_layer.py within the compiler's
tolerances (relative to max |ref|)."""
import importlib.util
import json

import numpy as np
import yaml
import pytest

FP32_TOL, BF16_TOL = 1e-4, 3e-2


@pytest.fixture(scope="module")
def model(source_dir):
    spec = importlib.util.spec_from_file_location("decoder_layer", source_dir / "examples/models/decoder_layer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.MLIR = source_dir / "examples/models/decoder_layer.mlir"
    return module


@pytest.fixture(scope="module")
def inputs(model, tmp_path_factory):
    """The demo's inputs as .npy files, and the --input flags naming them."""
    d = tmp_path_factory.mktemp("inputs")
    values = model.make_inputs()
    flags = []
    for name, value in values.items():
        np.save(d / f"{name}.npy", value)
        flags += ["--input", f"{name}={d / f'{name}.npy'}"]
    return values, flags


@pytest.mark.parametrize("auto_cast,tol", [("matmul", BF16_TOL), ("none", FP32_TOL)])
def test_numerics_match_numpy(tools, tmp_path, model, inputs, auto_cast, tol):
    values, flags = inputs
    tnx = tmp_path / "decoder_layer.tnx"
    tools.run("trnx-compile", model.MLIR, "--target", "trn3", "--auto-cast", auto_cast, "-o", tnx)
    tools.run("trnx-sim", tnx, "--chip", "trn3", "--mode", "functional", "-q", *flags, "--output-dir", tmp_path / "out")
    out = np.load(tmp_path / "out" / "out.npy")
    assert out.shape == (1, model.SEQ, model.D)
    err = model.relative_error(out, model.reference(values))
    assert err <= tol, f"relative error {err:.3g} > {tol:g} (auto-cast {auto_cast})"


def test_composites_are_recognised(tools, model):
    """Both LayerNorms and the softmax become single ops; the biases, mask and
    residual adds fold into matmul epilogues; nothing is left unconverted."""
    trn = tools.run("trnx-compile", model.MLIR, "--target", "trn3", "--emit=trn").stdout
    assert trn.count("trn.layernorm ") == 2
    assert trn.count("trn.softmax ") == 1
    assert trn.count("trn.matmul ") == 6
    assert trn.count("epilogue(") == 5
    assert "tosa." not in trn and "linalg." not in trn


def test_timing_report(tools, tmp_path, model, inputs):
    """Both modes in one run, as the demo does: every core is used and the
    report counts exactly the model's matmul FLOPs."""
    _, flags = inputs
    tnx = tmp_path / "decoder_layer.tnx"
    tools.run("trnx-compile", model.MLIR, "--target", "trn3", "-o", tnx)
    report = tmp_path / "report.json"
    tools.run("trnx-sim", tnx, "--chip", "trn3", "--tokens", str(model.SEQ), "-q", *flags, "--output-dir",
              tmp_path / "out", "--report", report)
    r = json.loads(report.read_text())
    s, d, f = model.SEQ, model.D, model.FFN
    macs = s * d * 3 * d + 2 * s * s * d + s * d * d + 2 * s * d * f
    assert r["flops"] == 2 * macs
    chip = yaml.safe_load(tools.run("trnx-sim", "--print-chip", "--chip", "trn3").stdout)
    assert chip["cores"] == r["cores_used"]  # the work is split over every core
    assert 0 < r["achieved_flops_per_second"] <= r["peak_flops_per_second"]
    assert r["workload"]["tokens"] == s and r["workload"]["tokens_per_second"] > 0
