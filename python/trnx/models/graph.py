"""A small builder that writes a shape-only TOSA function as MLIR text.

Values are SSA names with a shape and an element type. Weights are function
arguments tagged ``{trnx.role = "weight"}`` so the compiler makes them
data-less weight tensors; nothing is materialised. The builder also counts
FLOPs (matmuls exactly, elementwise ops one per output element) so graphs can
report a summary without compiling. The op forms are the ones the compiler's
end-to-end tests exercise (tests/compiler/e2e/e2e_graph.py): equal-rank
broadcasting, keep-dims reductions, reciprocal + mul for division.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

# MLIR element type -> bytes per element.
DTYPE_BYTES: Dict[str, float] = {"f32": 4, "bf16": 2, "f16": 2, "f8E4M3FN": 1, "i8": 1, "i32": 4, "i64": 8}
# Names users pass (numpy/trnx style) -> MLIR element type.
DTYPE_NAMES: Dict[str, str] = {"fp32": "f32", "f32": "f32", "float32": "f32", "bf16": "bf16", "bfloat16": "bf16",
                               "fp16": "f16", "f16": "f16", "float16": "f16", "fp8": "f8E4M3FN",
                               "fp8e4m3": "f8E4M3FN", "f8E4M3FN": "f8E4M3FN", "i32": "i32", "int32": "i32"}

UNARY = ("exp", "log", "tanh", "erf", "rsqrt", "reciprocal", "sigmoid", "negate", "abs")


# OCP MX weight formats (trn.mx_matmul): elements + e8m0 block scales, see trnx.mx.
MX_FORMATS = ("mxfp8", "mxfp4")


def mlir_dtype(name: str) -> str:
    """The MLIR element type for a dtype name (``bf16``, ``fp32``, ``fp8e4m3``...)."""
    if name not in DTYPE_NAMES:
        known = sorted(set(DTYPE_NAMES))
        hint = f" (MX formats {MX_FORMATS} are weight formats of matmuls only)" if name in MX_FORMATS else ""
        raise ValueError(f"unsupported dtype {name!r}; use one of {known}{hint}")
    return DTYPE_NAMES[name]


def dense_dtype(name: str) -> str:
    """The dtype a non-matmul weight (embedding table) takes when matmul weights are ``name``: bf16 for MX."""
    return "bf16" if name in MX_FORMATS else name


@dataclass(frozen=True)
class Value:
    """An SSA value of the function being built."""

    name: str
    shape: Tuple[int, ...]
    dtype: str = "f32"

    @property
    def type(self) -> str:
        """The MLIR tensor type, e.g. ``tensor<4x128xf32>``."""
        return f"tensor<{'x'.join(map(str, self.shape))}x{self.dtype}>" if self.shape else f"tensor<{self.dtype}>"

    @property
    def elements(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Size in bytes."""
        return int(self.elements * DTYPE_BYTES[self.dtype])


@dataclass
class Argument:
    """A function argument: an input (activations, KV cache) or a weight."""

    value: Value
    label: str
    role: str  # "input" or "weight"
    storage: str = ""  # trnx dtype of i8 MX storage ("fp4e2m1x2", "e8m0"), else ""


def _float(x: float) -> str:
    """A float literal MLIR parses (it needs a '.' in the mantissa: ``1.0e-05``)."""
    if not math.isfinite(x):
        raise ValueError(f"constant {x!r} is not finite")
    mantissa, _, exponent = repr(float(x)).partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + ("e" + exponent if exponent else "")


