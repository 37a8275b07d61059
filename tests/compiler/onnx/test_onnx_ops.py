"""Operator forms ONNX's node tests (Debian's onnx 1.12, opsets up to 17) do not
cover: opset-18 forms (ReduceMean/Max axes as an input, Split num_outputs,
Pad axes), 1-D and 3-D convolutions with groups, dilations and SAME padding,
ceil-mode pooling, negative-step slices of runtime data, BatchNormalization
training mode, large constants. Models are built with onnx.helper; the
references are numpy or torch."""
import numpy as np
import pytest

from conftest import relative_error

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

F = torch.nn.functional
RNG = np.random.default_rng(7)


def _vi(name, arr):
    ttype = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
             np.dtype(np.bool_): TensorProto.BOOL}[arr.dtype]
    return helper.make_tensor_value_info(name, ttype, list(arr.shape))


def run_model(tools, tmp_path, nodes, inputs, outputs, inits=None, opset=17):
    """inputs: name -> array (graph inputs); inits: name -> array (initializers);
    outputs: name -> reference array. Returns the outputs trnx computed."""
    graph = helper.make_graph(nodes, "g", [_vi(n, a) for n, a in inputs.items()],
                              [_vi(n, a) for n, a in outputs.items()],
                              [numpy_helper.from_array(a, n) for n, a in (inits or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    tools.run("trnx-compile", path, "--auto-cast", "none", "-o", tmp_path / "model.tnx")
    args = []
    for name, arr in inputs.items():
        np.save(tmp_path / f"{name}.npy", arr)
        args += ["--input", f"{name}={tmp_path / f'{name}.npy'}"]
    tools.run("trnx-sim", tmp_path / "model.tnx", "--mode", "functional", "--output-dir", tmp_path / "out", "-q",
              *args)
    got = {name: np.load(tmp_path / "out" / f"{name}.npy") for name in outputs}
    for name, ref in outputs.items():
        assert got[name].shape == ref.shape, (name, got[name].shape, ref.shape)
        if ref.dtype == np.bool_ or ref.dtype == np.int64 or not np.isfinite(ref).all():
            np.testing.assert_array_equal(got[name], ref)
        else:
            assert relative_error(got[name], ref) <= 1e-5, name
    return got


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("op", ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum"])
def test_opset18_reduce_axes_input(tools, tmp_path, op):
    x = randn(2, 3, 4)
    axes = np.array([-1, 0], np.int64)
    fn = {"ReduceMean": np.mean, "ReduceMax": np.max, "ReduceMin": np.min, "ReduceSum": np.sum}[op]
    run_model(tools, tmp_path, [helper.make_node(op, ["x", "axes"], ["y"], keepdims=0),
                                helper.make_node(op, ["x", "none"], ["z"], noop_with_empty_axes=1),
                                helper.make_node(op, ["x"], ["w"])],
              {"x": x}, {"y": fn(x, axis=(0, 2)), "z": x, "w": fn(x, axis=(0, 1, 2), keepdims=True)},
              {"axes": axes, "none": np.zeros((0,), np.int64)}, opset=18)


def test_opset18_split_num_outputs_and_pad_axes(tools, tmp_path):
    x = randn(7, 3)
    run_model(tools, tmp_path, [helper.make_node("Split", ["x"], ["a", "b", "c"], axis=0, num_outputs=3),
                                helper.make_node("Pad", ["x", "pads", "val", "axes"], ["p"])],
              {"x": x}, {"a": x[0:3], "b": x[3:6], "c": x[6:7],
                         "p": np.pad(x, ((0, 0), (2, 1)), constant_values=1.5)},
              {"pads": np.array([2, 1], np.int64), "val": np.array(1.5, np.float32),
               "axes": np.array([-1], np.int64)}, opset=18)


@pytest.mark.parametrize("dims,group,auto_pad,dilation,stride", [
    (1, 1, "NOTSET", 1, 1), (1, 2, "SAME_UPPER", 2, 2), (2, 4, "SAME_LOWER", 1, 2), (2, 1, "VALID", 2, 1),
    (3, 1, "NOTSET", 1, 2), (3, 2, "SAME_UPPER", 1, 1)])
def test_conv_forms(tools, tmp_path, dims, group, auto_pad, dilation, stride):
    spatial = [9, 8, 7][:dims]
    x = randn(2, 4, *spatial)
    w = randn(6 if group != 4 else 8, 4 // group, *([3] * dims))
    b = randn(w.shape[0])
    attrs = dict(group=group, dilations=[dilation] * dims, strides=[stride] * dims)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[dims]
    xt = torch.from_numpy(x)
    if auto_pad == "NOTSET":
        attrs["pads"] = [1] * dims + [0] * dims  # asymmetric
        xt = F.pad(xt, sum(([1, 0] for _ in range(dims)), []))
    elif auto_pad.startswith("SAME"):
        attrs["auto_pad"] = auto_pad
        pads = []
        for s in reversed(spatial):
            out = -(-s // stride)
            total = max(0, (out - 1) * stride + 2 * dilation + 1 - s)
            lo = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            pads += [lo, total - lo]
        xt = F.pad(xt, pads)
    else:
        attrs["auto_pad"] = auto_pad
    ref = conv(xt, torch.from_numpy(w), torch.from_numpy(b), stride=stride, dilation=dilation, groups=group).numpy()
    run_model(tools, tmp_path, [helper.make_node("Conv", ["x", "w", "b"], ["y"], **attrs)], {"x": x}, {"y": ref},
              {"w": w, "b": b})


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pool_ceil_mode_and_pads(tools, tmp_path, dims, op):
    spatial = [8, 7, 6][:dims]
    x = randn(1, 3, *spatial)
    attrs = dict(kernel_shape=[3] * dims, strides=[2] * dims, pads=[1] * (2 * dims), ceil_mode=1)
    xt = torch.from_numpy(x)
    if op == "MaxPool":
        ref = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[dims](xt, 3, 2, 1, ceil_mode=True)
    else:
        attrs["count_include_pad"] = 1
        ref = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[dims](xt, 3, 2, 1, ceil_mode=True,
                                                                       count_include_pad=True)
    run_model(tools, tmp_path, [helper.make_node(op, ["x"], ["y"], **attrs)], {"x": x}, {"y": ref.numpy()})


def test_maxpool_indices(tools, tmp_path):
    x = randn(2, 3, 7, 6)
    y, idx = F.max_pool2d(torch.from_numpy(x), 3, 2, 1, return_indices=True)
    # torch's indices are per (n, c) plane; ONNX's flatten the whole tensor.
    base = (np.arange(6).reshape(2, 3, 1, 1) * 42).astype(np.int64)
    run_model(tools, tmp_path, [helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[3, 3], strides=[2, 2],
                                                 pads=[1, 1, 1, 1])],
              {"x": x}, {"y": y.numpy(), "i": idx.numpy() + base})


def test_slice_negative_steps_of_runtime_data(tools, tmp_path):
    x = randn(5, 6, 7)
    run_model(tools, tmp_path, [helper.make_node("Slice", ["x", "s", "e", "a", "st"], ["y"]),
                                helper.make_node("Slice", ["x", "s2", "e2"], ["z"])],
              {"x": x}, {"y": x[::-1, 4:0:-2, -1:-8:-3], "z": x[1:9223372036854775807, -100:3]},
              {"s": np.array([-1, 4, 6], np.int64), "e": np.array([-9223372036854775807, 0, -9], np.int64),
               "a": np.array([0, -2, 2], np.int64), "st": np.array([-1, -2, -3], np.int64),
               "s2": np.array([1, -100], np.int64), "e2": np.array([9223372036854775807, 3], np.int64)})


def test_gather_negative_runtime_indices(tools, tmp_path):
    x = randn(3, 5, 2)
    i = np.array([[-1, 0], [4, -5]], np.int64)
    run_model(tools, tmp_path, [helper.make_node("Gather", ["x", "i"], ["y"], axis=1)], {"x": x, "i": i},
              {"y": np.take(x, i, axis=1)})


def test_batchnorm_training_mode(tools, tmp_path):
    x = randn(4, 3, 5, 2)
    s, b, m, v = randn(3), randn(3), randn(3), np.abs(randn(3)) + 0.5
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    y = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5) * s.reshape(1, 3, 1, 1) \
        + b.reshape(1, 3, 1, 1)
    run_model(tools, tmp_path, [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "rm", "rv"],
                                                 training_mode=1, momentum=0.8)],
              {"x": x}, {"y": y, "rm": m * 0.8 + mean * 0.2, "rv": v * 0.8 + var * 0.2},
              {"s": s, "b": b, "m": m, "v": v}, opset=15)


def test_layernorm_broadcast_scale_and_statistics(tools, tmp_path):
    x = randn(2, 3, 4, 5)
    scale, bias = randn(5), randn(4, 1)
    mean = x.mean(axis=(2, 3), keepdims=True)
    inv = 1 / np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-3)
    run_model(tools, tmp_path, [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y", "mean", "inv"],
                                                 axis=-2, epsilon=1e-3)],
              {"x": x}, {"y": (x - mean) * inv * scale + bias, "mean": mean, "inv": inv}, {"s": scale, "b": bias})


