"""What several checkers need from an Observation: acknowledged intents, the ledger as simple rows,
windows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from chaos_lab.history import fault_windows
from chaos_lab.models import FaultWindow, Observation, Op, Verdict

CLIENT_ORDER_ID_PREFIX = "SOLAT-"
MAX_EVIDENCE = 20  # ids listed per verdict; counts are always complete


def coid_for(intent_id: UUID) -> str:
    return CLIENT_ORDER_ID_PREFIX + intent_id.hex


@dataclass(frozen=True)
class Row:
    """A ledger record reduced to what the checkers compare, whichever source it came from."""

    source: str
    seq: int
    entry_type: str
    intent_id: str
    payload: dict[str, Any]


def ledger_sources(obs: Observation) -> dict[str, list[Row]]:
    """The ledger as read from the file (our own reader) and as served by the engine's API, where
    available."""
    sources: dict[str, list[Row]] = {}
    if obs.ledger_file is not None:
        sources["file"] = [
            Row("file", r.seq, r.entry_type, str(r.intent_id), r.payload) for r in obs.ledger_file.records
        ]
    if obs.ledger_api is not None:
        sources["api"] = [
            Row("api", int(e["seq"]), str(e["entry_type"]), str(e["intent_id"]), dict(e["payload"]))
            for e in obs.ledger_api
        ]
    return sources


def intent_coids(rows: list[Row]) -> set[str]:
    return {str(r.payload.get("client_order_id")) for r in rows if r.entry_type == "intent"}


def completions(obs: Observation, f: str = "signal") -> list[Op]:
    return [
        op for op in obs.history if op.f == f and op.type != "invoke" and op.process in ("workload", "verify")
    ]


def windows(obs: Observation) -> list[FaultWindow]:
    return fault_windows(obs.history)


def history_time_of(obs: Observation, wall: datetime) -> float | None:
    """Place a wall-clock instant (the broker's received_at) on the history's monotonic time axis."""
    if not obs.history:
        return None
    first = obs.history[0]
    t0 = first.wall - timedelta(seconds=first.time)
    return (wall - t0).total_seconds()


def submissions(obs: Observation) -> dict[UUID, list[float]]:
    """When the client sent each intent (every request, retries included), in history order."""
    times: dict[UUID, list[float]] = {}
    for op in obs.history:
        if op.f == "signal" and op.type == "invoke" and op.intent_id is not None:
            times.setdefault(op.intent_id, []).append(op.time)
    return times


def broker_times(obs: Observation, created_only: bool = False) -> dict[str, list[float]]:
    """When the broker received each client order id, on the history's time axis (`created_only`: only the
    attempts that created the order)."""
    times: dict[str, list[float]] = {}
    for attempt in obs.broker_attempts:
        if created_only and not attempt.created_order:
            continue
        t = history_time_of(obs, attempt.received_at)
        times.setdefault(attempt.client_order_id, []).append(t if t is not None else float("-inf"))
    return times


def contradicted_answers(answers: list[Op], obs: Observation, sent_at: dict[str, list[float]]) -> list[str]:
    """Intent ids of `answers` ("not sent", "rejected") contradicted by an order at the broker.

    An answer speaks for its intent until the client sends that intent again: a client may resubmit a
    rejected intent under its id (the disk has room again, the switch was reset), and the order that makes
    is the resubmission's. So only an order received before the next submission after the answer (or with
    none) contradicts it; one received before the answer does too, since the engine then called an order
    it had sent unsent."""
    submitted = submissions(obs)
    found: list[str] = []
    for op in answers:
        if op.intent_id is None or str(op.intent_id) in found:
            continue
        again = min((t for t in submitted.get(op.intent_id, []) if t > op.time), default=float("inf"))
        if any(t < again for t in sent_at.get(coid_for(op.intent_id), [])):
            found.append(str(op.intent_id))
    return found


def inside(t: float, window: FaultWindow, end_default: float) -> bool:
    return window.start <= t <= (window.end if window.end is not None else end_default)


def fault_results(obs: Observation, kind: str) -> list[dict[str, Any]]:
    return [w.result for w in windows(obs) if w.kind == kind]


def clip(items: list[Any]) -> list[Any]:
    return items[:MAX_EVIDENCE]


def judge(name: str, problems: list[str], evidence: dict[str, Any], ok_summary: Callable[[], str]) -> Verdict:
    """A failure naming every problem, or a pass; `ok_summary` is only built when there is nothing wrong."""
    if problems:
        return Verdict(name=name, ok=False, evidence=evidence, summary="; ".join(problems))
    return Verdict(name=name, ok=True, evidence=evidence, summary=ok_summary())


def judge_per_source(
    name: str,
    obs: Observation,
    evidence: dict[str, Any],
    key: str,
    count_key: str,
    find: Callable[[list[Row]], list[str]],
    fail_summary: Callable[[int], str],
    ok_summary: Callable[[list[str]], str],
) -> Verdict:
    """Run `find` over every ledger source (file and API); fail naming what each found, under `key`.

    With no ledger at all there is nothing to judge against, which is a failure, never a pass.
    """
    sources = ledger_sources(obs)
    if not sources:
        summary = "no ledger to check against (neither file nor API)"
        return Verdict(name=name, ok=False, summary=summary, evidence=evidence)
    found = {source: bad for source, rows in sources.items() if (bad := find(rows))}
    if found:
        return Verdict(
            name=name,
            ok=False,
            summary=fail_summary(max(len(v) for v in found.values())),
            evidence={
                **evidence,
                key: {k: clip(v) for k, v in found.items()},
                count_key: {k: len(v) for k, v in found.items()},
            },
        )
    evidence = {**evidence, "sources": sorted(sources)}
    return Verdict(name=name, ok=True, summary=ok_summary(list(sources)), evidence=evidence)
