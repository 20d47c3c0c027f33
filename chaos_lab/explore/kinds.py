"""The fault kinds the explorer draws from: every kind whose class declares an `explore` rule (its params,
hold, role and weight live with the kind, in chaos_lab/faults/); a kind without one is listed in the run
report as not explored rather than guessed at."""

from __future__ import annotations

import random
from typing import Any

from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.registry import FAULT_KINDS, FAULTS

RULES: dict[str, ExploreRule] = {kind: cls.explore for kind, cls in FAULTS.items() if cls.explore is not None}


def explorable(wanted: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(kinds the explorer draws from, kinds of the lab it has no rule for). `wanted` narrows the first."""
    kinds = sorted(FAULT_KINDS if wanted is None else set(wanted) & FAULT_KINDS)
    return [k for k in kinds if k in RULES], [k for k in sorted(FAULT_KINDS) if k not in RULES]


def breaking_link(kind: str, rng: random.Random) -> dict[str, Any] | None:
    """Parameters for a link fault that fails every request while it holds (None: the kind has none)."""
    breaking = RULES[kind].breaking
    return None if breaking is None else breaking(rng)


def in_process(kind: str) -> bool:
    return FAULTS[kind].in_process


def outlives_restart(kind: str) -> bool:
    """A disk or link fault whose state the engine meets again when it restarts (a full filesystem, a broken
    link): recovery under it is what start-up reconcile and the file reads must survive."""
    return RULES[kind].role in ("disk", "link") and not in_process(kind)