def test_large_constants_and_masks(tools, tmp_path):
    x = randn(300, 400)
    run_model(tools, tmp_path, [helper.make_node("ConstantOfShape", ["shape"], ["c"],
                                                 value=numpy_helper.from_array(np.array([2.5], np.float32))),
                                helper.make_node("Add", ["x", "c"], ["y"]),
                                helper.make_node("Dropout", ["x"], ["d", "mask"])],
              {"x": x}, {"y": x + 2.5, "d": x, "mask": np.ones_like(x, dtype=bool)},
              {"shape": np.array([300, 400], np.int64)})


def test_integer_arithmetic(tools, tmp_path):
    a = RNG.integers(-50, 50, (3, 4)).astype(np.int64)
    b = RNG.integers(1, 9, (3, 4)).astype(np.int64) * np.where(RNG.random((3, 4)) < 0.5, -1, 1)
    f = randn(3, 4) * 10
    run_model(tools, tmp_path, [helper.make_node("Div", ["a", "b"], ["q"]),
                                helper.make_node("Cast", ["f"], ["fi"], to=TensorProto.INT64),
                                helper.make_node("Transpose", ["b"], ["bt"]),
                                helper.make_node("MatMul", ["a", "bt"], ["mm"])],
              {"a": a, "b": b, "f": f}, {"q": np.trunc(a / b).astype(np.int64), "fi": np.trunc(f).astype(np.int64),
                                         "mm": a @ b.T})


def test_gelu(tools, tmp_path):
    """Gelu is opset 20's (no node test in onnx 1.12); the importer accepts it
    in a model of any opset it handles, both approximations."""
    x = randn(4, 33) * 3
    xt = torch.from_numpy(x)
    run_model(tools, tmp_path, [helper.make_node("Gelu", ["x"], ["y"]),
                                helper.make_node("Gelu", ["x"], ["t"], approximate="tanh")],
              {"x": x}, {"y": F.gelu(xt).numpy(), "t": F.gelu(xt, approximate="tanh").numpy()})
