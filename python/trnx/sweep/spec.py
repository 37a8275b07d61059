"""Sweep specs: parse the YAML, check every part against the chip keys and models, name the line.

A spec says which chip to start from, which keys to vary and how to sample
them, which workloads to run on every design point and which metrics to keep
(docs/sweeps.md has the full format). :func:`load` returns a :class:`Spec` or
raises :class:`SpecError` whose text is ``SPEC.yaml:LINE: cause``.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from . import builtin, located
from .expressions import Expression

TOP_KEYS = ("name", "base", "parameters", "sampling", "constraints", "workloads", "metrics", "evaluator", "compile")
METHODS = ("grid", "random", "latin_hypercube", "list")
RANGE_KEYS = ("values", "min", "max", "steps", "scale")
SCALES = ("linear", "log")
MODEL_KEYS = ("model", "phase", "batch", "context", "seq", "name", "options")
MLIR_KEYS = ("mlir", "tokens", "name")
BUILTIN_KEYS = ("builtin", "m", "k", "n", "dtype", "name")
AUTO_CASTS = ("none", "matmul", "all")
DEFAULT_EVALUATOR = "trnx.sweep.evaluate:evaluate"


class SpecError(ValueError):
    """A bad spec: ``str(error)`` is ``SPEC.yaml:LINE: cause`` (what the CLI prints after ``error:``)."""

    def __init__(self, source: str, line: int, cause: str) -> None:
        self.source, self.line, self.cause = source, line, cause
        super().__init__(f"{source}:{line}: {cause}" if line else f"{source}: {cause}")


@dataclass(frozen=True)
class Parameter:
    """One varied (or fixed) chip key: discrete ``values`` or a ``[low, high]`` range."""

    key: str
    type: str
    line: int
    values: Optional[Tuple[Any, ...]] = None
    low: Optional[float] = None
    high: Optional[float] = None
    steps: Optional[int] = None
    scale: str = "linear"

    def choices(self) -> List[Any]:
        """The discrete values a grid takes (``values``, or ``steps`` points over the range)."""
        if self.values is not None:
            return list(self.values)
        assert self.steps is not None and self.low is not None and self.high is not None
        if self.steps == 1:
            return [self._cast(self.low)]
        out: List[Any] = []
        for i in range(self.steps):
            value = self._cast(self._at(i / (self.steps - 1)))
            if value not in out:
                out.append(value)
        return out

    def sample(self, u: float) -> Any:
        """The value at quantile ``u`` in [0, 1): a discrete choice, or a point of the range."""
        if self.values is not None or self.steps is not None:
            choices = self.choices()
            return choices[min(int(u * len(choices)), len(choices) - 1)]
        return self._cast(self._at(u))

    def _at(self, u: float) -> float:
        assert self.low is not None and self.high is not None
        if self.scale == "log":
            return math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    def _cast(self, x: float) -> Any:
        if self.type == "int":
            return int(round(x))
        # Six significant digits keep sampled values readable and stable in the database key.
        return float(f"{x:.6g}")


@dataclass
class Spec:
    """A checked sweep spec (see the module docstring); build it with :func:`load`."""

    source: str
    name: str
    base: str
    base_yaml: str
    parameters: List[Parameter]
    method: str = "grid"
    samples: int = 0
    seed: int = 0
    points: List[Dict[str, Any]] = field(default_factory=list)
    constraints: List[Tuple[Expression, int]] = field(default_factory=list)
    workloads: List[Dict[str, Any]] = field(default_factory=list)
    metrics: Optional[List[str]] = None
    evaluator: str = DEFAULT_EVALUATOR
    compile_options: Dict[str, str] = field(default_factory=dict)
    text: str = ""
    lines: Dict[Tuple[Any, ...], int] = field(default_factory=dict, repr=False)

    @property
    def digest(self) -> str:
        """A short hash of the spec text (recorded with each run)."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def error(self, path: Tuple[Any, ...], cause: str) -> SpecError:
        return SpecError(self.source, _line(self.lines, path), cause)


