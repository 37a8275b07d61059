"""Small built-in workloads (MLIR text) for quick sweeps and tests, no model needed.

``gemm``: one ``[m, k] x [k, n]`` matmul; ``mlp``: ``[m, k] x [k, n]``, a ReLU,
then ``[m, n] x [n, k]`` (an up and a down projection). ``m`` rows are the
tokens. Tensors are f32; the compiler's ``auto_cast`` picks the matmul dtype.
"""
from __future__ import annotations

KERNELS = ("gemm", "mlp")


def _matmul(result: str, a: str, b: str, m: int, k: int, n: int) -> str:
    return (f"  %z{result} = arith.constant dense<0.0> : tensor<{m}x{n}xf32>\n"
            f"  %{result} = linalg.matmul ins(%{a}, %{b} : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) "
            f"outs(%z{result} : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>\n")


def _relu(result: str, x: str, m: int, n: int) -> str:
    t = f"tensor<{m}x{n}xf32>"
    return (f"  %c0 = arith.constant dense<0.0> : {t}\n"
            f"  %{result} = linalg.max ins(%{x}, %c0 : {t}, {t}) outs(%c0 : {t}) -> {t}\n")


def mlir(kernel: str, m: int, k: int, n: int) -> str:
    """MLIR text of a built-in kernel (see the module docstring)."""
    if kernel == "gemm":
        args = f"%a: tensor<{m}x{k}xf32>, %b: tensor<{k}x{n}xf32>"
        body, out = _matmul("r", "a", "b", m, k, n), f"tensor<{m}x{n}xf32>"
    elif kernel == "mlp":
        args = f"%x: tensor<{m}x{k}xf32>, %up: tensor<{k}x{n}xf32>, %down: tensor<{n}x{k}xf32>"
        body = _matmul("h", "x", "up", m, k, n) + _relu("a", "h", m, n) + _matmul("r", "a", "down", m, n, k)
        out = f"tensor<{m}x{k}xf32>"
    else:
        raise ValueError(f"unknown built-in kernel {kernel!r}; known: {', '.join(KERNELS)}")
    return f"func.func @main({args}) -> {out} {{\n{body}  return %r : {out}\n}}\n"
