"""Models exported by torch.onnx.export (opset 17) inside the test, compiled by
trnx-compile and run in the functional simulator, against torch's outputs:
fp32 (--auto-cast none) within 1e-4 of max|ref|, trnx-compile's default
auto-cast (bf16 matmuls) within 3e-2. Also: graph input/output names, external data, and a
dynamic batch given with --shape."""
import math

import numpy as np
import pytest

from conftest import assert_one_error_line, relative_error

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
nn = torch.nn

# --auto-cast none, and trnx-compile's default auto-cast (no flag).
TOLERANCE = {"none": 1e-4, "default": 3e-2}


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(32, 64), nn.Linear(64, 64), nn.Linear(64, 10)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(nn.functional.gelu(self.fc1(x)))))


class Attention(nn.Module):
    """Pre-LayerNorm multi-head self-attention with a residual connection."""

    def __init__(self, d=32, heads=4, causal=False, block=16):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.ln = nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.register_buffer("mask", torch.tril(torch.ones(block, block)).view(1, 1, block, block))

    def forward(self, x):
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln(x)).split(D, dim=2)
        q, k, v = (t.view(B, T, self.heads, D // self.heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // self.heads))
        if self.causal:
            att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
        y = torch.softmax(att, dim=-1) @ v
        return x + self.proj(y.transpose(1, 2).reshape(B, T, D))


class Block(nn.Module):
    def __init__(self, d, heads, block):
        super().__init__()
        self.attn = Attention(d, heads, causal=True, block=block)
        self.ln = nn.LayerNorm(d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        x = self.attn(x)
        return x + self.out(nn.functional.gelu(self.fc(self.ln(x))))


class GPT(nn.Module):
    """A 2-layer GPT-2-style decoder: token + position embeddings, causal
    attention, GELU MLP, final LayerNorm and LM head."""

    def __init__(self, vocab=64, d=32, heads=4, layers=2, block=16):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(block, d)
        self.blocks = nn.ModuleList([Block(d, heads, block) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, tokens):
        T = tokens.shape[1]
        x = self.tok(tokens) + self.pos(torch.arange(T, dtype=torch.long))
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln(x))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.c2, self.bn2 = nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.c1(x))), 2)
        x = nn.functional.avg_pool2d(torch.relu(self.bn2(self.c2(x))), 2)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


def _randomize_batchnorm(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


def _models():
    torch.manual_seed(0)
    cnn = CNN()
    _randomize_batchnorm(cnn)
    return {
        # name: (model, example inputs, input names, output names, export options)
        "mlp": (MLP(), (torch.randn(4, 32),), ["x"], ["y"], {}),
        "attention": (Attention(), (torch.randn(2, 8, 32),), ["hidden"], ["attn.out:0"], {}),
        "gpt": (GPT(), (torch.randint(0, 64, (2, 12)),), ["tokens"], ["logits"], {}),
        # PRESERVE keeps BatchNormalization nodes (EVAL folds them into the convs).
        "cnn": (cnn, (torch.randn(2, 3, 16, 16),), ["image"], ["logits"],
                {"training": torch.onnx.TrainingMode.PRESERVE}),
    }


def _export(model, args, path, inputs, outputs, **options):
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, args, str(path), opset_version=17, input_names=inputs, output_names=outputs,
                          **options)
    return path


def _sanitize(name):
    return "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in name)


def _compile_and_run(tools, tmp, model_path, feeds, outputs, auto_cast="none", extra=()):
    prog = tmp / f"{model_path.stem}-{auto_cast}.tnx"
    cast = () if auto_cast == "default" else ("--auto-cast", auto_cast)
    tools.run("trnx-compile", model_path, "--target", "trn3", *cast, "-o", prog, *extra)
    args = []
    for name, arr in feeds.items():
        f = tmp / f"{_sanitize(name)}.npy"
        np.save(f, arr)
        args += ["--input", f"{name}={f}"]
    out = tmp / f"out-{model_path.stem}-{auto_cast}"
    tools.run("trnx-sim", prog, "--mode", "functional", "--output-dir", out, "-q", *args)
    return {name: np.load(out / f"{_sanitize(name)}.npy") for name in outputs}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("torch")
    out = {}
    for name, (model, args, inputs, outputs, options) in _models().items():
        path = _export(model, args, tmp / f"{name}.onnx", inputs, outputs, **options)
        with torch.no_grad():
            ref = model(*args).numpy()
        out[name] = (path, {n: a.numpy() for n, a in zip(inputs, args)}, outputs, ref)
    return out


@pytest.mark.parametrize("auto_cast", ["none", "default"])
@pytest.mark.parametrize("name", ["mlp", "attention", "gpt", "cnn"])
def test_model_matches_torch(tools, tmp_path, exported, name, auto_cast):
    path, feeds, outputs, ref = exported[name]
    got = _compile_and_run(tools, tmp_path, path, feeds, outputs, auto_cast)[outputs[0]]
    assert got.shape == ref.shape
    err = relative_error(got, ref)
    print(f"{name} ({auto_cast}): relative error {err:.3g}")
    assert err <= TOLERANCE[auto_cast], f"{name} ({auto_cast}): relative error {err:.3g}"


def test_exported_operators(exported):
    """The exports exercise what they claim to (the model zoo of the front end)."""
    ops = {name: {n.op_type for n in onnx.load(str(path)).graph.node} for name, (path, *_) in exported.items()}
    assert {"LayerNormalization", "Softmax", "MatMul", "Transpose", "Split"} <= ops["attention"]
    assert {"Gather", "Where", "Erf", "LayerNormalization", "Softmax"} <= ops["gpt"]
    assert {"Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm"} <= ops["cnn"]
    assert {"Gemm", "Erf", "Relu"} <= ops["mlp"]


