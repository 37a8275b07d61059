#!/usr/bin/env python3
"""Writes the seed corpus of the ONNX importer's fuzz target (fuzz/corpus/onnx/):
small models built with onnx.helper that cover the importer's main paths
(initializers, convolutions, folded shape arithmetic, reductions, integer and
bool tensors, opset-18 forms, einsum, recurrent and top-k nodes) plus models
it must refuse (external data outside the folder or missing, an unsupported
operator, an unknown opset). The files are committed; rerun this script to
regenerate them:  /usr/bin/python3 scripts/make-onnx-fuzz-seeds.py"""
import os
import sys

import numpy as np
import onnx
import onnx.external_data_helper
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus", "onnx")
RNG = np.random.default_rng(17)
F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def w(name, *shape, dtype=np.float32):
    return numpy_helper.from_array(RNG.standard_normal(shape).astype(dtype), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def save(stem, nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, stem, inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="trnx-fuzz")
    path = os.path.join(OUT, stem + ".onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return model


def main():
    os.makedirs(OUT, exist_ok=True)
    n = helper.make_node
    save("mlp", [n("MatMul", ["x", "w1"], ["h"]), n("Add", ["h", "b1"], ["hb"]), n("Relu", ["hb"], ["r"]),
                 n("Gemm", ["r", "w2", "b2"], ["y"], transB=1)],
         [vi("x", F, [2, 8])], [vi("y", F, [2, 4])], [w("w1", 8, 16), w("b1", 16), w("w2", 4, 16), w("b2", 4)])
    save("conv_pool", [n("Conv", ["x", "k"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1]),
                       n("BatchNormalization", ["c", "s", "bias", "mean", "var"], ["bn"]),
                       n("MaxPool", ["bn"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
                       n("GlobalAveragePool", ["p"], ["g"]), n("Flatten", ["g"], ["y"])],
         [vi("x", F, [1, 3, 8, 8])], [vi("y", F, [1, 4])],
         [w("k", 4, 3, 3, 3), w("s", 4), w("bias", 4), w("mean", 4),
          numpy_helper.from_array(np.ones(4, np.float32), "var")])
    save("shape_math", [n("Shape", ["x"], ["s"]), n("Gather", ["s", "i"], ["d"], axis=0),
                        n("Concat", ["d", "m1"], ["ns"], axis=0), n("Reshape", ["x", "ns"], ["r"]),
                        n("Concat", ["d", "c12"], ["zs"], axis=0),
                        n("ConstantOfShape", ["zs"], ["z"], value=numpy_helper.from_array(np.array([0.5], np.float32))),
                        n("Add", ["r", "z"], ["y"])],
         [vi("x", F, [2, 3, 4])], [vi("y", F, [2, 12])], [ints("i", [0]), ints("m1", [-1]), ints("c12", [12])])
    save("layernorm_softmax", [n("ReduceMean", ["x"], ["m"], axes=[-1]), n("Sub", ["x", "m"], ["d"]),
                               n("Mul", ["d", "d"], ["d2"]), n("ReduceMean", ["d2"], ["v"], axes=[-1]),
                               n("Add", ["v", "eps"], ["ve"]), n("Sqrt", ["ve"], ["sd"]), n("Div", ["d", "sd"], ["ln"]),
                               n("Transpose", ["ln"], ["t"], perm=[1, 0]), n("Softmax", ["t"], ["y"], axis=-1)],
         [vi("x", F, [4, 6])], [vi("y", F, [6, 4])], [numpy_helper.from_array(np.array(1e-5, np.float32), "eps")])
    save("opset18_split_pad", [n("Split", ["x"], ["a", "b", "c"], axis=0, num_outputs=3),
                               n("Pad", ["a", "pads", "val", "axes"], ["p"]),
                               n("ReduceMax", ["b", "ax"], ["mx"], keepdims=0)],
         [vi("x", F, [7, 3])], [vi("p", F, [3, 6]), vi("mx", F, [3]), vi("c", F, [1, 3])],
         [ints("pads", [2, 1]), numpy_helper.from_array(np.array(1.5, np.float32), "val"), ints("axes", [-1]),
          ints("ax", [1])], opset=18)
    save("int_bool_where", [n("Cast", ["x"], ["xi"], to=I64), n("Equal", ["xi", "k"], ["e"]),
                            n("Not", ["e"], ["ne"]), n("Where", ["ne", "x", "zero"], ["y"]),
                            n("ArgMax", ["x"], ["am"], axis=1, keepdims=0)],
         [vi("x", F, [3, 5])], [vi("y", F, [3, 5]), vi("am", I64, [3])],
         [ints("k", [2]), numpy_helper.from_array(np.zeros((1,), np.float32), "zero")])
    save("slice_expand_tile", [n("Slice", ["x", "st", "en", "ax", "sp"], ["s"]),
                               n("Expand", ["s", "shape"], ["e"]), n("Tile", ["e", "reps"], ["y"]),
                               n("Unsqueeze", ["y", "u"], ["yu"]), n("Squeeze", ["yu", "u"], ["ys"])],
         [vi("x", F, [4, 6])], [vi("ys", F, [4, 6])],
         [ints("st", [-1, 5]), ints("en", [-100, -100]), ints("ax", [0, 1]), ints("sp", [-2, -3]),
          ints("shape", [2, 2]), ints("reps", [2, 3]), ints("u", [0])])
    save("attention", [n("MatMul", ["q", "kt"], ["s"]), n("Mul", ["s", "scale"], ["ss"]),
                       n("Softmax", ["ss"], ["p"], axis=-1), n("MatMul", ["p", "v"], ["y"]),
                       n("Erf", ["y"], ["ye"]), n("Tanh", ["ye"], ["yt"])],
         [vi("q", F, [2, 4, 8]), vi("kt", F, [2, 8, 4]), vi("v", F, [2, 4, 8])], [vi("yt", F, [2, 4, 8])],
         [numpy_helper.from_array(np.array(0.35, np.float32), "scale")])
    save("einsum_topk", [n("Einsum", ["a", "b"], ["e"], equation="bij,bjk->bik"),
                         n("TopK", ["e", "k"], ["vals", "idx"], axis=-1)],
         [vi("a", F, [2, 3, 4]), vi("b", F, [2, 4, 5])], [vi("vals", F, [2, 3, 2]), vi("idx", I64, [2, 3, 2])],
         [ints("k", [2])])
    save("gru", [n("GRU", ["x", "W", "R"], ["", "h"], hidden_size=3)],
         [vi("x", F, [2, 1, 4])], [vi("h", F, [1, 1, 3])], [w("W", 1, 9, 4), w("R", 1, 9, 3)])
    # Refused inputs: external data outside the model's folder, missing
    # external data, an unsupported operator, an unknown opset.
    outside = w("ew", 4, 4)
    onnx.external_data_helper.set_external_data(outside, location="../../etc/passwd")
    outside.ClearField("raw_data")
    outside.data_location = TensorProto.EXTERNAL
    save("external_outside", [n("MatMul", ["x", "ew"], ["y"])], [vi("x", F, [1, 4])], [vi("y", F, [1, 4])],
         [outside])
    missing = w("mw", 4, 4)
    onnx.external_data_helper.set_external_data(missing, location="weights.bin", offset=16, length=64)
    missing.ClearField("raw_data")
    missing.data_location = TensorProto.EXTERNAL
    save("external_missing", [n("MatMul", ["x", "mw"], ["y"])], [vi("x", F, [1, 4])], [vi("y", F, [1, 4])],
         [missing])
    save("unsupported_op", [n("NonMaxSuppression", ["b", "s"], ["y"])],
         [vi("b", F, [1, 4, 4]), vi("s", F, [1, 1, 4])], [vi("y", I64, [1, 3])])
    save("opset_99", [n("Relu", ["x"], ["y"])], [vi("x", F, [2])], [vi("y", F, [2])], opset=99)
    save("bool_logic", [n("Greater", ["x", "t"], ["g"]), n("And", ["g", "m"], ["y"])],
         [vi("x", F, [4]), vi("m", B, [4])], [vi("y", B, [4])],
         [numpy_helper.from_array(np.array(0.0, np.float32), "t")])
    print(f"wrote {len(os.listdir(OUT))} models to {os.path.relpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
