"""Data movement: transpose, reshape, concat, slice, pad and gather
(embedding lookup), in TOSA and linalg/tensor form, alone and feeding or fed
by computation (views must be read with the right strides)."""
import numpy as np
import pytest

from e2e_support import FP32_TOL, assert_close, compile_mlir, func, linalg_ew, rand, tosa_const_array, ttype


def i32_const(name, values):
    return tosa_const_array(name, np.asarray(values), "i32")


PERMS = [((7, 130), (1, 0)), ((5, 7, 130), (2, 0, 1)), ((5, 7, 130), (0, 2, 1)), ((2, 3, 5, 257), (0, 2, 1, 3)),
         ((257, 1000), (1, 0))]


@pytest.mark.parametrize("shape,perm", PERMS, ids=str)
@pytest.mark.parametrize("form", ["tosa", "linalg"])
def test_transpose(tools, tmp_path, form, shape, perm):
    out = tuple(shape[p] for p in perm)
    ti, to = ttype(shape), ttype(out)
    if form == "tosa":
        body = (i32_const("p", perm) + f"  %r = tosa.transpose %a, %p : ({ti}, {ttype((len(perm),), 'i32')}) -> {to}\n")
    else:
        body = (f"  %e = tensor.empty() : {to}\n"
                f"  %r = linalg.transpose ins(%a : {ti}) outs(%e : {to}) permutation = [{', '.join(map(str, perm))}]\n")
    text = func([("a", ti)], [to], body + f"  return %r : {to}")
    x = rand(np.random.default_rng(1), *shape)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    np.testing.assert_array_equal(y, x.transpose(perm))


def test_transpose_feeding_compute(tools, tmp_path):
    """exp(transpose(a)) + b: the transpose is a strided view read by the elementwise kernel."""
    s, o = (130, 7, 3), (3, 130, 7)
    ti, to = ttype(s), ttype(o)
    text = func([("a", ti), ("b", to)], [to], i32_const("p", [2, 0, 1])
                + f"  %t = tosa.transpose %a, %p : ({ti}, tensor<3xi32>) -> {to}\n"
                + f"  %e = tosa.exp %t : ({to}) -> {to}\n"
                + f"  %r = tosa.add %e, %b : ({to}, {to}) -> {to}\n  return %r : {to}")
    rng = np.random.default_rng(2)
    a, b = rand(rng, *s), rand(rng, *o)
    (y,) = compile_mlir(tools, tmp_path, text).run(a, b)
    assert_close(y, np.exp(a.transpose(2, 0, 1).astype(np.float64)) + b, FP32_TOL)


RESHAPES = [((7, 130), (910,)), ((5, 7, 130), (35, 130)), ((35, 130), (5, 7, 2, 65)), ((1000,), (8, 125)),
            ((2, 3, 4), (4, 3, 2))]


@pytest.mark.parametrize("src,dst", RESHAPES, ids=str)
@pytest.mark.parametrize("form", ["tosa", "tensor.reshape"])
def test_reshape(tools, tmp_path, form, src, dst):
    ti, to = ttype(src), ttype(dst)
    if form == "tosa":
        body = f"  %r = tosa.reshape %a {{new_shape = array<i64: {', '.join(map(str, dst))}>}} : ({ti}) -> {to}\n"
    else:
        st = ttype((len(dst),), "i64")
        body = f"  %s = arith.constant dense<[{', '.join(map(str, dst))}]> : {st}\n"
        body += f"  %r = tensor.reshape %a(%s) : ({ti}, {st}) -> {to}\n"
    # The reshape feeds a computation so it is not only a copy to the output.
    body += linalg_ew("n", [("r", dst)], dst, "%y = arith.negf %x0 : f32")
    text = func([("a", ti)], [to], body + f"  return %n : {to}")
    x = rand(np.random.default_rng(3), *src)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    np.testing.assert_array_equal(y, -x.reshape(dst))