def test_graph_names_are_kept(tools, tmp_path, exported):
    """Program tensors carry the ONNX input and output names."""
    path, feeds, outputs, _ = exported["attention"]
    prog = tmp_path / "attention.tnx"
    tools.run("trnx-compile", path, "--auto-cast", "none", "-o", prog)
    summary = tools.run("trnx-objdump", "-h", prog).stdout
    assert "hidden" in summary and "attn.out:0" in summary
    # trnx-sim takes the ONNX input name and writes DIR/<sanitised output name>.npy.
    np.save(tmp_path / "h.npy", feeds["hidden"])
    tools.run("trnx-sim", prog, "--mode", "functional", "--input", f"hidden={tmp_path / 'h.npy'}", "--output-dir",
              tmp_path / "out", "-q")
    assert (tmp_path / "out" / "attn.out_0.npy").exists()


def test_external_data(tools, tmp_path):
    torch.manual_seed(1)
    model = MLP()
    x = torch.randn(4, 32)
    plain = _export(model, (x,), tmp_path / "plain.onnx", ["x"], ["y"])
    ext_dir = tmp_path / "ext"
    ext_dir.mkdir()
    m = onnx.load(str(plain))
    onnx.save_model(m, str(ext_dir / "mlp.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="mlp.weights", size_threshold=0)
    assert (ext_dir / "mlp.weights").stat().st_size > 4 * 32 * 64
    assert (ext_dir / "mlp.onnx").stat().st_size < 4096
    with torch.no_grad():
        ref = model(x).numpy()
    got = _compile_and_run(tools, tmp_path, ext_dir / "mlp.onnx", {"x": x.numpy()}, ["y"])["y"]
    assert relative_error(got, ref) <= 1e-4
    # Without the data file: one error line naming it.
    (ext_dir / "mlp.weights").unlink()
    proc = tools.run("trnx-compile", ext_dir / "mlp.onnx", "-o", tmp_path / "x.tnx", check=False)
    assert_one_error_line(proc)
    assert "mlp.weights" in proc.stderr


def test_dynamic_batch_with_shape(tools, tmp_path):
    torch.manual_seed(2)
    model = MLP()
    path = _export(model, (torch.randn(2, 32),), tmp_path / "dyn.onnx", ["x"], ["y"],
                   dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    dims = [d.dim_param or d.dim_value for d in onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 32]
    # No --shape: one error line saying how to give it.
    proc = tools.run("trnx-compile", path, "-o", tmp_path / "x.tnx", check=False)
    assert_one_error_line(proc)
    assert "--shape x=" in proc.stderr and "'batch'" in proc.stderr
    x = torch.randn(5, 32)
    with torch.no_grad():
        ref = model(x).numpy()
    got = _compile_and_run(tools, tmp_path, path, {"x": x.numpy()}, ["y"], extra=("--shape", "x=5,32"))["y"]
    assert got.shape == (5, 10)
    assert relative_error(got, ref) <= 1e-4
    # --shape naming something that is not a graph input, or disagreeing with a fixed dim.
    for spec, message in [("y=5,10", "not an input"), ("fc1.weight=64,32", "not an input"),
                          ("x=5,16", "fixes it to 32"), ("x=5", "dims")]:
        proc = tools.run("trnx-compile", path, "--shape", spec, "-o", tmp_path / "x.tnx", check=False)
        assert_one_error_line(proc)
        assert message in proc.stderr, (spec, proc.stderr)


def test_weights_as_args(tools, tmp_path, exported):
    """--weights-as-args: the initializers become weight tensors (named as in
    the model) without data, so the program is small; it still runs."""
    path, feeds, outputs, _ = exported["mlp"]
    with_data, shape_only = tmp_path / "data.tnx", tmp_path / "shape.tnx"
    tools.run("trnx-compile", path, "-o", with_data)
    tools.run("trnx-compile", path, "--weights-as-args", "-o", shape_only)
    assert shape_only.stat().st_size * 4 < with_data.stat().st_size
    summary = tools.run("trnx-objdump", "-h", shape_only).stdout
    assert "fc1.weight weight fp32 [64,32]" in summary and "x input fp32 [4,32]" in summary
    np.save(tmp_path / "x.npy", feeds["x"])
    tools.run("trnx-sim", shape_only, "--input", f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out", "-q")
    assert np.load(tmp_path / "out" / "y.npy").shape == (4, 10)


class BertLayerNorm(nn.Module):
    """LayerNorm as the original BERT code writes it: (x - u) / sqrt(var + eps)."""

    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        u = x.mean(-1, keepdim=True)
        s = (x - u).pow(2).mean(-1, keepdim=True)
        return self.weight * ((x - u) / torch.sqrt(s + 1e-12)) + self.bias


def test_layernorm_written_with_a_division_is_one_layernorm(tools, tmp_path):
    torch.manual_seed(3)
    model, x = BertLayerNorm(96), torch.randn(3, 7, 96) * 2 + 1
    path = _export(model, (x,), tmp_path / "bert_ln.onnx", ["x"], ["y"])
    trn = tools.run("trnx-compile", path, "--target", "trn3", "--auto-cast", "none", "--emit=trn").stdout
    assert trn.count("trn.layernorm") == 1 and "trn.reduce" not in trn, trn
    with torch.no_grad():
        ref = model(x).numpy()
    got = _compile_and_run(tools, tmp_path, path, {"x": x.numpy()}, ["y"])["y"]
    assert relative_error(got, ref) <= TOLERANCE["none"]