SpecLike = Union[str, "os.PathLike[str]", Mapping[str, Any], Spec]


def load(spec: SpecLike, *, check_evaluator: bool = True) -> Spec:
    """A :class:`Spec` from a YAML path, YAML text, a dict, or a Spec (returned as is).

    Raises:
        SpecError: naming the line and the cause; nothing has run yet.
    """
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, Mapping):
        text = json.dumps(spec, sort_keys=True, default=str)
        return _check(dict(spec), {}, "<spec>", text, os.getcwd())
    text_or_path = os.fspath(spec)
    if "\n" not in text_or_path and not text_or_path.lstrip().startswith("{"):
        try:
            with open(text_or_path) as f:
                text = f.read()
        except OSError as e:
            raise SpecError(text_or_path, 0, f"cannot read spec: {e.strerror}") from None
        source, directory = text_or_path, os.path.dirname(os.path.abspath(text_or_path))
    else:
        text, source, directory = text_or_path, "<spec>", os.getcwd()
    try:
        value, lines = located.load(text)
    except located.LocatedError as e:
        raise SpecError(source, e.line, e.cause) from None
    if not isinstance(value, dict):
        raise SpecError(source, _line(lines, ()), "a spec is a mapping with base, parameters, workloads, ...")
    return _check(value, lines, source, text, directory)


def _line(lines: Mapping[Tuple[Any, ...], int], path: Tuple[Any, ...]) -> int:
    # The nearest enclosing value that has a line (dict specs have none: 0).
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get((), 0)


class _Checker:
    """Walks the raw spec value; every complaint becomes a SpecError at the right line."""

    def __init__(self, raw: Dict[str, Any], lines: Dict[Tuple[Any, ...], int], source: str, directory: str):
        self.raw, self.lines, self.source, self.directory = raw, lines, source, directory

    def fail(self, path: Tuple[Any, ...], cause: str, *, at_key: bool = False) -> SpecError:
        key_path = path + ("<key>",)
        line = self.lines.get(key_path) if at_key else None
        return SpecError(self.source, line or _line(self.lines, path), cause)

    def mapping(self, path: Tuple[Any, ...], value: Any, allowed: Tuple[str, ...], what: str) -> Dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"{what} must be a mapping, not {_kind(value)}")
        for key in value:
            if key not in allowed:
                raise self.fail(path + (key,), f"unknown key '{key}' in {what} (allowed: {', '.join(allowed)})",
                                at_key=True)
        return value

    def integer(self, path: Tuple[Any, ...], value: Any, what: str, minimum: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"{what} must be an integer, not {_kind(value)} {value!r}")
        if value < minimum:
            raise self.fail(path, f"{what} must be at least {minimum}, not {value}")
        return value

    def string(self, path: Tuple[Any, ...], value: Any, what: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"{what} must be a non-empty string, not {_kind(value)} {value!r}")
        return value


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping", type(None): "nothing"}.get(type(value), type(value).__name__)


