"""Elementwise operators, in TOSA form and in linalg-on-tensors form (a
linalg.generic, and the named linalg op where one exists), compiled with
--auto-cast none and checked against numpy within 1e-4 of max|ref|."""
import numpy as np
import pytest
from e2e_support import FP32_TOL, assert_close, bf16, compile_mlir, erf_ref, func, linalg_ew, rand, ttype

SHAPE = (7, 130)

# name: (arity, input domain, numpy reference, TOSA body, linalg.generic scalar body, named linalg op or None)
# TOSA bodies use %a, %b (inputs) and T (the tensor type) and define %r.
UNARY = {
    "negate": ("any", lambda x: -x, "%r = tosa.negate %a : (T) -> T", "%y = arith.negf %x0 : f32", "negf"),
    "abs": ("any", np.abs, "%r = tosa.abs %a : (T) -> T", "%y = math.absf %x0 : f32", "abs"),
    "exp": ("any", np.exp, "%r = tosa.exp %a : (T) -> T", "%y = math.exp %x0 : f32", "exp"),
    "log": ("pos", np.log, "%r = tosa.log %a : (T) -> T", "%y = math.log %x0 : f32", "log"),
    "tanh": ("any", np.tanh, "%r = tosa.tanh %a : (T) -> T", "%y = math.tanh %x0 : f32", "tanh"),
    "sigmoid": ("any", lambda x: 1 / (1 + np.exp(-x)), "%r = tosa.sigmoid %a : (T) -> T",
                """%one = arith.constant 1.0 : f32
                   %n = arith.negf %x0 : f32
                   %e = math.exp %n : f32
                   %d = arith.addf %one, %e : f32
                   %y = arith.divf %one, %d : f32""", None),
    "erf": ("any", erf_ref, "%r = tosa.erf %a : (T) -> T", "%y = math.erf %x0 : f32", "erf"),
    "reciprocal": ("nonzero", lambda x: 1 / x, "%r = tosa.reciprocal %a : (T) -> T",
                   """%one = arith.constant 1.0 : f32
                      %y = arith.divf %one, %x0 : f32""", "reciprocal"),
    "rsqrt": ("pos", lambda x: 1 / np.sqrt(x), "%r = tosa.rsqrt %a : (T) -> T", "%y = math.rsqrt %x0 : f32", "rsqrt"),
    "sqrt": ("pos", np.sqrt, """%h = "tosa.const"() <{value = dense<0.5> : T1}> : () -> T1
        %r = tosa.pow %a, %h : (T, T1) -> T""", "%y = math.sqrt %x0 : f32", "sqrt"),
    "square": ("any", np.square, "%r = tosa.mul %a, %a {shift = 0 : i8} : (T, T) -> T",
               "%y = arith.mulf %x0, %x0 : f32", "square"),
    "pow3": ("any", lambda x: x ** 3, """%p = "tosa.const"() <{value = dense<3.0> : T1}> : () -> T1
        %r = tosa.pow %a, %p : (T, T1) -> T""", """%p = arith.constant 3.0 : f32
        %y = math.powf %x0, %p : f32""", None),
    "pow_1_5": ("pos", lambda x: x ** 1.5, """%p = "tosa.const"() <{value = dense<1.5> : T1}> : () -> T1
        %r = tosa.pow %a, %p : (T, T1) -> T""", """%p = arith.constant 1.5 : f32
        %y = math.powf %x0, %p : f32""", None),
    "pow_m2": ("nonzero", lambda x: x ** -2.0, """%p = "tosa.const"() <{value = dense<-2.0> : T1}> : () -> T1
        %r = tosa.pow %a, %p : (T, T1) -> T""", """%p = arith.constant -2.0 : f32
        %y = math.powf %x0, %p : f32""", None),
    "relu": ("any", lambda x: np.maximum(x, 0),
             "%r = tosa.clamp %a {min_fp = 0.0 : f32, max_fp = 3.40282347E+38 : f32, min_int = 0 : i64, "
             "max_int = 2147483647 : i64} : (T) -> T",
             """%z = arith.constant 0.0 : f32
                %y = arith.maximumf %x0, %z : f32""", None),
    "clamp": ("any", lambda x: np.clip(x, -0.5, 0.75),
              "%r = tosa.clamp %a {min_fp = -0.5 : f32, max_fp = 0.75 : f32, min_int = 0 : i64, "
              "max_int = 1 : i64} : (T) -> T",
              """%lo = arith.constant -0.5 : f32
                 %hi = arith.constant 0.75 : f32
                 %m = arith.maximumf %x0, %lo : f32
                 %y = arith.minimumf %m, %hi : f32""", None),
}

