"""Checkers: one module per invariant, each `check(obs, **params) -> Verdict`, pure functions of what was
observed (history, ledger file, broker record, engine state) so they can be tested without Docker.

A checker module may declare `APPLIES_TO` (fault effects) and `AUTO_PARAMS`: every scenario and explored
schedule with a fault of one of those effects runs it, with those params unless the scenario names it
itself. With nothing of that kind in the run it answers `unknown`. A module without `APPLIES_TO` runs only
where a scenario names it (the core invariants are named by every scenario: chaos_lab/scenarios/checks.py).
A new checker is its module here: this package finds it."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from chaos_lab.effects import Effect
from chaos_lab.models import CheckerSpec, Observation, Verdict


def _discover() -> tuple[ModuleType, ...]:
    """Every module of this package that defines a checker (`NAME` and `check`): a new checker is its file."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME") and callable(getattr(module, "check", None)):
            found.append(module)
    return tuple(found)


MODULES: tuple[ModuleType, ...] = _discover()
CHECKERS: dict[str, Callable[..., Verdict]] = {m.NAME: m.check for m in MODULES}
#: checker -> the fault effects it applies to (only checkers that declare them)
APPLIES_TO: dict[str, frozenset[Effect]] = {m.NAME: m.APPLIES_TO for m in MODULES if hasattr(m, "APPLIES_TO")}
AUTO_PARAMS: dict[str, dict[str, Any]] = {m.NAME: dict(getattr(m, "AUTO_PARAMS", {})) for m in MODULES}


def with_applicable(specs: Iterable[CheckerSpec], effects: Iterable[Effect]) -> tuple[CheckerSpec, ...]:
    """`specs` and, after them, every checker that applies to one of `effects` and is not named already."""
    specs, present = tuple(specs), frozenset(effects)
    named = {s.name for s in specs}
    extra = [
        CheckerSpec(name=name, params=AUTO_PARAMS[name])
        for name, wanted in APPLIES_TO.items()
        if name not in named and not wanted.isdisjoint(present)
    ]
    return (*specs, *extra)


def run_checkers(specs: list[CheckerSpec] | tuple[CheckerSpec, ...], obs: Observation) -> list[Verdict]:
    """Every checker runs even if one crashes: a crash is a failed verdict naming the exception."""
    verdicts = []
    for spec in specs:
        try:
            verdicts.append(CHECKERS[spec.name](obs, **spec.params))
        except Exception as exc:
            verdicts.append(
                Verdict(
                    name=spec.name,
                    ok=False,
                    summary=f"checker crashed: {type(exc).__name__}: {exc}",
                    evidence={"params": spec.params},
                )
            )
    return verdicts


def known(name: str) -> bool:
    return name in CHECKERS


__all__ = ["APPLIES_TO", "CHECKERS", "known", "run_checkers", "with_applicable"]
