"""Einsum (OnnxEinsum.cpp): equations lowered to transposes, reshapes, sums
and batched matmuls, compiled and run in the functional simulator against
numpy.einsum; unsupported or malformed equations are one error naming the
node."""
import numpy as np
import pytest

from conftest import assert_one_error_line
from test_onnx_ops import randn, run_model

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


@pytest.mark.parametrize("equation,shapes", [
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 6)]),
    ("ij->ji", [(4, 7)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 5, 8), (2, 3, 6, 8)]),
    ("i,i->", [(9,), (9,)]),
    ("ij,j->i", [(5, 7), (7,)]),
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (2, 3, 5, 2)]),
    ("...ij,...jk->...ik", [(4, 5), (3, 5, 2)]),          # ellipsis of different ranks
    ("...ij,...jk->...ik", [(2, 1, 4, 5), (3, 5, 2)]),    # a size-1 ellipsis axis broadcasts
    ("ij", [(3, 4)]),                                     # implicit output: identity
    ("ba", [(3, 4)]),                                     # implicit output: alphabetical -> transpose
    ("ij,jk", [(3, 4), (4, 5)]),                          # implicit output of a matmul
    ("ij->i", [(3, 4)]),                                  # a sum
    ("ij->", [(3, 4)]),                                   # the sum of everything
    ("i,j->ij", [(3,), (4,)]),                            # outer product (nothing contracted)
    ("bi,bj->bij", [(2, 3), (2, 4)]),                     # batched outer product
    ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)]),             # the contraction on b's last axis
    ("ijk,jl->il", [(2, 3, 4), (3, 5)]),                  # k only in the first operand: summed first
    ("...ii->...i", [(3, 5, 5)]),                         # batched diagonal
    ("ii->", [(4, 4)]),                                   # trace
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 5)]),           # three operands
    ("b i d, b j d -> b i j", [(2, 3, 4), (2, 5, 4)]),    # spaces
])
def test_einsum(tools, tmp_path, equation, shapes):
    arrays = [randn(*s) for s in shapes]
    names = [f"x{i}" for i in range(len(arrays))]
    ref = np.einsum(equation.replace(" ", ""), *arrays).astype(np.float32)
    run_model(tools, tmp_path, [helper.make_node("Einsum", names, ["y"], equation=equation)],
              dict(zip(names, arrays)), {"y": np.asarray(ref)})


def test_einsum_of_weights(tools, tmp_path):
    """An initializer operand (folded transposes of a constant) and a
    runtime one."""
    x, w = randn(2, 6, 8), randn(4, 8)
    run_model(tools, tmp_path, [helper.make_node("Einsum", ["x", "w"], ["y"], equation="bsd,hd->bhs")],
              {"x": x}, {"y": np.einsum("bsd,hd->bhs", x, w)}, {"w": w})


@pytest.mark.parametrize("equation,shapes,message", [
    ("ij,jk->ik", [(3, 4)], "it has 2 operand terms for 1 inputs"),
    ("ij->i", [(3, 4, 5)], "operand 0 has rank 3 but the term 'ij' names 2 axes"),
    ("ij,jk->ik", [(3, 4), (5, 6)], "an axis has size 5 where another of its label has 4"),
    ("ij->k", [(3, 4)], "output label 'k' is in no operand"),
    ("i1->i", [(3, 4)], "'1' is not a label"),
    ("...ij->ij", [(2, 3, 4)], "the operands have an ellipsis the output drops"),
])
def test_einsum_errors(tools, tmp_path, equation, shapes, message):
    inputs = [helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, list(s)) for i, s in enumerate(shapes)]
    graph = helper.make_graph([helper.make_node("Einsum", [i.name for i in inputs], ["y"], equation=equation,
                                                name="attn_scores")], "g", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    proc = tools.run("trnx-compile", path, "-o", tmp_path / "bad.tnx", check=False)
    assert_one_error_line(proc)
    assert f"node 'attn_scores' (Einsum): Einsum equation '{equation}': {message}" in proc.stderr, proc.stderr