def _check(raw: Dict[str, Any], lines: Dict[Tuple[Any, ...], int], source: str, text: str, directory: str) -> Spec:
    from .. import chips
    from .._trnx import TrnxError

    c = _Checker(raw, lines, source, directory)
    c.mapping((), raw, TOP_KEYS, "the spec")
    for required in ("base", "workloads"):
        if required not in raw:
            raise c.fail((), f"missing '{required}'")
    base_name = c.string(("base",), raw["base"], "base")
    base_path = base_name if base_name in chips.presets() else os.path.join(directory, base_name)
    try:
        base = chips.load(base_name if base_name in chips.presets() else base_path)
    except TrnxError as e:
        raise c.fail(("base",), f"base chip '{base_name}': {e}") from None
    fields = {f["key"]: f for f in _fields()}
    name = raw.get("name", os.path.splitext(os.path.basename(source))[0] if source != "<spec>" else "sweep")
    name = c.string(("name",), name, "name")
    parameters = _parameters(c, raw.get("parameters", {}), fields, base)
    method, samples, seed, points = _sampling(c, raw.get("sampling", {}), parameters, fields, base)
    constraints = _constraints(c, raw.get("constraints", []), fields)
    workloads = _workloads(c, raw["workloads"])
    evaluator = c.string(("evaluator",), raw.get("evaluator", DEFAULT_EVALUATOR), "evaluator")
    if ":" not in evaluator:
        raise c.fail(("evaluator",), f"evaluator must be 'module:function', not '{evaluator}'")
    metrics = _metrics(c, raw.get("metrics"), workloads, evaluator)
    compile_options = _compile_options(c, raw.get("compile", {}))
    return Spec(source=source, name=name, base=base_name, base_yaml=base.to_yaml(), parameters=parameters,
                method=method, samples=samples, seed=seed, points=points, constraints=constraints,
                workloads=workloads, metrics=metrics, evaluator=evaluator, compile_options=compile_options,
                text=text, lines=lines)


def _fields() -> List[Dict[str, Any]]:
    from .. import _trnx

    return list(_trnx.chip_fields())


def check_value(key: str, value: Any, fields: Mapping[str, Mapping[str, Any]]) -> Optional[str]:
    """Why ``value`` cannot be chip key ``key`` (type or range), or None if it can."""
    if key not in fields:
        return f"unknown chip key '{key}' (trnx.chips.fields() lists them)"
    f = fields[key]
    kind = f["type"]
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "dtype list":
        ok = isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, str)
    if not ok:
        want = {"dtype list": "a list of dtype names", "int": "an integer", "float": "a number",
                "bool": "true or false"}.get(kind, "a string")
        return f"'{key}' takes {want}, not {_kind(value)} {value!r}"
    if kind in ("int", "float") and not (f["min"] <= value <= f["max"]):
        return f"'{key}' = {value} is out of range [{f['min']:g}, {f['max']:g}]"
    return None


def chip_value(value: Any) -> Any:
    """A spec value in the form ``Chip.derive`` takes (dtype lists as ``[a, b]`` text)."""
    return f"[{', '.join(value)}]" if isinstance(value, list) else value


def _try_derive(c: _Checker, path: Tuple[Any, ...], base: Any, key: str, value: Any) -> None:
    # The C++ setter checks one value (parse, dtype names, range). Rules across keys
    # (PE rows <= partitions, ...) are checked per design point: a bad point is an error row.
    from .._trnx import TrnxError

    try:
        base._native.copy().set(key, chip_value(value))
    except TrnxError as e:
        raise c.fail(path, f"'{key}' = {value!r}: {e}") from None


