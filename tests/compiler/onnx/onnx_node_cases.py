"""ONNX's own backend node tests, generated from Debian's python3-onnx, run
through trnx-compile + trnx-sim: shared by the conformance test and
scripts/onnx-conformance-report.py (which writes the table of docs/onnx.md)."""
import json
import os
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
    return sorted({n.op_type for n in model.graph.node}), [i.name for i in model.graph.input], \
        [o.name for o in model.graph.output]


def run_case(args):
    """Compiles and runs one node test; returns (name, status, detail)."""
    case, build = pathlib.Path(args[0]), pathlib.Path(args[1])
    import onnx
    from onnx import numpy_helper
    ops, inputs, outputs = case_ops(case)
    compile_tool = build / "compiler" / "trnx-compile"
    sim = build / "simulator" / "trnx-sim"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        prog = tmp / "model.tnx"
        proc = subprocess.run([str(compile_tool), str(case / "model.onnx"), "--target", "trn3", "--auto-cast", "none",
                               "-o", str(prog)], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            err = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            crashed = proc.returncode < 0 or "PLEASE submit" in proc.stderr
            status = "crash" if crashed else ("unsupported" if "not supported" in err else "fail")
            return case.name, status, err
        data_sets = sorted(case.glob("test_data_set_*"))
        for ds in data_sets:
            args = [str(sim), str(prog), "--mode", "functional", "--output-dir", str(tmp / "out"), "-q"]
            for i, name in enumerate(inputs):
                f = ds / f"input_{i}.pb"
                if not f.exists():
                    continue
                t = onnx.TensorProto()
                t.ParseFromString(f.read_bytes())
                arr = numpy_helper.to_array(t)
                if arr.dtype == np.float64:
                    arr = arr.astype(np.float32)
                np.save(tmp / f"in{i}.npy", arr)
                args += ["--input", f"{name}={tmp / f'in{i}.npy'}"]
            proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
            if proc.returncode != 0:
                return case.name, "crash" if proc.returncode < 0 else "fail", proc.stderr.strip()[-300:]
            for i, name in enumerate(outputs):
                t = onnx.TensorProto()
                t.ParseFromString((ds / f"output_{i}.pb").read_bytes())
                ref = numpy_helper.to_array(t)
                safe = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in name)
                got = np.load(tmp / "out" / f"{safe}.npy")
                try:
                    if ref.dtype == np.bool_:
                        np.testing.assert_array_equal(got.astype(bool), ref)
                    else:
                        np.testing.assert_allclose(got.astype(np.float64).reshape(ref.shape),
                                                   ref.astype(np.float64), rtol=1e-3, atol=1e-7)
                except AssertionError as e:
                    return case.name, "fail", f"output {name}: " + str(e).strip().splitlines()[0 if len(str(e).strip().splitlines()) < 4 else 3]
                except ValueError as e:
                    return case.name, "fail", f"output {name}: {e}"
    return case.name, "pass", ""


def run_all(build: pathlib.Path, cache: pathlib.Path, jobs: int = 2):
    from multiprocessing import Pool
    node = generate(cache)
    cases = sorted(p for p in node.iterdir() if (p / "model.onnx").exists())
    with Pool(jobs) as pool:
        results = pool.map(run_case, [(str(c), str(build)) for c in cases], chunksize=4)
    ops = {c.name: case_ops(c)[0] for c in cases}
    return results, ops
