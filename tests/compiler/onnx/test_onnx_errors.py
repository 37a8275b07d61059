"""trnx-compile on bad ONNX input: every failure is exactly one 'error:' line
and exit status 1, never a crash. The bad files are built here with the onnx
Python API (corruption by truncating or overwriting bytes)."""
import random

import numpy as np
import pytest

from conftest import assert_one_error_line

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _mlp(opset=17):
    """A small valid model: y = relu(x @ W + b) with initializers."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal((4,)).astype(np.float32), "b")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
             helper.make_node("Add", ["h", "b"], ["h2"], name="add"),
             helper.make_node("Relu", ["h2"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _compile(tools, path, *args):
    return tools.run("trnx-compile", path, "--auto-cast", "none", "-o", path.with_suffix(".tnx"), *args, check=False)


def _save(model, path):
    onnx.save(model, str(path))
    return path


def test_valid_model_compiles(tools, tmp_path):
    proc = _compile(tools, _save(_mlp(), tmp_path / "ok.onnx"))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("fraction", [0.0, 0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
def test_truncated_model(tools, tmp_path, fraction):
    data = _mlp().SerializeToString()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[:int(len(data) * fraction)])
    proc = _compile(tools, path)
    assert_one_error_line(proc)
    assert str(path) in proc.stderr


def test_corrupt_model(tools, tmp_path):
    data = bytearray(_mlp().SerializeToString())
    data[:16] = b"\xff" * 16
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(bytes(data))
    proc = _compile(tools, path)
    assert_one_error_line(proc)
    assert "not a valid ONNX model" in proc.stderr


def test_not_a_model(tools, tmp_path):
    path = tmp_path / "text.onnx"
    path.write_text("this is not a protobuf\n" * 20)
    assert_one_error_line(_compile(tools, path))
    assert_one_error_line(_compile(tools, tmp_path / "missing.onnx"))
    (tmp_path / "dir.onnx").mkdir()
    assert_one_error_line(_compile(tools, tmp_path / "dir.onnx"))


def test_random_corruption_never_crashes(tools, tmp_path):
    """Overwritten and truncated bytes: the compile succeeds or fails with one
    error line; it never crashes."""
    data = _mlp().SerializeToString()
    rng = random.Random(1234)
    path = tmp_path / "fuzz.onnx"
    for i in range(60):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        if i % 3 == 0:
            mutated = mutated[:rng.randrange(len(mutated))]
        path.write_bytes(bytes(mutated))
        proc = _compile(tools, path)
        assert proc.returncode in (0, 1), (i, proc.returncode, proc.stderr[-2000:])
        if proc.returncode:
            assert_one_error_line(proc)


def test_missing_external_data(tools, tmp_path):
    model = _mlp()
    onnx.save(model, str(tmp_path / "ext.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.bin", size_threshold=0)
    assert _compile(tools, tmp_path / "ext.onnx").returncode == 0
    # Too short, then missing.
    (tmp_path / "ext.bin").write_bytes((tmp_path / "ext.bin").read_bytes()[:40])
    proc = _compile(tools, tmp_path / "ext.onnx")
    assert_one_error_line(proc)
    assert "ext.bin" in proc.stderr
    (tmp_path / "ext.bin").unlink()
    proc = _compile(tools, tmp_path / "ext.onnx")
    assert_one_error_line(proc)
    assert "external data file" in proc.stderr and "ext.bin" in proc.stderr


def test_dynamic_dim_without_shape(tools, tmp_path):
    model = _mlp()
    dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    dim.Clear()
    dim.dim_param = "batch"
    path = _save(model, tmp_path / "dyn.onnx")
    proc = _compile(tools, path)
    assert_one_error_line(proc)
    assert "input 'x' has a dynamic dimension 'batch'" in proc.stderr and "--shape x=" in proc.stderr
    assert _compile(tools, path, "--shape", "x=3,8").returncode == 0
    proc = _compile(tools, path, "--shape", "nope=3,8")
    assert_one_error_line(proc)
    assert "'nope', which is not an input of the model" in proc.stderr
    # An input without any shape.
    model.graph.input[0].type.tensor_type.ClearField("shape")
    proc = _compile(tools, _save(model, tmp_path / "noshape.onnx"))
    assert_one_error_line(proc)
    assert "has no shape" in proc.stderr


@pytest.mark.parametrize("name", ["my_node", ""])
def test_unsupported_operator(tools, tmp_path, name):
    model = _mlp()
    node = helper.make_node("Det", ["y"], ["d"], name=name)
    model.graph.node.append(node)
    model.graph.output.append(helper.make_tensor_value_info("d", TensorProto.FLOAT, []))
    path = _save(model, tmp_path / "model.onnx")
    proc = _compile(tools, path)
    assert_one_error_line(proc)
    shown = name or "Det"
    assert proc.stderr.strip() == f"error: {path}: node '{shown}' (Det, opset 17) is not supported"


def test_unsupported_operator_versions_and_domains(tools, tmp_path):
    # An operator version the importer does not handle (Add-6's legacy broadcast).
    proc = _compile(tools, _save(_mlp(opset=6), tmp_path / "old.onnx"))
    assert_one_error_line(proc)
    assert "node 'add' (Add, opset 6) is not supported" in proc.stderr
    # Opsets newer than 18.
    proc = _compile(tools, _save(_mlp(opset=19), tmp_path / "new.onnx"))
    assert_one_error_line(proc)
    assert "opset 19 is not supported" in proc.stderr
    # Another domain.
    model = _mlp()
    model.graph.node[2].domain = "com.microsoft"
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    proc = _compile(tools, _save(model, tmp_path / "ms.onnx"))
    assert_one_error_line(proc)
    assert "node 'relu' (com.microsoft.Relu, opset 1) is not supported" in proc.stderr


def test_unsupported_forms(tools, tmp_path):
    """Supported operators with a form that is not: one error line naming it."""
    def single(node, inputs, outputs, inits=()):
        graph = helper.make_graph([node], "g", inputs, outputs, list(inits))
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    s = helper.make_tensor_value_info("s", TensorProto.STRING, [2])
    cases = {
        "string input": (single(helper.make_node("Identity", ["s"], ["y"]), [s], [y]), "STRING"),
        "training dropout": (single(helper.make_node("Dropout", ["x", "r", "t"], ["y"]), [x], [y], [
            numpy_helper.from_array(np.array(0.5, np.float32), "r"),
            numpy_helper.from_array(np.array(True), "t")]), "training-mode Dropout"),
        "runtime shape": (single(helper.make_node("Reshape", ["x", "shape"], ["y"]),
                                 [x, helper.make_tensor_value_info("shape", TensorProto.INT64, [2])], [y]),
                          "must be known at compile time"),
        "reflect pad": (single(helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect"), [x], [y], [
            numpy_helper.from_array(np.array([0, 1, 0, 1], np.int64), "p")]), "Pad mode 'reflect'"),
        "undefined input": (single(helper.make_node("Relu", ["nope"], ["y"]), [x], [y]), "'nope' is not defined"),
        "missing output": (single(helper.make_node("Relu", ["x"], ["z"]), [x], [y]), "'y' is never computed"),
        "sequence input": (single(helper.make_node("Identity", ["q"], ["y"]), [helper.make_tensor_sequence_value_info(
            "q", TensorProto.FLOAT, [2, 3])], [y]), "is a sequence"),
        "bad broadcast": (single(helper.make_node("Add", ["x", "z"], ["y"]),
                                 [x, helper.make_tensor_value_info("z", TensorProto.FLOAT, [4])], [y]),
                          "do not broadcast"),
        "4-D conv weights on 3-D input": (single(helper.make_node("Conv", ["x3", "w"], ["y"]), [
            helper.make_tensor_value_info("x3", TensorProto.FLOAT, [1, 2, 5])], [y], [
            numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")]), "rank"),
    }
    for label, (model, message) in cases.items():
        proc = _compile(tools, _save(model, tmp_path / "case.onnx"))
        assert_one_error_line(proc)
        assert message in proc.stderr, (label, proc.stderr)


@pytest.mark.parametrize("name", ["/attn/Softmax", ""])
def test_later_pass_error_names_the_node(tools, tmp_path, name):
    """An error after import (here the kernel of a softmax over 4M elements
    not fitting SBUF) is about an op the importer generated: it names the
    ONNX node the op came from (its name, or its type when it has none)."""
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="first"),
                               helper.make_node("Softmax", ["r"], ["y"], name=name)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1 << 22])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1 << 22])])
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "big.onnx")
    proc = _compile(tools, path)
    assert_one_error_line(proc)
    # FILE:N:0 with N the node's position in the graph.
    assert proc.stderr.startswith(f"{path}:2:0: error: node '{name or 'Softmax'}' (Softmax): "), proc.stderr


def test_run_time_value_error_names_its_origin(tools, tmp_path):
    """A value needed at compile time that is not known names the node that
    computes it and the graph input (or weight argument) it depends on, not
    only the internal value name."""
    shape_t = numpy_helper.from_array(np.array([3, 2], np.int64), "target")
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="/Shape"),
             helper.make_node("Add", ["s", "n"], ["/Add_output_0"], name="/Add"),
             helper.make_node("Mul", ["/Add_output_0", "one"], ["/Mul_output_0"], name="/Mul"),
             helper.make_node("Reshape", ["x", "/Mul_output_0"], ["y"], name="/Reshape")]
    one = numpy_helper.from_array(np.array([1, 1], np.int64), "one")
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
                                           helper.make_tensor_value_info("n", TensorProto.INT64, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [one])
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "dyn.onnx")
    proc = _compile(tools, path)
    assert_one_error_line(proc)
    assert ("node '/Reshape' (Reshape): input '/Mul_output_0' must be known at compile time (a constant or a "
            "static shape), but node '/Mul' (Mul) computes it from graph input 'n'") in proc.stderr, proc.stderr
    # A weight argument: the shape chain starts at an initializer.
    graph = helper.make_graph([helper.make_node("Concat", ["target"], ["c"], name="/Concat", axis=0),
                               helper.make_node("Reshape", ["x", "c"], ["y"], name="/Reshape")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [shape_t])
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "w.onnx")
    proc = _compile(tools, path, "--weights-as-args")
    assert_one_error_line(proc)
    assert ("but node '/Concat' (Concat) computes it from weight 'target' (an argument with --weights-as-args)"
            in proc.stderr), proc.stderr
    # The graph input itself.
    graph = helper.make_graph([helper.make_node("Reshape", ["x", "n"], ["y"], name="/Reshape")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
                               helper.make_tensor_value_info("n", TensorProto.INT64, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "in.onnx")
    proc = _compile(tools, path)
    assert_one_error_line(proc)
    assert "input 'n' must be known at compile time (a constant or a static shape), but it is graph input 'n'" \
        in proc.stderr, proc.stderr


@pytest.mark.parametrize("location", ["../outside.bin", "/etc/passwd", "sub/../../outside.bin", "link.bin"])
def test_external_data_outside_the_models_folder_is_refused(tools, tmp_path, location):
    models = tmp_path / "models"
    models.mkdir()
    model = _mlp()
    onnx.save(model, str(models / "ext.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.bin", size_threshold=0)
    (tmp_path / "outside.bin").write_bytes((models / "ext.bin").read_bytes())
    (models / "link.bin").symlink_to(tmp_path / "outside.bin")
    m = onnx.load(str(models / "ext.onnx"), load_external_data=False)
    for init in m.graph.initializer:
        for kv in init.external_data:
            if kv.key == "location":
                kv.value = location
    onnx.save(m, str(models / "ext.onnx"))
    proc = _compile(tools, models / "ext.onnx")
    assert_one_error_line(proc)
    assert f"external data location '{location}'" in proc.stderr
    assert "is outside the model's folder" in proc.stderr
