"""Constraint expressions: Python-like boolean formulas over chip keys, evaluated safely.

``"pe.clock_hz <= 2 * dve.clock_hz and hbm.bytes_per_second / 1e12 < 16"``:
dotted names are chip keys; arithmetic, comparisons, ``and/or/not``,
``x if c else y``, numbers, strings, lists and a few functions (``min``, ``max``,
``abs``, ``log2``, ``sqrt``, ``len``) are allowed. Nothing else parses: no
attribute access on values, no subscripts, no lambdas, no imports.
"""
from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable, Dict, Iterable, List, Mapping

FUNCTIONS: Dict[str, Callable[..., Any]] = {
    "min": min, "max": max, "abs": abs, "round": round, "len": len,
    "log2": math.log2, "log10": math.log10, "sqrt": math.sqrt, "int": int, "float": float,
}


def _power(base: Any, exponent: Any) -> Any:
    # Bounded so a constraint cannot stall the sweep computing 10**10**10.
    if abs(exponent) > 1024:
        raise ValueError(f"exponent {exponent} is too large")
    return operator.pow(base, exponent)


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: _power}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b}


class Expression:
    """A parsed constraint; :meth:`names` are the chip keys it reads."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            self._tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as e:
            raise ValueError(f"constraint '{text}' is not a valid expression: {e.msg}") from None
        self._names: List[str] = []
        self._check(self._tree)

    def names(self) -> List[str]:
        return list(self._names)

    def _check(self, node: ast.AST) -> None:
        name = _dotted(node)
        if name is not None:
            if name in FUNCTIONS:
                raise ValueError(f"constraint '{self.text}': {name} is a function; call it")
            self._names.append(name)
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
            return
        children: Iterable[ast.AST]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            children = (node.left, node.right)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            children = (node.operand,)
        elif isinstance(node, ast.BoolOp):
            children = node.values
        elif isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            children = (node.left, *node.comparators)
        elif isinstance(node, ast.IfExp):
            children = (node.test, node.body, node.orelse)
        elif isinstance(node, (ast.List, ast.Tuple)):
            children = node.elts
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
              and not node.keywords):
            children = node.args
        else:
            what = type(node).__name__
            raise ValueError(f"constraint '{self.text}': {what} is not allowed (use chip keys, numbers, "
                             f"arithmetic, comparisons, and/or/not, {', '.join(sorted(FUNCTIONS))})")
        for child in children:
            self._check(child)

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The expression's value with chip keys read from ``values``."""
        return _eval(self._tree, values)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def _dotted(node: ast.AST):
    """``a.b.c`` as the string "a.b.c" if ``node`` is a plain dotted name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _eval(node: ast.AST, values: Mapping[str, Any]) -> Any:
    name = _dotted(node)
    if name is not None:
        return values[name]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, values))
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_eval(v, values) for v in node.values)
        return any(_eval(v, values) for v in node.values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, values)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, values)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body, values) if _eval(node.test, values) else _eval(node.orelse, values)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, values) for e in node.elts]
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    return FUNCTIONS[node.func.id](*(_eval(a, values) for a in node.args))
