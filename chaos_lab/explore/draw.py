"""`explore --draw reach`: fault kinds whose schedules reached rarely reached events are drawn more often.

After each schedule the explorer knows which reach events it produced (`ScheduleOutcome.reach`). An event is
rare while at most `RARE_MAX` schedules, and at most `RARE_SHARE` of all finished ones, reached it. A kind's
weight is 1 + the number of distinct rare events reached by finished schedules that contained it, capped at
1 + `BONUS_CAP`. Rarity is judged on the whole history each time, so a rare event that the weighting makes
common stops counting and the weights fall back towards 1 (bounded in both directions: 1 <= w <= 5).

Deterministic: the weights are a pure function of the finished outcomes in the order they finished, and
`schedule.generate(seed, index, kinds, weights)` is a pure function of its arguments. With every weight 1
the draw is exactly the uniform one (the same random calls), so the first schedules, drawn before anything
is rare, are the same in both modes. Lab errors are left out (their reach is cut short).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, Protocol

Draw = Literal["uniform", "reach"]
DRAWS: tuple[Draw, ...] = ("uniform", "reach")
RARE_MAX = 2  # an event reached by at most this many schedules so far ...
RARE_SHARE = 0.25  # ... and by at most this share of them is rare (nothing is rare in the first 3)
BONUS_CAP = 4.0  # a kind's weight is at most 1 + BONUS_CAP


class Reached(Protocol):
    @property
    def faults(self) -> list[str]: ...
    @property
    def reach(self) -> dict[str, int]: ...
    @property
    def error(self) -> str | None: ...


def rare_events(done: Sequence[Reached]) -> set[str]:
    judged = [o for o in done if o.error is None]
    counts = Counter(name for o in judged for name in o.reach)
    return {e for e, c in counts.items() if c <= RARE_MAX and c <= RARE_SHARE * len(judged)}


def kind_weights(done: Sequence[Reached], kinds: Iterable[str]) -> dict[str, float]:
    """Weight per kind from the finished schedules (in the order they finished)."""
    rare = rare_events(done)
    novelty: dict[str, set[str]] = {}
    for o in done:
        if o.error is None:
            for kind in o.faults:
                novelty.setdefault(kind, set()).update(e for e in o.reach if e in rare)
    return {k: 1.0 + min(BONUS_CAP, float(len(novelty.get(k, ())))) for k in kinds}


def boosted(weights: Mapping[str, float] | None) -> dict[str, float]:
    """The weights that differ from 1 (what a schedule's record and file header keep)."""
    return {k: w for k, w in sorted((weights or {}).items()) if w != 1.0}