def test_expand_and_collapse_shape(tools, tmp_path):
    ti, tm, to = ttype((6, 130)), ttype((2, 3, 130)), ttype((2, 390))
    text = func([("a", ti)], [to], f"""  %e = tensor.expand_shape %a [[0, 1], [2]] output_shape [2, 3, 130] : {ti} into {tm}
  %t = linalg.generic {{indexing_maps = [affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (i, j, k)>],
      iterator_types = ["parallel", "parallel", "parallel"]}} ins(%e : {tm}) outs(%e : {tm}) {{
  ^bb0(%x: f32, %o: f32):
    %y = math.exp %x : f32
    linalg.yield %y : f32
  }} -> {tm}
  %c = tensor.collapse_shape %t [[0], [1, 2]] : {tm} into {to}
  return %c : {to}""")
    x = rand(np.random.default_rng(4), 6, 130)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    assert_close(y, np.exp(x.astype(np.float64)).reshape(2, 390), FP32_TOL)


CONCATS = [([(7, 130), (7, 3)], 1), ([(1, 257), (7, 257), (2, 257)], 0), ([(2, 3, 5), (2, 4, 5)], 1),
           ([(5,), (1000,)], 0)]


@pytest.mark.parametrize("shapes,axis", CONCATS, ids=str)
@pytest.mark.parametrize("form", ["tosa", "tensor.concat"])
def test_concat(tools, tmp_path, form, shapes, axis):
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    names = [f"a{i}" for i in range(len(shapes))]
    ins = ", ".join(f"%{n}" for n in names)
    tys = ", ".join(ttype(s) for s in shapes)
    to = ttype(out)
    if form == "tosa":
        body = f"  %r = tosa.concat {ins} {{axis = {axis} : i32}} : ({tys}) -> {to}\n"
    else:
        body = f"  %r = tensor.concat dim({axis}) {ins} : ({tys}) -> {to}\n"
    text = func([(n, ttype(s)) for n, s in zip(names, shapes)], [to], body + f"  return %r : {to}")
    rng = np.random.default_rng(5)
    xs = [rand(rng, *s) for s in shapes]
    (y,) = compile_mlir(tools, tmp_path, text).run(*xs)
    np.testing.assert_array_equal(y, np.concatenate(xs, axis))


def test_concat_of_computed_values(tools, tmp_path):
    """concat(exp(a), a * b, b) along the last axis: parts written in place by their producers or copied."""
    s = (7, 130)
    t, to = ttype(s), ttype((7, 390))
    text = func([("a", t), ("b", t)], [to], f"""  %e = tosa.exp %a : ({t}) -> {t}
  %m = tosa.mul %a, %b {{shift = 0 : i8}} : ({t}, {t}) -> {t}
  %r = tosa.concat %e, %m, %b {{axis = 1 : i32}} : ({t}, {t}, {t}) -> {to}
  return %r : {to}""")
    rng = np.random.default_rng(6)
    a, b = rand(rng, *s), rand(rng, *s)
    (y,) = compile_mlir(tools, tmp_path, text).run(a, b)
    ref = np.concatenate([np.exp(a.astype(np.float64)), a.astype(np.float64) * b, b], 1)
    assert_close(y, ref, FP32_TOL)


SLICES = [((7, 130), (2, 5), (3, 120)), ((5, 7, 257), (1, 0, 128), (3, 7, 129)), ((1000,), (999,), (1,)),
          ((4, 6, 8), (0, 1, 2), (4, 1, 5))]


@pytest.mark.parametrize("shape,start,size", SLICES, ids=str)
@pytest.mark.parametrize("form", ["tosa", "tensor.extract_slice"])
def test_slice(tools, tmp_path, form, shape, start, size):
    ti, to = ttype(shape), ttype(size)
    if form == "tosa":
        body = (f"  %r = tosa.slice %a {{start = array<i64: {', '.join(map(str, start))}>, "
                f"size = array<i64: {', '.join(map(str, size))}>}} : ({ti}) -> {to}\n")
    else:
        body = (f"  %r = tensor.extract_slice %a[{', '.join(map(str, start))}] [{', '.join(map(str, size))}] "
                f"[{', '.join('1' * len(shape))}] : {ti} to {to}\n")
    text = func([("a", ti)], [to], body + f"  return %r : {to}")
    x = rand(np.random.default_rng(7), *shape)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    np.testing.assert_array_equal(y, x[tuple(slice(b, b + n) for b, n in zip(start, size))])


