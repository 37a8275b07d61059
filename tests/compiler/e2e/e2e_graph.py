"""A small graph builder that writes the same computation as TOSA or as
linalg-on-tensors, the way exporters do: TOSA with equal-rank broadcasting,
keep-dims reductions and reciprocal+mul for division; linalg with
linalg.generic bodies (broadcasts as constant-0 map results, keep-dims
reductions as torch-mlir writes them), linalg.matmul / batch_matmul, tensor
reshapes. Values are numpy-like shapes; `Graph.text()` gives the func."""
import numpy as np

from e2e_support import dense_literal, float_literal, ttype


class V:
    def __init__(self, name, shape, dt="f32"):
        self.name, self.shape, self.dt = name, tuple(shape), dt

    @property
    def type(self):
        return ttype(self.shape, self.dt)

    def __repr__(self):
        return f"%{self.name}: {self.type}"


def _dims(r):
    return ", ".join(f"d{i}" for i in range(r))


def _map(in_shape, out_shape):
    r = len(out_shape)
    lead = r - len(in_shape)
    res = ["0" if (s == 1 and out_shape[lead + i] != 1) else f"d{lead + i}" for i, s in enumerate(in_shape)]
    return f"affine_map<({_dims(r)}) -> ({', '.join(res)})>"


LINALG_UNARY = {
    "exp": "%y = math.exp %x0 : f32",
    "log": "%y = math.log %x0 : f32",
    "tanh": "%y = math.tanh %x0 : f32",
    "erf": "%y = math.erf %x0 : f32",
    "rsqrt": "%y = math.rsqrt %x0 : f32",
    "sqrt": "%y = math.sqrt %x0 : f32",
    "abs": "%y = math.absf %x0 : f32",
    "negate": "%y = arith.negf %x0 : f32",
    "reciprocal": "%one = arith.constant 1.0 : f32\n%y = arith.divf %one, %x0 : f32",
    "sigmoid": ("%one = arith.constant 1.0 : f32\n%n = arith.negf %x0 : f32\n%e = math.exp %n : f32\n"
                "%d = arith.addf %one, %e : f32\n%y = arith.divf %one, %d : f32"),
}
LINALG_BINARY = {"add": "arith.addf", "sub": "arith.subf", "mul": "arith.mulf", "div": "arith.divf",
                 "max": "arith.maximumf", "min": "arith.minimumf", "pow": "math.powf"}
TOSA_BINARY = {"add": "tosa.add", "sub": "tosa.sub", "max": "tosa.maximum", "min": "tosa.minimum", "pow": "tosa.pow"}


class Compositions:
    """Models and composites written once over primitive ops (unary, binary,
    reduce, matmul, transpose, reshape, gather, scalar): Graph writes them as
    MLIR, Reference computes them in float64."""

    def add(self, a, b):
        return self.binary("add", a, b)

    def sub(self, a, b):
        return self.binary("sub", a, b)

    def mul(self, a, b):
        return self.binary("mul", a, b)

    def div(self, a, b):
        return self.binary("div", a, b)

    def muls(self, a, c):
        return self.mul(a, self.scalar(c, len(a.shape)))

    def adds(self, a, c):
        return self.add(a, self.scalar(c, len(a.shape)))

    def exp(self, a):
        return self.unary("exp", a)

    def mean(self, a, axis):
        """reduce_sum * 1/D, how exporters write mean."""
        return self.muls(self.reduce("sum", a, axis), 1.0 / a.shape[axis])

    # --- compositions exporters produce -------------------------------------
    def softmax(self, x, axis=-1):
        m = self.reduce("max", x, axis)
        e = self.exp(self.sub(x, m))
        s = self.reduce("sum", e, axis)
        return self.mul(e, self.unary("reciprocal", s)) if self.form == "tosa" else self.div(e, s)

    def layernorm(self, x, gamma=None, beta=None, eps=1e-5):
        mean = self.mean(x, -1)
        c = self.sub(x, mean)
        var = self.mean(self.mul(c, c), -1)
        inv = self.unary("rsqrt", self.adds(var, eps))
        y = self.mul(c, inv)
        if gamma is not None:
            y = self.mul(y, gamma)
        if beta is not None:
            y = self.add(y, beta)
        return y

    def rmsnorm(self, x, gamma=None, eps=1e-6):
        ms = self.mean(self.mul(x, x), -1)
        y = self.mul(x, self.unary("rsqrt", self.adds(ms, eps)))
        return y if gamma is None else self.mul(y, gamma)

    def gelu_erf(self, x):
        r = len(x.shape)
        t = self.unary("erf", self.muls(x, 0.7071067811865476))
        return self.mul(self.mul(x, self.scalar(0.5, r)), self.adds(t, 1.0))

    def gelu_tanh(self, x):
        r = len(x.shape)
        x3 = self.mul(self.mul(x, x), x)
        inner = self.muls(self.add(x, self.muls(x3, 0.044715)), 0.7978845608028654)
        return self.mul(self.muls(x, 0.5), self.add(self.scalar(1.0, r), self.unary("tanh", inner)))

    def silu(self, x):
        return self.mul(x, self.unary("sigmoid", x))


