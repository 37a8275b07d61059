"""YAML loading that remembers the line of every value, so spec errors can name it.

PyYAML's composer keeps a start mark on every node; :func:`load` builds plain
Python values and a side table ``{path: line}`` (1-based) from those nodes.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Tuple

import yaml

Path = Tuple[Any, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``2e12`` as a float (YAML 1.1 wants ``2.0e12``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


class LocatedError(ValueError):
    """A problem at a known line of a YAML text (``line`` is 1-based, 0 if unknown)."""

    def __init__(self, line: int, cause: str) -> None:
        super().__init__(cause)
        self.line = line
        self.cause = cause


def load(text: str) -> Tuple[Any, Dict[Path, int]]:
    """``(value, lines)`` where ``lines[path]`` is the line of the value at ``path``.

    A path is a tuple of mapping keys and sequence indices, ``()`` for the
    document. Duplicate mapping keys are an error (PyYAML would keep the last).
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise LocatedError(line, f"invalid YAML: {e.problem or e.context}") from None
    finally:
        loader.dispose()
    if node is None:
        return None, {(): 1}
    lines: Dict[Path, int] = {}
    return _build(loader, node, (), lines), lines


def _build(loader: _Loader, node: yaml.Node, path: Path, lines: Dict[Path, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: Dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                raise LocatedError(key_node.start_mark.line + 1, "mapping keys must be plain scalars")
            if key in out:
                raise LocatedError(key_node.start_mark.line + 1, f"duplicate key '{key}'")
            out[key] = _build(loader, value_node, path + (key,), lines)
            # A key's own line is where errors about the key (unknown, misplaced) point.
            lines[path + (key, "<key>")] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, path + (i,), lines) for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as e:
        raise LocatedError(node.start_mark.line + 1, f"invalid value: {e.problem}") from None
