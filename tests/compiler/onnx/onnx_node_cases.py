"""ONNX's own backend node tests, generated from Debian's python3-onnx, run
through trnx-compile + trnx-sim: shared by the conformance test and
scripts/onnx-conformance-report.py (which writes the table of docs/onnx.md).

Two adaptations, both about what must be known at compile time (trnx compiles
static shapes), never about results:
- a graph input consumed where the importer needs a value at compile time
  (COMPILE_TIME_INPUTS: a Reshape's shape, Slice's starts, ...) becomes an
  initializer holding the test's data (as onnx-mlir's CONSTANT_INPUT does);
- an input with a dynamic dimension gets --shape from the test's data.
"""
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

# Operators the ONNX front end must support (issue #4); a node test whose
# operators are all in this set must pass or be a documented exception.
REQUIRED_OPS = {
    "MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh",
    "Sigmoid", "Relu", "LeakyRelu", "Gelu", "Softmax", "LogSoftmax", "LayerNormalization", "ReduceMean",
    "ReduceSum", "ReduceMax", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Split", "Concat",
    "Slice", "Gather", "Constant", "ConstantOfShape", "Shape", "Cast", "Where", "Expand", "Equal", "Less",
    "Greater", "Identity", "Dropout", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool",
    "BatchNormalization",
}

# Inputs (by position) whose values the importer needs at compile time.
COMPILE_TIME_INPUTS = {
    "Reshape": {1}, "Expand": {1}, "ConstantOfShape": {0}, "Squeeze": {1}, "Unsqueeze": {1}, "Split": {1},
    "Slice": {1, 2, 3, 4}, "ReduceSum": {1}, "ReduceMean": {1}, "ReduceMax": {1}, "ReduceMin": {1},
    "Range": {0, 1, 2}, "Pad": {1, 2, 3}, "Dropout": {1, 2}, "Tile": {1}, "OneHot": {1}, "CumSum": {1},
    "Trilu": {1}, "ReduceL1": {1}, "ReduceL2": {1}, "ReduceSumSquare": {1}, "ReduceLogSum": {1},
    "ReduceLogSumExp": {1},
}