class Reference(Compositions):
    """The same primitives in float64 numpy (torch for erf)."""
    form = "reference"

    def input(self, array):
        a = np.asarray(array)
        return a.astype(np.float64) if a.dtype.kind == "f" else a

    weight = input

    def const(self, array, dt="f32"):
        return self.input(array)

    def scalar(self, value, rank):
        return np.full((1,) * rank, float(value))

    def unary(self, op, a):
        import torch
        fns = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "rsqrt": lambda x: 1 / np.sqrt(x), "sqrt": np.sqrt,
               "abs": np.abs, "negate": np.negative, "reciprocal": lambda x: 1 / x,
               "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "erf": lambda x: torch.special.erf(torch.tensor(x)).numpy()}
        return fns[op](a)

    def binary(self, op, a, b):
        fns = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "max": np.maximum,
               "min": np.minimum, "pow": np.power}
        return fns[op](a, b)

    def reduce(self, kind, a, axis):
        return {"sum": np.sum, "max": np.max, "min": np.min}[kind](a, axis=axis, keepdims=True)

    def transpose(self, a, perm):
        return np.transpose(a, perm)

    def reshape(self, a, shape):
        return np.reshape(a, shape)

    def matmul(self, a, b):
        return np.matmul(a, b)

    def gather(self, table, ids):
        return table[ids]


