"""Reductions (sum, max, min) over any axis: first, middle, last, several,
all; TOSA (which keeps reduced dims), linalg.reduce (which drops them) and
linalg.generic (dropping or keeping them, with a prologue, with an init that
is not the identity)."""
import numpy as np
import pytest

from e2e_support import FP32_TOL, assert_close, compile_mlir, func, linalg_reduce_generic, rand, ttype

SHAPE = (5, 7, 130)
NP = {"sum": np.sum, "max": np.max, "min": np.min}
COMBINER = {"sum": "arith.addf", "max": "arith.maximumf", "min": "arith.minimumf"}
IDENTITY = {"sum": "0.0", "max": "0xFF800000", "min": "0x7F800000"}


def reduced_shape(shape, axes, keep):
    return tuple((1 if keep else None) if i in axes else s for i, s in enumerate(shape) if keep or i not in axes)


def tosa_reduce(kind, shape, axes):
    """Chained tosa.reduce_* (one axis each, dims kept)."""
    lines, cur, cur_shape = [], "a", tuple(shape)
    for n, ax in enumerate(axes):
        out_shape = tuple(1 if i == ax else s for i, s in enumerate(cur_shape))
        lines.append(f"  %r{n} = tosa.reduce_{kind} %{cur} {{axis = {ax} : i32}} : ({ttype(cur_shape)}) -> "
                     f"{ttype(out_shape)}")
        cur, cur_shape = f"r{n}", out_shape
    return func([("a", ttype(shape))], [ttype(cur_shape)], "\n".join(lines) + f"\n  return %{cur} : {ttype(cur_shape)}")


def linalg_reduce(kind, shape, axes):
    out = reduced_shape(shape, axes, False)
    to = ttype(out)
    return func([("a", ttype(shape))], [to], f"""  %id = arith.constant {IDENTITY[kind]} : f32
  %e = tensor.empty() : {to}
  %f = linalg.fill ins(%id : f32) outs(%e : {to}) -> {to}
  %r = linalg.reduce ins(%a : {ttype(shape)}) outs(%f : {to}) dimensions = [{', '.join(map(str, axes))}]
    (%in: f32, %acc: f32) {{
      %c = {COMBINER[kind]} %in, %acc : f32
      linalg.yield %c : f32
    }}
  return %r : {to}""")


def linalg_generic_reduce(kind, shape, axes, keep):
    body, out = linalg_reduce_generic("r", "a", shape, axes, kind, keep_dims=keep)
    return func([("a", ttype(shape))], [ttype(out)], body + f"  return %r : {ttype(out)}")


AXES = [(0,), (1,), (2,), (0, 2), (0, 1, 2)]


@pytest.mark.parametrize("kind", ["sum", "max", "min"])
@pytest.mark.parametrize("axes", AXES, ids=lambda a: "axes" + "".join(map(str, a)))
@pytest.mark.parametrize("form", ["tosa", "linalg.reduce", "generic", "generic-keepdims"])
def test_reduce(tools, tmp_path, form, axes, kind):
    text = {"tosa": lambda: tosa_reduce(kind, SHAPE, axes),
            "linalg.reduce": lambda: linalg_reduce(kind, SHAPE, axes),
            "generic": lambda: linalg_generic_reduce(kind, SHAPE, axes, False),
            "generic-keepdims": lambda: linalg_generic_reduce(kind, SHAPE, axes, True)}[form]()
    x = rand(np.random.default_rng(len(axes)), *SHAPE)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    keep = form in ("tosa", "generic-keepdims")
    ref = NP[kind](x.astype(np.float64), axis=axes, keepdims=keep)
    assert y.shape == ref.shape
    assert_close(y, ref, FP32_TOL)


@pytest.mark.parametrize("shape,axis", [((1000,), 0), ((1, 257), 1), ((257, 1), 0), ((1000, 3), 0), ((3, 2, 1000), 1),
                                        ((2, 130, 4, 3), 1)], ids=str)
@pytest.mark.parametrize("form", ["tosa", "linalg.reduce"])
def test_reduce_sum_awkward_shapes(tools, tmp_path, form, shape, axis):
    text = tosa_reduce("sum", shape, (axis,)) if form == "tosa" else linalg_reduce("sum", shape, (axis,))
    x = rand(np.random.default_rng(3), *shape)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    assert_close(y, x.astype(np.float64).sum(axis=axis, keepdims=form == "tosa"), FP32_TOL)


def test_generic_reduction_with_prologue_and_init(tools, tmp_path):
    """sum over axis 1 of exp(a) * b, added to an init that is an argument."""
    s, o = (7, 130, 3), (7, 3)
    ts, to = ttype(s), ttype(o)
    text = func([("a", ts), ("b", ts), ("c", to)], [to], f"""  %r = linalg.generic {{indexing_maps = [
      affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (i, k)>],
      iterator_types = ["parallel", "reduction", "parallel"]}} ins(%a, %b : {ts}, {ts}) outs(%c : {to}) {{
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %e = math.exp %x : f32
    %m = arith.mulf %e, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }} -> {to}
  return %r : {to}""")
    rng = np.random.default_rng(4)
    a, b, c = rand(rng, *s), rand(rng, *s), rand(rng, *o)
    (y,) = compile_mlir(tools, tmp_path, text).run(a, b, c)
    assert_close(y, (np.exp(a.astype(np.float64)) * b).sum(1) + c, FP32_TOL)


def test_generic_max_with_finite_init(tools, tmp_path):
    """max over the last axis starting from 0.5 (not the identity): a ReLU-like floor."""
    s, o = (7, 257), (7,)
    ts, to = ttype(s), ttype(o)
    text = func([("a", ts)], [to], f"""  %h = arith.constant 0.5 : f32
  %e = tensor.empty() : {to}
  %f = linalg.fill ins(%h : f32) outs(%e : {to}) -> {to}
  %r = linalg.reduce ins(%a : {ts}) outs(%f : {to}) dimensions = [1]
    (%in: f32, %acc: f32) {{
      %c = arith.maximumf %in, %acc : f32
      linalg.yield %c : f32
    }}
  return %r : {to}""")
    x = rand(np.random.default_rng(5), *s)
    x[3] = -np.abs(x[3])
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    assert_close(y, np.maximum(x.max(1), 0.5), FP32_TOL)


def test_mean_over_middle_axis(tools, tmp_path):
    """TOSA mean: reduce_sum * 1/N over a middle axis."""
    s = (4, 257, 9)
    ts, tr = ttype(s), ttype((4, 1, 9))
    text = func([("a", ts)], [tr], f"""  %s = tosa.reduce_sum %a {{axis = 1 : i32}} : ({ts}) -> {tr}
  %n = "tosa.const"() <{{value = dense<{1 / 257!r}> : tensor<1x1x1xf32>}}> : () -> tensor<1x1x1xf32>
  %m = tosa.mul %s, %n {{shift = 0 : i8}} : ({tr}, tensor<1x1x1xf32>) -> {tr}
  return %m : {tr}""")
    x = rand(np.random.default_rng(6), *s)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    assert_close(y, x.astype(np.float64).mean(1, keepdims=True), FP32_TOL)