def test_strided_slice_and_rank_reducing_slice(tools, tmp_path):
    """tensor.extract_slice with strides, and one that drops a unit dim, feeding computation."""
    ti = ttype((6, 130))
    t1, t2 = ttype((3, 43)), ttype((130,))
    text = func([("a", ti)], [t1, t2], f"""  %s = tensor.extract_slice %a[1, 2] [3, 43] [2, 3] : {ti} to {t1}
  %r = tensor.extract_slice %a[4, 0] [1, 130] [1, 1] : {ti} to {t2}
{linalg_ew("e", [("s", (3, 43))], (3, 43), "%y = math.exp %x0 : f32")}{linalg_ew("n", [("r", (130,))], (130,), "%y = arith.negf %x0 : f32")}  return %e, %n : {t1}, {t2}""")
    x = rand(np.random.default_rng(8), 6, 130)
    y1, y2 = compile_mlir(tools, tmp_path, text).run(x)
    assert_close(y1, np.exp(x[1:7:2, 2:130:3].astype(np.float64)), FP32_TOL)
    np.testing.assert_array_equal(y2, -x[4])


PADS = [((5, 7), ((1, 2), (0, 3)), 1.5), ((7, 130), ((0, 0), (2, 125)), 0.0), ((2, 3, 257), ((1, 0), (0, 0), (3, 1)), -2.0)]


@pytest.mark.parametrize("shape,pads,value", PADS, ids=str)
@pytest.mark.parametrize("form", ["tosa", "tensor.pad"])
def test_pad(tools, tmp_path, form, shape, pads, value):
    out = tuple(s + lo + hi for s, (lo, hi) in zip(shape, pads))
    ti, to = ttype(shape), ttype(out)
    if form == "tosa":
        body = (i32_const("p", pads)
                + f'  %v = "tosa.const"() <{{value = dense<{value!r}> : tensor<f32>}}> : () -> tensor<f32>\n'
                + f"  %r = tosa.pad %a, %p, %v : ({ti}, {ttype((len(shape), 2), 'i32')}, tensor<f32>) -> {to}\n")
    else:
        idx = ", ".join(f"%i{d}: index" for d in range(len(shape)))
        body = (f"  %v = arith.constant {value!r} : f32\n"
                f"  %r = tensor.pad %a low[{', '.join(str(lo) for lo, _ in pads)}] "
                f"high[{', '.join(str(hi) for _, hi in pads)}] {{\n  ^bb0({idx}):\n    tensor.yield %v : f32\n"
                f"  }} : {ti} to {to}\n")
    text = func([("a", ti)], [to], body + f"  return %r : {to}")
    x = rand(np.random.default_rng(9), *shape)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    np.testing.assert_array_equal(y, np.pad(x, pads, constant_values=value))


# --- gather ------------------------------------------------------------------

def tosa_gather(V, D, W):
    tv, ti, to = ttype((1, V, D)), ttype((1, W), "i32"), ttype((1, W, D))
    return func([("v", tv), ("i", ti)], [to], f"  %r = tosa.gather %v, %i : ({tv}, {ti}) -> {to}\n  return %r : {to}")


def linalg_embedding(V, D, ids_shape, idx_dt="i32"):
    """out[s..., d] = table[ids[s...], d] as a linalg.generic with tensor.extract."""
    r = len(ids_shape)
    out = tuple(ids_shape) + (D,)
    dims = ", ".join(f"d{i}" for i in range(r + 1))
    lead = ", ".join(f"d{i}" for i in range(r))
    tt, ti, to = ttype((V, D)), ttype(ids_shape, idx_dt), ttype(out)
    iters = ", ".join(['"parallel"'] * (r + 1))
    return func([("table", tt), ("ids", ti)], [to], f"""  %e = tensor.empty() : {to}
  %r = linalg.generic {{indexing_maps = [affine_map<({dims}) -> ({lead})>, affine_map<({dims}) -> ({dims})>],
      iterator_types = [{iters}]}} ins(%ids : {ti}) outs(%e : {to}) {{
  ^bb0(%id: {idx_dt}, %o: f32):
    %row = arith.index_cast %id : {idx_dt} to index
    %col = linalg.index {r} : index
    %v = tensor.extract %table[%row, %col] : {tt}
    linalg.yield %v : f32
  }} -> {to}
  return %r : {to}""")


@pytest.mark.parametrize("V,D,W", [(100, 64, 16), (1000, 130, 257), (7, 1, 1)], ids=str)
def test_tosa_gather(tools, tmp_path, V, D, W):
    rng = np.random.default_rng(10)
    table = rand(rng, 1, V, D)
    ids = rng.integers(0, V, (1, W)).astype(np.int32)
    (y,) = compile_mlir(tools, tmp_path, tosa_gather(V, D, W)).run(table, ids)
    np.testing.assert_array_equal(y, table[0][ids[0]][None])