class Graph(Compositions):
    def __init__(self, form, weights="args"):
        """weights: "args" (weights are function arguments) or "const" (dense constants)."""
        assert form in ("tosa", "linalg")
        self.form, self.weights = form, weights
        self.args, self.lines, self.n = [], [], 0
        self.inputs = []  # the arrays of the arguments (see input())

    def input(self, array):
        """An argument holding `array` at run time."""
        a = np.asarray(array)
        dt = {np.dtype(np.float32): "f32", np.dtype(np.int32): "i32", np.dtype(np.int64): "i64"}[a.dtype]
        self.inputs.append(a)
        return self.arg(*a.shape, dt=dt)

    def weight(self, array):
        return self.input(array) if self.weights == "args" else self.const(np.asarray(array, dtype=np.float32))

    # --- plumbing -----------------------------------------------------------
    def _new(self, shape, dt="f32"):
        self.n += 1
        return V(f"v{self.n}", shape, dt)

    def emit(self, line):
        self.lines.append("  " + line)

    def arg(self, *shape, dt="f32"):
        v = V(f"arg{len(self.args)}", shape, dt)
        self.args.append(v)
        return v

    def text(self, *results, name="main"):
        sig = ", ".join(repr(a) for a in self.args)
        res = ", ".join(r.type for r in results)
        if len(results) != 1:
            res = f"({res})"
        body = "\n".join(self.lines)
        ret = f"  return {', '.join('%' + r.name for r in results)} : {', '.join(r.type for r in results)}"
        return f"func.func @{name}({sig}) -> {res} {{\n{body}\n{ret}\n}}\n"

    # --- constants ----------------------------------------------------------
    def const(self, array, dt="f32"):
        a = np.asarray(array)
        v = self._new(a.shape, dt)
        lit = dense_literal(a, dt)
        if self.form == "tosa":
            self.emit(f'%{v.name} = "tosa.const"() <{{value = {lit} : {v.type}}}> : () -> {v.type}')
        else:
            self.emit(f"%{v.name} = arith.constant {lit} : {v.type}")
        return v

    def scalar(self, value, rank):
        """A splat constant of shape [1] * rank (TOSA broadcasting needs equal ranks)."""
        v = self._new((1,) * rank)
        lit = f"dense<{float_literal(value)}>"
        if self.form == "tosa":
            self.emit(f'%{v.name} = "tosa.const"() <{{value = {lit} : {v.type}}}> : () -> {v.type}')
        else:
            self.emit(f"%{v.name} = arith.constant {lit} : {v.type}")
        return v

    # --- elementwise --------------------------------------------------------
    def _generic(self, ins, out_shape, body, out_dt="f32"):
        v = self._new(out_shape, out_dt)
        r = len(out_shape)
        maps = [_map(i.shape, out_shape) for i in ins] + [f"affine_map<({_dims(r)}) -> ({_dims(r)})>"]
        iters = ", ".join(['"parallel"'] * r)
        args = ", ".join([f"%x{i}: {x.dt}" for i, x in enumerate(ins)] + [f"%acc: {out_dt}"])
        self.emit(f"%{v.name}_e = tensor.empty() : {v.type}")
        ins_clause = ""
        if ins:
            ins_clause = f"ins({', '.join('%' + i.name for i in ins)} : {', '.join(i.type for i in ins)}) "
        self.emit(f"%{v.name} = linalg.generic {{indexing_maps = [{', '.join(maps)}], iterator_types = [{iters}]}} "
                  f"{ins_clause}outs(%{v.name}_e : {v.type}) {{")
        self.emit(f"^bb0({args}):")
        for l in body.strip().splitlines():
            self.emit("  " + l.strip())
        self.emit(f"  linalg.yield %y : {out_dt}")
        self.emit(f"}} -> {v.type}")
        return v

    def unary(self, op, a):
        if self.form == "linalg":
            return self._generic([a], a.shape, LINALG_UNARY[op])
        v = self._new(a.shape)
        self.emit(f"%{v.name} = tosa.{op} %{a.name} : ({a.type}) -> {v.type}")
        return v

    def binary(self, op, a, b):
        out = tuple(np.broadcast_shapes(a.shape, b.shape))
        if self.form == "linalg":
            return self._generic([a, b], out, f"%y = {LINALG_BINARY[op]} %x0, %x1 : f32")
        assert len(a.shape) == len(b.shape), "TOSA broadcasting needs equal ranks"
        if op == "div":
            return self.binary("mul", a, self.unary("reciprocal", b))
        v = self._new(out)
        if op == "mul":
            self.emit(f"%{v.name} = tosa.mul %{a.name}, %{b.name} {{shift = 0 : i8}} : ({a.type}, {b.type}) -> {v.type}")
        else:
            self.emit(f"%{v.name} = {TOSA_BINARY[op]} %{a.name}, %{b.name} : ({a.type}, {b.type}) -> {v.type}")
        return v

    # --- reductions ---------------------------------------------------------
    def reduce(self, kind, a, axis):
        """Keep-dims reduction over one axis."""
        axis %= len(a.shape)
        out = tuple(1 if i == axis else s for i, s in enumerate(a.shape))
        v = self._new(out)
        if self.form == "tosa":
            self.emit(f"%{v.name} = tosa.reduce_{kind} %{a.name} {{axis = {axis} : i32}} : ({a.type}) -> {v.type}")
            return v
        r = len(a.shape)
        ident = {"sum": "0.0", "max": "0xFF800000", "min": "0x7F800000"}[kind]
        comb = {"sum": "arith.addf", "max": "arith.maximumf", "min": "arith.minimumf"}[kind]
        res = ", ".join("0" if i == axis else f"d{i}" for i in range(r))
        iters = ", ".join('"reduction"' if i == axis else '"parallel"' for i in range(r))
        self.emit(f"%{v.name}_c = arith.constant {ident} : f32")
        self.emit(f"%{v.name}_e = tensor.empty() : {v.type}")
        self.emit(f"%{v.name}_f = linalg.fill ins(%{v.name}_c : f32) outs(%{v.name}_e : {v.type}) -> {v.type}")
        self.emit(f"%{v.name} = linalg.generic {{indexing_maps = [affine_map<({_dims(r)}) -> ({_dims(r)})>, "
                  f"affine_map<({_dims(r)}) -> ({res})>], iterator_types = [{iters}]}} "
                  f"ins(%{a.name} : {a.type}) outs(%{v.name}_f : {v.type}) {{")
        self.emit("^bb0(%in: f32, %out: f32):")
        self.emit(f"  %y = {comb} %in, %out : f32")
        self.emit("  linalg.yield %y : f32")
        self.emit(f"}} -> {v.type}")
        return v

    # --- data movement ------------------------------------------------------
    def transpose(self, a, perm):
        out = tuple(a.shape[p] for p in perm)
        v = self._new(out, a.dt)
        if self.form == "tosa":
            p = self.const(np.asarray(perm), "i32")
            self.emit(f"%{v.name} = tosa.transpose %{a.name}, %{p.name} : ({a.type}, {p.type}) -> {v.type}")
        else:
            self.emit(f"%{v.name}_e = tensor.empty() : {v.type}")
            self.emit(f"%{v.name} = linalg.transpose ins(%{a.name} : {a.type}) outs(%{v.name}_e : {v.type}) "
                      f"permutation = [{', '.join(map(str, perm))}]")
        return v

    def reshape(self, a, shape):
        shape = tuple(shape)
        assert np.prod(shape) == np.prod(a.shape)
        if shape == a.shape:
            return a
        v = self._new(shape, a.dt)
        if self.form == "tosa":
            self.emit(f"%{v.name} = tosa.reshape %{a.name} {{new_shape = array<i64: {', '.join(map(str, shape))}>}} : "
                      f"({a.type}) -> {v.type}")
            return v
        groups = _reassociation(a.shape, shape)
        if groups is not None and len(shape) > len(a.shape):
            self.emit(f"%{v.name} = tensor.expand_shape %{a.name} {groups} output_shape "
                      f"[{', '.join(map(str, shape))}] : {a.type} into {v.type}")
        elif groups is not None:
            self.emit(f"%{v.name} = tensor.collapse_shape %{a.name} {groups} : {a.type} into {v.type}")
        else:
            flat = V(f"{v.name}_flat", (int(np.prod(shape)),), a.dt)
            self.emit(f"%{flat.name} = tensor.collapse_shape %{a.name} [{list(range(len(a.shape)))}] : "
                      f"{a.type} into {flat.type}")
            self.emit(f"%{v.name} = tensor.expand_shape %{flat.name} [{list(range(len(shape)))}] output_shape "
                      f"[{', '.join(map(str, shape))}] : {flat.type} into {v.type}")
        return v

    # --- contractions -------------------------------------------------------
    def matmul(self, a, b):
        """[..., M, K] @ [..., K, N] for rank 2 or 3 (equal batch)."""
        assert len(a.shape) == len(b.shape) and len(a.shape) in (2, 3)
        if self.form == "tosa" and len(a.shape) == 2:
            return self.reshape(self.matmul(self.reshape(a, (1,) + a.shape), self.reshape(b, (1,) + b.shape)),
                                (a.shape[0], b.shape[1]))
        out = a.shape[:-1] + b.shape[-1:]
        v = self._new(out)
        if self.form == "tosa":
            self.emit(f"%{v.name} = tosa.matmul %{a.name}, %{b.name} : ({a.type}, {b.type}) -> {v.type}")
            return v
        op = "matmul" if len(out) == 2 else "batch_matmul"
        self.emit(f"%{v.name}_z = arith.constant 0.0 : f32")
        self.emit(f"%{v.name}_e = tensor.empty() : {v.type}")
        self.emit(f"%{v.name}_f = linalg.fill ins(%{v.name}_z : f32) outs(%{v.name}_e : {v.type}) -> {v.type}")
        self.emit(f"%{v.name} = linalg.{op} ins(%{a.name}, %{b.name} : {a.type}, {b.type}) "
                  f"outs(%{v.name}_f : {v.type}) -> {v.type}")
        return v

    def gather(self, table, ids):
        """Embedding lookup: table [V, D], ids [S] (i32) -> [S, D]."""
        (n,) = ids.shape
        vocab, d = table.shape
        if self.form == "tosa":
            t3 = self.reshape(table, (1, vocab, d))
            i2 = self.reshape(ids, (1, n))
            v = self._new((1, n, d))
            self.emit(f"%{v.name} = tosa.gather %{t3.name}, %{i2.name} : ({t3.type}, {i2.type}) -> {v.type}")
            return self.reshape(v, (n, d))
        v = self._new((n, d))
        self.emit(f"%{v.name}_e = tensor.empty() : {v.type}")
        self.emit(f"%{v.name} = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0)>, "
                  f"affine_map<(d0, d1) -> (d0, d1)>], iterator_types = [\"parallel\", \"parallel\"]}} "
                  f"ins(%{ids.name} : {ids.type}) outs(%{v.name}_e : {v.type}) {{")
        self.emit(f"^bb0(%id: {ids.dt}, %o: f32):")
        self.emit(f"  %row = arith.index_cast %id : {ids.dt} to index")
        self.emit("  %col = linalg.index 1 : index")
        self.emit(f"  %y = tensor.extract %{table.name}[%row, %col] : {table.type}")
        self.emit("  linalg.yield %y : f32")
        self.emit(f"}} -> {v.type}")
        return v