BINARY = {
    "add": (np.add, "%r = tosa.add %a, %b : (T, T) -> T", "%y = arith.addf %x0, %x1 : f32", "add"),
    "sub": (np.subtract, "%r = tosa.sub %a, %b : (T, T) -> T", "%y = arith.subf %x0, %x1 : f32", "sub"),
    "mul": (np.multiply, "%r = tosa.mul %a, %b {shift = 0 : i8} : (T, T) -> T", "%y = arith.mulf %x0, %x1 : f32",
            "mul"),
    "div": (np.divide, """%rb = tosa.reciprocal %b : (T) -> T
        %r = tosa.mul %a, %rb {shift = 0 : i8} : (T, T) -> T""", "%y = arith.divf %x0, %x1 : f32", "div"),
    "max": (np.maximum, "%r = tosa.maximum %a, %b : (T, T) -> T", "%y = arith.maximumf %x0, %x1 : f32", "max"),
    "min": (np.minimum, "%r = tosa.minimum %a, %b : (T, T) -> T", "%y = arith.minimumf %x0, %x1 : f32", "min"),
}


def sample(rng, domain, shape):
    x = rand(rng, *shape, scale=2.0)
    if domain == "pos":
        return np.abs(x) + 0.1
    if domain == "nonzero":
        return np.where(np.abs(x) < 0.2, 0.2 * np.sign(x) + (x == 0) * 0.2, x).astype(np.float32)
    return x


def tosa_text(body, shapes, out_shape):
    t = ttype(out_shape)
    t1 = ttype([1] * len(out_shape))
    args = [(n, ttype(s)) for n, s in zip("ab", shapes)]
    text = "\n".join("  " + l.strip() for l in body.splitlines())
    text = text.replace("T1", t1).replace("T", t)
    return func(args, [t], f"{text}\n  return %r : {t}")


def generic_text(body, shapes, out_shape):
    t = ttype(out_shape)
    args = [(n, ttype(s)) for n, s in zip("ab", shapes)]
    ins = list(zip("ab", shapes))
    return func(args, [t], linalg_ew("r", ins, out_shape, body) + f"  return %r : {t}")


def named_text(op, shapes, out_shape):
    t = ttype(out_shape)
    args = [(n, ttype(s)) for n, s in zip("ab", shapes)]
    ins = ", ".join(f"%{n}" for n, _ in args)
    ins_t = ", ".join(ty for _, ty in args)
    return func(args, [t], f"  %e = tensor.empty() : {t}\n"
                           f"  %r = linalg.{op} ins({ins} : {ins_t}) outs(%e : {t}) -> {t}\n"
                           f"  return %r : {t}")


def forms(named):
    return ["tosa", "generic"] + (["named"] if named else [])


UNARY_CASES = [pytest.param(name, form, id=f"{name}-{form}")
               for name, case in UNARY.items() for form in forms(case[-1])]
BINARY_CASES = [pytest.param(name, form, id=f"{name}-{form}")
                for name, case in BINARY.items() for form in forms(case[-1])]


