"""trnx.compile: every kind of model input (text, file, builder graph, ONNX), options and errors."""
import pytest

import trnx
from trnx import models

MATMUL = """func.func @main(%a: tensor<64x128xf32>, %b: tensor<128x32xf32>) -> tensor<64x32xf32> {
  %z = arith.constant dense<0.0> : tensor<64x32xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x128xf32>, tensor<128x32xf32>) outs(%z : tensor<64x32xf32>) -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}"""


def test_text_and_file_compile_to_the_same_code(tmp_path):
    path = tmp_path / "mm.mlir"
    path.write_text(MATMUL)
    a = trnx.compile(MATMUL, target="trn3")
    b = trnx.compile(path, target="trn3")
    # Same instructions; only the source locations (file names) differ.
    assert a.instruction_count == b.instruction_count
    assert a.streams().equals(b.streams())
    assert b.name == "mm" and a.target == "trn3"
    assert a.input_shapes() == {"arg0": (64, 128), "arg1": (128, 32)}


def test_builder_graph_compiles_with_named_data_less_weights():
    graph = models.decode("tiny", batch=1, context=64)
    program = trnx.compile(graph, target="trn3")
    assert program.name == graph.name
    tensors = program.tensors.set_index("name")
    assert not tensors["has_data"].any()  # shape-only: nothing materialised
    assert tensors.loc["l0.attn.qkv.w", "role"] == "weight"  # decode fuses the q/k/v projections
    assert tensors.loc["l0.attn.k_cache", "role"] == "input"
    assert "logits" in program.outputs and "l1.attn.k_new" in program.outputs


def test_target_can_be_a_derived_chip():
    chip = trnx.chips.load("trn3").derive({"hbm.capacity_bytes": 2**34}, name="small-hbm")
    assert trnx.compile(MATMUL, target=chip).target == "small-hbm"


def test_auto_cast_none_keeps_fp32_matmuls():
    fp32 = trnx.compile(MATMUL, auto_cast="none").asm()
    bf16 = trnx.compile(MATMUL).asm()
    assert fp32 != bf16


def test_onnx_model_compiles(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU())
    path = tmp_path / "m.onnx"
    torch.onnx.export(model, torch.zeros(4, 16), str(path), input_names=["x"], output_names=["y"])
    program = trnx.compile(path)
    assert program.inputs == ["x"] and program.outputs == ["y"]


def test_bad_models_raise():
    with pytest.raises(TypeError, match="cannot compile a int"):
        trnx.compile(42)
    with pytest.raises(trnx.TrnxError, match="is not supported on trn3"):
        trnx.compile("func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
                     "  %r = tosa.floor %a : (tensor<4xf32>) -> tensor<4xf32>\n  return %r : tensor<4xf32>\n}")


def test_errors_name_python_keywords_not_cli_flags(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    path = tmp_path / "dyn.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(trnx.TrnxError) as info:
        trnx.compile(path)
    assert "shapes={'x': [D0, D1, ...]}" in str(info.value) and "--" not in str(info.value)
    with pytest.raises(trnx.TrnxError) as info:
        trnx.compile(path, auto_cast="some")
    assert str(info.value).startswith("auto_cast must be")
    program = trnx.compile(path, shapes={"x": [4, 8]})
    with pytest.raises(trnx.TrnxError) as info:
        trnx.simulate(program, inputs={})
    assert "inputs={'x': array" in str(info.value) and "--input" not in str(info.value)