def _reassociation(src, dst):
    """Groups of src dims (collapse) or dst dims (expand) when one shape refines the other."""
    small, big = (src, dst) if len(src) <= len(dst) else (dst, src)
    groups, j = [], 0
    for s in small:
        g, p = [], 1
        while j < len(big) and (p < s or (p == s and not g)):
            p *= big[j]
            g.append(j)
            j += 1
        # trailing unit dims join the last group
        if p != s:
            return None
        groups.append(g)
    while j < len(big) and big[j] == 1 and groups:
        groups[-1].append(j)
        j += 1
    if j != len(big) or not groups:
        return None
    return "[" + ", ".join("[" + ", ".join(map(str, g)) + "]" for g in groups) + "]"


# --- models ------------------------------------------------------------------
# Each takes a backend (Graph or Reference) and a dict of numpy parameters and
# returns the output value; weights go through o.weight, activations o.input.

def mlp(o, p):
    """x @ W1 + b1 -> GELU -> @ W2 + b2."""
    x = o.input(p["x"])
    h = o.gelu_erf(o.add(o.matmul(x, o.weight(p["w1"])), o.weight(p["b1"])))
    return o.add(o.matmul(h, o.weight(p["w2"])), o.weight(p["b2"]))


def attention(o, x, p, prefix, heads, mask=None):
    """Multi-head self-attention: QK^T/sqrt(d), softmax, xV, head reshapes and transposes."""
    s, d = x.shape
    dh = d // heads
    q = o.matmul(x, o.weight(p[prefix + "wq"]))
    k = o.matmul(x, o.weight(p[prefix + "wk"]))
    v = o.matmul(x, o.weight(p[prefix + "wv"]))
    qh = o.transpose(o.reshape(q, (s, heads, dh)), (1, 0, 2))   # [H, S, Dh]
    kt = o.transpose(o.reshape(k, (s, heads, dh)), (1, 2, 0))   # [H, Dh, S]
    vh = o.transpose(o.reshape(v, (s, heads, dh)), (1, 0, 2))   # [H, S, Dh]
    scores = o.muls(o.matmul(qh, kt), 1.0 / np.sqrt(dh))         # [H, S, S]
    if mask is not None:
        scores = o.add(scores, mask)
    probs = o.softmax(scores, -1)
    ctx = o.reshape(o.transpose(o.matmul(probs, vh), (1, 0, 2)), (s, d))
    return o.matmul(ctx, o.weight(p[prefix + "wo"]))


