"""ONNX's own backend node tests, generated from Debian's python3-onnx, run
through trnx-compile + trnx-sim: shared by the conformance test and
scripts/onnx-conformance-report.py (which writes the table of docs/onnx.md).

Two adaptations, both about what must be known at compile time (trnx compiles
static shapes), never about results:
- a graph input consumed where the importer needs a value at compile time
  (COMPILE_TIME_INPUTS: a Reshape's shape, Slice's starts, ...) becomes an
  initializer holding the test's data (as onnx-mlir's CONSTANT_INPUT does);
- an input with a dynamic dimension gets --shape from the test's data.
The tests are run in batches (see BATCH_SIZE); every result is still that of
the test on its own.
"""
import pathlib
import re
import subprocess
import sys
import tempfile
import time

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
    "ReduceLogSumExp": {1}, "TopK": {1},
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


TIMEOUT_SECONDS = 120


def _run(cmd):
    """The finished process, or None when it ran out of time (a result, not
    an exception: one slow test must not stop the suite)."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return None


def run_case(args):
    """Compiles and runs one node test; returns (name, status, detail, seconds)."""
    start = time.monotonic()
    return (*_run_case(args), time.monotonic() - start)


def _compile_cmd(build, path, prog, shapes):
    cmd = [str(build / "compiler" / "trnx-compile"), str(path), "--target", "trn3", "--auto-cast", "none", "-o",
           str(prog)]
    for name, shape in shapes.items():
        cmd += ["--shape", f"{name}=" + ",".join(str(d) for d in shape)]
    return cmd


def _compile_failure(proc):
    """(status, message) of a failed trnx-compile."""
    err = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
    crashed = proc.returncode < 0 or "PLEASE submit" in proc.stderr
    return ("crash" if crashed else ("unsupported" if "not supported" in err else "fail")), err


def _simulate(build, prog, feeds, tmp):
    """Runs prog on feeds (name -> array); returns the output directory, or
    (status, message) when trnx-sim fails."""
    args = [str(build / "simulator" / "trnx-sim"), str(prog), "--mode", "functional", "--output-dir",
            str(tmp / "out"), "-q"]
    for i, (name, arr) in enumerate(feeds.items()):
        np.save(tmp / f"in{i}.npy", _sim_array(arr))
        args += ["--input", f"{name}={tmp / f'in{i}.npy'}"]
    proc = _run(args)
    if proc is None:
        return "fail", f"trnx-sim took more than {TIMEOUT_SECONDS} s"
    if proc.returncode != 0:
        return "crash" if proc.returncode < 0 else "fail", proc.stderr.strip()[-300:]
    return tmp / "out"


def _mismatch(name, got_path, ref):
    """None when the output matches the reference (ONNX's default
    tolerances), else the message."""
    got = np.load(got_path)
    if got.shape != ref.shape:
        return f"output {name}: shape {got.shape}, expected {ref.shape}"
    try:
        if ref.dtype == np.bool_:
            np.testing.assert_array_equal(got.astype(np.int64), ref.astype(np.int64))
        else:
            np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=1e-3, atol=1e-7)
    except AssertionError as e:
        lines = str(e).strip().splitlines()
        return f"output {name}: " + lines[0 if len(lines) < 4 else 3]
    return None


def _safe(name):
    return "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in name)


class _Case:
    """One node test as the runner needs it: the model with compile-time
    inputs frozen, its feeds, --shape values and reference outputs (the
    first data set; ONNX 1.12's node tests have one each)."""

    def __init__(self, path: pathlib.Path):
        import onnx
        self.path = path
        self.name = path.name
        model = onnx.load(str(path / "model.onnx"), load_external_data=False)
        _, inputs, outputs = case_ops(path)
        in_vi = {i.name: i for i in model.graph.input}
        out_vi = {o.name: o for o in model.graph.output}
        ds = sorted(path.glob("test_data_set_*"))
        self.data_sets = len(ds)
        ds = ds[0] if ds else path
        data = {name: load_tensor(ds / f"input_{i}.pb", _elem_type(in_vi[name])) for i, name in enumerate(inputs)
                if (ds / f"input_{i}.pb").exists() and in_vi[name].type.HasField("tensor_type")}
        frozen = compile_time_inputs(model)
        self.frozen = bool(frozen)
        self.model = _freeze(model, {n: data[n] for n in frozen if n in data}) if frozen else model
        self.feeds = {n: a for n, a in data.items() if n not in frozen}
        self.shapes = {n: a.shape for n, a in self.feeds.items() if _dynamic(in_vi[n])}
        self.refs = {name: load_tensor(ds / f"output_{i}.pb", _elem_type(out_vi[name]))
                     for i, name in enumerate(outputs)
                     if (ds / f"output_{i}.pb").exists() and out_vi[name].type.HasField("tensor_type")}
        self.complete = len(self.feeds) + len(frozen & set(data)) == len(inputs) and len(self.refs) == len(outputs)
        self.opsets = tuple(sorted((o.domain or "ai.onnx", o.version) for o in model.opset_import))
        self.ops = sorted({((n.domain or "ai.onnx"), n.op_type) for n in model.graph.node})
        self.batchable = self.complete and self.data_sets == 1 and not any(
            a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
            for n in model.graph.node for a in n.attribute)


def _run_case(args):
    case, build = pathlib.Path(args[0]), pathlib.Path(args[1])
    import onnx
    model = onnx.load(str(case / "model.onnx"), load_external_data=False)
    _, inputs, outputs = case_ops(case)
    frozen = compile_time_inputs(model)
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
                shapes = {n: data[n].shape for n in inputs if n not in frozen and n in data and _dynamic(in_vi[n])}
                proc = _run(_compile_cmd(build, path, prog, shapes))
                if proc is None:
                    return case.name, "fail", f"trnx-compile took more than {TIMEOUT_SECONDS} s"
                if proc.returncode != 0:
                    return (case.name, *_compile_failure(proc))
            out = _simulate(build, prog, {n: data[n] for n in inputs if n not in frozen and n in data}, tmp)
            if isinstance(out, tuple):
                return (case.name, *out)
            for i, name in enumerate(outputs):
                ref = load_tensor(ds / f"output_{i}.pb", _elem_type(out_vi[name]))
                message = _mismatch(name, out / f"{_safe(name)}.npy", ref)
                if message:
                    return case.name, "fail", message
    return case.name, "pass", ""


# --- batches -----------------------------------------------------------------
# Starting trnx-compile and trnx-sim costs more than compiling a node test, so
# the suite (1) finds the operators the importer does not support with one
# small probe model per opset (the importer reports the first unsupported
# node before anything else), and (2) compiles and runs the remaining tests
# BATCH_SIZE at a time as one model (each test's names prefixed; the tests
# share nothing). A test that does not pass in its batch, and every test of a
# batch that fails to compile or run, is run again on its own, so a result is
# always that of the test alone.
BATCH_SIZE = 24


def _probe_unsupported(build, opsets, ops, tmp):
    """The (domain, op) pairs of ops that trnx-compile reports as not
    supported in a model importing opsets, with the message of each."""
    import onnx
    from onnx import helper
    left = list(ops)
    found = {}
    while left:
        nodes = [helper.make_node(op, [], [f"v{i}"], name=f"probe{i}", domain="" if d == "ai.onnx" else d)
                 for i, (d, op) in enumerate(left)]
        graph = helper.make_graph(nodes, "probe", [], [helper.make_tensor_value_info("v0", onnx.TensorProto.FLOAT,
                                                                                     [1])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("" if d == "ai.onnx" else d, v)
                                                        for d, v in opsets])
        path = tmp / "probe.onnx"
        onnx.save(model, str(path))
        proc = _run(_compile_cmd(build, path, tmp / "probe.tnx", {}))
        err = proc.stderr.strip() if proc is not None else ""
        match = re.search(r"node 'probe(\d+)' \((.*) is not supported$", err)
        if proc is None or proc.returncode == 0 or not match:
            break
        found[left[int(match.group(1))]] = match.group(2)
        del left[int(match.group(1))]
    return found


def _merged(cases):
    """One model holding every case, names prefixed c<k>_."""
    import onnx
    from onnx import helper
    graph = onnx.GraphProto(name="batch")
    ir = 3
    for k, case in enumerate(cases):
        prefix = f"c{k}_"
        g = case.model.graph
        ir = max(ir, case.model.ir_version)

        def rename(n, prefix=prefix):
            return prefix + n if n else n
        for vi, dest in ((g.input, graph.input), (g.output, graph.output)):
            for v in vi:
                c = dest.add()
                c.CopyFrom(v)
                c.name = rename(v.name)
        for t in g.initializer:
            c = graph.initializer.add()
            c.CopyFrom(t)
            c.name = rename(t.name)
        for n in g.node:
            c = graph.node.add()
            c.CopyFrom(n)
            c.name = rename(n.name or n.op_type)
            c.input[:] = [rename(x) for x in n.input]
            c.output[:] = [rename(x) for x in n.output]
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("" if d == "ai.onnx" else d, v)
                                                    for d, v in cases[0].opsets])
    model.ir_version = ir
    return model


