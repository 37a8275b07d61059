"""Small built-in workloads (MLIR text) for quick sweeps and tests, no model needed.

``gemm``: one ``[m, k] x [k, n]`` matmul; ``mlp``: ``[m, k] x [k, n]``, a ReLU,
then ``[m, n] x [n, k]`` (an up and a down projection). ``m`` rows are the
tokens. Tensors are f32 (the compiler's ``auto_cast`` picks the matmul
dtype, cast on chip) or bf16 (``dtype: bf16``: bf16 in HBM, fp32 results).
"""
from __future__ import annotations

KERNELS = ("gemm", "mlp")
DTYPES = ("f32", "bf16")


def _matmul(result: str, a: str, b: str, m: int, k: int, n: int, dt: str = "f32") -> str:
    return (f"  %z{result} = arith.constant dense<0.0> : tensor<{m}x{n}xf32>\n"
            f"  %{result} = linalg.matmul ins(%{a}, %{b} : tensor<{m}x{k}x{dt}>, tensor<{k}x{n}x{dt}>) "
            f"outs(%z{result} : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>\n")


def _relu(result: str, x: str, m: int, n: int) -> str:
    t = f"tensor<{m}x{n}xf32>"
    return (f"  %c0 = arith.constant dense<0.0> : {t}\n"
            f"  %{result} = linalg.max ins(%{x}, %c0 : {t}, {t}) outs(%c0 : {t}) -> {t}\n")


def mlir(kernel: str, m: int, k: int, n: int, dtype: str = "f32") -> str:
    """MLIR text of a built-in kernel (see the module docstring)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown builtin dtype {dtype!r}; known: {', '.join(DTYPES)}")
    if kernel == "gemm":
        args = f"%a: tensor<{m}x{k}x{dtype}>, %b: tensor<{k}x{n}x{dtype}>"
        body, out = _matmul("r", "a", "b", m, k, n, dtype), f"tensor<{m}x{n}xf32>"
    elif dtype != "f32":
        raise ValueError(f"builtin {kernel!r} takes f32 only")
    elif kernel == "mlp":
        args = f"%x: tensor<{m}x{k}xf32>, %up: tensor<{k}x{n}xf32>, %down: tensor<{n}x{k}xf32>"
        body = _matmul("h", "x", "up", m, k, n) + _relu("a", "h", m, n) + _matmul("r", "a", "down", m, n, k)
        out = f"tensor<{m}x{k}xf32>"
    else:
        raise ValueError(f"unknown built-in kernel {kernel!r}; known: {', '.join(KERNELS)}")
    return f"func.func @main({args}) -> {out} {{\n{body}  return %r : {out}\n}}\n"
