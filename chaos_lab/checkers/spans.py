"""When a fault was certainly active: from its inject's *completion* to its heal's start. The plain window
(from the inject's invoke) says when it may have bitten; an invariant that must hold "while the fault
held" is judged only inside the certain span, so an operation that raced the inject is not blamed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from chaos_lab.checkers.common import windows
from chaos_lab.effects import Effect
from chaos_lab.models import FaultWindow, Observation, Op


@dataclass(frozen=True)
class Span:
    window: FaultWindow
    start: float  # inject answered ok
    end: float  # heal invoked (or the end of the history)


def certain_spans(obs: Observation, *effects: Effect) -> list[Span]:
    """The certain span of every fault with any of these effects."""
    injected = {
        op.fault: op.time
        for op in obs.history
        if op.process == "nemesis" and op.f == "inject" and op.type == "ok" and op.fault is not None
    }
    end = obs.history[-1].time if obs.history else 0.0
    return [
        Span(w, injected.get(w.name, w.start), w.end if w.end is not None else end)
        for w in windows(obs)
        if w.has(*effects)
    ]


def until_engine_stops(obs: Observation, spans: list[Span]) -> list[Span]:
    """Each span cut where a fault that takes the engine down (kill, stop, pause, OOM) began: after that the
    engine's answers say nothing about this fault."""
    stops = [w.start for w in windows(obs) if w.has(Effect.ENGINE_DOWN)]
    return [replace(s, end=min([s.end, *(t for t in stops if t >= s.start)])) for s in spans]


def invoked_at(op: Op) -> float:
    """When a completion's call was sent (its invoke), from its latency."""
    return op.time - (op.latency or 0.0)


def within(op: Op, span: Span) -> bool:
    """The whole call (sent to answered) happened while the fault certainly held."""
    return span.start <= invoked_at(op) and op.time <= span.end


def stage(op: Op) -> str | None:
    value = op.value.get("stage") if op.value else None
    return str(value) if value is not None else None


def ledger_refusal(op: Op) -> bool:
    """The engine said the ledger could not make the order (or its outcome) durable."""
    return op.status_code == 507 or stage(op) == "ledger"