def _parameters(c: _Checker, raw: Any, fields: Mapping[str, Any], base: Any) -> List[Parameter]:
    if not isinstance(raw, dict):
        raise c.fail(("parameters",), f"parameters must be a mapping of chip keys, not {_kind(raw)}")
    out = []
    for key, spec in raw.items():
        path = ("parameters", key)
        if key not in fields or key in ("name", "description"):
            raise c.fail(path, f"unknown chip key '{key}' (trnx.chips.fields() lists them)", at_key=True)
        kind = fields[key]["type"]
        line = _line(c.lines, path)
        values_path = path + ("values",)
        if isinstance(spec, list) and kind != "dtype list" or (kind == "dtype list" and _is_list_of_lists(spec)):
            spec, values_path = {"values": spec}, path  # the short form: the list is the values
        if not isinstance(spec, dict):
            problem = check_value(key, spec, fields)
            if problem:
                raise c.fail(path, problem)
            _try_derive(c, path, base, key, spec)
            out.append(Parameter(key, kind, line, values=(spec,)))
            continue
        c.mapping(path, spec, RANGE_KEYS, f"parameter '{key}'")
        if "values" in spec:
            extra = [k for k in spec if k != "values"]
            if extra:
                raise c.fail(path + (extra[0],), f"'{extra[0]}' does not go with 'values'", at_key=True)
            values = spec["values"]
            if not isinstance(values, list):
                raise c.fail(values_path, f"values must be a list, not {_kind(values)}")
            if not values:
                raise c.fail(values_path, f"empty range: '{key}' has no values")
            for i, v in enumerate(values):
                problem = check_value(key, v, fields)
                if problem:
                    raise c.fail(values_path + (i,), problem)
                _try_derive(c, values_path + (i,), base, key, v)
            out.append(Parameter(key, kind, line, values=tuple(values)))
            continue
        if kind not in ("int", "float"):
            raise c.fail(path, f"'{key}' is {kind}: give a list of values, not a range")
        for bound in ("min", "max"):
            if bound not in spec:
                raise c.fail(path, f"a range for '{key}' needs min and max (or give values)")
            problem = check_value(key, spec[bound], fields)
            if problem:
                raise c.fail(path + (bound,), problem)
            _try_derive(c, path + (bound,), base, key, spec[bound])
        low, high = spec["min"], spec["max"]
        if low > high:
            raise c.fail(path + ("max",), f"empty range: '{key}' has min {low} > max {high}")
        steps = spec.get("steps")
        if steps is not None:
            c.integer(path + ("steps",), steps, "steps")
        scale = spec.get("scale", "linear")
        if scale not in SCALES:
            raise c.fail(path + ("scale",), f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
        if scale == "log" and low <= 0:
            raise c.fail(path + ("min",), f"a log scale needs min > 0, not {low}")
        out.append(Parameter(key, kind, line, low=low, high=high, steps=steps, scale=scale))
    return out


def _is_list_of_lists(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, list) for v in value)


def _sampling(c: _Checker, raw: Any, parameters: List[Parameter], fields: Mapping[str, Any],
              base: Any) -> Tuple[str, int, int, List[Dict[str, Any]]]:
    path = ("sampling",)
    c.mapping(path, raw, ("method", "samples", "seed", "points"), "sampling")
    method = raw.get("method", "grid")
    if method not in METHODS:
        raise c.fail(path + ("method",), f"method must be one of {', '.join(METHODS)}, not {method!r}")
    seed = raw.get("seed", 0)
    c.integer(path + ("seed",), seed, "seed", minimum=0)
    samples = 0
    if method in ("random", "latin_hypercube"):
        if "samples" not in raw:
            raise c.fail(path, f"method {method} needs 'samples'")
        samples = c.integer(path + ("samples",), raw["samples"], "samples")
    elif "samples" in raw:
        raise c.fail(path + ("samples",), f"'samples' applies to random and latin_hypercube, not {method}",
                     at_key=True)
    if method == "grid":
        for p in parameters:
            if p.values is None and p.steps is None:
                raise c.fail(("parameters", p.key), f"a grid needs 'steps' for the range of '{p.key}' "
                             "(or use method random / latin_hypercube)")
    points: List[Dict[str, Any]] = []
    if method == "list":
        raw_points = raw.get("points")
        if not isinstance(raw_points, list) or not raw_points:
            raise c.fail(path + ("points",), "method list needs 'points': a non-empty list of {chip key: value}")
        for i, point in enumerate(raw_points):
            ppath = path + ("points", i)
            if not isinstance(point, dict):
                raise c.fail(ppath, f"a point must be a mapping of chip keys, not {_kind(point)}")
            for key, value in point.items():
                problem = check_value(key, value, fields)
                if problem:
                    raise c.fail(ppath + (key,), problem, at_key=key not in fields)
                _try_derive(c, ppath + (key,), base, key, value)
            points.append(dict(point))
    elif "points" in raw:
        raise c.fail(path + ("points",), "'points' applies to method list", at_key=True)
    return method, samples, seed, points


