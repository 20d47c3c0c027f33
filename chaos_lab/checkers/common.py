"""What several checkers need from an Observation: acknowledged intents, the ledger as simple rows,
windows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from chaos_lab.effects import Effect
from chaos_lab.models import BrokerAttempt, FaultWindow, Observation, Op, Verdict
from chaos_lab.workload.history import fault_windows, time_on_axis

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
    return time_on_axis(obs.history, wall)


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


def fault_results(obs: Observation, effect: Effect) -> list[dict[str, Any]]:
    """What each fault with this effect reported it did (offsets, bytes), in history order."""
    return [w.result for w in windows(obs) if w.has(effect)]


def clip(items: list[Any]) -> list[Any]:
    return items[:MAX_EVIDENCE]


def unknown(name: str, why: str, evidence: dict[str, Any] | None = None) -> Verdict:
    """Nothing to judge: the run had none of what this checker applies to."""
    return Verdict(
        name=name, ok=True, unknown=True, summary=f"nothing to judge: {why}", evidence=evidence or {}
    )


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


# -- which request could have placed an order (no_unrequested_orders, kill_switch_honoured)


def engine_deaths(obs: Observation) -> list[float]:
    """History times by which an engine process was certainly gone: a completed SIGKILL, stop or restart
    (each returns once the container is down). A SIGTERM (graceful: in-flight requests may still finish) and
    an OOM kill (its moment is not recorded) are left out, which only makes the judgement more lenient."""
    out: list[float] = []
    for op in obs.history:
        if op.process != "nemesis" or op.f != "inject" or op.type != "ok":
            continue
        if Effect.PROCESS_ENDS not in op.value.get("effects", ()):
            continue
        if str((op.value.get("params") or {}).get("signal", "SIGKILL")) != "SIGKILL":
            continue  # a graceful signal: the process may still finish what it was doing
        out.append(op.time)
    return sorted(out)


def network_slack(obs: Observation, base_s: float) -> float:
    """`base_s` plus the longest delay a latency toxic in the run could add to a request on its way to the
    broker (latency + jitter): the broker may stamp an order that much after the engine sent it."""
    extra = 0.0
    for op in obs.history:
        if op.process == "nemesis" and op.f == "inject" and Effect.LINK_BROKEN in op.value.get("effects", ()):
            params = op.value.get("params") or {}
            if params.get("type") == "latency":
                attrs = params.get("attributes") or {}
                try:
                    ms = float(attrs.get("latency", 0)) + float(attrs.get("jitter", 0))
                except (TypeError, ValueError):
                    continue
                extra = max(extra, ms / 1000.0)
    return base_s + extra


@dataclass(frozen=True)
class Request:
    """One client request for an intent: from its invoke until the engine was certainly done with it.

    An engine answer (any status) ends it: the handler sends before it answers, never after. A request that
    never reached the engine (connection refused) ends at its completion. One the client gave up on (timeout,
    reset) may still be running inside the engine, until that engine process is gone (or forever)."""

    intent_id: UUID
    invoked: float
    done: float


def requests_for(obs: Observation) -> dict[UUID, list[Request]]:
    deaths = engine_deaths(obs)
    pending: dict[tuple[str, UUID], list[float]] = {}
    out: dict[UUID, list[Request]] = {}
    for op in obs.history:
        if op.f != "signal" or op.intent_id is None:
            continue
        key = (op.process, op.intent_id)
        if op.type == "invoke":
            pending.setdefault(key, []).append(op.time)
            continue
        starts = pending.get(key)
        if not starts:
            continue
        invoked = starts.pop(0)
        if op.status_code is not None or op.type == "fail":
            done = op.time
        else:
            done = min((d for d in deaths if d >= invoked), default=float("inf"))
        out.setdefault(op.intent_id, []).append(Request(op.intent_id, invoked, done))
    for (_, intent_id), starts in pending.items():  # never completed: running until the engine died
        for invoked in starts:
            done = min((d for d in deaths if d >= invoked), default=float("inf"))
            out.setdefault(intent_id, []).append(Request(intent_id, invoked, done))
    return out


def intent_of(coid: str) -> UUID | None:
    """The intent a broker client order id names ("SOLAT-" + intent_id.hex), or None for any other id."""
    if not coid.startswith(CLIENT_ORDER_ID_PREFIX):
        return None
    try:
        return UUID(hex=coid[len(CLIENT_ORDER_ID_PREFIX) :])
    except ValueError:
        return None


def first_attempts(obs: Observation) -> list[tuple[BrokerAttempt, float]]:
    """The first `POST /orders` the broker received for each client order id, with its history time."""
    seen: set[str] = set()
    out: list[tuple[BrokerAttempt, float]] = []
    for attempt in sorted(obs.broker_attempts, key=lambda a: a.seq):
        if attempt.client_order_id in seen:
            continue
        seen.add(attempt.client_order_id)
        t = history_time_of(obs, attempt.received_at)
        out.append((attempt, t if t is not None else float("-inf")))
    return out


def live_request(requests: list[Request], t: float, slack: float) -> Request | None:
    """A request that could have placed an order the broker received at `t`: invoked before it (clocks within
    `slack`) and not yet certainly over (within `slack`)."""
    return next((r for r in requests if r.invoked <= t + slack and r.done >= t - slack), None)
