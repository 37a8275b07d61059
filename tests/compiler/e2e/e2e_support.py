"""Helpers of the end-to-end compiler tests: MLIR text generation (TOSA and
linalg-on-tensors), compile with trnx-compile, run with trnx-sim, and numpy /
torch references."""
import json
import re

import numpy as np
import torch

# Tolerances of the issue: fp32 end to end (--auto-cast none) and bf16
# matmul operands (the default auto-cast), relative to max|ref|.
FP32_TOL = 1e-4
BF16_TOL = 3e-2


# --- MLIR text -------------------------------------------------------------

def ttype(shape, dt="f32"):
    """tensor<AxBxf32> (tensor<f32> for rank 0)."""
    return "tensor<" + "".join(f"{d}x" for d in shape) + dt + ">"


def func(args, results, body, name="main"):
    """A func.func; args are (name, type) pairs, results a list of types.
    `body` ends with the return."""
    sig = ", ".join(f"%{n}: {t}" for n, t in args)
    res = ", ".join(results)
    if len(results) != 1:
        res = f"({res})"
    return f"func.func @{name}({sig}) -> {res} {{\n{body}\n}}\n"


def tosa_const(name, value, shape, dt="f32"):
    """%name = "tosa.const" splat of a scalar."""
    v = float_literal(value) if dt.startswith(("f", "bf")) else str(int(value))
    t = ttype(shape, dt)
    return f'  %{name} = "tosa.const"() <{{value = dense<{v}> : {t}}}> : () -> {t}\n'


def float_literal(v):
    """An MLIR float literal (repr, with the '.' MLIR needs before an exponent)."""
    s = repr(float(v))
    if "e" in s and "." not in s:
        s = s.replace("e", ".0e")
    return s


def dense_literal(array, dt="f32"):
    """A nested dense<...> literal of a numpy array."""
    a = np.asarray(array)
    fmt = float_literal if dt.startswith(("f", "bf")) else (lambda v: str(int(v)))

    def nest(x):
        if x.ndim == 0:
            return fmt(x)
        return "[" + ", ".join(nest(y) for y in x) + "]"

    return f"dense<{nest(a)}>"


def tosa_const_array(name, array, dt="f32"):
    a = np.asarray(array)
    t = ttype(a.shape, dt)
    return f'  %{name} = "tosa.const"() <{{value = {dense_literal(a, dt)} : {t}}}> : () -> {t}\n'


def identity_map(rank):
    dims = ", ".join(f"d{i}" for i in range(rank))
    return f"affine_map<({dims}) -> ({dims})>"


def broadcast_map(in_shape, out_shape):
    """Indexing map of an input broadcast (numpy rules, right-aligned) to
    out_shape: missing leading dims are absent from the results, size-1 dims
    that broadcast read index 0 (as torch-mlir writes them)."""
    r = len(out_shape)
    lead = r - len(in_shape)
    dims = ", ".join(f"d{i}" for i in range(r))
    res = []
    for i, s in enumerate(in_shape):
        res.append("0" if (s == 1 and out_shape[lead + i] != 1) else f"d{lead + i}")
    return f"affine_map<({dims}) -> ({', '.join(res)})>"