def _constraints(c: _Checker, raw: Any, fields: Mapping[str, Any]) -> List[Tuple[Expression, int]]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise c.fail(("constraints",), f"constraints must be a list of expressions, not {_kind(raw)}")
    out = []
    for i, text in enumerate(raw):
        path = ("constraints", i)
        c.string(path, text, "a constraint")
        try:
            expression = Expression(text)
        except ValueError as e:
            raise c.fail(path, str(e)) from None
        for name in expression.names():
            if name not in fields:
                raise c.fail(path, f"constraint '{text}': unknown chip key '{name}'")
        out.append((expression, _line(c.lines, path)))
    return out


def _expand(c: _Checker, path: Tuple[Any, ...], spec: Dict[str, Any], keys: Tuple[str, ...]) -> List[Dict[str, Any]]:
    """The cartesian product over the keys whose value is a list (``batch: [1, 64]``)."""
    axes = []
    for key in keys:
        if key not in spec:
            continue
        values = spec[key] if isinstance(spec[key], list) else [spec[key]]
        if not values:
            raise c.fail(path + (key,), f"empty range: '{key}' has no values")
        for i, v in enumerate(values):
            c.integer(path + (key, i) if isinstance(spec[key], list) else path + (key,), v, key)
        axes.append([(key, v) for v in values])
    return [dict(combo) for combo in itertools.product(*axes)]


def _workloads(c: _Checker, raw: Any) -> List[Dict[str, Any]]:
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise c.fail(("workloads",), "workloads must be a non-empty list")
    out: List[Dict[str, Any]] = []
    for i, w in enumerate(raw):
        path = ("workloads", i)
        if not isinstance(w, dict):
            raise c.fail(path, f"a workload is a mapping (model:, mlir: or builtin:), not {_kind(w)}")
        if "model" in w:
            out.extend(_model_workloads(c, path, w))
        elif "mlir" in w:
            c.mapping(path, w, MLIR_KEYS, "an mlir workload")
            out.append(_mlir_workload(c, path, w))
        elif "builtin" in w:
            c.mapping(path, w, BUILTIN_KEYS, "a builtin workload")
            kernel = w["builtin"]
            if kernel not in builtin.KERNELS:
                raise c.fail(path + ("builtin",), f"unknown builtin '{kernel}' (known: {', '.join(builtin.KERNELS)})")
            dtype = w.get("dtype", "f32")
            if dtype not in builtin.DTYPES:
                raise c.fail(path + ("dtype",), f"builtin dtype must be one of {', '.join(builtin.DTYPES)}, not '{dtype}'")
            defaults = {"m": 128, "k": 512, "n": 512}
            for combo in _expand(c, path, {**defaults, **{k: v for k, v in w.items() if k != "dtype"}},
                                 ("m", "k", "n")):
                name = w.get("name", kernel)
                text = builtin.mlir(kernel, combo["m"], combo["k"], combo["n"], dtype)
                label = f"{name}-{combo['m']}x{combo['k']}x{combo['n']}" + ("" if dtype == "f32" else f"-{dtype}")
                out.append({"kind": "mlir", "name": label, "source": f"builtin:{kernel}", **combo,
                            "tokens": combo["m"], "text": text})
        else:
            raise c.fail(path, "a workload needs 'model', 'mlir' or 'builtin'")
    names = [w["name"] for w in out]
    for w in out:
        if names.count(w["name"]) > 1:
            raise c.fail(("workloads",), f"two workloads are both named '{w['name']}'; give one a 'name'")
    return out


