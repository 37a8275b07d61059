"""RNN, GRU and LSTM (OnnxRecurrent.cpp) unrolled over the sequence,
compiled and run in the functional simulator against a numpy transcription
of the ONNX operator definitions: forward, reverse and bidirectional, with
and without B, initial_h/initial_c, peepholes, sequence_lens, layout 1,
GRU's linear_before_reset 0 and 1, other activations and clip. (torch's
exports of nn.GRU / nn.LSTM are tested in test_torch_common_models.py.)"""
import numpy as np
import pytest

from conftest import assert_one_error_line
from test_onnx_ops import RNG, randn, run_model

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
DEFAULT_ACTS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


FNS = {"Tanh": np.tanh, "Sigmoid": sigmoid, "Relu": lambda x: np.maximum(x, 0),
       "LeakyRelu": lambda x: np.where(x > 0, x, 0.01 * x), "Softsign": lambda x: x / (1 + np.abs(x)),
       "HardSigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1)}


def reference(op, x, w, r, b=None, lens=None, h0=None, c0=None, p=None, direction="forward", lbr=0, acts=None,
              clip=None):
    """Y [seq, dirs, batch, hidden], Y_h and Y_c [dirs, batch, hidden] (layout 0)."""
    seq, batch, _ = x.shape
    dirs, hidden = w.shape[0], r.shape[2]
    acts = acts or DEFAULT_ACTS[op] * dirs
    per = len(DEFAULT_ACTS[op])
    x64 = x.astype(np.float64)
    ys, hs, cs = np.zeros((seq, dirs, batch, hidden)), [], []
    for d in range(dirs):
        def fn(name):
            return lambda v: FNS[name](np.clip(v, -clip, clip) if clip else v)
        f, g, hh = [fn(a) for a in acts[d * per:(d + 1) * per]] + [None] * (3 - per)
        wd, rd = w[d].astype(np.float64), r[d].astype(np.float64)
        bd = b[d].astype(np.float64) if b is not None else np.zeros(2 * GATES[op] * hidden)
        wb, rb = np.split(bd, 2)
        h = h0[d].astype(np.float64) if h0 is not None else np.zeros((batch, hidden))
        c = c0[d].astype(np.float64) if c0 is not None else np.zeros((batch, hidden))
        reverse = direction == "reverse" or d == 1
        for t in (range(seq - 1, -1, -1) if reverse else range(seq)):
            xt = x64[t]
            gx = xt @ wd.T + wb
            gh = h @ rd.T + rb
            if op == "RNN":
                hn, cn = f(gx + gh), c
            elif op == "GRU":
                H = hidden
                z = f(gx[:, :H] + gh[:, :H])
                rr = f(gx[:, H:2 * H] + gh[:, H:2 * H])
                if lbr:
                    cand = g(gx[:, 2 * H:] + rr * gh[:, 2 * H:])
                else:
                    cand = g(gx[:, 2 * H:] + (rr * h) @ rd[2 * H:].T + rb[2 * H:])
                hn, cn = (1 - z) * cand + z * h, c
            else:
                H = hidden
                pi, po, pf = np.split(p[d].astype(np.float64), 3) if p is not None else (0, 0, 0)
                i = f(gx[:, :H] + gh[:, :H] + pi * c)
                fg = f(gx[:, 2 * H:3 * H] + gh[:, 2 * H:3 * H] + pf * c)
                cn = fg * c + i * g(gx[:, 3 * H:] + gh[:, 3 * H:])
                o = f(gx[:, H:2 * H] + gh[:, H:2 * H] + po * cn)
                hn = o * hh(cn)
            valid = (np.ones(batch, bool) if lens is None else t < lens)[:, None]
            ys[t, d] = np.where(valid, hn, 0)
            h, c = np.where(valid, hn, h), np.where(valid, cn, c)
        hs.append(h)
        cs.append(c)
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    return f32(ys), f32(np.stack(hs)), f32(np.stack(cs))


def build(op, seq=5, batch=3, inp=4, hidden=6, dirs=1, bias=True, init=False, peep=False, lens=None):
    g = GATES[op]
    arrays = {"X": randn(seq, batch, inp), "W": randn(dirs, g * hidden, inp) * 0.5,
              "R": randn(dirs, g * hidden, hidden) * 0.5}
    if bias:
        arrays["B"] = randn(dirs, 2 * g * hidden) * 0.5
    if lens is not None:
        arrays["sequence_lens"] = np.array(lens, np.int32)
    if init:
        arrays["initial_h"] = randn(dirs, batch, hidden)
        if op == "LSTM":
            arrays["initial_c"] = randn(dirs, batch, hidden)
    if peep:
        arrays["P"] = randn(dirs, 3 * hidden) * 0.5
    return arrays


def inputs_of(op, arrays):
    order = ["X", "W", "R", "B", "sequence_lens", "initial_h"] + (["initial_c", "P"] if op == "LSTM" else [])
    names = [n if n in arrays else "" for n in order]
    while names and not names[-1]:
        names.pop()
    return names


def check(tools, tmp_path, op, arrays, weights_as_inits=True, layout=0, **attrs):
    ref_kwargs = dict(b=arrays.get("B"), lens=arrays.get("sequence_lens"), h0=arrays.get("initial_h"),
                      c0=arrays.get("initial_c"), p=arrays.get("P"), direction=attrs.get("direction", "forward"),
                      lbr=attrs.get("linear_before_reset", 0), acts=attrs.get("activations"), clip=attrs.get("clip"))
    y, yh, yc = reference(op, arrays["X"], arrays["W"], arrays["R"], **ref_kwargs)
    feeds = dict(arrays)
    if layout == 1:
        feeds["X"] = arrays["X"].transpose(1, 0, 2).copy()
        for n in ("initial_h", "initial_c"):
            if n in feeds:
                feeds[n] = arrays[n].transpose(1, 0, 2).copy()
        y, yh, yc = y.transpose(2, 0, 1, 3), yh.transpose(1, 0, 2), yc.transpose(1, 0, 2)
        attrs["layout"] = 1
    outputs = {"Y": y, "Y_h": yh}
    if op == "LSTM":
        outputs["Y_c"] = yc
    node = helper.make_node(op, inputs_of(op, arrays), list(outputs), hidden_size=arrays["R"].shape[2], **attrs)
    inits = {n: feeds.pop(n) for n in ("W", "R", "B", "P") if n in feeds} if weights_as_inits else {}
    if "sequence_lens" in feeds:
        feeds["sequence_lens"] = feeds["sequence_lens"].astype(np.int64)
        node.input[4] = "lens32"  # the operator's type; the test feeds int64
        cast = helper.make_node("Cast", ["sequence_lens"], ["lens32"], to=TensorProto.INT32)
        nodes = [cast, node]
    else:
        nodes = [node]
    run_model(tools, tmp_path, nodes, feeds, outputs, inits, opset=14)


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_directions(tools, tmp_path, op, direction):
    dirs = 2 if direction == "bidirectional" else 1
    check(tools, tmp_path, op, build(op, dirs=dirs, init=True), direction=direction)


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_no_bias_no_initial_state_runtime_weights(tools, tmp_path, op):
    check(tools, tmp_path, op, build(op, bias=False), weights_as_inits=False)


@pytest.mark.parametrize("lbr", [0, 1])
def test_gru_linear_before_reset(tools, tmp_path, lbr):
    check(tools, tmp_path, "GRU", build("GRU", dirs=2, init=True), direction="bidirectional", linear_before_reset=lbr)


def test_lstm_peepholes(tools, tmp_path):
    check(tools, tmp_path, "LSTM", build("LSTM", init=True, peep=True))


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_sequence_lens_bidirectional(tools, tmp_path, op):
    """Entries shorter than the sequence: the state is held past each length
    and Y is zero there; the reverse direction starts at each entry's end."""
    check(tools, tmp_path, op, build(op, dirs=2, init=True, lens=[5, 2, 3]), direction="bidirectional")


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_layout_batch_first(tools, tmp_path, op):
    check(tools, tmp_path, op, build(op, dirs=2, init=True), layout=1, direction="bidirectional")


def test_activations_and_clip(tools, tmp_path):
    check(tools, tmp_path, "LSTM", build("LSTM"), activations=["HardSigmoid", "Softsign", "Relu"], clip=1.5)
    (tmp_path / "gru").mkdir()
    check(tools, tmp_path / "gru", "GRU", build("GRU", dirs=2), direction="bidirectional",
          activations=["Sigmoid", "Tanh", "Sigmoid", "LeakyRelu"])


def test_long_sequence(tools, tmp_path):
    check(tools, tmp_path, "LSTM", build("LSTM", seq=40, batch=2, inp=8, hidden=16, init=True))


@pytest.mark.parametrize("attrs,message", [
    (dict(input_forget=1), "input_forget=1 (coupled input and forget gates) is not supported"),
    (dict(activations=["Sigmoid", "Gelu", "Tanh"]), "activation 'gelu' is not supported"),
    (dict(hidden_size=5), "W and R must be [1, 20, 4] and [1, 20, 5] for 1 direction(s) and hidden_size 5"),
])
def test_errors(tools, tmp_path, attrs, message):
    attrs.setdefault("hidden_size", 6)
    graph = helper.make_graph([helper.make_node("LSTM", ["X", "W", "R"], ["Y"], name="encoder", **attrs)], "g",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [5, 3, 4])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
                              [helper.make_tensor("W", TensorProto.FLOAT, [1, 24, 4], np.zeros(96)),
                               helper.make_tensor("R", TensorProto.FLOAT, [1, 24, 6], np.zeros(144))])
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), str(path))
    proc = tools.run("trnx-compile", path, "-o", tmp_path / "bad.tnx", check=False)
    assert_one_error_line(proc)
    assert f"node 'encoder' (LSTM): {message}" in proc.stderr, proc.stderr