def linalg_ew(out_name, ins, out_shape, scalar_body, out_dt="f32", in_dts=None, indent="  "):
    """An all-parallel linalg.generic. `ins` are (ssa name, shape); the body
    gets block arguments %x0, %x1, ... and %acc, and `scalar_body` must define
    %y (of out_dt)."""
    in_dts = in_dts or ["f32"] * len(ins)
    r = len(out_shape)
    maps = [broadcast_map(s, out_shape) for _, s in ins] + [identity_map(r)]
    iters = ", ".join(['"parallel"'] * r)
    ins_s = ", ".join(f"%{n}" for n, _ in ins)
    ins_t = ", ".join(ttype(s, d) for (_, s), d in zip(ins, in_dts))
    ot = ttype(out_shape, out_dt)
    args = ", ".join([f"%x{i}: {d}" for i, d in enumerate(in_dts)] + [f"%acc: {out_dt}"])
    body = "\n".join(indent + "  " + l.strip() for l in scalar_body.strip().splitlines())
    ins_clause = f"ins({ins_s} : {ins_t}) " if ins else ""
    return (f"{indent}%{out_name}_init = tensor.empty() : {ot}\n"
            f"{indent}%{out_name} = linalg.generic {{indexing_maps = [{', '.join(maps)}], iterator_types = [{iters}]}} "
            f"{ins_clause}outs(%{out_name}_init : {ot}) {{\n"
            f"{indent}^bb0({args}):\n{body}\n{indent}  linalg.yield %y : {out_dt}\n{indent}}} -> {ot}\n")


def linalg_reduce_generic(out_name, in_name, in_shape, axes, kind, keep_dims=False, indent="  "):
    """A linalg.generic reduction (sum, max or min) over `axes` of an f32 input,
    with its init filled with the identity; keep_dims keeps reduced axes as size 1."""
    r = len(in_shape)
    dims = ", ".join(f"d{i}" for i in range(r))
    out_shape, out_res = [], []
    for i, s in enumerate(in_shape):
        if i in axes:
            if keep_dims:
                out_shape.append(1)
                out_res.append("0")
        else:
            out_shape.append(s)
            out_res.append(f"d{i}")
    ot = ttype(out_shape)
    iters = ", ".join('"reduction"' if i in axes else '"parallel"' for i in range(r))
    ident = {"sum": "0.0", "max": "0xFF800000", "min": "0x7F800000"}[kind]
    comb = {"sum": "arith.addf", "max": "arith.maximumf", "min": "arith.minimumf"}[kind]
    return (f"{indent}%{out_name}_id = arith.constant {ident} : f32\n"
            f"{indent}%{out_name}_e = tensor.empty() : {ot}\n"
            f"{indent}%{out_name}_init = linalg.fill ins(%{out_name}_id : f32) outs(%{out_name}_e : {ot}) -> {ot}\n"
            f"{indent}%{out_name} = linalg.generic {{indexing_maps = [affine_map<({dims}) -> ({dims})>, "
            f"affine_map<({dims}) -> ({', '.join(out_res)})>], iterator_types = [{iters}]}} "
            f"ins(%{in_name} : {ttype(in_shape)}) outs(%{out_name}_init : {ot}) {{\n"
            f"{indent}^bb0(%rin: f32, %racc: f32):\n"
            f"{indent}  %rc = {comb} %rin, %racc : f32\n"
            f"{indent}  linalg.yield %rc : f32\n"
            f"{indent}}} -> {ot}\n"), out_shape


# --- tools -----------------------------------------------------------------

class Model:
    """A compiled program and how to run it."""

    def __init__(self, tools, tmp_path, tnx, chip=None):
        # chip: the chip YAML the program was compiled for (a preset is named in the program).
        self.tools, self.tmp, self.tnx = tools, tmp_path, tnx
        self.chip_args = ["--chip", chip] if chip else []

    def run(self, *inputs, names=None):
        """Functional simulation; inputs in argument order. Returns the outputs out0, out1, ..."""
        args = [self.tnx, "--mode", "functional", "--output-dir", self.tmp / "out", "-q", *self.chip_args]
        for i, a in enumerate(inputs):
            name = names[i] if names else f"arg{i}"
            path = self.tmp / f"in_{name}.npy"
            np.save(path, np.array(a, order="C"))
            args += ["--input", f"{name}={path}"]
        self.tools.run("trnx-sim", *args)
        outs = []
        i = 0
        while (self.tmp / "out" / f"out{i}.npy").exists():
            outs.append(np.load(self.tmp / "out" / f"out{i}.npy"))
            i += 1
        return outs

    def timing(self):
        """Timing-only simulation; returns the report."""
        report = self.tmp / "report.json"
        self.tools.run("trnx-sim", self.tnx, "--mode", "timing", "--report", report, "-q", *self.chip_args)
        return json.loads(report.read_text())

    def header(self):
        return self.tools.run("trnx-objdump", "-h", self.tnx).stdout


