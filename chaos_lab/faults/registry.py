"""Every fault kind, found by looking: each module of this package that defines a concrete `Fault` subclass
with a `kind` adds that kind. A new fault kind is its own file here and nothing else.

Scenarios name a kind and its params as plain data; `build_fault` turns that into the fault object."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable
from typing import Any

import chaos_lab.faults as package
from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault
from chaos_lab.lab.protocol import Lab


def _discover() -> dict[str, type[Fault]]:
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    found: dict[str, type[Fault]] = {}
    todo = list(Fault.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if inspect.isabstract(cls) or "kind" not in {k for c in cls.__mro__ for k in vars(c)}:
            continue
        if not cls.__module__.startswith(f"{package.__name__}."):
            continue  # a test's throwaway subclass is not a kind of the lab
        if cls.kind in found and found[cls.kind] is not cls:
            raise RuntimeError(f"fault kind {cls.kind!r} defined twice: {found[cls.kind]} and {cls}")
        found[cls.kind] = cls
    return dict(sorted(found.items()))


FAULTS: dict[str, type[Fault]] = _discover()
FAULT_KINDS = frozenset(FAULTS)


def fault_class(kind: str) -> type[Fault]:
    return FAULTS[kind]


def effects_of(kinds: Iterable[str]) -> frozenset[Effect]:
    """Every effect any of these kinds has: what the checkers that apply to a run are chosen by."""
    return frozenset(e for kind in kinds for e in FAULTS[kind].effects)


def build_fault(kind: str, params: dict[str, Any], lab: Lab, toxiproxy_url: str) -> Fault:
    if kind not in FAULTS:
        raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
    return FAULTS[kind].build(params, lab, toxiproxy_url)