def _run_batch(args):
    """Results of a batch of case paths (see BATCH_SIZE)."""
    paths, build = [pathlib.Path(p) for p in args[0]], pathlib.Path(args[1])
    import onnx
    cases = [_Case(p) for p in paths]
    results, again = {}, []
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        onnx.save(_merged(cases), str(tmp / "batch.onnx"))
        shapes = {f"c{k}_{n}": s for k, c in enumerate(cases) for n, s in c.shapes.items()}
        proc = _run(_compile_cmd(build, tmp / "batch.onnx", tmp / "batch.tnx", shapes))
        out = None
        if proc is not None and proc.returncode == 0:
            out = _simulate(build, tmp / "batch.tnx",
                            {f"c{k}_{n}": a for k, c in enumerate(cases) for n, a in c.feeds.items()}, tmp)
        if out is None or isinstance(out, tuple):
            again = cases
        else:
            for k, c in enumerate(cases):
                if any(_mismatch(n, out / f"{_safe(f'c{k}_{n}')}.npy", ref) for n, ref in c.refs.items()):
                    again.append(c)
                else:
                    results[c.name] = "pass"
    seconds = (time.monotonic() - start) / len(cases)
    passed = [(c.name, "pass", "", seconds) for c in cases if c.name in results]
    return passed + [run_case((str(c.path), str(build))) for c in again]