def compile_mlir(tools, tmp_path, text, auto_cast="none", target="trn3", name="model", extra=()):
    src = tmp_path / f"{name}.mlir"
    src.write_text(text)
    tnx = tmp_path / f"{name}.tnx"
    tools.run("trnx-compile", src, "--target", target, "--auto-cast", auto_cast, "-o", tnx, *extra)
    return Model(tools, tmp_path, tnx, chip=target if str(target).endswith((".yaml", ".yml")) else None)


def chip_yaml(tmp_path, name="chip", **sections):
    """A chip YAML derived from trn3 with the given overrides, e.g.
    chip_yaml(tmp, pe_array={"dataflow": "is"}); returns its path."""
    import yaml
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"base": sections.pop("base", "trn3"), **sections}))
    return str(path)


def compile_fails(tools, tmp_path, text, name="bad", extra=()):
    """Runs trnx-compile on text expected to be rejected; returns (proc, source path)."""
    src = tmp_path / f"{name}.mlir"
    src.write_text(text)
    proc = tools.run("trnx-compile", src, "--target", "trn3", "-o", tmp_path / f"{name}.tnx", *extra, check=False)
    return proc, src


def cores_used(header):
    """The core count of a program from `trnx-objdump -h`."""
    m = re.search(r"^cores: (\d+)$", header, re.M)
    assert m, header
    return int(m.group(1))


def streams_per_core(header):
    cores = set()
    for m in re.finditer(r"^\s+core (\d+) \w+: \d+$", header, re.M):
        cores.add(int(m.group(1)))
    return cores


# --- references ------------------------------------------------------------

def rand(rng, *shape, scale=1.0, dtype=np.float32):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def bf16(a):
    """Rounds to bf16 (RNE) and back to f32."""
    return torch.tensor(np.asarray(a, dtype=np.float32)).bfloat16().float().numpy()


def fp8e4m3(a):
    """Rounds to fp8 e4m3 (RNE, 3 mantissa bits, subnormals below 2^-6) and back
    to f64. Values must stay within +-448 (no saturation modelled here)."""
    a = np.asarray(a, dtype=np.float64)
    assert np.all(np.abs(a) <= 448), "fp8e4m3 reference: value out of range"
    exponent = np.floor(np.log2(np.maximum(np.abs(a), 2.0 ** -6)))
    quantum = 2.0 ** (exponent - 3)
    return np.round(a / quantum) * quantum


def rel_err(got, ref):
    ref = np.asarray(ref, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    scale = max(float(np.abs(ref).max()), 1e-30)
    return float(np.abs(got - ref).max()) / scale


def assert_close(got, ref, tol):
    err = rel_err(got, ref)
    assert err <= tol, f"relative error {err:.3g} > {tol:g}"


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def gelu_ref(x, approximate="none"):
    return torch.nn.functional.gelu(t64(x), approximate=approximate).numpy()


def softmax_ref(x, axis=-1):
    return torch.softmax(t64(x), dim=axis).numpy()


def layernorm_ref(x, gamma=None, beta=None, eps=1e-5):
    x = t64(x)
    d = x.shape[-1]
    y = torch.nn.functional.layer_norm(x, (d,), None if gamma is None else t64(gamma),
                                       None if beta is None else t64(beta), eps)
    return y.numpy()


def rmsnorm_ref(x, gamma=None, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    return y if gamma is None else y * gamma


def silu_ref(x):
    x = np.asarray(x, dtype=np.float64)
    return x / (1 + np.exp(-x))


def erf_ref(x):
    return torch.special.erf(t64(x)).numpy()
