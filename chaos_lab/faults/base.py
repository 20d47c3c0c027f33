"""The nemesis: faults as small inject()/heal() classes, and a registry that heals whatever is still injected.

Healing must happen whatever goes wrong (a checker crash, Ctrl-C, SIGTERM from CI): the Nemesis is a context
manager, and every live Nemesis is also healed at interpreter exit.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from chaos_lab.effects import Effect
from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab
from chaos_lab.models import OWN_WINDOW, Goal
from chaos_lab.workload.history import History

#: every write-failure event the engine reports: a fault that breaks writes must make one of them happen
WRITE_FAILED = (
    "ledger_write_failed",
    "ledger_recovery_failed",
    "snapshot_write_failed",
    "kill_switch_save_failed",
    "config_write_failed",
    "bars_write_failed",
)


def goal(*events: str, why: str, anywhere: bool = False, **where: int | str | bool) -> Goal:
    """A default goal: one of `events` (with these fields) inside the fault's window, or `anywhere`."""
    return Goal(events=events, during=None if anywhere else OWN_WINDOW, where=where, why=why)


class FaultError(RuntimeError):
    """A fault could not be injected or healed (the lab refused): the scenario cannot claim it happened."""


class Fault(ABC):
    """One fault kind: everything the lab needs to know about it lives on its class."""

    kind: ClassVar[str]
    #: what it does to the engine's world (recorded with each inject): checkers choose windows by these
    effects: ClassVar[frozenset[Effect]] = frozenset()
    #: the step after which the engine runs again as a new process: its inject (restart) or its heal (a kill
    #: or stop is healed by starting the engine); the explorer places after-restart actions there
    restarts_engine: ClassVar[Literal["inject", "heal"] | None] = None
    #: set inside the running engine process (a libfiu point, a libfaketime file in its /tmp): it cannot
    #: strike a stopped or paused engine, and a restart undoes it
    in_process: ClassVar[bool] = False
    #: how the explorer draws it (None: the explorer leaves the kind out and its report says so)
    explore: ClassVar[ExploreRule | None] = None
    #: what a run must show for this fault to have met its target (reach events; `during=OWN_WINDOW` binds a
    #: goal to the inject step's window); a scenario may declare its own goals instead
    goals: ClassVar[tuple[Goal, ...]] = ()
    #: a correct engine may come back with its kill switch on after this fault (a damaged kill-switch file or
    #: ledger): the recovery wait must not read that as an engine that will not recover
    may_trip_kill_switch: ClassVar[bool] = False
    #: what a scenario may give as `params` (validated when a file is loaded): none unless a kind declares it
    Params: ClassVar[type[FaultParams]] = FaultParams

    @classmethod
    def default_goals(cls, params: dict[str, Any]) -> tuple[Goal, ...]:
        """The goals of one inject with these params (a kind whose reach depends on them overrides this)."""
        return cls.goals

    @classmethod
    def stops_engine(cls) -> bool:
        """The engine does not answer while this fault holds: availability exempts it."""
        return Effect.ENGINE_DOWN in cls.effects

    @classmethod
    def build(cls, params: dict[str, Any], lab: Lab, toxiproxy_url: str) -> Fault:
        """The fault object for these params: most kinds act on the lab's containers (Toxiproxy overrides)."""
        return cls(lab, **params)  # type: ignore[call-arg]

    def __init__(self, **params: Any) -> None:
        self.params = params

    @abstractmethod
    def inject(self) -> dict[str, Any]:
        """Make the fault real. Returns what it did (bytes written, offsets touched) for the history."""

    @abstractmethod
    def heal(self) -> dict[str, Any] | None:
        """Undo what can be undone. Must be safe to call after a partial inject. May return what the fault
        measured over its window (for the history); its `events` are reach events at the heal."""


class Nemesis:
    """Injects and heals faults, recording both in the history as nemesis ops."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.active: dict[str, Fault] = {}
        self._lock = threading.Lock()
        _LIVE.add(self)

    def inject(self, name: str, fault: Fault) -> dict[str, Any]:
        value: dict[str, Any] = {
            "kind": fault.kind,
            "params": fault.params,
            "effects": sorted(e.value for e in fault.effects),
        }
        self.history.record("nemesis", "invoke", "inject", fault=name, value=value)
        with self._lock:
            # Registered before inject() so a fault that half-happened still gets healed.
            self.active[name] = fault
        try:
            result = fault.inject()
        except Exception as exc:
            self.history.record("nemesis", "fail", "inject", fault=name, value=value, reason=str(exc)[:300])
            raise
        self.history.record("nemesis", "ok", "inject", fault=name, value={**value, "result": result})
        return result

    def heal(self, name: str) -> None:
        with self._lock:
            fault = self.active.pop(name, None)
        if fault is None:
            return
        self.history.record("nemesis", "invoke", "heal", fault=name, value={"kind": fault.kind})
        try:
            measured = fault.heal()
        except Exception as exc:
            self.history.record("nemesis", "info", "heal", fault=name, reason=str(exc)[:300])
            raise
        value = {"kind": fault.kind, **({"result": measured} if measured else {})}
        self.history.record("nemesis", "ok", "heal", fault=name, value=value)

    def heal_all(self) -> list[str]:
        """Heal every active fault, newest first; keep going past failures and return their messages."""
        errors: list[str] = []
        with self._lock:
            names = list(self.active)
        for name in reversed(names):
            try:
                self.heal(name)
            except Exception as exc:
                errors.append(f"{name}: {exc}")
        return errors

    def __enter__(self) -> Nemesis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.heal_all()


_LIVE: weakref.WeakSet[Nemesis] = weakref.WeakSet()


@atexit.register
def _heal_everything_at_exit() -> None:
    for nemesis in list(_LIVE):
        nemesis.heal_all()
