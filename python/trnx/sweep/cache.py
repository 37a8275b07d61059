"""The compile cache: one compile per distinct (workload, compile-relevant chip keys) in a sweep.

The compiler reads only the chip's verifier limits (``ChipConfig::limits()``
in simulator/config/ChipConfig.cpp, via compiler/codegen/Target.h): the keys
the chip registry marks ``codegen``; every other key only changes the
simulation. An evaluator asks the cache for a
program with :meth:`CompileCache.get_or_compile`; entries a worker compiles
are shipped to the workers that run the rest of that group (:meth:`export`
/ :meth:`seed`), so the compile happens once per sweep, not once per worker.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Dict, Hashable, Mapping, Optional

from ..chips import codegen_keys as _codegen_keys
from .points import canonical_json

# The chip registry's codegen keys (ConfigFields.cpp; an audit test holds the
# marks to what changes the compiler's limits).
COMPILE_KEYS = tuple(_codegen_keys())


def compile_group(workload: Mapping[str, Any], overrides: Mapping[str, Any]) -> str:
    """Which compile a (workload, design point) pair needs: equal strings share programs."""
    relevant = {k: v for k, v in overrides.items() if k in COMPILE_KEYS}
    identity = {k: v for k, v in workload.items() if k != "text"}
    return canonical_json([identity, relevant])


def compile_key(chip: Any, workload: Mapping[str, Any], part: str = "") -> str:
    """The cache key for one program of ``workload`` on ``chip`` (``part`` tells programs apart)."""
    relevant = {k: str(chip[k]) for k in COMPILE_KEYS}
    identity = {k: v for k, v in workload.items() if k != "text"}
    return canonical_json([identity, relevant, part])


class CompileFailure:
    """A remembered compile error: compiling again would fail the same way."""

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type, self.message = error_type, message


class CompileCache:
    """A bounded, thread-safe map from compile keys to compiled artifacts (or failures).

    ``compiles`` counts the compiles this cache ran (tests and the results
    table use it to show reuse).
    """

    def __init__(self, capacity: int = 64) -> None:
        self._entries: "OrderedDict[Hashable, Any]" = OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()
        self.capacity = capacity
        self.compiles = 0

    def start_recording(self) -> None:
        """Starts noting which keys this thread uses (see :meth:`recorded`)."""
        self._local.used = set()

    def recorded(self) -> set:
        """Keys this thread used since :meth:`start_recording`."""
        return set(getattr(self._local, "used", ()))

    def get_or_compile(self, key: Hashable, compile_fn: Callable[[], Any], *,
                       pack: Callable[[Any], Any] = lambda x: x,
                       unpack: Callable[[Any], Any] = lambda x: x) -> Any:
        """The artifact for ``key``, compiling it with ``compile_fn`` the first time.

        ``pack``/``unpack`` turn the artifact into something picklable for
        :meth:`export` (a ``trnx.Program`` travels as its ``.tnx`` bytes).
        A compile that raises is remembered and re-raised as ``CompileError``.
        """
        used = getattr(self._local, "used", None)
        if used is not None:
            used.add(key)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            try:
                artifact = compile_fn()
                entry = ("ok", artifact, pack(artifact))
            except Exception as e:  # remembered: the same compile fails the same way
                entry = ("error", CompileFailure(type(e).__name__, str(e)), None)
            self.compiles += 1
            self._store(key, entry)
        elif entry[0] == "packed":
            entry = ("ok", unpack(entry[2]), entry[2])
            self._store(key, entry)
        if entry[0] == "error":
            raise CompileError(entry[1].error_type, entry[1].message)
        return entry[1]

    def _store(self, key: Hashable, entry: Any) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def export(self, keys: Optional[set] = None) -> Dict[Hashable, Any]:
        """Picklable entries (all, or those in ``keys``) for :meth:`seed` on another worker."""
        with self._lock:
            items = list(self._entries.items())
        out = {}
        for key, (state, value, packed) in items:
            if keys is not None and key not in keys:
                continue
            out[key] = ("error", value, None) if state == "error" else ("packed", None, packed)
        return out

    def seed(self, entries: Mapping[Hashable, Any]) -> None:
        """Adds entries exported elsewhere; existing entries win (they are already unpacked)."""
        for key, entry in entries.items():
            with self._lock:
                present = key in self._entries
            if not present:
                self._store(key, entry)

    def keys(self) -> set:
        with self._lock:
            return set(self._entries)


class CompileError(Exception):
    """A compile failed (possibly on another worker); carries the original type and message."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