@pytest.mark.parametrize("name,form", UNARY_CASES)
def test_unary(tools, tmp_path, name, form):
    domain, ref, tosa, generic, named = UNARY[name]
    text = {"tosa": lambda: tosa_text(tosa, [SHAPE], SHAPE), "generic": lambda: generic_text(generic, [SHAPE], SHAPE),
            "named": lambda: named_text(named, [SHAPE], SHAPE)}[form]()
    x = sample(np.random.default_rng(1), domain, SHAPE)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    assert y.dtype == np.float32 and y.shape == SHAPE
    assert_close(y, ref(x.astype(np.float64)), FP32_TOL)


@pytest.mark.parametrize("name,form", BINARY_CASES)
def test_binary(tools, tmp_path, name, form):
    ref, tosa, generic, named = BINARY[name]
    text = {"tosa": lambda: tosa_text(tosa, [SHAPE, SHAPE], SHAPE),
            "generic": lambda: generic_text(generic, [SHAPE, SHAPE], SHAPE),
            "named": lambda: named_text(named, [SHAPE, SHAPE], SHAPE)}[form]()
    rng = np.random.default_rng(2)
    a = sample(rng, "any", SHAPE)
    b = sample(rng, "nonzero" if name == "div" else "any", SHAPE)
    (y,) = compile_mlir(tools, tmp_path, text).run(a, b)
    assert_close(y, ref(a.astype(np.float64), b.astype(np.float64)), FP32_TOL)


# Broadcasting (TOSA: equal ranks with size-1 dims; linalg: maps dropping or
# pinning dims) and sizes that are not multiples of 128/512.
BROADCASTS = [
    ((7, 130), (1, 130)),
    ((7, 130), (7, 1)),
    ((1, 130), (7, 1)),
    ((2, 3, 257), (1, 3, 1)),
    ((1000,), (1,)),
    ((1,), (1,)),
    ((3, 1, 5, 7), (1, 4, 1, 7)),
]


@pytest.mark.parametrize("form", ["tosa", "generic"])
@pytest.mark.parametrize("sa,sb", BROADCASTS, ids=lambda s: "x".join(map(str, s)))
def test_broadcast_binary(tools, tmp_path, form, sa, sb):
    out = tuple(np.broadcast_shapes(sa, sb))
    if form == "tosa":
        text = func([("a", ttype(sa)), ("b", ttype(sb))], [ttype(out)],
                    f"  %r = tosa.sub %a, %b : ({ttype(sa)}, {ttype(sb)}) -> {ttype(out)}\n  return %r : {ttype(out)}")
    else:
        text = func([("a", ttype(sa)), ("b", ttype(sb))], [ttype(out)],
                    linalg_ew("r", [("a", sa), ("b", sb)], out, "%y = arith.subf %x0, %x1 : f32")
                    + f"  return %r : {ttype(out)}")
    rng = np.random.default_rng(3)
    a, b = rand(rng, *sa), rand(rng, *sb)
    (y,) = compile_mlir(tools, tmp_path, text).run(a, b)
    assert_close(y, a.astype(np.float64) - b, FP32_TOL)


def test_linalg_lower_rank_broadcast(tools, tmp_path):
    """A bias of rank 1 added to rank-3 activations through a map that drops dims."""
    s, bias = (2, 7, 257), (257,)
    text = func([("a", ttype(s)), ("b", ttype(bias))], [ttype(s)],
                linalg_ew("r", [("a", s), ("b", bias)], s, "%y = arith.addf %x0, %x1 : f32")
                + f"  return %r : {ttype(s)}")
    rng = np.random.default_rng(4)
    a, b = rand(rng, *s), rand(rng, *bias)
    (y,) = compile_mlir(tools, tmp_path, text).run(a, b)
    assert_close(y, a.astype(np.float64) + b, FP32_TOL)


