"""torch exports users bring (issue 16): a small ViT (class token through
expand(B, -1, -1), whose shape chain Constant -> ConstantOfShape -> Mul ->
Equal -> Where folds at import), a BERT-like nn.TransformerEncoderLayer with
src_key_padding_mask, a ResNet basic block, a mixture-of-experts block with
top-2 routing (TopK) and a recurrent model (2-layer bidirectional nn.LSTM
into nn.GRU); each compiled with --auto-cast none and run in the functional
simulator against torch."""
import numpy as np
import pytest

from conftest import relative_error

torch = pytest.importorskip("torch")
nn = torch.nn


class ViT(nn.Module):
    def __init__(self, d=32, patch=4, image=8, channels=3, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(channels, d, patch, stride=patch)
        self.cls = nn.Parameter(torch.randn(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, d))
        self.ln = nn.LayerNorm(d)
        self.fc = nn.Linear(d, d)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], dim=1) + self.pos
        t = t + self.fc(nn.functional.gelu(self.ln(t)))
        return self.head(t[:, 0])


class Bert(nn.Module):
    def __init__(self, d=32, heads=4):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=64, dropout=0.0, batch_first=True)

    def forward(self, x, pad):
        return self.layer(x, src_key_padding_mask=pad)


class ResNetBlock(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.c2, self.b2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        return torch.relu(x + self.b2(self.c2(y)))


class MoE(nn.Module):
    """Top-k routed experts, computed densely (every expert on every token,
    weighted by the renormalised top-k router probabilities: static shapes)."""

    def __init__(self, d=32, hidden=64, experts=4, k=2):
        super().__init__()
        self.k, self.experts = k, experts
        self.router = nn.Linear(d, experts, bias=False)
        self.up = nn.ModuleList(nn.Linear(d, hidden) for _ in range(experts))
        self.down = nn.ModuleList(nn.Linear(hidden, d) for _ in range(experts))

    def forward(self, x):
        probs = self.router(x).softmax(-1)
        weights, chosen = torch.topk(probs, self.k, dim=-1)
        weights = weights / weights.sum(-1, keepdim=True)
        # gate[t, e]: the weight of expert e for token t (0 when not chosen).
        gate = ((chosen.unsqueeze(-1) == torch.arange(self.experts)).float() * weights.unsqueeze(-1)).sum(-2)
        out = torch.zeros_like(x)
        for e in range(self.experts):
            out = out + gate[..., e:e + 1] * self.down[e](nn.functional.gelu(self.up[e](x)))
        return out


class Recurrent(nn.Module):
    def __init__(self, features=8, hidden=16, classes=5):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(2 * hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        y, _ = self.lstm(x)
        y, h = self.gru(y)
        return self.head(y[:, -1]) + self.head(h[0])


def run_model(tools, tmp_path, model, args, names):
    model.eval()
    path = tmp_path / "m.onnx"
    # Exported with autograd on: under no_grad, nn.TransformerEncoderLayer takes its fused
    # fast path (aten::_transformer_encoder_layer_fwd), which torch cannot export.
    torch.onnx.export(model, args, str(path), opset_version=17, input_names=names, output_names=["y"])
    with torch.no_grad():
        ref = model(*args).numpy()
    prog = tmp_path / "m.tnx"
    tools.run("trnx-compile", path, "--auto-cast", "none", "-o", prog)
    feeds = []
    for name, a in zip(names, args):
        f = tmp_path / f"{name}.npy"
        np.save(f, a.numpy())
        feeds += ["--input", f"{name}={f}"]
    tools.run("trnx-sim", prog, "--mode", "functional", "--output-dir", tmp_path / "out", "-q", *feeds)
    return np.load(tmp_path / "out" / "y.npy"), ref


def test_vit_class_token_expand(tools, tmp_path):
    torch.manual_seed(0)
    got, ref = run_model(tools, tmp_path, ViT(), (torch.randn(2, 3, 8, 8),), ["x"])
    assert got.shape == ref.shape and relative_error(got, ref) <= 1e-4


def test_transformer_encoder_layer_with_padding_mask(tools, tmp_path):
    torch.manual_seed(1)
    pad = torch.zeros(2, 8, dtype=torch.bool)
    pad[1, 5:] = True  # the second sequence has 3 padding tokens
    got, ref = run_model(tools, tmp_path, Bert(), (torch.randn(2, 8, 32), pad), ["x", "pad"])
    assert got.shape == ref.shape and relative_error(got, ref) <= 1e-4


def test_resnet_basic_block(tools, tmp_path):
    torch.manual_seed(2)
    model = ResNetBlock()
    for b in (model.b1, model.b2):  # non-trivial running statistics
        b.running_mean.uniform_(-0.5, 0.5)
        b.running_var.uniform_(0.5, 2.0)
    got, ref = run_model(tools, tmp_path, model, (torch.randn(2, 8, 8, 8),), ["x"])
    assert got.shape == ref.shape and relative_error(got, ref) <= 1e-4


def test_moe_top2_routing(tools, tmp_path):
    torch.manual_seed(3)
    got, ref = run_model(tools, tmp_path, MoE(), (torch.randn(2, 8, 32),), ["x"])
    assert got.shape == ref.shape and relative_error(got, ref) <= 1e-4


def test_lstm_gru(tools, tmp_path):
    torch.manual_seed(4)
    got, ref = run_model(tools, tmp_path, Recurrent(), (torch.randn(3, 12, 8),), ["x"])
    assert got.shape == ref.shape and relative_error(got, ref) <= 1e-4
