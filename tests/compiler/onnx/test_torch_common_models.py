"""torch exports users bring (issue 16): a small ViT (class token through
expand(B, -1, -1), whose shape chain Constant -> ConstantOfShape -> Mul ->
Equal -> Where folds at import), a BERT-like nn.TransformerEncoderLayer with
src_key_padding_mask, and a ResNet basic block; each compiled with
--auto-cast none and run in the functional simulator against torch."""
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