class GraphBuilder:
    """Accumulates TOSA ops; :meth:`to_mlir` writes ``func.func @name``.

    Every method checks its operand shapes and raises ``ValueError`` naming
    the op and the shapes, so a mistake shows in Python rather than as a
    compiler diagnostic.
    """

    def __init__(self, name: str = "main") -> None:
        self.func_name = name
        self.arguments: List[Argument] = []
        self.results: List[Tuple[Value, str]] = []
        self.lines: List[str] = []
        self.matmul_flops = 0
        self.elementwise_flops = 0
        self._count = 0
        self._labels: set = set()

    # --- plumbing -------------------------------------------------------------
    def _new(self, shape: Sequence[int], dtype: str = "f32") -> Value:
        self._count += 1
        return Value(f"v{self._count}", tuple(int(s) for s in shape), dtype)

    def _emit(self, line: str) -> None:
        self.lines.append("  " + line)

    def _arg(self, label: str, shape: Sequence[int], dtype: str, role: str) -> Value:
        shape = tuple(int(s) for s in shape)
        if not shape or any(s <= 0 for s in shape):
            raise ValueError(f"argument {label!r}: shape {shape} must have positive dims")
        if label in self._labels:
            raise ValueError(f"argument {label!r} declared twice")
        self._labels.add(label)
        v = Value(f"arg{len(self.arguments)}", shape, mlir_dtype(dtype))
        self.arguments.append(Argument(v, label, role))
        return v

    def input(self, label: str, shape: Sequence[int], dtype: str = "f32") -> Value:
        """A run-time input (activations, token ids, KV cache)."""
        return self._arg(label, shape, dtype, "input")

    def weight(self, label: str, shape: Sequence[int], dtype: str = "bf16") -> Value:
        """A data-less weight argument (``trnx.role = "weight"``)."""
        return self._arg(label, shape, dtype, "weight")

    def mx_weight(self, label: str, shape: Sequence[int], fmt: str) -> Tuple[Value, Value]:
        """A [K, N] weight in an MX format: its element tensor ``label`` and scales ``label.scale``."""
        k, n = (int(s) for s in shape)
        if fmt not in MX_FORMATS:
            raise ValueError(f"unknown MX format {fmt!r}; use one of {MX_FORMATS}")
        if k % 32 or (fmt == "mxfp4" and n % 2):
            raise ValueError(f"MX weight {label!r} [{k}, {n}]: K must be a multiple of 32"
                             + (" and N even (two fp4 values per byte)" if fmt == "mxfp4" else ""))
        data = self._arg(label, (k, n // 2) if fmt == "mxfp4" else (k, n), "fp8", "weight")
        if fmt == "mxfp4":
            data = Value(data.name, data.shape, "i8")
            self.arguments[-1] = Argument(data, label, "weight", "fp4e2m1x2")
        scales = self._arg(label + ".scale", (k // 32, n), "fp8", "weight")
        scales = Value(scales.name, scales.shape, "i8")
        self.arguments[-1] = Argument(scales, label + ".scale", "weight", "e8m0")
        return data, scales

    def mx_matmul(self, a: Value, data: Value, scales: Value, fmt: str) -> Value:
        """``a [..., K] @ W`` for an MX weight from :meth:`mx_weight` (activations quantised to MXFP8 on chip)."""
        k, n = scales.shape[0] * 32, scales.shape[1]
        if a.shape[-1] != k:
            raise ValueError(f"mx_matmul: {a.shape} does not contract with an MX weight of K={k}")
        a = self.cast(a, "f32") if a.dtype not in ("f32", "bf16", "f16") else a
        v = self._new(a.shape[:-1] + (n,), "f32")
        self._emit(f'%{v.name} = trn.mx_matmul %{a.name}, %{data.name}, %{scales.name} {{format = "{fmt}"}} : '
                   f"{a.type}, {data.type}, {scales.type} -> {v.type}")
        self.matmul_flops += 2 * math.prod(a.shape[:-1]) * k * n
        return v

    def linear(self, x: Value, label: str, shape: Sequence[int], dtype: str) -> Value:
        """``x @ W`` for a [K, N] weight ``label`` in ``dtype`` (bf16, fp8, or an MX format)."""
        if dtype in MX_FORMATS:
            return self.mx_matmul(x, *self.mx_weight(label, shape, dtype), dtype)
        return self.matmul(x, self.weight(label, shape, dtype))

    def output(self, value: Value, label: str) -> None:
        """Returns ``value`` from the function under the tensor name ``label``."""
        self.results.append((value, label))

    def _ew(self, out: Value) -> Value:
        self.elementwise_flops += out.elements
        return out

    # --- constants ------------------------------------------------------------
    def scalar(self, value: float, rank: int) -> Value:
        """A splat f32 constant of shape ``[1] * rank`` (TOSA broadcasts equal ranks)."""
        v = self._new((1,) * rank)
        self._emit(f'%{v.name} = "tosa.const"() <{{value = dense<{_float(value)}> : {v.type}}}> : () -> {v.type}')
        return v

    # --- elementwise ----------------------------------------------------------
    def unary(self, op: str, a: Value) -> Value:
        """``tosa.<op>`` for op in exp, log, tanh, erf, rsqrt, reciprocal, sigmoid, negate, abs."""
        if op not in UNARY:
            raise ValueError(f"unknown unary op {op!r}; use one of {UNARY}")
        v = self._new(a.shape, a.dtype)
        self._emit(f"%{v.name} = tosa.{op} %{a.name} : ({a.type}) -> {v.type}")
        return self._ew(v)

    def _broadcast(self, op: str, a: Value, b: Value) -> Tuple[int, ...]:
        if len(a.shape) != len(b.shape):
            raise ValueError(f"{op}: operands need equal ranks, got {a.shape} and {b.shape}")
        out = []
        for x, y in zip(a.shape, b.shape):
            if x != y and 1 not in (x, y):
                raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not broadcast")
            out.append(max(x, y))
        return tuple(out)

    def binary(self, op: str, a: Value, b: Value) -> Value:
        """add, sub, mul, max, min (div is mul by reciprocal, as exporters write it)."""
        if op == "div":
            return self.binary("mul", a, self.unary("reciprocal", b))
        ops = {"add": "tosa.add", "sub": "tosa.sub", "mul": "tosa.mul", "max": "tosa.maximum", "min": "tosa.minimum"}
        if op not in ops:
            raise ValueError(f"unknown binary op {op!r}; use one of {sorted(ops) + ['div']}")
        v = self._new(self._broadcast(op, a, b), a.dtype)
        shift = " {shift = 0 : i8}" if op == "mul" else ""
        self._emit(f"%{v.name} = {ops[op]} %{a.name}, %{b.name}{shift} : ({a.type}, {b.type}) -> {v.type}")
        return self._ew(v)

    def add(self, a: Value, b: Value) -> Value:
        return self.binary("add", a, b)

    def sub(self, a: Value, b: Value) -> Value:
        return self.binary("sub", a, b)

    def mul(self, a: Value, b: Value) -> Value:
        return self.binary("mul", a, b)

    def muls(self, a: Value, c: float) -> Value:
        """``a * c`` for a Python number ``c``."""
        return self.mul(a, self.scalar(c, len(a.shape)))

    def adds(self, a: Value, c: float) -> Value:
        """``a + c`` for a Python number ``c``."""
        return self.add(a, self.scalar(c, len(a.shape)))

    def cast(self, a: Value, dtype: str) -> Value:
        """``tosa.cast`` to another element type (round to nearest even)."""
        dtype = mlir_dtype(dtype)
        if dtype == a.dtype:
            return a
        v = self._new(a.shape, dtype)
        self._emit(f"%{v.name} = tosa.cast %{a.name} : ({a.type}) -> {v.type}")
        return v

    # --- reductions -----------------------------------------------------------
    def reduce(self, kind: str, a: Value, axis: int) -> Value:
        """Keep-dims ``tosa.reduce_{sum,max,min}`` over one axis."""
        if kind not in ("sum", "max", "min"):
            raise ValueError(f"unknown reduction {kind!r}")
        axis %= len(a.shape)
        v = self._new(tuple(1 if i == axis else s for i, s in enumerate(a.shape)), a.dtype)
        self._emit(f"%{v.name} = tosa.reduce_{kind} %{a.name} {{axis = {axis} : i32}} : ({a.type}) -> {v.type}")
        self.elementwise_flops += a.elements
        return v

    def mean(self, a: Value, axis: int) -> Value:
        """reduce_sum times 1/n, how exporters write a mean."""
        return self.muls(self.reduce("sum", a, axis), 1.0 / a.shape[axis])

    # --- data movement --------------------------------------------------------
    def reshape(self, a: Value, shape: Sequence[int]) -> Value:
        """``tosa.reshape`` (same element count)."""
        shape = tuple(int(s) for s in shape)
        if math.prod(shape) != a.elements:
            raise ValueError(f"reshape: cannot view {a.shape} as {shape}")
        if shape == a.shape:
            return a
        v = self._new(shape, a.dtype)
        self._emit(f"%{v.name} = tosa.reshape %{a.name} {{new_shape = array<i64: {', '.join(map(str, shape))}>}} : "
                   f"({a.type}) -> {v.type}")
        return v

    def transpose(self, a: Value, perm: Sequence[int]) -> Value:
        """``tosa.transpose`` with a constant permutation."""
        perm = [int(p) for p in perm]
        if sorted(perm) != list(range(len(a.shape))):
            raise ValueError(f"transpose: {perm} is not a permutation of {len(a.shape)} dims")
        if perm == sorted(perm):
            return a
        p = self._new((len(perm),), "i32")
        self._emit(f'%{p.name} = "tosa.const"() <{{value = dense<[{", ".join(map(str, perm))}]> : {p.type}}}> : '
                   f"() -> {p.type}")
        v = self._new(tuple(a.shape[i] for i in perm), a.dtype)
        self._emit(f"%{v.name} = tosa.transpose %{a.name}, %{p.name} : ({a.type}, {p.type}) -> {v.type}")
        return v

    def slice(self, a: Value, start: Sequence[int], size: Sequence[int]) -> Value:
        """``tosa.slice``: ``size`` elements from ``start`` in each dim."""
        start, size = [int(s) for s in start], [int(s) for s in size]
        if len(start) != len(a.shape) or len(size) != len(a.shape) or any(
                s < 0 or n <= 0 or s + n > d for s, n, d in zip(start, size, a.shape)):
            raise ValueError(f"slice: start {start} size {size} out of bounds of {a.shape}")
        if tuple(size) == a.shape:
            return a
        v = self._new(size, a.dtype)
        self._emit(f"%{v.name} = tosa.slice %{a.name} {{start = array<i64: {', '.join(map(str, start))}>, "
                   f"size = array<i64: {', '.join(map(str, size))}>}} : ({a.type}) -> {v.type}")
        return v

    def concat(self, values: Sequence[Value], axis: int) -> Value:
        """``tosa.concat`` along ``axis``."""
        first = values[0]
        axis %= len(first.shape)
        for x in values[1:]:
            if len(x.shape) != len(first.shape) or any(
                    i != axis and s != t for i, (s, t) in enumerate(zip(x.shape, first.shape))):
                raise ValueError(f"concat: shapes {[x.shape for x in values]} differ outside axis {axis}")
        shape = list(first.shape)
        shape[axis] = sum(x.shape[axis] for x in values)
        v = self._new(shape, first.dtype)
        self._emit(f"%{v.name} = tosa.concat {', '.join('%' + x.name for x in values)} {{axis = {axis} : i32}} : "
                   f"({', '.join(x.type for x in values)}) -> {v.type}")
        return v

    def gather(self, table: Value, ids: Value) -> Value:
        """Row lookup: ``table [N, D]`` by ``ids [T]`` (i32) -> ``[T, D]``."""
        if len(table.shape) != 2 or len(ids.shape) != 1 or ids.dtype != "i32":
            raise ValueError(f"gather: needs a [N, D] table and [T] i32 ids, got {table.shape} and {ids.shape} {ids.dtype}")
        (n,) = ids.shape
        rows, d = table.shape
        t3 = self.reshape(table, (1, rows, d))
        i2 = self.reshape(ids, (1, n))
        v = self._new((1, n, d), table.dtype)
        self._emit(f"%{v.name} = tosa.gather %{t3.name}, %{i2.name} : ({t3.type}, {i2.type}) -> {v.type}")
        return self.reshape(v, (n, d))

    # --- contractions ---------------------------------------------------------
    def matmul(self, a: Value, b: Value) -> Value:
        """``[..., M, K] @ [..., K, N]`` (rank 2, or rank 3 with equal batch) -> f32.

        A 16-bit operand makes the other one cast to it, so a bf16 weight meets
        bf16 activations and the PE accumulates in fp32 (what ``auto_cast``
        would do anyway).
        """
        if len(a.shape) != len(b.shape) or len(a.shape) not in (2, 3):
            raise ValueError(f"matmul: operands must both be rank 2 or rank 3, got {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2] or (len(a.shape) == 3 and a.shape[0] != b.shape[0]):
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not contract")
        if len(a.shape) == 2:
            r = self.matmul(self.reshape(a, (1,) + a.shape), self.reshape(b, (1,) + b.shape))
            return self.reshape(r, (a.shape[0], b.shape[1]))
        low = a.dtype if a.dtype != "f32" else b.dtype
        a, b = self.cast(a, low), self.cast(b, low)
        v = self._new(a.shape[:-1] + b.shape[-1:], "f32")
        self._emit(f"%{v.name} = tosa.matmul %{a.name}, %{b.name} : ({a.type}, {b.type}) -> {v.type}")
        self.matmul_flops += 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
        return v

    def attention(self, q: Value, kt: Value, v: Value, scale: float, causal: bool = False, group: int = 1,
                  query_offset: int = 0, dtype: str = "bf16") -> Value:
        """Fused attention ``softmax(scale * q @ kt [+ causal mask]) @ v`` (``trn.attention``), in ``dtype``.

        q ``[B, G*S, Dh]`` holds the ``group`` query heads sharing each of the
        B key/value heads (row ``g*S + s``), kt ``[B, Dh, T]`` (the K-cache
        layout), v ``[B, T, Dh]``. With ``causal``, key t is visible to query s
        iff ``t <= s + query_offset``. The scores stay on chip; the PE multiplies
        ``dtype`` (bf16, or f32 for exact products at the PE's fp32 rate).
        ``matmul_flops`` counts the visible (query, key) pairs.
        """
        if len(q.shape) != 3 or len(kt.shape) != 3 or len(v.shape) != 3:
            raise ValueError(f"attention: q, kt, v must be rank 3, got {q.shape}, {kt.shape}, {v.shape}")
        b, rows, dh = q.shape
        t = kt.shape[2]
        if kt.shape[:2] != (b, dh) or v.shape != (b, t, dh):
            raise ValueError(f"attention: q {q.shape}, kt {kt.shape} and v {v.shape} do not agree "
                             "(q [B, G*S, Dh], kt [B, Dh, T], v [B, T, Dh])")
        if group < 1 or rows % group:
            raise ValueError(f"attention: group {group} does not divide the {rows} query rows")
        if scale <= 0 or query_offset < 0:
            raise ValueError("attention: scale must be positive and query_offset >= 0")
        low = mlir_dtype(dtype)
        q, kt, v = self.cast(q, low), self.cast(kt, low), self.cast(v, low)
        out = self._new(q.shape, low)
        causal_attr = f", causal = true, query_offset = {query_offset}" if causal else ""
        self._emit(f"%{out.name} = trn.attention %{q.name}, %{kt.name}, %{v.name} "
                   f"{{scale = {_float(scale)} : f32, group = {group}{causal_attr}}} : "
                   f"{q.type}, {kt.type}, {v.type} -> {out.type}")
        s = rows // group
        if causal:  # query s sees min(T, s + offset + 1) keys
            full = max(0, min(s, t - query_offset))  # rows whose visible keys are not clipped by T
            pairs = sum(range(query_offset + 1, query_offset + full + 1)) + (s - full) * t
        else:
            pairs = s * t
        self.matmul_flops += 4 * b * group * pairs * dh
        return out

    def matmul_split_k(self, a: Value, b: Value, max_k: int = 16384) -> Value:
        """Rank-2 ``a @ b`` as a sum of matmuls over K chunks of at most ``max_k``.

        Written when the compiler did not split a contraction whose operands
        do not fit SBUF (K = a vocabulary, in the LM head's backward); it now
        does (MatmulKernel.cpp), and the builder keeps this graph-level split.
        """
        k = a.shape[-1]
        if len(a.shape) != 2 or len(b.shape) != 2 or k != b.shape[0]:
            raise ValueError(f"matmul_split_k: shapes {a.shape} and {b.shape} do not contract (rank 2)")
        total = None
        for start in range(0, k, max_k):
            n = min(max_k, k - start)
            part = self.matmul(self.slice(a, (0, start), (a.shape[0], n)), self.slice(b, (start, 0), (n, b.shape[1])))
            total = part if total is None else self.add(total, part)
        return total

    # --- output ---------------------------------------------------------------
    def to_mlir(self) -> str:
        """The ``func.func`` as MLIR text."""
        if not self.results:
            raise ValueError(f"graph {self.func_name!r} has no outputs")

        def arg_text(a: Argument) -> str:
            attrs = [f'trnx.name = "{a.label}"'] + (['trnx.role = "weight"'] if a.role == "weight" else [])
            attrs += [f'trnx.dtype = "{a.storage}"'] if a.storage else []
            return f"%{a.value.name}: {a.value.type} {{{', '.join(attrs)}}}"

        sig = ",\n    ".join(arg_text(a) for a in self.arguments)
        res = ", ".join(f'{v.type} {{trnx.name = "{label}"}}' for v, label in self.results)
        ret = f"  return {', '.join('%' + v.name for v, _ in self.results)} : {', '.join(v.type for v, _ in self.results)}"
        body = "\n".join(self.lines)
        return f"func.func @{self.func_name}(\n    {sig}) -> ({res}) {{\n{body}\n{ret}\n}}\n"
