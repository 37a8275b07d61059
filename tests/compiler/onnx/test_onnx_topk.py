"""TopK (OnnxTopK.cpp): k rounds of reduce + first index of the extreme +
mask-out, compiled and run in the functional simulator; the reference is a
stable numpy argsort, so ties must come out lowest index first as ONNX
specifies."""
import numpy as np
import pytest

from conftest import assert_one_error_line
from test_onnx_ops import RNG, randn, run_model

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def reference(x, k, axis, largest):
    order = np.argsort(-x if largest else x, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, idx, axis=axis), idx.astype(np.int64)


def topk_model(tools, tmp_path, x, k, axis, largest=1, opset=17, **attrs):
    values, indices = reference(x, k, axis, largest)
    if opset < 10:
        node = helper.make_node("TopK", ["x"], ["v", "i"], axis=axis, k=k)
        inits = {}
    else:
        node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=axis, largest=largest, **attrs)
        inits = {"k": np.array([k], np.int64)}
    return run_model(tools, tmp_path, [node], {"x": x}, {"v": values, "i": indices}, inits, opset=opset)


@pytest.mark.parametrize("shape,k,axis,largest", [
    ((3, 4), 2, 1, 1), ((3, 4), 3, -1, 0), ((5, 7), 1, 0, 1), ((2, 6, 5), 3, 1, 1), ((2, 6, 5), 5, 2, 0),
    ((4, 64), 8, -1, 1), ((1, 9), 9, 1, 1)])
def test_topk(tools, tmp_path, shape, k, axis, largest):
    topk_model(tools, tmp_path, randn(*shape), k, axis, largest)


@pytest.mark.parametrize("largest", [1, 0])
def test_topk_ties_lowest_index_first(tools, tmp_path, largest):
    """Few distinct values, so every row has ties, and infinities."""
    x = RNG.integers(-2, 3, (6, 10)).astype(np.float32)
    x[0, 3] = x[0, 7] = np.inf
    x[1, :] = -np.inf
    x[2, 4] = -np.inf
    topk_model(tools, tmp_path, x, 6, 1, largest)


def test_topk_opset1_k_attribute_and_unsorted(tools, tmp_path):
    x = randn(4, 5)
    topk_model(tools, tmp_path, x, 2, 1, opset=9)
    (tmp_path / "unsorted").mkdir()
    topk_model(tools, tmp_path / "unsorted", x, 3, 0, sorted=0)


def test_topk_int64(tools, tmp_path):
    x = RNG.integers(-100, 100, (3, 8)).astype(np.int64)
    topk_model(tools, tmp_path, x, 4, 1)


def test_moe_router(tools, tmp_path):
    """MoE routing as exported: softmax over expert logits, top-2, the
    weights renormalised over the two."""
    x, w = randn(16, 32), randn(32, 8)
    logits = x @ w
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    vals, idx = reference(p, 2, -1, 1)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["p"], axis=-1),
             helper.make_node("TopK", ["p", "k"], ["top", "experts"], axis=-1),
             helper.make_node("ReduceSum", ["top", "axes"], ["total"], keepdims=1),
             helper.make_node("Div", ["top", "total"], ["weights"])]
    run_model(tools, tmp_path, nodes, {"x": x}, {"weights": vals / vals.sum(-1, keepdims=True), "experts": idx},
              {"w": w, "k": np.array([2], np.int64), "axes": np.array([-1], np.int64)})


@pytest.mark.parametrize("k,message", [(5, "k = 5 is not in [0, 4]"), (-1, "k = -1 is not in [0, 4]")])
def test_topk_errors(tools, tmp_path, k, message):
    graph = helper.make_graph([helper.make_node("TopK", ["x", "k"], ["v", "i"], name="router")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
                              [helper.make_tensor_value_info("v", TensorProto.FLOAT, None)],
                              [helper.make_tensor("k", TensorProto.INT64, [1], [k])])
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    proc = tools.run("trnx-compile", path, "-o", tmp_path / "bad.tnx", check=False)
    assert_one_error_line(proc)
    assert f"node 'router' (TopK): {message}" in proc.stderr, proc.stderr