@pytest.mark.parametrize("shape", [(1,), (7,), (257,), (1000,), (1, 1), (130, 257), (3, 5, 1000), (2, 1, 3, 129)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("form", ["tosa", "generic"])
def test_shapes(tools, tmp_path, shape, form):
    """A fused chain (exp(a) * b + a) on awkward shapes."""
    t = ttype(shape)
    if form == "tosa":
        body = (f"  %e = tosa.exp %a : ({t}) -> {t}\n"
                f"  %m = tosa.mul %e, %b {{shift = 0 : i8}} : ({t}, {t}) -> {t}\n"
                f"  %r = tosa.add %m, %a : ({t}, {t}) -> {t}\n")
    else:
        body = linalg_ew("r", [("a", shape), ("b", shape)], shape, """%e = math.exp %x0 : f32
            %m = arith.mulf %e, %x1 : f32
            %y = arith.addf %m, %x0 : f32""")
    text = func([("a", t), ("b", t)], [t], body + f"  return %r : {t}")
    rng = np.random.default_rng(5)
    a, b = rand(rng, *shape), rand(rng, *shape)
    (y,) = compile_mlir(tools, tmp_path, text).run(a, b)
    assert_close(y, np.exp(a.astype(np.float64)) * b + a, FP32_TOL)


# --- casts -------------------------------------------------------------------

CASTS = [("f32", "bf16"), ("bf16", "f32"), ("f32", "f16"), ("f32", "i32"), ("i32", "f32"), ("f32", "i8"),
         ("i8", "f32")]
NP = {"f32": np.float32, "f16": np.float16, "i32": np.int32, "i8": np.int8}


def cast_input(rng, src):
    """Inputs of each dtype; bf16 inputs are bf16-exact f32 values (the simulator stores them RNE)."""
    x = rand(rng, *SHAPE, scale=40.0)
    x[0, :4] = [0.5, 1.5, 2.5, -2.5]  # ties: round half to even
    if src == "bf16":
        return bf16(x)
    if src.startswith("i"):
        return np.clip(np.round(x), -128, 127).astype(NP[src])
    return x.astype(NP[src])


def cast_ref(x, src, dst):
    x64 = np.asarray(x, dtype=np.float64)
    if dst == "bf16":
        return bf16(x64)
    if dst == "f16":
        return x64.astype(np.float16)
    if dst.startswith("i"):
        info = np.iinfo(NP[dst])
        return np.clip(np.round(x64), info.min, info.max)  # round half to even, saturate
    return x64


def linalg_cast_op(src, dst):
    fs, fd = src[0] in "fb", dst[0] in "fb"
    width = {"f32": 32, "bf16": 16, "f16": 16, "i32": 32, "i8": 8}
    if fs and fd:
        op = "arith.truncf" if width[dst] < width[src] else "arith.extf"
        return f"%y = {op} %x0 : {src} to {dst}"
    if fs and not fd:
        # Round to nearest even, then convert (what TOSA's cast means); a bare
        # fptosi truncates, which the engines cannot do (test_e2e_errors.py).
        return f"%rn = math.roundeven %x0 : {src}\n%y = arith.fptosi %rn : {src} to {dst}"
    return f"%y = arith.sitofp %x0 : {src} to {dst}"


@pytest.mark.parametrize("form", ["tosa", "generic"])
@pytest.mark.parametrize("src,dst", CASTS, ids=lambda c: c)
def test_cast(tools, tmp_path, form, src, dst):
    ts, td = ttype(SHAPE, src), ttype(SHAPE, dst)
    if form == "tosa":
        body = f"  %r = tosa.cast %a : ({ts}) -> {td}\n"
    else:
        body = linalg_ew("r", [("a", SHAPE)], SHAPE, linalg_cast_op(src, dst),
                         out_dt=dst, in_dts=[src])
    text = func([("a", ts)], [td], body + f"  return %r : {td}")
    x = cast_input(np.random.default_rng(6), src)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    assert y.shape == SHAPE
    np.testing.assert_array_equal(np.asarray(y, dtype=np.float64), cast_ref(x, src, dst))


# --- comparisons, select, scalars, tile ---------------------------------------

@pytest.mark.parametrize("form", ["tosa", "generic"])
def test_compare_and_select(tools, tmp_path, form):
    """where(a > b, a, b * 2): an i1 intermediate (fused: stored nowhere) and an i1 output (0/1 bytes)."""
    t, tb = ttype(SHAPE), ttype(SHAPE, "i1")
    if form == "tosa":
        body = (f"  %c = tosa.greater %a, %b : ({t}, {t}) -> {tb}\n"
                f'  %two = "tosa.const"() <{{value = dense<2.0> : tensor<1x1xf32>}}> : () -> tensor<1x1xf32>\n'
                f"  %b2 = tosa.mul %b, %two {{shift = 0 : i8}} : ({t}, tensor<1x1xf32>) -> {t}\n"
                f"  %r = tosa.select %c, %a, %b2 : ({tb}, {t}, {t}) -> {t}\n")
    else:
        body = (linalg_ew("c", [("a", SHAPE), ("b", SHAPE)], SHAPE, "%y = arith.cmpf ogt, %x0, %x1 : f32", out_dt="i1")
                + linalg_ew("r", [("c", SHAPE), ("a", SHAPE), ("b", SHAPE)], SHAPE, """%two = arith.constant 2.0 : f32
                    %b2 = arith.mulf %x2, %two : f32
                    %y = arith.select %x0, %x1, %b2 : f32""", in_dts=["i1", "f32", "f32"]))
    text = func([("a", t), ("b", t)], [t, tb], body + f"  return %r, %c : {t}, {tb}")
    rng = np.random.default_rng(7)
    a, b = rand(rng, *SHAPE), rand(rng, *SHAPE)
    y, c = compile_mlir(tools, tmp_path, text).run(a, b)
    np.testing.assert_array_equal(y, np.where(a > b, a, b * 2))
    np.testing.assert_array_equal(c.astype(bool), a > b)


def test_select_on_a_bool_input(tools, tmp_path):
    t, tb = ttype(SHAPE), ttype(SHAPE, "i1")
    text = func([("m", tb), ("a", t), ("b", t)], [t],
                f"  %r = tosa.select %m, %a, %b : ({tb}, {t}, {t}) -> {t}\n  return %r : {t}")
    rng = np.random.default_rng(8)
    m, a, b = rng.random(SHAPE) > 0.5, rand(rng, *SHAPE), rand(rng, *SHAPE)
    (y,) = compile_mlir(tools, tmp_path, text).run(m, a, b)
    np.testing.assert_array_equal(y, np.where(m, a, b))


@pytest.mark.parametrize("form", ["tosa", "generic"])
def test_rank0_tensors(tools, tmp_path, form):
    t = ttype(())
    if form == "tosa":
        body = f"  %s = tosa.add %a, %b : ({t}, {t}) -> {t}\n  %r = tosa.exp %s : ({t}) -> {t}\n"
    else:
        body = linalg_ew("r", [("a", ()), ("b", ())], (), "%s = arith.addf %x0, %x1 : f32\n%y = math.exp %s : f32")
    text = func([("a", t), ("b", t)], [t], body + f"  return %r : {t}")
    (y,) = compile_mlir(tools, tmp_path, text).run(np.float32(0.5), np.float32(-1.25))
    assert y.shape == ()
    assert_close(y, np.exp(np.float64(-0.75)), FP32_TOL)


def test_tosa_tile(tools, tmp_path):
    ti, to = ttype((3, 130)), ttype((6, 390))
    text = func([("a", ti)], [to],
                f"  %r = tosa.tile %a {{multiples = array<i64: 2, 3>}} : ({ti}) -> {to}\n  return %r : {to}")
    x = rand(np.random.default_rng(9), 3, 130)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    np.testing.assert_array_equal(y, np.tile(x, (2, 3)))
