"""Shrink a failing schedule while it still fails (greedy delta debugging): fewer faults, no operator or
broker knobs, shorter holds, fewer signals (halves, then quarters), smaller signals, fewer clients, retries.
Each candidate is a real run against the lab; the first candidate that still violates one of the original
checkers becomes the new schedule and the search starts again from it. Bounded in attempts and time.

`candidates()` is pure (tested without Docker); `shrink()` takes the evaluator, which runs a batch of
candidates (one per lab instance) and says which still fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from chaos_lab.explore.outcome import ShrinkStep
from chaos_lab.explore.schedule import FaultSpec, Schedule, Workload

Candidate = tuple[str, Schedule]
# evaluate(batch) -> per candidate: (still fails, violated checkers, lab error)
Evaluator = Callable[[list[Candidate]], list[tuple[bool, list[str], str | None]]]
MIN_HOLD_S = 0.1


def _without_fault(s: Schedule, i: int) -> Schedule:
    faults = [f for j, f in enumerate(s.faults) if j != i]
    if faults and i == 0:
        faults[0] = faults[0].model_copy(update={"relation": "later"})
    # an operator action inside the dropped fault's window keeps its fallback position (`at`)
    operator = tuple(
        op
        if op.during is None or op.during < i
        else op.model_copy(update={"during": None if op.during == i else op.during - 1})
        for op in s.operator
    )
    return s.model_copy(update={"faults": tuple(faults), "operator": operator})


def _workload(s: Schedule, **update: object) -> Schedule:
    return s.model_copy(update={"workload": s.workload.model_copy(update=update)})


def _with_signals(s: Schedule, keep: list[int]) -> Schedule:
    return _workload(s, signals=tuple(s.workload.signals[i] for i in keep))


def _holds(s: Schedule, pick: Callable[[int, FaultSpec], bool]) -> Schedule:
    faults = tuple(
        f.model_copy(
            update={
                "hold_s": max(min(f.hold_s, MIN_HOLD_S), round(f.hold_s / 2, 2)),
                "delay_s": round(f.delay_s / 2, 2),
                "heal_gap_s": round(f.heal_gap_s / 2, 2),
            }
        )
        if pick(i, f)
        else f
        for i, f in enumerate(s.faults)
    )
    return s.model_copy(update={"faults": faults})


def candidates(s: Schedule) -> Iterator[Candidate]:
    """Smaller schedules, the biggest cuts first."""
    if len(s.faults) > 1:
        for i, f in enumerate(s.faults):
            yield f"drop fault {i} ({f.kind})", _without_fault(s, i)
    for i, op in enumerate(s.operator):
        rest = tuple(o for j, o in enumerate(s.operator) if j != i)
        # Dropping an activation drops the reset that pairs with it.
        if op.action == "activate":
            rest = tuple(o for o in rest if o.action != "reset")
        yield f"drop operator {op.action}", s.model_copy(update={"operator": rest})
    if s.broker_delay_s:
        yield "no broker delay", s.model_copy(update={"broker_delay_s": 0.0})
    if s.late_retry:
        yield "no late retry", s.model_copy(update={"late_retry": False})
    if s.broker_fail_next:
        yield "no broker failures", s.model_copy(update={"broker_fail_next": 0})
    after = s.workload.after
    if after:
        yield "no signals after recovery", _workload(s, after=())
        if len(after) > 1:
            yield (
                f"first {len(after) // 2} signals after recovery",
                _workload(s, after=after[: len(after) // 2]),
            )
    n = len(s.workload.signals)
    if n > 1:
        half = n // 2
        yield f"first {n - half} of {n} signals", _with_signals(s, list(range(n - half)))
        yield f"last {half} of {n} signals", _with_signals(s, list(range(half, n)))
        if n >= 4:
            q = n // 4
            for k in range(4):
                keep = [i for i in range(n) if not (k * q <= i < (k + 1) * q)]
                yield f"drop signals {k * q}..{(k + 1) * q - 1}", _with_signals(s, keep)
    if any(f.hold_s > MIN_HOLD_S for f in s.faults):
        yield "halve every hold", _holds(s, lambda i, f: True)
        for i, f in enumerate(s.faults):
            if f.hold_s > MIN_HOLD_S and len(s.faults) > 1:
                yield f"halve hold of fault {i}", _holds(s, lambda j, _f, i=i: j == i)
    w = s.workload
    if any(sig.quantity > 1 for sig in w.signals):
        yield (
            "every quantity 1",
            _workload(s, signals=tuple(sig.model_copy(update={"quantity": 1.0}) for sig in w.signals)),
        )
    if w.concurrency > 1:
        yield "one client", _workload(s, concurrency=1)
        if w.concurrency > 2:
            yield f"{w.concurrency - 1} clients", _workload(s, concurrency=w.concurrency - 1)
    if w.retry_unknown > 1:
        yield "one retry", _workload(s, retry_unknown=1)
    if w.interval_s:
        yield "no pause between signals", _workload(s, interval_s=0.0)


def shrink(
    schedule: Schedule,
    evaluate: Evaluator,
    batch: int = 1,
    max_attempts: int = 30,
    max_seconds: float = 900.0,
) -> tuple[Schedule, list[ShrinkStep]]:
    """The smallest schedule found that still fails, and every attempt made on the way."""
    steps: list[ShrinkStep] = []
    deadline = time.monotonic() + max_seconds
    current = schedule
    improved = True
    while improved and len(steps) < max_attempts and time.monotonic() < deadline:
        improved = False
        pending = list(candidates(current))
        while pending and len(steps) < max_attempts and time.monotonic() < deadline:
            chunk = pending[: min(batch, max_attempts - len(steps))]
            pending = pending[len(chunk) :]
            results = evaluate(chunk)
            for (change, _cand), (fails, violated, error) in zip(chunk, results, strict=True):
                steps.append(
                    ShrinkStep(
                        attempt=len(steps) + 1,
                        change=change,
                        still_fails=fails,
                        violated=violated,
                        error=error,
                    )
                )
            winner = next(
                (cand for (_, cand), (fails, _, _) in zip(chunk, results, strict=True) if fails), None
            )
            if winner is not None:
                current, improved = winner, True
                break
    return current, steps


__all__ = ["Candidate", "Evaluator", "Workload", "candidates", "shrink"]