@pytest.mark.parametrize("V", [65536, 140000])
def test_gather_from_a_table_longer_than_one_dma_gather(tools, tmp_path, V):
    """A dma_gather table holds at most 65535 rows: longer tables (a 128k-token
    vocabulary) are gathered block by block. Ids on every block boundary."""
    rng = np.random.default_rng(12)
    table = rand(rng, 1, V, 16)
    ids = rng.integers(0, V, (1, 300)).astype(np.int32)
    edges = [0, 65534, 65535, V - 1] + ([65536, 131069, 131070, 131071] if V > 131071 else [])
    ids[0, :len(edges)] = edges
    (y,) = compile_mlir(tools, tmp_path, tosa_gather(V, 16, 300)).run(table, ids)
    np.testing.assert_array_equal(y, table[0][ids[0]][None])


@pytest.mark.parametrize("V,D,ids_shape,idx_dt", [(100, 64, (16,), "i32"), (100, 64, (2, 8), "i32"),
                                                  (1000, 130, (3, 129), "i64")], ids=str)
def test_linalg_embedding_lookup(tools, tmp_path, V, D, ids_shape, idx_dt):
    rng = np.random.default_rng(11)
    table = rand(rng, V, D)
    ids = rng.integers(0, V, ids_shape).astype(np.int32 if idx_dt == "i32" else np.int64)
    (y,) = compile_mlir(tools, tmp_path, linalg_embedding(V, D, ids_shape, idx_dt)).run(table, ids)
    np.testing.assert_array_equal(y, table[ids])


def test_rotate_half_is_two_kernels_written_in_place(tools, tmp_path):
    """RoPE's rotate-half, x*cos + concat(-x2, x1)*sin cast to bf16: trn-fuse-elementwise
    splits the elementwise op over the concatenation's halves, so the program is two
    elementwise kernels writing their halves in place (one barrier), not negate +
    two copies + the elementwise op + the cast."""
    x_t, cs_t, half_t = ttype((3, 4, 128)), ttype((1, 1, 128)), ttype((3, 4, 64))
    out_t = ttype((3, 512), "bf16")
    text = func([("x", x_t), ("cos", cs_t), ("sin", cs_t)], [out_t], f"""  %x1 = tosa.slice %x {{start = array<i64: 0, 0, 0>, size = array<i64: 3, 4, 64>}} : ({x_t}) -> {half_t}
  %x2 = tosa.slice %x {{start = array<i64: 0, 0, 64>, size = array<i64: 3, 4, 64>}} : ({x_t}) -> {half_t}
  %n = tosa.negate %x2 : ({half_t}) -> {half_t}
  %r = tosa.concat %n, %x1 {{axis = 2 : i32}} : ({half_t}, {half_t}) -> {x_t}
  %a = tosa.mul %x, %cos {{shift = 0 : i8}} : ({x_t}, {cs_t}) -> {x_t}
  %b = tosa.mul %r, %sin {{shift = 0 : i8}} : ({x_t}, {cs_t}) -> {x_t}
  %s = tosa.add %a, %b : ({x_t}, {x_t}) -> {x_t}
  %f = tosa.reshape %s {{new_shape = array<i64: 3, 512>}} : ({x_t}) -> {ttype((3, 512))}
  %y = tosa.cast %f : ({ttype((3, 512))}) -> {out_t}
  return %y : {out_t}""")
    rng = np.random.default_rng(7)
    x, cos, sin = rand(rng, 3, 4, 128), rand(rng, 1, 1, 128), rand(rng, 1, 1, 128)
    model = compile_mlir(tools, tmp_path, text)
    (y,) = model.run(x, cos, sin)
    xd = x.astype(np.float64)
    rotated = np.concatenate([-xd[..., 64:], xd[..., :64]], -1)
    ref = (xd * cos + rotated * sin).reshape(3, 512)
    assert_close(y.astype(np.float64), ref, 1e-2)
    listing = tools.run("trnx-objdump", "-d", model.tnx).stdout
    streams = listing.split(".stream")[1:]
    assert max(s.count("barrier scope=chip") for s in streams) == 1, listing[:2000]