def attention_block(o, p, heads=4):
    x = o.input(p["x"])
    return attention(o, x, p, "", heads)


def layernorm_block(o, p):
    """Post-LN residual block: LN(x + (GELU(x @ W1 + b1) @ W2 + b2)) * gamma + beta."""
    x = o.input(p["x"])
    h = o.gelu_tanh(o.add(o.matmul(x, o.weight(p["w1"])), o.weight(p["b1"])))
    h = o.add(o.matmul(h, o.weight(p["w2"])), o.weight(p["b2"]))
    return o.layernorm(o.add(x, h), o.weight(p["gamma"]), o.weight(p["beta"]))


def swiglu_ffn(o, x, p, prefix):
    h = o.rmsnorm(x, o.weight(p[prefix + "norm"]))
    gate = o.silu(o.matmul(h, o.weight(p[prefix + "wg"])))
    up = o.matmul(h, o.weight(p[prefix + "wu"]))
    return o.add(x, o.matmul(o.mul(gate, up), o.weight(p[prefix + "wd"])))


def rmsnorm_swiglu(o, p):
    """x + (SiLU(RMSNorm(x) @ Wg) * (RMSNorm(x) @ Wu)) @ Wd."""
    return swiglu_ffn(o, o.input(p["x"]), p, "")


def decoder(o, p, layers=2, heads=4):
    """Embedding lookup, then pre-norm decoder layers (causal attention, SwiGLU FFN), final norm, logits."""
    ids = o.input(p["ids"])
    x = o.gather(o.weight(p["embed"]), ids)
    mask = o.weight(p["mask"])
    for layer in range(layers):
        pre = f"l{layer}_"
        x = o.add(x, attention(o, o.rmsnorm(x, o.weight(p[pre + "attn_norm"])), p, pre, heads, mask))
        x = swiglu_ffn(o, x, p, pre)
    x = o.rmsnorm(x, o.weight(p["final_norm"]))
    return o.matmul(x, o.weight(p["lm_head"]))
