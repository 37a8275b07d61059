"""Design points: the chip overrides a spec's sampling method produces, filtered by its constraints.

Every method is deterministic for a given spec (seeded), so re-running a spec
regenerates the same points and the results store can skip finished ones.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping

import numpy as np

from .spec import Parameter, Spec, SpecError


@dataclass(frozen=True)
class DesignPoint:
    """One chip variant: ``overrides`` of the base chip, numbered in generation order."""

    index: int
    overrides: Dict[str, Any]

    @property
    def key(self) -> str:
        """Canonical JSON of the overrides: the point's identity in the results store."""
        return canonical_json(self.overrides)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _grid(parameters: List[Parameter]) -> List[Dict[str, Any]]:
    axes = [[(p.key, v) for v in p.choices()] for p in parameters]
    return [dict(combo) for combo in itertools.product(*axes)]


def _random(parameters: List[Parameter], samples: int, seed: int) -> List[Dict[str, Any]]:
    rng = np.random.default_rng(seed)
    u = rng.random((samples, len(parameters)))
    return [{p.key: p.sample(float(u[i, j])) for j, p in enumerate(parameters)} for i in range(samples)]


def _latin_hypercube(parameters: List[Parameter], samples: int, seed: int) -> List[Dict[str, Any]]:
    # One sample per stratum of every parameter, strata paired by independent permutations.
    rng = np.random.default_rng(seed)
    u = np.empty((samples, len(parameters)))
    for j in range(len(parameters)):
        u[:, j] = (rng.permutation(samples) + rng.random(samples)) / samples
    return [{p.key: p.sample(float(u[i, j])) for j, p in enumerate(parameters)} for i in range(samples)]


def generate(spec: Spec, base_values: Mapping[str, Any]) -> List[DesignPoint]:
    """The spec's design points, in a stable order, constraints applied, duplicates dropped.

    ``base_values`` are the base chip's keys (constraints may read keys the
    sweep does not vary).

    Raises:
        SpecError: if a constraint cannot be evaluated or excludes every point.
    """
    fixed = [p for p in spec.parameters if p.values is not None and len(p.values) == 1]
    varied = [p for p in spec.parameters if p not in fixed]
    if spec.method == "grid":
        raw = _grid(varied)
    elif spec.method == "random":
        raw = _random(varied, spec.samples, spec.seed)
    elif spec.method == "latin_hypercube":
        raw = _latin_hypercube(varied, spec.samples, spec.seed)
    else:
        raw = [dict(point) for point in spec.points]
    constant = {p.key: p.values[0] for p in fixed}  # type: ignore[index]
    points: List[DesignPoint] = []
    seen = set()
    for overrides in raw:
        overrides = {**constant, **overrides}
        key = canonical_json(overrides)
        if key in seen or not _allowed(spec, base_values, overrides):
            continue
        seen.add(key)
        points.append(DesignPoint(len(points), overrides))
    if not points:
        line = spec.constraints[0][1] if spec.constraints else 0
        raise SpecError(spec.source, line, "the constraints exclude every design point")
    return points


def _allowed(spec: Spec, base_values: Mapping[str, Any], overrides: Mapping[str, Any]) -> bool:
    values = {**base_values, **overrides}
    for expression, line in spec.constraints:
        try:
            if not expression.evaluate(values):
                return False
        except Exception as e:  # a constraint that cannot be evaluated is a spec error, not a point error
            raise SpecError(spec.source, line, f"constraint '{expression.text}' fails on {overrides}: "
                            f"{type(e).__name__}: {e}") from None
    return True