def _model_workloads(c: _Checker, path: Tuple[Any, ...], w: Dict[str, Any]) -> List[Dict[str, Any]]:
    c.mapping(path, w, MODEL_KEYS, "a model workload")
    model = c.string(path + ("model",), w["model"], "model")
    try:
        from .. import models
    except ImportError as e:  # the models package is part of trnx; a broken install is the user's problem
        raise c.fail(path + ("model",), f"trnx.models is not available: {e}") from None
    if model.lower().replace("_", "-") not in models.configs():
        raise c.fail(path + ("model",), f"unknown model '{model}' (known: {', '.join(models.configs())})")
    phase = w.get("phase", "decode")
    if phase not in models.PHASES:
        raise c.fail(path + ("phase",), f"phase must be one of {', '.join(models.PHASES)}, not {phase!r}")
    length_key = "context" if phase == "decode" else "seq"
    other = "seq" if phase == "decode" else "context"
    if other in w:
        raise c.fail(path + (other,), f"phase {phase} takes '{length_key}', not '{other}'", at_key=True)
    options = w.get("options", {})
    c.mapping(path + ("options",), options, tuple(options) if isinstance(options, dict) else (), "options")
    spec = {"batch": 1, length_key: 2048, **{k: v for k, v in w.items() if k in ("batch", length_key)}}
    out = []
    for combo in _expand(c, path, spec, ("batch", length_key)):
        unit = "c" if phase == "decode" else "s"
        name = w.get("name") or f"{model}/{phase}/b{combo['batch']}/{unit}{combo[length_key]}"
        if w.get("name") and len(_expand(c, path, spec, ("batch", length_key))) > 1:
            name = f"{w['name']}/b{combo['batch']}/{unit}{combo[length_key]}"
        out.append({"kind": "model", "name": name, "model": model, "phase": phase, **combo,
                    **({"options": dict(options)} if options else {})})
    return out


def _mlir_workload(c: _Checker, path: Tuple[Any, ...], w: Dict[str, Any]) -> Dict[str, Any]:
    source = c.string(path + ("mlir",), w["mlir"], "mlir")
    if "func.func" in source or source.lstrip().startswith("module"):
        text, origin = source, "inline"
    else:
        file = source if os.path.isabs(source) else os.path.join(c.directory, source)
        try:
            with open(file) as f:
                text = f.read()
        except OSError as e:
            raise c.fail(path + ("mlir",), f"cannot read '{source}': {e.strerror}") from None
        origin = source
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    name = w.get("name") or (os.path.splitext(os.path.basename(origin))[0] if origin != "inline" else "mlir")
    out = {"kind": "mlir", "name": c.string(path + ("name",), name, "name"), "source": origin, "sha256": digest,
           "text": text}
    if "tokens" in w:
        out["tokens"] = c.integer(path + ("tokens",), w["tokens"], "tokens")
    return out


def _metrics(c: _Checker, raw: Any, workloads: List[Dict[str, Any]], evaluator: str) -> Optional[List[str]]:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise c.fail(("metrics",), "metrics must be a non-empty list of names")
    for i, m in enumerate(raw):
        c.string(("metrics", i), m, "a metric")
    if evaluator == DEFAULT_EVALUATOR:
        from .evaluate import metric_names

        known = set()
        for w in workloads:
            known |= metric_names(w)
        for i, m in enumerate(raw):
            if m not in known:
                raise c.fail(("metrics", i), f"unknown metric '{m}' (known: {', '.join(sorted(known))})")
    return list(raw)


def _compile_options(c: _Checker, raw: Any) -> Dict[str, str]:
    c.mapping(("compile",), raw, ("auto_cast", "auto_cast_type"), "compile")
    out = {}
    if "auto_cast" in raw:
        if raw["auto_cast"] not in AUTO_CASTS:
            raise c.fail(("compile", "auto_cast"), f"auto_cast must be one of {', '.join(AUTO_CASTS)}")
        out["auto_cast"] = raw["auto_cast"]
    if "auto_cast_type" in raw:
        out["auto_cast_type"] = c.string(("compile", "auto_cast_type"), raw["auto_cast_type"], "auto_cast_type")
    return out