def generate(directory: pathlib.Path) -> pathlib.Path:
    """Generates the node tests into directory/node (once) and returns that path."""
    node = directory / "node"
    if (node / "test_add" / "model.onnx").exists():
        return node
    code = ("import numpy as np, sys\n"
            "np.float = float; np.int = int; np.bool = bool; np.object = object\n"
            "from onnx.backend.test.cmd_tools import main\n"
            f"sys.argv = ['onnx', 'generate-data', '-o', {str(directory)!r}]\n"
            "main()\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return node


def case_ops(case: pathlib.Path):
    import onnx
    model = onnx.load(str(case / "model.onnx"), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    return sorted({n.op_type for n in model.graph.node}), \
        [i.name for i in model.graph.input if i.name not in inits], [o.name for o in model.graph.output]


def load_tensor(path: pathlib.Path, declared=None):
    """A test data tensor as numpy. bfloat16 (which onnx 1.12 stores as its
    uint16 bits, for a value the model declares BFLOAT16) is widened exactly
    to float32."""
    import onnx
    from onnx import numpy_helper
    t = onnx.TensorProto()
    t.ParseFromString(path.read_bytes())
    arr = numpy_helper.to_array(t)
    if t.data_type == onnx.TensorProto.BFLOAT16 or (declared == onnx.TensorProto.BFLOAT16 and arr.dtype == np.uint16):
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return arr


def _elem_type(vi):
    return vi.type.tensor_type.elem_type if vi.type.HasField("tensor_type") else None


def compile_time_inputs(model):
    """Graph inputs (not initializers) that feed a compile-time operand."""
    inits = {t.name for t in model.graph.initializer}
    graph_inputs = {i.name for i in model.graph.input} - inits
    names = set()
    for n in model.graph.node:
        for pos in COMPILE_TIME_INPUTS.get(n.op_type, ()):
            if pos < len(n.input) and n.input[pos] in graph_inputs:
                names.add(n.input[pos])
    return names


def _freeze(model, values):
    """A copy of model with the named inputs turned into initializers."""
    import onnx
    from onnx import numpy_helper
    m = onnx.ModelProto()
    m.CopyFrom(model)
    keep = [i for i in m.graph.input if i.name not in values]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    for name, arr in values.items():
        m.graph.initializer.append(numpy_helper.from_array(arr, name))
    return m


def _dynamic(vi):
    tt = vi.type.tensor_type
    return vi.type.HasField("tensor_type") and (not tt.HasField("shape") or any(
        not d.HasField("dim_value") for d in tt.shape.dim))


def _sim_array(arr):
    """Inputs as trnx-sim reads them (.npy of float16/32/64, int8-64, uint8, bool)."""
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype in (np.uint16, np.uint32, np.uint64):
        return arr.astype(np.int64)
    return arr


def run_case(args):
    """Compiles and runs one node test; returns (name, status, detail)."""
    case, build = pathlib.Path(args[0]), pathlib.Path(args[1])
    import onnx
    model = onnx.load(str(case / "model.onnx"), load_external_data=False)
    _, inputs, outputs = case_ops(case)
    frozen = compile_time_inputs(model)
    compile_tool = build / "compiler" / "trnx-compile"
    sim = build / "simulator" / "trnx-sim"
    data_sets = sorted(case.glob("test_data_set_*"))
    in_vi = {i.name: i for i in model.graph.input}
    out_vi = {o.name: o for o in model.graph.output}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        prog = None
        for ds in data_sets:
            data = {name: load_tensor(ds / f"input_{i}.pb", _elem_type(in_vi[name])) for i, name in enumerate(inputs)
                    if (ds / f"input_{i}.pb").exists() and in_vi[name].type.HasField("tensor_type")}
            if prog is None or frozen:
                # Compile (once, or per data set when inputs are baked in).
                path = case / "model.onnx"
                if frozen:
                    path = tmp / "model.onnx"
                    onnx.save(_freeze(model, {n: data[n] for n in frozen if n in data}), str(path))
                prog = tmp / "model.tnx"
                cmd = [str(compile_tool), str(path), "--target", "trn3", "--auto-cast", "none", "-o", str(prog)]
                for name in inputs:
                    if name not in frozen and name in data and _dynamic(in_vi[name]):
                        cmd += ["--shape", f"{name}=" + ",".join(str(d) for d in data[name].shape)]
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                if proc.returncode != 0:
                    err = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
                    crashed = proc.returncode < 0 or "PLEASE submit" in proc.stderr
                    status = "crash" if crashed else ("unsupported" if "not supported" in err else "fail")
                    return case.name, status, err
            args = [str(sim), str(prog), "--mode", "functional", "--output-dir", str(tmp / "out"), "-q"]
            for i, name in enumerate(inputs):
                if name in frozen or name not in data:
                    continue
                np.save(tmp / f"in{i}.npy", _sim_array(data[name]))
                args += ["--input", f"{name}={tmp / f'in{i}.npy'}"]
            proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
            if proc.returncode != 0:
                return case.name, "crash" if proc.returncode < 0 else "fail", proc.stderr.strip()[-300:]
            for i, name in enumerate(outputs):
                ref = load_tensor(ds / f"output_{i}.pb", _elem_type(out_vi[name]))
                safe = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in name)
                got = np.load(tmp / "out" / f"{safe}.npy")
                if got.shape != ref.shape:
                    return case.name, "fail", f"output {name}: shape {got.shape}, expected {ref.shape}"
                try:
                    if ref.dtype == np.bool_:
                        np.testing.assert_array_equal(got.astype(np.int64), ref.astype(np.int64))
                    else:
                        np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=1e-3,
                                                   atol=1e-7)
                except AssertionError as e:
                    lines = str(e).strip().splitlines()
                    return case.name, "fail", f"output {name}: " + lines[0 if len(lines) < 4 else 3]
    return case.name, "pass", ""


def run_all(build: pathlib.Path, cache: pathlib.Path, jobs: int = 2):
    from multiprocessing import Pool
    node = generate(cache)
    cases = sorted(p for p in node.iterdir() if (p / "model.onnx").exists())
    with Pool(jobs) as pool:
        results = pool.map(run_case, [(str(c), str(build)) for c in cases], chunksize=4)
    ops = {c.name: case_ops(c)[0] for c in cases}
    return results, ops