def run_all(build: pathlib.Path, cache: pathlib.Path, jobs: int = 2, batch: bool = True):
    """Results (name, status, detail, seconds) of every node test, and the
    operators of each."""
    from multiprocessing import Pool
    node = generate(cache)
    paths = sorted(p for p in node.iterdir() if (p / "model.onnx").exists())
    ops = {c.name: case_ops(c)[0] for c in paths}
    if not batch:
        with Pool(jobs) as pool:
            return pool.map(run_case, [(str(c), str(build)) for c in paths], chunksize=4), ops
    import collections
    cases = [_Case(p) for p in paths]
    results, single, groups = [], [], collections.defaultdict(list)
    by_opsets = collections.defaultdict(set)
    for c in cases:
        by_opsets[c.opsets].update(c.ops)
    with tempfile.TemporaryDirectory() as tmp:
        probes = []
        for i, (opsets, group_ops) in enumerate(by_opsets.items()):
            (pathlib.Path(tmp) / str(i)).mkdir()
            probes.append((build, opsets, sorted(group_ops), pathlib.Path(tmp) / str(i)))
        with Pool(jobs) as pool:
            found = pool.starmap(_probe_unsupported, probes)
    unsupported = dict(zip(by_opsets, found))
    for c in cases:
        bad = [n for n in c.model.graph.node if ((n.domain or "ai.onnx"), n.op_type) in unsupported[c.opsets]]
        if bad:
            what = unsupported[c.opsets][((bad[0].domain or "ai.onnx"), bad[0].op_type)]
            results.append((c.name, "unsupported", f"error: {c.path / 'model.onnx'}: node "
                            f"'{bad[0].name or bad[0].op_type}' ({what} is not supported", 0.0))
        elif c.batchable:
            groups[c.opsets].append(c.path)
        else:
            single.append(c.path)
    work = [(sub, build) for group in groups.values() for sub in
            (group[i:i + BATCH_SIZE] for i in range(0, len(group), BATCH_SIZE))]
    with Pool(jobs) as pool:
        batched = pool.map(_run_batch, [([str(p) for p in paths_], str(build)) for paths_, build in work],
                           chunksize=1)
        results += pool.map(run_case, [(str(c), str(build)) for c in single])
    for r in batched:
        results += r
    return sorted(results), ops


# --- the conformance section of docs/onnx.md -----------------------------------
DOC_BEGIN = "<!-- conformance: begin (scripts/onnx-conformance-report.py --update docs/onnx.md) -->"
DOC_END = "<!-- conformance: end -->"
STATUSES = ["pass", "fail", "unsupported", "crash"]


def load_known_failures(path: pathlib.Path):
    import json
    return {k: v for k, v in json.loads(path.read_text()).items() if not k.startswith("_")}


def conformance_markdown(results, ops, known):
    """The generated section of docs/onnx.md: counts over every node test and
    over the tests of required operators, and each required-operator test
    that does not pass with its reason from known_failures.json."""
    import collections
    import onnx
    status = {name: s for name, s, *_ in results}
    required = sorted(n for n in ops if set(ops[n]) <= REQUIRED_OPS)

    def row(label, statuses):
        c = collections.Counter(statuses)
        return f"| {label} | " + " | ".join(str(c[s]) for s in STATUSES) + f" | {len(statuses)} |"

    lines = [f"ONNX backend node tests of onnx {onnx.__version__} (opsets up to {onnx.defs.onnx_opset_version()}), "
             "each compiled with `--auto-cast none` for trn3 and run in the functional simulator:", "",
             "| node tests | pass | fail | unsupported | crash | total |", "|---|---|---|---|---|---|",
             row("all", list(status.values())), row("whose operators are all required", [status[n] for n in required]),
             "", "Tests of required operators that do not pass (`tests/compiler/onnx/known_failures.json`):", "",
             "| node test | operators | result | reason |", "|---|---|---|---|"]
    for name in required:
        if status[name] != "pass":
            reason = known.get(name, "**not listed in known_failures.json**")
            lines.append(f"| {name} | {', '.join(ops[name])} | {status[name]} | {reason} |")
    return "\n".join(lines) + "\n"


def doc_section(text):
    """The generated section of docs/onnx.md's text (between the markers)."""
    begin, end = text.find(DOC_BEGIN), text.find(DOC_END)
    if begin < 0 or end < begin:
        return None
    return text[begin + len(DOC_BEGIN):end].strip("\n") + "\n"


def with_doc_section(text, section):
    begin, end = text.index(DOC_BEGIN), text.index(DOC_END)
    return text[:begin + len(DOC_BEGIN)] + "\n" + section + text[end:]
