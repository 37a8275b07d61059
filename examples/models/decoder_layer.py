"""Inputs and a float64 numpy reference of decoder_layer.mlir (a GPT-2-style
decoder layer, batch 1, 128 tokens, d_model 256, 4 heads, MLP 1024).

    decoder_layer.py inputs DIR         writes DIR/<name>.npy for every argument
    decoder_layer.py check OUT.npy DIR  prints max |out - ref| / max |ref|

Used by scripts/demo.sh and tests/examples/test_demo_model.py."""
import pathlib
import sys

import numpy as np

SEQ, D, HEADS, FFN = 128, 256, 4, 1024
DH = D // HEADS

# Argument names (trnx.name in decoder_layer.mlir) and shapes, in order.
ARGS = {
    "x": (1, SEQ, D), "mask": (1, SEQ, SEQ),
    "ln1_g": (1, 1, D), "ln1_b": (1, 1, D), "w_qkv": (1, D, 3 * D), "b_qkv": (1, 1, 3 * D),
    "w_o": (1, D, D), "b_o": (1, 1, D), "ln2_g": (1, 1, D), "ln2_b": (1, 1, D),
    "w_fc": (1, D, FFN), "b_fc": (1, 1, FFN), "w_proj": (1, FFN, D), "b_proj": (1, 1, D),
}


def make_inputs(seed=0):
    """Activations ~ N(0, 1); weights scaled by 1/sqrt(fan_in) so every stage
    carries signal; LayerNorm scales near 1; a causal additive mask."""
    rng = np.random.default_rng(seed)
    p = {}
    for name, shape in ARGS.items():
        if name.startswith("w_"):
            p[name] = rng.standard_normal(shape) / np.sqrt(shape[1])
        elif name.endswith("_g"):
            p[name] = 1 + 0.1 * rng.standard_normal(shape)
        elif name.startswith(("b_", "ln")):
            p[name] = 0.1 * rng.standard_normal(shape)
        elif name == "mask":
            p[name] = np.triu(np.full((SEQ, SEQ), -1e9), 1)[None]
        else:
            p[name] = rng.standard_normal(shape)
    return {k: v.astype(np.float32) for k, v in p.items()}


def layernorm(x, g, b, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * g + b


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def reference(inputs):
    """The layer in float64: out = h + MLP(LN2(h)), h = x + Attn(LN1(x))."""
    p = {k: v.astype(np.float64) for k, v in inputs.items()}
    x = p["x"][0]
    a = layernorm(x, p["ln1_g"][0], p["ln1_b"][0])
    qkv = a @ p["w_qkv"][0] + p["b_qkv"][0]
    q, k, v = (qkv[:, i * D:(i + 1) * D].reshape(SEQ, HEADS, DH).transpose(1, 0, 2) for i in range(3))
    probs = softmax(q @ k.transpose(0, 2, 1) / np.sqrt(DH) + p["mask"])
    ctx = (probs @ v).transpose(1, 0, 2).reshape(SEQ, D)
    h = x + ctx @ p["w_o"][0] + p["b_o"][0]
    m = layernorm(h, p["ln2_g"][0], p["ln2_b"][0])
    out = h + gelu_tanh(m @ p["w_fc"][0] + p["b_fc"][0]) @ p["w_proj"][0] + p["b_proj"][0]
    return out[None]


def relative_error(got, ref):
    return float(np.abs(np.asarray(got, np.float64) - ref).max() / np.abs(ref).max())


def main(argv):
    if len(argv) == 3 and argv[1] == "inputs":
        out = pathlib.Path(argv[2])
        out.mkdir(parents=True, exist_ok=True)
        for name, value in make_inputs().items():
            np.save(out / f"{name}.npy", value)
        return 0
    if len(argv) == 4 and argv[1] == "check":
        inputs = {name: np.load(pathlib.Path(argv[3]) / f"{name}.npy") for name in ARGS}
        print(f"{relative_error(np.load(argv[2]), reference(inputs)):.3e}")
        return 0
    print(__doc__, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
